/**
 * Webhooks as a tenant sees them: Standard Webhooks signatures (retries, rotation), redelivery,
 * the test event, and the events API (CONTRACT §5, §6).
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { generateWebhookSecret } from "../src/webhooks/signing";
import {
  Receiver,
  WAIT,
  attemptsOf,
  authorizeSession,
  createEndpoint,
  eventKnown,
  interceptWebhooks,
  sessionEventIds,
  stopSession,
  verify,
} from "./webhooks-support";
import type { WebhookEvent } from "./webhooks-support";
import { expectApiError, tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

describe("signatures", () => {
  it("signs every attempt with the event id as webhook-id and a fresh timestamp", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver((_, nth) => (nth <= 2 ? new Response("down", { status: 500 }) : new Response(null, { status: 204 })));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);

    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    expect(receiver.received.map((d) => d.status)).toEqual([500, 500, 204]);

    const [first] = receiver.received;
    const event = verify(endpoint.secret, first!);
    expect(event.id).toMatch(/^evt_/);
    expect(event.type).toBe("session.authorized");
    expect(event.data.sequence).toBe(1);
    expect(event.data.session).toMatchObject({ id: session.id, status: "authorized" });
    expect(Date.parse(event.timestamp)).not.toBeNaN();

    for (const delivery of receiver.received) {
      // Same id and body on every retry, so the tenant can deduplicate.
      expect(delivery.headers["webhook-id"]).toBe(event.id);
      expect(delivery.body).toBe(first!.body);
      expect(delivery.headers["content-type"]).toContain("application/json");
      expect(delivery.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(verify(endpoint.secret, delivery)).toEqual(event);
      // The timestamp is the attempt's, not the event's.
      const timestamp = Number(delivery.headers["webhook-timestamp"]);
      expect(Number.isInteger(timestamp)).toBe(true);
      expect(Math.abs(timestamp - delivery.at / 1000)).toBeLessThanOrEqual(1.5);
    }
    // Two retries of ≥ 0.8 s each: the last attempt is at least a second later than the first.
    const stamps = receiver.received.map((d) => Number(d.headers["webhook-timestamp"]));
    expect(stamps[2]!).toBeGreaterThan(stamps[0]!);

    // A tenant with another secret, or a tampered body, is refused by the library.
    expect(() => new Webhook(generateWebhookSecret()).verify(first!.body, first!.headers)).toThrow();
    expect(() => new Webhook(endpoint.secret).verify(first!.body.replace("authorized", "declined"), first!.headers)).toThrow();
  });

  it("signs with the old and the new secret after rotate-secret", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });

    const rotated = await tenantJson<{ secret: string }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { method: "POST" });
    expect(rotated.status, rotated.text).toBe(200);
    expect(Object.keys(rotated.body)).toEqual(["secret"]);
    expect(rotated.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    // The secret is shown once: the endpoint itself never carries it.
    const read = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`);
    expect(read.text).not.toContain(rotated.body.secret);
    expect(read.body).not.toHaveProperty("secret");

    await authorizeSession(tenant, tenant.siteIds[0]!);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    const [delivery] = receiver.received;
    const signatures = delivery!.headers["webhook-signature"]!.split(" ");
    expect(signatures).toHaveLength(2);
    for (const signature of signatures) expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verify(rotated.body.secret, delivery!).type).toBe("session.authorized");
    expect(verify(endpoint.secret, delivery!).type).toBe("session.authorized");
    expect(() => verify(generateWebhookSecret(), delivery!)).toThrow();
  });
});

describe("redeliver", () => {
  it("sends the same event again with the same webhook-id", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    await authorizeSession(tenant, tenant.siteIds[0]!);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    const eventId = receiver.received[0]!.event.id;
    await eventKnown(tenant.apiKey, eventId);

    // Delivered everywhere: redelivering to every endpoint that lacks it sends nothing.
    await vi.waitFor(async () => expect((await attemptsOf(tenant.apiKey, eventId)).map((a) => a.status)).toEqual([204]), WAIT);
    const owed = await tenantJson<{ eventId: string; endpointIds: string[] }>(tenant.apiKey, `/v1/events/${eventId}/redeliver`, { method: "POST" });
    expect(owed.status, owed.text).toBe(202);
    expect(owed.body).toEqual({ eventId, endpointIds: [] });

    const res = await tenantJson<{ eventId: string; endpointIds: string[] }>(tenant.apiKey, `/v1/events/${eventId}/redeliver`, {
      method: "POST",
      json: { endpointId: endpoint.id },
    });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toEqual({ eventId, endpointIds: [endpoint.id] });

    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(2), WAIT);
    const again = receiver.received[1]!;
    expect(again.headers["webhook-id"]).toBe(eventId);
    expect(again.body).toBe(receiver.received[0]!.body);
    expect(verify(endpoint.secret, again).id).toBe(eventId);
    await vi.waitFor(async () => expect((await attemptsOf(tenant.apiKey, eventId)).map((a) => a.status)).toEqual([204, 204]), WAIT);

    // Redelivering to one named endpoint; an unknown endpoint, or another tenant's event, is 404.
    const named = await tenantJson(tenant.apiKey, `/v1/events/${eventId}/redeliver`, { method: "POST", json: { endpointId: endpoint.id } });
    expect(named.status, named.text).toBe(202);
    await vi.waitFor(() => expect(receiver.of(eventId)).toHaveLength(3), WAIT);
    const unknown = await tenantJson(tenant.apiKey, `/v1/events/${eventId}/redeliver`, { method: "POST", json: { endpointId: "we_nope" } });
    expect(unknown.status).toBe(404);
    // Redelivering to a disabled endpoint is refused, and by default disabled endpoints are left out.
    const paused = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { enabled: false } });
    expect(paused.status).toBe(200);
    const refused = await tenantJson(tenant.apiKey, `/v1/events/${eventId}/redeliver`, { method: "POST", json: { endpointId: endpoint.id } });
    expectApiError(refused, 409);
    const none = await tenantJson<{ endpointIds: string[] }>(tenant.apiKey, `/v1/events/${eventId}/redeliver`, { method: "POST" });
    expect(none.body.endpointIds).toEqual([]);
    const stranger = await tenantWithSites();
    const foreign = await tenantJson(stranger.apiKey, `/v1/events/${eventId}/redeliver`, { method: "POST" });
    expect(foreign.status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.of(eventId)).toHaveLength(3);
  });

  it("keeps a redeliver that was asked for while another one was in flight", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const receiver = new Receiver();
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const session = await authorizeSession(tenant, site);
    await stopSession(tenant, session, site);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(2), WAIT);
    const [e1, e2] = receiver.delivered().map((d) => d.event.id);
    await eventKnown(tenant.apiKey, e1!);
    await eventKnown(tenant.apiKey, e2!);

    // The receiver holds the redelivery of event 2 until told to answer.
    let release: () => void = () => {};
    const held = new Promise<Response>((resolve) => (release = () => resolve(new Response(null, { status: 204 }))));
    receiver.reply = (d) => (d.event.id === e2 && receiver.of(e2!).length === 2 ? held : new Response(null, { status: 204 }));
    expect((await tenantJson(tenant.apiKey, `/v1/events/${e2}/redeliver`, { method: "POST", json: { endpointId: endpoint.id } })).status).toBe(202);
    await vi.waitFor(() => expect(receiver.of(e2!)).toHaveLength(2), WAIT);

    // Meanwhile the tenant asks for event 1 again; the session object takes it while it waits.
    expect((await tenantJson(tenant.apiKey, `/v1/events/${e1}/redeliver`, { method: "POST", json: { endpointId: endpoint.id } })).status).toBe(202);
    release();

    await vi.waitFor(() => expect(receiver.of(e1!)).toHaveLength(2), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.of(e2!)).toHaveLength(2);
  });
});

describe("test event and events API", () => {
  it("POST /test sends a verifiable webhook.test that the events API knows", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });

    const res = await tenantJson<{ eventId: string; delivered: boolean; status: number | null }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/test`, {
      method: "POST",
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ delivered: true, status: 204 });
    expect(receiver.received).toHaveLength(1);
    const event = verify(endpoint.secret, receiver.received[0]!);
    expect(event.type).toBe("webhook.test");
    expect(event.id).toBe(res.body.eventId);
    expect(receiver.received[0]!.headers["webhook-id"]).toBe(res.body.eventId);

    const read = await tenantJson<WebhookEvent & { deliveries: unknown[] }>(tenant.apiKey, `/v1/events/${event.id}`);
    expect(read.status, read.text).toBe(200);
    // The event as signed and sent, and where it stands for the endpoint (CONTRACT §11).
    const { deliveries, ...signed } = read.body;
    expect(signed).toEqual(event);
    expect(deliveries).toEqual([{ endpointId: endpoint.id, status: "delivered", attempts: 1, lastAttemptAt: expect.any(String), nextAttemptAt: null }]);
    const attempts = await attemptsOf(tenant.apiKey, event.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ endpointId: endpoint.id, status: 204 });

    // A failing receiver: the answer says so, and the attempt is recorded.
    receiver.reply = () => new Response("nope", { status: 500 });
    const failed = await tenantJson<{ eventId: string; delivered: boolean; status: number | null }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/test`, {
      method: "POST",
    });
    expect(failed.body).toMatchObject({ delivered: false, status: 500 });
    expect((await attemptsOf(tenant.apiKey, failed.body.eventId)).map((a) => a.status)).toEqual([500]);

    const stranger = await tenantWithSites();
    expect((await tenantJson(stranger.apiKey, `/v1/webhook-endpoints/${endpoint.id}/test`, { method: "POST" })).status).toBe(404);
    expect(receiver.received).toHaveLength(2);
  });

  it("lists events with sessionId and type filters and cursor pagination; another tenant's are 404", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    await createEndpoint(tenant.apiKey, { url: receiver.url });
    const site = tenant.siteIds[0]!;
    const a = await authorizeSession(tenant, site);
    const b = await authorizeSession(tenant, site);
    await stopSession(tenant, a, site);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(3), WAIT);
    const aEvents = await sessionEventIds(tenant.apiKey, a.id);
    const bEvents = await sessionEventIds(tenant.apiKey, b.id);
    for (const e of [...aEvents, ...bEvents]) await eventKnown(tenant.apiKey, e.id);
    expect(aEvents.map((e) => [e.type, e.sequence])).toEqual([
      ["session.authorized", 1],
      ["session.stop_requested", 2],
    ]);

    type Page = { data: WebhookEvent[]; nextCursor: string | null };
    const all = await tenantJson<Page>(tenant.apiKey, "/v1/events");
    expect(all.status, all.text).toBe(200);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.data.map((e) => e.id).sort()).toEqual([...aEvents, ...bEvents].map((e) => e.id).sort());

    const bySession = await tenantJson<Page>(tenant.apiKey, `/v1/events?sessionId=${a.id}`);
    expect(bySession.body.data.map((e) => e.id).sort()).toEqual(aEvents.map((e) => e.id).sort());
    for (const e of bySession.body.data) expect(e.data.session.id).toBe(a.id);

    const byType = await tenantJson<Page>(tenant.apiKey, "/v1/events?type=session.stop_requested");
    expect(byType.body.data.map((e) => e.id)).toEqual([aEvents[1]!.id]);
    const both = await tenantJson<Page>(tenant.apiKey, `/v1/events?type=session.authorized&sessionId=${b.id}`);
    expect(both.body.data.map((e) => e.id)).toEqual([bEvents[0]!.id]);
    expect((await tenantJson(tenant.apiKey, "/v1/events?type=session.nonsense")).status).toBe(400);

    // limit=1 walks every event once, newest first, and ends with nextCursor null.
    const walked: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: { status: number; body: Page } = await tenantJson<Page>(tenant.apiKey, `/v1/events?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(1);
      walked.push(...res.body.data.map((e) => e.id));
      cursor = res.body.nextCursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(walked).toEqual(all.body.data.map((e) => e.id));
    const times = all.body.data.map((e) => Date.parse(e.timestamp));
    expect([...times].sort((x, y) => y - x)).toEqual(times);

    const one = await tenantJson<WebhookEvent>(tenant.apiKey, `/v1/events/${aEvents[1]!.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: aEvents[1]!.id, type: "session.stop_requested", data: { sequence: 2, session: { id: a.id } } });

    const stranger = await tenantWithSites();
    expect((await tenantJson(stranger.apiKey, `/v1/events/${aEvents[1]!.id}`)).status).toBe(404);
    expect((await tenantJson(stranger.apiKey, `/v1/events/${aEvents[1]!.id}/attempts`)).status).toBe(404);
    const theirs = await tenantJson<Page>(stranger.apiKey, `/v1/events?sessionId=${a.id}`);
    expect(theirs.body.data).toEqual([]);
    expect((await tenantJson(tenant.apiKey, "/v1/events/evt_doesnotexist")).status).toBe(404);
  });
});
