/** Session ids the gateway chooses. */
import { hmacSha256, toHex } from "../lib/crypto";

/**
 * The SparkTransactionId a StartSession gets: derived from the tenant, its TokenId and Spark's
 * `Random`, so that a repeat of the same StartSession finds the same session object and its
 * first answer, with no lookup on the way. Keyed with the gateway's secret, so nobody outside
 * can predict it. Formatted as a GUID (version 8, "custom", RFC 9562).
 */
export function startSessionId(secret: string, tenantId: string, tokenId: number, random: string): Promise<string> {
  return derivedGuid(secret, `start-session:${tenantId}:${tokenId}:${random}`);
}

/** A GUID (version 8) from HMAC-SHA256 of `name` under `secret`. */
async function derivedGuid(secret: string, name: string): Promise<string> {
  const bytes = (await hmacSha256(secret, name)).slice(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The SparkTransactionId of an external transaction (CONTRACT §9): derived from the tenant and the
 * NayaxTransactionId, so every request about that transaction reaches the same session object,
 * which serializes them and knows whether it was already settled or cancelled.
 */
export function externalSessionId(secret: string, tenantId: string, nayaxTransactionId: number): Promise<string> {
  return derivedGuid(secret, `external:${tenantId}:${nayaxTransactionId}`);
}
