import { createMiddleware } from "hono/factory";
import { database } from "../db/client";
import { timingSafeEqualText } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { tenantByCredential } from "../tenants/lookup";
import type { AppEnv } from "./context";

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

/** Tenant API: `Authorization: Bearer <apiKey>`; the tenant is then `c.get("tenant")`. */
export const requireTenant = createMiddleware<AppEnv>(async (c, next) => {
  const key = bearer(c.req.header("Authorization"));
  if (!key) throw unauthorized("Authorization: Bearer <apiKey> is required");
  const tenant = await tenantByCredential(database(c.env.DB), "api_key", key);
  if (!tenant) throw unauthorized("API key is not valid");
  c.set("tenant", tenant);
  const { success } = await c.env.TENANT_RATE_LIMITER.limit({ key: tenant.id });
  if (!success) {
    c.header("Retry-After", String(RATE_LIMIT_PERIOD_SECONDS));
    throw new ApiError(429, "rate_limited", `too many requests for this tenant; retry after ${RATE_LIMIT_PERIOD_SECONDS} s`);
  }
  await next();
});
