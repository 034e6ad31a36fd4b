/**
 * The session object's D1 writes. Its own state and events are not queued at all: the object
 * keeps a mark of how far D1 has them (see {@link Projection}) and builds those writes when it
 * sends, so a change commits no extra rows. What cannot be rebuilt from the session (attempt and
 * delivery records whose batch failed) is queued in its own storage. Everything goes to a history
 * writer (src/db/history-writer.ts), which commits it to D1 together with other sessions' writes.
 * Nothing counts as sent before D1 has it, so D1 converges however often the object restarts,
 * and a callback never waits on D1.
 */
import { MAX_BATCH_STATEMENTS } from "../db/history-writer";
import type { Statement } from "../db/history-writer";
import { log } from "../lib/log";
import { tableExists } from "../lib/storage";

/** A drizzle query (or anything that can say its SQL and parameters). */
export interface SqlQuery {
  toSQL(): { sql: string; params: unknown[] };
}

/** Made on the first queued write: most sessions never queue one. */
export const D1_OUTBOX_SCHEMA = `CREATE TABLE IF NOT EXISTS d1_outbox (
  id INTEGER PRIMARY KEY,
  statement TEXT NOT NULL,
  params TEXT NOT NULL
)`;

/** The writes that bring D1 up to date with the session itself, built from its storage when sent. */
export interface Projection {
  /**
   * At most `max` writes, oldest first; `complete` when they bring D1 fully up to date. `sent` is
   * called once D1 has them.
   */
  pending(max: number): { statements: Statement[]; complete: boolean; sent: () => void };
}

export class D1Outbox {
  /** Whether the queue's table exists; unknown until first needed. */
  private ready: boolean | undefined;

  constructor(
    private readonly sql: SqlStorage,
    /** Commits statements to D1, in order, in one transaction. */
    private readonly send: (statements: Statement[]) => Promise<void>,
    /** The session's own state and events. */
    private readonly projection: Projection = { pending: () => ({ statements: [], complete: true, sent: () => undefined }) },
    /** Storage was empty when the object started: the table is known not to exist. */
    fresh = false,
  ) {
    if (fresh) this.ready = false;
  }

  /** Queues a write to go with the next batch; call inside the storage transaction of what it records. */
  add(query: SqlQuery): void {
    if (!this.exists()) {
      this.sql.exec(D1_OUTBOX_SCHEMA);
      this.ready = true;
    }
    const { sql, params } = query.toSQL();
    this.sql.exec("INSERT INTO d1_outbox (statement, params) VALUES (?, ?)", sql, JSON.stringify(params));
  }

  /** Writes queued and not yet in D1. */
  queued(): number {
    return this.exists() ? this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM d1_outbox").one().n : 0;
  }

  /**
   * Sends everything owed to D1: the queued writes oldest first, then the session's own state and
   * events; false when D1 failed (nothing of what failed counts as sent).
   * @param extra writes sent after those, once, and not kept here: `required` always (the caller
   *   keeps them itself when `extraSent` is false), `riders` only along with other writes (what
   *   is true only for the moment, like a delivery in flight).
   */
  async flush(extra: { required?: readonly SqlQuery[]; riders?: () => readonly SqlQuery[] } = {}): Promise<{ ok: boolean; extraSent: boolean }> {
    for (;;) {
      const rows = this.take(MAX_BATCH_STATEMENTS);
      const statements: Statement[] = rows.map((row) => ({ sql: row.statement, params: JSON.parse(row.params) as unknown[] }));
      const own = rows.length < MAX_BATCH_STATEMENTS ? this.projection.pending(MAX_BATCH_STATEMENTS - rows.length) : null;
      if (own) statements.push(...own.statements);
      // The last batch: the writes the extras follow from come first.
      const last = own?.complete === true;
      if (last) {
        statements.push(...(extra.required ?? []).map((query) => query.toSQL()));
        if (statements.length > 0) statements.push(...(extra.riders?.() ?? []).map((query) => query.toSQL()));
      }
      if (statements.length === 0) return { ok: true, extraSent: false };
      try {
        await this.send(statements);
      } catch (error) {
        log.error("D1 write failed; kept for retry", { error: String(error) });
        return { ok: false, extraSent: false };
      }
      if (rows.length > 0) this.sql.exec("DELETE FROM d1_outbox WHERE id <= ?", rows[rows.length - 1]!.id);
      own?.sent();
      if (last) return { ok: true, extraSent: true };
    }
  }

  private exists(): boolean {
    return (this.ready ??= tableExists(this.sql, "d1_outbox"));
  }

  private take(limit: number): Array<{ id: number; statement: string; params: string }> {
    if (!this.exists()) return [];
    return this.sql.exec<{ id: number; statement: string; params: string }>("SELECT id, statement, params FROM d1_outbox ORDER BY id LIMIT ?", limit).toArray();
  }
}
