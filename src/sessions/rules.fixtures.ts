/** What the rules' table tests share: the time they start at, a session's names, and settings with no randomness. */
import type { RulesConfig } from "./rules";

export const T0 = Date.parse("2026-01-01T10:00:00Z");
export const TENANT = "ten_a";
export const ID = "12c7cec2-c690-4425-9a1f-db0db60e2d8c";

/** The defaults of the settings, without jitter; `overrides` change some. */
export function testRulesConfig(overrides: Partial<RulesConfig> = {}): RulesConfig {
  return {
    settlementWindowMs: 86_400_000,
    awaitingCardTtlMs: 900_000,
    resendScheduleMs: [10_000, 60_000],
    resendHorizonMs: 172_800_000,
    jitter: (ms) => ms,
    ocpiStartWindowMs: 180_000,
    ocpiResultGraceMs: 15_000,
    ocpiCdrWaitMs: 3_600_000,
    ...overrides,
  };
}
