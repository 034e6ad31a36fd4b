/**
 * The session object's D1 writes, queued in its own storage in the same transaction as the
 * change they reflect, then handed to a history writer (src/db/history-writer.ts), which commits
 * them to D1 together with other sessions' writes. A row leaves the queue only once D1 has it,
 * so D1 converges however often the object restarts, and a callback never waits on D1.
 */
import { MAX_BATCH_STATEMENTS } from "../db/history-writer";
import type { Statement } from "../db/history-writer";
import { log } from "../lib/log";

/** A drizzle query (or anything that can say its SQL and parameters). */
export interface SqlQuery {
  toSQL(): { sql: string; params: unknown[] };
}

export const D1_OUTBOX_SCHEMA = `CREATE TABLE IF NOT EXISTS d1_outbox (
  id INTEGER PRIMARY KEY,
  statement TEXT NOT NULL,
  params TEXT NOT NULL
)`;

export class D1Outbox {
  constructor(
    private readonly sql: SqlStorage,
    /** Commits statements to D1, in order, in one transaction. */
    private readonly send: (statements: Statement[]) => Promise<void>,
  ) {}

  /** Queues a write; call inside the storage transaction of the change it reflects. */
  add(query: SqlQuery): void {
    const { sql, params } = query.toSQL();
    this.sql.exec("INSERT INTO d1_outbox (statement, params) VALUES (?, ?)", sql, JSON.stringify(params));
  }

  /**
   * Sends everything queued, oldest first; false when D1 failed (what failed stays queued).
   * @param extra writes sent after the queued ones, once, and not kept here: `required` always
   *   (the caller keeps them itself when `extraSent` is false), `riders` only along with other
   *   writes (what is true only for the moment, like a delivery in flight).
   */
  async flush(extra: { required?: readonly SqlQuery[]; riders?: () => readonly SqlQuery[] } = {}): Promise<{ ok: boolean; extraSent: boolean }> {
    let extraSent = false;
    let tail = false;
    for (;;) {
      const rows = this.sql
        .exec<{ id: number; statement: string; params: string }>("SELECT id, statement, params FROM d1_outbox ORDER BY id LIMIT ?", MAX_BATCH_STATEMENTS)
        .toArray();
      const statements: Statement[] = rows.map((row) => ({ sql: row.statement, params: JSON.parse(row.params) as unknown[] }));
      // After the last queued row: the writes they follow from come first.
      const withTail = !tail && rows.length < MAX_BATCH_STATEMENTS;
      if (withTail) {
        tail = true;
        statements.push(...(extra.required ?? []).map((query) => query.toSQL()));
        if (statements.length > 0) statements.push(...(extra.riders?.() ?? []).map((query) => query.toSQL()));
      }
      if (statements.length === 0) return { ok: true, extraSent };
      try {
        await this.send(statements);
      } catch (error) {
        log.error("D1 write failed; kept for retry", { error: String(error) });
        return { ok: false, extraSent };
      }
      if (withTail) extraSent = true;
      if (rows.length > 0) this.sql.exec("DELETE FROM d1_outbox WHERE id <= ?", rows[rows.length - 1]!.id);
    }
  }
}
