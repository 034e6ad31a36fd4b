/**
 * One HTTP delivery attempt of a webhook: POST, judge the answer, report. No retries, no
 * storage; the caller decides what an outcome means for the event.
 */
import { retryAfterMs } from "./schedule";

/** Contract §6: success is a 2xx within 15 s; slower receivers count as failed and get retried. */
export const DELIVERY_TIMEOUT_MS = 15_000;

/** Characters of the receiver's answer kept for the attempt log: enough to spot an error page, too few to store a payload. */
export const RESPONSE_EXCERPT_MAX_CHARS = 256;

/** Bytes read for the excerpt: UTF-8 needs at most 4 per character; the rest is never downloaded. */
const RESPONSE_EXCERPT_MAX_BYTES = RESPONSE_EXCERPT_MAX_CHARS * 4;

/** Longest error text recorded, so a chatty exception cannot bloat the attempt log. */
const ERROR_MAX_CHARS = 200;

/** What one attempt produced; `ok` exactly when a 2xx arrived in time. */
export interface AttemptOutcome {
  /** HTTP status, or `null` when no response arrived (network error, timeout). */
  status: number | null;
  ok: boolean;
  /** Short human-readable reason when not `ok`, else `null`. */
  error: string | null;
  durationMs: number;
  /** The first {@link RESPONSE_EXCERPT_MAX_CHARS} characters of the response body at most; `null` when none. */
  responseExcerpt: string | null;
  /** The receiver's `Retry-After` in ms (capped), on a non-2xx answer that carried one. */
  retryAfterMs: number | null;
  /** `410 Gone`: the receiver asks to be forgotten, so the caller disables the endpoint. */
  gone: boolean;
}

/** Input of {@link attemptDelivery}. */
export interface AttemptArgs {
  url: string;
  /** Complete request headers, usually from `webhookHeaders()`. */
  headers: Record<string, string>;
  body: string;
  /** Defaults to {@link DELIVERY_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Defaults to the global `fetch` (looked up per call, so tests can spy on it). */
  fetcher?: typeof fetch;
}

/**
 * POSTs one webhook and classifies the answer. Redirects are not followed (`redirect: "manual"`):
 * a 3xx is a failure, since following it would send signed events to a URL the tenant never
 * registered. Never throws: every failure becomes an outcome with `ok: false`.
 */
export async function attemptDelivery(args: AttemptArgs): Promise<AttemptOutcome> {
  const timeoutMs = args.timeoutMs !== undefined && args.timeoutMs > 0 ? args.timeoutMs : DELIVERY_TIMEOUT_MS;
  const doFetch = args.fetcher ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const started = Date.now();
  const failure = (error: string): AttemptOutcome => ({
    status: null,
    ok: false,
    error: truncate(error, ERROR_MAX_CHARS),
    durationMs: Date.now() - started,
    responseExcerpt: null,
    retryAfterMs: null,
    gone: false,
  });

  let response: Response;
  try {
    response = await doFetch(args.url, {
      method: "POST",
      headers: args.headers,
      body: args.body,
      redirect: "manual",
      signal: AbortSignal.timeout(Math.ceil(timeoutMs)),
    });
  } catch (err) {
    if (isTimeout(err)) return failure(`timeout after ${timeoutMs} ms`);
    return failure(`network error: ${describeError(err)}`);
  }

  const status = response.status;
  const ok = status >= 200 && status <= 299;
  const responseExcerpt = await readExcerpt(response);
  return {
    status,
    ok,
    error: ok ? null : statusError(response),
    durationMs: Date.now() - started,
    responseExcerpt,
    retryAfterMs: ok ? null : retryAfterMs(response.headers.get("retry-after"), Date.now()),
    gone: status === 410,
  };
}

function statusError(response: Response): string {
  const { status } = response;
  if (status >= 300 && status <= 399) {
    const location = response.headers.get("location");
    return truncate(`HTTP ${status}: redirect${location ? ` to ${location}` : ""} not followed`, ERROR_MAX_CHARS);
  }
  if (status === 410) return "HTTP 410: endpoint gone";
  return `HTTP ${status}`;
}

/** Reads at most the first bytes of the body, then cancels the rest to free the connection. */
async function readExcerpt(response: Response): Promise<string | null> {
  if (response.body === null) return null;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  try {
    while (bytes < RESPONSE_EXCERPT_MAX_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
    text += decoder.decode();
  } catch {
    // A body that breaks off (or times out) after the status line does not change the outcome.
  } finally {
    reader.cancel().catch(() => {});
  }
  // Count code points, not UTF-16 units, so an emoji is never cut in half.
  const excerpt = Array.from(text).slice(0, RESPONSE_EXCERPT_MAX_CHARS).join("");
  return excerpt === "" ? null : excerpt;
}

/** Our signal is the only abort source, so an abort means the deadline passed. DOMException is not an Error everywhere. */
function isTimeout(err: unknown): boolean {
  const name = errorField(err, "name");
  return name === "TimeoutError" || name === "AbortError";
}

function describeError(err: unknown): string {
  return errorField(err, "message") || errorField(err, "name") || String(err);
}

function errorField(err: unknown, field: "name" | "message"): string {
  if (typeof err !== "object" || err === null || !(field in err)) return "";
  const value = (err as Record<string, unknown>)[field];
  return typeof value === "string" ? value : "";
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
