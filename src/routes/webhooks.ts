/** Tenant API: webhook endpoints — CRUD, secret rotation, test event, recovery. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gte, inArray } from "drizzle-orm";
import { database } from "../db/client";
import { paginate } from "../db/paging";
import { deliveries, sessionEvents, webhookEndpoints } from "../db/schema";
import { randomId, sealerFor } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { EVENT_TYPES } from "../sessions/model";
import { sessionStub } from "../sessions/stub";
import { sendOnce } from "../webhooks/deliver";
import {
  deliveryEndpoints,
  endpointView,
  forgetEndpoints,
  getEndpoint,
  listEndpoints,
  newEndpoint,
  rotateEndpointSecret,
} from "../webhooks/endpoints";
import { httpsUrlSchema, isReservedHeader } from "../webhooks/url-policy";
import { requireTenant } from "./auth";
import { decodeCursor, encodeCursor } from "./cursor";
import { openApiRouter } from "./openapi";
import { ListQuery, errorResponses, page } from "./schemas";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });
const security = [{ ApiKey: [] }];
const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "we_…" }) });

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Visible ASCII, spaces and tabs. A value with CR/LF or NUL makes every delivery fail before it
 * leaves (`fetch` refuses the header), and non-ASCII is not portable; both are refused here.
 */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
const Headers = z
  .record(z.string(), z.string().max(1024).regex(HEADER_VALUE, "must be visible ASCII, spaces and tabs only (no control characters)"))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 10) ctx.addIssue({ code: "custom", message: "at most 10 headers" });
    for (const name of names) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "is not a valid header name" });
      else if (isReservedHeader(name)) ctx.addIssue({ code: "custom", path: [name], message: "is reserved and cannot be overridden" });
    }
  })
  .openapi({ description: "Extra headers sent with every delivery. webhook-*, content-type, user-agent and the like are reserved." });

const EventTypes = z.array(z.enum(EVENT_TYPES)).min(1).nullable().openapi({ description: "Only these event types; null for all." });

const Endpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    eventTypes: z.array(z.enum(EVENT_TYPES)).nullable(),
    headers: z.record(z.string(), z.string()),
    createdAt: z.string(),
  })
  .openapi("WebhookEndpoint");

const EndpointInput = z
  .object({ url: httpsUrlSchema, eventTypes: EventTypes.optional(), enabled: z.boolean().optional(), headers: Headers.optional() })
  .openapi("WebhookEndpointInput");
const EndpointUpdate = z
  .object({ url: httpsUrlSchema.optional(), eventTypes: EventTypes.optional(), enabled: z.boolean().optional(), headers: Headers.optional() })
  .openapi("WebhookEndpointUpdate");

const routes = {
  list: createRoute({ method: "get", path: "/webhook-endpoints", tags: ["Webhooks"], security, request: { query: ListQuery }, responses: { 200: json(page(Endpoint, "WebhookEndpointList"), "Endpoints, newest first"), ...errorResponses } }),
  create: createRoute({
    method: "post",
    path: "/webhook-endpoints",
    tags: ["Webhooks"],
    security,
    request: body(EndpointInput),
    responses: { 201: json(Endpoint.extend({ secret: z.string() }), "The endpoint, with its signing secret shown once"), ...errorResponses },
  }),
  read: createRoute({ method: "get", path: "/webhook-endpoints/{id}", tags: ["Webhooks"], security, request: { params: IdParam }, responses: { 200: json(Endpoint, "The endpoint"), ...errorResponses } }),
  update: createRoute({ method: "patch", path: "/webhook-endpoints/{id}", tags: ["Webhooks"], security, request: { params: IdParam, ...body(EndpointUpdate) }, responses: { 200: json(Endpoint, "The endpoint"), ...errorResponses } }),
  remove: createRoute({ method: "delete", path: "/webhook-endpoints/{id}", tags: ["Webhooks"], security, request: { params: IdParam }, responses: { 204: { description: "Deleted" }, ...errorResponses } }),
  rotate: createRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/rotate-secret",
    tags: ["Webhooks"],
    security,
    request: { params: IdParam },
    responses: { 200: json(z.object({ secret: z.string() }), "The new secret, shown once; the old one keeps signing for 24 h"), ...errorResponses },
  }),
  test: createRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/test",
    tags: ["Webhooks"],
    security,
    request: { params: IdParam },
    responses: {
      200: json(
        z.object({ eventId: z.string(), delivered: z.boolean(), status: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number() }),
        "A webhook.test event was sent once, now",
      ),
      ...errorResponses,
    },
  }),
  recover: createRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/recover",
    tags: ["Webhooks"],
    security,
    request: { params: IdParam, ...body(z.object({ since: z.iso.datetime({ offset: true }).openapi({ example: "2026-01-01T00:00:00Z" }) })) },
    responses: { 202: json(z.object({ events: z.number().int(), sessions: z.number().int() }), "Failed and skipped events since then are queued again, in order"), ...errorResponses },
  }),
};

export const webhookRoutes = openApiRouter();
webhookRoutes.use("/webhook-endpoints", requireTenant);
webhookRoutes.use("/webhook-endpoints/*", requireTenant);

async function owned(env: Env, tenantId: string, id: string) {
  const row = await getEndpoint(database(env.DB), tenantId, id);
  if (!row) throw notFound("webhook endpoint");
  return row;
}

webhookRoutes
  .openapi(routes.list, async (c) => {
    const q = c.req.valid("query");
    const rows = await listEndpoints(database(c.env.DB), c.get("tenant").id, q.limit, decodeCursor(q.cursor));
    const { page: found, next } = paginate(rows, q.limit);
    return c.json({ data: found.map(endpointView), nextCursor: encodeCursor(next) }, 200);
  })
  .openapi(routes.create, async (c) => {
    const db = database(c.env.DB);
    const created = await newEndpoint(db, sealerFor(c.env.ENCRYPTION_KEY), c.get("tenant").id, c.req.valid("json"));
    await created.insert.run();
    forgetEndpoints();
    return c.json({ ...created.view, secret: created.secret }, 201);
  })
  .openapi(routes.read, async (c) => c.json(endpointView(await owned(c.env, c.get("tenant").id, c.req.valid("param").id)), 200))
  .openapi(routes.update, async (c) => {
    const row = await owned(c.env, c.get("tenant").id, c.req.valid("param").id);
    const input = c.req.valid("json");
    const enabled = input.enabled ?? row.enabled;
    const changes = {
      url: input.url ?? row.url,
      enabled,
      disabledReason: enabled ? null : input.enabled === false ? "disabled by tenant" : row.disabledReason,
      eventTypes: input.eventTypes === undefined ? row.eventTypes : input.eventTypes === null ? null : JSON.stringify(input.eventTypes),
      headers: input.headers === undefined ? row.headers : JSON.stringify(input.headers),
      updatedAt: Date.now(),
    };
    await database(c.env.DB).update(webhookEndpoints).set(changes).where(eq(webhookEndpoints.id, row.id));
    forgetEndpoints();
    return c.json(endpointView({ ...row, ...changes }), 200);
  })
  .openapi(routes.remove, async (c) => {
    const row = await owned(c.env, c.get("tenant").id, c.req.valid("param").id);
    await database(c.env.DB).delete(webhookEndpoints).where(eq(webhookEndpoints.id, row.id));
    forgetEndpoints();
    return c.body(null, 204);
  })
  .openapi(routes.rotate, async (c) => {
    const row = await owned(c.env, c.get("tenant").id, c.req.valid("param").id);
    const secret = await rotateEndpointSecret(database(c.env.DB), sealerFor(c.env.ENCRYPTION_KEY), row);
    return c.json({ secret }, 200);
  })
  .openapi(routes.test, async (c) => {
    const tenantId = c.get("tenant").id;
    const row = await owned(c.env, tenantId, c.req.valid("param").id);
    const db = database(c.env.DB);
    const endpoint = (await deliveryEndpoints(db, sealerFor(c.env.ENCRYPTION_KEY), tenantId)).find((e) => e.id === row.id);
    if (!endpoint) throw notFound("webhook endpoint");
    const now = Date.now();
    const id = randomId("evt_");
    const eventBody = JSON.stringify({ id, type: "webhook.test", timestamp: new Date(now).toISOString(), data: { endpointId: row.id } });
    const event = { id, type: "webhook.test", body: eventBody, createdAt: now };
    await db.insert(sessionEvents).values({ id, tenantId, sessionId: null, sequence: null, type: "webhook.test", body: eventBody, createdAt: now });
    const outcome = await sendOnce(db, endpoint, event);
    return c.json({ eventId: id, delivered: outcome.ok, status: outcome.status, error: outcome.error, durationMs: outcome.durationMs }, 200);
  })
  .openapi(routes.recover, async (c) => {
    const tenantId = c.get("tenant").id;
    const row = await owned(c.env, tenantId, c.req.valid("param").id);
    const since = Date.parse(c.req.valid("json").since);
    const rows = await database(c.env.DB)
      .select({ sessionId: sessionEvents.sessionId, sequence: sessionEvents.sequence })
      .from(deliveries)
      .innerJoin(sessionEvents, eq(sessionEvents.id, deliveries.eventId))
      .where(and(eq(deliveries.endpointId, row.id), inArray(deliveries.state, ["failed", "skipped"]), gte(deliveries.eventCreatedAt, since)))
      .orderBy(asc(sessionEvents.sessionId), asc(sessionEvents.sequence));
    const bySession = new Map<string, number[]>();
    for (const r of rows) {
      if (r.sessionId === null || r.sequence === null) continue;
      bySession.set(r.sessionId, [...(bySession.get(r.sessionId) ?? []), r.sequence]);
    }
    if (!row.enabled && bySession.size > 0) throw new ApiError(409, "endpoint_disabled", "enable the endpoint before recovering to it");
    await Promise.all([...bySession].map(([sessionId, sequences]) => sessionStub(c.env, sessionId).resend(tenantId, [row.id], sequences)));
    return c.json({ events: [...bySession.values()].reduce((n, s) => n + s.length, 0), sessions: bySession.size }, 202);
  });
