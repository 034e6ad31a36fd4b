import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { attemptInsert, upsertDelivery } from "../webhooks/deliver";
import type { AttemptRecord, StoredEvent } from "../webhooks/deliver";
import { database } from "./client";
import { prepared } from "./prepared";
import { deliveries, deliveryAttempts } from "./schema";

const db = database(env.DB);
const endpoint = { id: "we_1", tenantId: "ten_1" };
const event: StoredEvent = { id: "evt_1", type: "session.authorized", body: "{}", createdAt: 1_700_000_000_000, sessionId: "s_1", sequence: 1 };
const attempt: AttemptRecord = {
  outcome: { status: null, ok: false, error: "timeout", durationMs: 5000, responseExcerpt: null, retryAfterMs: null, gone: false },
  at: 1_700_000_000_500,
  trigger: "manual",
  nextAttemptAt: 1_700_000_060_000,
};

describe("statements built once and filled per call", () => {
  it("an attempt row: the SQL and parameters drizzle builds from the same values", () => {
    const direct = db
      .insert(deliveryAttempts)
      .values({ eventId: "evt_1", endpointId: "we_1", tenantId: "ten_1", attemptedAt: attempt.at, status: null, error: "timeout", durationMs: 5000, responseExcerpt: null, trigger: "manual", nextAttemptAt: attempt.nextAttemptAt })
      .toSQL();
    expect(attemptInsert(db, endpoint, event, attempt).toSQL()).toEqual({ sql: direct.sql, params: direct.params });
  });

  it("a delivery row: the values drizzle would bind, `attempts` set or added", () => {
    const record = { status: "pending" as const, attempts: 2, lastAttemptAt: 1, nextAttemptAt: 2 };
    const set = upsertDelivery(db, endpoint, event, record).toSQL();
    const added = upsertDelivery(db, endpoint, event, record, { addAttempts: true }).toSQL();
    const direct = db
      .insert(deliveries)
      .values({ eventId: "evt_1", endpointId: "we_1", tenantId: "ten_1", sessionId: "s_1", sequence: 1, state: "pending", attempts: 2, lastAttemptAt: 1, nextAttemptAt: 2, eventCreatedAt: event.createdAt, updatedAt: 0 })
      .onConflictDoNothing()
      .toSQL();
    const values = (params: unknown[]) => params.slice(0, -1);
    expect(values(set.params)).toEqual(values(direct.params));
    expect(set.sql).toContain('"attempts" = excluded.attempts');
    expect(added.sql).toContain('"attempts" = "deliveries"."attempts" + excluded.attempts');
  });

  it("refuses to fill a statement with a value missing", () => {
    const insert = prepared((d, p) => d.insert(deliveries).values({ eventId: p("eventId"), endpointId: sql`'we_1'`, tenantId: "ten_1", state: "pending", eventCreatedAt: 1, updatedAt: 1 }));
    expect(insert(db, { eventId: "evt_2" }).toSQL().params[0]).toBe("evt_2");
    expect(() => insert(db, {})).toThrow('no value for "eventId"');
  });

  it("runs in D1", async () => {
    const { sql: text, params } = attemptInsert(db, endpoint, { ...event, id: "evt_d1" }, attempt).toSQL();
    await env.DB.prepare(text).bind(...params).run();
    const row = await env.DB.prepare("SELECT status, error, trigger, next_attempt_at FROM delivery_attempts WHERE event_id = 'evt_d1'").first();
    expect(row).toEqual({ status: null, error: "timeout", trigger: "manual", next_attempt_at: attempt.nextAttemptAt });
  });
});
