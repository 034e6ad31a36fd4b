/**
 * Case 5 — Spark failing on Settlement, against a real `npm start` (CONTRACT §8). A refusal is a
 * 502 with `error.spark` and `session.settlement_failed`, and the session stays settleable. An
 * unknown outcome (a 5xx without Spark's verdict, no answer within SPARK_TIMEOUT_MS, an answer
 * lost after Spark settled) is a 202: the gateway re-sends the identical Settlement by itself
 * until Spark answers, and the card is charged once.
 */
import { describe, expect, it } from "vitest";
import { useGateway, authorize, expectTimeline, newSession, stop, waitUntil } from "./support";

const SPARK_TIMEOUT_MS = 1_000;
const SPARK_DELAY_MS = 2_500;

describe("Spark failing on Settlement, then recovering", () => {
  const h = useGateway({ env: { SPARK_TIMEOUT_MS: String(SPARK_TIMEOUT_MS), SPARK_RESEND_SCHEDULE: "1" } });

  const settle = (id: string, amount: string, key?: string) =>
    h.gw.api("POST", `/v1/sessions/${id}/settle`, { amount, receipt: { General: [{ Company: "Resilience" }] } }, key ? { "Idempotency-Key": key } : {});

  /** Waits until the gateway's own re-sends have settled the session. */
  const settledBySelf = (id: string) =>
    waitUntil(`session ${id} settled by the gateway's re-send`, 20_000, async () => {
      const res = await h.gw.api("GET", `/v1/sessions/${id}`);
      return res.json?.status === "settled" ? res.json : undefined;
    });

  it("a refusal is a 502 and the session stays settleable; the next settle succeeds", async () => {
    const { gw, receiver } = h;
    const s = newSession();
    await authorize(gw, s);
    expect((await stop(gw, s)).json.Status.Verdict).toBe("Approved");

    expect((await gw.sim("POST", "/_sim/fail", { method: "Settlement", errorCode: 35 })).status).toBe(204);
    const refused = await settle(s.id, "12.25");
    expect(refused.status, refused.text).toBe(502);
    expect(refused.json.error).toMatchObject({ code: "spark_error", spark: { code: 35 } });
    await expectTimeline(gw, s.id, "stop_requested", ["session.authorized", "session.stop_requested", "session.settlement_failed"]);

    const settled = await settle(s.id, "12.25");
    expect(settled.status, settled.text).toBe(200);
    expect(settled.json).toMatchObject({ id: s.id, status: "settled", settledAmount: "12.25", currency: "EUR" });
    // A repeat with the same amount answers from the record: no new Spark call, no new event.
    const repeat = await settle(s.id, "12.25");
    expect(repeat.status).toBe(200);
    expect(repeat.json).toEqual(settled.json);
    expect(await gw.simRequests("Settlement", s.id)).toHaveLength(2);
    await expectTimeline(gw, s.id, "settled", ["session.authorized", "session.stop_requested", "session.settlement_failed", "session.settled"]);
    await receiver.expectDelivered(gw, s.id);
    receiver.expectAllVerified();
  });

  it("HTTP 500 without Spark's verdict: 202, another amount is 409, and the gateway settles it by itself", async () => {
    const { gw, receiver } = h;
    const s = newSession("20.00");
    await authorize(gw, s);
    await gw.sim("POST", "/_sim/fail", { method: "Settlement", httpStatus: 500 });
    const first = await settle(s.id, "7.50", `settle-${s.id}`);
    expect(first.status, first.text).toBe(202);
    expect(first.json).toMatchObject({ status: "authorized", operation: { kind: "settle", amount: "7.50", state: "unknown" } });
    const other = await settle(s.id, "8.00");
    expect(other.status, other.text).toBe(409);
    expect(other.json.error.code).toBe("operation_in_doubt");

    await settledBySelf(s.id);
    const requests = await gw.simRequests("Settlement", s.id);
    expect(requests).toHaveLength(2);
    // The same key now answers the final answer.
    const again = await settle(s.id, "7.50", `settle-${s.id}`);
    expect(again.status, again.text).toBe(200);
    expect(again.json).toMatchObject({ status: "settled", settledAmount: "7.50" });
    await expectTimeline(gw, s.id, "settled", ["session.authorized", "session.settled"]);
    await receiver.expectDelivered(gw, s.id);
  });

  it("no answer within SPARK_TIMEOUT_MS, Spark settling late: 202, then settled, charged once", async () => {
    const { gw } = h;
    const s = newSession();
    await authorize(gw, s);
    await gw.sim("POST", "/_sim/fail", { method: "Settlement", delayMs: SPARK_DELAY_MS });
    const started = Date.now();
    const timedOut = await settle(s.id, "12.25");
    const tookMs = Date.now() - started;
    expect(timedOut.status, timedOut.text).toBe(202);
    expect(timedOut.json.operation).toMatchObject({ state: "unknown", lastError: { code: null, description: `no answer within ${SPARK_TIMEOUT_MS} ms` } });
    expect(tookMs).toBeGreaterThanOrEqual(SPARK_TIMEOUT_MS - 50);
    expect(tookMs).toBeLessThan(SPARK_DELAY_MS);

    await settledBySelf(s.id);
    const auth = await gw.sim("GET", `/_sim/authorizations/${s.nayaxId}`);
    expect(auth.json).toMatchObject({ settledAmount: "12.25", cancelled: false });
    await expectTimeline(gw, s.id, "settled", ["session.authorized", "session.settled"]);
  });

  it("Spark settles but its answer is lost: 202, and the identical re-send ends settled, charged once", async () => {
    const { gw, receiver } = h;
    const s = newSession();
    await authorize(gw, s);
    await gw.sim("POST", "/_sim/fail", { method: "Settlement", lostAnswer: true });
    const lost = await settle(s.id, "12.25");
    expect(lost.status, lost.text).toBe(202);
    expect(lost.json.operation).toMatchObject({ kind: "settle", state: "unknown", attempts: 1 });

    await settledBySelf(s.id);
    const requests = await gw.simRequests("Settlement", s.id);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.bodyText).toBe(requests[0]!.bodyText);
    expect((await gw.sim("GET", `/_sim/authorizations/${s.nayaxId}`)).json).toMatchObject({ settledAmount: "12.25" });
    await expectTimeline(gw, s.id, "settled", ["session.authorized", "session.settled"]);
    await receiver.expectDelivered(gw, s.id);
  });
});
