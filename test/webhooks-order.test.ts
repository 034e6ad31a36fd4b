/**
 * Per-session ordering of webhooks under failures, fan-out to several endpoints, and the
 * eventTypes filter (CONTRACT §6).
 */
import { describe, expect, it, vi } from "vitest";
import {
  Receiver,
  WAIT,
  attemptsOf,
  authorizeSession,
  createEndpoint,
  eventKnown,
  expectQuiet,
  interceptWebhooks,
  sessionEventIds,
  stopSession,
  verify,
} from "./webhooks-support";
import type { Delivery } from "./webhooks-support";
import { tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

/** Fails the first `failures` requests for `type`, answers 204 to everything else. */
function failing(type: string, failures: number) {
  let failed = 0;
  return (d: Delivery) => {
    if (d.event.type === type && failed < failures) {
      failed++;
      return new Response("try later", { status: 500 });
    }
    return new Response(null, { status: 204 });
  };
}

describe.concurrent("ordering", () => {
  it("does not send event 2 of a session before event 1 was delivered", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const receiver = new Receiver(failing("session.authorized", 2));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const session = await authorizeSession(tenant, site);
    // Event 2 is committed while event 1 is still failing.
    await vi.waitFor(() => expect(receiver.received.length).toBeGreaterThanOrEqual(1), WAIT);
    await stopSession(tenant, session, site);

    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(2), WAIT);
    const order = receiver.received.map((d) => [d.event.type, d.status]);
    expect(order).toEqual([
      ["session.authorized", 500],
      ["session.authorized", 500],
      ["session.authorized", 204],
      ["session.stop_requested", 204],
    ]);
    const events = receiver.delivered().map((d) => verify(endpoint.secret, d));
    expect(events.map((e) => e.data.sequence)).toEqual([1, 2]);
    expect(events.map((e) => e.data.session.id)).toEqual([session.id, session.id]);
    expect(events.map((e) => e.data.session.status)).toEqual(["authorized", "stop_requested"]);
    expect((await sessionEventIds(tenant.apiKey, session.id)).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it("keeps each session's order while sessions do not wait for each other", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    // A session from before the endpoint existed: the endpoint starts after it.
    const earlier = await authorizeSession(tenant, site);
    const blockedId = crypto.randomUUID();
    // The first event of `blocked` fails twice; everything else is accepted.
    const receiver: Receiver = new Receiver((d) =>
      d.event.data.session.id === blockedId && d.event.type === "session.authorized" && receiver.of(d.event.id).length <= 2
        ? new Response(null, { status: 500 })
        : new Response(null, { status: 204 }),
    );
    await createEndpoint(tenant.apiKey, { url: receiver.url });
    const blocked = await authorizeSession(tenant, site, blockedId);
    const free = await authorizeSession(tenant, site);
    await stopSession(tenant, blocked, site);
    await stopSession(tenant, free, site);

    // The other session's events went through while `blocked` was still retrying its first one.
    await vi.waitFor(() => expect(receiver.delivered().filter((d) => d.event.data.session.id === free.id)).toHaveLength(2), WAIT);
    await vi.waitFor(() => expect(receiver.delivered().filter((d) => d.event.data.session.id === blocked.id)).toHaveLength(2), WAIT);
    const freeDone = receiver.delivered().filter((d) => d.event.data.session.id === free.id);
    const blockedFirstOk = receiver.delivered().find((d) => d.event.data.session.id === blocked.id)!;
    expect(freeDone[1]!.at).toBeLessThan(blockedFirstOk.at);
    for (const id of [blocked.id, free.id]) {
      expect(receiver.delivered().filter((d) => d.event.data.session.id === id).map((d) => d.event.data.sequence)).toEqual([1, 2]);
    }
    expect(receiver.received.filter((d) => d.event.data.session.id === earlier.id)).toEqual([]);
  });
});

describe.concurrent("fan-out", () => {
  it("sends every event to each endpoint with its own position and secret", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const flaky = new Receiver(failing("session.authorized", 2));
    const healthy = new Receiver();
    const a = await createEndpoint(tenant.apiKey, { url: flaky.url });
    const b = await createEndpoint(tenant.apiKey, { url: healthy.url });
    expect(a.secret).not.toBe(b.secret);
    const session = await authorizeSession(tenant, site);
    await vi.waitFor(() => expect(flaky.received.length).toBeGreaterThanOrEqual(1), WAIT);
    await stopSession(tenant, session, site);

    // The healthy endpoint has both events while the flaky one is still on the first.
    await vi.waitFor(() => expect(healthy.delivered()).toHaveLength(2), WAIT);
    expect(flaky.delivered().length).toBeLessThan(2);
    await vi.waitFor(() => expect(flaky.delivered()).toHaveLength(2), WAIT);
    expect(healthy.delivered()[1]!.at).toBeLessThan(flaky.delivered()[0]!.at);

    const fromA = flaky.delivered().map((d) => verify(a.secret, d));
    const fromB = healthy.delivered().map((d) => verify(b.secret, d));
    expect(fromA.map((e) => e.data.sequence)).toEqual([1, 2]);
    expect(fromB.map((e) => e.id)).toEqual(fromA.map((e) => e.id));
    expect(() => verify(b.secret, flaky.delivered()[0]!)).toThrow();

    const attempts = await attemptsOf(tenant.apiKey, fromA[0]!.id);
    expect(attempts.filter((x) => x.endpointId === a.id).map((x) => x.status)).toEqual([500, 500, 204]);
    expect(attempts.filter((x) => x.endpointId === b.id).map((x) => x.status)).toEqual([204]);
    expect(healthy.received).toHaveLength(2);
  });
});

describe.concurrent("eventTypes filter", () => {
  it("sends an endpoint only the event types it asked for", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const stopsOnly = new Receiver();
    const everything = new Receiver();
    const filtered = await createEndpoint(tenant.apiKey, { url: stopsOnly.url, eventTypes: ["session.stop_requested"] });
    expect(filtered.eventTypes).toEqual(["session.stop_requested"]);
    const all = await createEndpoint(tenant.apiKey, { url: everything.url });
    const session = await authorizeSession(tenant, site);
    await stopSession(tenant, session, site);
    const other = await authorizeSession(tenant, site);

    await vi.waitFor(() => expect(everything.delivered()).toHaveLength(3), WAIT);
    await vi.waitFor(() => expect(stopsOnly.delivered()).toHaveLength(1), WAIT);
    const event = verify(filtered.secret, stopsOnly.received[0]!);
    expect(event).toMatchObject({ type: "session.stop_requested", data: { sequence: 2, session: { id: session.id } } });
    await expectQuiet(stopsOnly, 500);

    // Redelivering an event of another type does not reach it either: by default only endpoints
    // that have not got it yet (none here), and named, only the endpoint named.
    const authorized = everything.delivered().find((d) => d.event.data.session.id === other.id)!.event.id;
    await eventKnown(tenant.apiKey, authorized);
    const redeliver = await tenantJson<{ endpointIds: string[] }>(tenant.apiKey, `/v1/events/${authorized}/redeliver`, { method: "POST" });
    expect(redeliver.status, redeliver.text).toBe(202);
    expect(redeliver.body.endpointIds).toEqual([]);
    const named = await tenantJson<{ endpointIds: string[] }>(tenant.apiKey, `/v1/events/${authorized}/redeliver`, { method: "POST", json: { endpointId: all.id } });
    expect(named.body.endpointIds).toEqual([all.id]);
    await vi.waitFor(() => expect(everything.of(authorized)).toHaveLength(2), WAIT);
    expect(stopsOnly.received).toHaveLength(1);

    // Widening the filter applies to later events.
    const patched = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${filtered.id}`, { method: "PATCH", json: { eventTypes: null } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ eventTypes: null });
    await stopSession(tenant, other, site);
    await vi.waitFor(() => expect(stopsOnly.delivered()).toHaveLength(2), WAIT);
    expect(stopsOnly.received[1]!.event).toMatchObject({ type: "session.stop_requested", data: { session: { id: other.id } } });
  });
});
