/**
 * The session object's D1 writes, queued in its own storage and sent in one D1 batch by its
 * alarm. Queuing happens in the same storage transaction as the change it reflects, so D1
 * converges however often the object restarts, and a callback never waits on D1.
 */

/** A drizzle query (or anything that can say its SQL and parameters). */
export interface SqlQuery {
  toSQL(): { sql: string; params: unknown[] };
}

export const D1_OUTBOX_SCHEMA = `CREATE TABLE IF NOT EXISTS d1_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  statement TEXT NOT NULL,
  params TEXT NOT NULL
)`;

/** Statements per D1 batch: keeps each batch well inside D1's per-request limits. */
export const D1_BATCH_SIZE = 100;

export class D1Outbox {
  constructor(
    private readonly sql: SqlStorage,
    private readonly d1: D1Database,
  ) {}

  /** Queues a write; call inside the storage transaction of the change it reflects. */
  add(query: SqlQuery): void {
    const { sql, params } = query.toSQL();
    this.sql.exec("INSERT INTO d1_outbox (statement, params) VALUES (?, ?)", sql, JSON.stringify(params));
  }

  pending(): boolean {
    return this.sql.exec("SELECT 1 FROM d1_outbox LIMIT 1").toArray().length > 0;
  }

  /** Sends everything queued, oldest first; false when D1 failed (the writes stay queued). */
  async flush(): Promise<boolean> {
    for (;;) {
      const rows = this.sql
        .exec<{ id: number; statement: string; params: string }>("SELECT id, statement, params FROM d1_outbox ORDER BY id LIMIT ?", D1_BATCH_SIZE)
        .toArray();
      if (rows.length === 0) return true;
      try {
        await this.d1.batch(rows.map((row) => this.d1.prepare(row.statement).bind(...(JSON.parse(row.params) as unknown[]))));
      } catch (error) {
        console.error(JSON.stringify({ level: "error", message: "D1 write failed; kept for retry", error: String(error) }));
        return false;
      }
      this.sql.exec("DELETE FROM d1_outbox WHERE id <= ?", rows[rows.length - 1]!.id);
    }
  }
}
