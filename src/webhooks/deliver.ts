/** One signed delivery of one event to one endpoint, and the D1 writes that record it. */
import { eq, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { commitStatements } from "../db/history-writer";
import { prepared } from "../db/prepared";
import { deliveries, deliveryAttempts, webhookEndpoints } from "../db/schema";
import { log } from "../lib/log";
import type { SqlQuery } from "../sessions/d1-outbox";
import { attemptDelivery } from "./attempt";
import type { AttemptOutcome } from "./attempt";
import { forgetEndpoints } from "./endpoints";
import type { DeliveryEndpoint } from "./endpoints";
import { webhookHeaders } from "./signing";

export type DeliveryState = "pending" | "delivered" | "failed" | "skipped";

/** What caused an attempt: the delivery schedule (the first, immediate attempt included), a redeliver, or a recover. */
export type Trigger = "scheduled" | "manual" | "recover";

export interface StoredEvent {
  id: string;
  type: string;
  body: string;
  createdAt: number;
  /** The session it belongs to and its place there; null for events outside a session (`webhook.test`). */
  sessionId: string | null;
  sequence: number | null;
}

/** What the D1 records need of an endpoint. */
export type EndpointRef = Pick<DeliveryEndpoint, "id" | "tenantId">;

/** Where an event stands for one endpoint. Times are Unix ms. */
export interface DeliveryRecord {
  status: DeliveryState;
  /** Attempts made so far, re-sends included. */
  attempts: number;
  lastAttemptAt: number | null;
  /** When the next attempt is due; null when none is scheduled. */
  nextAttemptAt: number | null;
}

/** One attempt as it is recorded: what the receiver did, why it was made, and what comes next. */
export interface AttemptRecord {
  outcome: AttemptOutcome;
  at: number;
  trigger: Trigger;
  nextAttemptAt: number | null;
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
export async function sendOnce(db: Database, endpoint: DeliveryEndpoint, event: StoredEvent, trigger: Trigger): Promise<AttemptOutcome> {
  const at = Date.now();
  const outcome = await sendSigned(endpoint, event);
  const attempt: AttemptRecord = { outcome, at, trigger, nextAttemptAt: null };
  const state = outcome.ok ? "delivered" : "failed";
  const rows = [
    attemptInsert(db, endpoint, event, attempt),
    // Counted on top of what is recorded: a test event can be redelivered any number of times.
    upsertDelivery(db, endpoint, event, { status: state, attempts: 1, lastAttemptAt: at, nextAttemptAt: null }, { addAttempts: true }),
  ];
  await commitStatements(db.$client, rows.map((row) => row.toSQL()));
  if (!outcome.ok) logFailedAttempt(endpoint, event, attempt, null, false);
  if (outcome.gone) await disableGoneEndpoint(db, endpoint.id);
  return outcome;
}

/** The D1 write of one attempt: when, what the receiver answered, how long it took, why, and what is next. */
export function attemptInsert(db: Database, endpoint: EndpointRef, event: StoredEvent, attempt: AttemptRecord): SqlQuery {
  const { outcome } = attempt;
  return insertAttempt(db, {
    eventId: event.id,
    endpointId: endpoint.id,
    tenantId: endpoint.tenantId,
    attemptedAt: attempt.at,
    status: outcome.status,
    error: outcome.error,
    durationMs: outcome.durationMs,
    responseExcerpt: outcome.responseExcerpt,
    trigger: attempt.trigger,
    nextAttemptAt: attempt.nextAttemptAt,
  });
}

const insertAttempt = prepared((db, p) =>
  db.insert(deliveryAttempts).values({
    eventId: p("eventId"),
    endpointId: p("endpointId"),
    tenantId: p("tenantId"),
    attemptedAt: p("attemptedAt"),
    status: p("status"),
    error: p("error"),
    durationMs: p("durationMs"),
    responseExcerpt: p("responseExcerpt"),
    trigger: p("trigger"),
    nextAttemptAt: p("nextAttemptAt"),
  }),
);

/**
 * Where an event stands for an endpoint. Replays are harmless: the values are absolute, and the
 * writes of one session reach D1 in order. `addAttempts` adds to the recorded count instead.
 */
export function upsertDelivery(db: Database, endpoint: EndpointRef, event: StoredEvent, record: DeliveryRecord, options: { addAttempts?: boolean } = {}): SqlQuery {
  const row = {
    eventId: event.id,
    endpointId: endpoint.id,
    tenantId: endpoint.tenantId,
    sessionId: event.sessionId,
    sequence: event.sequence,
    state: record.status,
    attempts: record.attempts,
    lastAttemptAt: record.lastAttemptAt,
    nextAttemptAt: record.nextAttemptAt,
    eventCreatedAt: event.createdAt,
    updatedAt: Date.now(),
  };
  return (options.addAttempts ? addToDelivery : putDelivery)(db, row);
}

/** The delivery row, with `attempts` as given (`set`) or added to what D1 has (`add`). */
function deliveryUpsert(attempts: "set" | "add") {
  return prepared((db, p) =>
    db
      .insert(deliveries)
      .values({
        eventId: p("eventId"),
        endpointId: p("endpointId"),
        tenantId: p("tenantId"),
        sessionId: p("sessionId"),
        sequence: p("sequence"),
        state: p("state"),
        attempts: p("attempts"),
        lastAttemptAt: p("lastAttemptAt"),
        nextAttemptAt: p("nextAttemptAt"),
        eventCreatedAt: p("eventCreatedAt"),
        updatedAt: p("updatedAt"),
      })
      .onConflictDoUpdate({
        target: [deliveries.eventId, deliveries.endpointId],
        set: {
          state: sql`excluded.state`,
          attempts: attempts === "add" ? sql`${deliveries.attempts} + excluded.attempts` : sql`excluded.attempts`,
          lastAttemptAt: sql`excluded.last_attempt_at`,
          nextAttemptAt: sql`excluded.next_attempt_at`,
          updatedAt: sql`excluded.updated_at`,
        },
      }),
  );
}
const putDelivery = deliveryUpsert("set");
const addToDelivery = deliveryUpsert("add");

/**
 * The one log line of a failed attempt: ids, what the receiver did, the attempt's number and when
 * the next one is due. Never a header value, a body or a stack. When the delivery is given up
 * (retries exhausted, or `410 Gone`) the line says so, for alerting.
 */
export function logFailedAttempt(endpoint: EndpointRef, event: StoredEvent, attempt: AttemptRecord, attemptNumber: number | null, givenUp: boolean): void {
  const { status, error } = attempt.outcome;
  log.warn(givenUp ? "webhook given up" : "webhook attempt failed", {
    eventId: event.id,
    endpointId: endpoint.id,
    status,
    // With a status, just the status: the recorded error can quote the receiver's headers (a redirect's Location).
    error: status === null ? error : `HTTP ${status}`,
    attempt: attemptNumber,
    trigger: attempt.trigger,
    nextAttemptAt: attempt.nextAttemptAt === null ? null : new Date(attempt.nextAttemptAt).toISOString(),
  });
}

/** A `410 Gone` answer: the receiver asked to be forgotten. */
export async function disableGoneEndpoint(db: Database, endpointId: string): Promise<void> {
  await db
    .update(webhookEndpoints)
    .set({ enabled: false, disabledReason: "endpoint answered 410 Gone", updatedAt: Date.now() })
    .where(eq(webhookEndpoints.id, endpointId));
  forgetEndpoints();
}
