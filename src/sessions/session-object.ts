import { DurableObject } from "cloudflare:workers";
import { FINAL_STATUSES, viewOf } from "./model";
import type {
  Authorization,
  CallbackResult,
  CancelCommand,
  EventType,
  NotifyCommand,
  OperationResult,
  RemoteStartCommand,
  SessionRecord,
  SessionView,
  SettleCommand,
  StopCommand,
} from "./model";
import { formatMoney, moneyOf } from "../lib/money";
import { SparkError } from "../spark/client";
import { timingSafeEqualHex } from "../spark/signature";
import { deviceTimeOf } from "../spark/time";
import { badGateway, sparkClientFor, sparkFailure } from "./spark-calls";
import { sessionEvent } from "./events";
import type { EventBody } from "./events";
import { eventInsert, sessionUpsert } from "./projection";
import { D1_OUTBOX_SCHEMA, D1Outbox } from "./d1-outbox";
import { database } from "../db/client";
import { historyWriter } from "../db/history-writer";
import type { Database } from "../db/client";
import { sealerFor } from "../lib/crypto";
import { log } from "../lib/log";
import { tableExists } from "../lib/storage";
import { DISPATCH_SCHEMA, Dispatcher } from "../webhooks/dispatcher";
import type { DeliveryView, ResendRequest } from "../webhooks/dispatcher";
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

/** A session and its timeline, each event with where it stands for each endpoint. */
export interface SessionRead {
  session: SessionView;
  events: Array<EventBody & { deliveries: DeliveryView[] }>;
}

/** A stored event, as the session's timeline lists it. */
export interface StoredEvent {
  sequence: number;
  body: EventBody;
}

/** Only settle and cancel need it, so it is created on their first use rather than with every session. */
const IDEMPOTENCY_SCHEMA = `CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL) WITHOUT ROWID`;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS session (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS events (
     sequence INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     type TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL
   )`,
];

/**
 * How long an authorized session may wait for settlement before it is flagged overdue; Spark's
 * own pre-authorization timeout is undocumented, and holds commonly lapse after 48 h or more.
 */
export const DEFAULT_SETTLEMENT_WINDOW_SECONDS = 24 * 60 * 60;
/** Reason code sent with CancelTransaction when the tenant gives none (Nayax's example value). */
export const DEFAULT_CANCEL_REASON_CODE = 101;

/** When the outbox is run at once after a change, the alarm still fires this much later if that run never completed. */
const SAFETY_NET_MS = 30_000;

/** How long the D1 batch waits for the first webhook deliveries, to carry their records too. */
const PROJECTION_MAX_WAIT_MS = 250;

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
  private readonly outbox: D1Outbox;
  private readonly db: Database;
  /** The outbox run in progress, if any. */
  private running: Promise<void> | null = null;
  /** A call to Spark in flight; operations and Remote Start callbacks wait for it, so they apply in order. */
  private inflight: Promise<unknown> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = database(env.DB);
    this.outbox = new D1Outbox(ctx.storage.sql, (statements) => historyWriter(env, this.record!.id).write(statements));
    ctx.blockConcurrencyWhile(async () => {
      // A new session's tables are created with its first write, in the same transaction: one
      // commit instead of two on the callback path, and nothing stored for a session never created.
      if (!tableExists(ctx.storage.sql, "session")) return;
      this.createSchema();
      const row = ctx.storage.sql.exec<{ record: string }>("SELECT record FROM session WHERE id = 1").toArray()[0];
      this.record = row ? (JSON.parse(row.record) as SessionRecord) : null;
      const seq = ctx.storage.sql.exec<{ s: number | null }>("SELECT MAX(sequence) AS s FROM events").one();
      this.lastSequence = seq.s ?? 0;
    });
  }

  private schemaReady = false;

  private createSchema(): void {
    this.ctx.storage.sql.exec([...SCHEMA, ...DISPATCH_SCHEMA, D1_OUTBOX_SCHEMA].join(";\n"));
    this.schemaReady = true;
  }

  // ------------------------------------------------------------------ reads

  /** The session and its timeline, when it belongs to `tenantId`. */
  async read(tenantId: string): Promise<SessionRead | null> {
    if (!this.record || this.record.tenantId !== tenantId) return null;
    const deliveries = await this.dispatcher().deliveries(tenantId);
    return { session: viewOf(this.record), events: this.events().map((e) => ({ ...e.body, deliveries: deliveries.get(e.sequence) ?? [] })) };
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
    if (!busy) this.markAuthorized(record, now);
    this.commit(record, [busy ? "session.declined" : "session.authorized"], now);
    return { kind: "ok", answer: verdictOf(record) };
  }

  /** TransactionCallback: the Remote Start authorization result. */
  async authorizationResult(
    tenantId: string,
    result: { approved: boolean; authorization: Authorization | null; currency: string | null; decline: { code: number | null; description: string | null } | null },
  ): Promise<CallbackResult<VerdictOutcome>> {
    await this.idle();
    const existing = this.record;
    if (!existing) return { kind: "not_found" };
    if (existing.tenantId !== tenantId) return { kind: "wrong_tenant" };
    if (existing.status !== "awaiting_card") {
      const sameApproval = result.approved && existing.status !== "declined" && result.authorization && !authorizationConflict(existing, result.authorization);
      // A decline repeats exactly only with the same NayaxTransactionId and amount (or, like a
      // DeclineCallback, with neither); a different amount is as conflicting as for an approval.
      const sameDecline =
        !result.approved &&
        existing.status === "declined" &&
        (result.authorization
          ? existing.nayaxTransactionId !== null && !authorizationConflict(existing, result.authorization)
          : existing.nayaxTransactionId === null);
      if (sameApproval || sameDecline) return { kind: "ok", answer: verdictOf(existing) };
      return { kind: "conflict", message: `session is already ${existing.status}` };
    }
    const now = new Date();
    const record = structuredClone(existing);
    if (result.authorization) applyAuthorization(record, result.authorization);
    record.currency = result.currency ?? record.currency;
    if (result.approved) {
      record.status = "authorized";
      this.markAuthorized(record, now);
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
  async declined(tenantId: string, decline: { code: number | null; description: string | null }): Promise<CallbackResult<SessionRecord>> {
    await this.idle();
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
  async timedOut(tenantId: string): Promise<CallbackResult<SessionRecord>> {
    await this.idle();
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
    if (cmd.cardHash && existing.card?.hash && !timingSafeEqualHex(cmd.cardHash, existing.card.hash)) {
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


  // ------------------------------------------------------------------ tenant operations that call Spark

  /** Remote Start: StartAuthentication, then TriggerTransaction; the session exists only once both succeed. */
  async remoteStart(cmd: RemoteStartCommand): Promise<OperationResult> {
    return this.exclusive(async () => {
      if (this.record) return { kind: "error", status: 409, code: "conflict", message: "session already exists" };
      const now = new Date();
      const record = blankRecord(cmd.tenantId, cmd.sessionId, "remote_start", now);
      record.terminal = cmd.terminal;
      record.paymentMode = cmd.paymentMode;
      record.authorizedAmount = null;
      if ("hwSerial" in cmd.terminal) record.hwSerial = cmd.terminal.hwSerial;
      else record.machineId = cmd.terminal.machineId;
      try {
        const spark = await sparkClientFor(this.env, cmd.tenantId);
        await spark.startAuthentication({ sparkTransactionId: cmd.sessionId, terminal: cmd.terminal });
        await spark.triggerTransaction({
          sparkTransactionId: cmd.sessionId,
          terminal: cmd.terminal,
          amount: moneyOf(cmd.amount),
          timeoutSeconds: cmd.timeoutSeconds,
          ...(cmd.display !== null ? { display: cmd.display } : {}),
        });
      } catch (error) {
        // Nothing is stored: the session never started.
        return badGateway(sparkFailure(error, "StartAuthentication", new Date()));
      }
      this.commit(record, ["session.created"], new Date());
      return { kind: "ok", status: 201, session: viewOf(record) };
    });
  }

  /** Settlement of the final amount. Repeats are answered from what was recorded, never sent twice. */
  async settle(cmd: SettleCommand): Promise<OperationResult> {
    return this.exclusive(async () => {
      const fingerprint = JSON.stringify(["settle", cmd.amount, cmd.receipt]);
      const remembered = this.remembered(cmd.idempotencyKey, fingerprint);
      if (remembered) return remembered;
      const result = await this.settleNow(cmd);
      return this.remember(cmd.idempotencyKey, fingerprint, result);
    });
  }

  private async settleNow(cmd: SettleCommand): Promise<OperationResult> {
    const existing = this.record;
    if (!existing || existing.tenantId !== cmd.tenantId) return { kind: "error", status: 404, code: "not_found", message: "session not found" };
    if (existing.status === "settled") {
      if (existing.settleRequest?.amount === cmd.amount) return { kind: "ok", status: 200, session: viewOf(existing) };
      return { kind: "error", status: 409, code: "already_settled", message: `session was already settled for ${existing.settleRequest?.amount}` };
    }
    if (existing.paymentMode === "pre_selection") {
      return { kind: "error", status: 409, code: "not_settleable", message: "a pre-selection session is charged at authorization; cancel it to void" };
    }
    if (existing.status !== "authorized" && existing.status !== "stop_requested") {
      return { kind: "error", status: 409, code: "not_settleable", message: `session is ${existing.status}` };
    }
    const amount = moneyOf(cmd.amount);
    if (amount === 0n) return { kind: "error", status: 422, code: "zero_amount", message: "amount must be above zero; cancel the session to release the hold" };
    if (existing.authorizedAmount === null || amount > moneyOf(existing.authorizedAmount)) {
      return { kind: "error", status: 422, code: "above_authorized", message: `amount ${cmd.amount} is above the authorized ${existing.authorizedAmount}` };
    }
    const receiptJson = cmd.receipt ? JSON.stringify(cmd.receipt) : null;
    try {
      const spark = await sparkClientFor(this.env, existing.tenantId);
      const answer = await spark.settle({
        sparkTransactionId: existing.id,
        nayaxTransactionId: existing.nayaxTransactionId!,
        siteId: existing.siteId!,
        terminal: SessionObject.authorizedTerminalOf(existing),
        amount,
        receipt: cmd.receipt,
      });
      const now = new Date();
      const record = structuredClone(this.record!);
      record.status = "settled";
      record.settleRequest = { amount: cmd.amount, receiptJson };
      record.settledAmount = formatMoney(answer.amount ?? amount);
      record.currency = answer.currencyCode ?? record.currency;
      record.settlement = {
        amount: record.settledAmount,
        currency: answer.currencyCode,
        currencyNumeric: answer.currencyNumeric,
        authCode: answer.authCode,
        nayaxRrn: answer.nayaxRrn,
        fiscalRrn: answer.fiscalRrn,
        settledAt: answer.settledAt,
      };
      record.lastSparkError = null;
      this.commit(record, ["session.settled"], now);
      return { kind: "ok", status: 200, session: viewOf(record) };
    } catch (error) {
      const now = new Date();
      const failure = sparkFailure(error, "Settlement", now);
      const record = structuredClone(this.record!);
      record.lastSparkError = failure;
      this.commit(record, ["session.settlement_failed"], now);
      return badGateway(failure);
    }
  }

  /** CancelTransaction: type 1 releases a pre-authorization, type 2 voids a pre-selection. */
  async cancel(cmd: CancelCommand): Promise<OperationResult> {
    return this.exclusive(async () => {
      const fingerprint = JSON.stringify(["cancel", cmd.reasonCode, cmd.reasonText]);
      const remembered = this.remembered(cmd.idempotencyKey, fingerprint);
      if (remembered) return remembered;
      return this.remember(cmd.idempotencyKey, fingerprint, await this.cancelNow(cmd));
    });
  }

  private async cancelNow(cmd: CancelCommand): Promise<OperationResult> {
    const existing = this.record;
    if (!existing || existing.tenantId !== cmd.tenantId) return { kind: "error", status: 404, code: "not_found", message: "session not found" };
    if (existing.status === "cancelled") return { kind: "ok", status: 200, session: viewOf(existing) };
    if (existing.status !== "authorized" && existing.status !== "stop_requested") {
      return { kind: "error", status: 409, code: "not_cancellable", message: `session is ${existing.status}` };
    }
    const now = new Date();
    try {
      const spark = await sparkClientFor(this.env, existing.tenantId);
      await spark.cancel({
        sparkTransactionId: existing.id,
        nayaxTransactionId: existing.nayaxTransactionId!,
        siteId: existing.siteId!,
        terminal: SessionObject.authorizedTerminalOf(existing),
        machineAuTime: existing.machineAuTime ?? deviceTimeOf(now),
        type: existing.paymentMode === "pre_selection" ? 2 : 1,
        amount: moneyOf(existing.authorizedAmount ?? "0"),
        reasonCode: cmd.reasonCode,
        ...(cmd.reasonText !== null ? { reasonText: cmd.reasonText } : {}),
      });
    } catch (error) {
      // 28 "Already Cancelled": the hold is gone either way, which is what was asked.
      const alreadyCancelled = error instanceof SparkError && error.kind === "declined" && error.code === 28;
      if (!alreadyCancelled) {
        const failure = sparkFailure(error, "CancelTransaction", now);
        const record = structuredClone(this.record!);
        record.lastSparkError = failure;
        this.commit(record, [], now);
        return badGateway(failure);
      }
    }
    const record = structuredClone(this.record!);
    record.status = "cancelled";
    record.lastSparkError = null;
    this.commit(record, ["session.cancelled"], new Date());
    return { kind: "ok", status: 200, session: viewOf(record) };
  }

  /**
   * The terminal Settlement and CancelTransaction name: the HwSerial the authorization came from
   * (TerminalIdType 1, as the contract fixes), even when Remote Start addressed the terminal by
   * machine id; that address is the fallback only while no HwSerial is known.
   */
  private static authorizedTerminalOf(record: SessionRecord): { hwSerial: string } | { machineId: number } {
    return record.hwSerial ? { hwSerial: record.hwSerial } : terminalOf(record);
  }

  /** Runs `fn` alone: one call to Spark at a time per session, and Remote Start callbacks wait for it. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.idle();
    const run = fn();
    this.inflight = run;
    try {
      return await run;
    } finally {
      if (this.inflight === run) this.inflight = null;
    }
  }

  private async idle(): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => undefined);
  }

  /** The answer first given under this Idempotency-Key, or a 409 when the key came with another request. */
  private remembered(key: string | null, fingerprint: string): OperationResult | null {
    if (key === null || !this.schemaReady || !tableExists(this.ctx.storage.sql, "idempotency")) return null;
    const row = this.ctx.storage.sql.exec<{ fingerprint: string; result: string }>("SELECT fingerprint, result FROM idempotency WHERE key = ?", key).toArray()[0];
    if (!row) return null;
    if (row.fingerprint !== fingerprint) {
      return { kind: "error", status: 409, code: "idempotency_key_reused", message: "Idempotency-Key was already used with a different request" };
    }
    return JSON.parse(row.result) as OperationResult;
  }

  /** Keeps final answers under the key; a 502 is not final (the session stays settleable), so it is not kept. */
  private remember(key: string | null, fingerprint: string, result: OperationResult): OperationResult {
    if (key !== null && this.schemaReady && !(result.kind === "error" && (result.status === 502 || result.status === 404))) {
      this.ctx.storage.sql.exec(IDEMPOTENCY_SCHEMA);
      this.ctx.storage.sql.exec("INSERT OR REPLACE INTO idempotency (key, fingerprint, result) VALUES (?, ?, ?)", key, fingerprint, JSON.stringify(result));
    }
    return result;
  }

  private markAuthorized(record: SessionRecord, now: Date): void {
    record.authorizedAt = now.toISOString();
    const seconds = Number(this.env.SETTLEMENT_WINDOW_SECONDS ?? DEFAULT_SETTLEMENT_WINDOW_SECONDS);
    record.overdueAt = now.getTime() + (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_SETTLEMENT_WINDOW_SECONDS) * 1000;
  }

  /** Flags an authorization left unsettled past its window, once. */
  private checkOverdue(now: number): number | null {
    const record = this.record;
    if (!record || record.overdue || record.overdueAt === null) return null;
    if (record.status !== "authorized" && record.status !== "stop_requested") return null;
    if (record.overdueAt > now) return record.overdueAt;
    const next = structuredClone(record);
    next.overdue = true;
    this.commit(next, ["session.settlement_overdue"], new Date(now));
    return null;
  }

  // ------------------------------------------------------------------ outbox

  /** Re-sends events of this session (recover, redeliver); answers the endpoints queued, or null when the session is not the tenant's. */
  resend(tenantId: string, request: ResendRequest): string[] | null {
    if (!this.record || this.record.tenantId !== tenantId) return null;
    const queued = this.dispatcher().resend(request);
    if (queued.length > 0) this.wake();
    return queued;
  }

  /** Retries, deadlines and the safety net: runs the outbox whenever the alarm comes due. */
  override async alarm(): Promise<void> {
    this.kick();
    await this.running;
  }

  /**
   * Runs the outbox now, once at a time: a change's first delivery and D1 write start right
   * after the callback is answered, without waiting for an alarm to be scheduled and fired.
   */
  private kick(): void {
    if (this.running) return;
    this.running = this.drain()
      .catch((error: unknown) => log.error("outbox run failed", { sessionId: this.record?.id, error: String(error) }))
      .finally(() => {
        this.running = null;
        if (this.dirty) this.kick();
      });
  }

  /**
   * Delivers what is due and sends the queued D1 writes, then sets the alarm for the next thing
   * due (a retry, an overdue deadline, a failed D1 write) or clears it when nothing is left.
   * The D1 batch waits briefly for the first deliveries, so one batch usually carries both the
   * session's history and the attempts' records.
   */
  private async drain(): Promise<void> {
    if (!this.record) return;
    this.dirty = false;
    const wakeAt: number[] = [];
    const overdueAt = this.checkOverdue(Date.now());
    if (overdueAt !== null) wakeAt.push(overdueAt);
    const delivering = this.dispatcher().run(this.record.tenantId, this.record.id);
    let due: number | null | undefined;
    const settled = await Promise.race([
      delivering.then((next) => ((due = next), true)),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), PROJECTION_MAX_WAIT_MS)),
    ]);
    let written = await this.outbox.flush();
    if (!settled) {
      due = await delivering;
      written = (await this.outbox.flush()) && written;
    }
    if (!written) wakeAt.push(Date.now() + PROJECTION_RETRY_MS);
    if (due !== null && due !== undefined) wakeAt.push(due);
    // Something committed meanwhile: leave its safety-net alarm, and run again at once.
    if (this.dirty) return;
    if (wakeAt.length > 0) await this.ctx.storage.setAlarm(Math.min(...wakeAt));
    else await this.ctx.storage.deleteAlarm();
  }

  private dispatcher(): Dispatcher {
    this.dispatch ??= new Dispatcher(
      this.ctx.storage.sql,
      this.db,
      sealerFor(this.env.ENCRYPTION_KEY),
      parseRetrySchedule(this.env.WEBHOOK_RETRY_SCHEDULE),
      (queries) => queries.forEach((query) => this.outbox.add(query)),
    );
    return this.dispatch;
  }

  /**
   * Something new is in the outbox: run it now, with an alarm as the safety net in case this
   * object is evicted or restarted before the run completes.
   */
  private wake(): void {
    this.dirty = true;
    // Output gates hold the reply until this write is durable, like the transaction before it.
    void this.ctx.storage.setAlarm(Date.now() + SAFETY_NET_MS);
    this.kick();
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
    // Overdue means "still waiting for settlement": it ends with the hold.
    if (next.status !== "authorized" && next.status !== "stop_requested") next.overdue = false;
    const view = viewOf(next);
    this.ctx.storage.transactionSync(() => {
      if (!this.schemaReady) this.createSchema();
      this.ctx.storage.sql.exec(
        "INSERT INTO session (id, record) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record",
        JSON.stringify(next),
      );
      for (const type of types) {
        const sequence = ++this.lastSequence;
        const body = sessionEvent(type, sequence, view, at);
        const text = JSON.stringify(body);
        this.ctx.storage.sql.exec(
          "INSERT INTO events (sequence, id, type, body, created_at) VALUES (?, ?, ?, ?, ?)",
          sequence,
          body.id,
          type,
          text,
          at.getTime(),
        );
        this.outbox.add(eventInsert(next, { id: body.id, type, sequence, body: text, createdAt: at.getTime() }));
      }
      this.outbox.add(sessionUpsert(next, this.lastSequence));
    });
    this.record = next;
    this.wake();
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
    paymentMode: "pre_authorization",
    lastSparkError: null,
    overdue: false,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    machineAuTime: null,
    terminal: null,
    settleRequest: null,
    authorizedAt: null,
    overdueAt: null,
  };
}

/** How to address the session's terminal on calls to Spark: as Remote Start did, else by serial. */
function terminalOf(record: SessionRecord): { hwSerial: string } | { machineId: number } {
  if (record.terminal) return record.terminal;
  if (record.hwSerial) return { hwSerial: record.hwSerial };
  return { machineId: record.machineId ?? 0 };
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


