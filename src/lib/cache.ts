/**
 * A small per-isolate cache with a time to live. Each isolate keeps its own copy, so a
 * change made elsewhere is seen here within `ttlMs`; changes made here are seen at once.
 *
 * Callers that miss together share one load: under load an entry expires while dozens of
 * callbacks are in flight, and each of them reading D1 for the same row is a burst of identical
 * reads in front of all of them. A waiter does not await the loader's promise: that ties it to
 * the loader's request, and when that request ends first the runtime cancels the waiter's
 * continuation (an earlier shared load hung the test suite so). Nor is it woken by the loader:
 * resolving its promise from another Durable Object fails ("Cannot perform I/O on behalf of a
 * different Durable Object"; the last test of cache.test.ts fails on it). It looks, on timers of
 * its own, until the load ended.
 */

/** How long a caller waits for another request's load before loading itself: a D1 read that takes longer is failing, or its request was cancelled. */
export const SHARED_LOAD_WAIT_MS = 1_000;
/** The longest pause between a waiter's looks: a small share of a D1 read under load, few timers per waiter. */
const SHARED_LOAD_POLL_MAX_MS = 16;

interface Load {
  startedAt: number;
  ended: boolean;
}

export class TtlCache<V> {
  private entries = new Map<string, { value: V; expiresAt: number }>();
  private loads = new Map<string, Load>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The fresh entry for `key`; else the value another caller is loading; else what `load` returns, stored. */
  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.fresh(key);
    if (hit) return hit.value;
    const running = this.loads.get(key);
    if (running) {
      await waitFor(running);
      const loaded = this.fresh(key);
      if (loaded) return loaded.value;
      // The load failed or is late: this caller loads for itself (and for whoever comes next).
    }
    return this.load(key, load);
  }

  /** Forgets the key; a load already under way is not stored, so no caller gets what it read before the change. */
  delete(key: string): void {
    this.entries.delete(key);
    this.loads.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.loads.clear();
  }

  private fresh(key: string): { value: V } | undefined {
    const hit = this.entries.get(key);
    return hit && hit.expiresAt > Date.now() ? hit : undefined;
  }

  private async load(key: string, load: () => Promise<V>): Promise<V> {
    const mine: Load = { startedAt: Date.now(), ended: false };
    this.loads.set(key, mine);
    try {
      const value = await load();
      if (this.loads.get(key) === mine) {
        if (this.entries.size >= this.maxEntries) this.entries.clear();
        this.entries.set(key, { value, expiresAt: Date.now() + this.ttlMs });
      }
      return value;
    } finally {
      mine.ended = true;
      if (this.loads.get(key) === mine) this.loads.delete(key);
    }
  }
}

/** Returns once the load has ended, or {@link SHARED_LOAD_WAIT_MS} after it started; looks at 1, 2, 4… ms. */
async function waitFor(running: Load): Promise<void> {
  for (let pause = 1; !running.ended && Date.now() - running.startedAt < SHARED_LOAD_WAIT_MS; pause = Math.min(pause * 2, SHARED_LOAD_POLL_MAX_MS)) {
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
