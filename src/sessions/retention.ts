/**
 * Retention (CONTRACT §10): sessions that ended longer ago than `RETENTION_SECONDS` are deleted
 * with their events and delivery records, from D1 and from their Durable Objects, by the scheduled
 * job. Each run does a bounded amount of work, oldest first, so a backlog is worked off over
 * successive runs; open and `review_required` sessions are never touched.
 */
import { log } from "../lib/log";
import { ENDED_STATUSES as ENDED } from "./model";
import { sessionStub } from "./stub";

/** Ninety days: long enough for disputes and reconciliation with Nayax, short enough to keep D1 far below its size limit. */
export const DEFAULT_RETENTION_SECONDS = 7_776_000;
/** Sessions looked at per D1 page: one page is one batch of D1 deletes. */
export const RETENTION_PAGE_SIZE = 100;
/**
 * A run starts no new page after this long: bounds a run's duration (well inside a scheduled
 * Worker's limits) and its D1 and Durable Object requests; the rest waits for the next run.
 */
export const RETENTION_RUN_BUDGET_MS = 60_000;
/** Session objects emptied at once: enough to overlap their round trips, few enough not to crowd the isolate. */
const PURGE_CONCURRENCY = 10;


export interface RetentionRun {
  /** Sessions deleted from their objects and from D1. */
  deleted: number;
  /** Sessions D1 listed as ended whose object did not agree (it changed since, or still has work queued). */
  skipped: number;
  /** Whether older sessions are left for the next run. */
  more: boolean;
  ms: number;
}

export function retentionSeconds(env: Env): number {
  const value = Number(env.RETENTION_SECONDS);
  return env.RETENTION_SECONDS !== undefined && env.RETENTION_SECONDS !== "" && Number.isFinite(value) && value > 0 ? value : DEFAULT_RETENTION_SECONDS;
}

/** One run of the retention job. */
export async function runRetention(env: Env, options: { now?: number; budgetMs?: number; maxPages?: number } = {}): Promise<RetentionRun> {
  const { now = Date.now(), budgetMs = RETENTION_RUN_BUDGET_MS, maxPages = Number.POSITIVE_INFINITY } = options;
  const started = Date.now();
  const cutoff = now - retentionSeconds(env) * 1000;
  let deleted = 0;
  let skipped = 0;
  let more = false;
  // Skipped sessions stay in D1, so the next page starts after the last one looked at.
  let after = null as { updatedAt: number; id: string } | null;
  for (let page = 0; page < maxPages && Date.now() - started < budgetMs; page++) {
    const { results }: D1Result<{ id: string; updated_at: number }> = await env.DB.prepare(
      `SELECT id, updated_at FROM sessions
       WHERE status IN (${ENDED.map(() => "?").join(", ")}) AND updated_at < ?
         AND (? IS NULL OR updated_at > ? OR (updated_at = ? AND id > ?))
       ORDER BY updated_at, id LIMIT ?`,
    )
      .bind(...ENDED, cutoff, after?.updatedAt ?? null, after?.updatedAt ?? 0, after?.updatedAt ?? 0, after?.id ?? "", RETENTION_PAGE_SIZE)
      .all<{ id: string; updated_at: number }>();
    if (results.length === 0) {
      more = false;
      break;
    }
    after = { updatedAt: results.at(-1)!.updated_at, id: results.at(-1)!.id };
    const purged = await purgeAll(env, results.map((r) => r.id), cutoff);
    skipped += results.length - purged.length;
    if (purged.length > 0) {
      const ids = JSON.stringify(purged);
      const inIds = "IN (SELECT value FROM json_each(?))";
      await env.DB.batch([
        env.DB.prepare(`DELETE FROM delivery_attempts WHERE event_id IN (SELECT id FROM session_events WHERE session_id ${inIds})`).bind(ids),
        env.DB.prepare(`DELETE FROM deliveries WHERE session_id ${inIds}`).bind(ids),
        env.DB.prepare(`DELETE FROM session_events WHERE session_id ${inIds}`).bind(ids),
        env.DB.prepare(`DELETE FROM sessions WHERE id ${inIds}`).bind(ids),
      ]);
    }
    deleted += purged.length;
    more = results.length === RETENTION_PAGE_SIZE;
  }
  const run = { deleted, skipped, more, ms: Date.now() - started };
  log.info("session retention", { ...run });
  return run;
}

/** Empties the objects of these sessions, a few at a time; answers those it emptied. */
async function purgeAll(env: Env, ids: string[], cutoff: number): Promise<string[]> {
  const purged: string[] = [];
  for (let i = 0; i < ids.length; i += PURGE_CONCURRENCY) {
    const slice = ids.slice(i, i + PURGE_CONCURRENCY);
    const done = await Promise.all(
      slice.map((id) =>
        sessionStub(env, id)
          .purge(cutoff)
          .catch((error: unknown) => {
            log.warn("session purge failed", { sessionId: id, error: String(error) });
            return false;
          }),
      ),
    );
    slice.forEach((id, k) => done[k] && purged.push(id));
  }
  return purged;
}
