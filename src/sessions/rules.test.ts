/**
 * The session's rules as a table: every transition and every refusal, without a Durable Object.
 * Each row is (the record before, a command) → (status after, events, reply).
 */
import { describe, expect, it } from "vitest";
import type { Authorization, SessionRecord, SessionStatus, SparkFailure } from "./model";
import { blankRecord, decide, resendDue, wakeAt } from "./rules";
import type { Command, Outcome } from "./rules";
import { ID, T0, TENANT, testRulesConfig } from "./rules.fixtures";

const config = testRulesConfig();

const auth = (o: Partial<Authorization> = {}): Authorization => ({
  nayaxTransactionId: 2004545072,
  amount: "10.00",
  siteId: 2,
  machineId: 71234996,
  hwSerial: "0434334921100366",
  serviceStationNumber: "5",
  card: { last4: "1234", hash: "ab".repeat(32), uid: null },
  deviceTime: "2024-02-05T19:41:22.328",
  machineAuTime: "20240205194122328",
  ...o,
});
const failure = (code: number | null, description = "failed"): SparkFailure => ({ method: "Settlement", code, description, at: new Date(T0).toISOString() });

/** Records in each status, built through the rules themselves where they can be. */
function awaiting(flow: "device_start" | "remote_start" = "device_start"): SessionRecord {
  const r = blankRecord(TENANT, ID, flow, T0);
  if (flow === "remote_start") {
    r.terminal = { hwSerial: "0434334921100366" };
    r.expiresAt = T0 + 120_000;
  }
  return r;
}
function run(record: SessionRecord | null, command: Command, now = T0 + 1_000) {
  return decide(record, command, now, config);
}
function authorized(o: Partial<Authorization> = {}): SessionRecord {
  return run(null, { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth(o), availability: null }).next!;
}
function withStatus(status: SessionStatus): SessionRecord {
  const r = authorized();
  r.status = status;
  return r;
}
const settleCmd = (amount = "5.00", receiptJson: string | null = null): Command => ({ type: "settle", tenantId: TENANT, operationId: "op_1", amount, receiptJson, idempotencyKey: null });
const cancelCmd: Command = { type: "cancel", tenantId: TENANT, operationId: "op_1", reasonCode: 101, reasonText: null, idempotencyKey: null };
const outcome = (o: Outcome, operationId = "op_1"): Command => ({ type: "outcome", operationId, outcome: o });
/** A record with a settle of 5.00 in doubt (first attempt's answer lost). */
function inDoubt(kind: "settle" | "cancel" = "settle"): SessionRecord {
  const sent = run(authorized(), kind === "settle" ? settleCmd() : cancelCmd).next!;
  return run(sent, outcome({ kind: "unknown", failure: failure(null, "timeout") })).next!;
}

describe("Spark callbacks", () => {
  it.each<[string, () => SessionRecord | null, Command, SessionStatus | null, string[], Record<string, unknown>]>([
    ["StartSession creates a session awaiting a card", () => null, { type: "start_session", tenantId: TENANT, sessionId: ID, hwSerial: "h", machineId: 1, cipher: "c" }, "awaiting_card", ["session.created"], { kind: "cipher", cipher: "c" }],
    ["a StartSession repeat answers the first cipher", () => run(null, { type: "start_session", tenantId: TENANT, sessionId: ID, hwSerial: "h", machineId: 1, cipher: "first" }).next, { type: "start_session", tenantId: TENANT, sessionId: ID, hwSerial: "h", machineId: 1, cipher: "second" }, "awaiting_card", [], { kind: "cipher", cipher: "first" }],
    ["StartSession of another tenant's session is 401", () => awaiting(), { type: "start_session", tenantId: "ten_b", sessionId: ID, hwSerial: "h", machineId: 1, cipher: "c" }, "awaiting_card", [], { kind: "refused", status: 401 }],
    ["StartSession on a session not made by StartSession is 409", () => authorized(), { type: "start_session", tenantId: TENANT, sessionId: ID, hwSerial: "h", machineId: 1, cipher: "c" }, "authorized", [], { kind: "refused", status: 409 }],
    ["TransactionNotify authorizes", () => null, { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth(), availability: null }, "authorized", ["session.authorized"], { kind: "verdict", approved: true }],
    ["TransactionNotify on a busy station declines", () => null, { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth(), availability: "busy" }, "declined", ["session.declined"], { kind: "verdict", approved: false, message: "Station 5 is busy" }],
    ["TransactionNotify on a station out of service declines", () => null, { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth(), availability: "out_of_service" }, "declined", ["session.declined"], { kind: "verdict", approved: false, message: "Station 5 is out of service" }],
    ["TransactionNotify after StartSession authorizes it", () => awaiting(), { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth(), availability: null }, "authorized", ["session.authorized"], { kind: "verdict", approved: true }],
    ["an exact TransactionNotify repeat answers the same, nothing new", () => authorized(), { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth(), availability: "busy" }, "authorized", [], { kind: "verdict", approved: true }],
    ["a TransactionNotify repeat with another NayaxTransactionId is 409", () => authorized(), { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth({ nayaxTransactionId: 1 }), availability: null }, "authorized", [], { kind: "refused", status: 409 }],
    ["a TransactionNotify repeat with another amount is 409", () => authorized(), { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth({ amount: "11.00" }), availability: null }, "authorized", [], { kind: "refused", status: 409 }],
    ["TransactionNotify for another tenant's session is 401", () => authorized(), { type: "notify", tenantId: "ten_b", sessionId: ID, authorization: auth(), availability: null }, "authorized", [], { kind: "refused", status: 401 }],
    ["TransactionNotify on a timed-out session is 409", () => { const r = awaiting(); r.status = "timed_out"; return r; }, { type: "notify", tenantId: TENANT, sessionId: ID, authorization: auth(), availability: null }, "timed_out", [], { kind: "refused", status: 409 }],
    ["TransactionCallback approves a Remote Start", () => awaiting("remote_start"), { type: "authorization_result", tenantId: TENANT, approved: true, authorization: auth({ amount: "15.00" }), currency: "EUR", decline: null }, "authorized", ["session.authorized"], { kind: "verdict", approved: true }],
    ["TransactionCallback declines a Remote Start", () => awaiting("remote_start"), { type: "authorization_result", tenantId: TENANT, approved: false, authorization: null, currency: null, decline: { code: 37, description: "Authorization Failed" } }, "declined", ["session.declined"], { kind: "verdict", approved: false }],
    ["TransactionCallback for an unknown session is 404", () => null, { type: "authorization_result", tenantId: TENANT, approved: true, authorization: auth(), currency: null, decline: null }, null, [], { kind: "refused", status: 404 }],
    ["a TransactionCallback repeat answers the same", () => run(awaiting("remote_start"), { type: "authorization_result", tenantId: TENANT, approved: true, authorization: auth(), currency: null, decline: null }).next, { type: "authorization_result", tenantId: TENANT, approved: true, authorization: auth(), currency: null, decline: null }, "authorized", [], { kind: "verdict", approved: true }],
    ["a conflicting TransactionCallback is 409", () => run(awaiting("remote_start"), { type: "authorization_result", tenantId: TENANT, approved: true, authorization: auth(), currency: null, decline: null }).next, { type: "authorization_result", tenantId: TENANT, approved: true, authorization: auth({ nayaxTransactionId: 9 }), currency: null, decline: null }, "authorized", [], { kind: "refused", status: 409 }],
    ["DeclineCallback declines", () => awaiting("remote_start"), { type: "decline", tenantId: TENANT, decline: { code: 44, description: "Timeout on POS Device" } }, "declined", ["session.declined"], { kind: "ack" }],
    ["a DeclineCallback repeat acknowledges, nothing new", () => run(awaiting("remote_start"), { type: "decline", tenantId: TENANT, decline: { code: 44, description: "x" } }).next, { type: "decline", tenantId: TENANT, decline: { code: 44, description: "x" } }, "declined", [], { kind: "ack" }],
    ["DeclineCallback on an authorized session is 409", () => authorized(), { type: "decline", tenantId: TENANT, decline: { code: 44, description: "x" } }, "authorized", [], { kind: "refused", status: 409 }],
    ["TimeoutCallback times out an authorized session", () => authorized(), { type: "timeout", tenantId: TENANT }, "timed_out", ["session.timed_out"], { kind: "ack" }],
    ["TimeoutCallback on a settled session acknowledges, nothing new", () => withStatus("settled"), { type: "timeout", tenantId: TENANT }, "settled", [], { kind: "ack" }],
    ["StopCallback stops an authorized session", () => authorized(), { type: "stop", tenantId: TENANT, cardHash: "AB".repeat(32), stopSiteId: 4 }, "stop_requested", ["session.stop_requested"], { kind: "stopped", approved: true }],
    ["a stop repeat is approved again, nothing new", () => withStatus("stop_requested"), { type: "stop", tenantId: TENANT, cardHash: null, stopSiteId: 4 }, "stop_requested", [], { kind: "stopped", approved: true }],
    ["a stop with another card is declined", () => authorized(), { type: "stop", tenantId: TENANT, cardHash: "cd".repeat(32), stopSiteId: 4 }, "authorized", [], { kind: "stopped", approved: false, message: "Card does not match the session" }],
    ["a stop on a settled session is declined", () => withStatus("settled"), { type: "stop", tenantId: TENANT, cardHash: null, stopSiteId: 4 }, "settled", [], { kind: "stopped", approved: false, message: "Session already ended" }],
    ["a stop on a session awaiting a card is declined", () => awaiting(), { type: "stop", tenantId: TENANT, cardHash: null, stopSiteId: 4 }, "awaiting_card", [], { kind: "stopped", approved: false, message: "Session is not authorized" }],
    ["a stop on a session in review is declined", () => withStatus("review_required"), { type: "stop", tenantId: TENANT, cardHash: null, stopSiteId: 4 }, "review_required", [], { kind: "stopped", approved: false }],
  ])("%s", (_name, before, command, status, events, reply) => {
    const t = run(before(), command);
    expect(t.next?.status ?? null).toBe(status);
    expect(t.events).toEqual(events);
    expect(t.reply).toMatchObject(reply);
  });
});

describe("settle and cancel: refusals before anything is sent", () => {
  it.each<[string, () => SessionRecord | null, Command, number, string]>([
    ["settle of an unknown session", () => null, settleCmd(), 404, "not_found"],
    ["settle of another tenant's session", () => authorized(), { ...(settleCmd() as Extract<Command, { type: "settle" }>), tenantId: "ten_b" }, 404, "not_found"],
    ["settle of zero", () => authorized(), settleCmd("0.00"), 422, "zero_amount"],
    ["settle above the authorized amount", () => authorized(), settleCmd("10.01"), 422, "above_authorized"],
    ["settle while awaiting a card", () => awaiting(), settleCmd(), 409, "not_settleable"],
    ["settle of a declined session", () => withStatus("declined"), settleCmd(), 409, "not_settleable"],
    ["settle of a cancelled session", () => withStatus("cancelled"), settleCmd(), 409, "not_settleable"],
    ["settle of a timed-out session", () => withStatus("timed_out"), settleCmd(), 409, "not_settleable"],
    ["settle of a pre-selection", () => { const r = authorized(); r.paymentMode = "pre_selection"; return r; }, settleCmd(), 409, "not_settleable"],
    ["settle of a session in review", () => { const r = inDoubt(); r.status = "review_required"; r.pending = null; return r; }, settleCmd(), 409, "review_required"],
    ["another amount while a settle is in doubt", () => inDoubt(), settleCmd("6.00"), 409, "operation_in_doubt"],
    ["another receipt while a settle is in doubt", () => inDoubt(), settleCmd("5.00", '{"A":[]}'), 409, "operation_in_doubt"],
    ["a cancel while a settle is in doubt", () => inDoubt(), cancelCmd, 409, "operation_in_doubt"],
    ["a settle while a cancel is in doubt", () => inDoubt("cancel"), settleCmd(), 409, "operation_in_doubt"],
    ["cancel of an unknown session", () => null, cancelCmd, 404, "not_found"],
    ["cancel of a settled session", () => withStatus("settled"), cancelCmd, 409, "not_cancellable"],
    ["cancel while awaiting a card", () => awaiting(), cancelCmd, 409, "not_cancellable"],
  ])("%s: %i %s", (_name, before, command, status, code) => {
    const record = before();
    const t = run(record, command);
    expect(t.reply).toMatchObject({ kind: "refused", status, code });
    expect(t.next).toBe(record);
    expect(t.events).toEqual([]);
  });
});

describe("settle: recorded first, then the outcome", () => {
  it("records the operation before it is sent", () => {
    const t = run(authorized(), settleCmd("5.00", '{"General":[]}'));
    expect(t.reply).toEqual({ kind: "send" });
    expect(t.events).toEqual([]);
    expect(t.next!.status).toBe("authorized");
    expect(t.next!.pending).toMatchObject({ id: "op_1", kind: "settle", amount: "5.00", receiptJson: '{"General":[]}', state: "pending", attempts: 1, nextAttemptAt: T0 + 1_000 + 10_000 });
  });

  it("approved: settled with Spark's details, operation gone", () => {
    const sent = run(authorized(), settleCmd()).next!;
    const t = run(sent, outcome({ kind: "approved", settlement: { amount: "5.00", currency: "EUR", currencyNumeric: "978", authCode: "1", nayaxRrn: "2", fiscalRrn: "3", settledAt: "2026-01-01T10:00:01Z" } }));
    expect(t.next).toMatchObject({ status: "settled", settledAmount: "5.00", currency: "EUR", pending: null, settlement: { authCode: "1" } });
    expect(t.events).toEqual(["session.settled"]);
    expect(t.reply).toEqual({ kind: "session", status: 200 });
  });

  it("declined: 502 with Spark's code, settlement_failed, still settleable", () => {
    const sent = run(authorized(), settleCmd()).next!;
    const t = run(sent, outcome({ kind: "declined", failure: failure(35, "Settlement Failed") }));
    expect(t.next).toMatchObject({ status: "authorized", pending: null, lastSparkError: { code: 35 } });
    expect(t.events).toEqual(["session.settlement_failed"]);
    expect(t.reply).toMatchObject({ kind: "refused", status: 502, spark: { code: 35, description: "Settlement Failed" } });
    expect(run(t.next, settleCmd("6.00")).reply).toEqual({ kind: "send" });
  });

  it("unknown: 202, the operation waits for its re-send; the same request answers 202 without a call", () => {
    const record = inDoubt();
    expect(record.status).toBe("authorized");
    expect(record.pending).toMatchObject({ state: "unknown", attempts: 1, lastError: { code: null, description: "timeout" }, nextAttemptAt: T0 + 1_000 + 10_000 });
    expect(run(record, settleCmd()).reply).toEqual({ kind: "session", status: 202 });
    expect(run(record, settleCmd()).next).toBe(record);
  });

  it("not sent (the name did not resolve, credentials unreadable): 502, settlement_failed, nothing recorded as pending", () => {
    const sent = run(authorized(), settleCmd()).next!;
    const t = run(sent, outcome({ kind: "not_sent", failure: failure(null, "request failed: DNS lookup failed for spark-qa.example") }));
    expect(t.next!.pending).toBeNull();
    expect(t.next!.status).toBe("authorized");
    expect(t.events).toEqual(["session.settlement_failed"]);
    expect(t.reply).toMatchObject({ kind: "refused", status: 502 });
  });

  it("a stale outcome (another operation) changes nothing", () => {
    const sent = run(authorized(), settleCmd()).next!;
    const t = run(sent, outcome({ kind: "approved" }, "op_other"));
    expect(t.next).toBe(sent);
    expect(t.reply).toEqual({ kind: "none" });
  });

  it("a repeat with the same amount after success answers 200 without a call; another amount is 409", () => {
    const settled = run(run(authorized(), settleCmd()).next, outcome({ kind: "approved" })).next!;
    expect(run(settled, settleCmd()).reply).toEqual({ kind: "session", status: 200 });
    expect(run(settled, settleCmd("6.00")).reply).toMatchObject({ kind: "refused", status: 409, code: "already_settled" });
  });
});

describe("re-sends of an operation in doubt", () => {
  it("is due at nextAttemptAt, counts the attempt and moves the next slot before it is sent", () => {
    const record = inDoubt();
    expect(resendDue(record, T0 + 10_999)).toBeNull();
    expect(resendDue(record, T0 + 11_000)).toBe("op_1");
    const t = run(record, { type: "resend", operationId: "op_1" }, T0 + 11_000);
    expect(t.reply).toEqual({ kind: "send" });
    expect(t.next!.pending).toMatchObject({ attempts: 2, nextAttemptAt: T0 + 11_000 + 60_000 });
    // Not due: nothing happens.
    expect(run(record, { type: "resend", operationId: "op_1" }, T0 + 5_000).reply).toEqual({ kind: "none" });
  });

  it("approved on a re-send: settled", () => {
    const resent = run(inDoubt(), { type: "resend", operationId: "op_1" }, T0 + 11_000).next!;
    const t = run(resent, outcome({ kind: "approved" }), T0 + 11_500);
    expect(t.next).toMatchObject({ status: "settled", settledAmount: "5.00", pending: null });
    expect(t.events).toEqual(["session.settled"]);
  });

  it("refused on a re-send: review_required with Spark's code kept on the operation", () => {
    const resent = run(inDoubt(), { type: "resend", operationId: "op_1" }, T0 + 11_000).next!;
    const t = run(resent, outcome({ kind: "declined", failure: failure(32, "Transaction Not Found or Old") }), T0 + 11_500);
    expect(t.next).toMatchObject({ status: "review_required", pending: { state: "unknown", attempts: 2, lastError: { code: 32, description: "Transaction Not Found or Old" }, nextAttemptAt: null } });
    expect(t.events).toEqual(["session.review_required"]);
    expect(resendDue(t.next, T0 + 1e9)).toBeNull();
  });

  it("still unknown: the next slot of the schedule, the last one repeating", () => {
    let record = inDoubt();
    let now = T0 + 11_000;
    for (const delay of [60_000, 60_000, 60_000]) {
      record = run(record, { type: "resend", operationId: "op_1" }, now).next!;
      record = run(record, outcome({ kind: "unknown", failure: failure(null, "timeout") }), now).next!;
      expect(record.pending!.nextAttemptAt).toBe(now + delay);
      now += delay;
    }
    expect(record.pending!.attempts).toBe(4);
  });

  it("nothing sent on a re-send does not count as an attempt", () => {
    const resent = run(inDoubt(), { type: "resend", operationId: "op_1" }, T0 + 11_000).next!;
    const t = run(resent, outcome({ kind: "not_sent", failure: failure(null, "D1 down") }), T0 + 11_100);
    expect(t.next!.pending).toMatchObject({ attempts: 1, state: "unknown" });
    expect(t.next!.status).toBe("authorized");
  });

  it("past the horizon: review_required, from the alarm or from a re-send", () => {
    const record = inDoubt();
    const late = T0 + config.resendHorizonMs + 2_000;
    const ticked = run(record, { type: "tick" }, late);
    expect(ticked.next!.status).toBe("review_required");
    expect(ticked.events).toEqual(["session.review_required"]);
    expect(run(record, { type: "resend", operationId: "op_1" }, late).next!.status).toBe("review_required");
  });

  it("a cancel in doubt: 28 Already Cancelled counts as approved (the executor says so), and cancelled follows", () => {
    const resent = run(inDoubt("cancel"), { type: "resend", operationId: "op_1" }, T0 + 11_000).next!;
    const t = run(resent, outcome({ kind: "approved", currency: "EUR" }));
    expect(t.next).toMatchObject({ status: "cancelled", pending: null });
    expect(t.events).toEqual(["session.cancelled"]);
  });
});

describe("resolve (review_required)", () => {
  const review = () => {
    const resent = run(inDoubt(), { type: "resend", operationId: "op_1" }, T0 + 11_000).next!;
    return run(resent, outcome({ kind: "declined", failure: failure(32) })).next!;
  };

  it("settled: the recorded amount, session.settled, resolvedBy and the note", () => {
    const t = run(review(), { type: "resolve", tenantId: TENANT, outcome: "settled", note: "Nayax confirmed" });
    expect(t.next).toMatchObject({ status: "settled", settledAmount: "5.00", pending: null, resolvedBy: "tenant", resolutionNote: "Nayax confirmed" });
    expect(t.events).toEqual(["session.settled"]);
    expect(t.reply).toEqual({ kind: "session", status: 200 });
  });

  it("not_settled: back to authorized, settleable again", () => {
    const t = run(review(), { type: "resolve", tenantId: TENANT, outcome: "not_settled", note: null });
    expect(t.next).toMatchObject({ status: "authorized", pending: null, resolvedBy: "tenant" });
    expect(t.events).toEqual([]);
    expect(run(t.next, settleCmd("4.00")).reply).toEqual({ kind: "send" });
  });

  it("a cancel in review resolved as settled is cancelled", () => {
    const resent = run(inDoubt("cancel"), { type: "resend", operationId: "op_1" }, T0 + 11_000).next!;
    const inReview = run(resent, outcome({ kind: "declined", failure: failure(31) })).next!;
    expect(run(inReview, { type: "resolve", tenantId: TENANT, outcome: "settled", note: null }).next!.status).toBe("cancelled");
  });

  it.each<[string, () => SessionRecord | null, string, number]>([
    ["not in review", () => authorized(), TENANT, 409],
    ["settled already", () => withStatus("settled"), TENANT, 409],
    ["unknown session", () => null, TENANT, 404],
    ["another tenant's", () => review(), "ten_b", 404],
  ])("refused when %s", (_name, before, tenantId, status) => {
    const record = before();
    const t = run(record, { type: "resolve", tenantId, outcome: "settled", note: null });
    expect(t.reply).toMatchObject({ kind: "refused", status });
    expect(t.next).toBe(record);
  });
});

describe("Remote Start", () => {
  const start: Command = { type: "remote_start", tenantId: TENANT, sessionId: ID, operationId: "op_1", terminal: { machineId: 71234996 }, amount: "15.00", timeoutSeconds: 60, paymentMode: "pre_authorization" };

  it("is recorded (awaiting_card, operation pending) before anything is sent, with no event yet", () => {
    const t = run(null, start);
    expect(t.reply).toEqual({ kind: "send" });
    expect(t.events).toEqual([]);
    expect(t.next).toMatchObject({ status: "awaiting_card", flow: "remote_start", pending: { kind: "remote_start", state: "pending", nextAttemptAt: null }, expiresAt: T0 + 1_000 + 60_000 + 60_000 });
    expect(run(t.next, start).reply).toMatchObject({ kind: "refused", status: 409 });
  });

  it("approved: 201 and session.created", () => {
    const t = run(run(null, start).next, outcome({ kind: "approved" }));
    expect(t).toMatchObject({ events: ["session.created"], reply: { kind: "session", status: 201 } });
    expect(t.next!.pending).toBeNull();
  });

  it("unknown: 202, session.created, never re-sent; Spark's callback resolves it", () => {
    const t = run(run(null, start).next, outcome({ kind: "unknown", failure: failure(null, "timeout") }));
    expect(t).toMatchObject({ events: ["session.created"], reply: { kind: "session", status: 202 } });
    expect(t.next!.pending).toMatchObject({ kind: "remote_start", state: "unknown" });
    expect(resendDue(t.next, T0 + 1e9)).toBeNull();
    const called = run(t.next, { type: "authorization_result", tenantId: TENANT, approved: true, authorization: auth({ amount: "15.00" }), currency: null, decline: null });
    expect(called.next).toMatchObject({ status: "authorized", pending: null, expiresAt: null });
  });

  it("declined: 502, the session ends declined with nothing announced", () => {
    const t = run(run(null, start).next, outcome({ kind: "declined", failure: failure(25, "Unknown Machine ID") }));
    expect(t.next).toMatchObject({ status: "declined", pending: null, decline: { code: 25 } });
    expect(t.events).toEqual([]);
    expect(t.reply).toMatchObject({ kind: "refused", status: 502 });
  });

  it("no callback within timeoutSeconds + 60 s: timed_out", () => {
    const unknown = run(run(null, start).next, outcome({ kind: "unknown", failure: failure(null, "timeout") })).next!;
    expect(wakeAt(unknown, config)).toBe(T0 + 1_000 + 120_000);
    expect(run(unknown, { type: "tick" }, T0 + 120_000).next).toBe(unknown);
    const t = run(unknown, { type: "tick" }, T0 + 1_000 + 120_000);
    expect(t.next).toMatchObject({ status: "timed_out", pending: null });
    expect(t.events).toEqual(["session.timed_out"]);
  });
});

describe("time", () => {
  it("a Device Start session awaiting a card past AWAITING_CARD_TTL_SECONDS ends timed_out", () => {
    const record = run(null, { type: "start_session", tenantId: TENANT, sessionId: ID, hwSerial: "h", machineId: 1, cipher: "c" }, T0).next!;
    expect(wakeAt(record, config)).toBe(T0 + 900_000);
    expect(run(record, { type: "tick" }, T0 + 899_999).next).toBe(record);
    expect(run(record, { type: "tick" }, T0 + 900_000)).toMatchObject({ next: { status: "timed_out" }, events: ["session.timed_out"] });
  });

  it("an authorization unsettled past the window is flagged overdue once", () => {
    const record = authorized();
    const due = record.overdueAt!;
    expect(wakeAt(record, config)).toBe(due);
    const t = run(record, { type: "tick" }, due);
    expect(t).toMatchObject({ next: { overdue: true }, events: ["session.settlement_overdue"] });
    expect(run(t.next, { type: "tick" }, due + 1).events).toEqual([]);
    expect(wakeAt(t.next, config)).toBeNull();
  });

  it("a settled session needs no clock", () => {
    expect(wakeAt(withStatus("settled"), config)).toBeNull();
  });
});
