import { describe, expect, it } from "vitest";
import { StageTimer } from "./timing";

describe("StageTimer", () => {
  it("measures nothing and sends no header when TIMINGS is unset", () => {
    const timer = StageTimer.for({});
    timer.lap("auth");
    timer.add({ index: 3 });
    expect(timer.header()).toBeNull();
    expect(timer.record()).toBeUndefined();
  });

  it("lists the stages in order, its own laps and those measured elsewhere", () => {
    const timer = StageTimer.for({ TIMINGS: "1" });
    timer.lap("auth");
    timer.add({ apply: 1.25, index: 2 });
    timer.lap("session");
    expect(timer.header()).toMatch(/^auth;dur=\d+\.\d, apply;dur=1\.3, index;dur=2\.0, session;dur=\d+\.\d$/);
    expect(Object.keys(timer.record()!)).toEqual(["auth", "apply", "index", "session"]);
  });

  it("starts with the time before the handler when the client says when it sent the request", () => {
    const timer = StageTimer.for({ TIMINGS: "1" });
    timer.queued("1700000000000", 1_700_000_000_250);
    timer.lap("auth");
    expect(timer.header()).toMatch(/^queue;dur=250\.0, auth;dur=\d+\.\d$/);
    const prefixed = StageTimer.for({ TIMINGS: "1" });
    prefixed.queued("t=1700000000000", 1_700_000_000_040);
    expect(prefixed.record()).toEqual({ queue: 40 });
  });

  it("leaves the queue out when the sending time is unreadable, in the future, or timings are off", () => {
    for (const sentAt of ["", "soon", "1700000000000.5", "-5", "1700000000001"]) {
      const timer = StageTimer.for({ TIMINGS: "1" });
      timer.queued(sentAt, 1_700_000_000_000);
      expect(timer.record()).toEqual({});
    }
    const off = StageTimer.for({});
    off.queued("1700000000000", 1_700_000_000_250);
    expect(off.header()).toBeNull();
  });
});
