/**
 * Which outbound URLs the gateway accepts: tenants' webhook endpoints and their Spark base URLs
 * (CONTRACT §3). One rule for both so the API never accepts a URL the sender would refuse.
 */
import { z } from "zod";

/** Longest URL accepted: the de facto limit of browsers and proxies, and it keeps rows small. */
export const MAX_URL_LENGTH = 2048;

/** Result of {@link checkWebhookUrl}: the accepted URL, or why it was refused. */
export type UrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/** `127.0.0.0/8` as the WHATWG parser prints it (it canonicalises `127.1`, hex and octal forms). */
const LOOPBACK_IPV4 = /^127\.(?:25[0-5]|2[0-4]\d|1?\d?\d)\.(?:25[0-5]|2[0-4]\d|1?\d?\d)\.(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

/** A scheme followed by "//", the start of every absolute http(s) URL as people write them. */
const ABSOLUTE_URL_START = /^[a-z][a-z\d+.-]*:\/\//i;

/** Whitespace and C0/C1 controls: the URL parser silently drops or trims some, so what we store would differ from what is fetched. */
// eslint-disable-next-line no-control-regex
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f]/;

/**
 * Whether a parsed URL's `hostname` is loopback: `localhost`, `*.localhost` (RFC 6761 reserves
 * them for loopback), `127.0.0.0/8` or `[::1]`. Expects the WHATWG form (lowercase, IPv6 in brackets).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, ""); // "localhost." is the same name, fully qualified
  return host === "localhost" || host.endsWith(".localhost") || LOOPBACK_IPV4.test(host) || host === "[::1]";
}

/**
 * Checks a tenant-supplied outbound URL: absolute; `https:`, or `http:` only for loopback hosts
 * (local development); no username or password; no fragment. On success `url` is the input with
 * surrounding whitespace trimmed and otherwise as given, so the API echoes what the tenant sent.
 * Never throws.
 */
export function checkWebhookUrl(raw: string): UrlCheck {
  const text = raw.trim();
  if (text === "") return { ok: false, reason: "URL is empty" };
  if (text.length > MAX_URL_LENGTH) return { ok: false, reason: `URL is longer than ${MAX_URL_LENGTH} characters` };
  if (WHITESPACE_OR_CONTROL.test(text)) return { ok: false, reason: "URL must not contain spaces or control characters" };
  // The parser reads "\" as "/" in http(s) URLs; refusing it keeps the stored text unambiguous.
  if (text.includes("\\")) return { ok: false, reason: "URL must not contain backslashes" };

  let url: URL | null = null;
  try {
    // The parser also accepts "https:host" and "https:/host"; only the usual "scheme://" form is taken.
    if (ABSOLUTE_URL_START.test(text)) url = new URL(text);
  } catch {
    // reported below
  }
  if (url === null) return { ok: false, reason: "URL must be absolute, like https://example.com/webhooks" };

  if (url.protocol === "http:") {
    if (!isLoopbackHost(url.hostname)) {
      return {
        ok: false,
        reason: "URL must use https:// (http:// is allowed only for loopback hosts: localhost, 127.0.0.1, [::1])",
      };
    }
  } else if (url.protocol !== "https:") {
    return { ok: false, reason: `URL must use https://, not ${url.protocol}//` };
  }
  // Credentials in a URL end up in logs and API answers; "https://@host" parses to empty ones, so look at the text too.
  const authority = text.slice(text.indexOf("//") + 2).split(/[/?#]/, 1)[0] ?? "";
  if (url.username !== "" || url.password !== "" || authority.includes("@")) {
    return { ok: false, reason: "URL must not contain a username or password" };
  }
  // A fragment is never sent over HTTP; refusing it avoids a URL that silently means something else.
  if (url.hash !== "" || text.includes("#")) return { ok: false, reason: "URL must not contain a fragment (#…)" };

  return { ok: true, url: text };
}

/**
 * Zod schema for an outbound URL field (webhook endpoint `url`, `spark.baseUrl`): trims, then
 * applies {@link checkWebhookUrl}, reporting its reason as the issue message.
 */
export const httpsUrlSchema = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const result = checkWebhookUrl(value);
    if (!result.ok) ctx.addIssue({ code: "custom", message: result.reason });
  })
  .meta({
    format: "uri",
    maxLength: MAX_URL_LENGTH,
    description: "https:// URL (http:// only for loopback hosts), without credentials or fragment.",
    example: "https://csms.example/hooks/spark",
  });

/**
 * Header names the gateway sets itself on deliveries (lowercase); tenant-configured extra headers
 * must not override them, or signatures and framing would break.
 */
export const RESERVED_HEADER_NAMES: readonly string[] = Object.freeze([
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "content-type",
  "content-length",
  "host",
  "user-agent",
]);

const RESERVED = new Set(RESERVED_HEADER_NAMES);

/** Whether `name` (any case, surrounding whitespace ignored) is one of {@link RESERVED_HEADER_NAMES}. */
export function isReservedHeader(name: string): boolean {
  return RESERVED.has(name.trim().toLowerCase());
}
