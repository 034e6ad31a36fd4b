/**
 * When to retry a failed webhook delivery (CONTRACT §6): a fixed schedule with jitter, and the
 * receiver's `Retry-After`. Pure functions; the caller owns the clock and the queue.
 */

/**
 * Delays in seconds between attempts after the first, immediate one: about 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, ten attempts over about three days, so a receiver that is
 * down for a weekend still gets everything. Frozen: callers get copies from {@link parseRetrySchedule}.
 */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = Object.freeze([
  5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400,
]);

/** ±20 % spread on every delay, so endpoints that failed together do not all retry in the same instant. */
export const JITTER_RATIO = 0.2;

/**
 * Longest `Retry-After` honoured: 1 hour. A receiver (or a proxy in front of it) may ask for days;
 * because events of one session wait for each other, an unbounded wait would stall that session's
 * queue far beyond the documented schedule, while an hour is enough for a planned restart or a
 * rate limit to clear.
 */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/** One schedule entry: non-negative seconds, decimals allowed (tests use "0.5"). */
const SECONDS = /^\d+(?:\.\d+)?$/;

/** `delay-seconds` of RFC 9110 §10.2.3: digits only. */
const DELAY_SECONDS = /^\d+$/;

/** The three HTTP-date forms of RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850, and asctime. */
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parses `WEBHOOK_RETRY_SCHEDULE`: comma-separated non-negative seconds (`"1,1,1"`, `"0.5, 2"`).
 * Empty, missing or invalid input gives a copy of {@link DEFAULT_RETRY_SCHEDULE_SECONDS}: a typo in
 * configuration must not stop deliveries, and the documented default is the safe choice.
 */
export function parseRetrySchedule(raw: string | undefined): number[] {
  const text = raw?.trim() ?? "";
  if (text === "") return [...DEFAULT_RETRY_SCHEDULE_SECONDS];
  const parts = text.split(",").map((part) => part.trim());
  if (!parts.every((part) => SECONDS.test(part))) return [...DEFAULT_RETRY_SCHEDULE_SECONDS];
  const seconds = parts.map(Number);
  if (!seconds.every(Number.isFinite)) return [...DEFAULT_RETRY_SCHEDULE_SECONDS]; // e.g. 400 digits
  return seconds;
}

/**
 * Milliseconds to wait before the next attempt, or `null` when the schedule is exhausted and the
 * event should be marked failed for the endpoint.
 * @param schedule delays in seconds between attempts after the first (see {@link parseRetrySchedule}).
 * @param attemptsMade attempts already made, including the first; `0` gives `0` (the first is immediate).
 * @param random source of jitter in [0, 1); injectable for tests.
 * @returns `schedule[attemptsMade - 1]` seconds in ms, scaled by a factor in [0.8, 1.2), rounded.
 * @throws {RangeError} when `attemptsMade` is not an integer (a caller bug).
 */
export function nextDelayMs(
  schedule: readonly number[],
  attemptsMade: number,
  random: () => number = Math.random,
): number | null {
  if (!Number.isInteger(attemptsMade)) throw new RangeError(`attemptsMade must be an integer, got ${attemptsMade}`);
  if (attemptsMade <= 0) return 0;
  const seconds = schedule[attemptsMade - 1];
  if (seconds === undefined) return null;
  const spread = Math.min(Math.max(random(), 0), 1) * 2 - 1; // [-1, 1)
  return Math.max(0, Math.round(seconds * 1000 * (1 + spread * JITTER_RATIO)));
}

/**
 * Parses a `Retry-After` header (delay-seconds or HTTP-date) into a wait in ms from `now`,
 * capped at {@link MAX_RETRY_AFTER_MS}; a date in the past gives `0`. Missing or unparseable: `null`.
 * Callers honour it by waiting at least this long, e.g. `Math.max(nextDelayMs(…), retryAfterMs(…))`.
 * @param now current time in ms since the epoch.
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  let waitMs: number;
  if (DELAY_SECONDS.test(text)) {
    waitMs = Number(text) * 1000;
  } else if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text) || ASCTIME_DATE.test(text)) {
    // asctime carries no zone but is defined as GMT; say so, or Date.parse would use local time.
    const at = Date.parse(ASCTIME_DATE.test(text) ? `${text} GMT` : text);
    if (Number.isNaN(at)) return null;
    waitMs = at - now;
  } else {
    return null;
  }
  return Math.min(Math.max(waitMs, 0), MAX_RETRY_AFTER_MS);
}
