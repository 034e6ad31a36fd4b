/**
 * The payment flow over OCPI (CONTRACT §7.6–§7.8), end to end through the Worker: Spark's
 * callbacks, the strict CPO simulator on the other side, and the Spark simulator settling or
 * releasing the card. Both versions.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { stopCallback, transactionCallback, transactionNotify } from "../sim/drive";
import type { CpoSimulator } from "../sim/cpo-simulator";
import type { OcpiVersion } from "../src/ocpi/model";
import { sessionStub } from "../src/sessions/stub";
import { api, connect, location211, location221, newCpo } from "./ocpi-support";
import { bodyOf, freshNayaxId, insideSession, sent, session, sessionSettings, settle, cancel } from "./session-flows";
import type { SessionJson } from "./session-flows";
import { installSimulator } from "./spark-harness";
import type { SimTenantHandle } from "./spark-harness";
import { freshMachine, freshSite, sleep } from "./support";

const BEC = { countryCode: "BE", partyId: "BEC" };
const WAIT = { timeout: 10_000, interval: 50 };

let spark: ReturnType<typeof installSimulator>;
beforeAll(() => {
  // The Spark simulator first: the CPO simulators' interception hands everything else on to it.
  spark = installSimulator();
});
afterEach(() => undefined);

interface Ocpi {
  version: string;
  tokenUid: string | null;
  sessionId: string | null;
  status: string | null;
  start: { response: string | null; result: string | null } | null;
  stop: { reason: string; response: string | null; result: string | null } | null;
  cdrId: string | null;
  charge: string | null;
  cancelReason: string | null;
  reviewReasons: string[];
  cost: { exclVat: string; inclVat: string | null } | null;
  kwh: number | null;
}
type OcpiSession = SessionJson & { ocpi: Ocpi | null };

interface Setup {
  t: SimTenantHandle;
  sim: CpoSimulator;
  siteId: number;
  machineId: number;
  version: OcpiVersion;
}

/** A tenant of the Spark simulator, connected over `version` to a CPO whose LOC1/3256 (connectors 1, 2) its station 5 is mapped to. */
async function setup(version: OcpiVersion, options: { retailFactor?: string; vatPercent?: string; currency?: string } = {}): Promise<Setup> {
  const siteId = freshSite();
  const machineId = freshMachine();
  const t = await spark.tenant({ siteIds: [siteId] });
  const sim = newCpo({ versions: [version], parties: [{ ...BEC, name: "Be Charging" }] });
  sim.locations = [version === "2.2.1" ? location221(BEC, "LOC1", [["3256", "AVAILABLE", ["1", "2"]]]) : location211("LOC1", [["3256", "AVAILABLE", ["1", "2"]]])];
  await connect(t, sim, "gateway");
  // Registration tries the token Base64-encoded first and as is after a 401 (§7.3): a 2.1.1-only CPO notes the first try.
  sim.clearLog();
  const mapped = await api(t.apiKey, `/v1/stations/${machineId}/5`, { method: "PUT", json: { ocpi: { locationId: "LOC1", evseUid: "3256", connectorId: "1" } } });
  expect(mapped.status, JSON.stringify(mapped.body)).toBe(200);
  if (Object.keys(options).length > 0) expect((await api(t.apiKey, "/v1/ocpi/settings", { method: "PATCH", json: options })).status).toBe(200);
  return { t, sim, siteId, machineId, version };
}

/** TransactionNotify (Device Start) on the mapped station, authorized for `amount`. */
async function notify(s: Setup, amount = "10.00", id = crypto.randomUUID()) {
  const nayaxId = freshNayaxId();
  const answer = await s.t.driver.send("TransactionNotify", transactionNotify({ SiteId: s.siteId, MachineId: s.machineId, ServiceStationNumber: "5", SparkTransactionId: id, NayaxTransactionId: nayaxId, Amount: JSON.rawJSON(amount) }));
  expect(answer.status, answer.text).toBe(200);
  return { id, nayaxId, answer: answer.body as { Status: { Verdict: string } } };
}

const read = async (s: Setup, id: string) => (await session(s.t, id)) as OcpiSession;
const waitFor = (fn: () => Promise<void> | void) => vi.waitFor(fn, WAIT);
const startOf = (s: Setup) => s.sim.commands.filter((c) => c.kind === "START_SESSION");
const stopsOf = (s: Setup) => s.sim.commands.filter((c) => c.kind === "STOP_SESSION");

/** The CPO's Session for the gateway session, as the simulator pushes it. */
function cpoSession(s: Setup, o: { id: string; sessionId: string; tokenUid: string; status: string; kwh?: number; inclVat?: string; exclVat?: string; endedAt?: string; lastUpdated: string }) {
  if (s.version === "2.2.1") {
    return {
      country_code: BEC.countryCode,
      party_id: BEC.partyId,
      id: o.sessionId,
      start_date_time: "2024-05-01T10:00:00Z",
      ...(o.endedAt ? { end_date_time: o.endedAt } : {}),
      kwh: o.kwh ?? 0,
      cdr_token: { country_code: "IL", party_id: "NYX", uid: o.tokenUid, type: "AD_HOC_USER", contract_id: o.tokenUid },
      auth_method: "COMMAND",
      authorization_reference: o.id,
      location_id: "LOC1",
      evse_uid: "3256",
      connector_id: "1",
      currency: "EUR",
      ...(o.exclVat !== undefined ? { total_cost: { excl_vat: JSON.rawJSON(o.exclVat), ...(o.inclVat !== undefined ? { incl_vat: JSON.rawJSON(o.inclVat) } : {}) } } : {}),
      status: o.status,
      last_updated: o.lastUpdated,
    };
  }
  return {
    id: o.sessionId,
    start_datetime: "2024-05-01T10:00:00Z",
    ...(o.endedAt ? { end_datetime: o.endedAt } : {}),
    kwh: o.kwh ?? 0,
    auth_id: o.tokenUid,
    auth_method: "WHITELIST",
    location: location211("LOC1", [["3256", "CHARGING", ["1"]]]),
    currency: "EUR",
    ...(o.exclVat !== undefined ? { total_cost: JSON.rawJSON(o.exclVat) } : {}),
    status: o.status,
    last_updated: o.lastUpdated,
  };
}

async function pushSession(s: Setup, o: Parameters<typeof cpoSession>[1]) {
  s.sim.sessions.add(o.sessionId.toUpperCase());
  const res = await s.sim.push("PUT", `sessions/${BEC.countryCode}/${BEC.partyId}/${o.sessionId}`, cpoSession(s, o));
  expect([200, 201]).toContain(res.status);
}

function cdrBody(s: Setup, o: { cdrId: string; sessionId: string; tokenUid: string; id: string; exclVat: string; inclVat?: string; kwh?: string; currency?: string; credit?: boolean }) {
  const kwh = JSON.rawJSON(o.kwh ?? "15");
  if (s.version === "2.2.1") {
    return {
      country_code: BEC.countryCode,
      party_id: BEC.partyId,
      id: o.cdrId,
      start_date_time: "2024-05-01T10:00:00Z",
      end_date_time: "2024-05-01T11:00:00Z",
      session_id: o.sessionId,
      cdr_token: { country_code: "IL", party_id: "NYX", uid: o.tokenUid, type: "AD_HOC_USER", contract_id: o.tokenUid },
      auth_method: "COMMAND",
      authorization_reference: o.id,
      cdr_location: { id: "LOC1", address: "F.Rooseveltlaan 3A", city: "Gent", country: "BEL", coordinates: { latitude: "51.047599", longitude: "3.729944" }, evse_uid: "3256", evse_id: "BE*BEC*E3256", connector_id: "1", connector_standard: "IEC_62196_T2", connector_format: "SOCKET", connector_power_type: "AC_3_PHASE" },
      currency: o.currency ?? "EUR",
      charging_periods: [{ start_date_time: "2024-05-01T10:00:00Z", dimensions: [{ type: "ENERGY", volume: kwh }] }],
      total_cost: { excl_vat: JSON.rawJSON(o.exclVat), ...(o.inclVat !== undefined ? { incl_vat: JSON.rawJSON(o.inclVat) } : {}) },
      total_energy: kwh,
      total_time: 1,
      ...(o.credit ? { credit: true, credit_reference_id: "CREDIT-1" } : {}),
      last_updated: "2024-05-01T11:05:00Z",
    };
  }
  return {
    id: o.cdrId,
    start_date_time: "2024-05-01T10:00:00Z",
    stop_date_time: "2024-05-01T11:00:00Z",
    auth_id: o.tokenUid,
    auth_method: "WHITELIST",
    location: location211("LOC1", [["3256", "AVAILABLE", ["1"]]]),
    currency: o.currency ?? "EUR",
    charging_periods: [{ start_date_time: "2024-05-01T10:00:00Z", dimensions: [{ type: "ENERGY", volume: kwh }] }],
    total_cost: JSON.rawJSON(o.exclVat),
    total_energy: kwh,
    total_time: 1,
    last_updated: "2024-05-01T11:05:00Z",
  };
}

async function postCdr(s: Setup, o: Parameters<typeof cdrBody>[1]) {
  const res = await s.sim.push("POST", "cdrs", cdrBody(s, o));
  expect([200, 201]).toContain(res.status);
}

/** The CPO completes its Session `sessionId` of a started session, then sends the CDR `cdr` of it. */
async function completeWithCdr(s: Setup, session: { id: string; tokenUid: string }, sessionId: string, cdr: Omit<Parameters<typeof cdrBody>[1], "sessionId" | "tokenUid" | "id">) {
  await pushSession(s, { id: session.id, sessionId, tokenUid: session.tokenUid, status: "COMPLETED", lastUpdated: "2024-05-01T11:00:00Z" });
  await postCdr(s, { ...cdr, sessionId, tokenUid: session.tokenUid, id: session.id });
}

/** Device Start through to an accepted START_SESSION; answers the session id and the token uid. */
async function started(s: Setup, amount = "10.00") {
  const { id, nayaxId } = await notify(s, amount);
  await waitFor(() => expect(startOf(s)).toHaveLength(1));
  await s.sim.settled();
  await waitFor(async () => expect((await read(s, id)).ocpi?.start?.result).toBe("ACCEPTED"));
  const tokenUid = (await read(s, id)).ocpi!.tokenUid!;
  return { id, nayaxId, tokenUid };
}

describe.each<OcpiVersion>(["2.2.1", "2.1.1"])("a Device Start paid through OCPI %s", (version) => {
  it("START_SESSION once, the Session, a card stop, the CDR and the Settlement, with the events in order", async () => {
    const s = await setup(version);
    const { id, nayaxId, answer } = await notify(s, "10.00");
    expect(answer.Status.Verdict).toBe("Approved");
    await waitFor(() => expect(startOf(s)).toHaveLength(1));
    const command = startOf(s)[0]!;
    const token = command.body.token as Record<string, unknown>;
    expect(token.uid).toMatch(/^NYX-[0-9A-F]{16}$/);
    if (version === "2.2.1") {
      expect(command.body).toMatchObject({ location_id: "LOC1", evse_uid: "3256", connector_id: "1", authorization_reference: id, token: { type: "AD_HOC_USER", contract_id: token.uid, whitelist: "NEVER" } });
      expect(command.headers["ocpi-to-party-id"]).toBe("BEC");
    } else {
      expect(command.body).not.toHaveProperty("connector_id");
      expect(command.body).not.toHaveProperty("authorization_reference");
      expect(command.body).toMatchObject({ location_id: "LOC1", evse_uid: "3256", token: { type: "OTHER", auth_id: token.uid, whitelist: "ALWAYS" } });
    }
    expect(s.sim.violations).toEqual([]);
    await s.sim.settled();
    const tokenUid = token.uid as string;
    await waitFor(async () => expect((await read(s, id)).ocpi).toMatchObject({ version, tokenUid, start: { response: "ACCEPTED", result: "ACCEPTED" }, sessionId: null }));

    // While START_SESSION's Session is PENDING or ACTIVE the tenant's settle and cancel wait for OCPI.
    await pushSession(s, { id, sessionId: "S-101", tokenUid, status: "PENDING", lastUpdated: "2024-05-01T10:00:00Z" });
    const blocked = await settle(s.t, id, { amount: "1.00" });
    expect(blocked.status, blocked.text).toBe(409);
    expect(blocked.body.error.code).toBe("ocpi_in_progress");
    expect((await cancel(s.t, id)).body.error.code).toBe("ocpi_in_progress");

    await pushSession(s, { id, sessionId: "S-101", tokenUid, status: "ACTIVE", kwh: 5, exclVat: "1.5", inclVat: "1.65", lastUpdated: "2024-05-01T10:10:00Z" });
    await waitFor(async () => expect((await read(s, id)).ocpi).toMatchObject({ sessionId: "S-101", status: "ACTIVE", kwh: 5 }));
    const stop = await s.t.driver.send("StopCallback", stopCallback({ StopSiteId: s.siteId, MachineId: s.machineId, SparkTransactionId: id, NayaxTransactionId: nayaxId }));
    expect((stop.body as { Status: { Verdict: string } }).Status.Verdict).toBe("Approved");
    await waitFor(() => expect(stopsOf(s)).toHaveLength(1));
    expect(stopsOf(s)[0]!.body).toEqual({ response_url: expect.stringMatching(new RegExp(`/ocpi/${version.replace(/\./g, "\\.")}/commands/STOP_SESSION/`)), session_id: "S-101" });
    await waitFor(async () => expect((await read(s, id)).ocpi!.stop).toMatchObject({ reason: "card", response: "ACCEPTED" }));

    await pushSession(s, { id, sessionId: "S-101", tokenUid, status: "COMPLETED", kwh: 15, exclVat: "3.9309", inclVat: "4.3240", endedAt: "2024-05-01T11:00:00Z", lastUpdated: "2024-05-01T11:00:00Z" });
    await postCdr(s, { cdrId: "CDR-1", sessionId: "S-101", tokenUid, id, exclVat: "3.9309", inclVat: "4.3240", kwh: "15.000" });
    await waitFor(async () => expect((await read(s, id)).status).toBe("settled"));
    const final = await read(s, id);
    // 2.2.1 settles incl_vat 4.3240 → 4.32; 2.1.1 has no incl_vat and no VAT set: excl 3.9309 → 3.93.
    const charge = version === "2.2.1" ? "4.32" : "3.93";
    expect(final).toMatchObject({ settledAmount: charge, ocpi: { cdrId: "CDR-1", charge, status: "COMPLETED", cancelReason: null, reviewReasons: [] } });
    const settlement = sent(spark.simulator, "Settlement").find((r) => bodyOf(r)["SparkTransactionId"] === id)!;
    expect(bodyOf(settlement)["Amount"]).toBe(version === "2.2.1" ? "4.32" : "3.93");
    expect(JSON.parse(bodyOf(settlement)["EReceiptData"] as string)).toEqual({ General: [{ CDR: "CDR-1" }, { Energy: "15 kWh" }, { Amount: charge }] });
    expect(final.events.map((e) => e.type)).toEqual(["session.authorized", "session.charging", "session.stop_requested", "session.charging_completed", "session.settled"]);
    // Each event carries the session's ocpi as it stood.
    expect(final.events.map((e) => (e.data.session as { ocpi: Ocpi }).ocpi.status)).toEqual([null, "ACTIVE", "ACTIVE", "COMPLETED", "COMPLETED"]);
    expect(startOf(s)).toHaveLength(1);
    expect(s.sim.violations).toEqual([]);
  });

  it("the charger stops by itself: no stop event, settled from the CDR", async () => {
    const s = await setup(version);
    const { id, tokenUid } = await started(s);
    await pushSession(s, { id, sessionId: "S-202", tokenUid, status: "ACTIVE", lastUpdated: "2024-05-01T10:10:00Z" });
    await pushSession(s, { id, sessionId: "S-202", tokenUid, status: "COMPLETED", endedAt: "2024-05-01T11:00:00Z", exclVat: "2", lastUpdated: "2024-05-01T11:00:00Z" });
    await postCdr(s, { cdrId: "CDR-2", sessionId: "S-202", tokenUid, id, exclVat: "2.00" });
    await waitFor(async () => expect((await read(s, id)).status).toBe("settled"));
    expect((await read(s, id)).events.map((e) => e.type)).toEqual(["session.authorized", "session.charging", "session.charging_completed", "session.settled"]);
    expect(stopsOf(s)).toHaveLength(0);
  });

  it("the cost cap: STOP_SESSION when what the card would pay reaches the authorized amount", async () => {
    const s = await setup(version, { retailFactor: "1.25" });
    const { id, tokenUid } = await started(s, "5.00");
    await pushSession(s, { id, sessionId: "S-303", tokenUid, status: "ACTIVE", exclVat: "3.00", lastUpdated: "2024-05-01T10:10:00Z" });
    await waitFor(async () => expect((await read(s, id)).ocpi!.status).toBe("ACTIVE"));
    expect(stopsOf(s)).toHaveLength(0);
    // 4.00 × 1.25 = 5.00: the cap.
    await pushSession(s, { id, sessionId: "S-303", tokenUid, status: "ACTIVE", exclVat: "4.00", lastUpdated: "2024-05-01T10:20:00Z" });
    await waitFor(() => expect(stopsOf(s)).toHaveLength(1));
    const read1 = await read(s, id);
    expect(read1).toMatchObject({ status: "stop_requested", ocpi: { stop: { reason: "cost_cap" } } });
    expect(read1.events.map((e) => e.type)).toEqual(["session.authorized", "session.charging", "session.stop_requested"]);
    // A later update over the cap sends nothing again: the first STOP_SESSION was ACCEPTED.
    await pushSession(s, { id, sessionId: "S-303", tokenUid, status: "ACTIVE", exclVat: "4.10", lastUpdated: "2024-05-01T10:21:00Z" });
    await sleep(200);
    expect(stopsOf(s)).toHaveLength(1);
  });
});

describe("OCPI start failing releases the card", () => {
  it("START_SESSION answered REJECTED: CancelTransaction, cancelled with start_rejected", async () => {
    const s = await setup("2.2.1");
    s.sim.nextCommand({ response: "REJECTED" });
    const { id } = await notify(s);
    await waitFor(async () => expect((await read(s, id)).status).toBe("cancelled"));
    const after = await read(s, id);
    expect(after.ocpi).toMatchObject({ start: { response: "REJECTED", result: null }, cancelReason: "start_rejected" });
    expect(after.events.map((e) => e.type)).toEqual(["session.authorized", "session.cancelled"]);
    expect(sent(spark.simulator, "CancelTransaction").filter((r) => bodyOf(r)["SparkTransactionId"] === id)).toHaveLength(1);
  });

  it("the card is released while the session's outbox run still waits on D1, not after it", async () => {
    const s = await setup("2.2.1");
    s.sim.nextCommand({ response: "REJECTED" });
    const id = crypto.randomUUID();
    // The run that sends START_SESSION then waits on its D1 batch, held here until the end.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await insideSession(id, (object) => {
      const outbox = (object as unknown as { outbox: { flush: (...args: unknown[]) => Promise<unknown> } }).outbox;
      const flush = outbox.flush.bind(outbox);
      vi.spyOn(outbox, "flush").mockImplementation(async (...args: unknown[]) => {
        await held;
        return flush(...args);
      });
    });
    try {
      await notify(s, "10.00", id);
      await waitFor(async () => expect((await read(s, id)).status).toBe("cancelled"));
      expect(sent(spark.simulator, "CancelTransaction").filter((r) => bodyOf(r)["SparkTransactionId"] === id)).toHaveLength(1);
    } finally {
      release();
    }
  });

  it("an answer that is not a 1000 envelope: response ERROR, start_rejected", async () => {
    const s = await setup("2.1.1");
    s.sim.nextCommand({ httpStatus: 500, statusCode: 3000 });
    const { id } = await notify(s);
    await waitFor(async () => expect((await read(s, id)).ocpi).toMatchObject({ start: { response: "ERROR" }, cancelReason: "start_rejected" }));
  });

  it("a result other than ACCEPTED and no Session within the grace: start_failed", async () => {
    const s = await setup("2.2.1");
    const id = crypto.randomUUID();
    await sessionSettings(id, { OCPI_RESULT_GRACE_SECONDS: "1" });
    s.sim.nextCommand({ response: "ACCEPTED", result: "FAILED" });
    await notify(s, "10.00", id);
    await waitFor(async () => expect((await read(s, id)).ocpi!.start).toMatchObject({ response: "ACCEPTED", result: "FAILED" }));
    await sleep(1_100);
    await runDurableObjectAlarm(sessionStub(env, id));
    await waitFor(async () => expect((await read(s, id)).status).toBe("cancelled"));
    expect((await read(s, id)).ocpi!.cancelReason).toBe("start_failed");
  });

  it("ACCEPTED but no Session within the start window: no_session", async () => {
    const s = await setup("2.2.1");
    const id = crypto.randomUUID();
    await sessionSettings(id, { OCPI_START_WINDOW_SECONDS: "1" });
    await notify(s, "10.00", id);
    await waitFor(async () => expect((await read(s, id)).ocpi!.start?.result).toBe("ACCEPTED"));
    await sleep(1_100);
    await runDurableObjectAlarm(sessionStub(env, id));
    await waitFor(async () => expect((await read(s, id)).ocpi).toMatchObject({ cancelReason: "no_session" }));
    await waitFor(async () => expect((await read(s, id)).status).toBe("cancelled"));
  });

  it("a START_SESSION that surely did not reach the CPO is sent again, at most three more times, then start_rejected", async () => {
    const s = await setup("2.2.1");
    const id = crypto.randomUUID();
    await sessionSettings(id, { OCPI_START_WINDOW_SECONDS: "2" });
    s.sim.down = true;
    await notify(s, "10.00", id);
    await waitFor(async () => expect((await read(s, id)).ocpi!.cancelReason).toBe("start_rejected"));
    const starts = s.sim.requests.filter((r) => r.url.includes("/commands/START_SESSION"));
    // Nothing reached the simulator: it was down for every attempt.
    expect(starts).toHaveLength(0);
    expect((await read(s, id)).ocpi!.start).toMatchObject({ response: "ERROR" });
    s.sim.down = false;
  });

  it("a CPO Session INVALID: CancelTransaction, cancelled with session_invalid", async () => {
    const s = await setup("2.2.1");
    const { id, tokenUid } = await started(s);
    await pushSession(s, { id, sessionId: "S-404", tokenUid, status: "INVALID", lastUpdated: "2024-05-01T10:10:00Z" });
    await waitFor(async () => expect((await read(s, id)).status).toBe("cancelled"));
    expect((await read(s, id)).ocpi!.cancelReason).toBe("session_invalid");
  });
});

describe("stop by card before the CPO's Session is known", () => {
  it("waits for the Session and sends STOP_SESSION as soon as it arrives", async () => {
    const s = await setup("2.2.1");
    const { id, nayaxId, tokenUid } = await started(s);
    await s.t.driver.send("StopCallback", stopCallback({ StopSiteId: s.siteId, MachineId: s.machineId, SparkTransactionId: id, NayaxTransactionId: nayaxId }));
    await sleep(200);
    expect(stopsOf(s)).toHaveLength(0);
    expect((await read(s, id)).status).toBe("stop_requested");
    await pushSession(s, { id, sessionId: "S-505", tokenUid, status: "ACTIVE", lastUpdated: "2024-05-01T10:10:00Z" });
    await waitFor(() => expect(stopsOf(s)).toHaveLength(1));
    expect(stopsOf(s)[0]!.body).toMatchObject({ session_id: "S-505" });
  });

  it("a stop repeat sends STOP_SESSION again only when the previous one was not ACCEPTED", async () => {
    const s = await setup("2.2.1");
    const { id, nayaxId, tokenUid } = await started(s);
    await pushSession(s, { id, sessionId: "S-606", tokenUid, status: "ACTIVE", lastUpdated: "2024-05-01T10:10:00Z" });
    s.sim.nextCommand({ response: "REJECTED" });
    const card = stopCallback({ StopSiteId: s.siteId, MachineId: s.machineId, SparkTransactionId: id, NayaxTransactionId: nayaxId });
    await s.t.driver.send("StopCallback", card);
    await waitFor(async () => expect((await read(s, id)).ocpi!.stop).toMatchObject({ response: "REJECTED" }));
    await s.t.driver.send("StopCallback", card);
    await waitFor(() => expect(stopsOf(s)).toHaveLength(2));
    await waitFor(async () => expect((await read(s, id)).ocpi!.stop).toMatchObject({ response: "ACCEPTED" }));
    await s.t.driver.send("StopCallback", card);
    await sleep(200);
    expect(stopsOf(s)).toHaveLength(2);
    expect((await read(s, id)).events.filter((e) => e.type === "session.stop_requested")).toHaveLength(1);
  });
});

describe("settling from the CDR", () => {
  it("an amount of 0.00 releases the card: cancelled with zero_amount", async () => {
    const s = await setup("2.2.1", { retailFactor: "1.25" });
    const { id, tokenUid } = await started(s);
    // incl_vat 0.0030 × 1.25 = 0.00375 → 0.00 (§7.7).
    await completeWithCdr(s, { id, tokenUid }, "S-707", { cdrId: "CDR-7", exclVat: "0.0027", inclVat: "0.0030" });
    await waitFor(async () => expect((await read(s, id)).status).toBe("cancelled"));
    expect((await read(s, id)).ocpi).toMatchObject({ charge: "0.00", cancelReason: "zero_amount" });
    expect(sent(spark.simulator, "Settlement").filter((r) => bodyOf(r)["SparkTransactionId"] === id)).toHaveLength(0);
  });

  it("above the authorized amount: capped, settled for the authorized amount, review cdr_above_authorized", async () => {
    const s = await setup("2.2.1");
    const { id, tokenUid } = await started(s, "5.00");
    await completeWithCdr(s, { id, tokenUid }, "S-808", { cdrId: "CDR-8", exclVat: "6.00", inclVat: "7.26" });
    await waitFor(async () => expect((await read(s, id)).status).toBe("settled"));
    const after = await read(s, id);
    expect(after).toMatchObject({ settledAmount: "5.00", ocpi: { charge: "5.00", reviewReasons: ["cdr_above_authorized"] } });
    expect(after.events.map((e) => e.type)).toContain("session.review_required");
  });

  it("a 2.1.1 cost excludes VAT: vatPercent is added (2.1125 × 1.20 = 2.535 → 2.54)", async () => {
    const s = await setup("2.1.1", { vatPercent: "20" });
    const { id, tokenUid } = await started(s);
    await completeWithCdr(s, { id, tokenUid }, "S-909", { cdrId: "CDR-9", exclVat: "2.1125" });
    await waitFor(async () => expect((await read(s, id)).status).toBe("settled"));
    expect((await read(s, id)).settledAmount).toBe("2.54");
  });

  it("another CDR, a credit CDR, another currency: review, nothing settled twice", async () => {
    const s = await setup("2.2.1", { currency: "EUR" });
    const { id, tokenUid } = await started(s);
    await completeWithCdr(s, { id, tokenUid }, "S-111", { cdrId: "CDR-11", exclVat: "1.00", inclVat: "1.21" });
    await waitFor(async () => expect((await read(s, id)).status).toBe("settled"));
    await postCdr(s, { cdrId: "CDR-12", sessionId: "S-111", tokenUid, id, exclVat: "1.00", inclVat: "1.21" });
    await postCdr(s, { cdrId: "CDR-13", sessionId: "S-111", tokenUid, id, exclVat: "-1.00", inclVat: "-1.21", credit: true });
    await waitFor(async () => expect((await read(s, id)).ocpi!.reviewReasons).toEqual(["extra_cdr", "credit_cdr"]));
    expect(sent(spark.simulator, "Settlement").filter((r) => bodyOf(r)["SparkTransactionId"] === id)).toHaveLength(1);

    const other = await setup("2.2.1", { currency: "GBP" });
    const second = await started(other);
    await completeWithCdr(other, second, "S-112", { cdrId: "CDR-14", exclVat: "1.00", inclVat: "1.21" });
    await waitFor(async () => expect((await read(other, second.id)).ocpi!.reviewReasons).toEqual(["currency_mismatch"]));
    expect((await read(other, second.id)).status).toBe("authorized");
  });

  it("no CDR within OCPI_CDR_WAIT_SECONDS of COMPLETED: review cdr_missing; the tenant may then settle", async () => {
    const s = await setup("2.2.1");
    const { id, tokenUid } = await started(s);
    await sessionSettings(id, { OCPI_CDR_WAIT_SECONDS: "1" });
    await pushSession(s, { id, sessionId: "S-121", tokenUid, status: "COMPLETED", lastUpdated: "2024-05-01T11:00:00Z" });
    await waitFor(async () => expect((await read(s, id)).ocpi!.status).toBe("COMPLETED"));
    await sleep(1_100);
    await runDurableObjectAlarm(sessionStub(env, id));
    await waitFor(async () => expect((await read(s, id)).ocpi!.reviewReasons).toEqual(["cdr_missing"]));
    const settled = await settle(s.t, id, { amount: "3.00" });
    expect(settled.status, settled.text).toBe(200);
  });

  it("a Session for a session already cancelled: late_session, and STOP_SESSION once while it charges", async () => {
    const s = await setup("2.2.1");
    s.sim.nextCommand({ response: "REJECTED" });
    const { id } = await notify(s);
    await waitFor(async () => expect((await read(s, id)).status).toBe("cancelled"));
    const tokenUid = (await read(s, id)).ocpi!.tokenUid!;
    await pushSession(s, { id, sessionId: "S-131", tokenUid, status: "ACTIVE", lastUpdated: "2024-05-01T10:10:00Z" });
    await waitFor(() => expect(stopsOf(s)).toHaveLength(1));
    await pushSession(s, { id, sessionId: "S-131", tokenUid, status: "ACTIVE", kwh: 3, lastUpdated: "2024-05-01T10:20:00Z" });
    await sleep(200);
    expect(stopsOf(s)).toHaveLength(1);
    const after = await read(s, id);
    expect(after.ocpi).toMatchObject({ reviewReasons: ["late_session"], stop: { reason: "late_session" } });
    expect(after.events.filter((e) => e.type === "session.review_required")).toHaveLength(1);
  });
});

describe("sessions not driven by OCPI", () => {
  it("an unmapped station: no START_SESSION, ocpi null, settled by the tenant as usual", async () => {
    const s = await setup("2.2.1");
    const id = crypto.randomUUID();
    const answer = await s.t.driver.send("TransactionNotify", transactionNotify({ SiteId: s.siteId, MachineId: s.machineId, ServiceStationNumber: "6", SparkTransactionId: id, NayaxTransactionId: freshNayaxId() }));
    expect(answer.status).toBe(200);
    await sleep(100);
    expect(startOf(s)).toHaveLength(0);
    expect((await read(s, id)).ocpi).toBeNull();
    expect((await settle(s.t, id, { amount: "2.00" })).status).toBe(200);
  });
});

describe("Remote Start on a mapped station", () => {
  it("after an approved TransactionCallback, START_SESSION goes to the station the Remote Start named", async () => {
    const s = await setup("2.2.1");
    const created = await api<{ id: string; status: string }>(s.t.apiKey, "/v1/sessions", { method: "POST", json: { terminal: { machineId: s.machineId }, amount: "15.00", serviceStationNumber: "5" } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id;
    expect(startOf(s)).toHaveLength(0);
    const answer = await s.t.driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: id, SiteId: s.siteId, MachineId: s.machineId, NayaxTransactionId: freshNayaxId() }));
    expect(answer.status, answer.text).toBe(200);
    await waitFor(() => expect(startOf(s)).toHaveLength(1));
    expect(startOf(s)[0]!.body).toMatchObject({ location_id: "LOC1", evse_uid: "3256", connector_id: "1", authorization_reference: id });
    await waitFor(async () => expect((await read(s, id)).ocpi).toMatchObject({ start: { response: "ACCEPTED" } }));
  });
});

describe("the OCPI connection removed while a session charges", () => {
  it("hands settling back to the tenant: settle works as in §5", async () => {
    const s = await setup("2.2.1");
    const { id, tokenUid } = await started(s);
    await pushSession(s, { id, sessionId: "S-141", tokenUid, status: "ACTIVE", lastUpdated: "2024-05-01T10:10:00Z" });
    await waitFor(async () => expect((await read(s, id)).ocpi!.status).toBe("ACTIVE"));
    expect((await settle(s.t, id, { amount: "2.00" })).status).toBe(409);
    expect((await api(s.t.apiKey, "/v1/ocpi/connection", { method: "DELETE" })).status).toBe(200);
    const settled = await settle(s.t, id, { amount: "2.00" });
    expect(settled.status, settled.text).toBe(200);
    expect(settled.body).toMatchObject({ status: "settled", settledAmount: "2.00" });
  });
});
