import { describe, it, expect } from "vitest";
import {
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  JITTER_RATIO,
  MAX_RETRY_AFTER_MS,
  nextDelayMs,
  parseRetrySchedule,
  retryAfterMs,
} from "./schedule";

describe("DEFAULT_RETRY_SCHEDULE_SECONDS", () => {
  it("is the contract's schedule, about three days in all", () => {
    expect(DEFAULT_RETRY_SCHEDULE_SECONDS).toEqual([5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
    const total = DEFAULT_RETRY_SCHEDULE_SECONDS.reduce((a, b) => a + b, 0);
    expect(total / 86400).toBeGreaterThan(3);
    expect(total / 86400).toBeLessThan(3.3);
  });

  it("cannot be mutated", () => {
    expect(Object.isFrozen(DEFAULT_RETRY_SCHEDULE_SECONDS)).toBe(true);
  });
});

describe("parseRetrySchedule", () => {
  it("parses comma-separated seconds, decimals and spaces allowed", () => {
    expect(parseRetrySchedule("1,1,1")).toEqual([1, 1, 1]);
    expect(parseRetrySchedule(" 0.5, 2 ,10 ")).toEqual([0.5, 2, 10]);
    expect(parseRetrySchedule("0")).toEqual([0]);
  });

  it.each([undefined, "", "   ", "1,,2", "1,2,", "-1", "1,abc", "1e3", "Infinity", "0x10", ".5", "1;2", "9".repeat(400)])(
    "falls back to the default for %j",
    (raw) => {
      expect(parseRetrySchedule(raw)).toEqual(DEFAULT_RETRY_SCHEDULE_SECONDS);
    },
  );

  it("returns a fresh array each time", () => {
    const a = parseRetrySchedule(undefined);
    a.push(1);
    expect(parseRetrySchedule(undefined)).toEqual(DEFAULT_RETRY_SCHEDULE_SECONDS);
  });
});

describe("nextDelayMs", () => {
  const schedule = [5, 300, 1800];
  const middle = () => 0.5;

  it("walks the schedule: the delay after attempt n is schedule[n-1]", () => {
    expect(nextDelayMs(schedule, 1, middle)).toBe(5_000);
    expect(nextDelayMs(schedule, 2, middle)).toBe(300_000);
    expect(nextDelayMs(schedule, 3, middle)).toBe(1_800_000);
  });

  it("is null once every retry has been made", () => {
    expect(nextDelayMs(schedule, 4, middle)).toBeNull();
    expect(nextDelayMs(schedule, 40, middle)).toBeNull();
    expect(nextDelayMs([], 1, middle)).toBeNull();
  });

  it("gives six attempts in all for 1,1,1,1,1", () => {
    const s = parseRetrySchedule("1,1,1,1,1");
    const delays = [1, 2, 3, 4, 5, 6].map((n) => nextDelayMs(s, n, middle));
    expect(delays).toEqual([1000, 1000, 1000, 1000, 1000, null]);
  });

  it("is 0 before the first attempt, which is immediate", () => {
    expect(nextDelayMs(schedule, 0, middle)).toBe(0);
  });

  it("applies ±20 % jitter", () => {
    expect(JITTER_RATIO).toBe(0.2);
    expect(nextDelayMs(schedule, 1, () => 0)).toBe(4_000);
    expect(nextDelayMs(schedule, 1, () => 0.999999)).toBe(6_000);
    expect(nextDelayMs(schedule, 1, () => 0.25)).toBe(4_500);
  });

  it("stays inside the band with the real random source", () => {
    for (let i = 0; i < 500; i++) {
      const delay = nextDelayMs(schedule, 2)!;
      expect(delay).toBeGreaterThanOrEqual(240_000);
      expect(delay).toBeLessThanOrEqual(360_000);
    }
  });

  it("handles fractional and zero delays", () => {
    expect(nextDelayMs([0.5], 1, middle)).toBe(500);
    expect(nextDelayMs([0], 1, () => 0)).toBe(0);
  });

  it("rejects a non-integer attempt count", () => {
    expect(() => nextDelayMs(schedule, 1.5)).toThrow(RangeError);
    expect(() => nextDelayMs(schedule, Number.NaN)).toThrow(RangeError);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2024-02-05T19:41:22Z");

  it("reads delay-seconds", () => {
    expect(retryAfterMs("120", now)).toBe(120_000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
  });

  it("reads an IMF-fixdate relative to now", () => {
    expect(retryAfterMs("Mon, 05 Feb 2024 19:42:22 GMT", now)).toBe(60_000);
  });

  it("reads the obsolete RFC 850 and asctime forms as GMT", () => {
    expect(retryAfterMs("Monday, 05-Feb-24 19:42:22 GMT", now)).toBe(60_000);
    expect(retryAfterMs("Mon Feb  5 19:42:22 2024", now)).toBe(60_000);
  });

  it("gives 0 for a date in the past", () => {
    expect(retryAfterMs("Mon, 05 Feb 2024 19:00:00 GMT", now)).toBe(0);
  });

  it("caps at one hour", () => {
    expect(MAX_RETRY_AFTER_MS).toBe(3_600_000);
    expect(retryAfterMs("86400", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("Tue, 06 Feb 2024 19:41:22 GMT", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs("9".repeat(400), now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it.each([null, "", "soon", "-5", "1.5", "5 s", "2024-02-05T19:42:22Z", "Mon, 32 Feb 2024 19:42:22 GMT"])(
    "is null for %j",
    (header) => {
      expect(retryAfterMs(header, now)).toBeNull();
    },
  );
});
