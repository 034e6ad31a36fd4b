/**
 * A deleted endpoint's position is forgotten by the session object that stored it: the next run
 * of its outbox drops it from storage, and the endpoints left go on from theirs.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it, vi } from "vitest";
import { sessionStub } from "../src/sessions/stub";
import { Receiver, WAIT, authorizeSession, createEndpoint, interceptWebhooks, stopSession } from "./webhooks-support";
import { tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

function positions(sessionId: string): Promise<Array<{ endpoint_id: string; next_sequence: number }>> {
  return runInDurableObject(sessionStub(env, sessionId), (_, state) =>
    state.storage.sql.exec<{ endpoint_id: string; next_sequence: number }>("SELECT endpoint_id, next_sequence FROM cursors ORDER BY endpoint_id").toArray(),
  );
}

it("forgets the position of an endpoint deleted while the session object is running", async () => {
  const tenant = await tenantWithSites();
  const site = tenant.siteIds[0]!;
  const kept = new Receiver();
  const gone = new Receiver();
  const keptEndpoint = await createEndpoint(tenant.apiKey, { url: kept.url });
  const goneEndpoint = await createEndpoint(tenant.apiKey, { url: gone.url });
  const session = await authorizeSession(tenant, site);
  await vi.waitFor(async () => {
    expect(kept.delivered()).toHaveLength(1);
    expect(gone.delivered()).toHaveLength(1);
    expect(await positions(session.id)).toEqual(
      [keptEndpoint.id, goneEndpoint.id].sort().map((id) => ({ endpoint_id: id, next_sequence: 2 })),
    );
  }, WAIT);

  expect((await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${goneEndpoint.id}`, { method: "DELETE" })).status).toBe(204);
  await stopSession(tenant, session, site);

  await vi.waitFor(async () => {
    expect(kept.delivered()).toHaveLength(2);
    expect(await positions(session.id)).toEqual([{ endpoint_id: keptEndpoint.id, next_sequence: 3 }]);
  }, WAIT);
  expect(gone.received).toHaveLength(1);
});
