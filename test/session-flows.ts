/**
 * Helpers for the settle / cancel / Remote Start / deadline suites: sessions brought to a state
 * through the Spark simulator, what the simulator received, and a session object's private state.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { transactionCallback, transactionNotify } from "../sim/drive";
import type { RecordedRequest, SimMethod, SparkSimulator } from "../sim/spark-simulator";
import type { SessionRecord } from "../src/sessions/model";
import type { SessionObject } from "../src/sessions/session-object";
import { sessionStub } from "../src/sessions/stub";
import { flush } from "./helpers";
import { tenantJson } from "./support";
import type { SimTenantHandle } from "./spark-harness";

let nextNayaxId = 3_100_000_000;

/** A NayaxTransactionId no test in this file used yet. */
export const freshNayaxId = () => nextNayaxId++;

/** The session as the tenant API shows it, with its timeline. */
export interface SessionJson extends Record<string, unknown> {
  id: string;
  status: string;
  events: Array<{ type: string; data: { sequence: number; session: Record<string, unknown> } }>;
}

/** The body of an API error, with Spark's part on a 502. */
export interface ErrorJson {
  error: { code: string; message: string; details: unknown[]; spark?: { code: number | null; description: string } };
}

/** The requests the simulator received for one method. */
export const sent = (simulator: SparkSimulator, method: SimMethod): RecordedRequest[] => simulator.requestsFor(method);

/** The parsed body (money as exact source text) of a recorded request. */
export const bodyOf = (request: RecordedRequest) => request.body as Record<string, unknown>;

/** Lowercase hex SHA-256, computed here independently of the gateway's own helper. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Asserts authentication v2 on a request to Spark: `IntegratorId` and sha256hex(id ";" signKey). */
export async function expectSigned(request: RecordedRequest, t: SimTenantHandle, sparkTransactionId: string): Promise<void> {
  expect(request.headers["integratorid"]).toBe(t.spark.integratorId);
  expect(request.headers["transactionsignature"]).toBe(await sha256Hex(`${sparkTransactionId};${t.spark.signKey}`));
  expect(request.headers["content-type"]).toMatch(/^application\/json/);
  expect(bodyOf(request)["SparkTransactionId"]).toBe(sparkTransactionId);
}

/** Reads a session through the tenant API (must exist). */
export async function session(t: SimTenantHandle, id: string): Promise<SessionJson> {
  const res = await tenantJson<SessionJson>(t.apiKey, `/v1/sessions/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** The event types of a session's timeline, in order. */
export async function eventTypes(t: SimTenantHandle, id: string): Promise<string[]> {
  return (await session(t, id)).events.map((e) => e.type);
}

/** POST /v1/sessions/{id}/settle. */
export function settle(t: SimTenantHandle, id: string, json: unknown, headers: Record<string, string> = {}) {
  return tenantJson<SessionJson & ErrorJson>(t.apiKey, `/v1/sessions/${id}/settle`, { method: "POST", json, headers });
}

/** POST /v1/sessions/{id}/cancel. */
export function cancel(t: SimTenantHandle, id: string, json?: unknown, headers: Record<string, string> = {}) {
  return tenantJson<SessionJson & ErrorJson>(t.apiKey, `/v1/sessions/${id}/cancel`, { method: "POST", ...(json === undefined ? {} : { json }), headers });
}

/** POST /v1/sessions (Remote Start). */
export function remoteStart(t: SimTenantHandle, json: unknown) {
  return tenantJson<SessionJson & ErrorJson>(t.apiKey, "/v1/sessions", { method: "POST", json });
}

/** Device Start: TransactionNotify for a fresh session on `siteId` (seed values otherwise). */
export async function deviceStart(t: SimTenantHandle, siteId: number, overrides: Record<string, unknown> = {}) {
  const id = (overrides["SparkTransactionId"] as string | undefined) ?? crypto.randomUUID();
  const nayaxId = (overrides["NayaxTransactionId"] as number | undefined) ?? freshNayaxId();
  const answer = await t.driver.send("TransactionNotify", transactionNotify({ SiteId: siteId, ...overrides, SparkTransactionId: id, NayaxTransactionId: nayaxId }));
  expect(answer.status, answer.text).toBe(200);
  expect((answer.body as { Status: { Verdict: string } }).Status.Verdict).toBe("Approved");
  return { id, nayaxId };
}

/** Remote Start accepted by Spark (201, awaiting_card); answers the session id. */
export async function startedRemote(t: SimTenantHandle, input: Record<string, unknown> = {}): Promise<string> {
  const res = await remoteStart(t, { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", ...input });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

/** Remote Start through to an approved TransactionCallback; answers the session id and NayaxTransactionId. */
export async function authorizedRemote(t: SimTenantHandle, siteId: number, input: Record<string, unknown> = {}, callback: Record<string, unknown> = {}) {
  const id = await startedRemote(t, input);
  const nayaxId = (callback["NayaxTransactionId"] as number | undefined) ?? freshNayaxId();
  const answer = await t.driver.send("TransactionCallback", transactionCallback({ SiteId: siteId, ...callback, SparkTransactionId: id, NayaxTransactionId: nayaxId }));
  expect(answer.status, answer.text).toBe(200);
  return { id, nayaxId };
}

/** Runs the session's alarm until everything it holds is in D1 (see `flush`). */
export const drain = flush;

/** What tests reach inside a session object: its (private) record and (protected) env. */
export interface SessionInternals {
  record: SessionRecord | null;
  env: Env;
}

/** Runs `fn` inside the session object, with its private state reachable. */
export function insideSession<R>(id: string, fn: (object: SessionInternals, state: DurableObjectState) => R | Promise<R>): Promise<R> {
  return runInDurableObject(sessionStub(env, id), (instance: SessionObject, state) => fn(instance as unknown as SessionInternals, state));
}

/**
 * Gives one session object its own settings (e.g. a short `SPARK_TIMEOUT_MS`), leaving every other
 * session, and the other test files, on the configured ones. Creates the object if need be.
 */
export async function sessionSettings(id: string, vars: Partial<Record<keyof Env, string>>): Promise<void> {
  await insideSession(id, (object) => {
    object.env = Object.assign(Object.create(object.env) as Env, vars);
  });
}
