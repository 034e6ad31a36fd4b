/**
 * Re-sends keep each session's order at each endpoint (CONTRACT §8 "Recover keeps order", §11
 * "Redeliver"): a redeliver or recover never sends event n before event n−1 was delivered or
 * given up there, recover works through any number of events in the background, and a manual
 * delivery that succeeds ends the event's scheduled retries.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { sessionStub } from "../src/sessions/stub";
import { RECOVERY_PAGE_ROWS } from "../src/webhooks/recovery";
import {
  Receiver,
  WAIT,
  attemptsOf,
  authorizeSession,
  createEndpoint,
  deliveriesByEndpoint,
  eventKnown,
  expectQuiet,
  interceptWebhooks,
  sessionEventIds,
  stopSession,
  timeOutSession,
} from "./webhooks-support";
import type { Delivery } from "./webhooks-support";
import { tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

/** Asserts, per session, that no event reached the receiver before the previous one got a 2xx (or its last attempt). */
function expectInOrder(received: Delivery[], lastAttempts: (sessionId: string, sequence: number) => number | undefined = () => undefined): void {
  const bySession = new Map<string, Delivery[]>();
  for (const d of received) bySession.set(d.event.data.session.id, [...(bySession.get(d.event.data.session.id) ?? []), d]);
  for (const [sessionId, deliveries] of bySession) {
    deliveries.forEach((d, i) => {
      const n = d.event.data.sequence;
      if (n === 1) return;
      const before = deliveries.slice(0, i).filter((e) => e.event.data.sequence === n - 1);
      const settled = before.some((e) => e.status >= 200 && e.status < 300) || before.length === lastAttempts(sessionId, n - 1);
      expect(settled, `session ${sessionId}: event ${n} was sent before event ${n - 1} was delivered or given up`).toBe(true);
    });
  }
}

/** How many events `GET /v1/events?{query}` lists, over every page. */
async function countEvents(apiKey: string, query: string): Promise<number> {
  let total = 0;
  let cursor: string | null = null;
  do {
    const res: { status: number; body: { data: unknown[]; nextCursor: string | null } } = await tenantJson(
      apiKey,
      `/v1/events?${query}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(res.status).toBe(200);
    total += res.body.data.length;
    cursor = res.body.nextCursor;
  } while (cursor);
  return total;
}

describe.concurrent("redeliver keeps order", () => {
  it("sends event n after event n−1, when n is redelivered while n−1 is still retrying", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    // Event 1 fails twice, each time asking for a 3 s pause: a window in which event 2 is redelivered.
    let failures = 0;
    const receiver = new Receiver((d) =>
      d.event.data.sequence === 1 && failures++ < 2 ? new Response("busy", { status: 503, headers: { "Retry-After": "3" } }) : new Response(null, { status: 204 }),
    );
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const session = await authorizeSession(tenant, site);
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), WAIT);
    await stopSession(tenant, session, site);
    const [, second] = await sessionEventIds(tenant.apiKey, session.id);
    await eventKnown(tenant.apiKey, second!.id);

    const redeliver = await tenantJson<{ endpointIds: string[] }>(tenant.apiKey, `/v1/events/${second!.id}/redeliver`, {
      method: "POST",
      json: { endpointId: endpoint.id },
    });
    expect(redeliver.status, redeliver.text).toBe(202);
    expect(redeliver.body.endpointIds).toEqual([endpoint.id]);

    await vi.waitFor(() => expect(receiver.delivered().map((d) => d.event.data.sequence)).toEqual([1, 2]), { ...WAIT, timeout: 20_000 });
    expect(receiver.received.map((d) => [d.event.data.sequence, d.status])).toEqual([
      [1, 503],
      [1, 503],
      [1, 204],
      [2, 204],
    ]);
    // The redeliver was that send: the event went out once, as a manual attempt.
    await vi.waitFor(async () => expect((await attemptsOf(tenant.apiKey, second!.id)).map((a) => a.trigger)).toEqual(["manual"]), WAIT);
    await expectQuiet(receiver, 500);
  });

  it("ends the scheduled retries of an event once a manual delivery of it succeeds", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    let down = true;
    // Failing, the receiver asks for 2 s: the next scheduled attempt is that far away.
    const receiver = new Receiver(() => (down ? new Response("down", { status: 503, headers: { "Retry-After": "2" } }) : new Response(null, { status: 204 })));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const session = await authorizeSession(tenant, site);
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), WAIT);
    const [event] = await sessionEventIds(tenant.apiKey, session.id);
    await eventKnown(tenant.apiKey, event!.id);
    const scheduled = await vi.waitFor(async () => {
      const pending = (await deliveriesByEndpoint(tenant.apiKey, event!.id))[endpoint.id];
      expect(pending).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: expect.any(String) });
      return Date.parse(pending!.nextAttemptAt!);
    }, WAIT);

    down = false;
    const redeliver = await tenantJson(tenant.apiKey, `/v1/events/${event!.id}/redeliver`, { method: "POST", json: { endpointId: endpoint.id } });
    expect(redeliver.status, redeliver.text).toBe(202);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    expect(receiver.delivered()[0]!.at).toBeLessThan(scheduled);

    // Past the time the scheduled retry was due, the alarm runs and sends nothing more.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, scheduled - Date.now()) + 200));
    await runDurableObjectAlarm(sessionStub(env, session.id));
    await expectQuiet(receiver, 300);
    expect(receiver.of(event!.id).map((d) => d.status)).toEqual([503, 204]);
    await vi.waitFor(async () => {
      expect((await deliveriesByEndpoint(tenant.apiKey, event!.id))[endpoint.id]).toMatchObject({ status: "delivered", attempts: 2, nextAttemptAt: null });
      expect((await attemptsOf(tenant.apiKey, event!.id)).map((a) => a.trigger)).toEqual(["scheduled", "manual"]);
    }, WAIT);
  });
});

describe.concurrent("recover keeps order", () => {
  it("re-sends events 1..3 of many sessions in order per session, in background batches, through failures", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    // Enough sessions that their events take more than one recovery batch.
    const SESSIONS = Math.ceil(RECOVERY_PAGE_ROWS / 3) + 5;
    // Each session's first event fails at its first re-send: the later ones must wait for it.
    const failedOnce = new Set<string>();
    const receiver = new Receiver((d) => {
      if (d.event.data.sequence !== 1 || failedOnce.has(d.event.id)) return new Response(null, { status: 204 });
      failedOnce.add(d.event.id);
      return new Response("try again", { status: 500 });
    });
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url, enabled: false });
    const since = new Date(Date.now() - 1_000).toISOString();
    const sessions = [];
    for (let i = 0; i < SESSIONS; i++) {
      const session = await authorizeSession(tenant, site);
      await stopSession(tenant, session, site);
      await timeOutSession(tenant, session);
      sessions.push(session);
    }
    // Every event was skipped (the endpoint was disabled): wait until the history says so.
    await vi.waitFor(async () => expect(await countEvents(tenant.apiKey, `deliveryStatus=skipped&endpointId=${endpoint.id}`)).toBe(SESSIONS * 3), {
      ...WAIT,
      timeout: 30_000,
    });
    expect(receiver.received).toEqual([]);

    expect((await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { enabled: true } })).status).toBe(200);
    const recovered = await tenantJson<{ events: number; sessions: number }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, { method: "POST", json: { since } });
    expect(recovered.status, recovered.text).toBe(202);
    expect(recovered.body).toEqual({ events: SESSIONS * 3, sessions: SESSIONS });

    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(SESSIONS * 3), { timeout: 60_000, interval: 100 });
    expectInOrder(receiver.received);
    for (const session of sessions) {
      const mine = receiver.received.filter((d) => d.event.data.session.id === session.id);
      expect(mine.map((d) => [d.event.data.sequence, d.status])).toEqual([
        [1, 500],
        [1, 204],
        [2, 204],
        [3, 204],
      ]);
    }
    const [first] = await sessionEventIds(tenant.apiKey, sessions[0]!.id);
    await vi.waitFor(async () => expect((await attemptsOf(tenant.apiKey, first!.id)).map((a) => [a.trigger, a.status])).toEqual([["recover", 500], ["scheduled", 204]]), WAIT);
    await expectQuiet(receiver, 500);
  }, 120_000);

  it("includes events still in retry: the next attempt is brought forward and the session's later events follow it", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    let down = true;
    // Failing, the receiver asks for an hour (the cap): without recover, nothing would move for that long.
    const receiver = new Receiver(() => (down ? new Response("later", { status: 503, headers: { "Retry-After": "3600" } }) : new Response(null, { status: 204 })));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const since = new Date(Date.now() - 1_000).toISOString();
    const session = await authorizeSession(tenant, site);
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), WAIT);
    await stopSession(tenant, session, site);
    const [e1, e2] = await sessionEventIds(tenant.apiKey, session.id);
    await eventKnown(tenant.apiKey, e2!.id);
    await vi.waitFor(async () => {
      expect((await deliveriesByEndpoint(tenant.apiKey, e1!.id))[endpoint.id]).toMatchObject({ status: "pending", attempts: 1 });
      // Event 2 waits behind event 1, unsent: pending too.
      expect((await deliveriesByEndpoint(tenant.apiKey, e2!.id))[endpoint.id]).toMatchObject({ status: "pending", attempts: 0, nextAttemptAt: null });
    }, WAIT);
    const nextAt = Date.parse((await deliveriesByEndpoint(tenant.apiKey, e1!.id))[endpoint.id]!.nextAttemptAt!);
    expect(nextAt - Date.now()).toBeGreaterThan(50 * 60_000);

    down = false;
    const recovered = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, { method: "POST", json: { since } });
    expect(recovered.status, recovered.text).toBe(202);
    expect(recovered.body).toEqual({ events: 2, sessions: 1 });
    await vi.waitFor(() => expect(receiver.delivered().map((d) => d.event.id)).toEqual([e1!.id, e2!.id]), WAIT);
    await vi.waitFor(async () => {
      expect((await attemptsOf(tenant.apiKey, e1!.id)).map((a) => [a.trigger, a.status])).toEqual([["scheduled", 503], ["recover", 204]]);
      expect((await deliveriesByEndpoint(tenant.apiKey, e2!.id))[endpoint.id]).toMatchObject({ status: "delivered", attempts: 1 });
    }, WAIT);
    await expectQuiet(receiver, 300);
  });
});
