/**
 * The Spark simulator as a local HTTP server, for running the gateway against a fake Nayax:
 *
 *   npx tsx scripts/simulator.ts
 *
 * Spark methods: `POST /api/{StartAuthentication|TriggerTransaction|Settlement|CancelTransaction|ExternalSettlement|ExternalCancel}`
 * (any prefix works: the method is the last path segment). Configure a tenant's Spark `baseUrl`
 * as `http://127.0.0.1:8790/api`.
 *
 * Environment:
 * - `SIM_PORT` (default 8790), `SIM_HOST` (default 127.0.0.1).
 * - `SIM_TENANTS_JSON`: `[{"tokenId", "secretToken", "integratorId", "signKey"}, …]`; defaults to
 *   the demo tenant of `sim/demo.ts`.
 *
 * Control endpoints (JSON):
 * - `POST /_sim/fail` `{"method": "Settlement", "httpStatus"?, "errorCode"?, "description"?,
 *   "delayMs"?, "networkError"?, "lostAnswer"?}` — fail the next call of that method.
 * - `POST /_sim/latency` `{"ms": 200}` — delay every answer.
 * - `POST /_sim/authorizations` `{"nayaxTransactionId", "sparkTransactionId", "siteId",
 *   "amount": "15.00", "machineAuTime"?, "integratorId"?, "cardBrand"?, …}` — as if Spark had
 *   authorized a card; `GET /_sim/authorizations/{nayaxTransactionId}` shows its state.
 * - `POST /_sim/external-authorizations` `{"nayaxTransactionId", "siteId", "terminalId", "amount": "20.00",
 *   "machineAuTime": "yyyyMMddHHmmssSSS", "enabled"?}` — a card authorized on a terminal outside
 *   Spark's flows, for ExternalSettlement/ExternalCancel; `GET /_sim/external-authorizations/{id}` shows it.
 * - `GET /_sim/transactions/{sparkTransactionId}` — a StartAuthentication'd transaction.
 * - `GET /_sim/requests` (every request received), `DELETE /_sim/requests`, `POST /_sim/reset`,
 *   `GET /_sim/health`.
 *
 * Node 20 only exposes JSON.rawJSON and JSON.parse source text behind a V8 flag, which the
 * simulator needs to keep money exact; on such a Node this script re-runs itself with the flag.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseMoney } from "../src/lib/money";
import { DEMO_TENANT, SIM_DEFAULT_PORT } from "../sim/demo";
import { SIM_METHODS, SimulatedNetworkError, SparkSimulator } from "../sim/spark-simulator";
import type { SimAuthorizationInput, SimFailure, SimMethod, SimTenant } from "../sim/spark-simulator";
import { forward, listen, readBody, runWithJsonSource, sendJson } from "./sim-server";

/** Largest Spark request body accepted; real ones are well under 4 KiB, EReceiptData included. */
const MAX_SPARK_BODY = 1024 * 1024;

/** Largest control-request body accepted; control bodies are a few hundred bytes. */
const MAX_CONTROL_BODY = 64 * 1024;

runWithJsonSource(main);

function main(): void {
  const port = Number(process.env["SIM_PORT"] ?? SIM_DEFAULT_PORT);
  const host = process.env["SIM_HOST"] ?? "127.0.0.1";
  const tenants = readTenants();
  const simulator = new SparkSimulator({ tenants });

  listen({
    host,
    port,
    name: "simulator",
    serve: (req, res) => serve(simulator, host, req, res),
    dropsConnection: (error) => error instanceof SimulatedNetworkError,
    banner: () => `Spark simulator on http://${host}:${port}/api (tenants: ${tenants.map((t) => `tokenId ${t.tokenId} / IntegratorId ${t.integratorId}`).join(", ")})`,
  });
}

/** Tenants from `SIM_TENANTS_JSON`, or the demo tenant. Exits with a message when the variable is malformed. */
function readTenants(): SimTenant[] {
  const text = process.env["SIM_TENANTS_JSON"];
  if (text === undefined || text.trim() === "") return [{ ...DEMO_TENANT }];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value) || value.length === 0) throw new Error("must be a non-empty array");
    return value.map((t: unknown, i) => {
      const tenant = t as Partial<SimTenant>;
      if (!Number.isSafeInteger(tenant.tokenId)) throw new Error(`[${i}].tokenId must be an integer`);
      if (typeof tenant.secretToken !== "string" || tenant.secretToken.length < 32) throw new Error(`[${i}].secretToken must be at least 32 characters`);
      if (typeof tenant.integratorId !== "string" || tenant.integratorId === "") throw new Error(`[${i}].integratorId must be a string`);
      if (typeof tenant.signKey !== "string" || tenant.signKey === "") throw new Error(`[${i}].signKey must be a string`);
      return { tokenId: tenant.tokenId as number, secretToken: tenant.secretToken, integratorId: tenant.integratorId, signKey: tenant.signKey };
    });
  } catch (error) {
    console.error(`SIM_TENANTS_JSON: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
}

async function serve(simulator: SparkSimulator, host: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${host}`);
  if (url.pathname.startsWith("/_sim/")) return control(simulator, url, req, res);

  const body = await readBody(req, MAX_SPARK_BODY);
  return forward((request) => simulator.handle(request), url, req, body, res);
}

/** The `/_sim/*` control API. */
async function control(simulator: SparkSimulator, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = `${req.method} ${url.pathname}`;
  const parts = url.pathname.split("/").filter(Boolean);

  if (route === "GET /_sim/health") return sendJson(res, 200, { ok: true });
  if (route === "GET /_sim/requests") return sendJson(res, 200, simulator.requests);
  if (route === "DELETE /_sim/requests") {
    simulator.clearRequests();
    return sendJson(res, 204, null);
  }
  if (route === "POST /_sim/reset") {
    simulator.reset();
    return sendJson(res, 204, null);
  }
  if (req.method === "GET" && parts[1] === "authorizations" && parts.length === 3) {
    const found = simulator.authorization(Number(parts[2]));
    return found ? sendJson(res, 200, found) : sendJson(res, 404, { error: "no such authorization" });
  }
  if (req.method === "GET" && parts[1] === "external-authorizations" && parts.length === 3) {
    const found = simulator.external(Number(parts[2]));
    return found ? sendJson(res, 200, found) : sendJson(res, 404, { error: "no such external authorization" });
  }
  if (req.method === "GET" && parts[1] === "transactions" && parts.length === 3) {
    const found = simulator.transaction(parts[2]!);
    return found ? sendJson(res, 200, found) : sendJson(res, 404, { error: "no such transaction" });
  }

  if (req.method !== "POST") return sendJson(res, 404, { error: `no route ${route}` });
  let body: Record<string, unknown>;
  let amountText: string | undefined;
  try {
    const text = (await readBody(req, MAX_CONTROL_BODY)).toString("utf8");
    // Keep `amount` as written so "0.30" never passes through a float.
    const parsed: unknown = JSON.parse(text, (key: string, value: unknown, context?: { source?: string }) => {
      if (key === "amount") amountText = typeof value === "number" && context?.source !== undefined ? context.source : String(value);
      return value;
    });
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("body must be a JSON object");
    body = parsed as Record<string, unknown>;
  } catch (error) {
    return sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
  }

  switch (url.pathname) {
    case "/_sim/fail": {
      const { method, ...failure } = body;
      if (typeof method !== "string" || !(SIM_METHODS as readonly string[]).includes(method)) {
        return sendJson(res, 400, { error: `method must be one of ${SIM_METHODS.join(", ")}` });
      }
      simulator.failNext(method as SimMethod, failure as SimFailure);
      return sendJson(res, 204, null);
    }
    case "/_sim/latency": {
      const ms = body["ms"];
      if (typeof ms !== "number" || !(ms >= 0)) return sendJson(res, 400, { error: "ms must be a non-negative number" });
      simulator.setLatency(ms);
      return sendJson(res, 204, null);
    }
    case "/_sim/authorizations": {
      const amount = amountText === undefined ? undefined : parseMoney(amountText);
      const { nayaxTransactionId, sparkTransactionId, siteId } = body;
      if (!Number.isSafeInteger(nayaxTransactionId) || typeof sparkTransactionId !== "string" || !Number.isSafeInteger(siteId) || !amount?.ok) {
        return sendJson(res, 400, { error: 'needs nayaxTransactionId (integer), sparkTransactionId (string), siteId (integer), amount (decimal, e.g. "15.00")' });
      }
      const input = { ...body, amount: amount.value } as unknown as SimAuthorizationInput;
      return sendJson(res, 201, simulator.registerAuthorization(input));
    }
    case "/_sim/external-authorizations": {
      const amount = amountText === undefined ? undefined : parseMoney(amountText);
      const { nayaxTransactionId, siteId, terminalId, machineAuTime, enabled } = body;
      if (
        !Number.isSafeInteger(nayaxTransactionId) ||
        !Number.isSafeInteger(siteId) ||
        typeof terminalId !== "string" ||
        typeof machineAuTime !== "string" ||
        !/^\d{17}$/.test(machineAuTime) ||
        !amount?.ok
      ) {
        return sendJson(res, 400, { error: 'needs nayaxTransactionId (integer), siteId (integer), terminalId (string), machineAuTime (yyyyMMddHHmmssSSS), amount (decimal, e.g. "20.00")' });
      }
      return sendJson(
        res,
        201,
        simulator.registerExternal({ nayaxTransactionId: nayaxTransactionId as number, siteId: siteId as number, terminalId, machineAuTime, amount: amount.value, enabled: enabled !== false }),
      );
    }
    default:
      return sendJson(res, 404, { error: `no route ${route}` });
  }
}
