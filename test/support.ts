/** Helpers shared by the black-box suites (on top of ./helpers): typed reads and fresh identifiers. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sessionStub } from "../src/sessions/stub";
import { expect } from "vitest";
import { transactionNotify } from "./fixtures";
import { admin, flush, newSessionId, onboard, spark, tenantCall } from "./helpers";
import type { Onboarded } from "./helpers";

export interface SparkStatus {
  Verdict: string;
  ErrorDescription?: string;
  StatusMessage?: string;
  ErrorCode?: number;
}

export interface SparkAnswer extends Record<string, unknown> {
  Status: SparkStatus;
}

export interface TimelineEvent {
  id: string;
  type: string;
  data: { sequence: number; session: Record<string, unknown> };
}

export interface SessionBody extends Record<string, unknown> {
  id: string;
  status: string;
  events: TimelineEvent[];
}

export interface ApiErrorBody {
  error: { code: string; message: string; details: Array<{ field: string; message: string }> };
}

let nextSite = 1000;
let nextMachine = 80_000_000;

/** A SiteId no test in this file used yet (storage is per file). */
export const freshSite = () => nextSite++;
/** A MachineId no test in this file used yet. */
export const freshMachine = () => nextMachine++;

/** A tenant owning fresh sites (and nothing else), with its one-time secrets. */
export async function tenantWithSites(count = 1, extra: Record<string, unknown> = {}): Promise<Onboarded & { siteIds: number[] }> {
  const siteIds = Array.from({ length: count }, freshSite);
  const tenant = await onboard({ siteIds, ...extra });
  return { ...tenant, siteIds };
}

/** Sends a Spark callback and reads its (always JSON) answer. */
export async function sparkCall(method: string, body: unknown, secret: string | null, headers: Record<string, string> = {}) {
  const res = await spark(method, body, secret, headers);
  expect(res.headers.get("Content-Type") ?? "").toContain("application/json");
  return { status: res.status, body: (await res.json()) as SparkAnswer, res };
}

/** Asserts the Spark error shape: `{"Status":{"Verdict":"Declined","ErrorDescription":…}}`. */
export function expectSparkError(answer: { status: number; body: SparkAnswer }, status: number, mentions?: string | RegExp) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(Object.keys(answer.body)).toEqual(["Status"]);
  expect(answer.body.Status.Verdict).toBe("Declined");
  expect(typeof answer.body.Status.ErrorDescription).toBe("string");
  expect(answer.body.Status.ErrorDescription!.length).toBeGreaterThan(0);
  if (mentions !== undefined) expect(answer.body.Status.ErrorDescription).toMatch(mentions);
}

/** Reads a session through the tenant API; null when it answers 404. */
export async function readSession(apiKey: string, id: string): Promise<SessionBody | null> {
  const res = await tenantCall(apiKey, `/v1/sessions/${id}`);
  if (res.status === 404) return null;
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as SessionBody;
}

/** The `[type, sequence]` pairs of a session's timeline. */
export async function timeline(apiKey: string, id: string): Promise<Array<[string, number]>> {
  const session = await readSession(apiKey, id);
  expect(session, `session ${id} should exist`).not.toBeNull();
  return session!.events.map((e) => [e.type, e.data.sequence]);
}

/** Runs the session's alarm until everything it holds is in D1 (see `flush`). */
export const settle = flush;

/** Device Start: authorizes a fresh session on `siteId` (seed 001 otherwise) and projects it to D1. */
export async function authorize(tenant: Onboarded, overrides: Record<string, unknown> & { SiteId: number }) {
  const id = (overrides.SparkTransactionId as string | undefined) ?? newSessionId();
  const answer = await sparkCall("TransactionNotify", transactionNotify({ ...overrides, SparkTransactionId: id }), tenant.sparkCallbackSecret);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  await settle(id);
  return { id, answer: answer.body };
}

/** Rows in a D1 table for a tenant (the projection and the stations table). */
export async function countRows(table: "sessions" | "session_events" | "stations", tenantId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE tenant_id = ?`).bind(tenantId).first<{ n: number }>();
  return row?.n ?? 0;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An admin JSON call, answering status and body. */
export async function adminJson<T = Record<string, unknown>>(path: string, init: RequestInit & { json?: unknown } = {}) {
  const res = await admin(path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, text, res };
}

/** A tenant API JSON call, answering status and body. */
export async function tenantJson<T = Record<string, unknown>>(apiKey: string, path: string, init: RequestInit & { json?: unknown } = {}) {
  const res = await tenantCall(apiKey, path, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, text, res };
}

/** Asserts the API error shape and, when given, that `details` names `field`. */
export function expectApiError(answer: { status: number; body: unknown; res: Response }, status: number, field?: string) {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.res.headers.get("X-Request-Id")).toBeTruthy();
  const body = answer.body as ApiErrorBody;
  expect(typeof body.error.code).toBe("string");
  expect(typeof body.error.message).toBe("string");
  expect(Array.isArray(body.error.details)).toBe(true);
  if (field !== undefined) expect(body.error.details.map((d) => d.field)).toContain(field);
}

/** A fresh 17-character `Random` for StartSession: the same one twice names the same session. */
export const freshRandom = () => crypto.randomUUID().replace(/-/g, "").slice(0, 17);
