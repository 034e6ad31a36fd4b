import type { HonoRequest } from "hono";
import { createMiddleware } from "hono/factory";
import { database } from "../db/client";
import { timingSafeEqualText } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { tenantByCredential, tenantById } from "../tenants/lookup";
import type { TenantSummary } from "../tenants/lookup";
import type { AppEnv } from "./context";

/**
 * The in-process channel: a `Request` object built inside this isolate (by the portal) and marked
 * here acts for that tenant. Only code holding the very object can mark it, so no request that
 * arrives over the network can claim a tenant this way; it still needs a Bearer key.
 */
const actingFor = new WeakMap<Request, string>();
/** The mark, moved to the request wrapper at the first middleware, before anything may replace the raw request (bodyLimit does). */
const actingRequests = new WeakMap<HonoRequest, string>();

/** Marks a request built in-process as acting for `tenantId`, for the tenant API's auth; returns it. */
export function actAs(request: Request, tenantId: string): Request {
  actingFor.set(request, tenantId);
  return request;
}

/** First middleware of the app: carries the in-process mark of the raw request over to this request's wrapper. */
export const captureInProcess = createMiddleware<AppEnv>(async (c, next) => {
  const tenantId = actingFor.get(c.req.raw);
  if (tenantId !== undefined) actingRequests.set(c.req, tenantId);
  await next();
});

/** The tenant an in-process request acts for, if it is one: active tenants only. */
async function inProcessTenant(c: { req: HonoRequest; env: Env }): Promise<TenantSummary | null | undefined> {
  const tenantId = actingRequests.get(c.req);
  if (tenantId === undefined) return undefined;
  const tenant = await tenantById(database(c.env.DB), tenantId);
  return tenant && tenant.status === "active" ? tenant : null;
}

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return match?.[1]?.trim() ?? null;
}

/** The rate limiter's window (wrangler.toml `ratelimits.simple.period`): waiting one window always clears it. */
export const RATE_LIMIT_PERIOD_SECONDS = 10;

const unauthorized = (message: string) => new ApiError(401, "unauthorized", message);

/** Operator API: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearer(c.req.header("Authorization"));
  if (!token) throw unauthorized("Authorization: Bearer <ADMIN_TOKEN> is required");
  if (!c.env.ADMIN_TOKEN || !timingSafeEqualText(token, c.env.ADMIN_TOKEN)) throw unauthorized("admin token is not valid");
  await next();
});

/** Tenant API: `Authorization: Bearer <apiKey>`, or an in-process request marked by {@link actAs}; the tenant is then `c.get("tenant")`. */
export const requireTenant = createMiddleware<AppEnv>(async (c, next) => {
  let tenant = await inProcessTenant(c);
  if (tenant === null) throw unauthorized("tenant is not active");
  if (tenant === undefined) {
    const key = bearer(c.req.header("Authorization"));
    if (!key) throw unauthorized("Authorization: Bearer <apiKey> is required");
    tenant = await tenantByCredential(database(c.env.DB), "api_key", key);
    if (!tenant) throw unauthorized("API key is not valid");
  }
  c.set("tenant", tenant);
  const { success } = await c.env.TENANT_RATE_LIMITER.limit({ key: tenant.id });
  if (!success) {
    c.header("Retry-After", String(RATE_LIMIT_PERIOD_SECONDS));
    throw new ApiError(429, "rate_limited", `too many requests for this tenant; retry after ${RATE_LIMIT_PERIOD_SECONDS} s`);
  }
  await next();
});
