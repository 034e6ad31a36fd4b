/**
 * The gateway's OCPI HTTP client (CONTRACT §7.2): one request at a time with a deadline, the
 * 2.2.1 headers, and the envelope read back with exact numbers. Anything but HTTP 2xx with
 * `status_code` 1000 is a refusal. Tokens go only into the `Authorization` header, never into logs.
 */
import type { Party } from "./model";
import { parseExactJson, isJsonObject, isRawNumber } from "./json";
import { OcpiStatus } from "./envelope";
import { authorizationHeader } from "./token";
import type { TokenEncoding } from "./token";

/** How long the gateway waits for a CPO's answer; a command unanswered this long counts as reached (CONTRACT §7.6). */
export const OCPI_TIMEOUT_MS = 10_000;
/** The part of an unreadable answer quoted in errors. */
const EXCERPT_LENGTH = 200;

/** Which kind of endpoint a request goes to: routing headers are for functional modules only. */
export type RequestTarget = "versions" | "credentials" | "functional";

export interface OcpiRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  url: string;
  token: string;
  encoding: TokenEncoding;
  /** 2.2.1 adds routing headers on functional modules; 2.1.1 never. Null before a version is chosen. */
  version: "2.1.1" | "2.2.1" | null;
  target: RequestTarget;
  from?: Party;
  to?: Party | null;
  /** Carried over from the CPO's request being answered, else new. */
  correlationId?: string;
  body?: unknown;
  timeoutMs?: number;
  /**
   * Where to look, after a network error that does not say why, whether the CPO is up at all:
   * any HTTP answer there means the failed request may have reached it.
   */
  probeUrl?: string;
}

/** A readable envelope. `data` undefined when left out. */
export interface ReadEnvelope {
  statusCode: number;
  statusMessage: string;
  data: unknown;
}

export type OcpiCallResult =
  | { kind: "answer"; httpStatus: number; envelope: ReadEnvelope | null; headers: Headers; excerpt: string }
  | { kind: "timeout" }
  | { kind: "network"; reached: boolean; error: string };

/** Network errors that say the request never left: nothing listened, or the name did not resolve. */
const NOT_REACHED = /refused|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|getaddrinfo|resolve|DNS|no such host|unknown host|name not resolved/i;
/** How long the reachability probe may take; a probe without an answer counts the request as reached. */
const PROBE_TIMEOUT_MS = 3_000;

/**
 * Whether the CPO answers at all: after a network error that does not say why (workerd reports a
 * refused connection as "Network connection lost." and a failed name lookup as "internal error"),
 * a GET of `url` (the CPO's versions, with the same token). Any HTTP answer, or none in time, means the CPO is up and the failed request
 * may have reached it; a network error means nothing listens there.
 */
async function probeReachable(url: string, request: OcpiRequest, fetcher: typeof fetch): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    // An ordinary versions request, so the CPO sees nothing unusual.
    const headers = requestHeaders({ ...request, body: undefined, target: "versions" });
    const response = await fetcher(url, { method: "GET", headers, redirect: "manual", signal: controller.signal });
    await response.body?.cancel();
    return true;
  } catch {
    return controller.signal.aborted;
  } finally {
    clearTimeout(timer);
  }
}

/** The headers of an OCPI request (CONTRACT §7.2): token, ids, and on 2.2.1 functional modules the routing headers. */
export function requestHeaders(request: OcpiRequest): Headers {
  const headers = new Headers({
    Authorization: authorizationHeader(request.token, request.encoding),
    "X-Request-ID": crypto.randomUUID(),
    "X-Correlation-ID": request.correlationId ?? crypto.randomUUID(),
  });
  if (request.body !== undefined) headers.set("Content-Type", "application/json");
  if (request.version === "2.2.1" && request.target === "functional") {
    if (request.from) {
      headers.set("OCPI-from-country-code", request.from.countryCode);
      headers.set("OCPI-from-party-id", request.from.partyId);
    }
    if (request.to) {
      headers.set("OCPI-to-country-code", request.to.countryCode);
      headers.set("OCPI-to-party-id", request.to.partyId);
    }
  }
  return headers;
}

/** Reads an envelope from answer text; null when the text is not one. */
export function readEnvelope(text: string): ReadEnvelope | null {
  let value: unknown;
  try {
    value = parseExactJson(text);
  } catch {
    return null;
  }
  if (!isJsonObject(value)) return null;
  const code = value.status_code;
  if (!isRawNumber(code) || !/^\d+$/.test(code.rawJSON)) return null;
  return { statusCode: Number(code.rawJSON), statusMessage: typeof value.status_message === "string" ? value.status_message : "", data: value.data };
}

/** Sends one request and reads its answer; never throws. */
export async function callOcpi(request: OcpiRequest, fetcher: typeof fetch = fetch): Promise<OcpiCallResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), request.timeoutMs ?? OCPI_TIMEOUT_MS);
  try {
    const response = await fetcher(request.url, {
      method: request.method,
      headers: requestHeaders(request),
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: controller.signal,
      // A redirect would carry the token elsewhere; OCPI peers answer where they are called.
      redirect: "manual",
    });
    const text = await response.text();
    return { kind: "answer", httpStatus: response.status, envelope: readEnvelope(text), headers: response.headers, excerpt: text.slice(0, EXCERPT_LENGTH) };
  } catch (error) {
    if (controller.signal.aborted) return { kind: "timeout" };
    const message = error instanceof Error ? error.message : String(error);
    if (NOT_REACHED.test(message)) return { kind: "network", reached: false, error: message };
    return { kind: "network", reached: request.probeUrl ? await probeReachable(request.probeUrl, request, fetcher) : true, error: message };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether an answer is a success: HTTP 2xx and `status_code` 1000. */
export function isSuccess(result: OcpiCallResult): result is Extract<OcpiCallResult, { kind: "answer" }> & { envelope: ReadEnvelope } {
  return result.kind === "answer" && result.httpStatus >= 200 && result.httpStatus < 300 && result.envelope?.statusCode === OcpiStatus.success;
}

/** What the CPO answered, in words, for error messages (no token ever appears in an answer we quote). */
export function describeResult(result: OcpiCallResult): string {
  switch (result.kind) {
    case "timeout":
      return "no answer within the deadline";
    case "network":
      return `network error: ${result.error}`;
    case "answer":
      if (result.envelope) return `HTTP ${result.httpStatus}, status_code ${result.envelope.statusCode}${result.envelope.statusMessage ? ` (${result.envelope.statusMessage})` : ""}`;
      return `HTTP ${result.httpStatus}, not an OCPI envelope${result.excerpt ? `: ${JSON.stringify(result.excerpt)}` : ""}`;
  }
}

/** The URL of a `Link: <…>; rel="next"` header, resolved against the page it came with; null when there is none. */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  const pattern = /<([^>]*)>((?:\s*;\s*[^;,]+)*)/g;
  for (const match of header.matchAll(pattern)) {
    const params = match[2] ?? "";
    if (/;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(params)) {
      const raw = match[1]!.trim();
      // An absolute link is followed exactly as written; a relative one from the page it came with.
      if (URL.canParse(raw)) return raw;
      return URL.canParse(raw, base) ? new URL(raw, base).toString() : null;
    }
  }
  return null;
}
