import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MockInstance } from "vitest";
import { log, setLogLevel } from "./log";

type ConsoleSpy = MockInstance<(...args: unknown[]) => void>;

let logSpy: ConsoleSpy;
let warnSpy: ConsoleSpy;
let errorSpy: ConsoleSpy;

beforeEach(() => {
  logSpy = vi.spyOn(console, "log").mockImplementation(() => {}) as ConsoleSpy;
  warnSpy = vi.spyOn(console, "warn").mockImplementation(() => {}) as ConsoleSpy;
  errorSpy = vi.spyOn(console, "error").mockImplementation(() => {}) as ConsoleSpy;
});

afterEach(() => {
  setLogLevel(undefined);
  vi.restoreAllMocks();
});

/** Writes one line at each level. */
function writeAll(): void {
  log.info("i", { n: 1 });
  log.warn("w", { n: 2 });
  log.error("e", { n: 3 });
}

/** The single-argument lines a channel received, parsed. */
function lines(spy: ConsoleSpy): unknown[] {
  return spy.mock.calls.map((args) => {
    expect(args).toHaveLength(1);
    expect(typeof args[0]).toBe("string");
    return JSON.parse(args[0] as string);
  });
}

describe("log", () => {
  it("writes each level as one JSON object on its own console channel", () => {
    log.info("spark callback", { requestId: "r-1", tenantId: null, ms: 3, ok: true });
    log.warn("slow", { ms: 900 });
    log.error("unhandled error", { error: "boom" });

    expect(lines(logSpy)).toEqual([{ level: "info", message: "spark callback", requestId: "r-1", tenantId: null, ms: 3, ok: true }]);
    expect(lines(warnSpy)).toEqual([{ level: "warn", message: "slow", ms: 900 }]);
    expect(lines(errorSpy)).toEqual([{ level: "error", message: "unhandled error", error: "boom" }]);
  });

  it("keeps a line on one line when a field holds a newline", () => {
    log.info("multi", { stack: "Error: x\n    at f (a.ts:1:1)" });
    const text = logSpy.mock.calls[0]![0] as string;
    expect(text).not.toContain("\n");
    expect(JSON.parse(text)).toEqual({ level: "info", message: "multi", stack: "Error: x\n    at f (a.ts:1:1)" });
  });

  it("writes a line with no fields as level and message only", () => {
    log.warn("bare");
    expect(lines(warnSpy)).toEqual([{ level: "warn", message: "bare" }]);
  });

  it('drops info at "warn" and keeps warn and error', () => {
    setLogLevel("warn");
    writeAll();
    expect(logSpy).not.toHaveBeenCalled();
    expect(lines(warnSpy)).toEqual([{ level: "warn", message: "w", n: 2 }]);
    expect(lines(errorSpy)).toEqual([{ level: "error", message: "e", n: 3 }]);
  });

  it('keeps only errors at "error"', () => {
    setLogLevel("error");
    writeAll();
    expect(logSpy).not.toHaveBeenCalled();
    expect(warnSpy).not.toHaveBeenCalled();
    expect(lines(errorSpy)).toEqual([{ level: "error", message: "e", n: 3 }]);
  });

  it.each([["info"], ["verbose"], [""], [undefined]])("keeps everything at %j", (level) => {
    setLogLevel("error");
    setLogLevel(level);
    writeAll();
    expect(lines(logSpy)).toEqual([{ level: "info", message: "i", n: 1 }]);
    expect(lines(warnSpy)).toEqual([{ level: "warn", message: "w", n: 2 }]);
    expect(lines(errorSpy)).toEqual([{ level: "error", message: "e", n: 3 }]);
  });
});
