/**
 * Standard Webhooks v1 signing (https://www.standardwebhooks.com/), WebCrypto only so it runs
 * unchanged in Workers, Node and browsers.
 *
 * Only signs: the gateway never receives webhooks, so verification lives in the tests and in
 * `scripts/receiver.ts` (both through the reference `standardwebhooks` library).
 */

import { fromBase64, toBase64 } from "../lib/crypto";

/** Prefix of every webhook secret; Standard Webhooks libraries strip it before base64-decoding. */
export const WEBHOOK_SECRET_PREFIX = "whsec_";

/** 32 random bytes = 256 bits, the HMAC-SHA256 output size; inside the contract's 24–64 byte range. */
export const WEBHOOK_SECRET_BYTES = 32;

/** Sent on every delivery so receivers can recognise (and allow-list) the gateway; bump the suffix on breaking changes. */
export const WEBHOOK_USER_AGENT = "spark-gateway-webhooks/1";

/** Signature scheme version of Standard Webhooks; the only one defined for symmetric keys. */
const SIGNATURE_VERSION = "v1";

/** Input shared by {@link signWebhook} and {@link webhookHeaders}. */
export interface SignWebhookArgs {
  /** Event id (`evt_…`), identical on every retry so receivers can deduplicate. */
  id: string;
  /** Unix seconds of this attempt (not of the event), so replay windows stay meaningful on retries. */
  timestamp: number;
  /** The exact bytes that will be sent: sign the string you POST, never a re-serialisation. */
  body: string;
  /** Every live secret (`whsec_…`); several during a rotation's overlap, each yields one signature. */
  secrets: readonly string[];
}

/** A fresh webhook secret: `"whsec_" + base64(32 random bytes)` from the CSPRNG. */
export function generateWebhookSecret(): string {
  const bytes = new Uint8Array(WEBHOOK_SECRET_BYTES);
  crypto.getRandomValues(bytes);
  return WEBHOOK_SECRET_PREFIX + toBase64(bytes);
}

/**
 * The HMAC key inside a `whsec_…` secret.
 * @throws {Error} when the prefix is missing or the rest is not non-empty base64; a stored secret
 * that fails here is corrupt, and signing with garbage would only produce undeliverable webhooks.
 */
export function decodeWebhookSecret(secret: string): Uint8Array {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new Error(`webhook secret must start with "${WEBHOOK_SECRET_PREFIX}"`);
  }
  const key = fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length));
  if (key.length === 0) throw new Error("webhook secret is empty");
  return key;
}

async function hmacSha256Base64(key: Uint8Array, message: Uint8Array): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, message)));
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`
 * per secret, space-separated, in the order given.
 * @throws {Error} when `secrets` is empty, a secret is malformed, or `timestamp` is not an integer
 * (all programming errors: an unsigned or unverifiable webhook must never go out).
 */
export async function signWebhook(args: SignWebhookArgs): Promise<string> {
  const { id, timestamp, body, secrets } = args;
  if (secrets.length === 0) throw new Error("at least one webhook secret is required");
  if (!Number.isSafeInteger(timestamp)) throw new Error("webhook timestamp must be integer Unix seconds");
  const message = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  const signatures = await Promise.all(
    secrets.map(async (secret) => `${SIGNATURE_VERSION},${await hmacSha256Base64(decodeWebhookSecret(secret), message)}`),
  );
  return signatures.join(" ");
}

/**
 * Every header of one delivery attempt: the three Standard Webhooks headers plus
 * `content-type` and `user-agent`.
 * @throws {Error} as {@link signWebhook}.
 */
export async function webhookHeaders(args: SignWebhookArgs): Promise<Record<string, string>> {
  return {
    "webhook-id": args.id,
    "webhook-timestamp": String(args.timestamp),
    "webhook-signature": await signWebhook(args),
    "content-type": "application/json",
    "user-agent": WEBHOOK_USER_AGENT,
  };
}
