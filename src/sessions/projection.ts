import { sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { sessionEvents, sessions } from "../db/schema";
import { viewOf } from "./model";
import type { SessionRecord } from "./model";

/**
 * The D1 write that mirrors a session's current state. Idempotent, and an older snapshot never
 * overwrites a newer one, so replays and reordering are harmless.
 */
export function sessionUpsert(db: Database, record: SessionRecord, lastSequence: number) {
  const row = {
    id: record.id,
    tenantId: record.tenantId,
    flow: record.flow,
    status: record.status,
    nayaxTransactionId: record.nayaxTransactionId,
    siteId: record.siteId,
    machineId: record.machineId,
    hwSerial: record.hwSerial,
    serviceStationNumber: record.serviceStationNumber,
    authorizedAmount: record.authorizedAmount,
    settledAmount: record.settledAmount,
    currency: record.currency,
    cardLast4: record.card?.last4 ?? null,
    cardHash: record.card?.hash?.toLowerCase() ?? null,
    overdue: record.overdue,
    lastSequence,
    snapshot: JSON.stringify(viewOf(record)),
    createdAt: Date.parse(record.createdAt),
    updatedAt: Date.parse(record.updatedAt),
  };
  const { id: _id, tenantId: _tenant, createdAt: _created, ...changes } = row;
  return db
    .insert(sessions)
    .values(row)
    .onConflictDoUpdate({ target: sessions.id, set: changes, setWhere: sql`${sessions.lastSequence} <= excluded.last_sequence` });
}

/** The D1 write of one event of the session (ignored when it is already there). */
export function eventInsert(db: Database, record: SessionRecord, event: { id: string; type: string; sequence: number; body: string; createdAt: number }) {
  return db
    .insert(sessionEvents)
    .values({ id: event.id, tenantId: record.tenantId, sessionId: record.id, sequence: event.sequence, type: event.type, body: event.body, createdAt: event.createdAt })
    .onConflictDoNothing();
}
