/**
 * Delivery debugging (CONTRACT §11): every event carries where it stands for each endpoint it is
 * meant for, in the events API and in the session's timeline; the events list filters by endpoint
 * and delivery status; attempts say what caused them and when the next one is due.
 */
import { describe, expect, it, vi } from "vitest";
import {
  Receiver,
  WAIT,
  attemptsOf,
  authorizeSession,
  createEndpoint,
  deliveriesByEndpoint,
  eventKnown,
  interceptWebhooks,
  readEvent,
  sessionEventIds,
  stopSession,
} from "./webhooks-support";
import type { DeliveryView, EventWithDeliveries } from "./webhooks-support";
import { expectApiError, tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

type Page = { data: EventWithDeliveries[]; nextCursor: string | null };

/** The ids `GET /v1/events?{query}` lists (one page of up to 200). */
async function listed(apiKey: string, query: string): Promise<string[]> {
  const res = await tenantJson<Page>(apiKey, `/v1/events?${query}&limit=200`);
  expect(res.status, res.text).toBe(200);
  return res.body.data.map((e) => e.id);
}

/** The session's timeline events with their deliveries, read from the session itself. */
async function timelineOf(apiKey: string, sessionId: string): Promise<EventWithDeliveries[]> {
  const res = await tenantJson<{ events: EventWithDeliveries[] }>(apiKey, `/v1/sessions/${sessionId}`);
  expect(res.status, res.text).toBe(200);
  return res.body.events;
}

const byEndpoint = (deliveries: DeliveryView[]) => Object.fromEntries(deliveries.map((d) => [d.endpointId, d]));

describe.concurrent("delivery status", () => {
  it("shows one delivery per endpoint the event is meant for, in the timeline, the event and the list", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const healthy = new Receiver();
    const broken = new Receiver(() => new Response("boom", { status: 500 }));
    const ok = await createEndpoint(tenant.apiKey, { url: healthy.url });
    const failing = await createEndpoint(tenant.apiKey, { url: broken.url });
    const stopsOnly = await createEndpoint(tenant.apiKey, { url: new Receiver().url, eventTypes: ["session.stop_requested"] });
    const paused = await createEndpoint(tenant.apiKey, { url: new Receiver().url, enabled: false });

    const session = await authorizeSession(tenant, site);
    // An endpoint created after the event is not meant for it.
    const later = await createEndpoint(tenant.apiKey, { url: new Receiver().url });
    await vi.waitFor(() => expect(healthy.delivered()).toHaveLength(1), WAIT);
    await vi.waitFor(() => expect(broken.received.length).toBeGreaterThanOrEqual(1), WAIT);

    // The timeline comes from the session itself, never behind.
    await vi.waitFor(async () => {
      const [event] = await timelineOf(tenant.apiKey, session.id);
      const deliveries = byEndpoint(event!.deliveries);
      expect(Object.keys(deliveries).sort()).toEqual([ok.id, failing.id, paused.id].sort());
      expect(deliveries[ok.id]).toEqual({ endpointId: ok.id, status: "delivered", attempts: 1, lastAttemptAt: expect.any(String), nextAttemptAt: null });
      expect(deliveries[failing.id]).toMatchObject({ status: "pending", attempts: 1, lastAttemptAt: expect.any(String), nextAttemptAt: expect.any(String) });
      expect(Date.parse(deliveries[failing.id]!.nextAttemptAt!)).toBeGreaterThan(Date.parse(deliveries[failing.id]!.lastAttemptAt!));
      expect(deliveries[paused.id]).toEqual({ endpointId: paused.id, status: "skipped", attempts: 0, lastAttemptAt: null, nextAttemptAt: null });
    }, WAIT);
    const [event] = await sessionEventIds(tenant.apiKey, session.id);
    expect(Object.keys(byEndpoint((await timelineOf(tenant.apiKey, session.id))[0]!.deliveries))).not.toContain(later.id);

    // Given up after 1 + 3 attempts ("1,1,1"): failed, and the events API agrees with the timeline.
    await eventKnown(tenant.apiKey, event!.id);
    await vi.waitFor(async () => {
      const deliveries = await deliveriesByEndpoint(tenant.apiKey, event!.id);
      expect(deliveries[failing.id]).toMatchObject({ status: "failed", attempts: 4, nextAttemptAt: null });
      expect(deliveries[ok.id]).toMatchObject({ status: "delivered", attempts: 1 });
      expect(deliveries[paused.id]).toMatchObject({ status: "skipped", attempts: 0 });
      expect(Object.keys(deliveries).sort()).toEqual([ok.id, failing.id, paused.id].sort());
    }, WAIT);
    const [fromTimeline] = await timelineOf(tenant.apiKey, session.id);
    const read = await readEvent(tenant.apiKey, event!.id);
    expect(byEndpoint(read.deliveries)).toEqual(byEndpoint(fromTimeline!.deliveries));
    const { deliveries: _d, ...signed } = read;
    expect(healthy.delivered()[0]!.event).toEqual(signed);
    const inList = (await tenantJson<Page>(tenant.apiKey, `/v1/events?sessionId=${session.id}`)).body.data.find((e) => e.id === event!.id)!;
    expect(byEndpoint(inList.deliveries)).toEqual(byEndpoint(read.deliveries));

    // Attempts: what caused each and when the next one was due.
    const attempts = await attemptsOf(tenant.apiKey, event!.id, failing.id);
    expect(attempts.map((a) => a.trigger)).toEqual(["scheduled", "scheduled", "scheduled", "scheduled"]);
    expect(attempts.slice(0, 3).every((a) => a.nextAttemptAt !== null && Date.parse(a.nextAttemptAt) > Date.parse(a.attemptedAt))).toBe(true);
    expect(attempts[3]!.nextAttemptAt).toBeNull();
    for (let i = 1; i < 4; i++) expect(Math.abs(Date.parse(attempts[i]!.attemptedAt) - Date.parse(attempts[i - 1]!.nextAttemptAt!))).toBeLessThan(1_000);
    expect(await attemptsOf(tenant.apiKey, event!.id, ok.id)).toMatchObject([{ status: 204, trigger: "scheduled", nextAttemptAt: null }]);

    // The attempts list pages oldest first like any list.
    const every = await attemptsOf(tenant.apiKey, event!.id);
    expect(every).toHaveLength(5);
    const walked: unknown[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { data: unknown[]; nextCursor: string | null } } = await tenantJson(
        tenant.apiKey,
        `/v1/events/${event!.id}/attempts?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      walked.push(...res.body.data);
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(walked).toEqual(every);
    expectApiError(await tenantJson(tenant.apiKey, `/v1/events/${event!.id}/attempts?cursor=${btoa(JSON.stringify([1, "x"]))}`), 400, "cursor");

    // The filtered endpoint takes the next event; the one created later does too.
    await stopSession(tenant, session, site);
    await vi.waitFor(async () => {
      const [, second] = await timelineOf(tenant.apiKey, session.id);
      const deliveries = byEndpoint(second!.deliveries);
      expect(Object.keys(deliveries).sort()).toEqual([ok.id, failing.id, stopsOnly.id, paused.id, later.id].sort());
      expect(deliveries[stopsOnly.id]).toMatchObject({ status: "delivered" });
    }, WAIT);
  });

  it("filters the events list by endpoint and by delivery status", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const healthy = new Receiver();
    const broken = new Receiver(() => new Response("boom", { status: 500 }));
    const ok = await createEndpoint(tenant.apiKey, { url: healthy.url });
    const failing = await createEndpoint(tenant.apiKey, { url: broken.url, eventTypes: ["session.authorized"] });
    const a = await authorizeSession(tenant, site);
    await stopSession(tenant, a, site);
    const [a1, a2] = await sessionEventIds(tenant.apiKey, a.id);
    await vi.waitFor(async () => expect((await deliveriesByEndpoint(tenant.apiKey, a1!.id))[failing.id]?.status).toBe("failed"), WAIT);
    await vi.waitFor(async () => expect((await deliveriesByEndpoint(tenant.apiKey, a2!.id))[ok.id]?.status).toBe("delivered"), WAIT);

    expect(await listed(tenant.apiKey, "deliveryStatus=failed")).toEqual([a1!.id]);
    expect(await listed(tenant.apiKey, `deliveryStatus=failed&endpointId=${failing.id}`)).toEqual([a1!.id]);
    expect(await listed(tenant.apiKey, `deliveryStatus=failed&endpointId=${ok.id}`)).toEqual([]);
    expect((await listed(tenant.apiKey, "deliveryStatus=delivered")).sort()).toEqual([a1!.id, a2!.id].sort());
    expect(await listed(tenant.apiKey, `deliveryStatus=delivered&endpointId=${failing.id}`)).toEqual([]);
    expect(await listed(tenant.apiKey, "deliveryStatus=skipped")).toEqual([]);
    expect(await listed(tenant.apiKey, "deliveryStatus=pending")).toEqual([]);
    // Only events meant for the endpoint: its filter left the second one out.
    expect(await listed(tenant.apiKey, `endpointId=${failing.id}`)).toEqual([a1!.id]);
    expect(await listed(tenant.apiKey, `endpointId=${ok.id}`)).toEqual([a2!.id, a1!.id]);
    expect(await listed(tenant.apiKey, `endpointId=${failing.id}&type=session.stop_requested`)).toEqual([]);
    expect(await listed(tenant.apiKey, `deliveryStatus=delivered&sessionId=${a.id}&type=session.stop_requested`)).toEqual([a2!.id]);

    // Pages of a filtered list walk every match once, newest first.
    const first = await tenantJson<Page>(tenant.apiKey, "/v1/events?deliveryStatus=delivered&limit=1");
    expect(first.body.data.map((e) => e.id)).toEqual([a2!.id]);
    const second = await tenantJson<Page>(tenant.apiKey, `/v1/events?deliveryStatus=delivered&limit=1&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
    expect(second.body).toMatchObject({ nextCursor: null });
    expect(second.body.data.map((e) => e.id)).toEqual([a1!.id]);

    // Another tenant's endpoint filters nothing of this tenant in, and this tenant's nothing of theirs.
    const stranger = await tenantWithSites();
    expect(await listed(stranger.apiKey, `endpointId=${ok.id}`)).toEqual([]);
    expect(await listed(stranger.apiKey, "deliveryStatus=delivered")).toEqual([]);
    expectApiError(await tenantJson(tenant.apiKey, "/v1/events?deliveryStatus=lost"), 400, "deliveryStatus");
  });
});

describe("a first delivery still on its way", () => {
  it("reaches D1 with its event as pending, and as delivered once the receiver answers", async () => {
    const tenant = await tenantWithSites();
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const slow = new Receiver(async () => {
      await answered;
      return new Response(null, { status: 204 });
    });
    const endpoint = await createEndpoint(tenant.apiKey, { url: slow.url });
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);
    const [event] = await sessionEventIds(tenant.apiKey, session.id);
    // The events API reads D1: the event is there, and says its delivery is pending, while the receiver holds its answer.
    await vi.waitFor(async () => expect(await listed(tenant.apiKey, `deliveryStatus=pending&endpointId=${endpoint.id}`)).toEqual([event!.id]), WAIT);
    expect((await deliveriesByEndpoint(tenant.apiKey, event!.id))[endpoint.id]).toMatchObject({ status: "pending", attempts: 0, lastAttemptAt: null });
    expect(slow.received).toHaveLength(1);
    answer();
    await vi.waitFor(async () => expect((await deliveriesByEndpoint(tenant.apiKey, event!.id))[endpoint.id]).toMatchObject({ status: "delivered", attempts: 1 }), WAIT);
    expect(await listed(tenant.apiKey, "deliveryStatus=pending")).toEqual([]);
    expect(slow.received).toHaveLength(1);
  });
});

describe.concurrent("deleted endpoints", () => {
  it("leave the deliveries of every event, in the events API and in the timeline", async () => {
    const tenant = await tenantWithSites();
    const kept = await createEndpoint(tenant.apiKey, { url: new Receiver().url });
    const gone = await createEndpoint(tenant.apiKey, { url: new Receiver().url });
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);
    const [event] = await sessionEventIds(tenant.apiKey, session.id);
    await eventKnown(tenant.apiKey, event!.id);
    await vi.waitFor(async () => expect(Object.keys(await deliveriesByEndpoint(tenant.apiKey, event!.id)).sort()).toEqual([kept.id, gone.id].sort()), WAIT);

    expect((await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${gone.id}`, { method: "DELETE" })).status).toBe(204);
    expect(Object.keys(await deliveriesByEndpoint(tenant.apiKey, event!.id))).toEqual([kept.id]);
    expect((await timelineOf(tenant.apiKey, session.id))[0]!.deliveries.map((d) => d.endpointId)).toEqual([kept.id]);
    expect(await listed(tenant.apiKey, `endpointId=${gone.id}`)).toEqual([]);
    expect(await listed(tenant.apiKey, `endpointId=${gone.id}&deliveryStatus=delivered`)).toEqual([]);
    expect(await listed(tenant.apiKey, "deliveryStatus=delivered")).toEqual([event!.id]);
  });
});

describe.concurrent("endpoint health", () => {
  it("shows last success and failure, the last error, the success rate, what is pending and when", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    let nth = 0;
    // Fails the first attempt (asking for 2 s), then accepts everything.
    const receiver = new Receiver(() => {
      nth++;
      if (nth === 1) return new Response("busy", { status: 503, headers: { "Retry-After": "2" } });
      return new Response(null, { status: 204 });
    });
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    expect(endpoint).toMatchObject({
      health: { lastSuccessAt: null, lastFailureAt: null, lastError: null, recentSuccessRate: null, pendingCount: 0, nextAttemptAt: null },
    });

    const session = await authorizeSession(tenant, site);
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), WAIT);
    await stopSession(tenant, session, site);
    type Health = { lastSuccessAt: string | null; lastFailureAt: string | null; lastError: string | null; recentSuccessRate: string | null; pendingCount: number; nextAttemptAt: string | null };
    const health = async () => (await tenantJson<{ health: Health }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`)).body.health;
    // While event 1 waits for its retry, event 2 waits behind it: two pending.
    await vi.waitFor(async () => {
      expect(await health()).toMatchObject({ lastSuccessAt: null, lastFailureAt: expect.any(String), lastError: "HTTP 503", recentSuccessRate: "0", pendingCount: 2 });
    }, WAIT);
    const waiting = await health();
    expect(Date.parse(waiting.nextAttemptAt!)).toBeGreaterThan(Date.parse(waiting.lastFailureAt!) + 1_500);

    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(2), WAIT);
    await vi.waitFor(async () => {
      const after = await health();
      expect(after).toMatchObject({ lastFailureAt: waiting.lastFailureAt, lastError: "HTTP 503", pendingCount: 0, nextAttemptAt: null });
      // 2 of 3 attempts went through.
      expect(after.recentSuccessRate).toBe("0.67");
      expect(Date.parse(after.lastSuccessAt!)).toBeGreaterThan(Date.parse(after.lastFailureAt!));
    }, WAIT);
    // The list carries the same health.
    const listed = await tenantJson<{ data: Array<{ id: string; health: Health }> }>(tenant.apiKey, "/v1/webhook-endpoints");
    expect(listed.body.data.find((e) => e.id === endpoint.id)!.health).toEqual(await health());
  });
});
