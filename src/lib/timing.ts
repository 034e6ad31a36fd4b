/**
 * Per-stage timings of one request, for profiling under load (`npm run bench:profile` with
 * TIMINGS=1): sent as `Server-Timing`. With the `TIMINGS` setting unset nothing is measured.
 */
export class StageTimer {
  /** A timer that measures when the `TIMINGS` setting is set. */
  static for(env: { TIMINGS?: string }): StageTimer {
    return new StageTimer(Boolean(env.TIMINGS));
  }

  private readonly stages: Array<[string, number]> = [];
  private last = performance.now();

  constructor(readonly enabled: boolean) {}

  /** Ends the stage running since the last lap (or the start) under `name`. */
  lap(name: string): void {
    if (!this.enabled) return;
    const now = performance.now();
    this.stages.push([name, now - this.last]);
    this.last = now;
  }

  /**
   * Starts with the `queue` stage when the client says when it sent the request
   * (`X-Request-Start`, milliseconds since the epoch, optionally `t=`-prefixed): the time before
   * the handler ran, spent in connections, the proxy and the runtime's event loop. Clocks of one
   * machine only; anything unreadable or in the future is left out.
   */
  queued(sentAt: string | undefined, now = Date.now()): void {
    if (!this.enabled || !sentAt) return;
    const match = /^(?:t=)?(\d{1,16})$/.exec(sentAt.trim());
    if (!match) return;
    const ms = now - Number(match[1]);
    if (ms >= 0) this.stages.push(["queue", ms]);
  }

  /** Adds stages measured elsewhere, e.g. inside the session object. */
  add(stages: Record<string, number> | undefined): void {
    if (!this.enabled || !stages) return;
    for (const [name, ms] of Object.entries(stages)) this.stages.push([name, ms]);
  }

  /** The stages by name (to return them from a Durable Object), or undefined when timings are off. */
  record(): Record<string, number> | undefined {
    return this.enabled ? Object.fromEntries(this.stages) : undefined;
  }

  /** The `Server-Timing` value, or null when timings are off. */
  header(): string | null {
    if (!this.enabled) return null;
    return this.stages.map(([name, ms]) => `${name};dur=${ms.toFixed(1)}`).join(", ");
  }
}
