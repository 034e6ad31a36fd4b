/** The p-th percentile (0–100) of ascending-sorted samples, nearest-rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Runs `work(i)` for i in [0, total), `concurrency` at a time. */
export async function pool(total: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await work(next++);
    }),
  );
}

export interface LoadResult {
  requests: number;
  failures: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export const oneDecimal = (n: number) => Math.round(n * 10) / 10;

/** Runs `total` requests, `concurrency` at a time; `send(i)` says whether the answer was right. */
export async function load(total: number, concurrency: number, send: (i: number) => Promise<boolean>): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  await pool(total, concurrency, async (i) => {
    const t0 = performance.now();
    const ok = await send(i).catch(() => false);
    latencies.push(performance.now() - t0);
    if (!ok) failures++;
  });
  const seconds = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: latencies.length,
    failures,
    requestsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: oneDecimal(percentile(sorted, 50)),
    p99Ms: oneDecimal(percentile(sorted, 99)),
  };
}
