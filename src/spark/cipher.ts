/**
 * The StartAuthentication / StartSession cipher (spark-api.md §2.1, §2.6):
 * `Base64(AES-256-ECB-PKCS7(SparkTransactionId + "=" + Random + UTC yyMMddHHmm))`, keyed with the
 * rightmost 32 characters of the integrator's secret token.
 *
 * ECB is Nayax's choice, not ours: the plaintext is fresh per transaction (new GUID, new random,
 * the minute), so ECB's block-repetition leak reveals nothing useful here.
 */
import { ecb } from "@noble/ciphers/aes.js";
import { fromBase64, toBase64 } from "../lib/crypto";
import { cipherTime } from "./time";

/** Length of `Random`: Spark's documented 17-character random (plaintext positions 38–54). */
export const RANDOM_LENGTH = 17;

/** AES-256 key length in bytes; Spark takes it as the token's rightmost 32 ASCII characters. */
export const CIPHER_KEY_LENGTH = 32;

/** A SparkTransactionId is a hyphenated GUID: 36 characters (plaintext positions 1–36). */
const GUID_LENGTH = 36;

/** Length of the cipher timestamp `yyMMddHHmm` (plaintext positions 55–64). */
const TIMESTAMP_LENGTH = 10;

/** The prose says "alphanumeric"; Nayax's C# sample uses digits only, a subset of this. */
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Largest multiple of 62 below 256: bytes at or above it are rejected so every character is equally likely. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % ALPHANUMERIC.length);

const encoder = new TextEncoder();

/** A fresh 17-character alphanumeric `Random` from the CSPRNG, without modulo bias. */
export function generateRandom(): string {
  let out = "";
  const bytes = new Uint8Array(RANDOM_LENGTH * 2);
  while (out.length < RANDOM_LENGTH) {
    crypto.getRandomValues(bytes);
    for (const byte of bytes) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
      if (out.length === RANDOM_LENGTH) break;
    }
  }
  return out;
}

/**
 * The AES-256 key: the rightmost 32 characters of the secret token as ASCII bytes.
 * @throws {Error} when the token is shorter than 32 characters or its key part is not ASCII
 * (Spark's tokens are; anything else means a mistyped credential, better caught at once).
 */
export function cipherKey(secretToken: string): Uint8Array {
  if (secretToken.length < CIPHER_KEY_LENGTH) {
    throw new Error(`Spark secret token must be at least ${CIPHER_KEY_LENGTH} characters (got ${secretToken.length})`);
  }
  const tail = secretToken.slice(-CIPHER_KEY_LENGTH);
  const key = new Uint8Array(CIPHER_KEY_LENGTH);
  for (let i = 0; i < CIPHER_KEY_LENGTH; i++) {
    const code = tail.charCodeAt(i);
    if (code > 0x7f) throw new Error("Spark secret token must be ASCII in its last 32 characters");
    key[i] = code;
  }
  return key;
}

/** Input of {@link buildCipher}. */
export interface BuildCipherArgs {
  /** The 36-character GUID, exactly as it is sent in the body. */
  sparkTransactionId: string;
  /** The `Random` sent beside the cipher (StartAuthentication) or received from Spark (StartSession). */
  random: string;
  secretToken: string;
  /** Clock for the timestamp; defaults to now. Spark refuses ciphers older than 5 minutes. */
  now?: Date;
}

/**
 * Builds the cipher: `Base64(AES-256-ECB-PKCS7(id "=" random yyMMddHHmm))`.
 * The documented layout is exactly 64 characters (→ 80 bytes of ciphertext).
 * @throws {Error} on a malformed id or random, or a short token: a wrong layout would only earn
 * an opaque "Decryption Failure" from Spark.
 */
export function buildCipher({ sparkTransactionId, random, secretToken, now = new Date() }: BuildCipherArgs): string {
  if (sparkTransactionId.length !== GUID_LENGTH) {
    throw new Error(`SparkTransactionId must be a ${GUID_LENGTH}-character GUID`);
  }
  if (random.length !== RANDOM_LENGTH || random.includes("=")) {
    throw new Error(`Random must be ${RANDOM_LENGTH} characters without "="`);
  }
  const plaintext = `${sparkTransactionId}=${random}${cipherTime(now)}`;
  return toBase64(ecb(cipherKey(secretToken)).encrypt(encoder.encode(plaintext)));
}

/** What a cipher carries, as read by {@link openCipher}. */
export interface OpenedCipher {
  sparkTransactionId: string;
  random: string;
  /** `yyMMddHHmm` (UTC), or null when the cipher has none (Nayax's C# sample omits it). */
  timestamp: string | null;
}

/**
 * Decrypts and splits a cipher (the simulator's and the tests' side of {@link buildCipher}).
 * Returns null when it does not decrypt under this token (bad Base64, bad padding, not UTF-8)
 * or is not laid out as Spark documents (`=` at position 37, 17-character random, optional
 * 10-digit timestamp) — Spark's "Decryption Failure".
 */
export function openCipher(cipher: string, secretToken: string): OpenedCipher | null {
  let plaintext: string;
  try {
    const bytes = fromBase64(cipher);
    plaintext = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(ecb(cipherKey(secretToken)).decrypt(bytes));
  } catch {
    return null;
  }
  if (plaintext.charAt(GUID_LENGTH) !== "=") return null;
  const rest = plaintext.slice(GUID_LENGTH + 1);
  const random = rest.slice(0, RANDOM_LENGTH);
  const timestamp = rest.slice(RANDOM_LENGTH);
  if (random.length !== RANDOM_LENGTH) return null;
  if (timestamp !== "" && !new RegExp(`^\\d{${TIMESTAMP_LENGTH}}$`).test(timestamp)) return null;
  return { sparkTransactionId: plaintext.slice(0, GUID_LENGTH), random, timestamp: timestamp === "" ? null : timestamp };
}

/**
 * Reads a cipher timestamp `yyMMddHHmm` as a UTC instant (years 2000–2099), or null when it is
 * not a real date and time. Used to enforce Spark's 5-minute freshness rule.
 */
export function cipherTimestampToDate(timestamp: string): Date | null {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(timestamp);
  if (!m) return null;
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(2000 + year, month - 1, day, hour, minute));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59) return null;
  return date;
}

