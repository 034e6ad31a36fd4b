/**
 * The D1 writes that mirror a session: its current state and its events. Written as plain SQL
 * because they run on every change of every session; the columns are those of
 * `src/db/schema.ts` (`sessions`, `session_events`), which the list and event tests read back.
 */
import { viewOf } from "./model";
import type { SessionRecord } from "./model";
import type { SqlQuery } from "./d1-outbox";

const SESSION_COLUMNS = [
  "id",
  "tenant_id",
  "flow",
  "status",
  "nayax_transaction_id",
  "site_id",
  "machine_id",
  "hw_serial",
  "service_station_number",
  "authorized_amount",
  "settled_amount",
  "currency",
  "card_last4",
  "card_hash",
  "overdue",
  "last_sequence",
  "snapshot",
  "created_at",
  "updated_at",
] as const;
const IMMUTABLE = new Set(["id", "tenant_id", "created_at"]);

/** Idempotent, and an older snapshot never overwrites a newer one, so replays and reordering are harmless. */
const UPSERT_SESSION = `INSERT INTO sessions (${SESSION_COLUMNS.join(", ")}) VALUES (${SESSION_COLUMNS.map(() => "?").join(", ")})
ON CONFLICT (id) DO UPDATE SET ${SESSION_COLUMNS.filter((c) => !IMMUTABLE.has(c)).map((c) => `${c} = excluded.${c}`).join(", ")}
WHERE sessions.last_sequence <= excluded.last_sequence`;

const INSERT_EVENT = `INSERT INTO session_events (id, tenant_id, session_id, sequence, type, body, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;

const query = (sql: string, params: unknown[]): SqlQuery => ({ toSQL: () => ({ sql, params }) });

/** The D1 write of a session's current state. */
export function sessionUpsert(record: SessionRecord, lastSequence: number): SqlQuery {
  return query(UPSERT_SESSION, [
    record.id,
    record.tenantId,
    record.flow,
    record.status,
    record.nayaxTransactionId,
    record.siteId,
    record.machineId,
    record.hwSerial,
    record.serviceStationNumber,
    record.authorizedAmount,
    record.settledAmount,
    record.currency,
    record.card?.last4 ?? null,
    record.card?.hash?.toLowerCase() ?? null,
    record.overdue ? 1 : 0,
    lastSequence,
    JSON.stringify(viewOf(record)),
    Date.parse(record.createdAt),
    Date.parse(record.updatedAt),
  ]);
}

/** The D1 write of one event of the session (ignored when it is already there). */
export function eventInsert(record: SessionRecord, event: { id: string; type: string; sequence: number; body: string; createdAt: number }): SqlQuery {
  return query(INSERT_EVENT, [event.id, record.tenantId, record.id, event.sequence, event.type, event.body, event.createdAt]);
}
