/**
 * Settlement deadlines: an authorization left unsettled past `SETTLEMENT_WINDOW_SECONDS` (default
 * 24 h) is flagged once — `session.settlement_overdue`, `overdue: true`, listed by `?overdue=true`.
 * The window is shortened per session object (see `sessionSettings`), or `overdueAt` back-dated,
 * so the other test files keep the configured window.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { stopCallback } from "../sim/drive";
import { DEFAULT_SETTLEMENT_WINDOW_SECONDS } from "../src/sessions/settings";
import { freshSite, sleep, tenantJson } from "./support";
import { authorizedRemote, drain, cancel, deviceStart, eventTypes, insideSession, session, sessionSettings, settle } from "./session-flows";
import { installSimulator } from "./spark-harness";
import type { SimTenantHandle } from "./spark-harness";

afterEach(() => vi.restoreAllMocks());

/** A short window, in seconds, for the sessions that opt in. */
const SHORT_WINDOW_SECONDS = 1;

async function setup() {
  const harness = installSimulator();
  const siteId = freshSite();
  const t = await harness.tenant({ siteIds: [siteId] });
  return { ...harness, siteId, t };
}

/** Ids of the tenant's sessions listed with `?overdue=…`. */
async function listedOverdue(t: SimTenantHandle, overdue: boolean): Promise<string[]> {
  const res = await tenantJson<{ data: Array<{ id: string; overdue: boolean }> }>(t.apiKey, `/v1/sessions?overdue=${overdue}`);
  expect(res.status, res.text).toBe(200);
  for (const s of res.body.data) expect(s.overdue).toBe(overdue);
  return res.body.data.map((s) => s.id);
}

/** Device Start on a session object whose window is `seconds`. */
async function authorizedWithWindow(t: SimTenantHandle, siteId: number, seconds: number) {
  const id = crypto.randomUUID();
  await sessionSettings(id, { SETTLEMENT_WINDOW_SECONDS: String(seconds) });
  return deviceStart(t, siteId, { SparkTransactionId: id });
}

/**
 * Moves the session's deadline into the past (as if the window had elapsed) and runs its alarm,
 * scheduling one if none is pending, so "not flagged" is checked, not assumed.
 */
async function elapse(id: string): Promise<void> {
  const forcedAt = await insideSession(id, async (object, state) => {
    if (object.record?.overdueAt != null) object.record.overdueAt = Date.now() - 1;
    if ((await state.storage.getAlarm()) !== null) return null;
    const at = Date.now();
    await state.storage.setAlarm(at);
    return at;
  });
  await drain(id);
  // The alarm did run: the one scheduled here is gone.
  if (forcedAt !== null) expect(await alarmOf(id)).not.toBe(forcedAt);
}

/** When the session's alarm is next due (Unix ms), or null. */
const alarmOf = (id: string) => insideSession(id, (_object, state) => state.storage.getAlarm());

describe("settlement deadline", () => {
  it("an authorized session left unsettled is flagged once its window passes, and only once", async () => {
    const { t, siteId } = await setup();
    const { id } = await authorizedWithWindow(t, siteId, SHORT_WINDOW_SECONDS);
    await drain(id);
    const record = await insideSession(id, (object) => object.record!);
    expect(record.overdueAt).toBe(Date.parse(record.authorizedAt!) + SHORT_WINDOW_SECONDS * 1000);
    // The object sleeps until exactly then: no one has to poll it.
    expect(await alarmOf(id)).toBe(record.overdueAt);
    expect((await session(t, id)).overdue).toBe(false);
    expect(await listedOverdue(t, true)).not.toContain(id);
    expect(await listedOverdue(t, false)).toContain(id);

    await sleep(record.overdueAt! - Date.now() + 100);
    // The alarm may already have fired by itself; running it again must not flag twice.
    await drain(id);
    await drain(id);
    const read = await session(t, id);
    expect(read.overdue).toBe(true);
    expect(read.status).toBe("authorized");
    expect(read.events.map((e) => [e.type, e.data.sequence])).toEqual([["session.authorized", 1], ["session.settlement_overdue", 2]]);
    expect(read.events[1]!.data.session).toMatchObject({ id, overdue: true, status: "authorized" });
    expect(await listedOverdue(t, true)).toEqual([id]);
    expect(await listedOverdue(t, false)).not.toContain(id);
  });

  it("the default window is 24 h: not flagged before, flagged after", async () => {
    const { t, siteId } = await setup();
    const { id } = await deviceStart(t, siteId);
    const record = await insideSession(id, (object) => object.record!);
    expect(DEFAULT_SETTLEMENT_WINDOW_SECONDS).toBe(24 * 60 * 60);
    expect(record.overdueAt! - Date.parse(record.authorizedAt!)).toBe(DEFAULT_SETTLEMENT_WINDOW_SECONDS * 1000);
    await drain(id);
    expect(await alarmOf(id)).toBe(record.overdueAt);
    expect(await eventTypes(t, id)).toEqual(["session.authorized"]);

    await elapse(id);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.settlement_overdue"]);
    expect(await listedOverdue(t, true)).toEqual([id]);
  });

  it.each(["0", "-5", "soon", ""])("SETTLEMENT_WINDOW_SECONDS %j falls back to 24 h", async (value) => {
    const { t, siteId } = await setup();
    const id = crypto.randomUUID();
    await sessionSettings(id, { SETTLEMENT_WINDOW_SECONDS: value });
    await deviceStart(t, siteId, { SparkTransactionId: id });
    const record = await insideSession(id, (object) => object.record!);
    expect(record.overdueAt! - Date.parse(record.authorizedAt!)).toBe(DEFAULT_SETTLEMENT_WINDOW_SECONDS * 1000);
  });

  it("a Remote Start authorization (TransactionCallback) gets the same deadline", async () => {
    const { t, siteId } = await setup();
    const { id } = await authorizedRemote(t, siteId);
    await elapse(id);
    const read = await session(t, id);
    expect(read.overdue).toBe(true);
    expect(read.events.map((e) => e.type)).toEqual(["session.created", "session.authorized", "session.settlement_overdue"]);
  });

  it("a stop-requested session still unsettled is flagged too", async () => {
    const { t, siteId } = await setup();
    const { id, nayaxId } = await deviceStart(t, siteId);
    expect((await t.driver.send("StopCallback", stopCallback({ SparkTransactionId: id, NayaxTransactionId: nayaxId }))).status).toBe(200);
    await elapse(id);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.stop_requested", "session.settlement_overdue"]);
  });

  it("an overdue session can still be settled", async () => {
    const { t, siteId } = await setup();
    const { id } = await deviceStart(t, siteId);
    await elapse(id);
    const res = await settle(t, id, { amount: "3.00" });
    expect(res.status, res.text).toBe(200);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.settlement_overdue", "session.settled"]);
  });
});

describe("settlement deadline: sessions that are done are never flagged", () => {
  it("a settled session is not flagged when its window passes", async () => {
    const { t, siteId } = await setup();
    const { id } = await authorizedWithWindow(t, siteId, SHORT_WINDOW_SECONDS);
    expect((await settle(t, id, { amount: "5.00" })).status).toBe(200);
    const record = await insideSession(id, (object) => object.record!);
    await sleep(Math.max(0, record.overdueAt! - Date.now()) + 100);
    await drain(id);
    await elapse(id);
    const read = await session(t, id);
    expect(read.overdue).toBe(false);
    expect(read.events.map((e) => e.type)).toEqual(["session.authorized", "session.settled"]);
    expect(await listedOverdue(t, true)).toEqual([]);
    expect(await listedOverdue(t, false)).toContain(id);
  });

  it("a cancelled session is not flagged", async () => {
    const { t, siteId } = await setup();
    const { id } = await deviceStart(t, siteId);
    expect((await cancel(t, id)).status).toBe(200);
    await elapse(id);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.cancelled"]);
    expect(await listedOverdue(t, true)).toEqual([]);
  });

  it("a session awaiting its card has no deadline", async () => {
    const { t } = await setup();
    const res = await tenantJson<{ id: string }>(t.apiKey, "/v1/sessions", { method: "POST", json: { terminal: { hwSerial: "0434334921100366" }, amount: "15.00" } });
    expect(res.status, res.text).toBe(201);
    const id = res.body.id;
    expect((await insideSession(id, (object) => object.record!)).overdueAt).toBeNull();
    await drain(id);
    expect(await eventTypes(t, id)).toEqual(["session.created"]);
  });
});
