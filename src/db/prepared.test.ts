import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "./client";
import { prepared } from "./prepared";
import { deliveryAttempts } from "./schema";

const db = database(env.DB);
const values = {
  eventId: "evt_1",
  endpointId: "we_1",
  tenantId: "ten_1",
  attemptedAt: 1_700_000_000_000,
  status: null,
  error: "timeout",
  durationMs: 5000,
  responseExcerpt: null,
  trigger: "manual",
  nextAttemptAt: 1_700_000_060_000,
};

describe("prepared statements", () => {
  const insert = prepared((d, p) =>
    d.insert(deliveryAttempts).values({
      eventId: p("eventId"),
      endpointId: p("endpointId"),
      tenantId: p("tenantId"),
      attemptedAt: p("attemptedAt"),
      status: p("status"),
      error: p("error"),
      durationMs: p("durationMs"),
      responseExcerpt: p("responseExcerpt"),
      trigger: p("trigger"),
      nextAttemptAt: p("nextAttemptAt"),
    }),
  );

  it("gives the SQL and parameters drizzle builds from the same values", () => {
    const direct = db.insert(deliveryAttempts).values(values as typeof deliveryAttempts.$inferInsert).toSQL();
    expect(insert(db, values).toSQL()).toEqual({ sql: direct.sql, params: direct.params });
    const other = { ...values, eventId: "evt_2", status: 204, error: null };
    expect(insert(db, other).toSQL()).toEqual({ sql: direct.sql, params: db.insert(deliveryAttempts).values(other as typeof deliveryAttempts.$inferInsert).toSQL().params });
  });

  it("refuses a statement with a value missing", () => {
    const { error: _e, ...missing } = values;
    expect(() => insert(db, missing)).toThrow('no value for "error"');
  });

  it("runs in D1 like the drizzle query", async () => {
    const { sql, params } = insert(db, values).toSQL();
    await env.DB.prepare(sql).bind(...params).run();
    const row = await env.DB.prepare("SELECT event_id, status, error, trigger, next_attempt_at FROM delivery_attempts WHERE event_id = 'evt_1'").first();
    expect(row).toEqual({ event_id: "evt_1", status: null, error: "timeout", trigger: "manual", next_attempt_at: 1_700_000_060_000 });
  });
});
