import { sql } from "drizzle-orm";
import { database } from "../db/client";
import { sessionEvents, sessions } from "../db/schema";
import { viewOf } from "./model";
import type { SessionRecord } from "./model";

/**
 * Writes a session's current state and its not-yet-projected events to D1 in one batch.
 * Idempotent: events are keyed by id, and an older snapshot never overwrites a newer one.
 */
export async function projectSession(
  d1: D1Database,
  record: SessionRecord,
  lastSequence: number,
  events: Array<{ sequence: number; body: string; created_at: number }>,
): Promise<void> {
  const db = database(d1);
  const view = viewOf(record);
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
    snapshot: JSON.stringify(view),
    createdAt: Date.parse(record.createdAt),
    updatedAt: Date.parse(record.updatedAt),
  };
  const { id: _id, tenantId: _tenant, createdAt: _created, ...changes } = row;
  const upsert = db
    .insert(sessions)
    .values(row)
    .onConflictDoUpdate({
      target: sessions.id,
      set: changes,
      setWhere: sql`${sessions.lastSequence} <= excluded.last_sequence`,
    });
  const inserts = events.map((event) => {
    const body = JSON.parse(event.body) as { id: string; type: string };
    return db
      .insert(sessionEvents)
      .values({
        id: body.id,
        tenantId: record.tenantId,
        sessionId: record.id,
        sequence: event.sequence,
        type: body.type,
        body: event.body,
        createdAt: event.created_at,
      })
      .onConflictDoNothing();
  });
  await db.batch([upsert, ...inserts]);
}
