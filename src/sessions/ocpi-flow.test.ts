/**
 * The OCPI payment flow's rules (CONTRACT §7.6) as a table, without a Durable Object: an
 * authorized OCPI-driven session, a command or fact, the time → status, ocpi, events, operation.
 */
import { describe, expect, it } from "vitest";
import type { CdrFact, CommandResultFact, SessionFact } from "../ocpi/facts";
import type { SessionRecord } from "./model";
import { ocpiAction, ocpiInProgress } from "./ocpi-flow";
import { decide } from "./rules";
import { ID, T0, TENANT, testRulesConfig } from "./rules.fixtures";
import type { Command } from "./rules";

const config = testRulesConfig({ resendScheduleMs: [10_000] });
const SETTINGS: { retailFactor: string; vatPercent: string; currency: string | null } = { retailFactor: "1", vatPercent: "0", currency: null };
const PARTY = { countryCode: "BE", partyId: "BEC" };

const run = (record: SessionRecord | null, command: Command, now = T0 + 1_000) => decide(record, command, now, config);

/** An approved Device Start on a station mapped to LOC1/3256 of a 2.2.1 CPO. */
function approved(amount = "10.00"): SessionRecord {
  return run(null, {
    type: "notify",
    tenantId: TENANT,
    sessionId: ID,
    availability: null,
    authorization: { nayaxTransactionId: 1, amount, siteId: 2, machineId: 3, hwSerial: "h", serviceStationNumber: "5", card: { last4: null, hash: "ab", uid: null }, deviceTime: null, machineAuTime: null },
    ocpi: { version: "2.2.1", locationId: "LOC1", evseUid: "3256", connectorId: "1", countryCode: null, partyId: null },
  }).next!;
}
const answer = (response: string, reached = true) => ({ reached, response, timeoutSeconds: 30 });
function started(): SessionRecord {
  const sending = run(approved(), { type: "ocpi_sending", kind: "START_SESSION", commandId: "c1", tokenUid: "NYX-0123456789ABCDEF" }).next!;
  return run(sending, { type: "ocpi_answer", kind: "START_SESSION", commandId: "c1", answer: answer("ACCEPTED") }).next!;
}
const sessionFact = (status: SessionFact["status"], o: Partial<SessionFact> = {}): Command => ({
  type: "ocpi_fact",
  settings: SETTINGS,
  fact: { kind: "session", version: "2.2.1", sessionId: "S1", party: PARTY, status, kwh: "1", cost: null, currency: "EUR", startedAt: "2026-01-01T10:00:00Z", endedAt: null, tokenUid: "NYX-0123456789ABCDEF", authorizationReference: ID, correlationId: "x", ...o },
});
const cdrFact = (o: Partial<CdrFact> = {}, settings = SETTINGS): Command => ({
  type: "ocpi_fact",
  settings,
  fact: { kind: "cdr", version: "2.2.1", party: PARTY, cdrId: "CDR1", sessionId: "S1", totalCost: { exclVat: "4", inclVat: "4.84" }, currency: "EUR", kwh: "10", startedAt: "x", endedAt: "y", credit: false, creditReferenceId: null, tokenUid: "NYX-0123456789ABCDEF", authorizationReference: ID, cdrUrl: "u", correlationId: "x", ...o },
});
const resultFact = (result: CommandResultFact["result"], commandId = "c1", command: CommandResultFact["command"] = "START_SESSION"): Command => ({
  type: "ocpi_fact",
  settings: SETTINGS,
  fact: { kind: "command_result", version: "2.2.1", commandId, command, result, message: null, correlationId: "x" },
});

describe("start", () => {
  it("an approval on a mapped station makes the session OCPI-driven with START_SESSION due at once", () => {
    const record = approved();
    expect(record.ocpi).toMatchObject({ version: "2.2.1", locationId: "LOC1", evseUid: "3256", connectorId: "1", tokenUid: null, start: null, reviewReasons: [] });
    expect(ocpiAction(record, T0 + 1_000)).toBe("START_SESSION");
    expect(ocpiInProgress(record, true)).toBe(true);
    expect(ocpiInProgress(record, false)).toBe(false);
  });

  it("recorded before it is sent: once; the window starts with the first send", () => {
    const t = run(approved(), { type: "ocpi_sending", kind: "START_SESSION", commandId: "c1", tokenUid: "NYX-0123456789ABCDEF" });
    expect(t.reply).toEqual({ kind: "send" });
    expect(t.next!.ocpi).toMatchObject({ tokenUid: "NYX-0123456789ABCDEF", start: { response: null, result: null } });
    expect(t.next!.ocpiRun).toMatchObject({ startSends: 1, startDueAt: null, startWindowEndsAt: T0 + 1_000 + 180_000 });
    expect(ocpiAction(t.next, T0 + 2_000)).toBeNull();
    expect(run(t.next, { type: "ocpi_sending", kind: "START_SESSION", commandId: "c2", tokenUid: null }).reply).toEqual({ kind: "none" });
  });

  it.each<[string, ReturnType<typeof answer>, string | null, string | null]>([
    ["ACCEPTED", answer("ACCEPTED"), "ACCEPTED", null],
    ["REJECTED", answer("REJECTED"), "REJECTED", "start_rejected"],
    ["an answer that is not a 1000 envelope", answer("ERROR"), "ERROR", "start_rejected"],
  ])("answered %s", (_what, a, response, cancelReason) => {
    const sending = run(approved(), { type: "ocpi_sending", kind: "START_SESSION", commandId: "c1", tokenUid: "NYX-0123456789ABCDEF" }).next!;
    const t = run(sending, { type: "ocpi_answer", kind: "START_SESSION", commandId: "c1", answer: a });
    expect(t.next!.ocpi).toMatchObject({ start: { response }, cancelReason });
    expect(t.next!.pending?.kind ?? null).toBe(cancelReason ? "cancel" : null);
  });

  it("surely not received: due again a little later, at most three more times within the window", () => {
    let record = approved();
    let now = T0 + 1_000;
    for (let send = 1; send <= 4; send++) {
      expect(ocpiAction(record, now)).toBe("START_SESSION");
      record = run(record, { type: "ocpi_sending", kind: "START_SESSION", commandId: `c${send}`, tokenUid: "NYX-0123456789ABCDEF" }, now).next!;
      record = run(record, { type: "ocpi_answer", kind: "START_SESSION", commandId: `c${send}`, answer: answer("ERROR", false) }, now).next!;
      now += 5_000;
    }
    expect(record.ocpiRun!.startSends).toBe(4);
    expect(record.ocpi).toMatchObject({ start: { response: "ERROR" }, cancelReason: "start_rejected" });
  });

  it("a result other than ACCEPTED starts the grace; no Session by its end: start_failed", () => {
    const failed = run(started(), resultFact("FAILED"), T0 + 2_000).next!;
    expect(failed.ocpi!.start).toMatchObject({ response: "ACCEPTED", result: "FAILED" });
    expect(failed.ocpiRun!.resultGraceEndsAt).toBe(T0 + 2_000 + 15_000);
    expect(run(failed, { type: "tick" }, T0 + 16_000).next).toBe(failed);
    expect(run(failed, { type: "tick" }, T0 + 17_000).next!.ocpi!.cancelReason).toBe("start_failed");
  });

  it("no Session within the start window, whatever the result said: no_session", () => {
    const record = run(started(), resultFact("ACCEPTED")).next!;
    expect(run(record, { type: "tick" }, T0 + 1_000 + 180_000).next!.ocpi!.cancelReason).toBe("no_session");
  });

  it("a result for another command, or a repeat, changes nothing after the first", () => {
    const record = started();
    expect(run(record, resultFact("FAILED", "other")).next).toBe(record);
  });
});

describe("the CPO's Session", () => {
  it.each<[SessionFact["status"], string[]]>([
    ["PENDING", []],
    ["ACTIVE", ["session.charging"]],
    ["COMPLETED", ["session.charging_completed"]],
  ])("%s the first time: %j", (status, events) => {
    const t = run(started(), sessionFact(status));
    expect(t.events).toEqual(events);
    expect(t.next!.ocpi).toMatchObject({ sessionId: "S1", status, countryCode: "BE", partyId: "BEC" });
    expect(run(t.next, sessionFact(status)).events).toEqual([]);
  });

  it("INVALID releases the card: session_invalid", () => {
    const t = run(started(), sessionFact("INVALID"));
    expect(t.next).toMatchObject({ ocpi: { cancelReason: "session_invalid" }, pending: { kind: "cancel", attempts: 0 } });
  });

  it("the cost cap: STOP_SESSION and stop_requested when the card would pay the authorized amount", () => {
    const below = run(started(), sessionFact("ACTIVE", { cost: { exclVat: "9.99", inclVat: null } }));
    expect(below.next!.ocpiRun!.stopWanted).toBeNull();
    const at = run(below.next, sessionFact("ACTIVE", { cost: { exclVat: "10.00", inclVat: null } }));
    expect(at.events).toEqual(["session.stop_requested"]);
    expect(at.next).toMatchObject({ status: "stop_requested", ocpiRun: { stopWanted: "cost_cap" } });
    expect(ocpiAction(at.next, T0 + 2_000)).toBe("STOP_SESSION");
  });

  it("a card stop before the Session waits for it", () => {
    const stopped = run(started(), { type: "stop", tenantId: TENANT, cardHash: null, stopSiteId: 2 }).next!;
    expect(ocpiAction(stopped, T0 + 2_000)).toBeNull();
    const linked = run(stopped, sessionFact("ACTIVE")).next!;
    expect(ocpiAction(linked, T0 + 2_000)).toBe("STOP_SESSION");
  });

  it("a Session for a session already cancelled: late_session once, and STOP_SESSION while it charges", () => {
    const cancelled = started();
    cancelled.status = "cancelled";
    const t = run(cancelled, sessionFact("ACTIVE"));
    expect(t.events).toEqual(["session.review_required"]);
    expect(t.next).toMatchObject({ ocpi: { reviewReasons: ["late_session"] }, ocpiRun: { stopWanted: "late_session" } });
    expect(run(t.next, sessionFact("ACTIVE", { kwh: "2" })).events).toEqual([]);
  });
});

describe("the CDR", () => {
  const completed = () => run(started(), sessionFact("COMPLETED")).next!;

  it("settles the §7.7 amount with a receipt naming the CDR", () => {
    const t = run(completed(), cdrFact());
    expect(t.next).toMatchObject({ ocpi: { cdrId: "CDR1", charge: "4.84" }, pending: { kind: "settle", amount: "4.84", attempts: 0 } });
    expect(JSON.parse(t.next!.pending!.receiptJson!)).toEqual({ General: [{ CDR: "CDR1" }, { Energy: "10 kWh" }, { Amount: "4.84" }] });
  });

  it.each<[string, Partial<CdrFact>, { currency: string | null }, string[], string | null]>([
    ["above the authorized amount: capped", { totalCost: { exclVat: "20", inclVat: "24.2" } }, { currency: null }, ["cdr_above_authorized"], "settle"],
    ["0.00: cancelled", { totalCost: { exclVat: "0", inclVat: "0.001" } }, { currency: null }, [], "cancel"],
    ["another currency: nothing settled", { currency: "GBP" }, { currency: "EUR" }, ["currency_mismatch"], null],
    ["a credit CDR: nothing settled", { credit: true }, { currency: null }, ["credit_cdr"], null],
  ])("%s", (_what, fact, settings, reviews, op) => {
    const t = run(completed(), cdrFact(fact, { ...SETTINGS, ...settings }));
    expect(t.next!.ocpi!.reviewReasons).toEqual(reviews);
    expect(t.next!.pending?.kind ?? null).toBe(op);
  });

  it("a further CDR with another id: extra_cdr; the same one again: nothing", () => {
    const first = run(completed(), cdrFact()).next!;
    expect(run(first, cdrFact()).next).toBe(first);
    expect(run(first, cdrFact({ cdrId: "CDR2" })).next!.ocpi!.reviewReasons).toEqual(["extra_cdr"]);
  });

  it("none within the CDR wait after COMPLETED: cdr_missing, once", () => {
    const record = completed();
    const due = record.ocpiRun!.cdrDueBy!;
    const t = run(record, { type: "tick" }, due);
    expect(t.events).toEqual(["session.review_required"]);
    expect(t.next!.ocpi!.reviewReasons).toEqual(["cdr_missing"]);
    expect(run(t.next, { type: "tick" }, due + 1).events).toEqual([]);
  });
});

describe("the tenant's own settle and cancel", () => {
  it("409 ocpi_in_progress while START_SESSION is unanswered or the Session PENDING/ACTIVE; allowed once COMPLETED", () => {
    const settle: Command = { type: "settle", tenantId: TENANT, operationId: "op", amount: "1.00", receiptJson: null, idempotencyKey: null, ocpiConnected: true };
    expect(run(approved(), settle).reply).toMatchObject({ status: 409, code: "ocpi_in_progress" });
    expect(run(run(started(), sessionFact("ACTIVE")).next, settle).reply).toMatchObject({ code: "ocpi_in_progress" });
    expect(run(run(started(), sessionFact("COMPLETED")).next, settle).reply).toEqual({ kind: "send" });
    expect(run(approved(), { ...settle, ocpiConnected: false } as Command).reply).toEqual({ kind: "send" });
  });
});
