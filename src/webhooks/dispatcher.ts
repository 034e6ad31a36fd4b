/**
 * Delivers a session's outbox to every endpoint of its tenant, from inside the session object's
 * alarm. Each endpoint has its own position in the session's events: event n+1 is not sent to an
 * endpoint before event n was delivered to it or given up. Re-sends (redeliver, recover) keep
 * that rule: those of events the endpoint is done with go out one at a time in sequence order,
 * ahead of its position; one of the event at its position sends that event now; one of a later
 * event waits for its turn. Positions, retry times, re-sends and where each event stands live
 * in the object's storage, so a restart loses nothing.
 */
import type { Database } from "../db/client";
import type { Sealer } from "../lib/crypto";
import { log } from "../lib/log";
import { tableExists } from "../lib/storage";
import type { SqlQuery } from "../sessions/d1-outbox";
import type { AttemptOutcome } from "./attempt";
import { attemptInsert, disableGoneEndpoint, logFailedAttempt, sendSigned, upsertDelivery } from "./deliver";
import type { AttemptRecord, DeliveryRecord, DeliveryState, StoredEvent, Trigger } from "./deliver";
import { deliveryEndpoints } from "./endpoints";
import type { DeliveryEndpoint } from "./endpoints";
import { DeliveryLedger, LEDGER_SCHEMA } from "./ledger";
import { nextDelayMs } from "./schedule";

export const DISPATCH_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS cursors (
     endpoint_id TEXT PRIMARY KEY,
     next_sequence INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID`,
  LEDGER_SCHEMA,
];

/** Re-sends are rare (recover, redeliver), so their table is created on the first one. */
const RESEND_SCHEMA = `CREATE TABLE IF NOT EXISTS resend (
  endpoint_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  trigger TEXT NOT NULL DEFAULT 'manual',
  PRIMARY KEY (endpoint_id, sequence)
) WITHOUT ROWID`;

/** When storage or D1 failed mid-dispatch, try again this much later (the receiver is not to blame, so no attempt is counted). */
const DISPATCH_RETRY_MS = 5_000;


/** An endpoint as a re-send request names it. */
export interface ResendTarget {
  id: string;
  tenantId: string;
  createdAtMs: number;
  eventTypes: readonly string[] | null;
}

/** Which of the named deliveries a re-send request takes. */
export type ResendFilter =
  /** Every one (a redeliver naming its endpoint). */
  | "all"
  /** Those of events meant for the endpoint and not delivered to it yet (a redeliver to every endpoint). */
  | "owed"
  /** All but those known to be delivered already (recover: D1 found them failed, skipped or pending). */
  | "not_delivered";

/** Asks for events of this session to be sent again. */
export interface ResendRequest {
  endpoints: readonly ResendTarget[];
  sequences: readonly number[];
  trigger: Exclude<Trigger, "scheduled">;
  filter: ResendFilter;
}

/** One delivery of one event, as the timeline and the events API show it. */
export interface DeliveryView {
  endpointId: string;
  status: DeliveryState;
  attempts: number;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

interface Position {
  sequence: number;
  /** Attempts of the schedule made for the event at this position (what the next delay depends on). */
  attempts: number;
  nextAt: number;
}

interface ResendItem extends Position {
  trigger: Exclude<Trigger, "scheduled">;
}

/** What became of one attempt. */
type Verdict = { kind: "delivered" } | { kind: "gave_up" } | { kind: "retry"; attempts: number; at: number };

interface EventMeta {
  sequence: number;
  type: string;
}

export class Dispatcher {
  private readonly ledger: DeliveryLedger;

  /**
   * First attempts on their way, by `sequence:endpointId`. Not stored: a D1 batch sent meanwhile
   * carries them as pending (see {@link inFlightWrites}), and a restart sends them again anyway.
   */
  private readonly inFlight = new Map<string, SqlQuery>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly db: Database,
    private readonly sealer: Sealer,
    private readonly schedule: readonly number[],
    /** Queues D1 writes (attempt and delivery records) to go out with the session's next D1 batch. */
    private readonly journal: (queries: readonly SqlQuery[]) => void,
    /** The session's storage was empty when its object started: no re-send table to look for. */
    fresh = false,
  ) {
    this.ledger = new DeliveryLedger(sql);
    if (fresh) this.resends = false;
  }

  /** Attempts that ended and wait for their D1 rows to be sent (see {@link record}). */
  private gated: Array<{ queries: readonly SqlQuery[]; release: (inD1: boolean) => void }> = [];
  private gateWaiters: Array<() => void> = [];

  /**
   * Hands an ended attempt's D1 rows to the session's next D1 batch and waits for it: the attempt
   * is then stored together with that batch's acknowledgement, in one storage commit instead of
   * two. Answers whether D1 has the rows; when not, the caller queues them like any other write.
   * A restart before then sends the event again (at least once), which the attempts show.
   */
  private record(queries: readonly SqlQuery[]): Promise<boolean> {
    // Nobody to send them (the run outlived the loop that gates it): queue them at once.
    if (!this.gating) return Promise.resolve(false);
    return new Promise<boolean>((release) => {
      this.gated.push({ queries, release });
      for (const wake of this.gateWaiters.splice(0)) wake();
    });
  }

  /**
   * Whether ended attempts wait for a D1 batch: set by the session's outbox run while it sends
   * one batch after another, cleared (releasing any that wait) when that run ends.
   */
  private gating = false;

  /** Starts or ends gating; ending it releases the attempts still waiting, which then queue their rows themselves. */
  gate(on: boolean): void {
    this.gating = on;
    if (on) return;
    this.takeEndedAttempts().settle(false);
    // Rounds of the run that ended still wait in `attemptEnded`; nobody awaits them any more.
    for (const wake of this.gateWaiters.splice(0)) wake();
  }

  /** Resolves once an ended attempt waits for its D1 rows to be sent (at once if one does). */
  attemptEnded(): Promise<void> {
    if (this.gated.length > 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.gateWaiters.push(resolve));
  }

  /**
   * The D1 rows of the attempts that ended, for the batch about to be sent; `settle` then tells
   * them whether D1 took it. Attempts that end meanwhile wait for the next batch.
   */
  takeEndedAttempts(): { queries: SqlQuery[]; settle: (inD1: boolean) => void } {
    const taken = this.gated.splice(0);
    return { queries: taken.flatMap((t) => [...t.queries]), settle: (inD1) => taken.forEach((t) => t.release(inD1)) };
  }

  /** Whether the resend table exists (with its `trigger` column); checked once, then kept true by `resend()`. */
  private resends: boolean | undefined;

  /**
   * Queues re-sends of these events to these endpoints (recover, redeliver); answers the
   * endpoints that will get at least one of them. The alarm sends them in order (see the top).
   */
  resend(request: ResendRequest): string[] {
    this.ensureResendTable();
    const queued = new Set<string>();
    const now = Date.now();
    for (const endpoint of request.endpoints) {
      const position = this.position(endpoint).sequence;
      for (const sequence of [...request.sequences].sort((a, b) => a - b)) {
        const event = this.eventMeta(sequence);
        if (!event || !this.takes(request.filter, endpoint, event)) continue;
        this.sql.exec(
          "INSERT INTO resend (endpoint_id, sequence, trigger) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET attempts = 0, next_at = 0, trigger = excluded.trigger",
          endpoint.id,
          sequence,
          request.trigger,
        );
        queued.add(endpoint.id);
        // Due now, unless it waits behind an earlier event (then it keeps no time).
        const record = this.ledger.get(sequence, endpoint.id);
        if (record && sequence <= position) this.putRecord(endpoint, this.storedEvent(sequence)!, { ...record, nextAttemptAt: now });
      }
    }
    return [...queued];
  }

  private takes(filter: ResendFilter, endpoint: ResendTarget, event: EventMeta): boolean {
    if (filter === "all") return true;
    const record = this.ledger.get(event.sequence, endpoint.id);
    if (filter === "not_delivered") return record?.status !== "delivered";
    if (record) return record.status !== "delivered";
    // No record yet: meant for the endpoint only when its position has not passed the event.
    if (endpoint.eventTypes && !endpoint.eventTypes.includes(event.type)) return false;
    return event.sequence >= this.position(endpoint).sequence;
  }

  /** Sends whatever is due now; returns when the next attempt is due, or null when nothing waits. */
  async run(tenantId: string, sessionId: string): Promise<number | null> {
    let endpoints: DeliveryEndpoint[];
    try {
      endpoints = await deliveryEndpoints(this.db, this.sealer, tenantId);
    } catch (error) {
      // Come back on our own schedule: a thrown alarm is retried only a few times, then dropped,
      // and a finished session may never commit again to wake it.
      log.error("webhook endpoints unavailable", { sessionId, error: String(error) });
      return Date.now() + DISPATCH_RETRY_MS;
    }
    const known = new Set(endpoints.map((e) => e.id));
    // Deleted endpoints: forget their positions and pending re-sends (their records stay, as history).
    this.resends ??= this.hasResendTable();
    for (const table of this.resends ? (["cursors", "resend"] as const) : (["cursors"] as const)) {
      for (const row of this.sql.exec<{ endpoint_id: string }>(`SELECT DISTINCT endpoint_id FROM ${table}`).toArray()) {
        if (!known.has(row.endpoint_id)) this.sql.exec(`DELETE FROM ${table} WHERE endpoint_id = ?`, row.endpoint_id);
      }
    }
    const next = await Promise.all(endpoints.map((endpoint) => this.runEndpoint(endpoint, sessionId)));
    const due = next.filter((t): t is number => t !== null);
    return due.length > 0 ? Math.min(...due) : null;
  }

  /**
   * Each event's deliveries, by sequence: the recorded ones, and for an endpoint that has not
   * reached an event yet, a pending entry (skipped when the endpoint is disabled). An endpoint
   * created after an event, or whose `eventTypes` leave it out, has none for it; a deleted one
   * has none at all.
   */
  async deliveries(tenantId: string): Promise<Map<number, DeliveryView[]>> {
    let endpoints: DeliveryEndpoint[] | null = null;
    try {
      endpoints = await deliveryEndpoints(this.db, this.sealer, tenantId);
    } catch (error) {
      log.warn("webhook endpoints unavailable; timeline shows recorded deliveries only", { error: String(error) });
    }
    const known = endpoints ? new Set(endpoints.map((e) => e.id)) : null;
    const positions = new Map((endpoints ?? []).map((endpoint) => [endpoint.id, this.position(endpoint)]));
    const recorded = this.ledger.all();
    const result = new Map<number, DeliveryView[]>();
    for (const event of this.sql.exec<{ sequence: number; type: string }>("SELECT sequence, type FROM events ORDER BY sequence").toArray()) {
      const records = recorded.get(event.sequence) ?? new Map<string, DeliveryRecord>();
      const views = [...records].filter(([endpointId]) => !known || known.has(endpointId)).map(([endpointId, record]) => deliveryView(endpointId, record));
      for (const endpoint of endpoints ?? []) {
        const position = positions.get(endpoint.id)!;
        if (records.has(endpoint.id) || event.sequence < position.sequence) continue;
        if (endpoint.eventTypes && !endpoint.eventTypes.includes(event.type as never)) continue;
        // Not tried yet: it goes out as soon as the events before it are through.
        views.push(deliveryView(endpoint.id, { status: endpoint.enabled ? "pending" : "skipped", attempts: 0, lastAttemptAt: null, nextAttemptAt: null }));
      }
      result.set(event.sequence, views.sort((a, b) => (a.endpointId < b.endpointId ? -1 : a.endpointId > b.endpointId ? 1 : 0)));
    }
    return result;
  }

  private async runEndpoint(endpoint: DeliveryEndpoint, sessionId: string): Promise<number | null> {
    try {
      if (this.resends) {
        const position = this.position(endpoint);
        const waiting = await this.drainResends(endpoint, sessionId, position.sequence);
        if (waiting !== null) {
          this.markWaiting(endpoint, sessionId, position.sequence);
          return waiting;
        }
      }
      return await this.drainPosition(endpoint, sessionId);
    } catch (error) {
      log.error("webhook dispatch failed", { sessionId, endpointId: endpoint.id, error: String(error) });
      return Date.now() + DISPATCH_RETRY_MS;
    }
  }

  /**
   * Re-sends of events before the endpoint's position, oldest first, each waiting until the one
   * before it was delivered or given up; returns when to come back, or null when none is left.
   */
  private async drainResends(endpoint: DeliveryEndpoint, sessionId: string, below: number): Promise<number | null> {
    for (;;) {
      const item = this.sql
        .exec<{ sequence: number; attempts: number; next_at: number; trigger: ResendItem["trigger"] }>(
          "SELECT sequence, attempts, next_at, trigger FROM resend WHERE endpoint_id = ? AND sequence < ? ORDER BY sequence LIMIT 1",
          endpoint.id,
          below,
        )
        .toArray()[0];
      if (!item) return null;
      // Settles exactly this item: `resend()` may add an older one while it is in flight.
      const done = () => this.dropResend(endpoint.id, item.sequence);
      const event = this.storedEvent(item.sequence, sessionId);
      if (!event) {
        done();
        continue;
      }
      if (!endpoint.enabled) {
        this.skip(endpoint, event);
        done();
        continue;
      }
      if (item.next_at > Date.now()) return item.next_at;
      // Its own retries are the schedule's; only the first attempt is the re-send's.
      const verdict = await this.attempt(endpoint, event, item.attempts, item.attempts === 0 ? item.trigger : "scheduled");
      if (verdict.kind === "retry") {
        this.sql.exec("UPDATE resend SET attempts = ?, next_at = ? WHERE endpoint_id = ? AND sequence = ?", verdict.attempts, verdict.at, endpoint.id, item.sequence);
        return verdict.at;
      }
      done();
    }
  }

  /** Works through the endpoint's position in order until it is past the last event or must wait. */
  private async drainPosition(endpoint: DeliveryEndpoint, sessionId: string): Promise<number | null> {
    for (;;) {
      const position = this.position(endpoint);
      if (position.sequence > this.lastSequence()) return null;
      // A redeliver or recover of the event at the position: send it now, whatever the schedule says.
      const asked = this.resends ? this.resendItem(endpoint.id, position.sequence) : null;
      const advance = () => {
        this.storePosition(endpoint.id, { sequence: position.sequence + 1, attempts: 0, nextAt: 0 });
        // Also a re-send asked for while this attempt was in flight: the event just went through.
        if (this.resends) this.dropResend(endpoint.id, position.sequence);
      };
      const event = this.storedEvent(position.sequence, sessionId);
      if (!event || (!asked && endpoint.eventTypes && !endpoint.eventTypes.includes(event.type as never))) {
        advance();
        continue;
      }
      if (!endpoint.enabled) {
        // Kept as skipped so that recover can send it once the endpoint is back.
        this.skip(endpoint, event);
        advance();
        continue;
      }
      if (!asked && position.nextAt > Date.now()) {
        this.markWaiting(endpoint, sessionId, position.sequence + 1);
        return position.nextAt;
      }
      const verdict = await this.attempt(endpoint, event, position.attempts, asked?.trigger ?? "scheduled");
      if (verdict.kind !== "retry") {
        advance();
        continue;
      }
      this.storePosition(endpoint.id, { sequence: position.sequence, attempts: verdict.attempts, nextAt: verdict.at });
      if (asked) this.dropResend(endpoint.id, position.sequence);
      this.markWaiting(endpoint, sessionId, position.sequence + 1);
      return verdict.at;
    }
  }

  /**
   * Sends `event` once and records it: the attempt, where the event now stands (here and, through
   * the outbox, in D1), and one warning when it failed.
   * @param scheduled attempts of the schedule made before this one.
   */
  private async attempt(endpoint: DeliveryEndpoint, event: StoredEvent, scheduled: number, trigger: Trigger): Promise<Verdict> {
    const sequence = event.sequence!;
    const before = this.ledger.get(sequence, endpoint.id);
    const at = Date.now();
    const key = `${sequence}:${endpoint.id}`;
    if (!before) this.inFlight.set(key, upsertDelivery(this.db, endpoint, event, { status: "pending", attempts: 0, lastAttemptAt: null, nextAttemptAt: at }));
    const outcome = await sendSigned(endpoint, event).finally(() => this.inFlight.delete(key));
    const verdict = this.judge(outcome, scheduled + 1);
    const retryAt = verdict.kind === "retry" ? verdict.at : null;
    const attempts = (before?.attempts ?? 0) + 1;
    // Once through, an event stays delivered: a failing re-send of it shows in its attempts.
    const status: DeliveryState =
      verdict.kind === "delivered" || before?.status === "delivered" ? "delivered" : verdict.kind === "retry" ? "pending" : "failed";
    const record: AttemptRecord = { outcome, at, trigger, nextAttemptAt: retryAt };
    const delivery: DeliveryRecord = { status, attempts, lastAttemptAt: at, nextAttemptAt: retryAt };
    const rows = [attemptInsert(this.db, endpoint, event, record), upsertDelivery(this.db, endpoint, event, delivery)];
    if (!(await this.record(rows))) this.journal(rows);
    this.ledger.put(sequence, endpoint.id, delivery);
    if (!outcome.ok) logFailedAttempt(endpoint, event, record, attempts, verdict.kind === "gave_up");
    if (outcome.gone) {
      await disableGoneEndpoint(this.db, endpoint.id);
      endpoint.enabled = false;
    }
    return verdict;
  }

  /**
   * The pending deliveries of first attempts still on their way, for a D1 batch sent meanwhile:
   * an event reaches D1 with its deliveries, without a storage commit per attempt to say so. The
   * attempt's own record, journaled when it ends, follows in a later batch and replaces it.
   */
  inFlightWrites(): SqlQuery[] {
    return [...this.inFlight.values()];
  }

  /** What an outcome means for the delivery, given the attempts of the schedule made so far (this one included). */
  private judge(outcome: AttemptOutcome, attempts: number): Verdict {
    if (outcome.ok) return { kind: "delivered" };
    if (outcome.gone) return { kind: "gave_up" };
    const delay = nextDelayMs(this.schedule, attempts);
    if (delay === null) return { kind: "gave_up" };
    return { kind: "retry", attempts, at: Date.now() + Math.max(delay, outcome.retryAfterMs ?? 0) };
  }

  /** The endpoint was disabled when its turn came: nothing sent, and recover can send it later (a delivered event stays delivered). */
  private skip(endpoint: DeliveryEndpoint, event: StoredEvent): void {
    const before = this.ledger.get(event.sequence!, endpoint.id);
    const status = before?.status === "delivered" ? "delivered" : "skipped";
    this.putRecord(endpoint, event, { status, attempts: before?.attempts ?? 0, lastAttemptAt: before?.lastAttemptAt ?? null, nextAttemptAt: null });
  }

  /**
   * Records as pending, once, the events from `from` on that wait behind an earlier one, so the
   * events API and the endpoint's health count them while they wait.
   */
  private markWaiting(endpoint: DeliveryEndpoint, sessionId: string, from: number): void {
    const last = this.lastSequence();
    for (let sequence = from; sequence <= last; sequence++) {
      if (this.ledger.get(sequence, endpoint.id)) continue;
      const event = this.storedEvent(sequence, sessionId);
      if (!event || (endpoint.eventTypes && !endpoint.eventTypes.includes(event.type as never))) continue;
      this.putRecord(endpoint, event, { status: "pending", attempts: 0, lastAttemptAt: null, nextAttemptAt: null });
    }
  }

  /** Where the event stands, here and (queued) in D1. */
  private putRecord(endpoint: Pick<DeliveryEndpoint, "id" | "tenantId">, event: StoredEvent, record: DeliveryRecord): void {
    this.ledger.put(event.sequence!, endpoint.id, record);
    this.journal([upsertDelivery(this.db, endpoint, event, record)]);
  }

  private eventMeta(sequence: number): EventMeta | null {
    const row = this.sql.exec<{ type: string }>("SELECT type FROM events WHERE sequence = ?", sequence).toArray()[0];
    return row ? { sequence, type: row.type } : null;
  }

  private storedEvent(sequence: number, sessionId?: string): StoredEvent | null {
    const row = this.sql
      .exec<{ id: string; type: string; body: string; created_at: number }>("SELECT id, type, body, created_at FROM events WHERE sequence = ?", sequence)
      .toArray()[0];
    if (!row) return null;
    return { id: row.id, type: row.type, body: row.body, createdAt: row.created_at, sessionId: sessionId ?? sessionOf(row.body), sequence };
  }

  private lastSequence(): number {
    return this.sql.exec<{ s: number | null }>("SELECT MAX(sequence) AS s FROM events").one().s ?? 0;
  }

  /** The endpoint's position in this session; a new endpoint starts at the first event after its creation. */
  private position(endpoint: Pick<ResendTarget, "id" | "createdAtMs">): Position {
    const row = this.sql
      .exec<{ next_sequence: number; attempts: number; next_at: number }>("SELECT next_sequence, attempts, next_at FROM cursors WHERE endpoint_id = ?", endpoint.id)
      .toArray()[0];
    if (row) return { sequence: row.next_sequence, attempts: row.attempts, nextAt: row.next_at };
    // Not stored until it moves: recomputed the same way each time until then, and no write
    // happens before the first delivery.
    const first = this.sql.exec<{ s: number | null }>("SELECT MIN(sequence) AS s FROM events WHERE created_at >= ?", endpoint.createdAtMs).one().s;
    return { sequence: first ?? this.lastSequence() + 1, attempts: 0, nextAt: 0 };
  }

  private storePosition(endpointId: string, position: Position): void {
    this.sql.exec(
      "INSERT INTO cursors (endpoint_id, next_sequence, attempts, next_at) VALUES (?, ?, ?, ?) ON CONFLICT (endpoint_id) DO UPDATE SET next_sequence = excluded.next_sequence, attempts = excluded.attempts, next_at = excluded.next_at",
      endpointId,
      position.sequence,
      position.attempts,
      position.nextAt,
    );
  }

  private resendItem(endpointId: string, sequence: number): ResendItem | null {
    const row = this.sql
      .exec<{ attempts: number; next_at: number; trigger: ResendItem["trigger"] }>("SELECT attempts, next_at, trigger FROM resend WHERE endpoint_id = ? AND sequence = ?", endpointId, sequence)
      .toArray()[0];
    return row ? { sequence, attempts: row.attempts, nextAt: row.next_at, trigger: row.trigger } : null;
  }

  private dropResend(endpointId: string, sequence: number): void {
    this.sql.exec("DELETE FROM resend WHERE endpoint_id = ? AND sequence = ?", endpointId, sequence);
  }

  private hasResendTable(): boolean {
    if (!tableExists(this.sql, "resend")) return false;
    // Objects from before re-sends carried a trigger keep their table and gain the column.
    const hasTrigger = this.sql.exec("SELECT 1 FROM pragma_table_info('resend') WHERE name = 'trigger'").toArray().length > 0;
    if (!hasTrigger) this.sql.exec("ALTER TABLE resend ADD COLUMN trigger TEXT NOT NULL DEFAULT 'manual'");
    return true;
  }

  private ensureResendTable(): void {
    if (this.resends ??= this.hasResendTable()) return;
    this.sql.exec(RESEND_SCHEMA);
    this.resends = true;
  }
}

/** The session id inside a stored event body (`data.session.id`). */
function sessionOf(body: string): string | null {
  const data = (JSON.parse(body) as { data?: { session?: { id?: unknown } } }).data;
  return typeof data?.session?.id === "string" ? data.session.id : null;
}

function deliveryView(endpointId: string, record: DeliveryRecord): DeliveryView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return { endpointId, status: record.status, attempts: record.attempts, lastAttemptAt: iso(record.lastAttemptAt), nextAttemptAt: iso(record.nextAttemptAt) };
}
