import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_BATCH_STATEMENTS } from "../db/history-writer";
import type { Statement } from "../db/history-writer";
import { D1_OUTBOX_SCHEMA, D1Outbox } from "./d1-outbox";
import type { Projection, SqlQuery } from "./d1-outbox";
import { sessionStub } from "./stub";

const query = (name: string): SqlQuery => ({ toSQL: () => ({ sql: `-- ${name}`, params: [name] }) });
const names = (batch: Statement[]) => batch.map((s) => s.params[0]);

/** A session whose own writes are `names`, handed out in chunks of what fits; `own.sent` once D1 has them. */
function ownWrites(names: string[]): { own: { left: string[]; sent: string[] }; projection: Projection } {
  const own = { left: [...names], sent: [] as string[] };
  const projection: Projection = {
    pending: (max) => {
      const chunk = own.left.slice(0, max);
      return { statements: chunk.map((name) => query(name).toSQL()), complete: chunk.length === own.left.length, sent: () => (own.sent.push(...chunk), own.left.splice(0, chunk.length)) };
    },
  };
  return { own, projection };
}

/** Runs `fn` with an outbox on the storage of an object of its own; `send` records each batch, or fails while `down`. */
function withOutbox<R>(fn: (outbox: D1Outbox, batches: Statement[][], link: { down: boolean }, queued: () => number) => Promise<R>, projection?: Projection): Promise<R> {
  return runInDurableObject(sessionStub(env, `outbox-${crypto.randomUUID()}`), async (_, state) => {
    state.storage.sql.exec(D1_OUTBOX_SCHEMA);
    const batches: Statement[][] = [];
    const link = { down: false };
    const outbox = new D1Outbox(
      state.storage.sql,
      async (statements) => {
        if (link.down) throw new Error("D1 down");
        batches.push(statements);
      },
      projection,
    );
    const queued = () => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM d1_outbox").one().n;
    return fn(outbox, batches, link, queued);
  });
}

describe("D1Outbox.flush", () => {
  it("sends the queued writes first, then the required ones, then the riders, in one batch", async () => {
    await withOutbox(async (outbox, batches, _link, queued) => {
      outbox.add(query("q1"));
      outbox.add(query("q2"));
      expect(await outbox.flush({ required: [query("attempt")], riders: () => [query("pending")] })).toEqual({ ok: true, extraSent: true });
      expect(batches.map(names)).toEqual([["q1", "q2", "attempt", "pending"]]);
      expect(queued()).toBe(0);
    });
  });

  it("sends riders only along with other writes, and nothing when there is nothing to send", async () => {
    await withOutbox(async (outbox, batches) => {
      expect(await outbox.flush({ riders: () => [query("pending")] })).toEqual({ ok: true, extraSent: false });
      expect(batches).toEqual([]);
      expect(await outbox.flush({ required: [query("attempt")], riders: () => [query("pending")] })).toEqual({ ok: true, extraSent: true });
      expect(batches.map(names)).toEqual([["attempt", "pending"]]);
    });
  });

  it("when D1 fails keeps the queued writes, not the required ones, and says they were not sent", async () => {
    await withOutbox(async (outbox, batches, link, queued) => {
      outbox.add(query("q1"));
      link.down = true;
      expect(await outbox.flush({ required: [query("attempt")] })).toEqual({ ok: false, extraSent: false });
      expect(queued()).toBe(1);
      link.down = false;
      expect((await outbox.flush()).ok).toBe(true);
      expect(batches.map(names)).toEqual([["q1"]]);
    });
  });

  it("a long queue goes in full batches, the extra writes with the last one only", async () => {
    await withOutbox(async (outbox, batches, _link, queued) => {
      for (let i = 0; i < MAX_BATCH_STATEMENTS + 3; i++) outbox.add(query(`q${i}`));
      expect(await outbox.flush({ required: [query("attempt")], riders: () => [query("pending")] })).toEqual({ ok: true, extraSent: true });
      expect(batches.map((b) => b.length)).toEqual([MAX_BATCH_STATEMENTS, 5]);
      expect(names(batches[1]!)).toEqual([`q${MAX_BATCH_STATEMENTS}`, `q${MAX_BATCH_STATEMENTS + 1}`, `q${MAX_BATCH_STATEMENTS + 2}`, "attempt", "pending"]);
      expect(queued()).toBe(0);
    });
  });

  it("sends the session's own writes after the queued ones and before the extras, and counts them sent only once D1 has them", async () => {
    const { own, projection } = ownWrites(["e1", "e2", "session"]);
    await withOutbox(async (outbox, batches, link, queued) => {
      outbox.add(query("q1"));
      link.down = true;
      expect(await outbox.flush({ required: [query("attempt")] })).toEqual({ ok: false, extraSent: false });
      expect(own.sent).toEqual([]);
      expect(queued()).toBe(1);
      link.down = false;
      expect(await outbox.flush({ required: [query("attempt")], riders: () => [query("pending")] })).toEqual({ ok: true, extraSent: true });
      expect(batches.map(names)).toEqual([["q1", "e1", "e2", "session", "attempt", "pending"]]);
      expect(own.sent).toEqual(["e1", "e2", "session"]);
    }, projection);
  });

  it("a full queue leaves the session's own writes to the next batch, and those that do not fit to the one after", async () => {
    const { projection } = ownWrites(["e1", "e2", "session"]);
    await withOutbox(async (outbox, batches) => {
      for (let i = 0; i < 2 * MAX_BATCH_STATEMENTS - 1; i++) outbox.add(query(`q${i}`));
      expect(await outbox.flush({ required: [query("attempt")] })).toEqual({ ok: true, extraSent: true });
      expect(batches.map((b) => b.length)).toEqual([MAX_BATCH_STATEMENTS, MAX_BATCH_STATEMENTS, 3]);
      expect(names(batches[1]!).slice(-1)).toEqual(["e1"]);
      expect(names(batches[2]!)).toEqual(["e2", "session", "attempt"]);
    }, projection);
  });
});
