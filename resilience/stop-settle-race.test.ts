/**
 * Case 2 — StopCallback racing settle. What the code does (src/sessions/session-object.ts):
 * `stop()` is synchronous in the session object and does not wait for a Spark call in flight;
 * `settle()` checks the state, awaits Spark's Settlement, then commits on top of whatever the
 * record is by then. So exactly two outcomes are possible, and both end `settled`:
 *
 *  - the stop is applied first, or while Settlement is in flight: the stop is `Approved` and the
 *    timeline is authorized → stop_requested → settled (1, 2, 3);
 *  - the stop comes after the settlement was committed: the stop is `Declined` "Session already
 *    ended" and the timeline is authorized → settled (1, 2).
 *
 * Either way Spark sees exactly one Settlement per session, and the receiver gets every event.
 */
import { describe, expect, it } from "vitest";
import { useGateway, authorize, expectTimeline, newSession, settle, sleep, stop } from "./support";
import type { HttpAnswer, SessionSpec } from "./support";

const WITH_STOP = ["session.authorized", "session.stop_requested", "session.settled"];
const WITHOUT_STOP = ["session.authorized", "session.settled"];

describe("StopCallback racing settle", () => {
  const h = useGateway();

  /** The exact end state of one raced session, whichever way the race went. */
  async function expectRaceOutcome(s: SessionSpec, stopAnswer: HttpAnswer, settleAnswer: HttpAnswer): Promise<"stop first" | "settle first"> {
    const { gw, receiver } = h;
    expect(settleAnswer.status, settleAnswer.text).toBe(200);
    expect(settleAnswer.json).toMatchObject({ id: s.id, status: "settled", settledAmount: "12.25" });
    expect(stopAnswer.status, stopAnswer.text).toBe(200);
    const verdict = stopAnswer.json.Status.Verdict as string;
    let outcome: "stop first" | "settle first";
    if (verdict === "Approved") {
      outcome = "stop first";
      expect(stopAnswer.json).toEqual({ Status: { Verdict: "Approved", ErrorDescription: "No Errors" }, SparkTransactionId: s.id, ServiceStationNumber: "1" });
      const session = await expectTimeline(gw, s.id, "settled", WITH_STOP);
      expect(session.events.map((e) => e.data.session.status)).toEqual(["authorized", "stop_requested", "settled"]);
    } else {
      outcome = "settle first";
      expect(stopAnswer.json).toEqual({
        Status: { Verdict: "Declined", StatusMessage: "Session already ended", ErrorDescription: "Session already ended" },
        SparkTransactionId: s.id,
        ServiceStationNumber: "1",
      });
      const session = await expectTimeline(gw, s.id, "settled", WITHOUT_STOP);
      expect(session.events.map((e) => e.data.session.status)).toEqual(["authorized", "settled"]);
    }
    expect((await gw.session(s.id)).settledAmount).toBe("12.25");
    expect(await gw.simRequests("Settlement", s.id)).toHaveLength(1);
    await receiver.expectDelivered(gw, s.id);
    return outcome;
  }

  it("fired at the same moment, 10 times: always settled, gapless, one Settlement each", async () => {
    const { gw, receiver } = h;
    const sessions = Array.from({ length: 10 }, () => newSession());
    for (const s of sessions) await authorize(gw, s);
    const outcomes: string[] = [];
    for (const s of sessions) {
      const [stopAnswer, settleAnswer] = await Promise.all([stop(gw, s), settle(gw, s.id, "12.25")]);
      outcomes.push(await expectRaceOutcome(s, stopAnswer, settleAnswer));
    }
    console.log(`stop/settle race outcomes: ${JSON.stringify(outcomes.reduce<Record<string, number>>((n, o) => ({ ...n, [o]: (n[o] ?? 0) + 1 }), {}))}`);
    receiver.expectAllVerified();
  });

  it("a stop that lands while Settlement is in flight is approved and sequenced before settled", async () => {
    const { gw, receiver } = h;
    const s = newSession();
    await authorize(gw, s);
    await gw.sim("POST", "/_sim/latency", { ms: 800 });
    try {
      let stopDoneAt = 0;
      let settleDoneAt = 0;
      const settling = settle(gw, s.id, "12.25").then((r) => ((settleDoneAt = Date.now()), r));
      await sleep(250);
      const stopAnswer = await stop(gw, s).then((r) => ((stopDoneAt = Date.now()), r));
      const settleAnswer = await settling;
      // The stop is answered at once, without waiting for the Spark call in flight.
      expect(stopDoneAt).toBeLessThan(settleDoneAt);
      expect(await expectRaceOutcome(s, stopAnswer, settleAnswer)).toBe("stop first");
    } finally {
      await gw.sim("POST", "/_sim/latency", { ms: 0 });
    }
  });

  it("5 identical settles at once while Spark is slow: one Settlement, one settled event, the same answer", async () => {
    const { gw, receiver } = h;
    const s = newSession();
    await authorize(gw, s);
    await gw.sim("POST", "/_sim/latency", { ms: 300 });
    try {
      const answers = await Promise.all(Array.from({ length: 5 }, () => settle(gw, s.id, "12.25")));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    } finally {
      await gw.sim("POST", "/_sim/latency", { ms: 0 });
    }
    await expectTimeline(gw, s.id, "settled", WITHOUT_STOP);
    expect(await gw.simRequests("Settlement", s.id)).toHaveLength(1);
    await receiver.expectDelivered(gw, s.id);
  });

  it("a stop after the settlement is declined as already ended and adds no event", async () => {
    const { gw, receiver } = h;
    const s = newSession();
    await authorize(gw, s);
    const settleAnswer = await settle(gw, s.id, "12.25");
    const stopAnswer = await stop(gw, s);
    expect(await expectRaceOutcome(s, stopAnswer, settleAnswer)).toBe("settle first");
  });
});
