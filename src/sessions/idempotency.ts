/**
 * `Idempotency-Key`s of a session's operations, in the session object's own storage: the key,
 * what was asked (a fingerprint), the operation it started, and its final answer once known.
 */
import { tableExists } from "../lib/storage";

/** Only settle and cancel use keys, so the table is created on the first one rather than with every session. */
const SCHEMA = `CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, operation_id TEXT, result TEXT
) WITHOUT ROWID`;

export interface KeyRecord<R> {
  fingerprint: string;
  operationId: string | null;
  /** The final answer; null while the operation is in doubt. */
  result: R | null;
}

export class IdempotencyKeys<R> {
  private ready: boolean | undefined;

  constructor(private readonly sql: SqlStorage) {}

  find(key: string): KeyRecord<R> | null {
    if (!this.exists()) return null;
    const row = this.sql
      .exec<{ fingerprint: string; operation_id: string | null; result: string | null }>("SELECT fingerprint, operation_id, result FROM idempotency WHERE key = ?", key)
      .toArray()[0];
    return row ? { fingerprint: row.fingerprint, operationId: row.operation_id, result: row.result === null ? null : (JSON.parse(row.result) as R) } : null;
  }

  remember(key: string, fingerprint: string, operationId: string | null, result: R | null): void {
    this.sql.exec(SCHEMA);
    this.ready = true;
    this.sql.exec(
      "INSERT OR REPLACE INTO idempotency (key, fingerprint, operation_id, result) VALUES (?, ?, ?, ?)",
      key,
      fingerprint,
      operationId,
      result === null ? null : JSON.stringify(result),
    );
  }

  /** The operation ended: keys still waiting for it get its final answer. */
  finish(operationId: string, result: R): void {
    if (this.exists()) this.sql.exec("UPDATE idempotency SET result = ? WHERE operation_id = ? AND result IS NULL", JSON.stringify(result), operationId);
  }

  private exists(): boolean {
    this.ready ??= tableExists(this.sql, "idempotency");
    return this.ready;
  }
}
