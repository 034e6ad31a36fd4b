/**
 * Spark authentication v2 hashes (spark-api.md §1.6, §2.1). WebCrypto only, so the same code
 * runs in Workers, Node and the simulator.
 */

const encoder = new TextEncoder();

/** Lowercase hex SHA-256 of the UTF-8 bytes of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

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

/**
 * Compares two strings without an early exit, so the time taken does not reveal how long a
 * matching prefix was (for signatures and shared secrets). Lengths are not secret here: every
 * compared value has a fixed, public length.
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

/** {@link timingSafeEqualString} for hex digests, ignoring letter case (`AB` equals `ab`). */
export function timingSafeEqualHex(a: string, b: string): boolean {
  return timingSafeEqualString(a.toLowerCase(), b.toLowerCase());
}
