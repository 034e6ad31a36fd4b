/**
 * POST /v1/sessions/{id}/settle against the Spark simulator (CONTRACT.md §5, spark-api.md §2.9):
 * validation, state rules, the exact Settlement on the wire, idempotency, and Spark's failures.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { declineCallback, stopCallback, timeoutCallback, transactionCallback } from "../sim/drive";
import { freshSite } from "./support";
import { bodyOf, cancel, deviceStart, eventTypes, expectSigned, freshNayaxId, authorizedRemote, sent, session, sessionSettings, settle, startedRemote } from "./session-flows";
import { installSimulator } from "./spark-harness";
import { sparkTimeoutMs } from "../src/sessions/spark-calls";
import { SPARK_TIMEOUT_MS } from "../src/spark/client";

afterEach(() => vi.restoreAllMocks());

/** A tenant on a fresh site with one authorized Device Start session (authorized "10.00" unless told). */
async function authorized(amount = "10.00", overrides: Record<string, unknown> = {}) {
  const { simulator, tenant, spy } = installSimulator();
  const siteId = freshSite();
  const t = await tenant({ siteIds: [siteId] });
  const { id, nayaxId } = await deviceStart(t, siteId, { Amount: JSON.rawJSON(amount), ...overrides });
  return { simulator, spy, t, siteId, id, nayaxId };
}

describe("settle: validation (400) before anything reaches Spark", () => {
  it.each([
    ["not a decimal", "12,25"],
    ["words", "ten"],
    ["empty", ""],
    ["negative", "-1.00"],
    ["negative number", -5],
    ["three decimals", "1.005"],
    ["three decimals as a number", 1.005],
    ["a float artifact", 0.30000000000000004],
    ["null", null],
  ])("%s (%j) is 400", async (_what, amount) => {
    const { simulator, t, id } = await authorized();
    const res = await settle(t, id, { amount });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBeTruthy();
    expect(sent(simulator, "Settlement")).toHaveLength(0);
    expect((await session(t, id)).status).toBe("authorized");
  });

  it("a missing amount is 400", async () => {
    const { simulator, t, id } = await authorized();
    const res = await settle(t, id, { receipt: { General: [] } });
    expect(res.status, res.text).toBe(400);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
  });
});

describe("settle: amount rules (422)", () => {
  it.each(["0", "0.00", 0])("zero (%j) is 422: cancel releases a hold", async (amount) => {
    const { simulator, t, id } = await authorized();
    const res = await settle(t, id, { amount });
    expect(res.status, res.text).toBe(422);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
    expect((await session(t, id)).status).toBe("authorized");
  });

  it("above the authorized amount is 422, the authorized amount itself settles", async () => {
    const { simulator, t, id } = await authorized("10.00");
    const above = await settle(t, id, { amount: "10.01" });
    expect(above.status, above.text).toBe(422);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
    const exact = await settle(t, id, { amount: "10.00" });
    expect(exact.status, exact.text).toBe(200);
    expect(exact.body.settledAmount).toBe("10.00");
  });
});

describe("settle: only authorized or stop-requested sessions (409)", () => {
  it("awaiting_card (Remote Start before any card) is 409", async () => {
    const { simulator, tenant } = installSimulator();
    const t = await tenant({ siteIds: [freshSite()] });
    const id = await startedRemote(t);
    const res = await settle(t, id, { amount: "1.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
  });

  it("declined by DeclineCallback is 409", async () => {
    const { simulator, tenant } = installSimulator();
    const t = await tenant({ siteIds: [freshSite()] });
    const id = await startedRemote(t);
    expect((await t.driver.send("DeclineCallback", declineCallback({ SparkTransactionId: id }))).status).toBe(200);
    const res = await settle(t, id, { amount: "1.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
  });

  it("declined by TransactionCallback is 409", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    const id = await startedRemote(t);
    const declined = transactionCallback({
      SparkTransactionId: id,
      SiteId: siteId,
      NayaxTransactionId: freshNayaxId(),
      AuthStatus: { Verdict: "Declined", ErrorCode: 37, ErrorDescription: "Authorization Failed" },
    });
    expect((await t.driver.send("TransactionCallback", declined)).status).toBe(200);
    const res = await settle(t, id, { amount: "1.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
  });

  it("cancelled is 409", async () => {
    const { simulator, t, id } = await authorized();
    expect((await cancel(t, id)).status).toBe(200);
    const res = await settle(t, id, { amount: "1.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
  });

  it("timed out is 409", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    const { id } = await authorizedRemote(t, siteId);
    expect((await t.driver.send("TimeoutCallback", timeoutCallback({ SparkTransactionId: id }))).status).toBe(200);
    const res = await settle(t, id, { amount: "1.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
  });

  it("stop_requested settles", async () => {
    const { simulator, t, id, nayaxId } = await authorized();
    const stop = await t.driver.send("StopCallback", stopCallback({ SparkTransactionId: id, NayaxTransactionId: nayaxId }));
    expect(stop.status, stop.text).toBe(200);
    expect((await session(t, id)).status).toBe("stop_requested");
    const res = await settle(t, id, { amount: "4.00" });
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe("settled");
    expect(sent(simulator, "Settlement")).toHaveLength(1);
  });

  it("another tenant's session is 404 and nothing is sent", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const owner = await tenant({ siteIds: [siteId] });
    const other = await tenant({ siteIds: [freshSite()] });
    const { id } = await deviceStart(owner, siteId);
    const res = await settle(other, id, { amount: "1.00" });
    expect(res.status, res.text).toBe(404);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
    expect((await session(owner, id)).status).toBe("authorized");
  });
});

describe("settle: the Settlement call on the wire", () => {
  it("carries the session's identifiers, the exact amount, the receipt as a JSON string, signed v2", async () => {
    const { simulator, t, siteId, id, nayaxId } = await authorized("20.00", { HwSerial: "0434334921100777" });
    const receipt = { General: [{ Company: "Acme", "Station Name": "B12" }], Service: [{ Product: "Energy", "Number of Units": 2 }] };
    const res = await settle(t, id, { amount: "0.30", receipt });
    expect(res.status, res.text).toBe(200);

    const calls = sent(simulator, "Settlement");
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.path).toBe("/api/Settlement");
    await expectSigned(call, t, id);
    const body = bodyOf(call);
    expect(body).toEqual({
      NayaxTransactionId: nayaxId,
      SparkTransactionId: id,
      SiteId: siteId,
      TerminalId: "0434334921100777",
      TerminalIdType: 1,
      Amount: "0.3", // exact source text: "0.30" went out as the literal 0.3
      EReceiptData: JSON.stringify(receipt),
    });
    expect(call.bodyText).toMatch(/"Amount":0\.3[,}]/);
    expect(call.bodyText).toContain(`"EReceiptData":${JSON.stringify(JSON.stringify(receipt))}`);
    expect(typeof JSON.parse(call.bodyText).EReceiptData).toBe("string");
    expect(JSON.parse(JSON.parse(call.bodyText).EReceiptData)).toEqual(receipt);
    expect(simulator.authorization(nayaxId)!.eReceiptData).toBe(JSON.stringify(receipt));
  });

  it.each([
    ["12.25", "12.25"],
    [12.25, "12.25"],
    ["0.1", "0.1"],
    ["0.07", "0.07"],
    ["19.90", "19.9"],
    ["20", "20"],
    ["1.10", "1.1"],
  ])("amount %j goes out as the literal %s, never a float artifact", async (amount, literal) => {
    const { simulator, t, id } = await authorized("20.00");
    const res = await settle(t, id, { amount });
    expect(res.status, res.text).toBe(200);
    const call = sent(simulator, "Settlement")[0]!;
    expect(call.bodyText).toMatch(new RegExp(`"Amount":${literal.replace(".", "\\.")}[,}]`));
    expect(bodyOf(call)["Amount"]).toBe(literal);
  });

  it("without a receipt no EReceiptData is sent", async () => {
    const { simulator, t, id } = await authorized();
    expect((await settle(t, id, { amount: "1.00" })).status).toBe(200);
    expect(bodyOf(sent(simulator, "Settlement")[0]!)).not.toHaveProperty("EReceiptData");
  });

  it("a Remote Start session by machine id still settles with TerminalId = HwSerial, TerminalIdType 1", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    const { id, nayaxId } = await authorizedRemote(t, siteId, { terminal: { machineId: 71234996 } }, { HwSerial: "0434334921100999" });
    const res = await settle(t, id, { amount: "12.25" });
    expect(res.status, res.text).toBe(200);
    const call = sent(simulator, "Settlement")[0]!;
    await expectSigned(call, t, id);
    expect(bodyOf(call)).toMatchObject({ NayaxTransactionId: nayaxId, SiteId: siteId, TerminalId: "0434334921100999", TerminalIdType: 1, Amount: "12.25" });
  });

  it("shows what Spark answered: settled amount, currency, auth code, RRNs, settlement time", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    const { id, nayaxId } = await authorizedRemote(t, siteId, { amount: "30.00" }, {
      Amount: 3000n,
      CurrencyCode: "GBP",
      CurrencyNumeric: "826",
      AuthCode: "A1B2C3",
      NayaxRRN: "999888777666",
      FiscalRrn: "F1SCAL",
    });
    const before = Date.now();
    const res = await settle(t, id, { amount: "12.25" });
    expect(res.status, res.text).toBe(200);
    const held = simulator.authorization(nayaxId)!;
    expect(held.settledAmountText).toBe("12.25");
    const expected = {
      status: "settled",
      settledAmount: "12.25",
      currency: "GBP",
      lastSparkError: null,
      settlement: {
        amount: "12.25",
        currency: "GBP",
        currencyNumeric: "826",
        authCode: "A1B2C3",
        nayaxRrn: "999888777666",
        fiscalRrn: "F1SCAL",
        settledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
    };
    expect(res.body).toMatchObject(expected);
    const settledAt = Date.parse((res.body.settlement as { settledAt: string }).settledAt);
    expect(Math.abs(settledAt - before)).toBeLessThan(5_000);
    const read = await session(t, id);
    expect(read).toMatchObject(expected);
    expect(read.events.map((e) => e.type)).toEqual(["session.created", "session.authorized", "session.settled"]);
    expect(read.events[2]!.data.session).toMatchObject({ status: "settled", settledAmount: "12.25", currency: "GBP" });
  });

  it("the settled amount is the one Spark reports, even when it differs from the request", async () => {
    const { spy, simulator, t, id } = await authorized("10.00");
    // A provider that settles less than asked: the session shows Spark's figure.
    const handle = simulator.handle.bind(simulator);
    spy.mockImplementationOnce(async (input, init) => {
      const answer = (await (await handle(new Request(input, init))).json()) as Record<string, unknown>;
      return new Response(JSON.stringify({ ...answer, Amount: 7.5 }), { headers: { "Content-Type": "application/json" } });
    });
    const res = await settle(t, id, { amount: "8.00" });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ settledAmount: "7.50", settlement: { amount: "7.50" } });
  });
});

describe("settle: repeats and Idempotency-Key", () => {
  it("same key and same body: the first answer, no second Spark call", async () => {
    const { simulator, t, id } = await authorized();
    const first = await settle(t, id, { amount: "5.55", receipt: { General: [{ A: "1" }] } }, { "Idempotency-Key": "k-1" });
    expect(first.status, first.text).toBe(200);
    const again = await settle(t, id, { amount: "5.55", receipt: { General: [{ A: "1" }] } }, { "Idempotency-Key": "k-1" });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(sent(simulator, "Settlement")).toHaveLength(1);
  });

  it("same key with another body is 409 and nothing is sent", async () => {
    const { simulator, t, id } = await authorized();
    expect((await settle(t, id, { amount: "5.55" }, { "Idempotency-Key": "k-2" })).status).toBe(200);
    const otherAmount = await settle(t, id, { amount: "5.56" }, { "Idempotency-Key": "k-2" });
    expect(otherAmount.status, otherAmount.text).toBe(409);
    expect(otherAmount.body.error.code).toBe("idempotency_key_reused");
    // Even the same amount is refused under that key when the receipt differs.
    const otherReceipt = await settle(t, id, { amount: "5.55", receipt: { General: [{ A: "2" }] } }, { "Idempotency-Key": "k-2" });
    expect(otherReceipt.status, otherReceipt.text).toBe(409);
    expect(otherReceipt.body.error.code).toBe("idempotency_key_reused");
    expect(sent(simulator, "Settlement")).toHaveLength(1);
  });

  it("a key whose first attempt got a 502 is not burnt: the retry reaches Spark", async () => {
    const { simulator, t, id } = await authorized();
    simulator.failNext("Settlement", { errorCode: 35 });
    expect((await settle(t, id, { amount: "3.00" }, { "Idempotency-Key": "k-3" })).status).toBe(502);
    const retry = await settle(t, id, { amount: "3.00" }, { "Idempotency-Key": "k-3" });
    expect(retry.status, retry.text).toBe(200);
    expect(sent(simulator, "Settlement")).toHaveLength(2);
  });

  it("a repeat with the same amount (no key) returns the first result without a second call", async () => {
    const { simulator, t, id } = await authorized();
    const first = await settle(t, id, { amount: "6.10" });
    expect(first.status, first.text).toBe(200);
    for (const amount of ["6.10", "6.1", 6.1]) {
      const again = await settle(t, id, { amount });
      expect(again.status, again.text).toBe(200);
      expect(again.body.settlement).toEqual(first.body.settlement);
      expect(again.body.settledAmount).toBe("6.10");
    }
    expect(sent(simulator, "Settlement")).toHaveLength(1);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.settled"]);
  });

  it("a different amount after success is 409 and nothing is sent", async () => {
    const { simulator, t, id } = await authorized();
    expect((await settle(t, id, { amount: "6.10" })).status).toBe(200);
    const other = await settle(t, id, { amount: "6.11" });
    expect(other.status, other.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(1);
    expect((await session(t, id)).settledAmount).toBe("6.10");
  });
});

describe("settle: concurrent requests and payment modes", () => {
  it("two identical settles at once reach Spark once and both get the result", async () => {
    const { simulator, t, id } = await authorized();
    simulator.setLatency(50);
    const [a, b] = await Promise.all([settle(t, id, { amount: "7.77" }), settle(t, id, { amount: "7.77" })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.settlement).toEqual(b.body.settlement);
    expect(sent(simulator, "Settlement")).toHaveLength(1);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.settled"]);
  });

  it("two different amounts at once: one settles, the other is 409", async () => {
    const { simulator, t, id } = await authorized();
    simulator.setLatency(50);
    const answers = await Promise.all([settle(t, id, { amount: "7.77" }), settle(t, id, { amount: "8.88" })]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(sent(simulator, "Settlement")).toHaveLength(1);
    const winner = answers.find((a) => a.status === 200)!;
    expect((await session(t, id)).settledAmount).toBe(winner.body.settledAmount);
  });

  it("a pre-selection Remote Start is charged at authorization: settle is 409", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    const { id } = await authorizedRemote(t, siteId, { mode: "pre_selection" });
    const res = await settle(t, id, { amount: "5.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
  });
});

describe("settle: Spark failing (502), the session stays settleable", () => {
  it.each([35, 32, 36, 27, 34, 997, 999, 992])("Spark declining with %i", async (code) => {
    const { simulator, t, id } = await authorized();
    const description = `Injected refusal ${code}`;
    simulator.failNext("Settlement", { errorCode: code, description });
    const failed = await settle(t, id, { amount: "4.20" });
    expect(failed.status, failed.text).toBe(502);
    expect(failed.body.error.spark).toEqual({ code, description });
    expect(failed.body.error.message).toContain(String(code));

    const after = await session(t, id);
    expect(after.status).toBe("authorized");
    expect(after.settledAmount).toBeNull();
    expect(after.lastSparkError).toMatchObject({ method: "Settlement", code, description });
    expect(after.events.map((e) => e.type)).toEqual(["session.authorized", "session.settlement_failed"]);
    expect(after.events[1]!.data.sequence).toBe(2);

    const retry = await settle(t, id, { amount: "4.20" });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.body).toMatchObject({ status: "settled", settledAmount: "4.20", lastSparkError: null });
    expect(sent(simulator, "Settlement")).toHaveLength(2);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.settlement_failed", "session.settled"]);
  });

  it.each([
    ["HTTP 401 (signature refused)", { httpStatus: 401 }, /401/],
    ["HTTP 503 with a Spark status", { httpStatus: 503, errorCode: 999, description: "Nayax General Error" }, /Nayax General Error/],
  ])("Spark %s", async (_what, failure, mentions) => {
    const { simulator, t, id } = await authorized();
    simulator.failNext("Settlement", failure);
    const failed = await settle(t, id, { amount: "2.00" });
    expect(failed.status, failed.text).toBe(502);
    expect(failed.body.error.code).toBe("spark_error");
    expect(failed.body.error.spark).toBeDefined();
    expect(failed.body.error.spark!.description).toMatch(mentions);
    const after = await session(t, id);
    expect(after.status).toBe("authorized");
    expect(after.lastSparkError).toMatchObject({ method: "Settlement" });
    expect(after.events.map((e) => e.type)).toContain("session.settlement_failed");
    expect((await settle(t, id, { amount: "2.00" })).status).toBe(200);
  });
});

describe("settle: Spark's answer unknown (202, §8)", () => {
  it.each([
    ["unreachable (network error)", { networkError: true }, /request failed/],
    ["HTTP 500 without a Spark body", { httpStatus: 500 }, /HTTP 500/],
  ])("Spark %s", async (_what, failure, mentions) => {
    const { simulator, t, id } = await authorized();
    simulator.failNext("Settlement", failure);
    const res = await settle(t, id, { amount: "2.00" });
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ status: "authorized", operation: { kind: "settle", amount: "2.00", state: "unknown", attempts: 1 } });
    expect((res.body.operation as { lastError: { description: string } }).lastError.description).toMatch(mentions);
    // No event: nothing is known yet.
    expect(await eventTypes(t, id)).toEqual(["session.authorized"]);
  });

  it("Spark not answering within the deadline (SPARK_TIMEOUT_MS)", async () => {
    const { simulator, t, id } = await authorized();
    await sessionSettings(id, { SPARK_TIMEOUT_MS: "300" });
    simulator.failNext("Settlement", { delayMs: 5_000 });
    const started = Date.now();
    const res = await settle(t, id, { amount: "2.00" });
    const took = Date.now() - started;
    expect(res.status, res.text).toBe(202);
    expect(res.body.operation).toMatchObject({ state: "unknown", lastError: { code: null, description: "no answer within 300 ms" } });
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(4_000);
    const after = await session(t, id);
    expect(after.status).toBe("authorized");
    expect(after.events.map((e) => e.type)).toEqual(["session.authorized"]);
  });
});

describe("SPARK_TIMEOUT_MS", () => {
  it("takes a positive whole number of milliseconds, else keeps the 10 s default", () => {
    const withTimeout = (value: string | undefined) => ({ SPARK_TIMEOUT_MS: value }) as unknown as Env;
    expect(SPARK_TIMEOUT_MS).toBe(10_000);
    expect(sparkTimeoutMs(withTimeout("2500"))).toBe(2500);
    for (const bad of [undefined, "", "0", "-1", "1.5", "soon"]) expect(sparkTimeoutMs(withTimeout(bad))).toBe(SPARK_TIMEOUT_MS);
  });
});
