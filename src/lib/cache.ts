/**
 * A small per-isolate cache with a time to live. Each isolate keeps its own copy, so a
 * change made elsewhere is seen here within `ttlMs`; changes made here are seen at once.
 * Callers that miss together each load: a load belongs to the request that started it, and
 * another request waiting on it fails with "Cannot perform I/O on behalf of a different request"
 * (tried: the test suite hung).
 */
export class TtlCache<V> {
  private entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.value;
    const value = await load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, expiresAt: Date.now() + this.ttlMs });
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
