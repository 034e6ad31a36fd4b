import type { Context } from "hono";
import type { RequestIdVariables } from "hono/request-id";
import { log } from "../lib/log";
import type { TenantSummary } from "../tenants/lookup";

/** Hono's environment for every route: bindings and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & { tenant: TenantSummary };
}

/** An error no route expected (a bug): logged with the request id the caller got, before a 500. */
export function logUnhandled(c: Context<AppEnv>, error: unknown): void {
  log.error("unhandled error", { requestId: c.get("requestId"), path: c.req.path, error: String(error), stack: (error as Error)?.stack ?? null });
}
