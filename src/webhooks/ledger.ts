/**
 * Where each event of a session stands for each endpoint, kept in the session object's own
 * storage: the source of truth for the session's timeline (never behind), projected to D1's
 * `deliveries` through the session's outbox for the events API.
 */
import type { DeliveryRecord, DeliveryState } from "./deliver";

/** Created with the session's other tables (see `DISPATCH_SCHEMA`), in its first commit. */
export const LEDGER_SCHEMA = `CREATE TABLE IF NOT EXISTS delivery_state (
  sequence INTEGER NOT NULL,
  endpoint_id TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_attempt_at INTEGER,
  next_attempt_at INTEGER,
  PRIMARY KEY (sequence, endpoint_id)
) WITHOUT ROWID`;

type Row = {
  sequence: number;
  endpoint_id: string;
  status: DeliveryState;
  attempts: number;
  last_attempt_at: number | null;
  next_attempt_at: number | null;
};

const recordOf = (row: Row): DeliveryRecord => ({
  status: row.status,
  attempts: row.attempts,
  lastAttemptAt: row.last_attempt_at,
  nextAttemptAt: row.next_attempt_at,
});

export class DeliveryLedger {
  constructor(private readonly sql: SqlStorage) {}

  get(sequence: number, endpointId: string): DeliveryRecord | null {
    const row = this.sql.exec<Row>("SELECT * FROM delivery_state WHERE sequence = ? AND endpoint_id = ?", sequence, endpointId).toArray()[0];
    return row ? recordOf(row) : null;
  }

  put(sequence: number, endpointId: string, record: DeliveryRecord): void {
    this.sql.exec(
      `INSERT INTO delivery_state (sequence, endpoint_id, status, attempts, last_attempt_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (sequence, endpoint_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
         last_attempt_at = excluded.last_attempt_at, next_attempt_at = excluded.next_attempt_at`,
      sequence,
      endpointId,
      record.status,
      record.attempts,
      record.lastAttemptAt,
      record.nextAttemptAt,
    );
  }

  /** Every record, by sequence then endpoint. */
  all(): Map<number, Map<string, DeliveryRecord>> {
    const bySequence = new Map<number, Map<string, DeliveryRecord>>();
    for (const row of this.sql.exec<Row>("SELECT * FROM delivery_state ORDER BY sequence, endpoint_id").toArray()) {
      let endpoints = bySequence.get(row.sequence);
      if (!endpoints) bySequence.set(row.sequence, (endpoints = new Map()));
      endpoints.set(row.endpoint_id, recordOf(row));
    }
    return bySequence;
  }
}
