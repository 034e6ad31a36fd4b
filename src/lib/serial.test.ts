import { describe, expect, it } from "vitest";
import { SerialQueue } from "./serial";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("SerialQueue", () => {
  it("runs tasks one at a time in arrival order, also after a failure", async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    let peak = 0;
    const task = (name: string, fail = false) => async () => {
      running += 1;
      peak = Math.max(peak, running);
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      running -= 1;
      if (fail) throw new Error(name);
      return name;
    };
    const a = queue.run(task("a", true));
    const b = queue.run(task("b"));
    const c = queue.run(task("c"));
    await expect(a).rejects.toThrow("a");
    expect(await b).toBe("b");
    expect(await c).toBe("c");
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(peak).toBe(1);
    expect(queue.size).toBe(0);
  });
});
