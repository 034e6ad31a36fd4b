/**
 * Session objects from before delivery records and re-send triggers keep working: their queued
 * re-sends go out, and redeliver and the timeline work on them.
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { sessionStub } from "../src/sessions/stub";
import { Receiver, WAIT, attemptsOf, authorizeSession, createEndpoint, eventKnown, interceptWebhooks, sessionEventIds } from "./webhooks-support";
import { tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

it("sends re-sends queued in the old table, then redelivers and shows deliveries as usual", async () => {
  const tenant = await tenantWithSites();
  const receiver = new Receiver();
  const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
  const session = await authorizeSession(tenant, tenant.siteIds[0]!);
  await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
  const [event] = await sessionEventIds(tenant.apiKey, session.id);
  await eventKnown(tenant.apiKey, event!.id);
  await vi.waitFor(async () => expect(await attemptsOf(tenant.apiKey, event!.id)).toHaveLength(1), WAIT);

  // As such an object was: no delivery records, and a re-send queued in a table without `trigger`.
  await runInDurableObject(sessionStub(env, session.id), (_, state) => {
    state.storage.sql.exec("DROP TABLE IF EXISTS delivery_state");
    state.storage.sql.exec("DROP TABLE IF EXISTS resend");
    state.storage.sql.exec(
      "CREATE TABLE resend (endpoint_id TEXT NOT NULL, sequence INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (endpoint_id, sequence)) WITHOUT ROWID",
    );
    state.storage.sql.exec("INSERT INTO resend (endpoint_id, sequence) VALUES (?, 1)", endpoint.id);
  });
  await abortAllDurableObjects();
  await runInDurableObject(sessionStub(env, session.id), (instance) => instance.alarm());

  await vi.waitFor(() => expect(receiver.of(event!.id)).toHaveLength(2), WAIT);
  await vi.waitFor(async () => expect((await attemptsOf(tenant.apiKey, event!.id)).map((a) => a.trigger)).toEqual(["scheduled", "manual"]), WAIT);

  const redeliver = await tenantJson<{ endpointIds: string[] }>(tenant.apiKey, `/v1/events/${event!.id}/redeliver`, { method: "POST", json: { endpointId: endpoint.id } });
  expect(redeliver.status, redeliver.text).toBe(202);
  expect(redeliver.body.endpointIds).toEqual([endpoint.id]);
  await vi.waitFor(() => expect(receiver.of(event!.id)).toHaveLength(3), WAIT);
  await vi.waitFor(async () => {
    const timeline = await tenantJson<{ events: Array<{ deliveries: unknown[] }> }>(tenant.apiKey, `/v1/sessions/${session.id}`);
    // Recorded from the first re-send on: 2 attempts since the upgrade.
    expect(timeline.body.events[0]!.deliveries).toEqual([{ endpointId: endpoint.id, status: "delivered", attempts: 2, lastAttemptAt: expect.any(String), nextAttemptAt: null }]);
  }, WAIT);
});
