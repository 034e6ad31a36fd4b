/** One structured log line per Spark callback (src/routes/spark.ts), read from the console as an operator would. */
import { describe, expect, it } from "vitest";
import { captureConsole } from "./console";
import { transactionNotify } from "./fixtures";
import { newSessionId, onboard, spark, tenantCall } from "./helpers";

interface LogLine extends Record<string, unknown> {
  level: string;
  message: string;
}

const out = captureConsole();

/** Forgets what was printed so far (onboarding, station updates), keeping the spies. */
function clearConsole(): void {
  out.log.mockClear();
  out.warn.mockClear();
  out.error.mockClear();
}

/** Everything printed on any console channel, as raw text. */
function printed(): string[] {
  return [out.log, out.warn, out.error].flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" ")));
}

/** The `spark callback` lines printed with console.log, parsed. */
function callbackLines(): LogLine[] {
  return out.log.mock.calls
    .filter((args) => typeof args[0] === "string" && args[0].startsWith("{"))
    .map((args) => JSON.parse(args[0] as string) as LogLine)
    .filter((line) => line.message === "spark callback");
}

/** Asserts `ms` is a non-negative whole number of milliseconds. */
function expectDuration(ms: unknown): void {
  expect(typeof ms).toBe("number");
  expect(Number.isInteger(ms)).toBe(true);
  expect(ms as number).toBeGreaterThanOrEqual(0);
}

/**
 * Asserts that `res` printed exactly one `spark callback` line, an info line of TransactionNotify
 * carrying the response's X-Request-Id, a whole-millisecond duration and `fields`.
 */
function expectOneCallbackLine(res: Response, fields: Record<string, unknown>): void {
  const requestId = res.headers.get("X-Request-Id");
  expect(requestId).toBeTruthy();
  const lines = callbackLines();
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatchObject({ level: "info", message: "spark callback", requestId, method: "TransactionNotify", ...fields });
  expectDuration(line.ms);
}

describe("Spark callback log line", () => {
  it("logs an approved TransactionNotify once, with the tenant, session, outcome and the response's request id", async () => {
    const tenant = await onboard({ siteIds: [61] });
    const id = newSessionId();
    clearConsole();

    const res = await spark("TransactionNotify", transactionNotify({ SiteId: 61, SparkTransactionId: id }), tenant.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { Status: { Verdict: string } }).Status.Verdict).toBe("Approved");

    expectOneCallbackLine(res, { tenantId: tenant.id, sessionId: id, outcome: "Approved" });
    // Info lines go to console.log only.
    expect(out.warn).not.toHaveBeenCalled();
    expect(out.error).not.toHaveBeenCalled();

    for (const text of printed()) expect(text).not.toContain(tenant.sparkCallbackSecret);
  });

  it("logs a wrong X-Spark-Secret as refused 401 with no tenant", async () => {
    const tenant = await onboard({ siteIds: [62] });
    const wrongSecret = `wrong-${crypto.randomUUID()}`;
    clearConsole();

    const res = await spark("TransactionNotify", transactionNotify({ SiteId: 62, SparkTransactionId: newSessionId() }), wrongSecret);
    expect(res.status).toBe(401);

    expectOneCallbackLine(res, { tenantId: null, outcome: "refused 401" });

    for (const text of printed()) {
      expect(text).not.toContain(wrongSecret);
      expect(text).not.toContain(tenant.sparkCallbackSecret);
    }
  });

  it("logs a TransactionNotify on a busy station as Declined", async () => {
    const tenant = await onboard({ siteIds: [63] });
    const put = await tenantCall(tenant.apiKey, "/v1/stations/71234996/5", { method: "PUT", json: { availability: "busy" } });
    expect(put.status).toBe(200);
    const id = newSessionId();
    clearConsole();

    const res = await spark("TransactionNotify", transactionNotify({ SiteId: 63, SparkTransactionId: id }), tenant.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { Status: { Verdict: string } }).Status.Verdict).toBe("Declined");

    expectOneCallbackLine(res, { tenantId: tenant.id, sessionId: id, outcome: "Declined" });

    for (const text of printed()) expect(text).not.toContain(tenant.sparkCallbackSecret);
  });

  it("keeps apart the lines of two callbacks by their request ids", async () => {
    const tenant = await onboard({ siteIds: [64] });
    const first = newSessionId();
    const second = newSessionId();
    clearConsole();

    const a = await spark("TransactionNotify", transactionNotify({ SiteId: 64, SparkTransactionId: first }), tenant.sparkCallbackSecret);
    const b = await spark("TransactionNotify", transactionNotify({ SiteId: 64, SparkTransactionId: second, NayaxTransactionId: 2004545073 }), tenant.sparkCallbackSecret);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const idA = a.headers.get("X-Request-Id");
    const idB = b.headers.get("X-Request-Id");
    expect(idA).not.toBe(idB);

    const lines = callbackLines();
    expect(lines.map((line) => [line.requestId, line.sessionId])).toEqual([
      [idA, first],
      [idB, second],
    ]);
  });
});
