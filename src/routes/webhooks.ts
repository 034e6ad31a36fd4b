/** Tenant API: webhook endpoints — CRUD with health, secret rotation, test event, recovery. */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { database } from "../db/client";
import { paginate } from "../db/paging";
import { sessionEvents, webhookEndpoints } from "../db/schema";
import { randomId, sealerFor } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import { EVENT_TYPES } from "../sessions/model";
import type { EventType } from "../sessions/model";
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
import type { EndpointRow, EndpointView } from "../webhooks/endpoints";
import { sealHeaders } from "../webhooks/headers";
import { endpointHealth } from "../webhooks/health";
import type { EndpointHealth } from "../webhooks/health";
import { countRecoverable, startRecovery } from "../webhooks/recovery";
import type { RecoverySpec } from "../webhooks/recovery";
import { httpsUrlSchema, isReservedHeader } from "../webhooks/url-policy";
import { requireTenant } from "./auth";
import { decodeCursor, encodeCursor } from "./cursor";
import { requireJsonBody } from "./json-body";
import { openApiRouter } from "./openapi";
import { ListQuery, errorResponse, page, tenantErrors } from "./schemas";

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
  .openapi({
    description:
      "Extra headers sent with every delivery (often the receiver's own `Authorization`). Stored encrypted and never shown again: answers mask each value (`\"Bearer ****\"`, `\"****\"`). webhook-*, content-type, user-agent and the like are reserved.",
  });

const EventTypes = z.array(z.enum(EVENT_TYPES)).min(1).nullable().openapi({ description: "Only these event types; null for all." });

const Health = z
  .object({
    lastSuccessAt: z.string().nullable(),
    lastFailureAt: z.string().nullable(),
    lastError: z.string().nullable().openapi({ description: "What the last failed attempt got, e.g. `HTTP 500`." }),
    recentSuccessRate: z.string().nullable().openapi({ description: "Share of the last 24 h's attempts that succeeded, \"0\" to \"1\" with at most 2 decimals; null without attempts.", example: "0.97" }),
    pendingCount: z.number().int().openapi({ description: "Events whose delivery to this endpoint is pending." }),
    nextAttemptAt: z.string().nullable().openapi({ description: "The earliest attempt due among them; null when none is scheduled." }),
  })
  .openapi("EndpointHealth");

export const Endpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    eventTypes: z.array(z.enum(EVENT_TYPES)).nullable(),
    headers: z.record(z.string(), z.string()).openapi({ description: "The custom header names, each value masked.", example: { Authorization: "Bearer ****" } }),
    createdAt: z.string(),
    health: Health,
  })
  .openapi("WebhookEndpoint");

const EndpointInput = z
  .object({ url: httpsUrlSchema, eventTypes: EventTypes.optional(), enabled: z.boolean().optional(), headers: Headers.optional() })
  .openapi("WebhookEndpointInput");
const EndpointUpdate = z
  .object({ url: httpsUrlSchema.optional(), eventTypes: EventTypes.optional(), enabled: z.boolean().optional(), headers: Headers.optional() })
  .openapi("WebhookEndpointUpdate");

const RecoverInput = z
  .object({ since: z.iso.datetime({ offset: true }).openapi({ example: "2026-01-01T00:00:00Z", description: "Recover events created at or after this time." }) })
  .openapi("RecoverInput");


/** The description of the endpoint list, shared with the operator's view. */
export const ENDPOINT_LIST_DESCRIPTION =
  "Newest first, each endpoint with its `health`: last success and failure, the last error, the last 24 h's success rate, how many events wait for it and when its next attempt is due. Header values are masked; signing secrets are never shown. Unknown query parameters are refused (400).";

const routes = {
  list: createRoute({
    method: "get",
    path: "/webhook-endpoints",
    tags: ["Webhooks"],
    security,
    summary: "List webhook endpoints",
    description: ENDPOINT_LIST_DESCRIPTION,
    request: { query: ListQuery },
    responses: { 200: json(page(Endpoint, "WebhookEndpointList"), "Endpoints, newest first"), ...tenantErrors(400) },
  }),
  create: createRoute({
    method: "post",
    path: "/webhook-endpoints",
    tags: ["Webhooks"],
    security,
    summary: "Create a webhook endpoint",
    description:
      "Registers a URL for signed webhooks: `https://`, or `http://` on a loopback host only; a URL carrying credentials (`user:pw@`) is refused (400). `eventTypes` filters what it receives (null: everything); `headers` adds up to 10 headers of your own. The signing secret (`whsec_…`) is in this answer only. A new endpoint receives the events created from now on; nothing from the past.",
    request: body(EndpointInput),
    responses: { 201: json(Endpoint.extend({ secret: z.string() }), "The endpoint, with its signing secret shown once"), ...tenantErrors(400, 413) },
  }),
  read: createRoute({
    method: "get",
    path: "/webhook-endpoints/{id}",
    tags: ["Webhooks"],
    security,
    summary: "Read a webhook endpoint",
    description: "The endpoint with its health; header values masked, no secret.",
    request: { params: IdParam },
    responses: { 200: json(Endpoint, "The endpoint"), ...tenantErrors(404) },
  }),
  update: createRoute({
    method: "patch",
    path: "/webhook-endpoints/{id}",
    tags: ["Webhooks"],
    security,
    summary: "Change a webhook endpoint",
    description:
      "Changes the URL, `enabled`, the `eventTypes` filter or the custom headers (given headers replace all of them). The body must be sent as `application/json` (else 415). Re-enabling sends nothing from the past: use recover.",
    middleware: [requireJsonBody] as const,
    request: { params: IdParam, ...body(EndpointUpdate) },
    responses: { 200: json(Endpoint, "The endpoint"), ...tenantErrors(400, 404, 413, 415) },
  }),
  remove: createRoute({
    method: "delete",
    path: "/webhook-endpoints/{id}",
    tags: ["Webhooks"],
    security,
    summary: "Delete a webhook endpoint",
    description: "Stops every delivery to it, pending ones included. Its recorded deliveries and attempts stay in the events' history.",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...tenantErrors(404, 413) },
  }),
  rotate: createRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/rotate-secret",
    tags: ["Webhooks"],
    security,
    summary: "Rotate the signing secret",
    description: "Answers the new secret, once. For 24 h every delivery carries two signatures, with the new and the previous secret, so the receiver can switch without losing events.",
    request: { params: IdParam },
    responses: { 200: json(z.object({ secret: z.string() }), "The new secret, shown once; the old one keeps signing for 24 h"), ...tenantErrors(404, 413) },
  }),
  test: createRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/test",
    tags: ["Webhooks"],
    security,
    summary: "Send a test event",
    description: "Sends one signed `webhook.test` event to the endpoint now, once (no retries), and answers what the receiver did. The event and its attempt are kept like any other.",
    request: { params: IdParam },
    responses: {
      200: json(
        z.object({ eventId: z.string(), delivered: z.boolean(), status: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number() }),
        "A webhook.test event was sent once, now",
      ),
      ...tenantErrors(404, 413),
    },
  }),
  recover: createRoute({
    method: "post",
    path: "/webhook-endpoints/{id}/recover",
    tags: ["Webhooks"],
    security,
    summary: "Re-send what the endpoint missed",
    description:
      "Queues again every session event created since `since` (until now) whose delivery to this endpoint failed (retries given up), was skipped (the endpoint was disabled) or is still pending. " +
      "Failed and skipped events are sent again; a pending event in its retry wait is tried now instead of at its next scheduled time; a pending event waiting behind an earlier one follows it. " +
      "Each session's events go out in sequence order: none before the previous one was delivered or given up. `events` counts all of these and `sessions` the sessions they belong to. " +
      "The work runs in the background in bounded batches, so any number of events can be recovered; the answer comes at once. The endpoint must be enabled (409 when there is something to recover). `webhook.test` events are not recovered.",
    request: { params: IdParam, ...body(RecoverInput) },
    responses: {
      202: json(z.object({ events: z.number().int(), sessions: z.number().int() }), "Queued: the events to be sent again, in order, and their sessions"),
      ...tenantErrors(400, 404, 413),
      409: errorResponse("The endpoint is disabled and there is something to recover (`endpoint_disabled`)"),
    },
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

/** Endpoint views with their health, in the rows' order. */
async function withHealth(env: Env, rows: readonly EndpointRow[]): Promise<Array<EndpointView & { health: EndpointHealth }>> {
  const sealer = sealerFor(env.ENCRYPTION_KEY);
  const [views, health] = await Promise.all([Promise.all(rows.map((row) => endpointView(sealer, row))), endpointHealth(env.DB, rows.map((r) => r.id))]);
  return views.map((view) => ({ ...view, health: health.get(view.id)! }));
}

/** A page of a tenant's endpoints; the tenant's list and the operator's view both answer it. */
export async function endpointPage(env: Env, tenantId: string, query: z.infer<typeof ListQuery>) {
  const rows = await listEndpoints(database(env.DB), tenantId, query.limit, decodeCursor(query.cursor));
  const { page: found, next } = paginate(rows, query.limit);
  return { data: await withHealth(env, found), nextCursor: encodeCursor(next) };
}

webhookRoutes
  .openapi(routes.list, async (c) => c.json(await endpointPage(c.env, c.get("tenant").id, c.req.valid("query")), 200))
  .openapi(routes.create, async (c) => {
    const db = database(c.env.DB);
    const created = await newEndpoint(db, sealerFor(c.env.ENCRYPTION_KEY), c.get("tenant").id, c.req.valid("json"));
    await created.insert.run();
    forgetEndpoints();
    const [health] = (await endpointHealth(c.env.DB, [created.view.id])).values();
    return c.json({ ...created.view, health: health!, secret: created.secret }, 201);
  })
  .openapi(routes.read, async (c) => {
    const [view] = await withHealth(c.env, [await owned(c.env, c.get("tenant").id, c.req.valid("param").id)]);
    return c.json(view!, 200);
  })
  .openapi(routes.update, async (c) => {
    const row = await owned(c.env, c.get("tenant").id, c.req.valid("param").id);
    const input = c.req.valid("json");
    const enabled = input.enabled ?? row.enabled;
    const changes = {
      url: input.url ?? row.url,
      enabled,
      disabledReason: enabled ? null : input.enabled === false ? "disabled by tenant" : row.disabledReason,
      eventTypes: input.eventTypes === undefined ? row.eventTypes : input.eventTypes === null ? null : JSON.stringify(input.eventTypes),
      headers: input.headers === undefined ? row.headers : await sealHeaders(sealerFor(c.env.ENCRYPTION_KEY), input.headers),
      updatedAt: Date.now(),
    };
    await database(c.env.DB).update(webhookEndpoints).set(changes).where(eq(webhookEndpoints.id, row.id));
    forgetEndpoints();
    const [view] = await withHealth(c.env, [{ ...row, ...changes }]);
    return c.json(view!, 200);
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
    const event = { id, type: "webhook.test", body: eventBody, createdAt: now, sessionId: null, sequence: null };
    await db.insert(sessionEvents).values({ id, tenantId, sessionId: null, sequence: null, type: "webhook.test", body: eventBody, createdAt: now });
    const outcome = await sendOnce(db, endpoint, event, "manual");
    return c.json({ eventId: id, delivered: outcome.ok, status: outcome.status, error: outcome.error, durationMs: outcome.durationMs }, 200);
  })
  .openapi(routes.recover, async (c) => {
    const tenantId = c.get("tenant").id;
    const row = await owned(c.env, tenantId, c.req.valid("param").id);
    const spec: RecoverySpec = {
      tenantId,
      endpoint: { id: row.id, tenantId, createdAtMs: row.createdAt, eventTypes: row.eventTypes ? (JSON.parse(row.eventTypes) as EventType[]) : null },
      since: Date.parse(c.req.valid("json").since),
      until: Date.now(),
    };
    const queued = await countRecoverable(database(c.env.DB), spec);
    if (queued.events > 0) {
      if (!row.enabled) throw new ApiError(409, "endpoint_disabled", "enable the endpoint before recovering to it");
      await startRecovery(c.env, spec);
    }
    return c.json(queued, 202);
  });
