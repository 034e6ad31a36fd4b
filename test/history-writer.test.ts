/**
 * Group commit of the sessions' D1 writes (src/db/history-writer.ts), against the test
 * runtime's real D1. Callers reach the writer through stubs, as session objects do; the
 * writer's private `commit` is watched from inside the object to see each D1 batch it sends.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MockInstance } from "vitest";
import { DEFAULT_BATCH_WINDOW_MS, DEFAULT_HISTORY_WRITERS, HistoryWriter, MAX_BATCH_STATEMENTS, batchWindowMs, historyWriter, shardOf } from "../src/db/history-writer";
import type { Statement } from "../src/db/history-writer";

/** What the tests reach inside a writer: its queue of callers and the method that sends one D1 batch. */
interface WriterInternals {
  queue: unknown[];
  commit(statements: Statement[]): Promise<void>;
  env: Env;
}

type Writer = DurableObjectStub<HistoryWriter>;

/** A writer of its own, so no other test's callers join its batches. */
const writerNamed = (name: string): Writer => env.HISTORY.get(env.HISTORY.idFromName(name));

/** Rows are `delivery_attempts` (an existing table without foreign keys), tagged per test by `endpoint_id`. */
const INSERT = "INSERT INTO delivery_attempts (event_id, endpoint_id, tenant_id, attempted_at, duration_ms) VALUES (?, ?, ?, ?, ?)";

/** `count` inserts of rows `caller:0`, `caller:1`, … under `tag`. */
function rows(tag: string, caller: string, count: number): Statement[] {
  return Array.from({ length: count }, (_, i) => ({ sql: INSERT, params: [`${caller}:${i}`, tag, "ten_history", Date.now(), i] }));
}

/** A statement D1 refuses (`tenant_id` is NOT NULL), from `caller`. */
const failing = (tag: string, caller: string): Statement => ({ sql: INSERT, params: [`${caller}:failing`, tag, null, Date.now(), 0] });

/** The rows under `tag`, in the order D1 stored them. */
async function stored(tag: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT event_id FROM delivery_attempts WHERE endpoint_id = ? ORDER BY id").bind(tag).all<{ event_id: string }>();
  return results.map((r) => r.event_id);
}

/** The caller each statement of a batch came from (the part of `event_id` before the colon). */
const callersOf = (batch: Statement[]) => [...new Set(batch.map((s) => String(s.params[0]).split(":")[0]))];

/**
 * Watches the writer's D1 batches. With `holdFirstUntil`, the first batch waits inside the
 * writer until that many callers are queued behind it: the test decides who arrives while a
 * batch is in flight instead of racing the D1 round trip.
 */
async function watchCommits(writer: Writer, holdFirstUntil?: number) {
  let commit!: MockInstance<(statements: Statement[]) => Promise<void>>;
  await runInDurableObject(writer, (instance) => {
    const internals = instance as unknown as WriterInternals;
    const send = internals.commit.bind(internals);
    commit = vi.spyOn(internals, "commit");
    if (holdFirstUntil !== undefined) {
      commit.mockImplementationOnce(async (statements) => {
        await vi.waitFor(() => expect(internals.queue.length).toBeGreaterThanOrEqual(holdFirstUntil), { timeout: 5_000, interval: 5 });
        return send(statements);
      });
    }
  });
  return commit;
}

/** Waits until the writer has started its first batch, so the next callers arrive while it is in flight. */
const firstBatchStarted = (commit: MockInstance) => vi.waitFor(() => expect(commit).toHaveBeenCalledTimes(1), { timeout: 5_000, interval: 5 });

afterEach(() => {
  vi.restoreAllMocks();
});

describe("HistoryWriter group commit", () => {
  it("sends the writes of callers that arrive during a batch together, and commits every row in order", async () => {
    const tag = `group-${crypto.randomUUID()}`;
    // Three sessions reach their writer the way session objects do; with one writer they share it.
    const sessions = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const [a, b, c] = sessions.map((id) => historyWriter(env, id));
    const commit = await watchCommits(a!, 2);

    const first = a!.write(rows(tag, "a", 3));
    await firstBatchStarted(commit);
    await Promise.all([first, b!.write(rows(tag, "b", 2)), c!.write(rows(tag, "c", 4))]);

    // Three callers, two D1 batches: the first alone, the two that arrived meanwhile together.
    const batches = commit.mock.calls.map(([statements]) => statements);
    expect(batches).toHaveLength(2);
    expect(callersOf(batches[0]!)).toEqual(["a"]);
    expect(callersOf(batches[1]!).sort()).toEqual(["b", "c"]);
    // D1 holds every row once, in the order the batches carried them, each caller's rows in its order.
    const sent = batches.flat().map((s) => s.params[0]);
    expect(await stored(tag)).toEqual(sent);
    expect(sent.filter((id) => String(id).startsWith("c:"))).toEqual(["c:0", "c:1", "c:2", "c:3"]);
    expect(sent).toHaveLength(9);
  });

  it("rejects only the caller whose statement fails; the others in its batch are committed", async () => {
    const tag = `failing-${crypto.randomUUID()}`;
    const writer = writerNamed(tag);
    const commit = await watchCommits(writer, 3);

    const first = writer.write(rows(tag, "a", 1));
    await firstBatchStarted(commit);
    // "bad" has a good statement before its failing one: all of it must stay out of D1.
    const grouped = {
      b: writer.write(rows(tag, "b", 2)),
      bad: writer.write([...rows(tag, "bad", 1), failing(tag, "bad")]),
      d: writer.write(rows(tag, "d", 2)),
    };
    await first;
    const settled = Object.fromEntries(await Promise.all(Object.entries(grouped).map(async ([k, p]) => [k, await p.then(() => "ok", (e: unknown) => String(e))])));

    expect(settled.b).toBe("ok");
    expect(settled.d).toBe("ok");
    // (workerd also logs this rejected RPC as "Uncaught (in promise)", although it is caught here.)
    expect(settled.bad).toMatch(/NOT NULL/i);

    // The group of three failed as one D1 batch, then each caller was sent alone, once.
    const batches = commit.mock.calls.map(([statements]) => callersOf(statements));
    expect(batches[0]).toEqual(["a"]);
    const group = batches[1]!;
    expect([...group].sort()).toEqual(["b", "bad", "d"]);
    expect(batches.slice(2)).toEqual(group.map((caller) => [caller]));
    expect(commit.mock.settledResults.map((r) => r.type)).toEqual(["fulfilled", "rejected", ...group.map((caller) => (caller === "bad" ? "rejected" : "fulfilled"))]);

    // The failed group left nothing behind, so the retried callers' rows are there exactly once.
    const kept = await stored(tag);
    expect([...kept].sort()).toEqual(["a:0", "b:0", "b:1", "d:0", "d:1"]);
    expect(kept.filter((id) => id.startsWith("bad:"))).toEqual([]);
  });

  it("answers an empty write at once without a D1 batch", async () => {
    const writer = writerNamed(`empty-${crypto.randomUUID()}`);
    const commit = await watchCommits(writer);
    let batch!: MockInstance;
    let prepare!: MockInstance;
    await runInDurableObject(writer, (instance) => {
      const db = (instance as unknown as WriterInternals).env.DB;
      batch = vi.spyOn(db, "batch");
      prepare = vi.spyOn(db, "prepare");
    });

    await expect(writer.write([])).resolves.toBeUndefined();

    expect(commit).not.toHaveBeenCalled();
    expect(batch).not.toHaveBeenCalled();
    expect(prepare).not.toHaveBeenCalled();
    // Nothing stays queued either, for a later batch to pick up.
    expect(await runInDurableObject(writer, (instance) => (instance as unknown as WriterInternals).queue.length)).toBe(0);
  });

  it("splits callers over several batches when their statements exceed MAX_BATCH_STATEMENTS, never one caller", async () => {
    const tag = `limit-${crypto.randomUUID()}`;
    const writer = writerNamed(tag);
    // Two callers fit in a batch, three do not.
    const each = Math.floor(MAX_BATCH_STATEMENTS / 2) - 5;
    expect(3 * each).toBeGreaterThan(MAX_BATCH_STATEMENTS);
    const callers = ["p", "q", "r", "s"];
    const commit = await watchCommits(writer, callers.length);

    const first = writer.write(rows(tag, "a", 1));
    await firstBatchStarted(commit);
    await Promise.all([first, ...callers.map((caller) => writer.write(rows(tag, caller, each)))]);

    const batches = commit.mock.calls.map(([statements]) => statements);
    expect(batches.map((b) => b.length)).toEqual([1, 2 * each, 2 * each]);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(MAX_BATCH_STATEMENTS);
    // Each caller's statements travel whole, in one batch (one D1 transaction).
    const batchOf = (caller: string) => batches.findIndex((b) => callersOf(b).includes(caller));
    for (const caller of callers) {
      expect(batches.filter((b) => callersOf(b).includes(caller))).toHaveLength(1);
      expect(batches[batchOf(caller)]!.filter((s) => String(s.params[0]).startsWith(`${caller}:`))).toHaveLength(each);
    }
    expect(await stored(tag)).toEqual(batches.flat().map((s) => s.params[0]));
    expect(await stored(tag)).toHaveLength(1 + callers.length * each);
  });

  it("sends a caller with more than MAX_BATCH_STATEMENTS alone, whole, without holding up the callers behind it", async () => {
    const tag = `big-${crypto.randomUUID()}`;
    const writer = writerNamed(tag);
    const commit = await watchCommits(writer, 3);

    const first = writer.write(rows(tag, "a", 1));
    await firstBatchStarted(commit);
    const small = writer.write(rows(tag, "small", 2));
    await vi.waitFor(async () => expect(await runInDurableObject(writer, (i) => (i as unknown as WriterInternals).queue.length)).toBe(1));
    const big = writer.write(rows(tag, "big", MAX_BATCH_STATEMENTS + 20));
    await vi.waitFor(async () => expect(await runInDurableObject(writer, (i) => (i as unknown as WriterInternals).queue.length)).toBe(2));
    const after = writer.write(rows(tag, "after", 2));
    await Promise.all([first, small, big, after]);

    const batches = commit.mock.calls.map(([statements]) => statements);
    expect(batches.map(callersOf)).toEqual([["a"], ["small"], ["big"], ["after"]]);
    expect(batches.map((b) => b.length)).toEqual([1, 2, MAX_BATCH_STATEMENTS + 20, 2]);
    expect(await stored(tag)).toHaveLength(1 + 2 + MAX_BATCH_STATEMENTS + 20 + 2);
  });
});

describe("HistoryWriter batch window", () => {
  /** A writer of its own whose batch window is `windowMs`, with the start time of each D1 batch it sends. */
  async function writerWithWindow(windowMs: number) {
    const tag = `window-${crypto.randomUUID()}`;
    const writer = writerNamed(tag);
    const started: Array<{ at: number; callers: string[] }> = [];
    await runInDurableObject(writer, (instance) => {
      const internals = instance as unknown as WriterInternals;
      internals.env = { ...internals.env, HISTORY_BATCH_WINDOW_MS: String(windowMs) };
      const send = internals.commit.bind(internals);
      vi.spyOn(internals, "commit").mockImplementation((statements) => {
        started.push({ at: Date.now(), callers: callersOf(statements) as string[] });
        return send(statements);
      });
    });
    return { tag, writer, started };
  }

  it("under load starts at most one batch per window, with everything that arrived meanwhile", async () => {
    const windowMs = 300;
    const { tag, writer, started } = await writerWithWindow(windowMs);
    await writer.write(rows(tag, "a", 1));
    // Right after a batch: these wait for the window, then go together.
    await Promise.all(["b", "c", "d"].map((caller) => writer.write(rows(tag, caller, 2))));

    expect(started.map((b) => b.callers.sort())).toEqual([["a"], ["b", "c", "d"]]);
    expect(started[1]!.at - started[0]!.at).toBeGreaterThanOrEqual(windowMs - 5);
    expect(await stored(tag)).toHaveLength(7);
  });

  it("sends at once after a quiet window, and at once when the queue fills a batch", async () => {
    const windowMs = 400;
    const { tag, writer, started } = await writerWithWindow(windowMs);
    const t0 = Date.now();
    await writer.write(rows(tag, "first", 1));
    expect(Date.now() - t0).toBeLessThan(windowMs);
    // Within the window, but a full batch: it does not wait.
    const t1 = Date.now();
    await writer.write(rows(tag, "full", MAX_BATCH_STATEMENTS));
    expect(Date.now() - t1).toBeLessThan(windowMs);
    await new Promise((r) => setTimeout(r, windowMs + 50));
    // The window since the last batch has passed: no wait.
    const t2 = Date.now();
    await writer.write(rows(tag, "quiet", 1));
    expect(Date.now() - t2).toBeLessThan(windowMs);
    expect(started.map((b) => b.callers)).toEqual([["first"], ["full"], ["quiet"]]);
  });

  it("reads HISTORY_BATCH_WINDOW_MS, 0 included, and falls back to the default otherwise", () => {
    expect(batchWindowMs({})).toBe(DEFAULT_BATCH_WINDOW_MS);
    expect(batchWindowMs({ HISTORY_BATCH_WINDOW_MS: "0" })).toBe(0);
    expect(batchWindowMs({ HISTORY_BATCH_WINDOW_MS: "50" })).toBe(50);
    for (const bad of ["", "soon", "-1"]) expect(batchWindowMs({ HISTORY_BATCH_WINDOW_MS: bad })).toBe(DEFAULT_BATCH_WINDOW_MS);
  });
});

describe("shardOf and historyWriter", () => {
  const ids = Array.from({ length: 2_000 }, () => crypto.randomUUID());

  it("gives each id the same shard every time, always in [0, shards)", () => {
    for (const shards of [1, 2, 3, 4, 7, 8, 16, 64]) {
      for (const id of ids) {
        const shard = shardOf(id, shards);
        expect(Number.isInteger(shard)).toBe(true);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(shards);
        expect(shardOf(id, shards)).toBe(shard);
        // Upper case is another string, but still a valid shard.
        expect(shardOf(id.toUpperCase(), shards)).toBeLessThan(shards);
      }
    }
    // FNV-1a's published test vectors (2^32 shards is the hash itself): a shard may not change
    // between isolates or deployments, or a session's writes could overtake each other.
    expect(shardOf("", 2 ** 32)).toBe(0x811c9dc5);
    expect(shardOf("a", 2 ** 32)).toBe(0xe40c292c);
    expect(shardOf("foobar", 2 ** 32)).toBe(0xbf9cf968);
  });

  it("spreads ids over every shard, none far from its share", () => {
    for (const shards of [2, 4, 8, 16]) {
      const counts = new Array<number>(shards).fill(0);
      for (const id of ids) counts[shardOf(id, shards)]!++;
      const share = ids.length / shards;
      for (const n of counts) {
        expect(n).toBeGreaterThan(share * 0.7);
        expect(n).toBeLessThan(share * 1.3);
      }
    }
  });

  it("picks the writer by shardOf over HISTORY_WRITERS, one writer when unset or invalid", () => {
    const writerId = (e: Partial<Env>, id: string) => historyWriter({ HISTORY: env.HISTORY, ...e } as Env, id).id.toString();
    const named = (shard: number) => env.HISTORY.idFromName(`writer-${shard}`).toString();
    expect(DEFAULT_HISTORY_WRITERS).toBe(1);
    const used = new Set<string>();
    for (const id of ids.slice(0, 200)) {
      expect(writerId({ HISTORY_WRITERS: "4" }, id)).toBe(named(shardOf(id, 4)));
      used.add(writerId({ HISTORY_WRITERS: "4" }, id));
      for (const setting of [undefined, "0", "-2", "1.5", "many"]) expect(writerId({ HISTORY_WRITERS: setting }, id)).toBe(named(0));
    }
    expect(used.size).toBe(4);
  });
});
