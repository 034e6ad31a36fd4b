import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SHARED_LOAD_WAIT_MS, TtlCache } from "./cache";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A load that counts its calls and answers after `ms`, or fails when told to. */
function counted(ms: number, value = "v") {
  const load = Object.assign(
    async () => {
      load.calls += 1;
      load.started = true;
      await sleep(ms);
      if (load.fail) throw new Error("D1 is down");
      return `${value}${load.calls}`;
    },
    { calls: 0, started: false, fail: false },
  );
  return load;
}

describe("TtlCache", () => {
  it("serves an entry until its time to live passes, then loads it again", async () => {
    const cache = new TtlCache<string>(40);
    const load = counted(0);
    expect(await cache.get("k", load)).toBe("v1");
    expect(await cache.get("k", load)).toBe("v1");
    await sleep(60);
    expect(await cache.get("k", load)).toBe("v2");
    expect(load.calls).toBe(2);
  });

  it("gives callers that miss together one load", async () => {
    const cache = new TtlCache<string>(10_000);
    const load = counted(20);
    const values = await Promise.all(Array.from({ length: 20 }, () => cache.get("k", load)));
    expect(values).toEqual(Array(20).fill("v1"));
    expect(load.calls).toBe(1);
    // Other keys load on their own.
    expect(await cache.get("other", load)).toBe("v2");
  });

  it("lets each waiter load for itself when the shared load fails; the loader sees the error", async () => {
    const cache = new TtlCache<string>(10_000);
    const load = counted(20);
    load.fail = true;
    const first = cache.get("k", load);
    await sleep(1);
    const waiters = Promise.all([cache.get("k", async () => "mine"), cache.get("k", async () => "mine")]);
    await expect(first).rejects.toThrow("D1 is down");
    // The first waiter to load stores its value; the second either shares it or loads too.
    expect(await waiters).toEqual(["mine", "mine"]);
    expect(await cache.get("k", load)).toBe("mine");
  });

  it("stops waiting for a load that never ends, and loads itself", async () => {
    const cache = new TtlCache<string>(10_000);
    void cache.get("k", () => new Promise<string>(() => undefined));
    await sleep(1);
    const started = Date.now();
    expect(await cache.get("k", async () => "mine")).toBe("mine");
    expect(Date.now() - started).toBeGreaterThanOrEqual(SHARED_LOAD_WAIT_MS - 5);
    // Stored: the next caller neither waits nor loads.
    expect(await cache.get("k", () => Promise.reject(new Error("not called")))).toBe("mine");
  });

  it("keeps nothing read before a change: a load under way when the key is forgotten is not stored or shared", async () => {
    const cache = new TtlCache<string>(10_000);
    const before = cache.get("k", async () => {
      await sleep(20);
      return "read before the change";
    });
    await sleep(1);
    cache.delete("k");
    expect(await cache.get("k", async () => "read after the change")).toBe("read after the change");
    expect(await before).toBe("read before the change");
    expect(await cache.get("k", () => Promise.reject(new Error("not called")))).toBe("read after the change");

    const old = cache.get("j", async () => {
      await sleep(20);
      return "old";
    });
    await sleep(1);
    cache.clear();
    await old;
    expect(await cache.get("j", async () => "new")).toBe("new");
  });

  it("gives a waiter in another Durable Object's request the shared value, back in its own request, where its I/O works", async () => {
    // Two requests to two objects of this isolate: A loads, B misses meanwhile and waits for A.
    const cache = new TtlCache<string>(10_000);
    const load = counted(50, "shared");
    const a = runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName("cache-test-a")), () => cache.get("k", load));
    while (!load.started) await sleep(1);
    const b = runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName("cache-test-b")), async (_, state) => {
      const value = await cache.get("k", async () => "b's own");
      // A has answered by now; B's storage is B's request's I/O.
      await state.storage.put("after", value);
      return { value, stored: await state.storage.get<string>("after") };
    });
    expect(await a).toBe("shared1");
    expect(await b).toEqual({ value: "shared1", stored: "shared1" });
    expect(load.calls).toBe(1);
  });
});
