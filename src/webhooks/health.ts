/** How each webhook endpoint is doing, from its recorded attempts and deliveries in D1. */

/** `recentSuccessRate` counts the attempts of this window (CONTRACT §11: the last 24 h). */
export const HEALTH_WINDOW_MS = 24 * 60 * 60 * 1000;

/** An endpoint's `health`, as every endpoint object carries it. */
export interface EndpointHealth {
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  /** What the last failed attempt got (`"HTTP 500"`, `"timeout after 15000 ms"`, …). */
  lastError: string | null;
  /** Successful share of the window's attempts, `"0"` to `"1"` with at most 2 decimals; null without attempts. */
  recentSuccessRate: string | null;
  /** Events whose delivery to the endpoint is pending. */
  pendingCount: number;
  /** The earliest attempt due among them; null when none is scheduled. */
  nextAttemptAt: string | null;
}

interface HealthRow {
  last_success_at: number | null;
  last_failure_at: number | null;
  last_error: string | null;
  recent_ok: number;
  recent_failed: number;
  pending_count: number;
  next_attempt_at: number | null;
}

/** One statement per endpoint; each part is an index seek or range (`delivery_attempts_endpoint_ok`, `deliveries_endpoint_state_created`). */
const HEALTH_SQL = `SELECT
  (SELECT MAX(attempted_at) FROM delivery_attempts WHERE endpoint_id = ?1 AND ok = 1) AS last_success_at,
  (SELECT MAX(attempted_at) FROM delivery_attempts WHERE endpoint_id = ?1 AND ok = 0) AS last_failure_at,
  (SELECT error FROM delivery_attempts WHERE endpoint_id = ?1 AND ok = 0 ORDER BY attempted_at DESC, id DESC LIMIT 1) AS last_error,
  (SELECT COUNT(*) FROM delivery_attempts WHERE endpoint_id = ?1 AND ok = 1 AND attempted_at >= ?2) AS recent_ok,
  (SELECT COUNT(*) FROM delivery_attempts WHERE endpoint_id = ?1 AND ok = 0 AND attempted_at >= ?2) AS recent_failed,
  (SELECT COUNT(*) FROM deliveries WHERE endpoint_id = ?1 AND state = 'pending') AS pending_count,
  (SELECT MIN(next_attempt_at) FROM deliveries WHERE endpoint_id = ?1 AND state = 'pending') AS next_attempt_at`;

/** The health of each endpoint, in one D1 round trip. */
export async function endpointHealth(d1: D1Database, endpointIds: readonly string[], now = Date.now()): Promise<Map<string, EndpointHealth>> {
  const health = new Map<string, EndpointHealth>();
  if (endpointIds.length === 0) return health;
  const since = now - HEALTH_WINDOW_MS;
  const results = await d1.batch<HealthRow>(endpointIds.map((id) => d1.prepare(HEALTH_SQL).bind(id, since)));
  endpointIds.forEach((id, i) => {
    const row = results[i]?.results[0];
    health.set(id, row ? healthOf(row) : emptyHealth());
  });
  return health;
}

function healthOf(row: HealthRow): EndpointHealth {
  return {
    lastSuccessAt: iso(row.last_success_at),
    lastFailureAt: iso(row.last_failure_at),
    lastError: row.last_error,
    recentSuccessRate: successRate(row.recent_ok, row.recent_ok + row.recent_failed),
    pendingCount: row.pending_count,
    nextAttemptAt: iso(row.next_attempt_at),
  };
}

function emptyHealth(): EndpointHealth {
  return { lastSuccessAt: null, lastFailureAt: null, lastError: null, recentSuccessRate: null, pendingCount: 0, nextAttemptAt: null };
}

/**
 * `ok / total` rounded half up to hundredths, in integers, as the shortest decimal string:
 * 2 of 3 → `"0.67"`, 1 of 2 → `"0.5"`, all → `"1"`; null when there were no attempts.
 */
export function successRate(ok: number, total: number): string | null {
  if (total <= 0) return null;
  const hundredths = Math.floor((ok * 200 + total) / (2 * total));
  if (hundredths >= 100) return "1";
  return `0.${String(hundredths).padStart(2, "0")}`.replace(/\.?0+$/, "");
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
