/**
 * `410 Gone` disables an endpoint; events meanwhile are skipped; re-enabling sends nothing from
 * the past; recover re-sends, in order, what failed or was skipped (CONTRACT §5, §6).
 */
import { describe, expect, it, vi } from "vitest";
import {
  Receiver,
  WAIT,
  deliveryState,
  authorizeSession,
  createEndpoint,
  expectQuiet,
  interceptWebhooks,
  sessionEventIds,
  stopSession,
  verify,
} from "./webhooks-support";
import type { CreatedEndpoint } from "./webhooks-support";
import { expectApiError, tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

describe.concurrent("410 Gone, re-enable and recover", () => {
  it("disables on 410, skips later events, sends nothing on re-enable, and recovers in order", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    let gone = true;
    const receiver = new Receiver(() => (gone ? new Response("gone", { status: 410 }) : new Response(null, { status: 204 })));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const since = new Date(Date.now() - 1_000).toISOString();

    const first = await authorizeSession(tenant, site);
    await vi.waitFor(async () => {
      const read = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`);
      expect(read.body.enabled).toBe(false);
    }, WAIT);
    const disabled = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`);
    expect(disabled.body.disabledReason).toMatch(/410/);
    const listed = await tenantJson<{ data: CreatedEndpoint[] }>(tenant.apiKey, "/v1/webhook-endpoints");
    expect(listed.body.data.find((e) => e.id === endpoint.id)).toMatchObject({ enabled: false, disabledReason: disabled.body.disabledReason });
    // 410 is not retried.
    expect(receiver.received).toHaveLength(1);

    // While disabled: the session's next event and a new session's event are skipped.
    await stopSession(tenant, first, site);
    const second = await authorizeSession(tenant, site);
    const [f1, f2] = await sessionEventIds(tenant.apiKey, first.id);
    const [s1] = await sessionEventIds(tenant.apiKey, second.id);
    await vi.waitFor(async () => {
      expect(await deliveryState(f1!.id, endpoint.id)).toBe("failed");
      expect(await deliveryState(f2!.id, endpoint.id)).toBe("skipped");
      expect(await deliveryState(s1!.id, endpoint.id)).toBe("skipped");
    }, WAIT);
    expect(receiver.received).toHaveLength(1);

    // Recover refuses a disabled endpoint instead of queueing into the void.
    const early = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, { method: "POST", json: { since } });
    expectApiError(early, 409);

    // Re-enabling alone sends nothing from the past, even when the session wakes for a new event.
    gone = false;
    const enabled = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { enabled: true } });
    expect(enabled.status, enabled.text).toBe(200);
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
    await stopSession(tenant, second, site);
    const [, s2] = await sessionEventIds(tenant.apiKey, second.id);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    expect(receiver.delivered()[0]!.event.id).toBe(s2!.id);
    await expectQuiet(receiver, 500);

    // Recover re-sends exactly the failed and skipped events, each session in order, same ids.
    const recovered = await tenantJson<{ events: number; sessions: number }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, {
      method: "POST",
      json: { since },
    });
    expect(recovered.status, recovered.text).toBe(202);
    expect(recovered.body).toEqual({ events: 3, sessions: 2 });
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(4), WAIT);
    const resent = receiver.delivered().slice(1);
    const ids = (sessionId: string) => resent.filter((d) => d.event.data.session.id === sessionId).map((d) => d.headers["webhook-id"]);
    expect(ids(first.id)).toEqual([f1!.id, f2!.id]);
    expect(ids(second.id)).toEqual([s1!.id]);
    for (const delivery of resent) expect(verify(endpoint.secret, delivery).id).toBe(delivery.headers["webhook-id"]);
    await vi.waitFor(async () => {
      for (const id of [f1!.id, f2!.id, s1!.id]) expect(await deliveryState(id, endpoint.id)).toBe("delivered");
      // s2 went through at its first attempt; recover does not send it again.
      expect(await deliveryState(s2!.id, endpoint.id)).toBe("delivered");
    }, WAIT);
    await expectQuiet(receiver, 500);

    // Nothing is left to recover; a later `since` finds nothing either.
    const again = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, { method: "POST", json: { since } });
    expect(again.body).toEqual({ events: 0, sessions: 0 });
    const stranger = await tenantWithSites();
    expect((await tenantJson(stranger.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, { method: "POST", json: { since } })).status).toBe(404);
    expectApiError(await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, { method: "POST", json: { since: "yesterday" } }), 400);
  });

  it("recovers events that were given up after the last retry, not those before `since`", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    let down = true;
    const receiver = new Receiver(() => (down ? new Response("down", { status: 500 }) : new Response(null, { status: 204 })));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const old = await authorizeSession(tenant, site);
    const [oldEvent] = await sessionEventIds(tenant.apiKey, old.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const since = new Date().toISOString();
    const fresh = await authorizeSession(tenant, site);
    const [freshEvent] = await sessionEventIds(tenant.apiKey, fresh.id);
    // Both sessions retry side by side until they give up.
    await vi.waitFor(async () => {
      expect(await deliveryState(oldEvent!.id, endpoint.id)).toBe("failed");
      expect(await deliveryState(freshEvent!.id, endpoint.id)).toBe("failed");
    }, WAIT);
    expect(receiver.of(freshEvent!.id)).toHaveLength(4);

    down = false;
    const recovered = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/recover`, { method: "POST", json: { since } });
    expect(recovered.status, recovered.text).toBe(202);
    expect(recovered.body).toEqual({ events: 1, sessions: 1 });
    await vi.waitFor(() => expect(receiver.delivered().map((d) => d.event.id)).toEqual([freshEvent!.id]), WAIT);
    await expectQuiet(receiver, 300);
    expect(receiver.delivered().map((d) => d.event.id)).toEqual([freshEvent!.id]);
  });

  it("disables the endpoint on a 410 to a test event or to a redelivered test event too", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver(() => new Response("gone", { status: 410 }));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const test = await tenantJson<{ eventId: string; delivered: boolean; status: number }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/test`, {
      method: "POST",
    });
    expect(test.body).toMatchObject({ delivered: false, status: 410 });
    const read = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`);
    expect(read.body).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });

    // Re-enabled, then a redelivery of that test event meets the 410 again.
    await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { enabled: true } });
    const redeliver = await tenantJson<{ endpointIds: string[] }>(tenant.apiKey, `/v1/events/${test.body.eventId}/redeliver`, { method: "POST" });
    expect(redeliver.status, redeliver.text).toBe(202);
    expect(redeliver.body.endpointIds).toEqual([endpoint.id]);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.headers["webhook-id"]).toBe(test.body.eventId);
    const again = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`);
    expect(again.body).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410/) });
  });
});
