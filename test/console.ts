/** Captures the console for tests that read log lines as an operator would. */
import { afterEach, beforeEach, vi } from "vitest";
import type { MockInstance } from "vitest";

export type ConsoleSpy = MockInstance<(...args: unknown[]) => void>;

/** The three channels log lines go to, spied on and silenced around each test of the file. */
export interface CapturedConsole {
  log: ConsoleSpy;
  warn: ConsoleSpy;
  error: ConsoleSpy;
}

/** Spies on console.log, warn and error before each test of the file and restores them after. */
export function captureConsole(): CapturedConsole {
  const captured = {} as CapturedConsole;
  beforeEach(() => {
    for (const channel of ["log", "warn", "error"] as const) {
      captured[channel] = vi.spyOn(console, channel).mockImplementation(() => {}) as ConsoleSpy;
    }
  });
  afterEach(() => vi.restoreAllMocks());
  return captured;
}
