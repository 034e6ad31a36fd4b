/**
 * `POST /spark/{Method}`: Spark's callbacks. Checks in the contract's order — secret (401),
 * body (400), size (413), routing (404), owner (401) — then hands a camelCase command to the
 * session object and answers in Spark's shape. Nothing is stored for a refused request.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { database } from "../db/client";
import type { Database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { log } from "../lib/log";
import { ackAnswer, infoQueryAnswer, sparkError, stopCallbackAnswer, stopNotifyAnswer, transactionNotifyAnswer } from "../spark/answers";
import { buildCipher } from "../spark/cipher";
import { callbackResult, notifyAuthorization } from "../spark/inbound";
import { parseSparkJson } from "../spark/json";
import { describeIssues, inboundSchemas } from "../spark/messages";
import type { Inbound, InboundMethod } from "../spark/messages";
import type { CallbackResult, StopCommand } from "../sessions/model";
import { openSessionByCard, sessionByNayaxId } from "../sessions/finder";
import { sessionStub } from "../sessions/stub";
import { sparkCredentials } from "../tenants/service";
import { stationState, tenantByCredential, tenantForMachine, tenantForToken } from "../tenants/lookup";
import type { TenantSummary } from "../tenants/lookup";
import { logUnhandled } from "./context";
import type { AppEnv } from "./context";

/** Spark bodies are small; anything larger is refused with 413. */
export const SPARK_BODY_LIMIT_BYTES = 64 * 1024;
/** Past this we stop reading at all, before the ordered checks, so a huge body costs nothing. */
const SPARK_READ_LIMIT_BYTES = 1024 * 1024;

class SparkRefusal extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly description: string,
  ) {
    super(description);
  }
}

interface CallContext {
  env: Env;
  db: Database;
  caller: TenantSummary;
}

const refuse = (status: ContentfulStatusCode, description: string) => new SparkRefusal(status, description);

/** The routed tenant must be the caller: another tenant's secret is 401, like a wrong one. */
function assertOwner(call: CallContext, tenantId: string | null, what: string): string {
  if (tenantId === null) throw refuse(404, `${what} is not served by this gateway`);
  if (tenantId !== call.caller.id) throw refuse(401, "X-Spark-Secret does not belong to the tenant that owns this " + what.split(" ")[0]);
  return tenantId;
}

/** Maps a session object's refusal to the HTTP answer Spark gets. */
function unwrap<T>(result: CallbackResult<T>, sessionId: string): T {
  switch (result.kind) {
    case "ok":
      return result.answer;
    case "not_found":
      throw refuse(404, `SparkTransactionId ${sessionId} is not known to this gateway`);
    case "wrong_tenant":
      throw refuse(401, "X-Spark-Secret does not belong to the tenant that owns this session");
    case "conflict":
      throw refuse(409, `Conflicting repeat for SparkTransactionId ${sessionId}: ${result.message}`);
  }
}

async function routeByMachine(call: CallContext, siteId: number, machineId: number): Promise<string> {
  return assertOwner(call, await tenantForMachine(call.db, siteId, machineId), `SiteId ${siteId} / MachineId ${machineId}`);
}

type Handler<M extends InboundMethod> = (call: CallContext, msg: Inbound<M>) => Promise<unknown>;

const handlers: { [M in InboundMethod]: Handler<M> } = {
  async TransactionNotify(call, msg) {
    const tenantId = await routeByMachine(call, msg.SiteId, msg.MachineId);
    const station = await stationState(call.db, tenantId, msg.MachineId, msg.ServiceStationNumber ?? null);
    const result = await sessionStub(call.env, msg.SparkTransactionId).notify({
      tenantId,
      sessionId: msg.SparkTransactionId,
      authorization: notifyAuthorization(msg),
      stationAvailability: station?.availability ?? null,
    });
    const outcome = unwrap(result, msg.SparkTransactionId);
    return transactionNotifyAnswer(outcome.session, outcome.approved, outcome.message);
  },

  async StopCallback(call, msg) {
    const stop = (tenantId: string): StopCommand => ({
      tenantId,
      via: "StopCallback",
      cardHash: msg.CardHash,
      stopSiteId: msg.StopSiteId,
      machineId: msg.MachineId,
      hwSerial: msg.HwSerial,
      serviceStationNumber: msg.ServiceStationNumber ?? null,
    });
    if (msg.SparkTransactionId) {
      // One round trip when the gateway holds the session: the object itself checks the owner.
      const result = await sessionStub(call.env, msg.SparkTransactionId).stop(stop(call.caller.id));
      if (result.kind !== "not_found") {
        const outcome = unwrap(result, msg.SparkTransactionId);
        return stopCallbackAnswer(outcome.session, outcome.approved, outcome.message);
      }
    }
    const tenantId = await routeByMachine(call, msg.StopSiteId, msg.MachineId);
    let sessionId: string | null = null;
    if (msg.SparkTransactionId == null && msg.NayaxTransactionId != null) {
      sessionId = await sessionByNayaxId(call.db, tenantId, msg.NayaxTransactionId);
    } else if (msg.SparkTransactionId == null) {
      sessionId = await openSessionByCard(call.db, tenantId, msg.MachineId, msg.CardHash, msg.ServiceStationNumber ?? null);
    }
    if (!sessionId) return stopCallbackAnswer(null, false, "No open session matches this card");
    const outcome = unwrap(await sessionStub(call.env, sessionId).stop(stop(tenantId)), sessionId);
    return stopCallbackAnswer(outcome.session, outcome.approved, outcome.message);
  },

  async StopNotify(call, msg) {
    const tenantId = await routeByMachine(call, msg.StopSiteId, msg.MachineId);
    const request = { stopSiteId: msg.StopSiteId, machineId: msg.MachineId, hwSerial: msg.HwSerial };
    const sessionId = await openSessionByCard(call.db, tenantId, msg.MachineId, msg.CardHash, msg.ServiceStationNumber ?? null);
    if (!sessionId) return stopNotifyAnswer(request, null, false, "No open session matches this card");
    const outcome = unwrap(
      await sessionStub(call.env, sessionId).stop({
        tenantId,
        via: "StopNotify",
        cardHash: msg.CardHash,
        ...request,
        serviceStationNumber: msg.ServiceStationNumber ?? null,
      }),
      sessionId,
    );
    return stopNotifyAnswer(request, outcome.session, outcome.approved, outcome.message);
  },

  async TransactionCallback(call, msg) {
    const outcome = unwrap(
      await sessionStub(call.env, msg.SparkTransactionId).authorizationResult(call.caller.id, callbackResult(msg)),
      msg.SparkTransactionId,
    );
    return ackAnswer(outcome.session.id);
  },

  async DeclineCallback(call, msg) {
    unwrap(
      await sessionStub(call.env, msg.SparkTransactionId).declined(call.caller.id, {
        code: msg.Status.ErrorCode,
        description: msg.Status.ErrorDescription ?? null,
      }),
      msg.SparkTransactionId,
    );
    return ackAnswer(msg.SparkTransactionId);
  },

  async TimeoutCallback(call, msg) {
    unwrap(await sessionStub(call.env, msg.SparkTransactionId).timedOut(call.caller.id), msg.SparkTransactionId);
    return ackAnswer(msg.SparkTransactionId);
  },

  async StartSession(call, msg) {
    const tenantId = assertOwner(call, await tenantForToken(call.db, msg.TokenId), `TokenId ${msg.TokenId}`);
    const credentials = await sparkCredentials(call.db, sealerFor(call.env.ENCRYPTION_KEY), tenantId);
    const sessionId = crypto.randomUUID();
    // Built before the session exists, so a cipher that cannot be made leaves nothing behind.
    const cipher = buildCipher({ sparkTransactionId: sessionId, random: msg.Random, secretToken: credentials.secretToken });
    unwrap(await sessionStub(call.env, sessionId).startSession(tenantId, sessionId, { hwSerial: msg.HwSerial, machineId: msg.MachineId }), sessionId);
    return {
      Cipher: cipher,
      SparkTransactionId: sessionId,
      Status: { Verdict: "Approved", ErrorDescription: "No Errors" },
    };
  },

  InfoQuery: (call, msg) => answerInfo(call, msg),
  AvailabilityCheck: (call, msg) => answerInfo(call, msg),
};

async function answerInfo(call: CallContext, msg: Inbound<"InfoQuery">) {
  const tenantId = await routeByMachine(call, msg.SiteId, msg.MachineId);
  const station = await stationState(call.db, tenantId, msg.MachineId, msg.ServiceStationNumber ?? null);
  return infoQueryAnswer(
    {
      sparkTransactionId: msg.SparkTransactionId ?? null,
      hwSerial: msg.HwSerial,
      machineId: msg.MachineId,
      serviceStationNumber: msg.ServiceStationNumber ?? null,
      siteId: msg.SiteId,
    },
    {
      availability: station?.availability ?? "available",
      display: station?.display ?? null,
      amount: station?.preAuthAmount ?? call.caller.defaultPreAuthAmount,
    },
  );
}

function isMethod(name: string): name is InboundMethod {
  return Object.hasOwn(inboundSchemas, name);
}

async function handle(c: Context<AppEnv>): Promise<Response> {
  const method = c.req.param("method") ?? "";
  const started = Date.now();
  let outcome = "ok";
  let tenantId: string | null = null;
  let sessionId: string | null = null;
  try {
    if (!isMethod(method)) throw refuse(404, `Unknown Spark method ${method}`);
    const secret = c.req.header("X-Spark-Secret");
    if (!secret) throw refuse(401, "X-Spark-Secret header is required");
    const db = database(c.env.DB);
    const caller = await tenantByCredential(db, "spark_callback", secret);
    if (!caller) throw refuse(401, "X-Spark-Secret is not valid");
    tenantId = caller.id;

    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > SPARK_READ_LIMIT_BYTES) throw refuse(413, `Body exceeds ${SPARK_BODY_LIMIT_BYTES} bytes`);
    const text = await c.req.text();
    let json: unknown;
    try {
      json = parseSparkJson(text);
    } catch {
      throw refuse(400, "body: malformed JSON");
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw refuse(400, "body: must be a JSON object");
    const parsed = inboundSchemas[method].safeParse(json);
    if (!parsed.success) throw refuse(400, describeIssues(parsed.error));
    if (new TextEncoder().encode(text).byteLength > SPARK_BODY_LIMIT_BYTES) throw refuse(413, `Body exceeds ${SPARK_BODY_LIMIT_BYTES} bytes`);
    sessionId = (parsed.data as { SparkTransactionId?: string | null }).SparkTransactionId ?? null;

    const answer = await (handlers[method] as Handler<InboundMethod>)({ env: c.env, db, caller }, parsed.data as Inbound<InboundMethod>);
    const answeredSession = (answer as { SparkTransactionId?: string | null }).SparkTransactionId;
    sessionId = answeredSession ?? sessionId;
    const verdict = (answer as { Status?: { Verdict?: string } }).Status?.Verdict;
    outcome = verdict ?? "ok";
    return c.body(JSON.stringify(answer), 200, { "Content-Type": "application/json" });
  } catch (error) {
    if (!(error instanceof SparkRefusal)) {
      // A bug, not a refusal: still answered in Spark's shape, without internals.
      outcome = "error";
      logUnhandled(c, error);
      return c.json(sparkError("Internal error"), 500);
    }
    outcome = `refused ${error.status}`;
    return c.json(sparkError(error.description), error.status);
  } finally {
    log.info("spark callback", {
      requestId: c.get("requestId"),
      method,
      tenantId,
      sessionId,
      outcome,
      ms: Date.now() - started,
    });
  }
}

export const sparkRoutes = new Hono<AppEnv>()
  .on(["POST", "GET"], "/:method", handle)
  // Anything else under /spark is still answered in Spark's shape.
  .all("*", (c) => c.json(sparkError(`No Spark method at ${c.req.method} ${c.req.path}`), 404));
