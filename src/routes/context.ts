import type { RequestIdVariables } from "hono/request-id";
import type { TenantSummary } from "../tenants/lookup";

/** Hono's environment for every route: bindings and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestIdVariables & { tenant: TenantSummary };
}
