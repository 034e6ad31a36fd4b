/** Tenants never see or touch each other's sessions (CONTRACT §3–§5). */
import { beforeAll, describe, expect, it } from "vitest";
import { transactionNotify } from "./fixtures";
import { admin, newSessionId, tenantCall } from "./helpers";
import type { Onboarded } from "./helpers";
import { authorize, expectApiError, expectSparkError, freshMachine, readSession, settle, sparkCall, tenantJson, tenantWithSites, timeline } from "./support";

const HW = "0434334921100366";
type Tenant = Onboarded & { siteIds: number[]; spark: { tokenId: number } };

let a: Tenant;
let b: Tenant;
/** A's authorized session. */
let sessionA: string;
let machineA: number;
const cardA = "ab".repeat(32);

beforeAll(async () => {
  a = (await tenantWithSites(2)) as Tenant;
  b = (await tenantWithSites(1)) as Tenant;
  machineA = freshMachine();
  sessionA = (await authorize(a, { SiteId: a.siteIds[0]!, MachineId: machineA, CardHash: cardA })).id;
});

/** A's session must be exactly as authorized: status and one event. */
async function expectUntouched() {
  expect((await readSession(a.apiKey, sessionA))!.status).toBe("authorized");
  expect(await timeline(a.apiKey, sessionA)).toEqual([["session.authorized", 1]]);
}

describe("tenant API", () => {
  it("answers another tenant's session with 404, exactly like a missing one", async () => {
    expect(await readSession(a.apiKey, sessionA)).not.toBeNull();
    const foreign = await tenantJson(b.apiKey, `/v1/sessions/${sessionA}`);
    const missing = await tenantJson(b.apiKey, `/v1/sessions/${newSessionId()}`);
    expectApiError(foreign, 404);
    expectApiError(missing, 404);
    expect(foreign.status).not.toBe(403);
    expect(foreign.body).toEqual(missing.body);
    expect(foreign.text).not.toContain(a.id);
    // Upper case is the same id, and still not B's.
    expectApiError(await tenantJson(b.apiKey, `/v1/sessions/${sessionA.toUpperCase()}`), 404);
    expect((await tenantJson(a.apiKey, `/v1/sessions/${sessionA.toUpperCase()}`)).status).toBe(200);
  });

  it("refuses to settle or cancel another tenant's session with 404, leaving it alone", async () => {
    expectApiError(await tenantJson(b.apiKey, `/v1/sessions/${sessionA}/settle`, { method: "POST", json: { amount: "5.00" } }), 404);
    expectApiError(await tenantJson(b.apiKey, `/v1/sessions/${sessionA}/cancel`, { method: "POST" }), 404);
    await expectUntouched();
  });

  it("lists only the tenant's own sessions, whatever the filters", async () => {
    const sessionB = (await authorize(b, { SiteId: b.siteIds[0]! })).id;
    const ids = async (tenant: Tenant, query = "") =>
      ((await tenantJson<{ data: Array<{ id: string }> }>(tenant.apiKey, `/v1/sessions?limit=200${query}`)).body.data ?? []).map((s) => s.id);
    expect(await ids(a)).toContain(sessionA);
    expect(await ids(a)).not.toContain(sessionB);
    expect(await ids(b)).toEqual([sessionB]);
    expect(await ids(b, `&siteId=${a.siteIds[0]}`)).toEqual([]);
    expect(await ids(b, "&status=authorized")).toEqual([sessionB]);
  });

  it("keeps another tenant's events out of reach", async () => {
    const eventId = (await readSession(a.apiKey, sessionA))!.events[0]!.id;
    const listed = await tenantJson<{ data: Array<{ id: string }> }>(b.apiKey, `/v1/events?sessionId=${sessionA}`);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([]);
    const all = await tenantJson<{ data: Array<{ id: string }> }>(b.apiKey, "/v1/events?limit=200");
    expect(all.body.data.map((e) => e.id)).not.toContain(eventId);
    expectApiError(await tenantJson(b.apiKey, `/v1/events/${eventId}`), 404);
    expectApiError(await tenantJson(b.apiKey, `/v1/events/${eventId}/attempts`), 404);
    expect((await tenantJson(a.apiKey, `/v1/events/${eventId}`)).status).toBe(200);
  });

  it("does not let a tenant's key work as another's or on /admin", async () => {
    expect((await admin(`/admin/tenants/${a.id}`)).status).toBe(200);
    expect((await tenantCall(b.apiKey, `/admin/tenants/${a.id}`)).status).toBe(401);
  });
});

describe("Spark callbacks with another tenant's secret", () => {
  it.each([
    ["TransactionCallback", () => ({ SparkTransactionId: sessionA, MachineId: machineA, HwSerial: HW, AuthStatus: { Verdict: "Declined", ErrorCode: 37 } })],
    ["DeclineCallback", () => ({ SparkTransactionId: sessionA, MachineId: machineA, HwSerial: HW, Status: { Verdict: "Declined", ErrorCode: 44, ErrorDescription: "Timeout" } })],
    ["TimeoutCallback", () => ({ SparkTransactionId: sessionA, MachineId: machineA, HwSerial: HW })],
    ["StopCallback", () => ({ StopSiteId: b.siteIds[0], MachineId: machineA, HwSerial: HW, CardHash: cardA, SparkTransactionId: sessionA, NayaxTransactionId: 2004545072 })],
  ])("%s naming A's session with B's secret → 401, nothing changes", async (method, body) => {
    expectSparkError(await sparkCall(method, body(), b.sparkCallbackSecret), 401);
    await expectUntouched();
  });

  it("a TransactionNotify on B's own site cannot take over A's SparkTransactionId", async () => {
    const hijack = transactionNotify({ SiteId: b.siteIds[0], SparkTransactionId: sessionA, NayaxTransactionId: 1, Amount: 999 });
    const answer = await sparkCall("TransactionNotify", hijack, b.sparkCallbackSecret);
    expect([401, 404, 409]).toContain(answer.status);
    expectSparkError(answer, answer.status);
    await expectUntouched();
    expect(await readSession(b.apiKey, sessionA)).toBeNull();
  });

  it("StopNotify from B's site never matches A's card", async () => {
    const answer = await sparkCall("StopNotify", { StopSiteId: b.siteIds[0], MachineId: machineA, HwSerial: HW, CardHash: cardA }, b.sparkCallbackSecret);
    expect(answer.status).toBe(200);
    expect(answer.body.Status.Verdict).toBe("Declined");
    await expectUntouched();
  });

  it("StartSession with A's TokenId and B's secret → 401", async () => {
    expectSparkError(await sparkCall("StartSession", { HwSerial: HW, MachineId: machineA, TokenId: a.spark.tokenId, Random: "123456789qwertyui" }, b.sparkCallbackSecret), 401);
  });
});

describe("machine claims win over site claims", () => {
  it("routes a claimed machine on another tenant's site to the machine's tenant", async () => {
    const site = a.siteIds[1]!;
    const machine = freshMachine();
    const claimed = await admin(`/admin/tenants/${b.id}/claims`, { method: "POST", json: { machines: [{ siteId: site, machineId: machine }] } });
    expect(claimed.status, await claimed.clone().text()).toBe(200);

    // TransactionNotify on (site, machine): B's, not A's.
    const id = newSessionId();
    const body = transactionNotify({ SiteId: site, MachineId: machine, SparkTransactionId: id });
    expectSparkError(await sparkCall("TransactionNotify", body, a.sparkCallbackSecret), 401);
    expect(await readSession(a.apiKey, id)).toBeNull();
    expect((await sparkCall("TransactionNotify", body, b.sparkCallbackSecret)).body.Status.Verdict).toBe("Approved");
    expect((await readSession(b.apiKey, id))!.status).toBe("authorized");
    expect(await readSession(a.apiKey, id)).toBeNull();

    // InfoQuery on that machine answers from B's station state.
    expect((await tenantCall(b.apiKey, `/v1/stations/${machine}/5`, { method: "PUT", json: { availability: "busy" } })).status).toBe(200);
    const info = { HwSerial: HW, MachineId: machine, ServiceStationNumber: "5", SiteId: site };
    expectSparkError(await sparkCall("InfoQuery", info, a.sparkCallbackSecret), 401);
    expect((await sparkCall("InfoQuery", info, b.sparkCallbackSecret)).body.ServiceStationAvailability).toBe(2);

    // Every other machine on the site is still A's.
    const other = transactionNotify({ SiteId: site, MachineId: freshMachine(), SparkTransactionId: newSessionId() });
    expectSparkError(await sparkCall("TransactionNotify", other, b.sparkCallbackSecret), 401);
    expect((await sparkCall("TransactionNotify", other, a.sparkCallbackSecret)).status).toBe(200);

    // StopNotify at that machine is B's too.
    await settle(id);
    const stop = { StopSiteId: site, MachineId: machine, HwSerial: HW, CardHash: body.CardHash };
    expectSparkError(await sparkCall("StopNotify", stop, a.sparkCallbackSecret), 401);
    expect((await sparkCall("StopNotify", stop, b.sparkCallbackSecret)).body).toMatchObject({ SparkTransactionId: id, Status: { Verdict: "Approved" } });

    // Once the machine claim is removed, the site claim routes it to A again.
    expect((await admin(`/admin/tenants/${b.id}/machines/${site}/${machine}`, { method: "DELETE" })).status).toBe(200);
    const after = transactionNotify({ SiteId: site, MachineId: machine, SparkTransactionId: newSessionId() });
    expectSparkError(await sparkCall("TransactionNotify", after, b.sparkCallbackSecret), 401);
    expect((await sparkCall("TransactionNotify", after, a.sparkCallbackSecret)).status).toBe(200);
    // B's session made under its machine claim is still B's.
    expect((await readSession(b.apiKey, id))!.status).toBe("stop_requested");
  });
});
