/** The events API's reads from D1: events filtered by how their deliveries stand, and each event's deliveries. */
import { and, asc, desc, eq, exists, inArray, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { after } from "../db/paging";
import type { Cursor } from "../db/paging";
import { deliveries, sessionEvents, webhookEndpoints } from "../db/schema";
import type { DeliveryState } from "./deliver";
import type { DeliveryView } from "./dispatcher";

/** D1 allows 100 bound parameters per query; event ids are looked up in chunks well below that. */
const IDS_PER_QUERY = 50;

export interface EventFilters {
  sessionId?: string | undefined;
  type?: string | undefined;
  /** Events with a delivery to this endpoint (with `deliveryStatus`: that delivery has it). */
  endpointId?: string | undefined;
  /** Events with a delivery (to `endpointId`, or to any endpoint) in this state. */
  deliveryStatus?: DeliveryState | undefined;
}

/** One row of an events page: the body as signed, and its place in the newest-first order. */
export interface EventRow {
  id: string;
  createdAt: number;
  body: string;
}

/** A page of the tenant's events, newest first, `limit + 1` rows (see `paginate`). */
export async function listEvents(db: Database, tenantId: string, filters: EventFilters, limit: number, cursor: Cursor | null): Promise<EventRow[]> {
  const ofEvent = and(
    eq(sessionEvents.tenantId, tenantId),
    filters.sessionId ? eq(sessionEvents.sessionId, filters.sessionId.toLowerCase()) : undefined,
    filters.type ? eq(sessionEvents.type, filters.type) : undefined,
  );
  if (filters.deliveryStatus) {
    // Driven by the deliveries in that state (an index range), not by every event of the tenant.
    return db
      .selectDistinct({ id: deliveries.eventId, createdAt: deliveries.eventCreatedAt, body: sessionEvents.body })
      .from(deliveries)
      .innerJoin(sessionEvents, eq(sessionEvents.id, deliveries.eventId))
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, deliveries.endpointId))
      .where(
        and(
          eq(deliveries.tenantId, tenantId),
          eq(deliveries.state, filters.deliveryStatus),
          filters.endpointId ? eq(deliveries.endpointId, filters.endpointId) : undefined,
          ofEvent,
          after(cursor, deliveries.eventCreatedAt, deliveries.eventId),
        ),
      )
      .orderBy(desc(deliveries.eventCreatedAt), desc(deliveries.eventId))
      .limit(limit + 1);
  }
  const toEndpoint = filters.endpointId
    ? exists(
        db
          .select({ one: sql`1` })
          .from(deliveries)
          .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, deliveries.endpointId))
          .where(and(eq(deliveries.eventId, sessionEvents.id), eq(deliveries.endpointId, filters.endpointId))),
      )
    : undefined;
  return db
    .select({ id: sessionEvents.id, createdAt: sessionEvents.createdAt, body: sessionEvents.body })
    .from(sessionEvents)
    .where(and(ofEvent, toEndpoint, after(cursor, sessionEvents.createdAt, sessionEvents.id)))
    .orderBy(desc(sessionEvents.createdAt), desc(sessionEvents.id))
    .limit(limit + 1);
}

/** Each event's deliveries as recorded in D1, by event id (ordered by endpoint id); a deleted endpoint's are left out. */
export async function deliveriesOf(db: Database, tenantId: string, eventIds: readonly string[]): Promise<Map<string, DeliveryView[]>> {
  const byEvent = new Map<string, DeliveryView[]>(eventIds.map((id) => [id, []]));
  const chunks: string[][] = [];
  for (let i = 0; i < eventIds.length; i += IDS_PER_QUERY) chunks.push(eventIds.slice(i, i + IDS_PER_QUERY));
  const found = await Promise.all(
    chunks.map((ids) =>
      db
        .select({
          eventId: deliveries.eventId,
          endpointId: deliveries.endpointId,
          state: deliveries.state,
          attempts: deliveries.attempts,
          lastAttemptAt: deliveries.lastAttemptAt,
          nextAttemptAt: deliveries.nextAttemptAt,
        })
        .from(deliveries)
        .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, deliveries.endpointId))
        .where(and(eq(deliveries.tenantId, tenantId), inArray(deliveries.eventId, ids)))
        .orderBy(asc(deliveries.eventId), asc(deliveries.endpointId)),
    ),
  );
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  for (const row of found.flat()) {
    byEvent.get(row.eventId)?.push({
      endpointId: row.endpointId,
      status: row.state,
      attempts: row.attempts,
      lastAttemptAt: iso(row.lastAttemptAt),
      nextAttemptAt: iso(row.nextAttemptAt),
    });
  }
  return byEvent;
}
