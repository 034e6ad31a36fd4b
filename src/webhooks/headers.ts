/**
 * A webhook endpoint's custom request headers. They often carry the receiver's own credentials
 * (`Authorization`), so they are sealed at rest like the signing secrets and never shown again:
 * answers carry each name with a masked value.
 */
import type { Sealer } from "../lib/crypto";

/** What every answer shows instead of a header value. */
export const MASK = "****";

/** Headers whose value starts with an authentication scheme (RFC 9110 §11.4); the scheme alone is shown. */
const CREDENTIAL_HEADERS = new Set(["authorization", "proxy-authorization"]);

/** An auth-scheme token followed by its credentials: `Bearer abc` → `Bearer`. */
const SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]+\S/;

/** The column value for `headers`: sealed JSON, or null when there are none. */
export async function sealHeaders(sealer: Sealer, headers: Record<string, string> | undefined | null): Promise<string | null> {
  if (!headers || Object.keys(headers).length === 0) return null;
  return sealer.seal(JSON.stringify(headers));
}

/** The headers stored in a row: sealed, or (rows from before sealing) the plain JSON object. */
export async function openHeaders(sealer: Sealer, stored: string | null): Promise<Record<string, string>> {
  if (!stored) return {};
  const text = stored.startsWith("{") ? stored : await sealer.open(stored);
  return JSON.parse(text) as Record<string, string>;
}

/** Each header with its value masked: `{"Authorization": "Bearer ****", "X-Api-Key": "****"}`. */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => {
      const scheme = CREDENTIAL_HEADERS.has(name.toLowerCase()) ? SCHEME.exec(value)?.[1] : undefined;
      return [name, scheme ? `${scheme} ${MASK}` : MASK];
    }),
  );
}
