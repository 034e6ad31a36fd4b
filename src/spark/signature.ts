/**
 * Spark authentication v2 hashes (spark-api.md §1.6, §2.1). WebCrypto only, so the same code
 * runs in Workers, Node and the simulator.
 */

import { sha256Hex, timingSafeEqualText } from "../lib/crypto";

/**
 * The `TransactionSignature` header of authentication v2:
 * lowercase hex SHA-256 of `SparkTransactionId + ";" + SignKey`.
 * It covers neither body nor time, so it is a per-transaction bearer value; TLS protects it.
 */
export function transactionSignature(sparkTransactionId: string, signKey: string): Promise<string> {
  return sha256Hex(`${sparkTransactionId};${signKey}`);
}

/**
 * What StartAuthentication answers as `HashedSparkTransactionId`: lowercase hex SHA-256 of the
 * GUID exactly as sent. The integrator recomputes it to authenticate Spark's answer.
 */
export function hashSparkTransactionId(sparkTransactionId: string): Promise<string> {
  return sha256Hex(sparkTransactionId);
}

/** A constant-time comparison of hex digests, ignoring letter case (`AB` equals `ab`). */
export function timingSafeEqualHex(a: string, b: string): boolean {
  return timingSafeEqualText(a.toLowerCase(), b.toLowerCase());
}
