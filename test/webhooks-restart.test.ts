/**
 * Pending deliveries survive a restart of the session object: positions and retry times live
 * in its storage, and its alarm picks them up again (CONTRACT §6: nothing accepted is lost).
 */
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { sessionStub } from "../src/sessions/stub";
import {
  Receiver,
  WAIT,
  attemptsOf,
  authorizeSession,
  createEndpoint,
  expectQuiet,
  interceptWebhooks,
  sessionEventIds,
  stopSession,
  verify,
} from "./webhooks-support";
import { tenantWithSites } from "./support";

interceptWebhooks();

type CursorRow = {
  endpoint_id: string;
  next_sequence: number;
  attempts: number;
  next_at: number;
};

/** The session object's delivery positions, read inside it. */
function cursors(sessionId: string): Promise<CursorRow[]> {
  return runInDurableObject(sessionStub(env, sessionId), (_, state) =>
    state.storage.sql.exec<CursorRow>("SELECT endpoint_id, next_sequence, attempts, next_at FROM cursors").toArray(),
  );
}

/** When the session object's alarm is set, read inside it (a new stub: an aborted object's stubs are broken). */
function alarmOf(sessionId: string): Promise<number | null> {
  return runInDurableObject(sessionStub(env, sessionId), (_, state) => state.storage.getAlarm());
}

describe("restart of the session object", () => {
  it("finishes a delivery that was waiting for its retry when the object restarted", async () => {
    const tenant = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const receiver = new Receiver((_, nth) => (nth === 1 ? new Response("down", { status: 503 }) : new Response(null, { status: 204 })));
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    const session = await authorizeSession(tenant, site);
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), WAIT);
    // A second event queues up behind the first while it waits for its retry.
    await stopSession(tenant, session, site);

    // Settled: the first attempt is recorded and the object sleeps until its retry (while an
    // alarm runs, getAlarm() answers null, so wait for both).
    await vi.waitFor(async () => {
      expect(await cursors(session.id)).toMatchObject([{ endpoint_id: endpoint.id, next_sequence: 1, attempts: 1 }]);
      expect(await alarmOf(session.id)).not.toBeNull();
    }, WAIT);

    await abortAllDurableObjects();
    // A fresh instance, from storage only: the retry is still scheduled and still owed.
    expect(await alarmOf(session.id)).not.toBeNull();
    expect(await cursors(session.id)).toMatchObject([{ next_sequence: 1, attempts: 1 }]);
    await runDurableObjectAlarm(sessionStub(env, session.id));

    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(2), WAIT);
    const [authorized, stopped] = await sessionEventIds(tenant.apiKey, session.id);
    expect(receiver.received.map((d) => [d.event.id, d.status])).toEqual([
      [authorized!.id, 503],
      [authorized!.id, 204],
      [stopped!.id, 204],
    ]);
    expect(receiver.received.map((d) => d.headers["webhook-id"])).toEqual([authorized!.id, authorized!.id, stopped!.id]);
    expect(receiver.delivered().map((d) => verify(endpoint.secret, d).data.sequence)).toEqual([1, 2]);
    await vi.waitFor(async () => expect((await attemptsOf(tenant.apiKey, authorized!.id)).map((a) => a.status)).toEqual([503, 204]), WAIT);
    await vi.waitFor(async () => expect(await cursors(session.id)).toMatchObject([{ next_sequence: 3, attempts: 0 }]), WAIT);

    // Another restart re-sends nothing that was delivered: positions are durable too.
    await abortAllDurableObjects();
    await runInDurableObject(sessionStub(env, session.id), (instance) => instance.alarm());
    await expectQuiet(receiver, 300);
    expect(receiver.received).toHaveLength(3);
  });
});
