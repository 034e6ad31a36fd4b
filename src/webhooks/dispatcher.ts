/**
 * Delivers a session's outbox to every endpoint of its tenant, from inside the session
 * object's alarm. Each endpoint has its own position in the session's events: event n+1 is
 * not sent to an endpoint before event n was delivered to it or given up. Positions, retry
 * times and re-send requests live in the object's storage, so a restart loses nothing.
 */
import type { Database } from "../db/client";
import type { Sealer } from "../lib/crypto";
import { log } from "../lib/log";
import { tableExists } from "../lib/storage";
import { deliveryEndpoints } from "./endpoints";
import type { DeliveryEndpoint } from "./endpoints";
import { attemptInsert, disableGoneEndpoint, sendSigned, upsertDelivery } from "./deliver";
import type { DeliveryState } from "./deliver";
import type { SqlQuery } from "../sessions/d1-outbox";
import type { StoredEvent } from "./deliver";
import { nextDelayMs } from "./schedule";

export const DISPATCH_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS cursors (
     endpoint_id TEXT PRIMARY KEY,
     next_sequence INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID`,
];

/** Re-sends are rare (recover, redeliver), so their table is created on the first one. */
const RESEND_SCHEMA = `CREATE TABLE IF NOT EXISTS resend (
  endpoint_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (endpoint_id, sequence)
) WITHOUT ROWID`;

/** When storage or D1 failed mid-dispatch, try again this much later (the receiver is not to blame, so no attempt is counted). */
const DISPATCH_RETRY_MS = 5_000;

interface Position {
  sequence: number;
  attempts: number;
  nextAt: number;
}

interface Queue {
  /** Re-sends (recover, redeliver) rather than the endpoint's position in the session. */
  readonly resend: boolean;
  /** The next item for this endpoint, or null when there is none. */
  head(): Position | null;
  delivered(): void;
  gaveUp(): void;
  retryAt(attempts: number, at: number): void;
}

export class Dispatcher {
  constructor(
    private readonly sql: SqlStorage,
    private readonly db: Database,
    private readonly sealer: Sealer,
    private readonly schedule: readonly number[],
    /** Queues D1 writes (attempt records) to go out with the session's next D1 batch. */
    private readonly journal: (queries: readonly SqlQuery[]) => void,
  ) {}

  /** Whether the resend table exists; checked once, then kept true by `resend()`. */
  private resends: boolean | undefined;

  /** Asks for these events to be sent again to these endpoints (recover, redeliver). */
  resend(endpointIds: string[], sequences: number[]): void {
    this.sql.exec(RESEND_SCHEMA);
    this.resends = true;
    for (const endpointId of endpointIds) {
      for (const sequence of sequences) {
        this.sql.exec(
          "INSERT INTO resend (endpoint_id, sequence) VALUES (?, ?) ON CONFLICT DO UPDATE SET attempts = 0, next_at = 0",
          endpointId,
          sequence,
        );
      }
    }
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
    // Deleted endpoints: forget their positions and pending re-sends.
    this.resends ??= tableExists(this.sql, "resend");
    for (const table of this.resends ? (["cursors", "resend"] as const) : (["cursors"] as const)) {
      for (const row of this.sql.exec<{ endpoint_id: string }>(`SELECT DISTINCT endpoint_id FROM ${table}`).toArray()) {
        if (!known.has(row.endpoint_id)) this.sql.exec(`DELETE FROM ${table} WHERE endpoint_id = ?`, row.endpoint_id);
      }
    }
    const next = await Promise.all(endpoints.map((endpoint) => this.runEndpoint(endpoint, sessionId)));
    const due = next.filter((t): t is number => t !== null);
    return due.length > 0 ? Math.min(...due) : null;
  }

  private async runEndpoint(endpoint: DeliveryEndpoint, sessionId: string): Promise<number | null> {
    try {
      if (this.resends) {
        const resend = this.resendQueue(endpoint.id);
        const waiting = await this.drain(endpoint, resend);
        if (waiting !== null || resend.head() !== null) return waiting;
      }
      return await this.drain(endpoint, this.cursorQueue(endpoint));
    } catch (error) {
      log.error("webhook dispatch failed", { sessionId, endpointId: endpoint.id, error: String(error) });
      return Date.now() + DISPATCH_RETRY_MS;
    }
  }

  /** Works through one queue in order until it is empty or must wait; returns when to come back. */
  private async drain(endpoint: DeliveryEndpoint, queue: Queue): Promise<number | null> {
    for (let head = queue.head(); head !== null; head = queue.head()) {
      const event = this.event(head.sequence);
      if (!event) {
        queue.gaveUp();
        continue;
      }
      if (endpoint.eventTypes && !endpoint.eventTypes.includes(event.type as never)) {
        queue.delivered();
        continue;
      }
      if (!endpoint.enabled) {
        // Kept as skipped so that recover can send it once the endpoint is back.
        this.journal([upsertDelivery(this.db, endpoint, event, "skipped", head.attempts)]);
        queue.gaveUp();
        continue;
      }
      if (head.nextAt > Date.now()) return head.nextAt;

      const at = Date.now();
      const outcome = await sendSigned(endpoint, event);
      const attempts = head.attempts + 1;
      /** The attempt, and where the event now stands for the endpoint. */
      const record = (state: DeliveryState) =>
        this.journal([attemptInsert(this.db, endpoint, event, outcome, at), upsertDelivery(this.db, endpoint, event, state, attempts)]);
      if (outcome.ok) {
        // Only recover reads where an event stands (failed, skipped): a first attempt on the
        // normal path has no earlier state to replace, so its success needs none.
        if (attempts === 1 && !queue.resend) this.journal([attemptInsert(this.db, endpoint, event, outcome, at)]);
        else record("delivered");
        queue.delivered();
        continue;
      }
      if (outcome.gone) {
        record("failed");
        await disableGoneEndpoint(this.db, endpoint.id);
        queue.gaveUp();
        endpoint.enabled = false;
        continue;
      }
      const delay = nextDelayMs(this.schedule, attempts);
      if (delay === null) {
        record("failed");
        log.warn("webhook given up", { eventId: event.id, endpointId: endpoint.id, attempts });
        queue.gaveUp();
        continue;
      }
      const retryAt = Date.now() + Math.max(delay, outcome.retryAfterMs ?? 0);
      record("pending");
      queue.retryAt(attempts, retryAt);
      return retryAt;
    }
    return null;
  }

  private event(sequence: number): StoredEvent | null {
    const row = this.sql
      .exec<{ id: string; type: string; body: string; created_at: number }>("SELECT id, type, body, created_at FROM events WHERE sequence = ?", sequence)
      .toArray()[0];
    return row ? { id: row.id, type: row.type, body: row.body, createdAt: row.created_at } : null;
  }

  private lastSequence(): number {
    return this.sql.exec<{ s: number | null }>("SELECT MAX(sequence) AS s FROM events").one().s ?? 0;
  }

  /** The endpoint's position in this session; a new endpoint starts at the first event after its creation. */
  private cursorQueue(endpoint: DeliveryEndpoint): Queue {
    const sql = this.sql;
    let row = sql
      .exec<{ next_sequence: number; attempts: number; next_at: number }>("SELECT next_sequence, attempts, next_at FROM cursors WHERE endpoint_id = ?", endpoint.id)
      .toArray()[0];
    if (!row) {
      // Not stored until it moves: recomputed the same way each time until then, and no write
      // happens before the first delivery.
      const first = sql.exec<{ s: number | null }>("SELECT MIN(sequence) AS s FROM events WHERE created_at >= ?", endpoint.createdAtMs).one().s;
      row = { next_sequence: first ?? this.lastSequence() + 1, attempts: 0, next_at: 0 };
    }
    let position = { sequence: row.next_sequence, attempts: row.attempts, nextAt: row.next_at };
    const store = () =>
      sql.exec(
        "INSERT INTO cursors (endpoint_id, next_sequence, attempts, next_at) VALUES (?, ?, ?, ?) ON CONFLICT (endpoint_id) DO UPDATE SET next_sequence = excluded.next_sequence, attempts = excluded.attempts, next_at = excluded.next_at",
        endpoint.id,
        position.sequence,
        position.attempts,
        position.nextAt,
      );
    const advance = () => {
      position = { sequence: position.sequence + 1, attempts: 0, nextAt: 0 };
      store();
    };
    return {
      resend: false,
      head: () => (position.sequence <= this.lastSequence() ? position : null),
      delivered: advance,
      gaveUp: advance,
      retryAt: (attempts, at) => {
        position = { ...position, attempts, nextAt: at };
        store();
      },
    };
  }

  /**
   * Events asked to be sent again to this endpoint, oldest first. Settles the item that `head()`
   * last handed out, not whatever is first now: `resend()` may add an older one while that item
   * is in flight, and that one must not be dropped in its place.
   */
  private resendQueue(endpointId: string): Queue {
    const sql = this.sql;
    let current: Position | null = null;
    const head = (): Position | null => {
      const row = sql
        .exec<{ sequence: number; attempts: number; next_at: number }>(
          "SELECT sequence, attempts, next_at FROM resend WHERE endpoint_id = ? ORDER BY sequence LIMIT 1",
          endpointId,
        )
        .toArray()[0];
      current = row ? { sequence: row.sequence, attempts: row.attempts, nextAt: row.next_at } : null;
      return current;
    };
    const remove = () => {
      if (current) sql.exec("DELETE FROM resend WHERE endpoint_id = ? AND sequence = ?", endpointId, current.sequence);
    };
    return {
      resend: true,
      head,
      delivered: remove,
      gaveUp: remove,
      retryAt: (attempts, at) => {
        if (current) sql.exec("UPDATE resend SET attempts = ?, next_at = ? WHERE endpoint_id = ? AND sequence = ?", attempts, at, endpointId, current.sequence);
      },
    };
  }
}
