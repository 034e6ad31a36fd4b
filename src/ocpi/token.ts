/**
 * Credentials tokens in the `Authorization` header (CONTRACT §7.2): `Token <token>`, Base64
 * (RFC 4648, padded) on 2.2.1 and as is on 2.1.1 unless a connection forces one form; inbound,
 * either form is accepted.
 */
import type { OcpiVersion } from "./model";

/** How a token is written in the header. */
export type TokenEncoding = "base64" | "plain";

/** Printable ASCII without spaces: what a credentials token may contain. */
const TOKEN_TEXT = /^[\x21-\x7e]+$/;

/** Whether `text` can be a credentials token. */
export function isTokenText(text: string): boolean {
  return TOKEN_TEXT.test(text);
}

/** The encoding a connection uses: its override, else Base64 on 2.2.1 and plain on 2.1.1. */
export function encodingFor(version: OcpiVersion, override: TokenEncoding | null): TokenEncoding {
  return override ?? (version === "2.2.1" ? "base64" : "plain");
}

/** The `Authorization` header value for a token. */
export function authorizationHeader(token: string, encoding: TokenEncoding): string {
  return `Token ${encoding === "base64" ? btoa(token) : token}`;
}

/**
 * The tokens an `Authorization` header may carry: the value as is and, when it is valid Base64
 * of printable ASCII, its decoding. Empty when the header is missing or not `Token …`.
 */
export function tokenCandidates(header: string | undefined | null): string[] {
  const match = /^Token[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  const value = match?.[1];
  if (!value || !isTokenText(value)) return [];
  const candidates = [value];
  const decoded = decodeBase64Token(value);
  if (decoded !== null && decoded !== value) candidates.push(decoded);
  return candidates;
}

function decodeBase64Token(value: string): string | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
  // Padding is what the specification asks for; some peers leave it out, which is read the same.
  const bare = value.replace(/=+$/, "");
  if (bare.length % 4 === 1) return null;
  let decoded: string;
  try {
    decoded = atob(bare.padEnd(bare.length + ((4 - (bare.length % 4)) % 4), "="));
  } catch {
    return null;
  }
  return isTokenText(decoded) ? decoded : null;
}
