/**
 * Sends a session's pending operation to Spark and reads the answer as one of §8's outcomes:
 * approved, declined (Spark refused), unknown (the request may have reached Spark: a timeout, a
 * lost connection, a 5xx without Spark's body, an answer that cannot be read), or not sent.
 */
import { database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { formatMoney, moneyOf } from "../lib/money";
import { SPARK_TIMEOUT_MS, SparkClient, SparkError } from "../spark/client";
import type { Terminal } from "../spark/client";
import { deviceTimeOf } from "../spark/time";
import { sparkCredentials } from "../tenants/service";
import type { OperationRecord, SessionRecord, SparkFailure } from "./model";
import type { Outcome } from "./rules";

/** Spark's "Already Cancelled": the hold is gone, which is what a cancel asks for. */
const ALREADY_CANCELLED = 28;

/** What Remote Start sends besides the operation itself. */
export interface RemoteStartRequest {
  timeoutSeconds: number;
  display: string | null;
}

/** A client for the tenant's Spark account, credentials opened just for this call. */
export async function sparkClientFor(env: Env, tenantId: string): Promise<SparkClient> {
  const credentials = await sparkCredentials(database(env.DB), sealerFor(env.ENCRYPTION_KEY), tenantId);
  return new SparkClient(credentials, { timeoutMs: sparkTimeoutMs(env) });
}

/** `SPARK_TIMEOUT_MS` when it is a positive whole number of milliseconds, else {@link SPARK_TIMEOUT_MS}. */
export function sparkTimeoutMs(env: Env): number {
  const configured = Number(env.SPARK_TIMEOUT_MS);
  // A typo must not turn the deadline off (NaN) or into zero: fall back to the default.
  return Number.isSafeInteger(configured) && configured > 0 ? configured : SPARK_TIMEOUT_MS;
}

/**
 * Sends `op` for `record` and classifies what came back. Never throws. Re-sends build the very
 * same request: the amount, receipt and reason come from the operation as first recorded.
 */
export async function sendOperation(env: Env, record: SessionRecord, op: OperationRecord, remote?: RemoteStartRequest): Promise<Outcome> {
  const method = methodOf(op);
  let spark: SparkClient;
  try {
    spark = await sparkClientFor(env, record.tenantId);
  } catch (error) {
    return { kind: "not_sent", failure: failureOf(error, method) };
  }
  try {
    switch (op.kind) {
      case "settle": {
        const answer = await spark.settle({
          sparkTransactionId: record.id,
          nayaxTransactionId: record.nayaxTransactionId!,
          siteId: record.siteId!,
          terminal: authorizedTerminal(record),
          amount: moneyOf(op.amount!),
          receipt: op.receiptJson === null ? null : (JSON.parse(op.receiptJson) as Record<string, unknown>),
        });
        return {
          kind: "approved",
          settlement: {
            amount: answer.amount === null ? null : formatMoney(answer.amount),
            currency: answer.currencyCode,
            currencyNumeric: answer.currencyNumeric,
            authCode: answer.authCode,
            nayaxRrn: answer.nayaxRrn,
            fiscalRrn: answer.fiscalRrn,
            settledAt: answer.settledAt,
          },
        };
      }
      case "cancel": {
        const answer = await spark.cancel({
          sparkTransactionId: record.id,
          nayaxTransactionId: record.nayaxTransactionId!,
          siteId: record.siteId!,
          terminal: authorizedTerminal(record),
          machineAuTime: record.machineAuTime ?? deviceTimeOf(new Date(Date.parse(record.createdAt))),
          type: record.paymentMode === "pre_selection" ? 2 : 1,
          amount: moneyOf(op.amount ?? "0"),
          reasonCode: op.reason?.code ?? 0,
          ...(op.reason?.text != null ? { reasonText: op.reason.text } : {}),
        });
        return { kind: "approved", currency: answer.currencyCode };
      }
      case "remote_start": {
        // StartAuthentication binds the id; without it nothing can hold money, so any failure of it is final.
        try {
          await spark.startAuthentication({ sparkTransactionId: record.id, terminal: record.terminal! });
        } catch (error) {
          const failure = failureOf(error, "StartAuthentication");
          return error instanceof SparkError || error instanceof RangeError ? { kind: "declined", failure } : { kind: "not_sent", failure };
        }
        await spark.triggerTransaction({
          sparkTransactionId: record.id,
          terminal: record.terminal!,
          amount: moneyOf(op.amount!),
          timeoutSeconds: remote?.timeoutSeconds ?? 60,
          ...(remote?.display != null ? { display: remote.display } : {}),
        });
        return { kind: "approved" };
      }
      case "external_settle":
      case "external_cancel": {
        const request = record.external!;
        // StartAuthentication first, on every attempt: it binds the id to the terminal and moves no money.
        try {
          await spark.startAuthentication({ sparkTransactionId: record.id, terminal: request.terminal });
        } catch (error) {
          const failure = failureOf(error, "StartAuthentication");
          return error instanceof SparkError ? classify(error, "StartAuthentication") : { kind: "not_sent", failure };
        }
        const common = {
          sparkTransactionId: record.id,
          nayaxTransactionId: request.nayaxTransactionId,
          siteId: request.siteId,
          terminal: request.terminal,
          machineAuTime: request.machineAuTime,
          amount: moneyOf(request.amount),
        };
        if (op.kind === "external_cancel") {
          const answer = await spark.externalCancel({ ...common, reasonCode: request.reasonCode, reasonText: request.reasonText });
          return { kind: "approved", settlement: { amount: null, currency: null, currencyNumeric: null, authCode: answer.authCode, nayaxRrn: null, fiscalRrn: null, settledAt: null } };
        }
        const answer = await spark.externalSettle({
          ...common,
          receipt: request.receiptJson === null ? null : (JSON.parse(request.receiptJson) as Record<string, unknown>),
          products: request.products,
        });
        return {
          kind: "approved",
          settlement: { amount: answer.amount === null ? null : formatMoney(answer.amount), currency: null, currencyNumeric: null, authCode: answer.authCode, nayaxRrn: null, fiscalRrn: null, settledAt: new Date().toISOString() },
        };
      }
    }
  } catch (error) {
    if (op.kind === "cancel" && error instanceof SparkError && error.kind === "declined" && error.code === ALREADY_CANCELLED) {
      return { kind: "approved", currency: null };
    }
    return classify(error, method);
  }
}

/** §8's three outcomes, from what a Spark call threw. */
export function classify(error: unknown, method: string): Outcome {
  const failure = failureOf(error, method);
  if (!(error instanceof SparkError)) return { kind: "not_sent", failure };
  switch (error.kind) {
    case "declined":
    case "unauthorized":
      return { kind: "declined", failure };
    case "timeout":
      return { kind: "unknown", failure };
    case "unreachable":
      // DNS, a refused connection, a failed TLS handshake: nothing reached Spark, so nothing can have moved.
      return error.notSent ? { kind: "not_sent", failure } : { kind: "unknown", failure };
    case "bad_response": {
      if (error.notSent) return { kind: "not_sent", failure };
      // Spark's own refusal code, or a 4xx, is a refusal; a 5xx without Spark's verdict, or a 2xx we cannot read, may hide an approval.
      const refused = error.code !== null || (error.httpStatus !== null && error.httpStatus >= 400 && error.httpStatus < 500);
      return refused ? { kind: "declined", failure } : { kind: "unknown", failure };
    }
  }
}

/** A failed Spark call as the session records it. */
export function failureOf(error: unknown, method: string, at = new Date()): SparkFailure {
  if (error instanceof SparkError) return { method: error.method, code: error.code, description: error.description, at: at.toISOString() };
  return { method, code: null, description: error instanceof Error ? error.message : String(error), at: at.toISOString() };
}

function methodOf(op: OperationRecord): string {
  return { settle: "Settlement", cancel: "CancelTransaction", remote_start: "TriggerTransaction", external_settle: "ExternalSettlement", external_cancel: "ExternalCancel" }[op.kind];
}

/**
 * The terminal Settlement and CancelTransaction name: the HwSerial the authorization came from
 * (TerminalIdType 1, as the contract fixes), even when Remote Start addressed the terminal by
 * machine id; that address is the fallback only while no HwSerial is known.
 */
function authorizedTerminal(record: SessionRecord): Terminal {
  if (record.hwSerial) return { hwSerial: record.hwSerial };
  return record.terminal ?? { machineId: record.machineId ?? 0 };
}
