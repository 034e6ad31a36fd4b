/** Tenant API: events, where each stands for each endpoint, their delivery attempts, and redelivery. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, or } from "drizzle-orm";
import { database } from "../db/client";
import { paginate } from "../db/paging";
import type { Cursor } from "../db/paging";
import { deliveries, deliveryAttempts, sessionEvents } from "../db/schema";
import { sealerFor } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { EVENT_TYPES } from "../sessions/model";
import { sessionStub } from "../sessions/stub";
import { sendOnce } from "../webhooks/deliver";
import type { ResendTarget } from "../webhooks/dispatcher";
import { deliveriesOf, listEvents } from "../webhooks/event-queries";
import { deliveryEndpoints } from "../webhooks/endpoints";
import type { DeliveryEndpoint } from "../webhooks/endpoints";
import { requireTenant } from "./auth";
import { decodeCursor, encodeCursor } from "./cursor";
import { openApiRouter } from "./openapi";
import { DELIVERY_STATUSES, EventWithDeliveries, ListQuery, errorResponse, page, tenantErrors } from "./schemas";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const security = [{ ApiKey: [] }];
const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "evt_…" }) });

/** How long attempts are kept in D1 (deleted daily by the scheduled handler). */
export const ATTEMPT_RETENTION_DAYS = 30;

type EventView = z.infer<typeof EventWithDeliveries>;

const Attempt = z
  .object({
    endpointId: z.string(),
    attemptedAt: z.string(),
    status: z.number().int().nullable().openapi({ description: "HTTP status of the answer; null when none came (network error, timeout)." }),
    error: z.string().nullable(),
    durationMs: z.number().int(),
    responseExcerpt: z.string().nullable(),
    trigger: z.enum(["scheduled", "manual", "recover"]).openapi({ description: "`scheduled`: the delivery schedule (the first, immediate attempt included); `manual`: a redeliver; `recover`: a recover." }),
    nextAttemptAt: z.string().nullable().openapi({ description: "When the next attempt of this delivery was due after this one; null when none was." }),
  })
  .openapi("DeliveryAttempt");

const RedeliverInput = z.object({ endpointId: z.string().optional() }).openapi("RedeliverInput");

/** Filters of the events list, shared with the operator's view of a tenant's events. */
export const EventListQuery = ListQuery.extend({
  sessionId: z.string().optional().openapi({ description: "Only this session's events." }),
  type: z.enum(EVENT_TYPES).optional(),
  endpointId: z.string().optional().openapi({ description: "Only events meant for this endpoint (with `deliveryStatus`: whose delivery to it has that status)." }),
  deliveryStatus: z.enum(DELIVERY_STATUSES).optional().openapi({ description: "Only events whose delivery to `endpointId`, or to any endpoint, has this status." }),
});

/** The description of the events list, shared with the operator's view. */
export const EVENT_LIST_DESCRIPTION =
  "Newest first, each event as it was signed and sent, with `deliveries`: one per endpoint it is meant for, with its status, attempts and next attempt. " +
  "Filter by session, type, endpoint and delivery status. The list is read from the history, which trails a webhook by one write batch (milliseconds): " +
  "an event a receiver is being sent right now may be missing for that long. Unknown query parameters are refused (400).";

const routes = {
  list: createRoute({
    method: "get",
    path: "/events",
    tags: ["Events"],
    security,
    summary: "List events",
    description: EVENT_LIST_DESCRIPTION,
    request: { query: EventListQuery },
    responses: { 200: json(page(EventWithDeliveries, "EventList"), "Events, newest first (a session's own timeline is oldest first)"), ...tenantErrors(400) },
  }),
  read: createRoute({
    method: "get",
    path: "/events/{id}",
    tags: ["Events"],
    security,
    summary: "Read an event",
    description: "The event exactly as it was signed and sent, with where it stands for each endpoint it is meant for (`deliveries`).",
    request: { params: IdParam },
    responses: { 200: json(EventWithDeliveries, "The event, as it was signed and sent, with its deliveries"), ...tenantErrors(404) },
  }),
  attempts: createRoute({
    method: "get",
    path: "/events/{id}/attempts",
    tags: ["Events"],
    security,
    summary: "List an event's delivery attempts",
    description: `Every attempt to deliver the event, to every endpoint, oldest first: when, the HTTP status or the error, how long it took, an excerpt of the answer, what caused it (\`trigger\`) and when the next attempt was due. Kept ${ATTEMPT_RETENTION_DAYS} days. Unknown query parameters are refused (400).`,
    request: { params: IdParam, query: ListQuery },
    responses: { 200: json(page(Attempt, "DeliveryAttemptList"), `Every delivery attempt, oldest first (kept ${ATTEMPT_RETENTION_DAYS} days)`), ...tenantErrors(400, 404) },
  }),
  redeliver: createRoute({
    method: "post",
    path: "/events/{id}/redeliver",
    tags: ["Events"],
    security,
    summary: "Send an event again",
    description:
      "Sends the event again with the same `webhook-id`. With `endpointId`, to that endpoint (it must be enabled); without, to each enabled endpoint the event is meant for whose delivery is not `delivered`. " +
      "Order still holds: when an earlier event of the session is still pending at an endpoint, this one goes out after it; when this event is the one pending, it is tried now, and once it succeeds no scheduled retry sends it again. " +
      "Answers the endpoints it was queued for.",
    request: {
      params: IdParam,
      body: { content: { "application/json": { schema: RedeliverInput } }, required: false },
    },
    responses: {
      202: json(z.object({ eventId: z.string(), endpointIds: z.array(z.string()) }), "Queued again with the same webhook-id"),
      ...tenantErrors(400, 404, 413),
      409: errorResponse("The endpoint named is disabled (`endpoint_disabled`)"),
    },
  }),
};

export const eventRoutes = openApiRouter();
eventRoutes.use("/events", requireTenant);
eventRoutes.use("/events/*", requireTenant);

async function ownedEvent(env: Env, tenantId: string, id: string) {
  const row = await database(env.DB)
    .select()
    .from(sessionEvents)
    .where(and(eq(sessionEvents.tenantId, tenantId), eq(sessionEvents.id, id)))
    .get();
  if (!row) throw notFound("event");
  return row;
}

/** A page of a tenant's events with their deliveries; the tenant's list and the operator's view both answer it. */
export async function eventPage(env: Env, tenantId: string, query: z.infer<typeof EventListQuery>) {
  const db = database(env.DB);
  const rows = await listEvents(db, tenantId, query, query.limit, decodeCursor(query.cursor));
  const { page: found, next } = paginate(rows, query.limit);
  const byEvent = await deliveriesOf(db, tenantId, found.map((r) => r.id));
  return { data: found.map((r) => withDeliveries(r.body, byEvent.get(r.id) ?? [])), nextCursor: encodeCursor(next) };
}

const withDeliveries = (body: string, list: EventView["deliveries"]): EventView => ({ ...(JSON.parse(body) as Omit<EventView, "deliveries">), deliveries: list });

/** An attempts cursor: the last attempt's time and (numeric) id. */
function attemptCursor(text: string | undefined): Cursor | null {
  const cursor = decodeCursor(text);
  if (cursor && !/^\d{1,15}$/.test(cursor.id)) throw new ApiError(400, "invalid_cursor", "cursor is not one this API gave out", [{ field: "cursor", message: "invalid" }]);
  return cursor;
}

const target = (endpoint: DeliveryEndpoint): ResendTarget => ({ id: endpoint.id, tenantId: endpoint.tenantId, createdAtMs: endpoint.createdAtMs, eventTypes: endpoint.eventTypes });

eventRoutes
  .openapi(routes.list, async (c) => c.json(await eventPage(c.env, c.get("tenant").id, c.req.valid("query")), 200))
  .openapi(routes.read, async (c) => {
    const tenantId = c.get("tenant").id;
    const row = await ownedEvent(c.env, tenantId, c.req.valid("param").id);
    const byEvent = await deliveriesOf(database(c.env.DB), tenantId, [row.id]);
    return c.json(withDeliveries(row.body, byEvent.get(row.id) ?? []), 200);
  })
  .openapi(routes.attempts, async (c) => {
    const row = await ownedEvent(c.env, c.get("tenant").id, c.req.valid("param").id);
    const query = c.req.valid("query");
    const cursor = attemptCursor(query.cursor);
    const attempts = await database(c.env.DB)
      .select()
      .from(deliveryAttempts)
      .where(
        and(
          eq(deliveryAttempts.eventId, row.id),
          cursor
            ? or(gt(deliveryAttempts.attemptedAt, cursor.createdAt), and(eq(deliveryAttempts.attemptedAt, cursor.createdAt), gt(deliveryAttempts.id, Number(cursor.id))))
            : undefined,
        ),
      )
      .orderBy(asc(deliveryAttempts.attemptedAt), asc(deliveryAttempts.id))
      .limit(query.limit + 1);
    const { page: found, next } = paginate(
      attempts.map((a) => ({ ...a, createdAt: a.attemptedAt, id: String(a.id) })),
      query.limit,
    );
    return c.json(
      {
        data: found.map((a) => ({
          endpointId: a.endpointId,
          attemptedAt: new Date(a.attemptedAt).toISOString(),
          status: a.status,
          error: a.error,
          durationMs: a.durationMs,
          responseExcerpt: a.responseExcerpt,
          trigger: a.trigger,
          nextAttemptAt: a.nextAttemptAt === null ? null : new Date(a.nextAttemptAt).toISOString(),
        })),
        nextCursor: encodeCursor(next),
      },
      200,
    );
  })
  .openapi(routes.redeliver, async (c) => {
    const tenantId = c.get("tenant").id;
    const row = await ownedEvent(c.env, tenantId, c.req.valid("param").id);
    const endpointId = redeliverInput(await c.req.text());
    const db = database(c.env.DB);
    const all = await deliveryEndpoints(db, sealerFor(c.env.ENCRYPTION_KEY), tenantId);
    let targets: DeliveryEndpoint[];
    if (endpointId !== undefined) {
      const named = all.find((e) => e.id === endpointId);
      if (!named) throw notFound("webhook endpoint");
      // A disabled endpoint would only record the event as skipped: say so rather than answer 202.
      if (!named.enabled) throw new ApiError(409, "endpoint_disabled", "enable the endpoint before redelivering to it");
      targets = [named];
    } else {
      targets = all.filter((e) => e.enabled && (!e.eventTypes || e.eventTypes.includes(row.type as never)));
    }
    let queued: string[];
    if (row.sessionId !== null && row.sequence !== null) {
      const filter = endpointId !== undefined ? "all" : "owed";
      const request = { endpoints: targets.map(target), sequences: [row.sequence], trigger: "manual" as const, filter: filter as "all" | "owed" };
      queued = (await sessionStub(c.env, row.sessionId).resend(tenantId, request)) ?? [];
    } else {
      // Events outside a session (webhook.test) are sent straight away, by default to the endpoints they went to and did not reach.
      if (endpointId === undefined) targets = await notDelivered(c.env, row.id, targets);
      const event = { id: row.id, type: row.type, body: row.body, createdAt: row.createdAt, sessionId: null, sequence: null };
      await Promise.all(targets.map((endpoint) => sendOnce(db, endpoint, event, "manual")));
      queued = targets.map((e) => e.id);
    }
    return c.json({ eventId: row.id, endpointIds: queued }, 202);
  });

/** The endpoints among `targets` that have a delivery of `eventId` not delivered. */
async function notDelivered(env: Env, eventId: string, targets: DeliveryEndpoint[]): Promise<DeliveryEndpoint[]> {
  const rows = await database(env.DB).select({ endpointId: deliveries.endpointId, state: deliveries.state }).from(deliveries).where(eq(deliveries.eventId, eventId));
  const owed = new Set(rows.filter((r) => r.state !== "delivered").map((r) => r.endpointId));
  return targets.filter((e) => owed.has(e.id));
}

/**
 * The optional body of a redeliver. The route's validator skips a body not sent as JSON, so it is
 * checked here under any Content-Type: empty, or a JSON object with an optional `endpointId`.
 */
function redeliverInput(text: string): string | undefined {
  if (!text.trim()) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "body is not valid JSON");
  }
  const parsed = RedeliverInput.safeParse(body);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "body", message: i.message }));
    throw new ApiError(400, "invalid_request", details.map((d) => `${d.field}: ${d.message}`).join("; "), details);
  }
  return parsed.data.endpointId;
}
