/** Spark's callbacks, read into the gateway's own camelCase terms. */
import { formatMoney } from "../lib/money";
import type { Authorization } from "../sessions/model";
import type { Inbound } from "./messages";

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
    approved,
    authorization,
    currency: msg.CurrencyCode ?? null,
    decline: approved ? null : { code: msg.AuthStatus.ErrorCode ?? null, description: msg.AuthStatus.ErrorDescription ?? msg.AuthStatus.Verdict },
  };
}
