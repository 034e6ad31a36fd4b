/**
 * The session rules' settings, read from the Worker's environment with named defaults. A value
 * of the wrong form falls back to its default rather than turning a deadline off.
 */
import { ocpiConfig } from "../ocpi/config";
import type { RulesConfig } from "./rules";

/**
 * How long an authorized session may wait for settlement before it is flagged overdue; Spark's
 * own pre-authorization timeout is undocumented, and holds commonly lapse after 48 h or more.
 */
export const DEFAULT_SETTLEMENT_WINDOW_SECONDS = 24 * 60 * 60;
/** A terminal shows the start screen for minutes, not hours: a StartSession never followed by a card is abandoned. */
export const DEFAULT_AWAITING_CARD_TTL_SECONDS = 900;
/** Seconds between re-sends of a call to Spark in doubt (the last repeats): quick first, then hourly. */
export const DEFAULT_SPARK_RESEND_SCHEDULE = [10, 60, 300, 1800, 3600] as const;
/** Spark refuses settlements more than 48 h after the authorization: past that, re-sending cannot help. */
export const DEFAULT_SPARK_RESEND_HORIZON_SECONDS = 172_800;
/** Re-send delays are spread by up to this fraction either way, so sessions in doubt together do not retry together. */
const JITTER = 0.2;

const cache = new WeakMap<object, RulesConfig>();

/** The rules' settings for this environment (parsed once per environment object). */
export function rulesConfig(env: Env): RulesConfig {
  let config = cache.get(env);
  if (!config) {
    const ocpi = ocpiConfig(env);
    config = {
      settlementWindowMs: positiveSeconds(env.SETTLEMENT_WINDOW_SECONDS, DEFAULT_SETTLEMENT_WINDOW_SECONDS) * 1000,
      awaitingCardTtlMs: positiveSeconds(env.AWAITING_CARD_TTL_SECONDS, DEFAULT_AWAITING_CARD_TTL_SECONDS) * 1000,
      resendScheduleMs: parseSchedule(env.SPARK_RESEND_SCHEDULE).map((s) => s * 1000),
      resendHorizonMs: positiveSeconds(env.SPARK_RESEND_HORIZON_SECONDS, DEFAULT_SPARK_RESEND_HORIZON_SECONDS) * 1000,
      jitter: (ms) => Math.round(ms * (1 - JITTER + Math.random() * 2 * JITTER)),
      ocpiStartWindowMs: ocpi.startWindowSeconds * 1000,
      ocpiResultGraceMs: ocpi.resultGraceSeconds * 1000,
      ocpiCdrWaitMs: ocpi.cdrWaitSeconds * 1000,
    };
    cache.set(env, config);
  }
  return config;
}

/** `SPARK_RESEND_SCHEDULE`: comma-separated positive seconds, else the default. */
export function parseSchedule(text: string | undefined): number[] {
  if (!text || !text.trim()) return [...DEFAULT_SPARK_RESEND_SCHEDULE];
  const values = text.split(",").map((part) => Number(part.trim()));
  return values.every((v) => Number.isFinite(v) && v > 0) ? values : [...DEFAULT_SPARK_RESEND_SCHEDULE];
}

function positiveSeconds(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && text !== "" && Number.isFinite(value) && value > 0 ? value : fallback;
}
