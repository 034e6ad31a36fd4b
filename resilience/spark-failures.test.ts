/**
 * Case 5 — Spark answers 5xx, or not at all within SPARK_TIMEOUT_MS, on Settlement, then
 * recovers. Each failure is a 502 carrying `error.spark`, emits `session.settlement_failed`, and
 * leaves the session settleable; the next settle succeeds, and the timeline stays gapless.
 */
import { describe, expect, it } from "vitest";
import { useGateway, authorize, expectTimeline, newSession, stop } from "./support";

const SPARK_TIMEOUT_MS = 1_000;
const SPARK_DELAY_MS = 2_500;

describe("Spark failing on Settlement, then recovering", () => {
  const h = useGateway({ env: { SPARK_TIMEOUT_MS: String(SPARK_TIMEOUT_MS) } });

  const settle = (id: string, amount: string, key?: string) =>
    h.gw.api("POST", `/v1/sessions/${id}/settle`, { amount, receipt: { General: [{ Company: "Resilience" }] } }, key ? { "Idempotency-Key": key } : {});

  it("HTTP 500, then a timeout, then success: 502s with error.spark, settlement_failed twice, then settled", async () => {
    const { gw, receiver } = h;
    const s = newSession();
    await authorize(gw, s);
    expect((await stop(gw, s)).json.Status.Verdict).toBe("Approved");

    // Spark answers 500.
    expect((await gw.sim("POST", "/_sim/fail", { method: "Settlement", httpStatus: 500 })).status).toBe(204);
    const failed500 = await settle(s.id, "12.25");
    expect(failed500.status, failed500.text).toBe(502);
    expect(failed500.json.error).toMatchObject({ code: "spark_error", spark: { code: null, description: expect.stringContaining("HTTP 500") } });
    await expectTimeline(gw, s.id, "stop_requested", ["session.authorized", "session.stop_requested", "session.settlement_failed"]);

    // Spark answers only after the gateway's deadline.
    expect((await gw.sim("POST", "/_sim/fail", { method: "Settlement", delayMs: SPARK_DELAY_MS })).status).toBe(204);
    const started = Date.now();
    const timedOut = await settle(s.id, "12.25");
    const tookMs = Date.now() - started;
    expect(timedOut.status, timedOut.text).toBe(502);
    expect(timedOut.json.error).toMatchObject({ code: "spark_error", spark: { code: null, description: `no answer within ${SPARK_TIMEOUT_MS} ms` } });
    expect(tookMs).toBeGreaterThanOrEqual(SPARK_TIMEOUT_MS - 50);
    expect(tookMs).toBeLessThan(SPARK_DELAY_MS);
    await expectTimeline(gw, s.id, "stop_requested", ["session.authorized", "session.stop_requested", "session.settlement_failed", "session.settlement_failed"]);

    // Spark is back.
    const settled = await settle(s.id, "12.25");
    expect(settled.status, settled.text).toBe(200);
    expect(settled.json).toMatchObject({ id: s.id, status: "settled", settledAmount: "12.25", currency: "EUR" });
    const final = await expectTimeline(gw, s.id, "settled", [
      "session.authorized",
      "session.stop_requested",
      "session.settlement_failed",
      "session.settlement_failed",
      "session.settled",
    ]);
    expect(final.events.map((e) => e.data.session.status)).toEqual(["authorized", "stop_requested", "stop_requested", "stop_requested", "settled"]);

    // A repeat with the same amount answers from the record: no new Spark call, no new event.
    const repeat = await settle(s.id, "12.25");
    expect(repeat.status).toBe(200);
    expect(repeat.json).toEqual(settled.json);
    expect(await gw.simRequests("Settlement", s.id)).toHaveLength(3);
    await expectTimeline(gw, s.id, "settled", final.events.map((e) => e.type));

    // Spark charged once, the amount asked (checked after the delayed call would have finished).
    await new Promise((r) => setTimeout(r, Math.max(0, SPARK_DELAY_MS - (Date.now() - started)) + 200));
    const auth = await gw.sim("GET", `/_sim/authorizations/${s.nayaxId}`);
    expect(auth.json).toMatchObject({ settledAmount: "12.25", cancelled: false });
    expect(await gw.simRequests("Settlement", s.id)).toHaveLength(3);

    await receiver.expectDelivered(gw, s.id);
    receiver.expectAllVerified();
  });

  it("503, then a timeout, retried under the same Idempotency-Key, from authorized: settled at sequence 4", async () => {
    const { gw, receiver } = h;
    const s = newSession("20.00");
    await authorize(gw, s);
    const key = `settle-${s.id}`;

    await gw.sim("POST", "/_sim/fail", { method: "Settlement", httpStatus: 503 });
    const first = await settle(s.id, "7.50", key);
    expect(first.status, first.text).toBe(502);
    expect(first.json.error.spark).toEqual({ code: null, description: expect.stringContaining("HTTP 503") });

    await gw.sim("POST", "/_sim/fail", { method: "Settlement", delayMs: SPARK_DELAY_MS });
    const second = await settle(s.id, "7.50", key);
    expect(second.status, second.text).toBe(502);
    expect(second.json.error.spark).toEqual({ code: null, description: `no answer within ${SPARK_TIMEOUT_MS} ms` });
    await expectTimeline(gw, s.id, "authorized", ["session.authorized", "session.settlement_failed", "session.settlement_failed"]);

    // A 502 is not a final answer: the same key tries again, and this time Spark answers.
    const third = await settle(s.id, "7.50", key);
    expect(third.status, third.text).toBe(200);
    expect(third.json).toMatchObject({ status: "settled", settledAmount: "7.50" });
    await expectTimeline(gw, s.id, "settled", ["session.authorized", "session.settlement_failed", "session.settlement_failed", "session.settled"]);
    expect(await gw.simRequests("Settlement", s.id)).toHaveLength(3);
    await receiver.expectDelivered(gw, s.id);
  });

  // BUG — src/sessions/session-object.ts (settleNow) with src/spark/client.ts: the realistic form of
  // "Spark timed out" is that Spark DID settle and only its answer was lost. The gateway then
  // answers 502 and emits session.settlement_failed (right), but keeps the session `authorized`
  // with no way forward: every later settle is sent to Spark again, Spark refuses it with 35
  // "Settlement Failed: the transaction is already settled", and the gateway answers another 502
  // and emits another settlement_failed. The card was charged; the session never reaches `settled`
  // (and will eventually be flagged overdue). Expected: the retry reconciles the unknown outcome,
  // e.g. by taking 35 "already settled" for the same amount after an unanswered attempt as settled.
  // Reproduce: POST {simulator}/_sim/fail {"method":"Settlement","lostAnswer":true}, settle → 502,
  // settle again → 502 {"spark":{"code":35,…}}. Marked `it.fails` until the gateway handles it.
  it.fails("Spark settles but its answer is lost: a retry ends settled, charged once (BUG: stays authorized)", async () => {
    const { gw, receiver } = h;
    const s = newSession();
    await authorize(gw, s);
    await gw.sim("POST", "/_sim/fail", { method: "Settlement", lostAnswer: true });
    const lost = await settle(s.id, "12.25");
    expect(lost.status, lost.text).toBe(502);
    expect(lost.json.error.spark.code).toBeNull();
    await expectTimeline(gw, s.id, "authorized", ["session.authorized", "session.settlement_failed"]);

    const retried = await settle(s.id, "12.25");
    expect(retried.status, retried.text).toBe(200);
    expect(retried.json).toMatchObject({ status: "settled", settledAmount: "12.25" });
    await expectTimeline(gw, s.id, "settled", ["session.authorized", "session.settlement_failed", "session.settled"]);
    expect((await gw.sim("GET", `/_sim/authorizations/${s.nayaxId}`)).json).toMatchObject({ settledAmount: "12.25" });
    await receiver.expectDelivered(gw, s.id);
  });
});
