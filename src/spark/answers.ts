/** The gateway's answers to Spark, built from its own session state into Spark's shapes. */
import { moneyLiteral, moneyOf } from "../lib/money";
import type { SessionRecord } from "../sessions/model";
import type {
  AckAnswer,
  InfoQueryAnswer,
  StatusOut,
  StopCallbackAnswer,
  StopNotifyAnswer,
  TransactionNotifyAnswer,
} from "./messages";

export const approved = (message?: string): StatusOut =>
  message === undefined ? { Verdict: "Approved", ErrorDescription: "No Errors" } : { Verdict: "Approved", StatusMessage: message };
export const declined = (message: string): StatusOut => ({ Verdict: "Declined", StatusMessage: message, ErrorDescription: message });

/** The error body every refused Spark request carries. */
export function sparkError(description: string): { Status: StatusOut } {
  return { Status: { Verdict: "Declined", ErrorDescription: description } };
}

export function transactionNotifyAnswer(session: SessionRecord, ok: boolean, message: string): TransactionNotifyAnswer {
  return {
    NayaxTransactionId: session.nayaxTransactionId ?? 0,
    SparkTransactionId: session.id,
    HwSerial: session.hwSerial ?? "",
    MachineId: session.machineId ?? 0,
    SiteId: session.siteId ?? 0,
    ServiceStationNumber: session.serviceStationNumber,
    Status: ok ? { Verdict: "Approved", StatusMessage: message } : { Verdict: "Declined", StatusMessage: message },
  };
}

export function stopCallbackAnswer(session: SessionRecord | null, ok: boolean, message: string): StopCallbackAnswer {
  return {
    Status: ok ? approved() : declined(message),
    SparkTransactionId: session?.id ?? null,
    ServiceStationNumber: session?.serviceStationNumber ?? null,
  };
}

export function stopNotifyAnswer(
  request: { stopSiteId: number; machineId: number; hwSerial: string },
  session: SessionRecord | null,
  ok: boolean,
  message: string,
): StopNotifyAnswer {
  return {
    SparkTransactionId: ok ? (session?.id ?? null) : null,
    NayaxTransactionId: ok ? (session?.nayaxTransactionId ?? null) : null,
    SiteId: ok ? (session?.siteId ?? null) : null,
    StopSiteId: request.stopSiteId,
    MachineId: request.machineId,
    HwSerial: request.hwSerial,
    MachineAuTime: ok ? (session?.machineAuTime ?? null) : null,
    Status: ok ? approved() : declined(message),
  };
}

/** StartSession's answer: the cipher and the session it names. */
export function startSessionAnswer(cipher: string, sparkTransactionId: string) {
  return { Cipher: cipher, SparkTransactionId: sparkTransactionId, Status: { Verdict: "Approved", ErrorDescription: "No Errors" } };
}

export function ackAnswer(sparkTransactionId: string): AckAnswer {
  return { SparkTransactionId: sparkTransactionId, Status: approved() };
}

const AVAILABILITY = { available: 1, busy: 2, out_of_service: 3 } as const;
const AVAILABILITY_MESSAGE = {
  available: "Charger is available for charging",
  busy: "Charger is busy",
  out_of_service: "Charger is out of service",
} as const;

export function infoQueryAnswer(
  request: { sparkTransactionId: string | null; hwSerial: string; machineId: number; serviceStationNumber: string | null; siteId: number },
  station: { availability: keyof typeof AVAILABILITY; display: string | null; amount: string },
): InfoQueryAnswer {
  return {
    SparkTransactionId: request.sparkTransactionId,
    HwSerial: request.hwSerial,
    MachineId: request.machineId,
    ServiceStationNumber: request.serviceStationNumber,
    SiteId: request.siteId,
    ServiceStationAvailability: AVAILABILITY[station.availability],
    ...(station.display !== null ? { PosDisplay: station.display } : {}),
    Amount: JSON.rawJSON(moneyLiteral(moneyOf(station.amount))),
    Status: { Verdict: "Approved", StatusMessage: AVAILABILITY_MESSAGE[station.availability] },
  };
}

/** What the per-callback log line says of an answer: the session it names and its verdict. */
export function answerSummary(answer: object): { sessionId: string | null; verdict: string | null } {
  const a = answer as { SparkTransactionId?: string | null; Status?: { Verdict?: string } };
  return { sessionId: a.SparkTransactionId ?? null, verdict: a.Status?.Verdict ?? null };
}
