/** One signed delivery of one event to one endpoint, with its attempt recorded in D1. */
import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { deliveries, deliveryAttempts, webhookEndpoints } from "../db/schema";
import { attemptDelivery } from "./attempt";
import type { AttemptOutcome } from "./attempt";
import { forgetEndpoints } from "./endpoints";
import type { DeliveryEndpoint } from "./endpoints";
import { webhookHeaders } from "./signing";

export type DeliveryState = "pending" | "delivered" | "failed" | "skipped";

export interface StoredEvent {
  id: string;
  type: string;
  body: string;
  createdAt: number;
}

/** Signs and POSTs `event` to `endpoint` once; never throws for the receiver's failures. */
export async function sendSigned(endpoint: DeliveryEndpoint, event: StoredEvent): Promise<AttemptOutcome> {
  const signed = await webhookHeaders({ id: event.id, timestamp: Math.floor(Date.now() / 1000), body: event.body, secrets: endpoint.secrets });
  // The tenant's own headers first, so nothing it configured can replace the signature headers.
  return attemptDelivery({ url: endpoint.url, headers: { ...endpoint.headers, ...signed }, body: event.body });
}

/**
 * One attempt outside any session's outbox (the test event, redelivering it): sends now, records
 * the attempt as final, and disables the endpoint on `410 Gone` like the outbox does.
 */
export async function sendOnce(db: Database, endpoint: DeliveryEndpoint, event: StoredEvent): Promise<AttemptOutcome> {
  const at = Date.now();
  const outcome = await sendSigned(endpoint, event);
  await db.batch([attemptInsert(db, endpoint, event, outcome, at), upsertDelivery(db, endpoint, event, outcome.ok ? "delivered" : "failed", 1)]);
  if (outcome.gone) await disableGoneEndpoint(db, endpoint.id);
  return outcome;
}

/** The D1 write of one attempt: when, what the receiver answered, how long it took. */
export function attemptInsert(db: Database, endpoint: DeliveryEndpoint, event: StoredEvent, outcome: AttemptOutcome, at: number) {
  return db.insert(deliveryAttempts).values({
    eventId: event.id,
    endpointId: endpoint.id,
    tenantId: endpoint.tenantId,
    attemptedAt: at,
    status: outcome.status,
    error: outcome.error,
    durationMs: outcome.durationMs,
    responseExcerpt: outcome.responseExcerpt,
  });
}

/** Where an event stands for an endpoint. */
export function upsertDelivery(db: Database, endpoint: DeliveryEndpoint, event: StoredEvent, state: DeliveryState, attempts: number) {
  const now = Date.now();
  return db
    .insert(deliveries)
    .values({ eventId: event.id, endpointId: endpoint.id, tenantId: endpoint.tenantId, state, attempts, eventCreatedAt: event.createdAt, updatedAt: now })
    .onConflictDoUpdate({ target: [deliveries.eventId, deliveries.endpointId], set: { state, attempts: sql`excluded.attempts`, updatedAt: now } });
}

/** A `410 Gone` answer: the receiver asked to be forgotten. */
export async function disableGoneEndpoint(db: Database, endpointId: string): Promise<void> {
  await db
    .update(webhookEndpoints)
    .set({ enabled: false, disabledReason: "endpoint answered 410 Gone", updatedAt: Date.now() })
    .where(eq(webhookEndpoints.id, endpointId));
  forgetEndpoints();
}
