/**
 * The rules of one charging session, as data: given the record, a command and the time, the
 * next record, the events that announce it and the answer — or a refusal. Pure: no storage, no
 * network, no clock, no randomness except what the caller passes in (`now`, ids, `jitter`). The
 * session Durable Object loads, serializes, commits and wakes; everything it decides is here.
 *
 * Calls to Spark that move money (CONTRACT §8) are operations: a command that needs one records
 * it on the session (`pending`) and answers `send`; the object sends it and comes back with
 * `outcome`. An unknown outcome is its own state, resolved by sending the identical request
 * again (`resend`), never by a different one.
 */
import { timingSafeEqualText } from "../lib/crypto";
import { moneyOf } from "../lib/money";
import { OPEN_STATUSES } from "./model";
import { beginOcpi, decideOcpi, ocpiInProgress, ocpiTick, ocpiWakeTimes, wantStop } from "./ocpi-flow";
import type { OcpiCommand } from "./ocpi-flow";
import type { Authorization, DecisionView, EventType, ExternalRequest, OcpiTarget, Settlement, Flow, OperationKind, OperationRecord, SessionRecord, SessionStatus, SparkFailure } from "./model";

/** How the rules read time: the settings they depend on, all in milliseconds. */
export interface RulesConfig {
  /** An authorization unsettled this long is flagged overdue. */
  settlementWindowMs: number;
  /** A Device Start session still waiting for a card this long ends `timed_out`. */
  awaitingCardTtlMs: number;
  /** Delays between re-sends of an operation in doubt; the last one repeats. */
  resendScheduleMs: readonly number[];
  /** An operation still in doubt this long after it was first sent needs review. */
  resendHorizonMs: number;
  /** Spreads a delay (±20 % in production, identity in tests). */
  jitter(ms: number): number;
  /** OCPI (§7.1): how long after START_SESSION its Session may take to appear. */
  ocpiStartWindowMs: number;
  /** … after a command result other than ACCEPTED. */
  ocpiResultGraceMs: number;
  /** … and how long after COMPLETED the CDR may take before the session needs review. */
  ocpiCdrWaitMs: number;
}

/** The tenant's settle and cancel while the OCPI side still runs (CONTRACT §7.6). */
const OCPI_IN_PROGRESS = "charging over OCPI is in progress: the gateway settles from the CPO's CDR";

/** Remote Start sessions that Spark never calls back for end this long after their own `timeoutSeconds`. */
export const REMOTE_START_GRACE_MS = 60_000;

export type Availability = "available" | "busy" | "out_of_service";

/** What Spark answered to an operation, as the session records it. */
export type Outcome =
  | { kind: "approved"; settlement?: Settlement; currency?: string | null }
  | { kind: "declined"; failure: SparkFailure }
  | { kind: "unknown"; failure: SparkFailure }
  /** Nothing reached Spark (its credentials could not be read, the request could not be built). */
  | { kind: "not_sent"; failure: SparkFailure };


export type Command =
  | { type: "start_session"; tenantId: string; sessionId: string; hwSerial: string; machineId: number; cipher: string }
  | {
      type: "notify";
      tenantId: string;
      sessionId: string;
      authorization: Authorization;
      availability: Availability | null;
      /** The tenant has a decision endpoint: a new authorization the station allows is asked there first. */
      askDecision?: boolean;
      /** What the decision endpoint (or its fallback) said, once asked. */
      decision?: DecisionView;
      /** The station is mapped to an EVSE of the tenant's connected CPO: an approval starts charging over OCPI. */
      ocpi?: OcpiTarget | null;
    }
  | {
      type: "authorization_result";
      tenantId: string;
      approved: boolean;
      authorization: Authorization | null;
      currency: string | null;
      decline: { code: number | null; description: string | null } | null;
      ocpi?: OcpiTarget | null;
    }
  | { type: "decline"; tenantId: string; decline: { code: number | null; description: string | null } }
  | { type: "timeout"; tenantId: string }
  | { type: "stop"; tenantId: string; cardHash: string | null; stopSiteId: number }
  | { type: "settle"; tenantId: string; operationId: string; amount: string; receiptJson: string | null; idempotencyKey: string | null; ocpiConnected?: boolean }
  | { type: "cancel"; tenantId: string; operationId: string; reasonCode: number; reasonText: string | null; idempotencyKey: string | null; ocpiConnected?: boolean }
  | {
      type: "remote_start";
      tenantId: string;
      sessionId: string;
      operationId: string;
      terminal: { hwSerial: string } | { machineId: number };
      amount: string;
      timeoutSeconds: number;
      paymentMode: "pre_authorization" | "pre_selection";
      /** The station, when the tenant named one (an OCPI-mapped station starts charging over OCPI once authorized). */
      serviceStationNumber?: string | null;
    }
  /** ExternalSettlement / ExternalCancel of a transaction authorized outside Spark's flows (§9). */
  | { type: "external"; tenantId: string; sessionId: string; operationId: string; kind: "external_settle" | "external_cancel"; request: ExternalRequest }
  /** The alarm found the pending operation due: count the attempt about to be sent. */
  | { type: "resend"; operationId: string }
  | { type: "outcome"; operationId: string; outcome: Outcome }
  | { type: "resolve"; tenantId: string; outcome: "settled" | "not_settled"; note: string | null }
  /** Time passed: deadlines, timeouts, the overdue flag. */
  | { type: "tick" }
  | OcpiCommand;

/** Why a command is refused; `status` is the HTTP status the caller gets. */
export interface Refusal {
  kind: "refused";
  status: 401 | 404 | 409 | 422 | 502;
  code: string;
  message: string;
  spark?: { code: number | null; description: string };
}

export type Reply =
  | { kind: "verdict"; approved: boolean; message: string }
  | { kind: "stopped"; approved: boolean; message: string }
  | { kind: "ack" }
  | { kind: "cipher"; cipher: string }
  /** Ask the tenant's decision endpoint, then apply the command again with its verdict. */
  | { kind: "ask" }
  /** The tenant gets the session, with this status. */
  | { kind: "session"; status: 200 | 201 | 202 }
  /** The operation just recorded on the session is to be sent to Spark now. */
  | { kind: "send" }
  | { kind: "none" }
  | Refusal;

export interface Transition {
  /** The record after the command; the same object when nothing changed. */
  next: SessionRecord | null;
  events: EventType[];
  reply: Reply;
}

const refused = (status: Refusal["status"], code: string, message: string, spark?: Refusal["spark"]): Refusal =>
  spark ? { kind: "refused", status, code, message, spark } : { kind: "refused", status, code, message };
const unchanged = (record: SessionRecord | null, reply: Reply): Transition => ({ next: record, events: [], reply });
const notFound = (record: SessionRecord | null) => unchanged(record, refused(404, "not_found", "session not found"));

/** Operations that are sent again when their outcome is unknown (Remote Start never is: it would wake the terminal twice). */
const RESENDABLE: readonly OperationKind[] = ["settle", "cancel", "external_settle", "external_cancel"];

/** Applies `command` to `record` at `now`. */
export function decide(record: SessionRecord | null, command: Command, now: number, config: RulesConfig): Transition {
  switch (command.type) {
    case "start_session":
      return startSession(record, command, now);
    case "notify":
      return notify(record, command, now, config);
    case "authorization_result":
      return authorizationResult(record, command, now, config);
    case "decline":
      return decline(record, command);
    case "timeout":
      return timeout(record, command);
    case "stop":
      return stop(record, command);
    case "settle":
      return settle(record, command, now, config);
    case "cancel":
      return cancel(record, command, now, config);
    case "remote_start":
      return remoteStart(record, command, now);
    case "external":
      return external(record, command, now, config);
    case "resend":
      return resend(record, command, now, config);
    case "outcome":
      return outcome(record, command, now, config);
    case "resolve":
      return resolve(record, command);
    case "tick":
      return tick(record, now, config);
    case "ocpi_sending":
    case "ocpi_answer":
    case "ocpi_fact":
      return decideOcpi(record, command, now, config);
  }
}

/** When the session next needs the clock (Unix ms): a re-send, a deadline, a timeout, the overdue flag; null for never. */
export function wakeAt(record: SessionRecord | null, config: RulesConfig): number | null {
  if (!record) return null;
  const times: number[] = [];
  if (OPEN_STATUSES.includes(record.status) && !record.overdue && record.overdueAt !== null) times.push(record.overdueAt);
  if (record.status === "awaiting_card") {
    if (record.flow === "device_start") times.push(Date.parse(record.createdAt) + config.awaitingCardTtlMs);
    if (record.expiresAt !== null) times.push(record.expiresAt);
  }
  const op = record.pending;
  if (op && record.status !== "review_required" && RESENDABLE.includes(op.kind)) {
    if (op.nextAttemptAt !== null) times.push(op.nextAttemptAt);
    times.push(op.deadlineAt);
  }
  times.push(...ocpiWakeTimes(record));
  return times.length > 0 ? Math.min(...times) : null;
}

/** Whether the pending operation is due to be sent again. */
export function resendDue(record: SessionRecord | null, now: number): string | null {
  const op = record?.pending;
  if (!record || !op || record.status === "review_required" || !RESENDABLE.includes(op.kind)) return null;
  return op.nextAttemptAt !== null && op.nextAttemptAt <= now ? op.id : null;
}

// ------------------------------------------------------------------ Spark callbacks

function startSession(record: SessionRecord | null, cmd: Extract<Command, { type: "start_session" }>, now: number): Transition {
  if (record) {
    if (record.tenantId !== cmd.tenantId) return unchanged(record, refused(401, "wrong_tenant", "session belongs to another tenant"));
    // A repeat answers what the first got, whatever became of the session since.
    if (record.startCipher !== null) return unchanged(record, { kind: "cipher", cipher: record.startCipher });
    return unchanged(record, refused(409, "conflict", `session is already ${record.status}`));
  }
  const next = blankRecord(cmd.tenantId, cmd.sessionId, "device_start", now);
  next.hwSerial = cmd.hwSerial;
  next.machineId = cmd.machineId;
  next.startCipher = cmd.cipher;
  return { next, events: ["session.created"], reply: { kind: "cipher", cipher: cmd.cipher } };
}

function notify(record: SessionRecord | null, cmd: Extract<Command, { type: "notify" }>, now: number, config: RulesConfig): Transition {
  if (record && record.tenantId !== cmd.tenantId) return unchanged(record, refused(401, "wrong_tenant", "session belongs to another tenant"));
  if (record && record.nayaxTransactionId !== null) {
    const conflict = authorizationConflict(record, cmd.authorization);
    if (conflict) return unchanged(record, refused(409, "conflict", conflict));
    // An exact repeat: the same answer, nothing new.
    return unchanged(record, verdictOf(record));
  }
  if (record && record.status !== "awaiting_card") return unchanged(record, refused(409, "conflict", `session is ${record.status}`));
  const blocked = cmd.availability === "busy" || cmd.availability === "out_of_service";
  if (!blocked && cmd.askDecision && cmd.decision === undefined) return unchanged(record, { kind: "ask" });
  const next = record ? structuredClone(record) : blankRecord(cmd.tenantId, cmd.sessionId, "device_start", now);
  applyAuthorization(next, cmd.authorization);
  const decision = blocked ? undefined : cmd.decision;
  if (decision) next.decision = decision;
  const approved = !blocked && (decision?.approved ?? true);
  if (blocked) {
    const station = cmd.authorization.serviceStationNumber;
    next.status = "declined";
    next.verdict = { approved: false, message: `${station ? `Station ${station}` : "Station"} is ${cmd.availability === "busy" ? "busy" : "out of service"}` };
  } else if (!approved) {
    next.status = "declined";
    next.verdict = { approved: false, message: decision?.message ?? "Declined by the operator" };
  } else {
    next.status = "authorized";
    next.verdict = { approved: true, message: decision?.message ?? "Session will begin immediately." };
    markAuthorized(next, now, config);
    if (cmd.ocpi) beginOcpi(next, cmd.ocpi, now);
  }
  return { next, events: [approved ? "session.authorized" : "session.declined"], reply: verdictOf(next) };
}

function authorizationResult(record: SessionRecord | null, cmd: Extract<Command, { type: "authorization_result" }>, now: number, config: RulesConfig): Transition {
  if (!record) return unchanged(record, refused(404, "not_found", "session not found"));
  if (record.tenantId !== cmd.tenantId) return unchanged(record, refused(401, "wrong_tenant", "session belongs to another tenant"));
  if (record.status !== "awaiting_card") {
    const sameApproval = cmd.approved && record.status !== "declined" && cmd.authorization !== null && !authorizationConflict(record, cmd.authorization);
    // A decline repeats exactly only with the same NayaxTransactionId and amount (or, like a
    // DeclineCallback, with neither); a different amount is as conflicting as for an approval.
    const sameDecline =
      !cmd.approved &&
      record.status === "declined" &&
      (cmd.authorization ? record.nayaxTransactionId !== null && !authorizationConflict(record, cmd.authorization) : record.nayaxTransactionId === null);
    if (sameApproval || sameDecline) return unchanged(record, verdictOf(record));
    return unchanged(record, refused(409, "conflict", `session is already ${record.status}`));
  }
  const next = structuredClone(record);
  leaveAwaitingCard(next);
  if (cmd.authorization) applyAuthorization(next, cmd.authorization);
  next.currency = cmd.currency ?? next.currency;
  if (cmd.approved) {
    next.status = "authorized";
    next.verdict = { approved: true, message: "Approved" };
    markAuthorized(next, now, config);
    if (cmd.ocpi) beginOcpi(next, cmd.ocpi, now);
  } else {
    next.status = "declined";
    next.decline = cmd.decline;
    next.verdict = { approved: false, message: cmd.decline?.description ?? "Declined" };
  }
  return { next, events: [cmd.approved ? "session.authorized" : "session.declined"], reply: verdictOf(next) };
}

function decline(record: SessionRecord | null, cmd: Extract<Command, { type: "decline" }>): Transition {
  if (!record) return unchanged(record, refused(404, "not_found", "session not found"));
  if (record.tenantId !== cmd.tenantId) return unchanged(record, refused(401, "wrong_tenant", "session belongs to another tenant"));
  if (record.status === "declined" && record.decline?.code === cmd.decline.code) return unchanged(record, { kind: "ack" });
  if (record.status !== "awaiting_card") return unchanged(record, refused(409, "conflict", `session is already ${record.status}`));
  const next = structuredClone(record);
  leaveAwaitingCard(next);
  next.status = "declined";
  next.decline = cmd.decline;
  next.verdict = { approved: false, message: cmd.decline.description };
  return { next, events: ["session.declined"], reply: { kind: "ack" } };
}

function timeout(record: SessionRecord | null, cmd: Extract<Command, { type: "timeout" }>): Transition {
  if (!record) return unchanged(record, refused(404, "not_found", "session not found"));
  if (record.tenantId !== cmd.tenantId) return unchanged(record, refused(401, "wrong_tenant", "session belongs to another tenant"));
  if (record.status === "timed_out" || FINAL.includes(record.status)) return unchanged(record, { kind: "ack" });
  const next = structuredClone(record);
  leaveAwaitingCard(next);
  next.status = "timed_out";
  // Spark ended the pre-authorization: nothing pending can move money any more.
  next.pending = null;
  return { next, events: ["session.timed_out"], reply: { kind: "ack" } };
}

function stop(record: SessionRecord | null, cmd: Extract<Command, { type: "stop" }>): Transition {
  if (!record) return unchanged(record, refused(404, "not_found", "session not found"));
  if (record.tenantId !== cmd.tenantId) return unchanged(record, refused(401, "wrong_tenant", "session belongs to another tenant"));
  const declined = (message: string) => unchanged(record, { kind: "stopped", approved: false, message });
  if (cmd.cardHash && record.card?.hash && !timingSafeEqualText(cmd.cardHash.toLowerCase(), record.card.hash.toLowerCase())) return declined("Card does not match the session");
  const approved: Reply = { kind: "stopped", approved: true, message: "No Errors" };
  if (record.status === "stop_requested") {
    // Approved again, no new event; over OCPI a STOP_SESSION that was not ACCEPTED goes again.
    const next = structuredClone(record);
    return wantStop(next, "card") ? { next, events: [], reply: approved } : unchanged(record, approved);
  }
  if (record.status !== "authorized") return declined(record.status === "awaiting_card" ? "Session is not authorized" : "Session already ended");
  const next = structuredClone(record);
  next.status = "stop_requested";
  next.stopSiteId = cmd.stopSiteId;
  wantStop(next, "card");
  return { next, events: ["session.stop_requested"], reply: approved };
}

// ------------------------------------------------------------------ operations (§8)

function settle(record: SessionRecord | null, cmd: Extract<Command, { type: "settle" }>, now: number, config: RulesConfig): Transition {
  if (!record || record.tenantId !== cmd.tenantId) return notFound(record);
  const op = record.pending;
  if (op) {
    if (op.kind === "settle" && op.amount === cmd.amount && op.receiptJson === cmd.receiptJson) return unchanged(record, { kind: "session", status: 202 });
    return unchanged(record, refused(409, "operation_in_doubt", `a ${op.kind} of this session is ${op.state}; only the same request (amount ${op.amount}) may be repeated`));
  }
  if (record.status === "review_required") return unchanged(record, refused(409, "review_required", "the session awaits review: resolve it first"));
  if (ocpiInProgress(record, cmd.ocpiConnected ?? true)) return unchanged(record, refused(409, "ocpi_in_progress", OCPI_IN_PROGRESS));
  if (record.status === "settled") {
    if (record.settleRequest?.amount === cmd.amount) return unchanged(record, { kind: "session", status: 200 });
    return unchanged(record, refused(409, "already_settled", `session is already settled for ${record.settleRequest?.amount ?? record.settledAmount}`));
  }
  if (record.paymentMode === "pre_selection") {
    return unchanged(record, refused(409, "not_settleable", "a pre-selection session is charged at authorization; cancel it to void"));
  }
  if (!OPEN_STATUSES.includes(record.status)) return unchanged(record, refused(409, "not_settleable", `session is ${record.status}`));
  const amount = moneyOf(cmd.amount);
  if (amount === 0n) return unchanged(record, refused(422, "zero_amount", "amount must be above zero; cancel the session to release the hold"));
  if (record.authorizedAmount === null || amount > moneyOf(record.authorizedAmount)) {
    return unchanged(record, refused(422, "above_authorized", `amount ${cmd.amount} is above the authorized ${record.authorizedAmount}`));
  }
  const next = structuredClone(record);
  next.pending = newOperation(cmd.operationId, "settle", cmd.amount, now, config, { receiptJson: cmd.receiptJson, idempotencyKey: cmd.idempotencyKey });
  next.settleRequest = { amount: cmd.amount, receiptJson: cmd.receiptJson };
  return { next, events: [], reply: { kind: "send" } };
}

function cancel(record: SessionRecord | null, cmd: Extract<Command, { type: "cancel" }>, now: number, config: RulesConfig): Transition {
  if (!record || record.tenantId !== cmd.tenantId) return notFound(record);
  const op = record.pending;
  if (op) {
    if (op.kind === "cancel") return unchanged(record, { kind: "session", status: 202 });
    return unchanged(record, refused(409, "operation_in_doubt", `a ${op.kind} of this session is ${op.state}; it cannot be cancelled meanwhile`));
  }
  if (record.status === "review_required") return unchanged(record, refused(409, "review_required", "the session awaits review: resolve it first"));
  if (ocpiInProgress(record, cmd.ocpiConnected ?? true)) return unchanged(record, refused(409, "ocpi_in_progress", OCPI_IN_PROGRESS));
  if (record.status === "cancelled") return unchanged(record, { kind: "session", status: 200 });
  if (!OPEN_STATUSES.includes(record.status)) return unchanged(record, refused(409, "not_cancellable", `session is ${record.status}`));
  const next = structuredClone(record);
  next.pending = newOperation(cmd.operationId, "cancel", record.authorizedAmount, now, config, {
    idempotencyKey: cmd.idempotencyKey,
    reason: { code: cmd.reasonCode, text: cmd.reasonText },
  });
  return { next, events: [], reply: { kind: "send" } };
}

function remoteStart(record: SessionRecord | null, cmd: Extract<Command, { type: "remote_start" }>, now: number): Transition {
  if (record) return unchanged(record, refused(409, "conflict", "session already exists"));
  const next = blankRecord(cmd.tenantId, cmd.sessionId, "remote_start", now);
  next.terminal = cmd.terminal;
  next.paymentMode = cmd.paymentMode;
  next.serviceStationNumber = cmd.serviceStationNumber ?? null;
  if ("hwSerial" in cmd.terminal) next.hwSerial = cmd.terminal.hwSerial;
  else next.machineId = cmd.terminal.machineId;
  // Spark's callbacks for it may come whatever happens to this request; without any, it ends here.
  next.expiresAt = now + cmd.timeoutSeconds * 1000 + REMOTE_START_GRACE_MS;
  next.pending = {
    id: cmd.operationId,
    kind: "remote_start",
    amount: cmd.amount,
    state: "pending",
    since: new Date(now).toISOString(),
    attempts: 1,
    lastError: null,
    receiptJson: null,
    idempotencyKey: null,
    reason: null,
    nextAttemptAt: null,
    deadlineAt: next.expiresAt,
  };
  return { next, events: [], reply: { kind: "send" } };
}

function external(record: SessionRecord | null, cmd: Extract<Command, { type: "external" }>, now: number, config: RulesConfig): Transition {
  if (record && record.tenantId !== cmd.tenantId) return notFound(record);
  if (record) {
    const op = record.pending;
    if (op) {
      if (op.kind === cmd.kind && record.external?.fingerprint === cmd.request.fingerprint) return unchanged(record, { kind: "session", status: 202 });
      return unchanged(record, refused(409, "operation_in_doubt", `a ${op.kind} of NayaxTransactionId ${cmd.request.nayaxTransactionId} is ${op.state}; only the same request may be repeated`));
    }
    if (record.status === "review_required") return unchanged(record, refused(409, "review_required", "the transaction awaits review: resolve it first"));
    // Refused before, or resolved as not settled: a new request may try again; anything that went through is final.
    if (record.status !== "declined" && record.status !== "authorized") {
      const message = `NayaxTransactionId ${cmd.request.nayaxTransactionId} was already ${record.status} through this API`;
      return unchanged(record, record.status === "cancelled" ? refused(409, "already_cancelled", message) : refused(409, "already_settled", message));
    }
  }
  const next = record ? structuredClone(record) : blankRecord(cmd.tenantId, cmd.sessionId, "external", now);
  const request = cmd.request;
  next.status = "authorized";
  next.nayaxTransactionId = request.nayaxTransactionId;
  next.siteId = request.siteId;
  next.terminal = request.terminal;
  next.hwSerial = "hwSerial" in request.terminal ? request.terminal.hwSerial : null;
  next.machineId = "machineId" in request.terminal ? request.terminal.machineId : null;
  next.machineAuTime = request.machineAuTime;
  next.deviceTime = request.deviceTime;
  next.decline = null;
  next.lastSparkError = null;
  next.external = request;
  next.pending = newOperation(cmd.operationId, cmd.kind, request.amount, now, config, { receiptJson: request.receiptJson });
  return { next, events: [], reply: { kind: "send" } };
}

function resend(record: SessionRecord | null, cmd: Extract<Command, { type: "resend" }>, now: number, config: RulesConfig): Transition {
  if (!record || resendDue(record, now) !== cmd.operationId) return unchanged(record, { kind: "none" });
  const op = record.pending!;
  if (now >= op.deadlineAt) return toReview(record, op.lastError ?? { code: null, description: "no answer within the re-send horizon" });
  const next = structuredClone(record);
  const pending = next.pending!;
  pending.attempts += 1;
  // If the object stops while this attempt waits, the alarm sends it again at the next slot.
  pending.nextAttemptAt = now + config.jitter(resendDelay(config, pending.attempts));
  return { next, events: [], reply: { kind: "send" } };
}

function outcome(record: SessionRecord | null, cmd: Extract<Command, { type: "outcome" }>, now: number, config: RulesConfig): Transition {
  const op = record?.pending;
  if (!record || !op || op.id !== cmd.operationId) return unchanged(record, { kind: "none" });
  const result = cmd.outcome;
  const resent = op.attempts > 1;
  const next = structuredClone(record);
  const failure = "failure" in result ? result.failure : null;

  switch (result.kind) {
    case "approved": {
      next.pending = null;
      next.lastSparkError = null;
      if (op.kind === "remote_start") {
        return { next, events: record.status === "awaiting_card" ? ["session.created"] : [], reply: { kind: "session", status: 201 } };
      }
      leaveAwaitingCard(next);
      if (op.kind === "cancel" || op.kind === "external_cancel") {
        next.status = "cancelled";
        next.currency = result.currency ?? next.currency;
        return { next, events: ["session.cancelled"], reply: { kind: "session", status: op.kind === "external_cancel" ? 201 : 200 } };
      }
      const facts = result.settlement;
      next.status = "settled";
      next.settledAmount = facts?.amount ?? op.amount;
      next.currency = facts?.currency ?? next.currency;
      next.settlement = {
        amount: next.settledAmount,
        currency: facts?.currency ?? null,
        currencyNumeric: facts?.currencyNumeric ?? null,
        authCode: facts?.authCode ?? null,
        nayaxRrn: facts?.nayaxRrn ?? null,
        fiscalRrn: facts?.fiscalRrn ?? null,
        settledAt: facts?.settledAt ?? null,
      };
      return { next, events: ["session.settled"], reply: { kind: "session", status: op.kind === "external_settle" ? 201 : 200 } };
    }
    case "declined": {
      if (resent) return toReview(record, { code: failure!.code, description: failure!.description });
      next.pending = null;
      next.lastSparkError = failure;
      const reply = badGateway(failure!);
      if (op.kind === "remote_start" || op.kind === "external_settle" || op.kind === "external_cancel") {
        // Nothing was held or moved: the session never started.
        leaveAwaitingCard(next);
        next.status = "declined";
        next.decline = { code: failure!.code, description: failure!.description };
        return { next, events: [], reply };
      }
      return { next, events: op.kind === "settle" ? ["session.settlement_failed"] : [], reply };
    }
    case "unknown": {
      const pending = next.pending!;
      pending.state = "unknown";
      pending.lastError = { code: failure!.code, description: failure!.description };
      if (op.kind === "remote_start") {
        // TriggerTransaction is not sent again (it would wake the terminal twice); Spark's callbacks, or the expiry, settle it.
        return { next, events: record.status === "awaiting_card" ? ["session.created"] : [], reply: { kind: "session", status: 202 } };
      }
      if (now >= pending.deadlineAt) return toReview(record, pending.lastError);
      pending.nextAttemptAt = now + config.jitter(resendDelay(config, pending.attempts));
      return { next, events: [], reply: { kind: "session", status: 202 } };
    }
    case "not_sent": {
      if (resent) {
        // Nothing left: this attempt does not count; the schedule tries again.
        const pending = next.pending!;
        pending.attempts -= 1;
        pending.lastError = { code: null, description: failure!.description };
        return { next, events: [], reply: { kind: "none" } };
      }
      next.pending = null;
      next.lastSparkError = failure;
      if (op.kind === "remote_start" || op.kind === "external_settle" || op.kind === "external_cancel") {
        leaveAwaitingCard(next);
        next.status = "declined";
        next.decline = { code: null, description: failure!.description };
      }
      // A settlement that could not be made is announced like one Spark refused: the session stays settleable.
      return { next, events: op.kind === "settle" ? ["session.settlement_failed"] : [], reply: badGateway(failure!) };
    }
  }
}

function resolve(record: SessionRecord | null, cmd: Extract<Command, { type: "resolve" }>): Transition {
  if (!record || record.tenantId !== cmd.tenantId) return notFound(record);
  if (record.status !== "review_required") return unchanged(record, refused(409, "not_in_review", `session is ${record.status}, not review_required`));
  const op = record.pending;
  const next = structuredClone(record);
  next.pending = null;
  next.resolvedBy = "tenant";
  next.resolutionNote = cmd.note;
  if (cmd.outcome === "not_settled") {
    next.status = "authorized";
    return { next, events: [], reply: { kind: "session", status: 200 } };
  }
  if (op && (op.kind === "cancel" || op.kind === "external_cancel")) {
    next.status = "cancelled";
    return { next, events: ["session.cancelled"], reply: { kind: "session", status: 200 } };
  }
  next.status = "settled";
  next.settledAmount = op?.amount ?? next.settleRequest?.amount ?? null;
  next.settlement = { amount: next.settledAmount, currency: null, currencyNumeric: null, authCode: null, nayaxRrn: null, fiscalRrn: null, settledAt: null };
  return { next, events: ["session.settled"], reply: { kind: "session", status: 200 } };
}

function tick(record: SessionRecord | null, now: number, config: RulesConfig): Transition {
  if (!record) return unchanged(record, { kind: "none" });
  const ocpi = ocpiTick(record, now, config);
  if (ocpi) return ocpi;
  if (record.status === "awaiting_card") {
    const expired =
      (record.flow === "device_start" && Date.parse(record.createdAt) + config.awaitingCardTtlMs <= now) ||
      (record.expiresAt !== null && record.expiresAt <= now);
    if (expired) {
      const next = structuredClone(record);
      leaveAwaitingCard(next);
      next.status = "timed_out";
      next.pending = null;
      return { next, events: ["session.timed_out"], reply: { kind: "none" } };
    }
  }
  const op = record.pending;
  if (op && record.status !== "review_required" && RESENDABLE.includes(op.kind) && op.deadlineAt <= now) {
    return toReview(record, op.lastError ?? { code: null, description: "no answer within the re-send horizon" });
  }
  if (OPEN_STATUSES.includes(record.status) && !record.overdue && record.overdueAt !== null && record.overdueAt <= now) {
    const next = structuredClone(record);
    next.overdue = true;
    return { next, events: ["session.settlement_overdue"], reply: { kind: "none" } };
  }
  return unchanged(record, { kind: "none" });
}

// ------------------------------------------------------------------ helpers

const FINAL: readonly SessionStatus[] = ["declined", "settled", "cancelled", "timed_out"];

/** Money in doubt: a person decides. The operation stays on the session with Spark's last word. */
function toReview(record: SessionRecord, lastError: { code: number | null; description: string }): Transition {
  const next = structuredClone(record);
  next.status = "review_required";
  const pending = next.pending!;
  pending.state = "unknown";
  pending.lastError = lastError;
  pending.nextAttemptAt = null;
  return { next, events: ["session.review_required"], reply: { kind: "none" } };
}

function resendDelay(config: RulesConfig, attempts: number): number {
  const schedule = config.resendScheduleMs;
  return schedule[Math.min(attempts - 1, schedule.length - 1)] ?? 60_000;
}

export function newOperation(
  id: string,
  kind: OperationKind,
  amount: string | null,
  now: number,
  config: RulesConfig,
  extra: { receiptJson?: string | null; idempotencyKey?: string | null; reason?: OperationRecord["reason"] },
): OperationRecord {
  return {
    id,
    kind,
    amount,
    state: "pending",
    since: new Date(now).toISOString(),
    attempts: 1,
    lastError: null,
    receiptJson: extra.receiptJson ?? null,
    idempotencyKey: extra.idempotencyKey ?? null,
    reason: extra.reason ?? null,
    // Due again only if this first attempt never comes back (the object stopped while it waited).
    nextAttemptAt: now + config.jitter(resendDelay(config, 1)),
    deadlineAt: now + config.resendHorizonMs,
  };
}

/** 502 carrying Spark's code and description. */
function badGateway(failure: SparkFailure): Refusal {
  const what = failure.code === null ? failure.description : `${failure.code} ${failure.description}`;
  return refused(502, "spark_error", `Spark ${failure.method} failed: ${what}`, { code: failure.code, description: failure.description });
}

function leaveAwaitingCard(record: SessionRecord): void {
  record.expiresAt = null;
  if (record.pending?.kind === "remote_start") record.pending = null;
}

function markAuthorized(record: SessionRecord, now: number, config: RulesConfig): void {
  record.authorizedAt = new Date(now).toISOString();
  record.overdueAt = now + config.settlementWindowMs;
}

function verdictOf(record: SessionRecord): Reply {
  return { kind: "verdict", approved: record.verdict?.approved ?? false, message: record.verdict?.message ?? "" };
}

function applyAuthorization(record: SessionRecord, auth: Authorization): void {
  record.nayaxTransactionId = auth.nayaxTransactionId;
  record.authorizedAmount = auth.amount;
  record.siteId = auth.siteId;
  record.machineId = auth.machineId;
  record.hwSerial = auth.hwSerial;
  record.serviceStationNumber = auth.serviceStationNumber ?? record.serviceStationNumber;
  record.card = auth.card;
  record.deviceTime = auth.deviceTime;
  record.machineAuTime = auth.machineAuTime;
}

/** Why a repeated authorization conflicts with the recorded one, or null for an exact repeat. */
function authorizationConflict(record: SessionRecord, auth: Authorization): string | null {
  if (record.nayaxTransactionId !== auth.nayaxTransactionId) return `session already authorized with NayaxTransactionId ${record.nayaxTransactionId}`;
  if (record.authorizedAmount !== auth.amount) return `session already authorized for ${record.authorizedAmount}`;
  return null;
}

/** A session as it is before anything happened to it. */
export function blankRecord(tenantId: string, id: string, flow: Flow, now: number): SessionRecord {
  const at = new Date(now).toISOString();
  return {
    id,
    tenantId,
    flow,
    status: "awaiting_card",
    nayaxTransactionId: null,
    siteId: null,
    stopSiteId: null,
    machineId: null,
    hwSerial: null,
    serviceStationNumber: null,
    authorizedAmount: null,
    settledAmount: null,
    currency: null,
    card: null,
    deviceTime: null,
    verdict: null,
    decline: null,
    settlement: null,
    paymentMode: "pre_authorization",
    lastSparkError: null,
    overdue: false,
    decision: null,
    ocpi: null,
    resolvedBy: null,
    resolutionNote: null,
    createdAt: at,
    updatedAt: at,
    machineAuTime: null,
    terminal: null,
    settleRequest: null,
    authorizedAt: null,
    overdueAt: null,
    pending: null,
    startCipher: null,
    expiresAt: null,
    external: null,
    ocpiRun: null,
  };
}
