/**
 * Case 3 — the tenant's receiver is down (answers 503) while 10 sessions go through authorize →
 * stop, then comes back: every event of every session arrives, once per webhook-id, in order per
 * session, nothing missing, and event 2 of a session is never tried before event 1 got through.
 */
import { describe, expect, it } from "vitest";
import { useGateway, authorize, expectTimeline, newSession, stop, waitUntil } from "./support";

/** Fifteen retries about a second apart (±20 %): far more than the outage needs, so nothing is given up. */
const RETRY_SCHEDULE = Array(15).fill("1").join(",");

describe("receiver down, then up", () => {
  const h = useGateway({ env: { WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE } });

  it("delivers every event of 10 sessions, in order, once the receiver recovers", async () => {
    const { gw, receiver } = h;
    receiver.mode = "fail";
    const sessions = Array.from({ length: 10 }, () => newSession());
    await Promise.all(sessions.map((s) => authorize(gw, s)));
    for (const s of sessions) {
      const answer = await stop(gw, s);
      expect(answer.json.Status.Verdict, answer.text).toBe("Approved");
      await expectTimeline(gw, s.id, "stop_requested", ["session.authorized", "session.stop_requested"]);
    }

    // The outage is real: each session's first event was refused, then retried, at least once.
    await waitUntil(
      "two refused attempts of every session's first event",
      20_000,
      () => (sessions.every((s) => receiver.attemptsFor(s.id).filter((d) => d.answered === 503).length >= 2) ? true : undefined),
      () => sessions.map((s) => `${s.id}: ${receiver.attemptsFor(s.id).length} attempts`).join("\n"),
    );
    // While event 1 is refused, event 2 waits behind it.
    for (const s of sessions) {
      expect(receiver.attemptsFor(s.id).map((d) => d.event!.data.sequence)).toEqual(receiver.attemptsFor(s.id).map(() => 1));
    }

    receiver.mode = "ok";
    for (const s of sessions) await receiver.expectDelivered(gw, s.id, 30_000);
    receiver.expectAllVerified();

    // The attempt log tells the same story: refused while down, then one success.
    const first = (await gw.session(sessions[0]!.id)).events[0]!;
    const attempts = await waitUntil("the attempt log of the first event to show the success", 15_000, async () => {
      const res = await gw.api("GET", `/v1/events/${first.id}/attempts`);
      const data = res.json?.data as Array<{ status: number | null }> | undefined;
      return data && data.length > 0 && data[data.length - 1]!.status === 204 ? data : undefined;
    });
    const refused = receiver.attemptsFor(sessions[0]!.id).filter((d) => d.event!.id === first.id && d.answered === 503).length;
    expect(attempts.map((a) => a.status)).toEqual([...Array(refused).fill(503), 204]);
  });
});
