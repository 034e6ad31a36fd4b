/** What a session object needs to call Spark for its tenant, and how failures read. */
import { database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { SPARK_TIMEOUT_MS, SparkClient, SparkError } from "../spark/client";
import { sparkCredentials } from "../tenants/service";
import type { OperationResult, SparkFailure } from "./model";

/** A client for the tenant's Spark account, credentials opened just for this call. */
export async function sparkClientFor(env: Env, tenantId: string): Promise<SparkClient> {
  const credentials = await sparkCredentials(database(env.DB), sealerFor(env.ENCRYPTION_KEY), tenantId);
  return new SparkClient(credentials, { timeoutMs: sparkTimeoutMs(env) });
}

/** `SPARK_TIMEOUT_MS` when it is a positive whole number of milliseconds, else {@link SPARK_TIMEOUT_MS}. */
export function sparkTimeoutMs(env: Env): number {
  const configured = Number(env.SPARK_TIMEOUT_MS);
  // A typo must not turn the deadline off (NaN) or into zero: fall back to the default.
  return Number.isSafeInteger(configured) && configured > 0 ? configured : SPARK_TIMEOUT_MS;
}

/** A failed Spark call as the session records it. */
export function sparkFailure(error: unknown, method: string, at: Date): SparkFailure {
  if (error instanceof SparkError) return { method: error.method, code: error.code, description: error.description, at: at.toISOString() };
  return { method, code: null, description: error instanceof Error ? error.message : String(error), at: at.toISOString() };
}

/** 502 carrying Spark's code and description. */
export function badGateway(failure: SparkFailure): OperationResult {
  const what = failure.code === null ? failure.description : `${failure.code} ${failure.description}`;
  return {
    kind: "error",
    status: 502,
    code: "spark_error",
    message: `Spark ${failure.method} failed: ${what}`,
    spark: { code: failure.code, description: failure.description },
  };
}
