/**
 * A session's own state and events reach D1 without being queued: the object keeps how far D1
 * has them (`d1_sequence`, `d1_current` in its session row) and builds those writes when it sends
 * (src/sessions/session-object.ts `projection`, src/sessions/d1-outbox.ts). These are the ways
 * that can go wrong: a change made while a batch is out, D1 down, an object stored by the
 * version that queued its writes, and retention deleting what D1 does not have yet.
 */
import { abortAllDurableObjects, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tableExists } from "../src/lib/storage";
import type { Projection } from "../src/sessions/d1-outbox";
import type { SessionRecord } from "../src/sessions/model";
import { eventInsert, sessionUpsert } from "../src/sessions/projection";
import { sessionStub } from "../src/sessions/stub";
import { breakableHistory, flush, newSessionId } from "./helpers";
import type { D1Outage } from "./helpers";
import { insideSession } from "./session-flows";
import { tenantWithSites } from "./support";
import { Receiver, WAIT, authorizeSession, createEndpoint, interceptWebhooks, stopSession, timeOutSession } from "./webhooks-support";

interceptWebhooks();

interface Internals {
  record: SessionRecord;
  inD1: { sequence: number; current: boolean };
  projection(): Projection;
  commit(next: SessionRecord, types: string[], at: Date): void;
  pendingHistory(): number;
  purge(cutoff: number): Promise<boolean>;
}

const inside = <R>(id: string, fn: (object: Internals, state: DurableObjectState) => R | Promise<R>) =>
  insideSession(id, (object, state) => fn(object as unknown as Internals, state));

const d1Session = (id: string) => env.DB.prepare("SELECT status, overdue, last_sequence FROM sessions WHERE id = ?").bind(id).first<{ status: string; overdue: number; last_sequence: number }>();
const d1Events = async (id: string) =>
  (await env.DB.prepare("SELECT id, sequence, type FROM session_events WHERE session_id = ? ORDER BY sequence").bind(id).all<{ id: string; sequence: number; type: string }>()).results;

const outage: D1Outage = { down: false };
afterEach(() => {
  outage.down = false;
});

describe("a session's history in D1, built from its own storage", () => {
  it("a callback queues no D1 rows; D1 gets the session and its event, and the session row says so", async () => {
    const tenant = await tenantWithSites();
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);
    await flush(session.id);

    expect(await d1Session(session.id)).toEqual({ status: "authorized", overdue: 0, last_sequence: 1 });
    expect((await d1Events(session.id)).map((e) => e.type)).toEqual(["session.authorized"]);
    await inside(session.id, (object, state) => {
      // Nothing was ever queued: the queue's table was not even made.
      expect(tableExists(state.storage.sql, "d1_outbox")).toBe(false);
      expect(state.storage.sql.exec("SELECT d1_sequence, d1_current FROM session").one()).toEqual({ d1_sequence: 1, d1_current: 1 });
      expect(object.pendingHistory()).toBe(0);
    });
  });

  it("a change made while a batch is out leaves D1 behind, and the next batch carries it", async () => {
    const tenant = await tenantWithSites();
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);
    await flush(session.id);

    await inside(session.id, (object) => {
      // Changes without an event, as a deadline's flag is: only the session row tells D1.
      object.commit({ ...object.record, overdue: true }, [], new Date());
      const batch = object.projection().pending(100);
      expect(batch.complete).toBe(true);
      expect(batch.statements).toHaveLength(1);
      object.commit({ ...object.record, status: "stop_requested" }, [], new Date());
      batch.sent();
      expect(object.pendingHistory()).toBe(1);
    });
    await flush(session.id);
    expect(await d1Session(session.id)).toMatchObject({ status: "stop_requested", overdue: 1 });
  });

  it("many events D1 lacks go in batches of at most the limit, the session row with the last", async () => {
    const tenant = await tenantWithSites();
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);
    await flush(session.id);
    await inside(session.id, (object, state) => {
      state.storage.sql.exec("UPDATE session SET d1_sequence = 0, d1_current = 0");
      object.inD1 = { sequence: 0, current: false };
      const first = object.projection().pending(1);
      expect(first).toMatchObject({ complete: false, statements: [{ sql: expect.stringContaining("INSERT INTO session_events") }] });
      first.sent();
      const second = object.projection().pending(1);
      expect(second).toMatchObject({ complete: true, statements: [{ sql: expect.stringContaining("INSERT INTO sessions") }] });
      second.sent();
      expect(object.pendingHistory()).toBe(0);
      expect(state.storage.sql.exec("SELECT d1_sequence, d1_current FROM session").one()).toEqual({ d1_sequence: 1, d1_current: 1 });
    });
  });

  it("while D1 is down the session stays marked behind, retention keeps it, and everything arrives once D1 is back", async () => {
    await breakableHistory(outage);
    const tenant = await tenantWithSites();
    outage.down = true;
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);
    await timeOutSession(tenant, session);
    await runDurableObjectAlarm(sessionStub(env, session.id));
    await inside(session.id, async (object, state) => {
      expect(state.storage.sql.exec("SELECT d1_current FROM session").one().d1_current).toBe(0);
      expect(object.pendingHistory()).toBe(1);
      // Ended, but D1 does not have it: not deleted.
      expect(await object.purge(Date.now() + 60_000)).toBe(false);
    });
    expect(await d1Session(session.id)).toBeNull();

    outage.down = false;
    await flush(session.id);
    expect(await d1Session(session.id)).toMatchObject({ status: "timed_out", last_sequence: 2 });
    expect((await d1Events(session.id)).map((e) => e.sequence)).toEqual([1, 2]);
    expect(await inside(session.id, (object) => object.purge(Date.now() + 60_000))).toBe(true);
  });

  it("an object stored by the version that queued its D1 writes sends its queue, then catches D1 up from its own storage", async () => {
    const tenant = await tenantWithSites();
    const session = await authorizeSession(tenant, tenant.siteIds[0]!);
    await flush(session.id);
    await env.DB.batch([env.DB.prepare("DELETE FROM session_events WHERE session_id = ?").bind(session.id), env.DB.prepare("DELETE FROM sessions WHERE id = ?").bind(session.id)]);

    // As such an object was: a session row without the marks, and its writes queued.
    await inside(session.id, (object, state) => {
      const record = object.record;
      state.storage.sql.exec(`CREATE TABLE old_session AS SELECT id, record FROM session;
        DROP TABLE session;
        CREATE TABLE session (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL);
        INSERT INTO session SELECT id, record FROM old_session;
        DROP TABLE old_session;
        CREATE TABLE d1_outbox (id INTEGER PRIMARY KEY, statement TEXT NOT NULL, params TEXT NOT NULL)`);
      const legacy = eventInsert(record, { id: "evt_queued_by_the_old_version", type: "session.authorized", sequence: 1, body: "{}", createdAt: Date.now() }).toSQL();
      const upsert = sessionUpsert(record, 1).toSQL();
      for (const query of [legacy, upsert]) state.storage.sql.exec("INSERT INTO d1_outbox (statement, params) VALUES (?, ?)", query.sql, JSON.stringify(query.params));
    });
    await abortAllDurableObjects();

    await flush(session.id);
    expect(await d1Session(session.id)).toMatchObject({ status: "authorized", last_sequence: 1 });
    // The queued row went first (its event id holds the sequence); the object's own event was then already there.
    expect((await d1Events(session.id)).map((e) => e.id)).toEqual(["evt_queued_by_the_old_version"]);
    await inside(session.id, (object, state) => {
      expect(state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM d1_outbox").one().n).toBe(0);
      expect(state.storage.sql.exec("SELECT d1_sequence, d1_current FROM session").one()).toEqual({ d1_sequence: 1, d1_current: 1 });
      expect(object.pendingHistory()).toBe(0);
    });
  });

  it("a session writes 7 rows to its storage for its authorization delivered, 12 with its stop (10 and 18 when its D1 writes were queued)", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver(() => new Response(null, { status: 204 }));
    await createEndpoint(tenant.apiKey, { url: receiver.url });
    const id = newSessionId();
    // Every statement the object runs, to add up the rows each wrote (SQLite-backed objects are billed by rows written).
    const cursors: Array<{ rowsWritten: number }> = [];
    await inside(id, (_object, state) => {
      const sql = state.storage.sql;
      const exec = sql.exec.bind(sql);
      (sql as unknown as { exec: typeof exec }).exec = ((...args: Parameters<typeof exec>) => {
        const cursor = exec(...args);
        cursors.push(cursor);
        return cursor;
      }) as typeof exec;
    });
    const written = () => cursors.reduce((sum, cursor) => sum + cursor.rowsWritten, 0);

    const session = await authorizeSession(tenant, tenant.siteIds[0]!, id);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    await flush(id);
    // The session, its event, where D1 stands, the delivery and the endpoint's position; the
    // rest is the tables' creation.
    expect(written()).toBeLessThanOrEqual(7);
    await stopSession(tenant, session, tenant.siteIds[0]!);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(2), WAIT);
    await flush(id);
    expect(written()).toBeLessThanOrEqual(12);
  });
});
