/**
 * Group commit for D1. Session objects hand their queued D1 writes to a writer object, which
 * sends everything that arrived while its previous batch was in flight as one D1 batch: one D1
 * request and one D1 transaction for many sessions, instead of one per session change.
 *
 * A writer holds nothing durable. Each caller keeps its writes in its own outbox until `write`
 * resolves, so a writer that fails or restarts only makes its callers try again.
 */
import { DurableObject } from "cloudflare:workers";
import { log } from "../lib/log";

/** One SQL statement and its parameters, as queued in a session's outbox. */
export interface Statement {
  sql: string;
  params: unknown[];
}

/** Statements per D1 batch: keeps each batch well inside D1's per-request limits. */
export const MAX_BATCH_STATEMENTS = 100;

/**
 * Writers per database unless `HISTORY_WRITERS` says otherwise. One makes the biggest batches;
 * raise it when one object's request rate becomes the limit (see the README's sizing note).
 */
export const DEFAULT_HISTORY_WRITERS = 1;

/**
 * Under load a writer starts at most one D1 batch per this many ms, unless a batch is full: a
 * D1 batch costs about the same for five sessions as for twenty (measured locally side by side,
 * `npm run bench:ab`: 7 % more callbacks a second than batches sent back to back). Below that
 * rate nothing waits, since a write arriving after a quiet window goes out at once.
 */
export const DEFAULT_BATCH_WINDOW_MS = 200;

/** The batch window from `HISTORY_BATCH_WINDOW_MS` (0 sends batches back to back, as soon as D1 answers). */
export function batchWindowMs(env: { HISTORY_BATCH_WINDOW_MS?: string }): number {
  const configured = Number(env.HISTORY_BATCH_WINDOW_MS);
  return env.HISTORY_BATCH_WINDOW_MS !== undefined && env.HISTORY_BATCH_WINDOW_MS !== "" && Number.isFinite(configured) && configured >= 0 ? configured : DEFAULT_BATCH_WINDOW_MS;
}

interface Pending {
  statements: Statement[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class HistoryWriter extends DurableObject<Env> {
  private queue: Pending[] = [];
  private sending: Promise<void> | null = null;
  private waiting: ReturnType<typeof setTimeout> | null = null;
  /** When the last batch started (ms). */
  private lastBatchAt = 0;

  /** Resolves once `statements` are committed in D1, in one transaction, in the order given. */
  write(statements: Statement[]): Promise<void> {
    if (statements.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ statements, resolve, reject });
      this.kick();
    });
  }

  /**
   * Starts the next batch when one may start: nothing in flight, and the batch window since the
   * last one has passed or the queue fills a batch. Otherwise it comes back when the window ends
   * or when the batch in flight ends.
   */
  private kick(): void {
    if (this.sending || this.queue.length === 0) return;
    const wait = this.lastBatchAt + batchWindowMs(this.env) - Date.now();
    const full = this.queue.reduce((n, p) => n + p.statements.length, 0) >= MAX_BATCH_STATEMENTS;
    if (wait > 0 && !full) {
      this.waiting ??= setTimeout(() => {
        this.waiting = null;
        this.kick();
      }, wait);
      return;
    }
    if (this.waiting) clearTimeout(this.waiting);
    this.waiting = null;
    this.lastBatchAt = Date.now();
    this.sending = this.send(this.takeGroup()).finally(() => {
      this.sending = null;
      this.kick();
    });
  }

  /** Commits one group; when that fails, each caller alone, so one failing statement holds back only its caller. */
  private async send(group: Pending[]): Promise<void> {
    try {
      await this.commit(group.flatMap((p) => p.statements));
      for (const p of group) p.resolve();
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(error);
        return;
      }
      log.warn("D1 group batch failed; retrying callers one by one", { callers: group.length, error: String(error) });
      for (const p of group) await this.commit(p.statements).then(p.resolve, p.reject);
    }
  }

  /** The oldest callers whose statements fit in one batch (always at least one caller). */
  private takeGroup(): Pending[] {
    let count = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || count + this.queue[n]!.statements.length <= MAX_BATCH_STATEMENTS)) {
      count += this.queue[n]!.statements.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async commit(statements: Statement[]): Promise<void> {
    await commitStatements(this.env.DB, statements);
  }
}

/** Commits `statements` in D1 as one batch: one transaction, in the order given. */
export async function commitStatements(d1: D1Database, statements: readonly Statement[]): Promise<void> {
  await d1.batch(statements.map((s) => d1.prepare(s.sql).bind(...s.params)));
}

/**
 * The writer that carries this session's D1 writes. A session waits for each write before it
 * sends the next, so its writes stay in order even when the number of writers changes.
 */
export function historyWriter(env: Env, sessionId: string): DurableObjectStub<HistoryWriter> {
  const configured = Number(env.HISTORY_WRITERS);
  const writers = Number.isInteger(configured) && configured > 0 ? configured : DEFAULT_HISTORY_WRITERS;
  const ns = env.HISTORY as unknown as DurableObjectNamespace<HistoryWriter>;
  return ns.get(ns.idFromName(`writer-${shardOf(sessionId, writers)}`));
}

/** A stable shard in [0, shards) for an id (FNV-1a). */
export function shardOf(id: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}
