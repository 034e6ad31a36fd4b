/**
 * Retention (CONTRACT §10): ended sessions past RETENTION_SECONDS are deleted with their events
 * and delivery records, from D1 and from their objects, in bounded runs; open and review_required
 * sessions are never touched, and a deleted session answers 404.
 */
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../src/index";
import { describe, expect, it, vi } from "vitest";
import { earlierMachineIndex, machineIndex } from "../src/sessions/machine-index";
import { RETENTION_PAGE_SIZE, runRetention } from "../src/sessions/retention";
import { transactionNotify } from "./fixtures";
import { flush, newSessionId } from "./helpers";
import { insideSession } from "./session-flows";
import { readSession, sparkCall, tenantJson, tenantWithSites } from "./support";
import { Receiver, createEndpoint, interceptWebhooks } from "./webhooks-support";

interceptWebhooks();

const DAY = 24 * 60 * 60 * 1000;
/** Past the default 90 days from now: every session made in this file is old enough. */
const LATER = Date.now() + 91 * DAY;
let nayax = 6_300_000_000;

async function notify(tenant: Awaited<ReturnType<typeof tenantWithSites>>, machineId = 71234996) {
  const id = newSessionId();
  const answer = await sparkCall("TransactionNotify", transactionNotify({ SiteId: tenant.siteIds[0], MachineId: machineId, SparkTransactionId: id, NayaxTransactionId: nayax++ }), tenant.sparkCallbackSecret);
  expect(answer.status).toBe(200);
  await flush(id);
  return id;
}

const rows = async (sql: string, ...params: unknown[]) => (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n;

describe("session retention", () => {
  it("deletes ended sessions with their events and deliveries, from D1 and their objects; keeps open and review_required ones", async () => {
    const tenant = await tenantWithSites(1);
    const receiver = new Receiver(() => new Response(null, { status: 204 }));
    await createEndpoint(tenant.apiKey, { url: receiver.url });
    // Ended: declined by a busy station. Open: authorized. In review: set below.
    expect((await tenantJson(tenant.apiKey, "/v1/stations/555/1", { method: "PUT", json: { availability: "busy" } })).status).toBe(200);
    const declinedId = newSessionId();
    expect((await sparkCall("TransactionNotify", transactionNotify({ SiteId: tenant.siteIds[0], MachineId: 555, ServiceStationNumber: "1", SparkTransactionId: declinedId, NayaxTransactionId: nayax++ }), tenant.sparkCallbackSecret)).body.Status.Verdict).toBe("Declined");
    const openId = await notify(tenant);
    const reviewId = await notify(tenant);
    await insideSession(reviewId, (object) => {
      const o = object as unknown as { record: { status: string } };
      o.record.status = "review_required";
    });
    await vi.waitFor(async () => expect(receiver.received.length).toBeGreaterThanOrEqual(3), { timeout: 10_000 });
    await flush(declinedId);
    const eventId = (await readSession(tenant.apiKey, declinedId))!.events[0]!.id;
    expect(await rows("SELECT COUNT(*) AS n FROM deliveries WHERE event_id = ?", eventId)).toBe(1);
    expect(await rows("SELECT COUNT(*) AS n FROM delivery_attempts WHERE event_id = ?", eventId)).toBe(1);

    // Not yet old: nothing happens.
    expect(await runRetention(env)).toMatchObject({ deleted: 0 });
    expect(await readSession(tenant.apiKey, declinedId)).not.toBeNull();

    const run = await runRetention(env, { now: LATER });
    expect(run.deleted).toBeGreaterThanOrEqual(1);
    expect(await readSession(tenant.apiKey, declinedId)).toBeNull();
    expect((await tenantJson(tenant.apiKey, `/v1/sessions/${declinedId}`)).status).toBe(404);
    expect((await tenantJson(tenant.apiKey, `/v1/events/${eventId}`)).status).toBe(404);
    for (const table of ["sessions WHERE id", "session_events WHERE session_id", "deliveries WHERE session_id"]) {
      expect(await rows(`SELECT COUNT(*) AS n FROM ${table} = ?`, declinedId), table).toBe(0);
    }
    expect(await rows("SELECT COUNT(*) AS n FROM delivery_attempts WHERE event_id = ?", eventId)).toBe(0);
    await insideSession(declinedId, (_object, state) => {
      expect(state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray()).toEqual([]);
    });
    // The open and the in-review sessions are untouched.
    expect((await readSession(tenant.apiKey, openId))!.status).toBe("authorized");
    expect(await readSession(tenant.apiKey, reviewId)).not.toBeNull();
    const listed = await tenantJson<{ data: Array<{ id: string }> }>(tenant.apiKey, "/v1/sessions?limit=200");
    expect(listed.body.data.map((s) => s.id)).not.toContain(declinedId);
    expect(listed.body.data.map((s) => s.id)).toContain(openId);
  });

  it("forgets a deleted session in the stop index, also where an earlier version indexed it", async () => {
    const tenant = await tenantWithSites(1);
    let machine = 71_500_001;
    while (earlierMachineIndex(env, tenant.id, machine) === null) machine++;
    expect((await tenantJson(tenant.apiKey, `/v1/stations/${machine}/1`, { method: "PUT", json: { availability: "busy" } })).status).toBe(200);
    const id = newSessionId();
    const nayaxId = nayax++;
    const answer = await sparkCall("TransactionNotify", transactionNotify({ SiteId: tenant.siteIds[0], MachineId: machine, ServiceStationNumber: "1", SparkTransactionId: id, NayaxTransactionId: nayaxId }), tenant.sparkCallbackSecret);
    expect(answer.body.Status.Verdict).toBe("Declined");
    await flush(id);
    const current = machineIndex(env, tenant.id, machine);
    const earlier = earlierMachineIndex(env, tenant.id, machine)!;
    await earlier.put({ sessionId: id, machineId: machine, nayaxTransactionId: nayaxId, cardHash: null, serviceStationNumber: "1", open: false, authorizedAt: Date.now(), version: 1 });
    expect(await current.byNayaxId(machine, nayaxId)).toBe(id);
    expect(await earlier.byNayaxId(machine, nayaxId)).toBe(id);

    await runRetention(env, { now: LATER });
    expect(await readSession(tenant.apiKey, id)).toBeNull();
    expect(await current.byNayaxId(machine, nayaxId)).toBeNull();
    expect(await earlier.byNayaxId(machine, nayaxId)).toBeNull();
  });

  it("works off a backlog in bounded runs, oldest first", async () => {
    const tenant = await tenantWithSites(1);
    expect((await tenantJson(tenant.apiKey, "/v1/stations/777/1", { method: "PUT", json: { availability: "out_of_service" } })).status).toBe(200);
    const count = RETENTION_PAGE_SIZE + 30;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = newSessionId();
      ids.push(id);
      await sparkCall("TransactionNotify", transactionNotify({ SiteId: tenant.siteIds[0], MachineId: 777, ServiceStationNumber: "1", SparkTransactionId: id, NayaxTransactionId: nayax++ }), tenant.sparkCallbackSecret);
    }
    for (const id of ids) await flush(id);
    const backlog = await rows("SELECT COUNT(*) AS n FROM sessions WHERE status IN ('settled','cancelled','declined','timed_out')");
    const first = await runRetention(env, { now: LATER, maxPages: 1 });
    expect(first).toMatchObject({ deleted: RETENTION_PAGE_SIZE, more: true });
    let left = backlog - first.deleted;
    for (let runs = 0; left > 0 && runs < 10; runs++) left -= (await runRetention(env, { now: LATER, maxPages: 1 })).deleted;
    expect(left).toBe(0);
    for (const id of ids) expect(await readSession(tenant.apiKey, id)).toBeNull();
  });

  it("skips a session whose object disagrees with a stale D1 row", async () => {
    const tenant = await tenantWithSites(1);
    const openId = await notify(tenant);
    await env.DB.prepare("UPDATE sessions SET status = 'settled' WHERE id = ?").bind(openId).run();
    const run = await runRetention(env, { now: LATER });
    expect(run.skipped).toBeGreaterThanOrEqual(1);
    expect((await readSession(tenant.apiKey, openId))!.status).toBe("authorized");
    expect(await rows("SELECT COUNT(*) AS n FROM sessions WHERE id = ?", openId)).toBe(1);
  });

  it("runs from the scheduled handler and leaves recent sessions alone", async () => {
    const tenant = await tenantWithSites(1);
    const id = await notify(tenant);
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/10 * * * *" }), env);
    expect((await readSession(tenant.apiKey, id))!.status).toBe("authorized");
  });
});
