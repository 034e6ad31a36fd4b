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
});
