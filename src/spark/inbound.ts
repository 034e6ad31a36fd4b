/**
 * Spark's callbacks, read into the gateway's own camelCase terms. Nothing past this file sees
 * Spark's PascalCase: the route gets a {@link SparkCallback} or a description of what is wrong.
 */
import { formatMoney } from "../lib/money";
import type { Authorization } from "../sessions/model";
import { describeIssues, inboundSchemas } from "./messages";
import type { Inbound, InboundMethod } from "./messages";

/** A terminal as a callback names it, with the station when the device has several. */
export interface CallbackTerminal {
  siteId: number;
  machineId: number;
  hwSerial: string;
  serviceStationNumber: string | null;
}

/** Every callback Spark sends, in camelCase. */
export type SparkCallback =
  | { method: "TransactionNotify"; sessionId: string; terminal: CallbackTerminal; authorization: Authorization }
  | {
      method: "StopCallback";
      /** Spark matched these, when it could. */
      sessionId: string | null;
      nayaxTransactionId: number | null;
      cardHash: string;
      stopSiteId: number;
      machineId: number;
      hwSerial: string;
      serviceStationNumber: string | null;
    }
  | { method: "StopNotify"; cardHash: string; stopSiteId: number; machineId: number; hwSerial: string; serviceStationNumber: string | null }
  | {
      method: "TransactionCallback";
      sessionId: string;
      approved: boolean;
      authorization: Authorization | null;
      currency: string | null;
      decline: { code: number | null; description: string | null } | null;
    }
  | { method: "DeclineCallback"; sessionId: string; decline: { code: number | null; description: string | null } }
  | { method: "TimeoutCallback"; sessionId: string }
  | { method: "StartSession"; tokenId: number; random: string; hwSerial: string; machineId: number }
  | { method: "InfoQuery" | "AvailabilityCheck"; sessionId: string | null; terminal: CallbackTerminal };

export type CallbackMethod = InboundMethod;

export function isCallbackMethod(name: string): name is CallbackMethod {
  return Object.hasOwn(inboundSchemas, name);
}

/** Validates a parsed body for `method`: the callback, or what is wrong with it, naming the field. */
export function readCallback(method: CallbackMethod, json: unknown): { ok: true; callback: SparkCallback } | { ok: false; description: string } {
  const parsed = inboundSchemas[method].safeParse(json);
  if (!parsed.success) return { ok: false, description: describeIssues(parsed.error) };
  return { ok: true, callback: toCallback(method, parsed.data as Inbound<typeof method>) };
}

function toCallback(method: CallbackMethod, msg: Inbound<CallbackMethod>): SparkCallback {
  switch (method) {
    case "TransactionNotify": {
      const m = msg as Inbound<"TransactionNotify">;
      return { method, sessionId: m.SparkTransactionId, terminal: terminalOf(m), authorization: notifyAuthorization(m) };
    }
    case "StopCallback": {
      const m = msg as Inbound<"StopCallback">;
      return {
        method,
        sessionId: m.SparkTransactionId ?? null,
        nayaxTransactionId: m.NayaxTransactionId ?? null,
        cardHash: m.CardHash.toLowerCase(),
        stopSiteId: m.StopSiteId,
        machineId: m.MachineId,
        hwSerial: m.HwSerial,
        serviceStationNumber: m.ServiceStationNumber ?? null,
      };
    }
    case "StopNotify": {
      const m = msg as Inbound<"StopNotify">;
      return { method, cardHash: m.CardHash.toLowerCase(), stopSiteId: m.StopSiteId, machineId: m.MachineId, hwSerial: m.HwSerial, serviceStationNumber: m.ServiceStationNumber ?? null };
    }
    case "TransactionCallback":
      return { method, ...callbackResult(msg as Inbound<"TransactionCallback">) };
    case "DeclineCallback": {
      const m = msg as Inbound<"DeclineCallback">;
      return { method, sessionId: m.SparkTransactionId, decline: { code: m.Status.ErrorCode, description: m.Status.ErrorDescription ?? null } };
    }
    case "TimeoutCallback":
      return { method, sessionId: (msg as Inbound<"TimeoutCallback">).SparkTransactionId };
    case "StartSession": {
      const m = msg as Inbound<"StartSession">;
      return { method, tokenId: m.TokenId, random: m.Random, hwSerial: m.HwSerial, machineId: m.MachineId };
    }
    case "InfoQuery":
    case "AvailabilityCheck": {
      const m = msg as Inbound<"InfoQuery">;
      return { method, sessionId: m.SparkTransactionId ?? null, terminal: terminalOf(m) };
    }
  }
}

function terminalOf(m: { SiteId: number; MachineId: number; HwSerial: string; ServiceStationNumber?: string | null | undefined }): CallbackTerminal {
  return { siteId: m.SiteId, machineId: m.MachineId, hwSerial: m.HwSerial, serviceStationNumber: m.ServiceStationNumber ?? null };
}

/** TransactionNotify → the authorization it reports. */
export function notifyAuthorization(msg: Inbound<"TransactionNotify">): Authorization {
  return {
    nayaxTransactionId: msg.NayaxTransactionId,
    amount: formatMoney(msg.Amount),
    siteId: msg.SiteId,
    machineId: msg.MachineId,
    hwSerial: msg.HwSerial,
    serviceStationNumber: msg.ServiceStationNumber ?? null,
    card: { last4: msg.CardLast4Digits, hash: msg.CardHash.toLowerCase(), uid: msg.CardUid ?? null },
    deviceTime: msg.MachineAuTime,
    machineAuTime: msg.MachineAuTime.replace(/[-T:.]/g, ""),
  };
}

/** TransactionCallback → its verdict, the authorization when there is one, and the currency. */
export function callbackResult(msg: Inbound<"TransactionCallback">) {
  const approved = msg.AuthStatus.Verdict.trim() === "Approved";
  const authorization: Authorization | null =
    msg.NayaxTransactionId != null && msg.SiteId != null && msg.Amount != null
      ? {
          nayaxTransactionId: msg.NayaxTransactionId,
          amount: formatMoney(msg.Amount),
          siteId: msg.SiteId,
          machineId: msg.MachineId,
          hwSerial: msg.HwSerial,
          serviceStationNumber: null,
          card: { last4: msg.CardLast4Digits ?? null, hash: msg.CardHash?.toLowerCase() ?? null, uid: msg.CardUid ?? null },
          deviceTime: msg.MachineAuTime ?? null,
          machineAuTime: msg.MachineAuTime ? msg.MachineAuTime.replace(/[-T:.]/g, "") : null,
        }
      : null;
  return {
    sessionId: msg.SparkTransactionId,
    approved,
    authorization,
    currency: msg.CurrencyCode ?? null,
    decline: approved ? null : { code: msg.AuthStatus.ErrorCode ?? null, description: msg.AuthStatus.ErrorDescription ?? msg.AuthStatus.Verdict },
  };
}
