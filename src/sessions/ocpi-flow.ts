/**
 * The payment flow over OCPI (CONTRACT §7.6), as rules: what an approved authorization on a
 * mapped station, a command's answer or result, a CPO Session, a CDR and the passing of time do
 * to a session. Pure, like `./rules.ts`, whose `decide` dispatches here; the session object sends
 * the commands (`ocpiAction`) and the Spark calls (operations) these rules record.
 */
import { formatMoney, moneyOf } from "../lib/money";
import { cardAmount, cardAmountBeforeCap } from "../ocpi/amounts";
import type { AmountSettings } from "../ocpi/amounts";
import type { CdrFact, CommandResultFact, SessionFact } from "../ocpi/facts";
import { OPEN_STATUSES } from "./model";
import type { EventType, OcpiCancelReason, OcpiReviewReason, OcpiTarget, SessionRecord } from "./model";
import { newOperation } from "./rules";
import type { RulesConfig, Transition } from "./rules";

/** A START_SESSION that surely did not reach the CPO is sent again this much later (a tenth of the window, when shorter). */
export const START_RETRY_MS = 5_000;
/** ... at most this many times within the start window (CONTRACT §7.6, "No double start"). */
export const START_RESENDS = 3;
/** Reason code of the CancelTransaction that releases a card after the OCPI side failed. */
export const OCPI_CANCEL_REASON_CODE = 102;

/** What the CPO answered to a command, as the object reads it. */
export interface CommandAnswer {
  reached: boolean;
  response: string;
  timeoutSeconds: number | null;
}

export type OcpiCommand =
  /** The object is about to send a command: record it first (§8's rule applies to OCPI too). */
  | { type: "ocpi_sending"; kind: "START_SESSION" | "STOP_SESSION"; commandId: string; tokenUid: string | null }
  | { type: "ocpi_answer"; kind: "START_SESSION" | "STOP_SESSION"; commandId: string; answer: CommandAnswer }
  | { type: "ocpi_fact"; fact: SessionFact | CdrFact | CommandResultFact; settings: AmountSettings & { currency: string | null } };

/** The command the object should send now, if any. */
export function ocpiAction(record: SessionRecord | null, now: number): "START_SESSION" | "STOP_SESSION" | null {
  const run = record?.ocpiRun;
  if (!record || !run || !record.ocpi) return null;
  if (run.startDueAt !== null && run.startDueAt <= now && record.ocpi.sessionId === null && OPEN_STATUSES.includes(record.status)) return "START_SESSION";
  if (run.stopWanted !== null && record.ocpi.sessionId !== null) return "STOP_SESSION";
  return null;
}

/** Times the flow needs the clock for (Unix ms). */
export function ocpiWakeTimes(record: SessionRecord): number[] {
  const run = record.ocpiRun;
  if (!run || !record.ocpi) return [];
  const times: number[] = [];
  if (run.startDueAt !== null) times.push(run.startDueAt);
  if (record.ocpi.sessionId === null && OPEN_STATUSES.includes(record.status)) {
    if (run.resultGraceEndsAt !== null) times.push(run.resultGraceEndsAt);
    if (run.startWindowEndsAt !== null) times.push(run.startWindowEndsAt);
  }
  if (run.cdrDueBy !== null && record.ocpi.cdrId === null) times.push(run.cdrDueBy);
  return times;
}

/**
 * While START_SESSION is unanswered or the CPO's Session is PENDING or ACTIVE, the tenant's own
 * settle and cancel wait for OCPI (`409 ocpi_in_progress`); a connection since removed does not.
 */
export function ocpiInProgress(record: SessionRecord, connected: boolean): boolean {
  const view = record.ocpi;
  const run = record.ocpiRun;
  if (!view || !run || !connected || view.cancelReason !== null) return false;
  const startUnanswered = run.startDueAt !== null || (view.start !== null && view.start.response === null);
  return startUnanswered || view.status === "PENDING" || view.status === "ACTIVE";
}

/** An approved authorization on a mapped station of a connected tenant: the session becomes OCPI-driven. */
export function beginOcpi(next: SessionRecord, target: OcpiTarget, now: number): void {
  next.ocpi = {
    version: target.version,
    countryCode: target.countryCode,
    partyId: target.partyId,
    locationId: target.locationId,
    evseUid: target.evseUid,
    connectorId: target.connectorId,
    tokenUid: null,
    start: null,
    stop: null,
    sessionId: null,
    status: null,
    kwh: null,
    cost: null,
    startedAt: null,
    endedAt: null,
    cdrId: null,
    charge: null,
    cancelReason: null,
    reviewReasons: [],
  };
  next.ocpiRun = {
    startDueAt: now,
    startSends: 0,
    startCommandId: null,
    startWindowEndsAt: null,
    resultGraceEndsAt: null,
    startTimeoutSeconds: null,
    stopWanted: null,
    stopCommandId: null,
    sessionParty: null,
    correlationId: null,
    chargingAnnounced: false,
    completedAnnounced: false,
    cdrDueBy: null,
  };
}

/** A card stop (or its repeat) on an OCPI-driven session: STOP_SESSION unless one was already ACCEPTED. */
export function wantStop(next: SessionRecord, reason: "card" | "cost_cap"): boolean {
  const run = next.ocpiRun;
  if (!next.ocpi || !run || next.ocpi.cancelReason !== null) return false;
  if (next.ocpi.stop?.response === "ACCEPTED" || run.stopWanted !== null) return false;
  run.stopWanted = reason;
  return true;
}

export function decideOcpi(record: SessionRecord | null, command: OcpiCommand, now: number, config: RulesConfig): Transition {
  const none: Transition = { next: record, events: [], reply: { kind: "none" } };
  if (!record || !record.ocpi || !record.ocpiRun) return none;
  switch (command.type) {
    case "ocpi_sending":
      return sending(record, command, now, config);
    case "ocpi_answer":
      return answered(record, command, now, config);
    case "ocpi_fact":
      switch (command.fact.kind) {
        case "command_result":
          return result(record, command.fact, now, config);
        case "session":
          return session(record, command.fact, command.settings, now, config);
        case "cdr":
          return cdr(record, command.fact, command.settings, now, config);
      }
  }
}

function sending(record: SessionRecord, cmd: Extract<OcpiCommand, { type: "ocpi_sending" }>, now: number, config: RulesConfig): Transition {
  if (ocpiAction(record, now) !== cmd.kind) return { next: record, events: [], reply: { kind: "none" } };
  const next = structuredClone(record);
  const view = next.ocpi!;
  const run = next.ocpiRun!;
  if (cmd.kind === "START_SESSION") {
    if (cmd.tokenUid) view.tokenUid = cmd.tokenUid;
    view.start = { sentAt: new Date(now).toISOString(), response: null, result: null, resultAt: null };
    run.startCommandId = cmd.commandId;
    run.startSends += 1;
    run.startDueAt = null;
    run.startWindowEndsAt ??= now + config.ocpiStartWindowMs;
  } else {
    view.stop = { sentAt: new Date(now).toISOString(), reason: run.stopWanted!, response: null, result: null, resultAt: null };
    run.stopCommandId = cmd.commandId;
    run.stopWanted = null;
  }
  return { next, events: [], reply: { kind: "send" } };
}

function answered(record: SessionRecord, cmd: Extract<OcpiCommand, { type: "ocpi_answer" }>, now: number, config: RulesConfig): Transition {
  const run = record.ocpiRun!;
  const next = structuredClone(record);
  const view = next.ocpi!;
  const nextRun = next.ocpiRun!;
  if (cmd.kind === "STOP_SESSION") {
    if (cmd.commandId !== run.stopCommandId || !view.stop) return { next: record, events: [], reply: { kind: "none" } };
    view.stop.response = cmd.answer.reached ? cmd.answer.response : "ERROR";
    return { next, events: [], reply: { kind: "none" } };
  }
  if (cmd.commandId !== run.startCommandId || !view.start) return { next: record, events: [], reply: { kind: "none" } };
  const windowOpen = run.startWindowEndsAt !== null && now < run.startWindowEndsAt;
  if (!cmd.answer.reached && run.startSends <= START_RESENDS && windowOpen && view.sessionId === null) {
    // Surely not received: the only case in which START_SESSION goes out again.
    nextRun.startDueAt = now + Math.min(START_RETRY_MS, config.ocpiStartWindowMs / 10);
    view.start = null;
    return { next, events: [], reply: { kind: "none" } };
  }
  view.start.response = cmd.answer.reached ? cmd.answer.response : "ERROR";
  nextRun.startTimeoutSeconds = cmd.answer.timeoutSeconds;
  const events: EventType[] = [];
  if (view.start.response !== "ACCEPTED" && view.sessionId === null) cancel(next, "start_rejected", now, config);
  return { next, events, reply: { kind: "none" } };
}

function result(record: SessionRecord, fact: CommandResultFact, now: number, config: RulesConfig): Transition {
  const run = record.ocpiRun!;
  const next = structuredClone(record);
  const view = next.ocpi!;
  const at = new Date(now).toISOString();
  if (fact.command === "STOP_SESSION") {
    if (fact.commandId !== run.stopCommandId || !view.stop) return { next: record, events: [], reply: { kind: "none" } };
    view.stop.result = fact.result;
    view.stop.resultAt = at;
    return { next, events: [], reply: { kind: "none" } };
  }
  if (fact.commandId !== run.startCommandId || !view.start) return { next: record, events: [], reply: { kind: "none" } };
  view.start.result = fact.result;
  view.start.resultAt = at;
  if (fact.result !== "ACCEPTED" && view.sessionId === null) {
    const grace = now + config.ocpiResultGraceMs;
    next.ocpiRun!.resultGraceEndsAt = run.startWindowEndsAt !== null ? Math.min(grace, run.startWindowEndsAt) : grace;
  }
  return { next, events: [], reply: { kind: "none" } };
}

function session(record: SessionRecord, fact: SessionFact, settings: AmountSettings, now: number, config: RulesConfig): Transition {
  const known = record.ocpi!.sessionId;
  // One CPO Session per gateway session: another one for the same token is kept on the OCPI side only.
  if (known !== null && known.toUpperCase() !== fact.sessionId.toUpperCase()) return { next: record, events: [], reply: { kind: "none" } };
  const next = structuredClone(record);
  const view = next.ocpi!;
  const run = next.ocpiRun!;
  const events: EventType[] = [];
  if (known === null) {
    view.sessionId = fact.sessionId;
    run.sessionParty = fact.party;
    view.countryCode ??= fact.party.countryCode;
    view.partyId ??= fact.party.partyId;
    run.startWindowEndsAt = null;
    run.resultGraceEndsAt = null;
    run.startDueAt = null;
  }
  run.correlationId = fact.correlationId;
  view.status = fact.status;
  view.kwh = Number(fact.kwh);
  view.cost = fact.cost ? { exclVat: fact.cost.exclVat, inclVat: fact.cost.inclVat } : view.cost;
  view.startedAt = fact.startedAt;
  view.endedAt = fact.endedAt;

  if (next.status === "cancelled" || next.status === "settled") {
    review(next, "late_session", events);
    // Charging that nobody pays for: asked to stop, once.
    if ((fact.status === "PENDING" || fact.status === "ACTIVE") && view.stop === null && run.stopWanted === null) run.stopWanted = "late_session";
    return { next, events, reply: { kind: "none" } };
  }
  if (fact.status === "ACTIVE" && !run.chargingAnnounced) {
    run.chargingAnnounced = true;
    events.push("session.charging");
  }
  if ((fact.status === "ACTIVE" || fact.status === "PENDING") && next.status === "authorized" && fact.cost && next.authorizedAmount !== null) {
    const wouldPay = cardAmountBeforeCap({ totalCost: fact.cost, version: view.version, settings });
    if (wouldPay >= moneyOf(next.authorizedAmount) && wantStop(next, "cost_cap")) {
      next.status = "stop_requested";
      events.push("session.stop_requested");
    }
  }
  if (fact.status === "COMPLETED" && !run.completedAnnounced) {
    run.completedAnnounced = true;
    if (!run.chargingAnnounced) run.chargingAnnounced = true;
    run.cdrDueBy = now + config.ocpiCdrWaitMs;
    events.push("session.charging_completed");
  }
  if (fact.status === "INVALID" && OPEN_STATUSES.includes(next.status)) cancel(next, "session_invalid", now, config);
  return { next, events, reply: { kind: "none" } };
}

function cdr(record: SessionRecord, fact: CdrFact, settings: AmountSettings & { currency: string | null }, now: number, config: RulesConfig): Transition {
  const next = structuredClone(record);
  const view = next.ocpi!;
  const events: EventType[] = [];
  if (view.cdrId !== null && view.cdrId.toUpperCase() === fact.cdrId.toUpperCase()) return { next: record, events: [], reply: { kind: "none" } };
  // A credit CDR (2.2.1) or a further CDR settles nothing: a person decides what to do with it.
  if (fact.credit || view.cdrId !== null) {
    review(next, fact.credit ? "credit_cdr" : "extra_cdr", events);
    return { next, events, reply: { kind: "none" } };
  }
  view.cdrId = fact.cdrId;
  next.ocpiRun!.cdrDueBy = null;
  // Settled or cancelled meanwhile (by the tenant, or the card was released): recorded, settles nothing.
  if (!OPEN_STATUSES.includes(next.status) || next.pending !== null) return { next, events, reply: { kind: "none" } };
  if (settings.currency !== null && fact.currency.toUpperCase() !== settings.currency.toUpperCase()) {
    review(next, "currency_mismatch", events);
    return { next, events, reply: { kind: "none" } };
  }
  const { amount, capped } = cardAmount({ totalCost: fact.totalCost, version: fact.version, settings, authorized: moneyOf(next.authorizedAmount ?? "0") });
  view.charge = formatMoney(amount);
  if (capped) review(next, "cdr_above_authorized", events);
  if (amount === 0n) {
    cancel(next, "zero_amount", now, config);
    return { next, events, reply: { kind: "none" } };
  }
  const receiptJson = JSON.stringify({ General: [{ CDR: fact.cdrId }, { Energy: `${fact.kwh} kWh` }, { Amount: view.charge }] });
  next.settleRequest = { amount: view.charge, receiptJson };
  next.pending = { ...newOperation(`op_cdr_${fact.cdrId}`, "settle", view.charge, now, config, { receiptJson }), attempts: 0, nextAttemptAt: now };
  return { next, events, reply: { kind: "none" } };
}

/** Time: the start window and the result grace without a Session, the CDR wait after COMPLETED. */
export function ocpiTick(record: SessionRecord, now: number, config: RulesConfig): Transition | null {
  const view = record.ocpi;
  const run = record.ocpiRun;
  if (!view || !run) return null;
  if (view.sessionId === null && OPEN_STATUSES.includes(record.status) && record.pending === null && view.cancelReason === null) {
    const reason: OcpiCancelReason | null =
      run.resultGraceEndsAt !== null && now >= run.resultGraceEndsAt ? "start_failed" : run.startWindowEndsAt !== null && now >= run.startWindowEndsAt ? "no_session" : null;
    if (reason) {
      const next = structuredClone(record);
      cancel(next, reason, now, config);
      return { next, events: [], reply: { kind: "none" } };
    }
  }
  if (view.cdrId === null && run.cdrDueBy !== null && now >= run.cdrDueBy && !view.reviewReasons.includes("cdr_missing")) {
    const next = structuredClone(record);
    const events: EventType[] = [];
    review(next, "cdr_missing", events);
    next.ocpiRun!.cdrDueBy = null;
    return { next, events, reply: { kind: "none" } };
  }
  return null;
}

/** Adds a review reason, and its event, once. */
function review(next: SessionRecord, reason: OcpiReviewReason, events: EventType[]): void {
  const view = next.ocpi!;
  if (view.reviewReasons.includes(reason)) return;
  view.reviewReasons.push(reason);
  events.push("session.review_required");
}

/** Releases the card's hold with CancelTransaction, recorded first like every call that moves money. */
function cancel(next: SessionRecord, reason: OcpiCancelReason, now: number, config: RulesConfig): void {
  const view = next.ocpi!;
  const run = next.ocpiRun!;
  view.cancelReason = reason;
  run.startDueAt = null;
  run.startWindowEndsAt = null;
  run.resultGraceEndsAt = null;
  if (next.pending !== null || !OPEN_STATUSES.includes(next.status)) return;
  next.pending = {
    ...newOperation(`op_ocpi_${reason}`, "cancel", next.authorizedAmount, now, config, { reason: { code: OCPI_CANCEL_REASON_CODE, text: `OCPI ${reason}` } }),
    attempts: 0,
    nextAttemptAt: now,
  };
}

