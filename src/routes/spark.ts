/**
 * `POST /spark/{Method}`: Spark's callbacks. Checks in the contract's order — secret (401),
 * body (400), size (413), routing (404), owner (401) — then hands a camelCase command to the
 * session object and answers in Spark's shape. Nothing is stored for a refused request.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { database } from "../db/client";
import { deciderFor } from "../decisions/endpoint";
import { ocpiTarget } from "../ocpi/target";
import type { Database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { log } from "../lib/log";
import { StageTimer } from "../lib/timing";
import { ackAnswer, answerSummary, infoQueryAnswer, sparkError, startSessionAnswer, stopCallbackAnswer, stopNotifyAnswer, transactionNotifyAnswer } from "../spark/answers";
import { buildCipher } from "../spark/cipher";
import { isCallbackMethod, readCallback } from "../spark/inbound";
import type { CallbackMethod, SparkCallback } from "../spark/inbound";
import { parseSparkJson } from "../spark/json";
import type { SessionRecord } from "../sessions/model";
import { openSessionByCard, sessionByNayaxId } from "../sessions/finder";
import { startSessionId } from "../sessions/ids";
import { findInIndex } from "../sessions/machine-index";
import type { StopQuery } from "../sessions/machine-index";
import type { CallbackAnswer } from "../sessions/session-object";
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
  timer: StageTimer;
}

const refuse = (status: ContentfulStatusCode, description: string) => new SparkRefusal(status, description);

/** The routed tenant must be the caller: another tenant's secret is 401, like a wrong one. */
function assertOwner(call: CallContext, tenantId: string | null, what: string): string {
  if (tenantId === null) throw refuse(404, `${what} is not served by this gateway`);
  if (tenantId !== call.caller.id) throw refuse(401, "X-Spark-Secret does not belong to the tenant that owns this " + what.split(" ")[0]);
  return tenantId;
}

/** The session's answer, or the HTTP refusal Spark gets for a session that cannot take it. */
function unwrap(answer: CallbackAnswer, sessionId: string): { reply: CallbackAnswer["reply"]; session: SessionRecord } {
  const { reply, session } = answer;
  if (reply.kind === "refused") {
    if (reply.status === 404) throw refuse(404, `SparkTransactionId ${sessionId} is not known to this gateway`);
    if (reply.status === 401) throw refuse(401, "X-Spark-Secret does not belong to the tenant that owns this session");
    throw refuse(409, `Conflicting repeat for SparkTransactionId ${sessionId}: ${reply.message}`);
  }
  return { reply, session: session! };
}

const approvedOf = (reply: CallbackAnswer["reply"]) => ({
  approved: (reply.kind === "verdict" || reply.kind === "stopped") && reply.approved,
  message: reply.kind === "verdict" || reply.kind === "stopped" ? reply.message : "",
});

async function routeByMachine(call: CallContext, siteId: number, machineId: number): Promise<string> {
  return assertOwner(call, await tenantForMachine(call.db, siteId, machineId), `SiteId ${siteId} / MachineId ${machineId}`);
}

/**
 * The session a stop card names, from the machine's index (kept current by the session objects,
 * so it never lags); the D1 projection only for sessions the index no longer holds.
 */
async function findStopped(call: CallContext, tenantId: string, stop: StopQuery) {
  const indexed = await findInIndex(call.env, tenantId, stop);
  if (indexed) return indexed;
  try {
    return stop.nayaxTransactionId !== null
      ? await sessionByNayaxId(call.db, tenantId, stop.nayaxTransactionId)
      : await openSessionByCard(call.db, tenantId, stop.machineId, stop.cardHash, stop.serviceStationNumber);
  } catch (error) {
    // D1 down: every session authorized since the index existed is in the index anyway.
    log.warn("stop lookup in D1 failed", { tenantId, error: String(error) });
    return null;
  }
}

type Handler<M extends CallbackMethod> = (call: CallContext, cb: Extract<SparkCallback, { method: M }>) => Promise<unknown>;

const handlers: { [M in CallbackMethod]: Handler<M> } = {
  async TransactionNotify(call, cb) {
    const tenantId = await routeByMachine(call, cb.terminal.siteId, cb.terminal.machineId);
    const [station, decider] = await Promise.all([
      stationState(call.db, tenantId, cb.terminal.machineId, cb.terminal.serviceStationNumber),
      deciderFor(call.db, sealerFor(call.env.ENCRYPTION_KEY), tenantId),
    ]);
    // Only a station mapped to an EVSE reads (cached) whether the tenant is connected over OCPI.
    const ocpi = await ocpiTarget(call.db, tenantId, station?.ocpi ?? null);
    call.timer.lap("lookup");
    const answer = await sessionStub(call.env, cb.sessionId).notify({ tenantId, sessionId: cb.sessionId, authorization: cb.authorization, availability: station?.availability ?? null, decider, ocpi });
    call.timer.lap("session");
    call.timer.add(answer.stages);
    const { reply, session } = unwrap(answer, cb.sessionId);
    const { approved, message } = approvedOf(reply);
    return transactionNotifyAnswer(session, approved, message);
  },

  async StopCallback(call, cb) {
    if (cb.sessionId) {
      // One round trip when the gateway holds the session: the object itself checks the owner.
      const answer = await sessionStub(call.env, cb.sessionId).stop(call.caller.id, cb.cardHash, cb.stopSiteId);
      if (!(answer.reply.kind === "refused" && answer.reply.status === 404)) {
        const { reply, session } = unwrap(answer, cb.sessionId);
        const { approved, message } = approvedOf(reply);
        return stopCallbackAnswer(session, approved, message);
      }
    }
    const tenantId = await routeByMachine(call, cb.stopSiteId, cb.machineId);
    const sessionId = cb.sessionId ? null : await findStopped(call, tenantId, cb);
    if (!sessionId) return stopCallbackAnswer(null, false, "No open session matches this card");
    const { reply, session } = unwrap(await sessionStub(call.env, sessionId).stop(tenantId, cb.cardHash, cb.stopSiteId), sessionId);
    const { approved, message } = approvedOf(reply);
    return stopCallbackAnswer(session, approved, message);
  },

  async StopNotify(call, cb) {
    const tenantId = await routeByMachine(call, cb.stopSiteId, cb.machineId);
    const sessionId = await findStopped(call, tenantId, { ...cb, nayaxTransactionId: null });
    if (!sessionId) return stopNotifyAnswer(cb, null, false, "No open session matches this card");
    const { reply, session } = unwrap(await sessionStub(call.env, sessionId).stop(tenantId, cb.cardHash, cb.stopSiteId), sessionId);
    const { approved, message } = approvedOf(reply);
    return stopNotifyAnswer(cb, session, approved, message);
  },

  async TransactionCallback(call, cb) {
    const { sessionId, ...result } = cb;
    const { session } = unwrap(await sessionStub(call.env, sessionId).authorizationResult({ tenantId: call.caller.id, ...result }), sessionId);
    return ackAnswer(session.id);
  },

  async DeclineCallback(call, cb) {
    unwrap(await sessionStub(call.env, cb.sessionId).declined(call.caller.id, cb.decline), cb.sessionId);
    return ackAnswer(cb.sessionId);
  },

  async TimeoutCallback(call, cb) {
    unwrap(await sessionStub(call.env, cb.sessionId).timedOut(call.caller.id), cb.sessionId);
    return ackAnswer(cb.sessionId);
  },

  async StartSession(call, cb) {
    const tenantId = assertOwner(call, await tenantForToken(call.db, cb.tokenId), `TokenId ${cb.tokenId}`);
    const credentials = await sparkCredentials(call.db, sealerFor(call.env.ENCRYPTION_KEY), tenantId);
    // The same TokenId and Random always name the same session, so a repeat finds the first answer.
    const sessionId = await startSessionId(call.env.ENCRYPTION_KEY, tenantId, cb.tokenId, cb.random);
    // Built before the session exists, so a cipher that cannot be made leaves nothing behind.
    const cipher = buildCipher({ sparkTransactionId: sessionId, random: cb.random, secretToken: credentials.secretToken });
    const { reply } = unwrap(
      await sessionStub(call.env, sessionId).startSession({ tenantId, sessionId, hwSerial: cb.hwSerial, machineId: cb.machineId, cipher }),
      sessionId,
    );
    return startSessionAnswer(reply.kind === "cipher" ? reply.cipher : cipher, sessionId);
  },

  InfoQuery: (call, cb) => answerInfo(call, cb),
  AvailabilityCheck: (call, cb) => answerInfo(call, cb),
};

async function answerInfo(call: CallContext, cb: Extract<SparkCallback, { method: "InfoQuery" | "AvailabilityCheck" }>) {
  const { terminal } = cb;
  const tenantId = await routeByMachine(call, terminal.siteId, terminal.machineId);
  const station = await stationState(call.db, tenantId, terminal.machineId, terminal.serviceStationNumber);
  return infoQueryAnswer(
    { sparkTransactionId: cb.sessionId, ...terminal },
    {
      availability: station?.availability ?? "available",
      display: station?.display ?? null,
      amount: station?.preAuthAmount ?? call.caller.defaultPreAuthAmount,
    },
  );
}

async function handle(c: Context<AppEnv>): Promise<Response> {
  const method = c.req.param("method") ?? "";
  const started = Date.now();
  const timer = StageTimer.for(c.env);
  // Only with timings on: at the default settings the callback reads nothing more.
  if (timer.enabled) timer.queued(c.req.header("X-Request-Start"));
  let outcome = "ok";
  let tenantId: string | null = null;
  let sessionId: string | null = null;
  try {
    if (!isCallbackMethod(method)) throw refuse(404, `Unknown Spark method ${method}`);
    const secret = c.req.header("X-Spark-Secret");
    if (!secret) throw refuse(401, "X-Spark-Secret header is required");
    const db = database(c.env.DB);
    const caller = await tenantByCredential(db, "spark_callback", secret);
    if (!caller) throw refuse(401, "X-Spark-Secret is not valid");
    tenantId = caller.id;
    timer.lap("auth");

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
    const read = readCallback(method, json);
    if (!read.ok) throw refuse(400, read.description);
    if (new TextEncoder().encode(text).byteLength > SPARK_BODY_LIMIT_BYTES) throw refuse(413, `Body exceeds ${SPARK_BODY_LIMIT_BYTES} bytes`);
    sessionId = "sessionId" in read.callback ? read.callback.sessionId : null;
    timer.lap("parse");

    const answer = await (handlers[method] as Handler<CallbackMethod>)({ env: c.env, db, caller, timer }, read.callback as never);
    const summary = answerSummary(answer as object);
    sessionId = summary.sessionId ?? sessionId;
    outcome = summary.verdict ?? "ok";
    const timing = timer.header();
    return c.body(JSON.stringify(answer), 200, { "Content-Type": "application/json", ...(timing ? { "Server-Timing": timing } : {}) });
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
