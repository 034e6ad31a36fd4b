/** Tenant API: events, their delivery attempts, and redelivery. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq } from "drizzle-orm";
import { after, paginate } from "../db/paging";
import { database } from "../db/client";
import { deliveryAttempts, sessionEvents } from "../db/schema";
import { sealerFor } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { EVENT_TYPES } from "../sessions/model";
import { sessionStub } from "../sessions/stub";
import { sendOnce } from "../webhooks/deliver";
import { deliveryEndpoints } from "../webhooks/endpoints";
import { requireTenant } from "./auth";
import { decodeCursor, encodeCursor } from "./cursor";
import { openApiRouter } from "./openapi";
import { Event, ListQuery, errorResponses, page } from "./schemas";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const security = [{ ApiKey: [] }];
const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "evt_…" }) });

/** How long attempts are kept in D1 (deleted daily by the scheduled handler). */
export const ATTEMPT_RETENTION_DAYS = 30;

const Attempt = z
  .object({
    endpointId: z.string(),
    attemptedAt: z.string(),
    status: z.number().int().nullable(),
    error: z.string().nullable(),
    durationMs: z.number().int(),
    responseExcerpt: z.string().nullable(),
  })
  .openapi("DeliveryAttempt");

const RedeliverInput = z.object({ endpointId: z.string().optional() }).openapi("RedeliverInput");

const routes = {
  list: createRoute({
    method: "get",
    path: "/events",
    tags: ["Events"],
    security,
    request: { query: ListQuery.extend({ sessionId: z.string().optional(), type: z.enum(EVENT_TYPES).optional() }) },
    responses: { 200: json(page(Event, "EventList"), "Events, newest first (a session's own timeline is oldest first)"), ...errorResponses },
  }),
  read: createRoute({ method: "get", path: "/events/{id}", tags: ["Events"], security, request: { params: IdParam }, responses: { 200: json(Event, "The event, as it was signed and sent"), ...errorResponses } }),
  attempts: createRoute({
    method: "get",
    path: "/events/{id}/attempts",
    tags: ["Events"],
    security,
    request: { params: IdParam },
    responses: { 200: json(z.object({ data: z.array(Attempt), nextCursor: z.string().nullable() }), `Every delivery attempt, oldest first (kept ${ATTEMPT_RETENTION_DAYS} days)`), ...errorResponses },
  }),
  redeliver: createRoute({
    method: "post",
    path: "/events/{id}/redeliver",
    tags: ["Events"],
    security,
    request: {
      params: IdParam,
      body: { content: { "application/json": { schema: RedeliverInput } }, required: false },
    },
    responses: { 202: json(z.object({ eventId: z.string(), endpointIds: z.array(z.string()) }), "Queued again with the same webhook-id"), ...errorResponses },
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

eventRoutes
  .openapi(routes.list, async (c) => {
    const q = c.req.valid("query");
    const cursor = decodeCursor(q.cursor);
    const rows = await database(c.env.DB)
      .select({ body: sessionEvents.body, createdAt: sessionEvents.createdAt, id: sessionEvents.id })
      .from(sessionEvents)
      .where(
        and(
          eq(sessionEvents.tenantId, c.get("tenant").id),
          q.sessionId ? eq(sessionEvents.sessionId, q.sessionId.toLowerCase()) : undefined,
          q.type ? eq(sessionEvents.type, q.type) : undefined,
          after(cursor, sessionEvents.createdAt, sessionEvents.id),
        ),
      )
      .orderBy(desc(sessionEvents.createdAt), desc(sessionEvents.id))
      .limit(q.limit + 1);
    const { page: found, next } = paginate(rows, q.limit);
    return c.json({ data: found.map((r) => JSON.parse(r.body) as z.infer<typeof Event>), nextCursor: encodeCursor(next) }, 200);
  })
  .openapi(routes.read, async (c) => {
    const row = await ownedEvent(c.env, c.get("tenant").id, c.req.valid("param").id);
    return c.json(JSON.parse(row.body) as z.infer<typeof Event>, 200);
  })
  .openapi(routes.attempts, async (c) => {
    const row = await ownedEvent(c.env, c.get("tenant").id, c.req.valid("param").id);
    const attempts = await database(c.env.DB)
      .select()
      .from(deliveryAttempts)
      .where(eq(deliveryAttempts.eventId, row.id))
      .orderBy(asc(deliveryAttempts.attemptedAt), asc(deliveryAttempts.id));
    return c.json(
      {
        data: attempts.map((a) => ({
          endpointId: a.endpointId,
          attemptedAt: new Date(a.attemptedAt).toISOString(),
          status: a.status,
          error: a.error,
          durationMs: a.durationMs,
          responseExcerpt: a.responseExcerpt,
        })),
        nextCursor: null,
      },
      200,
    );
  })
  .openapi(routes.redeliver, async (c) => {
    const tenantId = c.get("tenant").id;
    const row = await ownedEvent(c.env, tenantId, c.req.valid("param").id);
    // The body is optional, so the route's validator skips it unless it is sent as JSON: check it here under any Content-Type.
    const text = await c.req.text();
    let endpointId: string | undefined;
    if (text.trim()) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new ApiError(400, "invalid_json", "body is not valid JSON");
      }
      const parsed = RedeliverInput.safeParse(json);
      if (!parsed.success) {
        const details = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "body", message: i.message }));
        throw new ApiError(400, "invalid_request", details.map((d) => `${d.field}: ${d.message}`).join("; "), details);
      }
      endpointId = parsed.data.endpointId;
    }
    const db = database(c.env.DB);
    const endpoints = (await deliveryEndpoints(db, sealerFor(c.env.ENCRYPTION_KEY), tenantId)).filter(
      (e) => (endpointId ? e.id === endpointId : e.enabled && (!e.eventTypes || e.eventTypes.includes(row.type as never))),
    );
    if (endpointId && endpoints.length === 0) throw notFound("webhook endpoint");
    // A disabled endpoint would only record the event as skipped: say so rather than answer 202.
    if (endpointId && !endpoints[0]!.enabled) throw new ApiError(409, "endpoint_disabled", "enable the endpoint before redelivering to it");
    if (row.sessionId !== null && row.sequence !== null) {
      await sessionStub(c.env, row.sessionId).resend(tenantId, endpoints.map((e) => e.id), [row.sequence]);
    } else {
      // Events outside a session (webhook.test) are sent straight away.
      const event = { id: row.id, type: row.type, body: row.body, createdAt: row.createdAt };
      await Promise.all(endpoints.map((endpoint) => sendOnce(db, endpoint, event)));
    }
    return c.json({ eventId: row.id, endpointIds: endpoints.map((e) => e.id) }, 202);
  });
