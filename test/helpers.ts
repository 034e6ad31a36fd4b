import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { Statement } from "../src/db/history-writer";
import { sessionStub } from "../src/sessions/stub";
import { tenantInput } from "./fixtures";

export const ADMIN_TOKEN = "test-admin-token";

/** Calls the Worker as a client would. */
export function call(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("Content-Type", "application/json");
  return exports.default.fetch(new Request(`http://gateway.test${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body }));
}

export const admin = (path: string, init: RequestInit & { json?: unknown } = {}) =>
  call(path, { ...init, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers as Record<string, string>) } });

export const tenantCall = (apiKey: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
  call(path, { ...init, headers: { Authorization: `Bearer ${apiKey}`, ...(init.headers as Record<string, string>) } });

export interface Onboarded {
  id: string;
  apiKey: string;
  sparkCallbackSecret: string;
  webhookEndpoint: { id: string; url: string; secret: string } | null;
}

let tokenIds = 500_000;

/** Onboards a tenant (the contract's example by default) and returns its one-time secrets. */
export async function onboard(overrides: Record<string, unknown> = {}): Promise<Onboarded> {
  const body = { ...tenantInput, webhookUrl: undefined, spark: { ...tenantInput.spark, tokenId: tokenIds++ }, ...overrides };
  const res = await admin("/admin/tenants", { method: "POST", json: body });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Onboarded;
}

/** Sends a Spark callback. `body` may be raw text (to keep `10.00` exactly as Spark writes it). */
export function spark(method: string, body: unknown, secret: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return call(`/spark/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(secret !== null ? { "X-Spark-Secret": secret } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** How often, and how long apart, {@link flush} looks for D1 writes still queued. */
const FLUSH_ATTEMPTS = 300;
const FLUSH_PAUSE_MS = 10;

/**
 * Runs the session's alarm until every D1 write it queued has landed (its events and state are
 * in D1, and webhooks due now went out). Running the alarm once is not enough: when the alarm is
 * already running by itself, `runDurableObjectAlarm` finds none scheduled and returns.
 */
export async function flush(sessionId: string): Promise<void> {
  const stub = sessionStub(env, sessionId);
  for (let i = 0; i < FLUSH_ATTEMPTS; i++) {
    await runDurableObjectAlarm(stub);
    const pending = await runInDurableObject(stub, (object) => object.pendingHistory());
    if (pending === 0) return;
    await new Promise((resolve) => setTimeout(resolve, FLUSH_PAUSE_MS));
  }
  throw new Error(`session ${sessionId} did not reach D1`);
}

/** A fresh SparkTransactionId. */
export const newSessionId = () => crypto.randomUUID();

/** A switch for {@link breakableHistory}: while `down`, D1 is unreachable for the history writer. */
export interface D1Outage {
  down: boolean;
}

/** Puts the history writer the sessions use (one writer unless HISTORY_WRITERS says more) behind `outage`: its D1 batches fail while it is down. */
export async function breakableHistory(outage: D1Outage): Promise<void> {
  await runInDurableObject(env.HISTORY.get(env.HISTORY.idFromName("writer-0")), (instance) => {
    const writer = instance as unknown as { commit(statements: Statement[]): Promise<void> };
    const commit = writer.commit.bind(writer);
    vi.spyOn(writer, "commit").mockImplementation(async (statements) => {
      if (outage.down) throw new Error("D1_ERROR: network connection lost");
      return commit(statements);
    });
  });
}
