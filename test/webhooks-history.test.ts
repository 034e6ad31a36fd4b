/**
 * Webhooks and the D1 history: a D1 outage does not hold webhooks back, and the history catches
 * up once D1 is back (CONTRACT §6: nothing accepted is lost).
 */
import { afterEach, expect, it, vi } from "vitest";
import { breakableHistory, flush } from "./helpers";
import type { D1Outage } from "./helpers";
import { Receiver, WAIT, authorizeSession, createEndpoint, interceptWebhooks, stopSession } from "./webhooks-support";
import { tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

/** While down, the history writer's D1 batches fail as if D1 were unreachable. */
const outage: D1Outage = { down: false };

afterEach(() => {
  outage.down = false;
});

it("delivers webhooks while D1 refuses writes, and writes the history once D1 is back", async () => {
  await breakableHistory(outage);
  const tenant = await tenantWithSites();
  const site = tenant.siteIds[0]!;
  const receiver = new Receiver();
  await createEndpoint(tenant.apiKey, { url: receiver.url });

  outage.down = true;
  const session = await authorizeSession(tenant, site);
  await stopSession(tenant, session, site);
  await vi.waitFor(() => expect(receiver.delivered().map((d) => d.event.type)).toEqual(["session.authorized", "session.stop_requested"]), WAIT);
  const ids = receiver.delivered().map((d) => d.event.id);
  for (const id of ids) expect((await tenantJson(tenant.apiKey, `/v1/events/${id}`)).status).toBe(404);

  outage.down = false;
  await flush(session.id);
  for (const id of ids) expect((await tenantJson(tenant.apiKey, `/v1/events/${id}`)).status).toBe(200);
  const attempts = await Promise.all(ids.map((id) => tenantJson<{ data: { status: number }[] }>(tenant.apiKey, `/v1/events/${id}/attempts`)));
  expect(attempts.map((a) => a.body.data.map((x) => x.status))).toEqual([[204], [204]]);
  // Delivered once each: the history catching up sends nothing again.
  expect(receiver.received).toHaveLength(2);
});
