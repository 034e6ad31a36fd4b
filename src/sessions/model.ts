/** The session as the gateway keeps it, and the commands that move it. camelCase only. */

export const SESSION_STATUSES = [
  "awaiting_card",
  "authorized",
  "declined",
  "stop_requested",
  "settled",
  "cancelled",
  "timed_out",
  "review_required",
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export const FLOWS = ["device_start", "remote_start", "external"] as const;
export type Flow = (typeof FLOWS)[number];

/** Statuses in which money is held and the session can still be settled or cancelled. */
export const OPEN_STATUSES: readonly SessionStatus[] = ["authorized", "stop_requested"];
/** Statuses in which a session's money has come to rest: retention may delete them. */
export const ENDED_STATUSES: readonly SessionStatus[] = ["settled", "cancelled", "declined", "timed_out"];
/** Statuses after which nothing more happens (`review_required` is not one: a person still has to decide). */
export const FINAL_STATUSES: readonly SessionStatus[] = ["declined", "settled", "cancelled", "timed_out"];

export const EVENT_TYPES = [
  "session.created",
  "session.authorized",
  "session.declined",
  "session.stop_requested",
  "session.settled",
  "session.settlement_failed",
  "session.cancelled",
  "session.timed_out",
  "session.settlement_overdue",
  "session.review_required",
  "session.charging",
  "session.charging_completed",
  "webhook.test",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface Card {
  last4: string | null;
  hash: string | null;
  uid: string | null;
}

export interface Settlement {
  amount: string | null;
  currency: string | null;
  currencyNumeric: string | null;
  authCode: string | null;
  nayaxRrn: string | null;
  fiscalRrn: string | null;
  settledAt: string | null;
}

export interface SparkFailure {
  method: string;
  code: number | null;
  description: string;
  at: string;
}

/** How a Device Start authorization was decided by the tenant's decision endpoint (CONTRACT §5). */
export interface DecisionView {
  source: "tenant" | "fallback";
  approved: boolean;
  message: string | null;
  /** Why the fallback answered: "timeout", "http 503", "invalid answer", "unreachable". */
  error: string | null;
  durationMs: number;
}

/** Why an OCPI-driven session needs a person to look at it (CONTRACT §7.6, "Review"). */
export type OcpiReviewReason = "late_session" | "cdr_above_authorized" | "extra_cdr" | "credit_cdr" | "cdr_missing" | "currency_mismatch";
/** Why an OCPI-driven session was cancelled (CONTRACT §7.6). */
export type OcpiCancelReason = "start_rejected" | "start_failed" | "no_session" | "session_invalid" | "zero_amount";

/** One OCPI command as the session shows it (CONTRACT §7.8). */
export interface OcpiCommandView {
  sentAt: string | null;
  /** Stop only: what triggered it. */
  reason?: OcpiStopReason;
  /** The CPO's answer to the command, or "ERROR" when it was not a 1000 envelope; null until it answered. */
  response: string | null;
  /** The command result the CPO posted later; null until it came. */
  result: string | null;
  resultAt: string | null;
}

/** The OCPI side of an OCPI-driven session (CONTRACT §7.8). */
export interface OcpiView {
  version: "2.1.1" | "2.2.1";
  countryCode: string | null;
  partyId: string | null;
  locationId: string;
  evseUid: string;
  connectorId: string | null;
  /** The one-time token minted for this session; null until START_SESSION is about to go. */
  tokenUid: string | null;
  start: OcpiCommandView | null;
  stop: OcpiCommandView | null;
  sessionId: string | null;
  status: string | null;
  kwh: number | null;
  cost: { exclVat: string; inclVat: string | null } | null;
  startedAt: string | null;
  endedAt: string | null;
  cdrId: string | null;
  charge: string | null;
  cancelReason: OcpiCancelReason | null;
  reviewReasons: OcpiReviewReason[];
}

export type OcpiStopReason = "card" | "cost_cap" | "late_session";

/** A party of OCPI: country code and party id. */
export interface OcpiParty {
  countryCode: string;
  partyId: string;
}

/** Where an OCPI-driven session charges: the station's mapping to an EVSE (CONTRACT §7.5). */
export interface OcpiTarget {
  version: "2.1.1" | "2.2.1";
  locationId: string;
  evseUid: string;
  connectorId: string | null;
  countryCode: string | null;
  partyId: string | null;
}

/** What the payment flow over OCPI keeps besides what tenants see (CONTRACT §7.6). Times are Unix ms. */
export interface OcpiRun {
  /** When START_SESSION is to be sent (again); null once sent for good. */
  startDueAt: number | null;
  startSends: number;
  startCommandId: string | null;
  /** START_SESSION's first send + OCPI_START_WINDOW_SECONDS: no Session by then cancels. */
  startWindowEndsAt: number | null;
  /** A result other than ACCEPTED + OCPI_RESULT_GRACE_SECONDS: no Session by then cancels. */
  resultGraceEndsAt: number | null;
  /** The 2.2.1 `timeout` the CPO gave with its answer, recorded only. */
  startTimeoutSeconds: number | null;
  /** A STOP_SESSION to send as soon as the CPO Session is known, and why. */
  stopWanted: OcpiStopReason | null;
  stopCommandId: string | null;
  /** The CPO party that owns the Session (STOP_SESSION goes to it). */
  sessionParty: OcpiParty | null;
  /** The correlation id of the CPO request that brought the Session, for a STOP_SESSION sent in answer. */
  correlationId: string | null;
  chargingAnnounced: boolean;
  completedAnnounced: boolean;
  /** COMPLETED + OCPI_CDR_WAIT_SECONDS: no CDR by then needs review. */
  cdrDueBy: number | null;
}

/** The calls to Spark that move or hold money (CONTRACT §8). */
export const OPERATION_KINDS = ["settle", "cancel", "remote_start", "external_settle", "external_cancel"] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** A call to Spark whose outcome is pending or unknown, as tenants see it. */
export interface OperationView {
  kind: OperationKind;
  amount: string | null;
  /** `pending` while the first request is in flight; `unknown` once its outcome could not be known. */
  state: "pending" | "unknown";
  since: string;
  /** Requests sent for it, the first included. */
  attempts: number;
  lastError: { code: number | null; description: string } | null;
}

/** What the gateway keeps of an operation to send it again identically and to answer repeats. */
export interface OperationRecord extends OperationView {
  id: string;
  /** The receipt exactly as first sent (settle), so a re-send is byte-identical. */
  receiptJson: string | null;
  idempotencyKey: string | null;
  /** CancelTransaction's reason, kept for identical re-sends. */
  reason: { code: number; text: string | null } | null;
  /** When the alarm sends it again (Unix ms); null when it is never re-sent (Remote Start) or in review. */
  nextAttemptAt: number | null;
  /** After this (Unix ms) an unanswered operation needs review. */
  deadlineAt: number;
}

/** One product line of an external settlement, decimals exactly as the tenant wrote them. */
export interface ProductLine {
  code: string;
  unitPrice: string;
  quantity: string;
}

/** An external settlement or cancellation as the tenant asked for it (CONTRACT §9), kept for identical re-sends. */
export interface ExternalRequest {
  nayaxTransactionId: number;
  siteId: number;
  terminal: { hwSerial: string } | { machineId: number };
  /** `yyyyMMddHHmmssSSS`, the device's local time of the authorization. */
  machineAuTime: string;
  /** The same, as `YYYY-MM-DDTHH:mm:ss.SSS` (local, no zone). */
  deviceTime: string;
  amount: string;
  receiptJson: string | null;
  products: ProductLine[];
  reasonCode: string | null;
  reasonText: string | null;
  /** What was asked, to tell an identical repeat from another request. */
  fingerprint: string;
}

/** The session object exactly as tenants see it (API and webhooks). */
export interface SessionView {
  id: string;
  flow: Flow;
  status: SessionStatus;
  nayaxTransactionId: number | null;
  siteId: number | null;
  stopSiteId: number | null;
  machineId: number | null;
  hwSerial: string | null;
  serviceStationNumber: string | null;
  authorizedAmount: string | null;
  settledAmount: string | null;
  currency: string | null;
  card: Card | null;
  deviceTime: string | null;
  verdict: { approved: boolean; message: string | null } | null;
  decline: { code: number | null; description: string | null } | null;
  settlement: Settlement | null;
  /** Remote Start: pre-authorization (settle later) or pre-selection (charged at once). */
  paymentMode: "pre_authorization" | "pre_selection";
  /** The last call to Spark that failed for this session, so a tenant can see why. */
  lastSparkError: SparkFailure | null;
  overdue: boolean;
  /** A call to Spark whose outcome is pending or unknown (§8); null when nothing is pending. */
  operation: OperationView | null;
  /** The tenant's decision endpoint's verdict (§5), when one was asked. */
  decision: DecisionView | null;
  /** The OCPI side of the session (§7.8); null when it is not OCPI-driven. */
  ocpi: OcpiView | null;
  /** Who closed a review (`POST …/resolve`), and their note. */
  resolvedBy: "tenant" | null;
  resolutionNote: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What the session object stores: the view plus what only the gateway needs. */
export interface SessionRecord extends Omit<SessionView, "operation"> {
  tenantId: string;
  /** Device time as Spark sent it (`yyyyMMddHHmmssSSS`), echoed on cancellation. */
  machineAuTime: string | null;
  /** Remote Start: how the terminal was addressed. */
  terminal: { hwSerial: string } | { machineId: number } | null;
  /** The settlement request that succeeded or was last tried, for idempotent repeats. */
  settleRequest: { amount: string; receiptJson: string | null } | null;
  authorizedAt: string | null;
  /** When an unsettled authorization gets flagged overdue (Unix ms). */
  overdueAt: number | null;
  /** The call to Spark in flight or in doubt, in full. */
  pending: OperationRecord | null;
  /** StartSession: the cipher answered, so a repeat gets the same one. */
  startCipher: string | null;
  /** Remote Start: when the session ends `timed_out` if Spark never called back (Unix ms). */
  expiresAt: number | null;
  /** External transactions: the request being (or last) sent. */
  external: ExternalRequest | null;
  /** OCPI-driven sessions: what the flow keeps besides `ocpi`. */
  ocpiRun: OcpiRun | null;
}

export function viewOf(record: SessionRecord): SessionView {
  const {
    tenantId: _t,
    machineAuTime: _m,
    terminal: _te,
    settleRequest: _s,
    authorizedAt: _a,
    overdueAt: _o,
    pending,
    startCipher: _c,
    expiresAt: _e,
    external: _x,
    ocpiRun: _r,
    ...view
  } = record;
  return { ...view, operation: pending ? operationView(pending) : null };
}

export function operationView(op: OperationRecord): OperationView {
  return { kind: op.kind, amount: op.amount, state: op.state, since: op.since, attempts: op.attempts, lastError: op.lastError };
}

/** An authorization as both Device Start (TransactionNotify) and Remote Start (TransactionCallback) report it. */
export interface Authorization {
  nayaxTransactionId: number;
  amount: string;
  siteId: number;
  machineId: number;
  hwSerial: string;
  serviceStationNumber: string | null;
  card: Card;
  deviceTime: string | null;
  machineAuTime: string | null;
}
