/** `TIMINGS` (README, Configuration): a Spark callback's answer carries its stages as `Server-Timing` only when it is set. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/routes/app";
import { transactionNotify } from "./fixtures";
import { newSessionId, onboard, spark } from "./helpers";

describe("Server-Timing on Spark callbacks", () => {
  it("is absent at the default settings", async () => {
    const tenant = await onboard({ siteIds: [71] });
    const res = await spark("TransactionNotify", transactionNotify({ SiteId: 71, SparkTransactionId: newSessionId() }), tenant.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.headers.get("Server-Timing")).toBeNull();
  });

  it("names each stage of the callback with its duration when TIMINGS is set", async () => {
    const tenant = await onboard({ siteIds: [72] });
    const body = JSON.stringify(transactionNotify({ SiteId: 72, SparkTransactionId: newSessionId() }));
    const request = new Request("http://gateway.test/spark/TransactionNotify", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Spark-Secret": tenant.sparkCallbackSecret },
      body,
    });
    const ctx = createExecutionContext();
    const res = await createApp().fetch(request, { ...env, TIMINGS: "1" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { Status: { Verdict: string } }).Status.Verdict).toBe("Approved");
    const stages = (res.headers.get("Server-Timing") ?? "").split(", ").map((part) => part.split(";dur="));
    expect(stages.map(([name]) => name)).toEqual(["auth", "parse", "lookup", "session"]);
    for (const [, ms] of stages) expect(Number(ms)).toBeGreaterThanOrEqual(0);
  });

  it("starts with the time the request waited before the handler when X-Request-Start says when it was sent", async () => {
    const tenant = await onboard({ siteIds: [73] });
    const request = new Request("http://gateway.test/spark/TransactionNotify", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Spark-Secret": tenant.sparkCallbackSecret, "X-Request-Start": String(Date.now() - 5_000) },
      body: JSON.stringify(transactionNotify({ SiteId: 73, SparkTransactionId: newSessionId() })),
    });
    const ctx = createExecutionContext();
    const res = await createApp().fetch(request, { ...env, TIMINGS: "1" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    const stages = (res.headers.get("Server-Timing") ?? "").split(", ").map((part) => part.split(";dur="));
    expect(stages.map(([name]) => name)).toEqual(["queue", "auth", "parse", "lookup", "session"]);
    expect(Number(stages[0]![1])).toBeGreaterThanOrEqual(5_000);
  });
});
