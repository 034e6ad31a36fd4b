/**
 * The decision endpoint (CONTRACT §5): configured by the tenant, asked for every Device Start
 * authorization its station allows, signed like a webhook, a hard 2 s deadline with the tenant's
 * fallback, the verdict recorded on the session and repeats answered from it.
 */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { transactionNotify } from "./fixtures";
import { newSessionId, tenantCall } from "./helpers";
import { expectApiError, readSession, sparkCall, tenantJson, tenantWithSites } from "./support";
import { Receiver, interceptWebhooks } from "./webhooks-support";
import type { Delivery } from "./webhooks-support";

interceptWebhooks();

let nayax = 5_100_000_000;

interface Decision {
  id: string;
  type: string;
  timestamp: string;
  data: { authorization: Record<string, unknown> };
}

/** A tenant with a decision endpoint answering with `reply`; its secret and receiver. */
async function withDecider(reply: ConstructorParameters<typeof Receiver>[0], fallback: "approve" | "decline" = "decline") {
  const tenant = await tenantWithSites(1);
  const receiver = new Receiver(reply);
  const put = await tenantJson<{ url: string; fallback: string; secret: string; createdAt: string; updatedAt: string }>(tenant.apiKey, "/v1/decision-endpoint", {
    method: "PUT",
    json: { url: receiver.url, fallback },
  });
  expect(put.status, put.text).toBe(200);
  expect(put.body).toMatchObject({ url: receiver.url, fallback, secret: expect.stringMatching(/^whsec_/) });
  return { tenant, receiver, secret: put.body.secret };
}

async function notify(tenant: Awaited<ReturnType<typeof tenantWithSites>>, overrides: Record<string, unknown> = {}) {
  const id = newSessionId();
  const body = transactionNotify({ SiteId: tenant.siteIds[0], SparkTransactionId: id, NayaxTransactionId: nayax++, ...overrides });
  const started = Date.now();
  const answer = await sparkCall("TransactionNotify", body, tenant.sparkCallbackSecret);
  return { id, body, answer, tookMs: Date.now() - started };
}

const decisionOf = (d: Delivery) => JSON.parse(d.body) as Decision;
const answer = (json: unknown, status = 200) => () => new Response(JSON.stringify(json), { status, headers: { "Content-Type": "application/json" } });

afterEach(() => vi.useRealTimers());

describe("PUT/GET/DELETE /v1/decision-endpoint", () => {
  it("creates with a secret shown once; a later PUT changes url and fallback and keeps the secret", async () => {
    const { tenant, receiver, secret } = await withDecider(answer({ approve: true }));
    const read = await tenantJson<Record<string, unknown>>(tenant.apiKey, "/v1/decision-endpoint");
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ url: receiver.url, fallback: "decline", createdAt: expect.any(String), updatedAt: expect.any(String) });
    const other = new Receiver(answer({ approve: true }));
    const changed = await tenantJson<Record<string, unknown>>(tenant.apiKey, "/v1/decision-endpoint", { method: "PUT", json: { url: other.url, fallback: "approve" } });
    expect(changed.status).toBe(200);
    expect(changed.body).not.toHaveProperty("secret");
    expect(changed.body).toMatchObject({ url: other.url, fallback: "approve" });
    await notify(tenant);
    expect(other.received).toHaveLength(1);
    // Still signed with the first secret.
    expect(() => new Webhook(secret).verify(other.received[0]!.body, other.received[0]!.headers)).not.toThrow();
  });

  it("refuses bad input with a 400 naming the field, and stores nothing", async () => {
    const tenant = await tenantWithSites(1);
    for (const [body, field] of [
      [{ url: "http://csms.example/decide", fallback: "approve" }, "url"],
      [{ url: "https://user:pw@csms.example/decide", fallback: "approve" }, "url"],
      [{ url: "https://csms.example/decide", fallback: "maybe" }, "fallback"],
      [{ url: "https://csms.example/decide" }, "fallback"],
      [{ url: "https://csms.example/decide", fallback: "approve", extra: 1 }, "extra"],
    ] as const) {
      expectApiError(await tenantJson(tenant.apiKey, "/v1/decision-endpoint", { method: "PUT", json: body }), 400, field);
    }
    expect((await tenantJson(tenant.apiKey, "/v1/decision-endpoint")).status).toBe(404);
  });

  it("DELETE stops asking; GET, DELETE and rotate-secret are 404 without one", async () => {
    const { tenant, receiver } = await withDecider(answer({ approve: false, message: "No" }));
    expect((await tenantCall(tenant.apiKey, "/v1/decision-endpoint", { method: "DELETE" })).status).toBe(204);
    const { answer: approved } = await notify(tenant);
    expect(approved.body.Status.Verdict).toBe("Approved");
    expect(receiver.received).toHaveLength(0);
    expect((await tenantJson(tenant.apiKey, "/v1/decision-endpoint")).status).toBe(404);
    expect((await tenantCall(tenant.apiKey, "/v1/decision-endpoint", { method: "DELETE" })).status).toBe(404);
    expect((await tenantCall(tenant.apiKey, "/v1/decision-endpoint/rotate-secret", { method: "POST" })).status).toBe(404);
  });
});

describe("asking for every Device Start authorization", () => {
  it("approve: the signed request carries the authorization; the verdict and how it was reached are on the session", async () => {
    const { tenant, receiver, secret } = await withDecider(answer({ approve: true, message: "Welcome back" }));
    const { id, answer: spark } = await notify(tenant);
    expect(spark.body.Status).toEqual({ Verdict: "Approved", StatusMessage: "Welcome back" });
    expect(receiver.received).toHaveLength(1);
    const delivery = receiver.received[0]!;
    const verified = new Webhook(secret).verify(delivery.body, delivery.headers) as Decision;
    expect(verified).toMatchObject({ id: expect.stringMatching(/^dec_/), type: "authorization.requested" });
    expect(delivery.headers["webhook-id"]).toBe(verified.id);
    expect(verified.data.authorization).toEqual({
      sessionId: id,
      flow: "device_start",
      siteId: tenant.siteIds[0],
      machineId: 71234996,
      hwSerial: "0434334921100366",
      serviceStationNumber: "5",
      nayaxTransactionId: expect.any(Number),
      amount: "10.00",
      card: { last4: "1234", hash: "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6", uid: "1288528281124927" },
      deviceTime: "2024-02-05T19:41:22.328",
    });
    const session = await readSession(tenant.apiKey, id);
    expect(session).toMatchObject({ status: "authorized", decision: { source: "tenant", approved: true, message: "Welcome back", error: null, durationMs: expect.any(Number) } });
  });

  it("decline with a message: Declined with it, session.declined", async () => {
    const { tenant } = await withDecider(answer({ approve: false, message: "Card blocked by operator" }), "approve");
    const { id, answer: spark } = await notify(tenant);
    expect(spark.body.Status).toEqual({ Verdict: "Declined", StatusMessage: "Card blocked by operator" });
    const session = (await readSession(tenant.apiKey, id))!;
    expect(session).toMatchObject({ status: "declined", decision: { source: "tenant", approved: false, message: "Card blocked by operator" } });
    expect(session.events.map((e) => e.type)).toEqual(["session.declined"]);
  });

  it.each<[string, () => Response | Promise<Response>, "approve" | "decline", string | RegExp]>([
    ["a 503", () => new Response("down", { status: 503 }), "approve", "http 503"],
    ["a 200 that is not JSON", () => new Response("yes please", { status: 200 }), "decline", "invalid answer"],
    ["a 200 without a boolean approve", answer({ approve: "yes" }), "approve", "invalid answer"],
    ["a redirect", () => new Response(null, { status: 302, headers: { Location: "https://elsewhere.example/" } }), "decline", "http 302"],
    ["a network error", () => Promise.reject(new TypeError("connection refused")), "decline", /^unreachable/],
  ])("%s: the fallback answers, and says why", async (_what, reply, fallback, error) => {
    const { tenant } = await withDecider(reply, fallback);
    const { id, answer: spark } = await notify(tenant);
    expect(spark.status).toBe(200);
    expect(spark.body.Status.Verdict).toBe(fallback === "approve" ? "Approved" : "Declined");
    const session = (await readSession(tenant.apiKey, id))!;
    expect(session.status).toBe(fallback === "approve" ? "authorized" : "declined");
    expect((session as unknown as { decision: { source: string; approved: boolean; error: string } }).decision).toMatchObject({ source: "fallback", approved: fallback === "approve", error: expect.stringMatching(error) });
  });

  it("slow: the fallback answers at 2 s, and Spark is answered right after", async () => {
    const { tenant } = await withDecider(async () => {
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      return new Response(JSON.stringify({ approve: false }), { status: 200 });
    }, "approve");
    const { id, answer: spark, tookMs } = await notify(tenant);
    expect(spark.body.Status.Verdict).toBe("Approved");
    expect(tookMs).toBeGreaterThanOrEqual(1_950);
    expect(tookMs).toBeLessThan(3_000);
    const session = (await readSession(tenant.apiKey, id))! as unknown as { decision: { source: string; error: string; durationMs: number } };
    expect(session.decision).toMatchObject({ source: "fallback", error: "timeout" });
    expect(session.decision.durationMs).toBeGreaterThanOrEqual(1_950);
  });

  it("a repeat is answered from the record without asking again, also while the first is still being asked", async () => {
    let calls = 0;
    const { tenant, receiver } = await withDecider(async () => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return new Response(JSON.stringify({ approve: false, message: "Not today" }), { status: 200 });
    });
    const id = newSessionId();
    const body = transactionNotify({ SiteId: tenant.siteIds[0], SparkTransactionId: id, NayaxTransactionId: nayax++ });
    const [first, second] = await Promise.all([sparkCall("TransactionNotify", body, tenant.sparkCallbackSecret), sparkCall("TransactionNotify", body, tenant.sparkCallbackSecret)]);
    const third = await sparkCall("TransactionNotify", body, tenant.sparkCallbackSecret);
    expect(first.body).toEqual(second.body);
    expect(third.body).toEqual(first.body);
    expect(first.body.Status).toEqual({ Verdict: "Declined", StatusMessage: "Not today" });
    expect(calls).toBe(1);
    expect(receiver.received).toHaveLength(1);
    expect((await readSession(tenant.apiKey, id))!.events.map((e) => e.type)).toEqual(["session.declined"]);
  });

  it("a station the tenant marked busy is declined without asking", async () => {
    const { tenant, receiver } = await withDecider(answer({ approve: true }));
    expect((await tenantJson(tenant.apiKey, "/v1/stations/71234996/5", { method: "PUT", json: { availability: "busy" } })).status).toBe(200);
    const { answer: spark } = await notify(tenant);
    expect(spark.body.Status.Verdict).toBe("Declined");
    expect(receiver.received).toHaveLength(0);
  });

  it("rotate-secret: both signatures for 24 h, then only the new one", async () => {
    const { tenant, receiver, secret: oldSecret } = await withDecider(answer({ approve: true }));
    const rotated = await tenantJson<{ secret: string }>(tenant.apiKey, "/v1/decision-endpoint/rotate-secret", { method: "POST" });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(oldSecret);
    await notify(tenant);
    const both = receiver.received.at(-1)!;
    expect(both.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(both.body, both.headers)).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(both.body, both.headers)).not.toThrow();
    expect((await tenantJson(tenant.apiKey, "/v1/decision-endpoint")).body).not.toHaveProperty("secret");

    // A day later the old secret no longer signs (the sealed list is read again past the overlap).
    const now = Date.now();
    vi.useFakeTimers({ now: now + 24 * 60 * 60 * 1000 + 60_000, toFake: ["Date"] });
    expect((await tenantJson(tenant.apiKey, "/v1/decision-endpoint", { method: "PUT", json: { url: receiver.url, fallback: "decline" } })).status).toBe(200);
    await notify(tenant);
    const after = receiver.received.at(-1)!;
    expect(after.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(() => new Webhook(rotated.body.secret).verify(after.body, after.headers)).not.toThrow();
    expect(() => new Webhook(oldSecret).verify(after.body, after.headers)).toThrow();
  });
});

describe("the callback path without a decision endpoint", () => {
  it("reads no D1 per callback once the tenant's lookups are cached", async () => {
    const tenant = await tenantWithSites(1);
    const prepare = vi.spyOn(env.DB, "prepare");
    // Reads only: the history's D1 writes leave through the history writer, after the answer.
    const reads = () => prepare.mock.calls.map(([sql]) => String(sql)).filter((sql) => /^\s*select/i.test(sql));
    // The first callback of a tenant loads its lookups (the spy does see the route's reads)…
    await notify(tenant);
    expect(reads().some((sql) => sql.includes("decision_endpoints"))).toBe(true);
    prepare.mockClear();
    // …and then callbacks read nothing from D1 (the decision endpoint's absence is cached too).
    await notify(tenant);
    await notify(tenant);
    expect(reads()).toEqual([]);
  });
});
