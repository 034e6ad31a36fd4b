import { afterEach, describe, expect, it } from "vitest";
import { captureConsole } from "../../test/console";
import type { ConsoleSpy } from "../../test/console";
import { log, setLogLevel } from "./log";

const printed = captureConsole();

afterEach(() => setLogLevel(undefined));

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

    expect(lines(printed.log)).toEqual([{ level: "info", message: "spark callback", requestId: "r-1", tenantId: null, ms: 3, ok: true }]);
    expect(lines(printed.warn)).toEqual([{ level: "warn", message: "slow", ms: 900 }]);
    expect(lines(printed.error)).toEqual([{ level: "error", message: "unhandled error", error: "boom" }]);
  });

  it("keeps a line on one line when a field holds a newline", () => {
    log.info("multi", { stack: "Error: x\n    at f (a.ts:1:1)" });
    const text = printed.log.mock.calls[0]![0] as string;
    expect(text).not.toContain("\n");
    expect(JSON.parse(text)).toEqual({ level: "info", message: "multi", stack: "Error: x\n    at f (a.ts:1:1)" });
  });

  it("writes a line with no fields as level and message only", () => {
    log.warn("bare");
    expect(lines(printed.warn)).toEqual([{ level: "warn", message: "bare" }]);
  });

  it('drops info at "warn" and keeps warn and error', () => {
    setLogLevel("warn");
    writeAll();
    expect(printed.log).not.toHaveBeenCalled();
    expect(lines(printed.warn)).toEqual([{ level: "warn", message: "w", n: 2 }]);
    expect(lines(printed.error)).toEqual([{ level: "error", message: "e", n: 3 }]);
  });

  it('keeps only errors at "error"', () => {
    setLogLevel("error");
    writeAll();
    expect(printed.log).not.toHaveBeenCalled();
    expect(printed.warn).not.toHaveBeenCalled();
    expect(lines(printed.error)).toEqual([{ level: "error", message: "e", n: 3 }]);
  });

  it.each([["info"], ["verbose"], [""], [undefined]])("keeps everything at %j", (level) => {
    setLogLevel("error");
    setLogLevel(level);
    writeAll();
    expect(lines(printed.log)).toEqual([{ level: "info", message: "i", n: 1 }]);
    expect(lines(printed.warn)).toEqual([{ level: "warn", message: "w", n: 2 }]);
    expect(lines(printed.error)).toEqual([{ level: "error", message: "e", n: 3 }]);
  });
});
