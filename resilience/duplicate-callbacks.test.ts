/**
 * Case 1 — Spark repeats itself, all at once. The same TransactionNotify 20 times concurrently,
 * then the same StopCallback 20 times concurrently: every copy is answered 200 with the same
 * answer, and exactly one event (and one webhook, per webhook-id) comes of each burst.
 */
import { describe, expect, it } from "vitest";
import { useGateway, expectTimeline, newSession, notifyBody, sleep, stopBody } from "./support";

const COPIES = 20;

describe("concurrent duplicate callbacks", () => {
  const h = useGateway();

  it("20 identical TransactionNotify, then 20 identical StopCallback: one event each, one webhook each", async () => {
    const { gw, receiver } = h;
    // Three sessions, one after the other, each hit by its own bursts.
    for (let round = 0; round < 3; round++) {
      const s = newSession();

      const notifies = await Promise.all(Array.from({ length: COPIES }, () => gw.spark("TransactionNotify", notifyBody(s))));
      expect(notifies.map((r) => r.status)).toEqual(Array(COPIES).fill(200));
      expect(new Set(notifies.map((r) => r.text)).size).toBe(1);
      expect(notifies[0]!.json).toMatchObject({ SparkTransactionId: s.id, NayaxTransactionId: s.nayaxId, Status: { Verdict: "Approved" } });

      await receiver.waitForAccepted(s.id, 1);
      const authorized = await expectTimeline(gw, s.id, "authorized", ["session.authorized"]);
      expect(authorized.events[0]!.data.session.status).toBe("authorized");

      const stops = await Promise.all(Array.from({ length: COPIES }, () => gw.spark("StopCallback", stopBody(s))));
      expect(stops.map((r) => r.status)).toEqual(Array(COPIES).fill(200));
      expect(new Set(stops.map((r) => r.text)).size).toBe(1);
      expect(stops[0]!.json).toMatchObject({ SparkTransactionId: s.id, Status: { Verdict: "Approved" } });

      await receiver.waitForAccepted(s.id, 2);
      // Give any stray duplicate time to show up before judging "exactly one".
      await sleep(1_500);
      await expectTimeline(gw, s.id, "stop_requested", ["session.authorized", "session.stop_requested"]);
      await receiver.expectDelivered(gw, s.id);
      expect(new Set(receiver.attemptsFor(s.id).map((d) => d.webhookId)).size).toBe(2);

      // A late repeat still gets the same answers and changes nothing.
      const lateNotify = await gw.spark("TransactionNotify", notifyBody(s));
      expect(lateNotify.text).toBe(notifies[0]!.text);
      const lateStop = await gw.spark("StopCallback", stopBody(s));
      expect(lateStop.text).toBe(stops[0]!.text);
      await expectTimeline(gw, s.id, "stop_requested", ["session.authorized", "session.stop_requested"]);
    }
    receiver.expectAllVerified();
  });
});
