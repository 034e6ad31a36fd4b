/** The session as the gateway keeps it, and the commands that move it. camelCase only. */

export const SESSION_STATUSES = [
  "awaiting_card",
  "authorized",
  "declined",
  "stop_requested",
  "settled",
  "cancelled",
  "timed_out",
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export type Flow = "device_start" | "remote_start";

/** Statuses in which money is held and the session can still be settled or cancelled. */
export const OPEN_STATUSES: readonly SessionStatus[] = ["authorized", "stop_requested"];
/** Statuses after which nothing more happens. */
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
  createdAt: string;
  updatedAt: string;
}

/** What the session object stores: the view plus what only the gateway needs. */
export interface SessionRecord extends SessionView {
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
}

export function viewOf(record: SessionRecord): SessionView {
  const { tenantId: _t, machineAuTime: _m, terminal: _te, settleRequest: _s, authorizedAt: _a, overdueAt: _o, ...view } = record;
  return view;
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

/** Device Start: TransactionNotify, with what the route knows about the station. */
export interface NotifyCommand {
  tenantId: string;
  sessionId: string;
  authorization: Authorization;
  /** The tenant's marking of the station, when it pushed one. */
  stationAvailability: "available" | "busy" | "out_of_service" | null;
}

/** StopCallback / StopNotify, after the route found the session. */
export interface StopCommand {
  tenantId: string;
  via: "StopCallback" | "StopNotify";
  cardHash: string | null;
  stopSiteId: number;
  machineId: number;
  hwSerial: string;
  serviceStationNumber: string | null;
}

/** The result of a Spark callback handed to a session object. */
export type CallbackResult<T> =
  | { kind: "ok"; answer: T }
  | { kind: "not_found" }
  | { kind: "wrong_tenant" }
  | { kind: "conflict"; message: string };

/** A tenant request that calls Spark, answered as an HTTP status and, on success, the session. */
export type OperationResult =
  | { kind: "ok"; status: 200 | 201; session: SessionView }
  | { kind: "error"; status: 404 | 409 | 422 | 502; code: string; message: string; spark?: { code: number | null; description: string } };

export interface SettleCommand {
  tenantId: string;
  amount: string;
  receipt: Record<string, unknown> | null;
  idempotencyKey: string | null;
}

export interface CancelCommand {
  tenantId: string;
  reasonCode: number;
  reasonText: string | null;
  idempotencyKey: string | null;
}

export interface RemoteStartCommand {
  tenantId: string;
  sessionId: string;
  terminal: { hwSerial: string } | { machineId: number };
  amount: string;
  timeoutSeconds: number;
  display: string | null;
  paymentMode: "pre_authorization" | "pre_selection";
}
