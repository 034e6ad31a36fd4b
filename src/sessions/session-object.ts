import { DurableObject } from "cloudflare:workers";
import { FINAL_STATUSES, viewOf } from "./model";
import type {
  Authorization,
  CallbackResult,
  EventType,
  NotifyCommand,
  SessionRecord,
  SessionView,
  StopCommand,
} from "./model";
import { sessionEvent } from "./events";
import type { EventBody } from "./events";
import { projectSession } from "./projection";
import { database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { log } from "../lib/log";
import { DISPATCH_SCHEMA, Dispatcher } from "../webhooks/dispatcher";
import { parseRetrySchedule } from "../webhooks/schedule";

/** Answer to TransactionNotify and TransactionCallback: the verdict and the session it was given on. */
export interface VerdictOutcome {
  approved: boolean;
  message: string;
  session: SessionRecord;
}

/** Answer to StopCallback / StopNotify. */
export interface StopOutcome {
  approved: boolean;
  message: string;
  session: SessionRecord;
}

/** A session and its timeline. */
export interface SessionRead {
  session: SessionView;
  events: EventBody[];
}

/** A stored event, as the session's timeline lists it. */
export interface StoredEvent {
  sequence: number;
  body: EventBody;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS session (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS events (
     sequence INTEGER PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     projected INTEGER NOT NULL DEFAULT 0
   )`,
];

/** Retry a failed projection to D1 after this long; the alarm retries until it lands. */
const PROJECTION_RETRY_MS = 5_000;

/**
 * One object per charging session, named by its SparkTransactionId. It is the unit of
 * consistency: every change to the session and the event announcing it are written in one
 * storage transaction (the outbox); its alarm then projects them to D1 and delivers them.
 */
export class SessionObject extends DurableObject<Env> {
  private record: SessionRecord | null = null;
  private lastSequence = 0;
  /** Set by every commit, so an alarm that was busy meanwhile knows to come back at once. */
  private dirty = false;
  private dispatch: Dispatcher | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      for (const statement of [...SCHEMA, ...DISPATCH_SCHEMA]) ctx.storage.sql.exec(statement);
      const row = ctx.storage.sql.exec<{ record: string }>("SELECT record FROM session WHERE id = 1").toArray()[0];
      this.record = row ? (JSON.parse(row.record) as SessionRecord) : null;
      const seq = ctx.storage.sql.exec<{ s: number | null }>("SELECT MAX(sequence) AS s FROM events").one();
      this.lastSequence = seq.s ?? 0;
    });
  }

  // ------------------------------------------------------------------ reads

  /** The session and its timeline, when it belongs to `tenantId`. */
  read(tenantId: string): SessionRead | null {
    if (!this.record || this.record.tenantId !== tenantId) return null;
    return { session: viewOf(this.record), events: this.events().map((e) => e.body) };
  }

  /** The tenant that owns this session, or null when the gateway does not hold it. */
  owner(): string | null {
    return this.record?.tenantId ?? null;
  }

  // ------------------------------------------------------------------ Spark callbacks

  /** Device Start handshake: a session that waits for a card. */
  startSession(tenantId: string, sessionId: string, terminal: { hwSerial: string; machineId: number }): CallbackResult<SessionRecord> {
    if (this.record) {
      return this.record.tenantId === tenantId ? { kind: "ok", answer: this.record } : { kind: "wrong_tenant" };
    }
    const now = new Date();
    const record = blankRecord(tenantId, sessionId, "device_start", now);
    record.hwSerial = terminal.hwSerial;
    record.machineId = terminal.machineId;
    this.commit(record, ["session.created"], now);
    return { kind: "ok", answer: record };
  }

  /** TransactionNotify: a card was authorized at the terminal; decide and record. */
  notify(cmd: NotifyCommand): CallbackResult<VerdictOutcome> {
    const existing = this.record;
    if (existing && existing.tenantId !== cmd.tenantId) return { kind: "wrong_tenant" };
    if (existing && existing.nayaxTransactionId !== null) {
      const conflict = authorizationConflict(existing, cmd.authorization);
      if (conflict) return { kind: "conflict", message: conflict };
      // An exact repeat: the same answer, nothing new.
      return { kind: "ok", answer: verdictOf(existing) };
    }
    if (existing && existing.status !== "awaiting_card") {
      return { kind: "conflict", message: `session is ${existing.status}` };
    }
    const now = new Date();
    const record = existing ? structuredClone(existing) : blankRecord(cmd.tenantId, cmd.sessionId, "device_start", now);
    applyAuthorization(record, cmd.authorization);
    const busy = cmd.stationAvailability === "busy" || cmd.stationAvailability === "out_of_service";
    record.status = busy ? "declined" : "authorized";
    record.verdict = busy
      ? { approved: false, message: `Station ${cmd.authorization.serviceStationNumber ?? ""} is ${cmd.stationAvailability === "busy" ? "busy" : "out of service"}`.replace("  ", " ") }
      : { approved: true, message: "Session will begin immediately." };
    if (!busy) record.authorizedAt = now.toISOString();
    this.commit(record, [busy ? "session.declined" : "session.authorized"], now);
    return { kind: "ok", answer: verdictOf(record) };
  }

  /** TransactionCallback: the Remote Start authorization result. */
  authorizationResult(
    tenantId: string,
    result: { approved: boolean; authorization: Authorization | null; currency: string | null; decline: { code: number | null; description: string | null } | null },
  ): CallbackResult<VerdictOutcome> {
    const existing = this.record;
    if (!existing) return { kind: "not_found" };
    if (existing.tenantId !== tenantId) return { kind: "wrong_tenant" };
    if (existing.status !== "awaiting_card") {
      const sameApproval = result.approved && existing.status !== "declined" && result.authorization && !authorizationConflict(existing, result.authorization);
      const sameDecline = !result.approved && existing.status === "declined" && existing.nayaxTransactionId === (result.authorization?.nayaxTransactionId ?? null);
      if (sameApproval || sameDecline) return { kind: "ok", answer: verdictOf(existing) };
      return { kind: "conflict", message: `session is already ${existing.status}` };
    }
    const now = new Date();
    const record = structuredClone(existing);
    if (result.authorization) applyAuthorization(record, result.authorization);
    record.currency = result.currency ?? record.currency;
    if (result.approved) {
      record.status = "authorized";
      record.authorizedAt = now.toISOString();
      record.verdict = { approved: true, message: "Approved" };
    } else {
      record.status = "declined";
      record.decline = result.decline;
      record.verdict = { approved: false, message: result.decline?.description ?? "Declined" };
    }
    this.commit(record, [result.approved ? "session.authorized" : "session.declined"], now);
    return { kind: "ok", answer: verdictOf(record) };
  }

  /** DeclineCallback: Remote Start ended before any authorization (44, 45, 38). */
  declined(tenantId: string, decline: { code: number | null; description: string | null }): CallbackResult<SessionRecord> {
    const existing = this.record;
    if (!existing) return { kind: "not_found" };
    if (existing.tenantId !== tenantId) return { kind: "wrong_tenant" };
    if (existing.status === "declined" && existing.decline?.code === decline.code) return { kind: "ok", answer: existing };
    if (existing.status !== "awaiting_card") return { kind: "conflict", message: `session is already ${existing.status}` };
    const now = new Date();
    const record = structuredClone(existing);
    record.status = "declined";
    record.decline = decline;
    record.verdict = { approved: false, message: decline.description };
    this.commit(record, ["session.declined"], now);
    return { kind: "ok", answer: record };
  }

  /** TimeoutCallback: Spark gave up on the pre-authorization; final. */
  timedOut(tenantId: string): CallbackResult<SessionRecord> {
    const existing = this.record;
    if (!existing) return { kind: "not_found" };
    if (existing.tenantId !== tenantId) return { kind: "wrong_tenant" };
    if (existing.status === "timed_out" || FINAL_STATUSES.includes(existing.status)) return { kind: "ok", answer: existing };
    const now = new Date();
    const record = structuredClone(existing);
    record.status = "timed_out";
    this.commit(record, ["session.timed_out"], now);
    return { kind: "ok", answer: record };
  }

  /** StopCallback / StopNotify for this session: the card presented must be the session's. */
  stop(cmd: StopCommand): CallbackResult<StopOutcome> {
    const existing = this.record;
    if (!existing) return { kind: "not_found" };
    if (existing.tenantId !== cmd.tenantId) return { kind: "wrong_tenant" };
    const declined = (message: string): CallbackResult<StopOutcome> => ({ kind: "ok", answer: { approved: false, message, session: existing } });
    if (cmd.cardHash && existing.card?.hash && !timingSafeSame(cmd.cardHash, existing.card.hash)) {
      return declined("Card does not match the session");
    }
    if (existing.status === "stop_requested") return { kind: "ok", answer: { approved: true, message: "No Errors", session: existing } };
    if (existing.status !== "authorized") {
      return declined(existing.status === "awaiting_card" ? "Session is not authorized" : "Session already ended");
    }
    const now = new Date();
    const record = structuredClone(existing);
    record.status = "stop_requested";
    record.stopSiteId = cmd.stopSiteId;
    this.commit(record, ["session.stop_requested"], now);
    return { kind: "ok", answer: { approved: true, message: "No Errors", session: record } };
  }

  // ------------------------------------------------------------------ outbox

  /** Re-sends these events of this session to these endpoints (recover, redeliver). */
  resend(tenantId: string, endpointIds: string[], sequences: number[]): boolean {
    if (!this.record || this.record.tenantId !== tenantId) return false;
    this.dispatcher().resend(endpointIds, sequences);
    this.wake(Date.now());
    return true;
  }

  /** Projects the outbox to D1, delivers what is due, and sleeps until the next thing is due. */
  override async alarm(): Promise<void> {
    if (!this.record) return;
    this.dirty = false;
    const wakeAt: number[] = [];
    if (!(await this.project())) wakeAt.push(Date.now() + PROJECTION_RETRY_MS);
    const due = await this.dispatcher().run(this.record.tenantId, this.record.id);
    if (due !== null) wakeAt.push(due);
    // Anything committed while this alarm was awaiting must not wait for the next wake-up.
    if (this.dirty) wakeAt.push(Date.now());
    if (wakeAt.length > 0) await this.ctx.storage.setAlarm(Math.min(...wakeAt));
  }

  /** Writes unprojected events and the current state to D1; false when D1 failed (retried later). */
  private async project(): Promise<boolean> {
    const pending = this.ctx.storage.sql
      .exec<{ sequence: number; body: string; created_at: number }>(
        "SELECT sequence, body, created_at FROM events WHERE projected = 0 ORDER BY sequence",
      )
      .toArray();
    if (pending.length === 0 || !this.record) return true;
    try {
      await projectSession(this.env.DB, this.record, this.lastSequence, pending);
      this.ctx.storage.sql.exec("UPDATE events SET projected = 1 WHERE sequence <= ?", pending[pending.length - 1]!.sequence);
      return true;
    } catch (error) {
      log.error("projection failed", { sessionId: this.record.id, error: String(error) });
      return false;
    }
  }

  private dispatcher(): Dispatcher {
    this.dispatch ??= new Dispatcher(
      this.ctx.storage.sql,
      database(this.env.DB),
      sealerFor(this.env.ENCRYPTION_KEY),
      parseRetrySchedule(this.env.WEBHOOK_RETRY_SCHEDULE),
    );
    return this.dispatch;
  }

  private wake(at: number): void {
    this.dirty = true;
    // Output gates hold the reply until this write is durable, like the transaction before it.
    void this.ctx.storage.setAlarm(at);
  }

  private events(): StoredEvent[] {
    return this.ctx.storage.sql
      .exec<{ sequence: number; body: string }>("SELECT sequence, body FROM events ORDER BY sequence")
      .toArray()
      .map((row) => ({ sequence: row.sequence, body: JSON.parse(row.body) as EventBody }));
  }

  /** Writes the new state and its events in one transaction, then wakes the alarm to send them. */
  private commit(next: SessionRecord, types: EventType[], at: Date): void {
    next.updatedAt = at.toISOString();
    const view = viewOf(next);
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        "INSERT INTO session (id, record) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record",
        JSON.stringify(next),
      );
      for (const type of types) {
        const sequence = ++this.lastSequence;
        const body = sessionEvent(type, sequence, view, at);
        this.ctx.storage.sql.exec(
          "INSERT INTO events (sequence, id, type, body, created_at) VALUES (?, ?, ?, ?, ?)",
          sequence,
          body.id,
          type,
          JSON.stringify(body),
          at.getTime(),
        );
      }
    });
    this.record = next;
    this.wake(at.getTime());
  }
}

function blankRecord(tenantId: string, id: string, flow: SessionRecord["flow"], now: Date): SessionRecord {
  return {
    id,
    tenantId,
    flow,
    status: "awaiting_card",
    nayaxTransactionId: null,
    siteId: null,
    stopSiteId: null,
    machineId: null,
    hwSerial: null,
    serviceStationNumber: null,
    authorizedAmount: null,
    settledAmount: null,
    currency: null,
    card: null,
    deviceTime: null,
    verdict: null,
    decline: null,
    settlement: null,
    overdue: false,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    machineAuTime: null,
    terminal: null,
    settleRequest: null,
    authorizedAt: null,
  };
}

function applyAuthorization(record: SessionRecord, auth: Authorization): void {
  record.nayaxTransactionId = auth.nayaxTransactionId;
  record.authorizedAmount = auth.amount;
  record.siteId = auth.siteId;
  record.machineId = auth.machineId;
  record.hwSerial = auth.hwSerial;
  record.serviceStationNumber = auth.serviceStationNumber ?? record.serviceStationNumber;
  record.card = auth.card;
  record.deviceTime = auth.deviceTime;
  record.machineAuTime = auth.machineAuTime;
}

/** Why a repeated authorization conflicts with the recorded one, or null for an exact repeat. */
function authorizationConflict(record: SessionRecord, auth: Authorization): string | null {
  if (record.nayaxTransactionId !== auth.nayaxTransactionId) {
    return `session already authorized with NayaxTransactionId ${record.nayaxTransactionId}`;
  }
  if (record.authorizedAmount !== auth.amount) {
    return `session already authorized for ${record.authorizedAmount}`;
  }
  return null;
}

function verdictOf(record: SessionRecord): VerdictOutcome {
  return { approved: record.verdict?.approved ?? false, message: record.verdict?.message ?? "", session: record };
}

function timingSafeSame(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a.toLowerCase());
  const right = new TextEncoder().encode(b.toLowerCase());
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}

