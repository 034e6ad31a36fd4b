/** Operator API under `/admin`: onboarding and managing tenants. */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { ApiError, notFound } from "../lib/errors";
import {
  addClaims,
  createTenant,
  getTenant,
  listTenants,
  removeMachineClaim,
  removeSiteClaim,
  rotateCredential,
  updateTenant,
} from "../tenants/service";
import { tenantById } from "../tenants/lookup";
import { httpsUrlSchema } from "../webhooks/url-policy";
import { mintLink, PORTAL_LINK_TTL_MS } from "../portal/store";
import { publicUrl } from "../portal/public-url";
import { requireAdmin } from "./auth";
import { decodeCursor, encodeCursor } from "./cursor";
import { EVENT_LIST_DESCRIPTION, EventListQuery, eventPage } from "./events";
import { requireJsonBody } from "./json-body";
import { openApiRouter } from "./openapi";
import { ENDPOINT_LIST_DESCRIPTION, Endpoint as WebhookEndpoint, endpointPage } from "./webhooks";
import { EventWithDeliveries, ListQuery, MoneyInput, Money, errorResponse, operatorErrors, page } from "./schemas";

const SiteId = z.number().int().min(0).max(2_147_483_647);
const MachineId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const MachineClaim = z.object({ siteId: SiteId, machineId: MachineId }).openapi("MachineClaim");

const SparkInput = z
  .object({
    baseUrl: httpsUrlSchema,
    tokenId: z.number().int().min(0).max(2_147_483_647),
    secretToken: z
      .string()
      .min(32, "must be at least 32 characters (the AES key is its rightmost 32)")
      .max(512)
      .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces (its rightmost 32 characters are the AES key)"),
    integratorId: z.union([z.string().min(1).max(64), z.number().int().transform(String)]),
    signKey: z.string().min(1).max(512),
  })
  .openapi("SparkCredentialsInput");

const TenantInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    siteIds: z.array(SiteId).max(1000).default([]),
    machines: z.array(MachineClaim).max(10_000).default([]),
    spark: SparkInput,
    webhookUrl: httpsUrlSchema.optional(),
    defaultPreAuthAmount: MoneyInput.optional(),
  })
  .refine((t) => t.siteIds.length + t.machines.length > 0, { message: "claim at least one SiteId or machine", path: ["siteIds"] })
  .openapi("TenantInput");

const Tenant = z
  .object({
    id: z.string().openapi({ example: "ten_…" }),
    name: z.string(),
    status: z.enum(["active", "disabled"]),
    siteIds: z.array(z.number().int()),
    machines: z.array(MachineClaim),
    spark: z.object({ baseUrl: z.string(), tokenId: z.number().int(), integratorId: z.string() }),
    defaultPreAuthAmount: Money,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Tenant");

const CreatedTenant = Tenant.extend({
  apiKey: z.string().openapi({ description: "Shown once." }),
  sparkCallbackSecret: z.string().openapi({ description: "Configure as Nayax's X-Spark-Secret header. Shown once." }),
  webhookEndpoint: z.object({ id: z.string(), url: z.string(), secret: z.string() }).nullable(),
}).openapi("CreatedTenant");

const TenantUpdate = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(["active", "disabled"]).optional(),
    defaultPreAuthAmount: MoneyInput.optional(),
    spark: SparkInput.partial().optional(),
  })
  .openapi("TenantUpdate");

const Claims = z
  .object({ siteIds: z.array(SiteId).max(1000).default([]), machines: z.array(MachineClaim).max(10_000).default([]) })
  .openapi("Claims");

const Rotation = z
  .object({ overlapSeconds: z.number().int().min(0).max(7 * 24 * 3600).optional().openapi({ description: "How long the previous secret keeps working; default 86400." }) })
  .openapi("RotationInput");

const IdParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
/** An integer path parameter (a coerced number reads as optional and nullable to the generator; a path parameter is neither). */
const pathInteger = (name: string) => z.coerce.number().int().openapi({ param: { name, in: "path", required: true }, type: "integer" });
const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });
const security = [{ AdminToken: [] }];
const claimed = { 409: errorResponse("A SiteId, machine or `spark.tokenId` is already claimed by another tenant (`conflict`)") };

const routes = {
  create: createRoute({
    method: "post",
    path: "/tenants",
    tags: ["Operator"],
    security,
    summary: "Onboard a tenant",
    description:
      "Creates a tenant with its Spark credentials (sealed at rest) and its claims: `siteIds`, and `machines` for shared sites (a machine claim wins over a site claim; another tenant may own the site). At least one claim. " +
      "Answers the tenant's `apiKey` and `sparkCallbackSecret` (configure it at Nayax as the `X-Spark-Secret` header), and with `webhookUrl` a first webhook endpoint and its secret: each shown once, then stored only hashed or encrypted, never logged. " +
      "A SiteId, a machine or `spark.tokenId` another tenant claims is `409`. `spark.baseUrl` and `webhookUrl` must be `https://` (`http://` on loopback hosts only) and carry no credentials (`400`). `defaultPreAuthAmount` (default `\"50.00\"`) is what InfoQuery answers when no station amount is set.",
    request: body(TenantInput),
    responses: { 201: json(CreatedTenant, "The tenant, with its secrets shown once"), ...operatorErrors(400, 413), ...claimed },
  }),
  list: createRoute({
    method: "get",
    path: "/tenants",
    tags: ["Operator"],
    security,
    summary: "List tenants",
    description: "Every tenant, newest first, a page at a time (`limit`, `cursor` → `nextCursor`). No secrets. Unknown query parameters are refused (400).",
    request: { query: ListQuery },
    responses: { 200: json(page(Tenant, "TenantList"), "Tenants, newest first"), ...operatorErrors(400) },
  }),
  read: createRoute({
    method: "get",
    path: "/tenants/{id}",
    tags: ["Operator"],
    security,
    summary: "Read a tenant",
    description: "The tenant with its claims, status and Spark settings; never a secret or a credential.",
    request: { params: IdParam },
    responses: { 200: json(Tenant, "The tenant"), ...operatorErrors(404) },
  }),
  update: createRoute({
    method: "patch",
    path: "/tenants/{id}",
    tags: ["Operator"],
    security,
    summary: "Change a tenant",
    description:
      "Changes the name, the status, the default pre-authorization amount or the Spark credentials (re-sealed at rest). The body must be sent as `application/json` (else 415); amounts are read exactly as written.",
    middleware: [requireJsonBody] as const,
    request: { params: IdParam, ...body(TenantUpdate) },
    responses: { 200: json(Tenant, "The updated tenant"), ...operatorErrors(400, 404, 413, 415), 409: errorResponse("`spark.tokenId` is already used by another tenant (`conflict`)") },
  }),
  disable: createRoute({
    method: "post",
    path: "/tenants/{id}/disable",
    tags: ["Operator"],
    security,
    summary: "Disable a tenant",
    description: "Its API keys and callback secret stop working at once (Spark's callbacks for it are then `401`); its claims stay reserved and its data is kept. Enable it to undo.",
    request: { params: IdParam },
    responses: { 200: json(Tenant, "Disabled: its keys and callback secret stop working; claims stay reserved"), ...operatorErrors(404, 413) },
  }),
  enable: createRoute({
    method: "post",
    path: "/tenants/{id}/enable",
    tags: ["Operator"],
    security,
    summary: "Enable a tenant",
    description: "Undoes a disable: its current API keys and callback secret work again.",
    request: { params: IdParam },
    responses: { 200: json(Tenant, "Enabled again"), ...operatorErrors(404, 413) },
  }),
  addClaims: createRoute({
    method: "post",
    path: "/tenants/{id}/claims",
    tags: ["Operator"],
    security,
    summary: "Claim more sites or machines",
    description: "Adds SiteIds and machine claims to the tenant; at least one (`400` otherwise). One another tenant claims is `409`, and nothing is added.",
    request: { params: IdParam, ...body(Claims) },
    responses: { 200: json(Tenant, "The tenant with the new claims"), ...operatorErrors(400, 404, 413), ...claimed },
  }),
  removeSite: createRoute({
    method: "delete",
    path: "/tenants/{id}/sites/{siteId}",
    tags: ["Operator"],
    security,
    summary: "Release a site",
    description: "Removes the tenant's claim on a SiteId, so another tenant may claim it; Spark's callbacks for that site are then unroutable (`404`) unless a machine claim covers them. `404` when the tenant does not claim it.",
    request: { params: IdParam.extend({ siteId: pathInteger("siteId") }) },
    responses: { 200: json(Tenant, "The tenant without that site"), ...operatorErrors(400, 404, 413) },
  }),
  removeMachine: createRoute({
    method: "delete",
    path: "/tenants/{id}/machines/{siteId}/{machineId}",
    tags: ["Operator"],
    security,
    summary: "Release a machine",
    description: "Removes the tenant's claim on one machine of a site; that machine's callbacks then route by the site's claim, if any. `404` when the tenant does not claim it.",
    request: {
      params: IdParam.extend({
        siteId: pathInteger("siteId"),
        machineId: pathInteger("machineId"),
      }),
    },
    responses: { 200: json(Tenant, "The tenant without that machine"), ...operatorErrors(400, 404, 413) },
  }),
  rotateApiKey: createRoute({
    method: "post",
    path: "/tenants/{id}/rotate-api-key",
    tags: ["Operator"],
    security,
    summary: "Rotate the tenant's API key",
    description:
      "Mints a new API key, shown once in this answer and stored only as a hash. The previous key keeps working for `overlapSeconds` (default 86400, at most 604800; `0` revokes it at once), so the tenant can switch without downtime. The body is optional.",
    request: { params: IdParam, body: { content: { "application/json": { schema: Rotation } }, required: false } },
    responses: { 200: json(z.object({ apiKey: z.string(), previousExpiresAt: z.string() }).openapi("RotatedApiKey"), "The new API key, shown once"), ...operatorErrors(400, 404, 413) },
  }),
  portalLink: createRoute({
    method: "post",
    path: "/tenants/{id}/portal-link",
    tags: ["Operator"],
    security,
    summary: "Mint a portal sign-in link",
    description:
      `A one-time link that signs the tenant's browser into the portal at \`/portal\` (valid ${PORTAL_LINK_TTL_MS / 60_000} minutes, single use; only its hash is stored). ` +
      "Hand it to the tenant as you would a password reset link. A disabled tenant gets none (409).",
    request: { params: IdParam },
    responses: {
      200: json(
        z.object({
          url: z.string().openapi({ example: "https://gateway.example/portal/login?token=pl_…" }),
          expiresAt: z.string().openapi({ example: "2026-01-01T12:15:00.000Z" }),
        }).openapi("PortalLink"),
        "The sign-in link, shown once",
      ),
      ...operatorErrors(404, 413),
      409: errorResponse("The tenant is disabled (`tenant_disabled`)"),
    },
  }),
  rotateCallbackSecret: createRoute({
    method: "post",
    path: "/tenants/{id}/rotate-callback-secret",
    tags: ["Operator"],
    security,
    summary: "Rotate the Spark callback secret",
    description:
      "Mints a new `sparkCallbackSecret`, shown once: have Nayax send it as the `X-Spark-Secret` header. The previous one keeps working for `overlapSeconds` (default 86400, at most 604800; `0` revokes it at once), so no callback is refused while Nayax's header is changed. The body is optional.",
    request: { params: IdParam, body: { content: { "application/json": { schema: Rotation } }, required: false } },
    responses: {
      200: json(z.object({ sparkCallbackSecret: z.string(), previousExpiresAt: z.string() }).openapi("RotatedCallbackSecret"), "The new callback secret, shown once"),
      ...operatorErrors(400, 404, 413),
    },
  }),
  endpoints: createRoute({
    method: "get",
    path: "/tenants/{id}/webhook-endpoints",
    tags: ["Operator"],
    security,
    summary: "List a tenant's webhook endpoints",
    description: `The tenant's endpoints exactly as the tenant lists them (\`GET /v1/webhook-endpoints\`). ${ENDPOINT_LIST_DESCRIPTION}`,
    request: { params: IdParam, query: ListQuery },
    responses: { 200: json(page(WebhookEndpoint, "TenantWebhookEndpointList"), "Endpoints, newest first"), ...operatorErrors(400, 404) },
  }),
  events: createRoute({
    method: "get",
    path: "/tenants/{id}/events",
    tags: ["Operator"],
    security,
    summary: "List a tenant's events",
    description: `The tenant's events exactly as the tenant lists them (\`GET /v1/events\`), e.g. \`?deliveryStatus=failed\` for what its endpoints missed. ${EVENT_LIST_DESCRIPTION}`,
    request: { params: IdParam, query: EventListQuery },
    responses: { 200: json(page(EventWithDeliveries, "TenantEventList"), "Events, newest first"), ...operatorErrors(400, 404) },
  }),
};

/** The operator's views answer for tenants that exist only. */
async function existingTenant(env: Env, id: string): Promise<string> {
  if (!(await tenantById(database(env.DB), id))) throw notFound("tenant");
  return id;
}

const overlapMs = (input: { overlapSeconds?: number | undefined } | undefined) =>
  input?.overlapSeconds === undefined ? undefined : input.overlapSeconds * 1000;

export const adminRoutes = openApiRouter();
adminRoutes.use("*", requireAdmin);

adminRoutes
  .openapi(routes.create, async (c) => {
    const input = c.req.valid("json");
    const created = await createTenant(database(c.env.DB), sealerFor(c.env.ENCRYPTION_KEY), input);
    return c.json(created, 201);
  })
  .openapi(routes.list, async (c) => {
    const query = c.req.valid("query");
    const result = await listTenants(database(c.env.DB), query.limit, decodeCursor(query.cursor));
    return c.json({ data: result.data, nextCursor: encodeCursor(result.next) }, 200);
  })
  .openapi(routes.read, async (c) => c.json(await getTenant(database(c.env.DB), c.req.valid("param").id), 200))
  .openapi(routes.update, async (c) => {
    const tenant = await updateTenant(database(c.env.DB), sealerFor(c.env.ENCRYPTION_KEY), c.req.valid("param").id, c.req.valid("json"));
    return c.json(tenant, 200);
  })
  .openapi(routes.disable, async (c) =>
    c.json(await updateTenant(database(c.env.DB), sealerFor(c.env.ENCRYPTION_KEY), c.req.valid("param").id, { status: "disabled" }), 200),
  )
  .openapi(routes.enable, async (c) =>
    c.json(await updateTenant(database(c.env.DB), sealerFor(c.env.ENCRYPTION_KEY), c.req.valid("param").id, { status: "active" }), 200),
  )
  .openapi(routes.addClaims, async (c) => {
    const claims = c.req.valid("json");
    if (claims.siteIds.length + claims.machines.length === 0) {
      throw new ApiError(400, "invalid_request", "siteIds or machines must name at least one claim", [{ field: "siteIds", message: "empty" }]);
    }
    return c.json(await addClaims(database(c.env.DB), c.req.valid("param").id, claims), 200);
  })
  .openapi(routes.removeSite, async (c) => {
    const { id, siteId } = c.req.valid("param");
    return c.json(await removeSiteClaim(database(c.env.DB), id, siteId), 200);
  })
  .openapi(routes.removeMachine, async (c) => {
    const { id, siteId, machineId } = c.req.valid("param");
    return c.json(await removeMachineClaim(database(c.env.DB), id, { siteId, machineId }), 200);
  })
  .openapi(routes.rotateApiKey, async (c) => {
    const rotated = await rotateCredential(database(c.env.DB), c.req.valid("param").id, "api_key", overlapMs(await optionalJson(c.req)));
    return c.json({ apiKey: rotated.secret, previousExpiresAt: rotated.previousExpiresAt }, 200);
  })
  .openapi(routes.portalLink, async (c) => {
    const db = database(c.env.DB);
    const tenant = await getTenant(db, c.req.valid("param").id);
    if (tenant.status !== "active") throw new ApiError(409, "tenant_disabled", "the tenant is disabled; enable it before signing it in");
    const link = await mintLink(db, tenant.id);
    const url = `${publicUrl(c.env, c.req.url)}/portal/login?token=${encodeURIComponent(link.token)}`;
    c.header("Cache-Control", "no-store");
    return c.json({ url, expiresAt: new Date(link.expiresAt).toISOString() }, 200);
  })
  .openapi(routes.rotateCallbackSecret, async (c) => {
    const rotated = await rotateCredential(database(c.env.DB), c.req.valid("param").id, "spark_callback", overlapMs(await optionalJson(c.req)));
    return c.json({ sparkCallbackSecret: rotated.secret, previousExpiresAt: rotated.previousExpiresAt }, 200);
  })
  .openapi(routes.endpoints, async (c) => {
    const tenantId = await existingTenant(c.env, c.req.valid("param").id);
    return c.json(await endpointPage(c.env, tenantId, c.req.valid("query")), 200);
  })
  .openapi(routes.events, async (c) => {
    const tenantId = await existingTenant(c.env, c.req.valid("param").id);
    return c.json(await eventPage(c.env, tenantId, c.req.valid("query")), 200);
  });

/**
 * Rotation bodies are optional: an empty body means the default overlap. Read through Hono's
 * body cache, since the route's validator has already consumed a JSON-typed body.
 */
async function optionalJson(request: { text(): Promise<string> }): Promise<{ overlapSeconds?: number } | undefined> {
  const text = await request.text();
  if (!text.trim()) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "body is not valid JSON");
  }
  const parsed = Rotation.safeParse(json);
  if (!parsed.success) {
    const message = "must be a whole number of seconds from 0 to 604800";
    throw new ApiError(400, "invalid_request", `overlapSeconds: ${message}`, [{ field: "overlapSeconds", message }]);
  }
  return parsed.data;
}
