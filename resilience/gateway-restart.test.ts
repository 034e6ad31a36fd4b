/**
 * Case 4 — the gateway restarts while deliveries are pending. The receiver is closed (connection
 * refused); sessions are played; the gateway's process group is stopped (SIGTERM, SIGKILL if
 * needed) while every session still has undelivered events; it starts again on the same
 * STATE_DIR and port; the receiver comes back. Everything arrives, in order, nothing lost, and the
 * sessions and their timelines read back exactly as they were before the restart: the Durable
 * Object storage and D1 survived.
 */
import { describe, expect, it } from "vitest";
import { useGateway, authorize, expectTimeline, newSession, settle, sleep, stop, waitUntil, withoutDeliveries } from "./support";
import type { SessionWithEvents } from "./support";

/** Thirty retries about a second apart: the restart (~10–20 s) must not exhaust them. */
const RETRY_SCHEDULE = Array(30).fill("1").join(",");

describe("gateway restart mid-delivery, same STATE_DIR", () => {
  const h = useGateway({ env: { WEBHOOK_RETRY_SCHEDULE: RETRY_SCHEDULE } });

  it("delivers everything after the restart, and sessions and events read back identical", async () => {
    const { gw, receiver } = h;
    await receiver.close();
    const sessions = Array.from({ length: 6 }, () => newSession());
    const expected = new Map<string, { status: string; types: string[] }>();
    for (const [i, s] of sessions.entries()) {
      await authorize(gw, s);
      expect((await stop(gw, s)).json.Status.Verdict).toBe("Approved");
      if (i % 2 === 0) {
        const settled = await settle(gw, s.id, "12.25");
        expect(settled.status, settled.text).toBe(200);
        expected.set(s.id, { status: "settled", types: ["session.authorized", "session.stop_requested", "session.settled"] });
      } else {
        expected.set(s.id, { status: "stop_requested", types: ["session.authorized", "session.stop_requested"] });
      }
    }
    const before = new Map<string, SessionWithEvents>();
    for (const s of sessions) {
      const { status, types } = expected.get(s.id)!;
      before.set(s.id, await expectTimeline(gw, s.id, status, types));
    }
    // Let a few refused attempts happen, so retries are pending (not just first tries) at the kill.
    await sleep(2_000);
    expect(receiver.deliveries).toEqual([]);

    const stoppedAt = Date.now();
    await gw.stop("SIGTERM");
    await gw.start();
    const restartedAt = Date.now();
    console.log(`gateway restarted in ${restartedAt - stoppedAt} ms`);

    // Still refusing for a moment after the restart: the pending retries must resume by themselves,
    // without anyone touching the session objects (the attempt log is read from D1).
    const firstEvent = before.get(sessions[0]!.id)!.events[0]!;
    await waitUntil("a refused attempt recorded after the restart", 20_000, async () => {
      const res = await gw.api("GET", `/v1/events/${firstEvent.id}/attempts`);
      const data = (res.json?.data ?? []) as Array<{ attemptedAt: string; status: number | null }>;
      return data.some((a) => Date.parse(a.attemptedAt) >= stoppedAt && a.status === null) ? true : undefined;
    });

    await receiver.reopen();
    // Wait for the deliveries before reading any session: only the objects' own alarms drive them.
    for (const s of sessions) await receiver.waitForAccepted(s.id, before.get(s.id)!.events.length, 45_000);
    // Same tenant, same data: the sessions and timelines read back exactly as before the restart.
    for (const s of sessions) expect(withoutDeliveries(await gw.session(s.id))).toEqual(withoutDeliveries(before.get(s.id)!));
    for (const s of sessions) await receiver.expectDelivered(gw, s.id);
    receiver.expectAllVerified();

    // And the D1 side (lists, events API) holds the same history.
    for (const s of sessions) {
      const timeline = before.get(s.id)!.events;
      const listed = await waitUntil(`D1 events of ${s.id}`, 15_000, async () => {
        const res = await gw.api("GET", `/v1/events?sessionId=${s.id}&limit=50`);
        const data = (res.json?.data ?? []) as Array<{ id: string }>;
        return data.length === timeline.length ? data : undefined;
      });
      expect(new Set(listed.map((e) => e.id))).toEqual(new Set(timeline.map((e) => e.id)));
    }
    const list = await gw.api("GET", "/v1/sessions?limit=50");
    expect(list.status, list.text).toBe(200);
    const byId = new Map((list.json.data as Array<{ id: string; status: string }>).map((x) => [x.id, x.status]));
    for (const s of sessions) expect(byId.get(s.id)).toBe(expected.get(s.id)!.status);

    // The restarted gateway keeps working: one more stop on a settled session is refused, on an open one repeated.
    expect((await stop(gw, sessions[0]!)).json.Status.Verdict).toBe("Declined");
    expect((await stop(gw, sessions[1]!)).json.Status.Verdict).toBe("Approved");
    for (const s of sessions) expect(withoutDeliveries(await gw.session(s.id))).toEqual(withoutDeliveries(before.get(s.id)!));
  });

  it("survives a hard kill (SIGKILL of the whole process group) with deliveries in flight", async () => {
    const { gw, receiver } = h;
    // The receiver takes the requests and never answers: at the kill, each session's first
    // delivery is on the wire, neither delivered nor failed.
    if (!receiver.listening) await receiver.reopen();
    receiver.mode = "hang";
    const sessions = Array.from({ length: 3 }, () => newSession());
    const before = new Map<string, SessionWithEvents>();
    for (const s of sessions) {
      await authorize(gw, s);
      expect((await stop(gw, s)).json.Status.Verdict).toBe("Approved");
      before.set(s.id, await expectTimeline(gw, s.id, "stop_requested", ["session.authorized", "session.stop_requested"]));
    }
    await waitUntil("each session's first delivery to be in flight", 15_000, () =>
      sessions.every((s) => receiver.attemptsFor(s.id).some((d) => d.answered === 0)) ? true : undefined,
    );
    const acceptedBefore = receiver.deliveries.length;

    await gw.stop("SIGKILL");
    receiver.mode = "ok";
    await gw.start();
    // Nothing was recorded about the interrupted attempts, so the objects' safety-net alarms
    // (30 s after each change) pick the deliveries up again.
    for (const s of sessions) await receiver.waitForAccepted(s.id, 2, 60_000);
    for (const s of sessions) {
      expect(withoutDeliveries(await gw.session(s.id))).toEqual(withoutDeliveries(before.get(s.id)!));
      await receiver.expectDelivered(gw, s.id);
    }
    // The earlier sessions got nothing new (a repeat of an already delivered webhook-id would be allowed).
    const earlierIds = new Set(receiver.deliveries.slice(0, acceptedBefore).map((d) => d.webhookId));
    const mine = new Set(sessions.map((s) => s.id));
    const strays = receiver.deliveries.slice(acceptedBefore).filter((d) => !mine.has(d.event?.data.session.id ?? "") && !earlierIds.has(d.webhookId));
    expect(strays).toEqual([]);
    receiver.expectAllVerified();
  });
});
