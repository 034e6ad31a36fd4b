/** Small WebCrypto helpers: hashing, random tokens, constant-time comparison, sealing at rest. */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Decodes standard base64; throws `Error("invalid base64")` on anything else. */
export function fromBase64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new Error("invalid base64");
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Lowercase hex SHA-256 of a UTF-8 string (Workers and Node alike). */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** `prefix` + base64url of `bytes` random bytes. */
export function randomToken(prefix: string, bytes = 32): string {
  return prefix + toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A short random id such as `ten_3kq…`, 16 random bytes. */
export function randomId(prefix: string): string {
  return randomToken(prefix, 16);
}

/**
 * Compares two strings without an early exit, so the time taken does not reveal how long a
 * matching prefix was. Plain JavaScript, so it runs in Node (the simulator) as in Workers.
 */
export function timingSafeEqualText(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}

/** Seals and opens secrets at rest with AES-256-GCM under the Worker secret `ENCRYPTION_KEY`. */
export class Sealer {
  private key: Promise<CryptoKey>;

  constructor(base64Key: string) {
    const raw = fromBase64(base64Key.trim());
    if (raw.byteLength !== 32) throw new Error("ENCRYPTION_KEY must be 32 bytes, base64-encoded");
    this.key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  }

  /** `v1.<iv>.<ciphertext>`, both base64. */
  async seal(plaintext: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await this.key, encoder.encode(plaintext));
    return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
  }

  async open(sealed: string): Promise<string> {
    const [version, iv, data] = sealed.split(".");
    if (version !== "v1" || !iv || !data) throw new Error("unknown sealed format");
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv) }, await this.key, fromBase64(data));
    return decoder.decode(plain);
  }
}

const sealers = new Map<string, Sealer>();

/** One {@link Sealer} per key per isolate, so the key is imported once. */
export function sealerFor(base64Key: string | undefined): Sealer {
  if (!base64Key) throw new Error("ENCRYPTION_KEY is not set");
  let sealer = sealers.get(base64Key);
  if (!sealer) {
    sealer = new Sealer(base64Key);
    sealers.set(base64Key, sealer);
  }
  return sealer;
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/** HMAC-SHA256 of `message` under a key derived from `secret` (keys cached per isolate). */
export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(secret, key);
  }
  return new Uint8Array(await crypto.subtle.sign("HMAC", await key, encoder.encode(message)));
}
