import { DurableObject } from "cloudflare:workers";
import { database } from "../db/client";
import type { Database } from "../db/client";
import { historyWriter } from "../db/history-writer";
import { randomId, sealerFor } from "../lib/crypto";
import { log } from "../lib/log";
import { SerialQueue } from "../lib/serial";
import { tableExists } from "../lib/storage";
import { StageTimer } from "../lib/timing";
import { askDecision } from "../decisions/ask";
import { buildStartSessionBody, buildStopSessionBody, mintTokenUid, prepareCommand, sendCommand } from "../ocpi/commands";
import type { OcpiFact } from "../ocpi/facts";
import { DEFAULT_OCPI_SETTINGS, getOcpiSettings } from "../ocpi/settings";
import { connectedVersion, ocpiTarget } from "../ocpi/target";
import { stationState } from "../tenants/lookup";
import type { Decider } from "../decisions/endpoint";
import { DISPATCH_SCHEMA, Dispatcher } from "../webhooks/dispatcher";
import type { DeliveryView, ResendRequest } from "../webhooks/dispatcher";
import { parseRetrySchedule } from "../webhooks/schedule";
import { D1Outbox } from "./d1-outbox";
import type { Projection } from "./d1-outbox";
import { sessionEvent } from "./events";
import type { EventBody } from "./events";
import { forgetInIndex, machineIndex } from "./machine-index";
import type { IndexEntry } from "./machine-index";
import { ENDED_STATUSES, OPEN_STATUSES, viewOf } from "./model";
import type { EventType, ExternalRequest, OcpiTarget, SessionRecord, SessionView } from "./model";
import { ocpiAction } from "./ocpi-flow";
import { IdempotencyKeys } from "./idempotency";
import { eventInsert, sessionUpsert } from "./projection";
import { blankRecord, decide, resendDue, wakeAt } from "./rules";
import type { Command, Reply } from "./rules";
import { rulesConfig } from "./settings";
import { sendOperation } from "./spark-calls";
import type { RemoteStartRequest } from "./spark-calls";

/** A session and its timeline, each event with where it stands for each endpoint. */
export interface SessionRead {
  session: SessionView;
  events: Array<EventBody & { deliveries: DeliveryView[] }>;
}

/** What a Spark callback gets from the session: the rules' reply and the session it was given on. */
export interface CallbackAnswer {
  reply: Reply;
  session: SessionRecord | null;
  /** How long each stage took in the object, with the TIMINGS setting only. */
  stages?: Record<string, number>;
}

/** A tenant request, answered as an HTTP status and, on success, the session. */
export type OperationResult =
  | { kind: "ok"; status: 200 | 201 | 202; session: SessionView }
  | { kind: "error"; status: 401 | 404 | 409 | 422 | 502; code: string; message: string; spark?: { code: number | null; description: string } };

/** Reason code sent with CancelTransaction when the tenant gives none (Nayax's example value). */
export const DEFAULT_CANCEL_REASON_CODE = 101;

/** When the outbox is run at once after a change, the alarm still fires this much later if that run never completed. */
const SAFETY_NET_MS = 30_000;
/** How long the first D1 batch waits for the webhook deliveries: a batch that carries their records saves a storage commit (under load most deliveries take longer than 250 ms). */
const PROJECTION_MAX_WAIT_MS = 1_000;
/** Retry a failed projection to D1, or a failed index update, after this long. */
const PROJECTION_RETRY_MS = 5_000;

const SCHEMA = [
  // d1_sequence: the events D1 has (through this sequence); d1_current: D1's row of the session is this record.
  `CREATE TABLE IF NOT EXISTS session (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     record TEXT NOT NULL,
     d1_sequence INTEGER NOT NULL DEFAULT 0,
     d1_current INTEGER NOT NULL DEFAULT 0
   )`,
  `CREATE TABLE IF NOT EXISTS events (
     sequence INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     type TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at INTEGER NOT NULL
   )`,
];

/**
 * One object per charging session, named by its SparkTransactionId. It loads the record, applies
 * commands through the rules (`./rules.ts`), and commits each change with its events in one
 * storage transaction; then, at once and on its alarm, it delivers them, brings D1 up to date
 * from its own storage (`projection`), re-sends calls to Spark in doubt, and keeps the machine's
 * stop index current.
 */
export class SessionObject extends DurableObject<Env> {
  private record: SessionRecord | null = null;
  private lastSequence = 0;
  private schemaReady = false;
  /** Storage was empty when this object started (a new session): tables made later need not be looked for. */
  private fresh = false;
  /** Set by every commit, so an outbox run that was busy meanwhile knows to come back at once. */
  private dirty = false;
  private running: Promise<void> | null = null;
  /** Calls to Spark: one at a time, in arrival order. */
  private readonly spark = new SerialQueue();
  /** The index entry last confirmed by the machine index in this life of the object. */
  private indexed: string | null = null;
  private indexing: Promise<boolean> | null = null;
  /** A decision endpoint being asked about this session's authorization. */
  private deciding: Promise<CallbackAnswer> | null = null;
  private dispatch: Dispatcher | undefined;
  private outbox: D1Outbox;
  /** How far D1 has this session (see `SCHEMA`), as stored. */
  private inD1 = { sequence: 0, current: false };
  private keys: IdempotencyKeys<OperationResult>;
  private readonly db: Database;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = database(env.DB);
    this.keys = new IdempotencyKeys(ctx.storage.sql);
    // A new session's tables are created with its first write, in the same transaction: one
    // commit instead of two on the callback path, and nothing stored for a session never created.
    this.fresh = !tableExists(ctx.storage.sql, "session");
    this.outbox = this.newOutbox();
    if (this.fresh) return;
    ctx.blockConcurrencyWhile(async () => {
      this.createSchema();
      const row = this.loadRow();
      this.record = row ? normalized(JSON.parse(row.record) as SessionRecord) : null;
      this.inD1 = { sequence: row?.d1_sequence ?? 0, current: row?.d1_current === 1 };
      this.lastSequence = ctx.storage.sql.exec<{ s: number | null }>("SELECT MAX(sequence) AS s FROM events").one().s ?? 0;
    });
  }

  private loadRow(): { record: string; d1_sequence: number; d1_current: number } | undefined {
    const select = () =>
      this.ctx.storage.sql.exec<{ record: string; d1_sequence: number; d1_current: number }>("SELECT record, d1_sequence, d1_current FROM session WHERE id = 1").toArray()[0];
    try {
      return select();
    } catch (error) {
      if (!String(error).includes("no such column")) throw error;
      // Stored by a version that queued its D1 writes instead: D1 is assumed behind, and is sent everything once.
      this.ctx.storage.sql.exec(
        "ALTER TABLE session ADD COLUMN d1_sequence INTEGER NOT NULL DEFAULT 0; ALTER TABLE session ADD COLUMN d1_current INTEGER NOT NULL DEFAULT 0",
      );
      return select();
    }
  }

  private newOutbox(): D1Outbox {
    return new D1Outbox(this.ctx.storage.sql, (statements) => historyWriter(this.env, this.record!.id).write(statements), this.projection(), this.fresh);
  }

  // ------------------------------------------------------------------ reads

  /** The session and its timeline, when it belongs to `tenantId`. */
  async read(tenantId: string): Promise<SessionRead | null> {
    if (!this.record || this.record.tenantId !== tenantId) return null;
    const deliveries = await this.dispatcher().deliveries(tenantId);
    const events = this.ctx.storage.sql
      .exec<{ sequence: number; body: string }>("SELECT sequence, body FROM events ORDER BY sequence")
      .toArray()
      .map((row) => ({ ...(JSON.parse(row.body) as EventBody), deliveries: deliveries.get(row.sequence) ?? [] }));
    return { session: viewOf(this.record), events };
  }

  // ------------------------------------------------------------------ Spark callbacks

  /** StartSession: a Device Start session that waits for a card; a repeat gets the same cipher. */
  startSession(cmd: Omit<Extract<Command, { type: "start_session" }>, "type">): CallbackAnswer {
    return this.callback({ type: "start_session", ...cmd });
  }

  /**
   * TransactionNotify. With a decision endpoint, a new authorization is asked there first (a
   * repeat meanwhile waits for that answer rather than asking again). The stop index knows the
   * authorization before Spark gets the answer.
   */
  async notify(cmd: Omit<Extract<Command, { type: "notify" }>, "type" | "askDecision" | "decision"> & { decider: Decider | null; ocpi: OcpiTarget | null }): Promise<CallbackAnswer> {
    const { decider, ...notify } = cmd;
    const timer = StageTimer.for(this.env);
    while (this.deciding) await this.deciding.catch(() => undefined);
    let answer = this.callback({ type: "notify", ...notify, askDecision: decider !== null });
    timer.lap("apply");
    if (answer.reply.kind === "ask" && decider) {
      const asking = askDecision(decider, { sessionId: notify.sessionId, flow: "device_start", authorization: notify.authorization }).then((decision) =>
        this.callback({ type: "notify", ...notify, askDecision: true, decision }),
      );
      this.deciding = asking;
      try {
        answer = await asking;
      } finally {
        this.deciding = null;
      }
      timer.lap("decision");
    }
    await this.syncIndex();
    timer.lap("index");
    return { ...answer, stages: timer.record() };
  }

  /**
   * TransactionCallback: the Remote Start authorization result. A Remote Start that named its
   * station charges over OCPI once approved when that station is mapped (§7.6).
   */
  async authorizationResult(cmd: Omit<Extract<Command, { type: "authorization_result" }>, "type" | "ocpi">): Promise<CallbackAnswer> {
    const record = this.record;
    let ocpi: OcpiTarget | null = null;
    if (cmd.approved && cmd.authorization && record?.flow === "remote_start" && record.status === "awaiting_card" && record.serviceStationNumber !== null && record.tenantId === cmd.tenantId) {
      const station = await stationState(this.db, cmd.tenantId, cmd.authorization.machineId, record.serviceStationNumber);
      ocpi = await ocpiTarget(this.db, cmd.tenantId, station?.ocpi ?? null);
    }
    const answer = this.callback({ type: "authorization_result", ...cmd, ocpi });
    await this.syncIndex();
    return answer;
  }

  /** A fact from the tenant's CPO about this session (a Session, a CDR, a command result): §7.6. */
  async ocpiFact(fact: OcpiFact): Promise<void> {
    const record = this.record;
    if (!record?.ocpi) return;
    const settings = fact.kind === "command_result" ? DEFAULT_OCPI_SETTINGS : await getOcpiSettings(this.db, record.tenantId);
    this.apply({ type: "ocpi_fact", fact, settings });
  }

  /** DeclineCallback: Remote Start ended before any authorization (44, 45, 38). */
  declined(tenantId: string, decline: { code: number | null; description: string | null }): CallbackAnswer {
    return this.callback({ type: "decline", tenantId, decline });
  }

  /** TimeoutCallback: Spark gave up on the pre-authorization; final. */
  timedOut(tenantId: string): CallbackAnswer {
    return this.callback({ type: "timeout", tenantId });
  }

  /** StopCallback / StopNotify for this session: the card presented must be the session's. */
  stop(tenantId: string, cardHash: string | null, stopSiteId: number): CallbackAnswer {
    return this.callback({ type: "stop", tenantId, cardHash, stopSiteId });
  }

  private callback(command: Command): CallbackAnswer {
    const reply = this.apply(command);
    return { reply, session: this.record };
  }

  // ------------------------------------------------------------------ tenant operations that call Spark

  /** Remote Start: StartAuthentication, then TriggerTransaction; the session is recorded before either is sent. */
  remoteStart(cmd: Omit<Extract<Command, { type: "remote_start" }>, "type" | "operationId"> & RemoteStartRequest): Promise<OperationResult> {
    return this.spark.run(async () => {
      const { timeoutSeconds, display, ...rest } = cmd;
      return this.result(await this.operate({ type: "remote_start", operationId: randomId("op_"), ...rest, timeoutSeconds }, { timeoutSeconds, display }));
    });
  }

  /** Settlement of the final amount. Repeats are answered from what was recorded, never sent twice. */
  settle(cmd: { tenantId: string; amount: string; receiptJson: string | null; idempotencyKey: string | null }): Promise<OperationResult> {
    return this.spark.run(() =>
      this.idempotent(cmd.idempotencyKey, JSON.stringify(["settle", cmd.amount, cmd.receiptJson]), async (operationId) =>
        this.operate({ type: "settle", operationId, ...cmd, ocpiConnected: await this.ocpiConnected() }),
      ),
    );
  }

  /** CancelTransaction: type 1 releases a pre-authorization, type 2 voids a pre-selection. */
  cancel(cmd: { tenantId: string; reasonCode: number; reasonText: string | null; idempotencyKey: string | null }): Promise<OperationResult> {
    return this.spark.run(() =>
      this.idempotent(cmd.idempotencyKey, JSON.stringify(["cancel", cmd.reasonCode, cmd.reasonText]), async (operationId) =>
        this.operate({ type: "cancel", operationId, ...cmd, ocpiConnected: await this.ocpiConnected() }),
      ),
    );
  }

  /** For an OCPI-driven session: whether its tenant is still connected (a removed connection hands settling back to the tenant). */
  private async ocpiConnected(): Promise<boolean> {
    const record = this.record;
    return record?.ocpi ? (await connectedVersion(this.db, record.tenantId)) !== null : false;
  }

  /** ExternalSettlement / ExternalCancel (§9): StartAuthentication, then the call, recorded first like every operation. */
  external(cmd: { tenantId: string; sessionId: string; kind: "external_settle" | "external_cancel"; request: ExternalRequest; idempotencyKey: string | null }): Promise<OperationResult> {
    const { idempotencyKey, ...rest } = cmd;
    return this.spark.run(() => this.idempotent(idempotencyKey, JSON.stringify([cmd.kind, cmd.request.fingerprint]), (operationId) => this.operate({ type: "external", operationId, ...rest })));
  }

  /** Closes a review after someone checked with Nayax. */
  resolve(cmd: { tenantId: string; outcome: "settled" | "not_settled"; note: string | null }): Promise<OperationResult> {
    return this.spark.run(async () => {
      const opId = this.record?.pending?.id ?? null;
      const result = this.result(this.apply({ type: "resolve", ...cmd }));
      if (result.kind === "ok" && opId) {
        const final: OperationResult = cmd.outcome === "settled" ? result : { kind: "error", status: 409, code: "resolved_not_settled", message: "the operation was resolved as not settled" };
        this.keys.finish(opId, final);
      }
      return result;
    });
  }

  /** Applies a command that may record an operation, and sends that operation when the rules say so. */
  private async operate(command: Command, remote?: RemoteStartRequest): Promise<Reply> {
    const reply = this.apply(command);
    if (reply.kind !== "send") return reply;
    const op = this.record!.pending!;
    const outcome = await sendOperation(this.env, this.record!, op, remote);
    const answer = this.apply({ type: "outcome", operationId: op.id, outcome });
    await this.syncIndex();
    return answer;
  }

  /**
   * Idempotency-Key: the same key with the same request answers the operation as it stands (202
   * while in doubt, the final answer once known); with another request it is 409. Without a key
   * the rules alone decide, which already makes an identical settle harmless.
   */
  private async idempotent(key: string | null, fingerprint: string, run: (operationId: string) => Promise<Reply>): Promise<OperationResult> {
    const operationId = randomId("op_");
    if (key === null) return this.result(await run(operationId));
    const known = this.keys.find(key);
    if (known) {
      if (known.fingerprint !== fingerprint) return { kind: "error", status: 409, code: "idempotency_key_reused", message: "Idempotency-Key was already used with a different request" };
      if (known.result !== null) return known.result;
      if (this.record) return { kind: "ok", status: 202, session: viewOf(this.record) };
    }
    const result = this.result(await run(operationId));
    // A refused or not-yet-existing session keeps nothing; a 502 leaves the session settleable, so the key may be used again.
    if (!this.record || (result.kind === "error" && (result.status === 404 || result.status === 502))) return result;
    const inDoubt = result.kind === "ok" && result.status === 202;
    this.keys.remember(key, fingerprint, this.record.pending?.id ?? operationId, inDoubt ? null : result);
    return result;
  }

  /** The rules' reply as a tenant answer, with the session as it now stands. */
  private result(reply: Reply): OperationResult {
    if (reply.kind === "refused") {
      const { kind: _k, ...error } = reply;
      return { kind: "error", ...error } as OperationResult;
    }
    if (reply.kind === "session" && this.record) return { kind: "ok", status: reply.status, session: viewOf(this.record) };
    return { kind: "error", status: 409, code: "conflict", message: "the session changed meanwhile" };
  }

  // ------------------------------------------------------------------ retention

  /**
   * Deletes everything this object holds when the session ended before `cutoff` and nothing of it
   * is still on its way (a call to Spark, D1 writes); true when the object is empty afterwards.
   */
  async purge(cutoff: number): Promise<boolean> {
    const record = this.record;
    if (record) {
      if (!ENDED_STATUSES.includes(record.status) || record.pending || Date.parse(record.updatedAt) >= cutoff) return false;
      await this.running;
      if (this.pendingHistory() > 0) return false;
      if (record.machineId !== null && record.nayaxTransactionId !== null) await forgetInIndex(this.env, record.tenantId, record.machineId, record.id);
    }
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.record = null;
    this.lastSequence = 0;
    this.schemaReady = false;
    this.indexed = null;
    this.dispatch = undefined;
    this.fresh = true;
    this.inD1 = { sequence: 0, current: false };
    this.outbox = this.newOutbox();
    this.keys = new IdempotencyKeys(this.ctx.storage.sql);
    return true;
  }

  // ------------------------------------------------------------------ rules → storage

  /** Runs one command through the rules and commits what changed. */
  private apply(command: Command): Reply {
    const now = Date.now();
    const { next, events, reply } = decide(this.record, command, now, rulesConfig(this.env));
    if (next !== null && next !== this.record) this.commit(next, events, new Date(now));
    return reply;
  }

  /** Writes the new state and its events in one transaction, then wakes the outbox to send them. */
  private commit(next: SessionRecord, types: EventType[], at: Date): void {
    next.updatedAt = at.toISOString();
    // Overdue means "still waiting for settlement": it ends with the hold.
    if (!OPEN_STATUSES.includes(next.status)) next.overdue = false;
    const view = viewOf(next);
    this.ctx.storage.transactionSync(() => {
      if (!this.schemaReady) this.createSchema();
      this.ctx.storage.sql.exec(
        "INSERT INTO session (id, record, d1_current) VALUES (1, ?, 0) ON CONFLICT (id) DO UPDATE SET record = excluded.record, d1_current = 0",
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
      }
    });
    this.record = next;
    this.inD1.current = false;
    this.wake();
  }

  private createSchema(): void {
    this.ctx.storage.sql.exec([...SCHEMA, ...DISPATCH_SCHEMA].join(";\n"));
    this.schemaReady = true;
  }

  // ------------------------------------------------------------------ D1

  /** D1 writes not yet in D1: queued ones, and 1 for the session's own state when D1 is behind it. */
  pendingHistory(): number {
    const behind = this.record !== null && (!this.inD1.current || this.inD1.sequence < this.lastSequence);
    return this.outbox.queued() + (behind ? 1 : 0);
  }

  /** The session's state and events as D1 writes, from where D1 stands: built when sent, never queued. */
  private projection(): Projection {
    return {
      pending: (max) => {
        const record = this.record;
        const from = this.inD1.sequence;
        if (!record || (this.inD1.current && from >= this.lastSequence)) return { statements: [], complete: true, sent: () => undefined };
        const rows = this.ctx.storage.sql
          .exec<{ id: string; type: string; sequence: number; body: string; created_at: number }>(
            "SELECT id, type, sequence, body, created_at FROM events WHERE sequence > ? ORDER BY sequence LIMIT ?",
            from,
            max,
          )
          .toArray();
        const statements = rows.map((row) => eventInsert(record, { id: row.id, type: row.type, sequence: row.sequence, body: row.body, createdAt: row.created_at }).toSQL());
        const through = rows.at(-1)?.sequence ?? from;
        const complete = through >= this.lastSequence && statements.length < max;
        if (complete) statements.push(sessionUpsert(record, this.lastSequence).toSQL());
        return {
          statements,
          complete,
          sent: () => {
            // A commit while the batch was out (every commit sets a new record) leaves D1 behind the record, though not behind these events.
            this.inD1 = { sequence: Math.max(this.inD1.sequence, through), current: complete && record === this.record };
            this.ctx.storage.sql.exec("UPDATE session SET d1_sequence = ?, d1_current = ? WHERE id = 1", this.inD1.sequence, this.inD1.current ? 1 : 0);
          },
        };
      },
    };
  }

  // ------------------------------------------------------------------ the machine's stop index

  /**
   * Brings the machine index up to date with this session; true when it is. Concurrent callers
   * share one update. A failure leaves the alarm to try again.
   */
  private syncIndex(): Promise<boolean> {
    const entry = indexEntryOf(this.record, this.lastSequence);
    if (entry === null) return Promise.resolve(true);
    const { version: _v, ...content } = entry;
    const key = JSON.stringify(content);
    if (this.indexed === key) return Promise.resolve(true);
    if (this.indexing) return this.indexing.then(() => this.syncIndex());
    const record = this.record!;
    this.indexing = machineIndex(this.env, record.tenantId, record.machineId!)
      .put(entry)
      .then(
        () => {
          this.indexed = key;
          return true;
        },
        (error: unknown) => {
          log.error("stop index update failed", { sessionId: record.id, error: String(error) });
          return false;
        },
      )
      .finally(() => (this.indexing = null));
    return this.indexing;
  }

  // ------------------------------------------------------------------ outbox and alarm

  /** Re-sends events of this session (recover, redeliver); answers the endpoints queued, or null when the session is not the tenant's. */
  resend(tenantId: string, request: ResendRequest): string[] | null {
    if (!this.record || this.record.tenantId !== tenantId) return null;
    const queued = this.dispatcher().resend(request);
    if (queued.length > 0) this.wake();
    return queued;
  }

  /** Deadlines, re-sends, retries and the safety net: runs the outbox whenever the alarm comes due. */
  override async alarm(): Promise<void> {
    this.kick();
    await this.running;
  }

  /**
   * Runs the outbox now, once at a time: a change's first delivery and D1 write start right
   * after the callback is answered, without waiting for an alarm to be scheduled and fired.
   */
  private kick(): void {
    if (this.running) {
      // That run may wait on deliveries or D1 a while: a call to Spark or the CPO that became due
      // meanwhile (a re-send, a cancel, the next OCPI command) starts now, not after it.
      this.startResend();
      this.startOcpi();
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => log.error("outbox run failed", { sessionId: this.record?.id, error: String(error) }))
      .finally(() => {
        this.running = null;
        if (this.dirty) this.kick();
      });
  }

  /**
   * Applies what time made due, starts a re-send in doubt, brings the stop index up to date,
   * delivers webhooks and sends the queued D1 writes, then sets the alarm for the next thing due.
   * Each D1 batch carries the attempts that ended, which are stored with the batch's
   * acknowledgement and the next alarm: after a fast delivery, one storage commit. The first
   * batch goes out within {@link PROJECTION_MAX_WAIT_MS} even while deliveries are slow.
   */
  private async drain(): Promise<void> {
    if (!this.record) return;
    this.dirty = false;
    this.apply({ type: "tick" });
    this.startResend();
    this.startOcpi();
    const wakeTimes: number[] = [];
    if (!(await this.syncIndex())) wakeTimes.push(Date.now() + PROJECTION_RETRY_MS);
    const dispatcher = this.dispatcher();
    dispatcher.gate(true);
    let due: number | null | undefined;
    const delivering = dispatcher.run(this.record.tenantId, this.record.id).then((next) => {
      due = next;
    });
    let written = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const firstBatch = new Promise<void>((resolve) => (timer = setTimeout(resolve, PROJECTION_MAX_WAIT_MS)));
    try {
      for (let round = 0; ; round++) {
        await Promise.race([delivering, dispatcher.attemptEnded(), ...(round === 0 ? [firstBatch] : [])]);
        const ended = dispatcher.takeEndedAttempts();
        let inD1 = false;
        try {
          const { ok, extraSent } = await this.outbox.flush({ required: ended.queries, riders: () => dispatcher.inFlightWrites() });
          written &&= ok;
          inD1 = extraSent;
        } finally {
          // The attempts are stored in this turn, with the outbox's acknowledgement (and, when the
          // run ends here, the next alarm); released, they end the run or send their next event.
          // Released also when the flush failed, so none waits for ever: then they queue their rows.
          ended.settle(inD1);
        }
        if (due !== undefined) break;
      }
    } finally {
      clearTimeout(timer);
      // Should this run fail midway, ended attempts are not left waiting, now or later: they queue their rows.
      dispatcher.gate(false);
    }
    if (!written) wakeTimes.push(Date.now() + PROJECTION_RETRY_MS);
    if (due !== null && due !== undefined) wakeTimes.push(due);
    const rules = wakeAt(this.record, rulesConfig(this.env));
    // Something due now was just applied or started; if it is still due, it is in progress and its commit wakes us.
    if (rules !== null) wakeTimes.push(rules > Date.now() ? rules : Date.now() + SAFETY_NET_MS);
    // Something committed meanwhile: leave its safety-net alarm, and run again at once.
    if (this.dirty) return;
    if (wakeTimes.length > 0) await this.ctx.storage.setAlarm(Math.min(...wakeTimes));
    else await this.ctx.storage.deleteAlarm();
  }

  /** Sends the operation in doubt again when it is due, behind any call already queued. */
  private resending = false;
  private startResend(): void {
    const due = resendDue(this.record, Date.now());
    if (due === null || this.resending) return;
    this.resending = true;
    void this.spark
      .run(async () => {
        const reply = this.apply({ type: "resend", operationId: due });
        if (reply.kind !== "send") return;
        const op = this.record!.pending!;
        const outcome = await sendOperation(this.env, this.record!, op);
        this.apply({ type: "outcome", operationId: op.id, outcome });
        if (this.record && this.record.pending?.id !== op.id) this.keys.finish(op.id, this.result({ kind: "session", status: 200 }));
        await this.syncIndex();
      })
      .catch((error: unknown) => log.error("spark re-send failed", { sessionId: this.record?.id, error: String(error) }))
      .finally(() => (this.resending = false));
  }

  /** Sends the OCPI command that is due (START_SESSION, STOP_SESSION), behind any call already queued. */
  private ocpiSending = false;
  private startOcpi(): void {
    const due = ocpiAction(this.record, Date.now());
    if (due === null || this.ocpiSending) return;
    this.ocpiSending = true;
    void this.spark
      .run(() => this.sendOcpi(due))
      .catch((error: unknown) => log.error("ocpi command failed", { sessionId: this.record?.id, error: String(error) }))
      .finally(() => {
        this.ocpiSending = false;
        // Another command became due meanwhile (a stop waiting for the start's Session): go on.
        if (ocpiAction(this.record, Date.now()) !== null) this.wake();
      });
  }

  /** Mints what the command needs, records it on the session, sends it, and records the CPO's answer. */
  private async sendOcpi(kind: "START_SESSION" | "STOP_SESSION"): Promise<void> {
    const record = this.record;
    if (!record?.ocpi || !record.ocpiRun || ocpiAction(record, Date.now()) !== kind) return;
    const view = record.ocpi;
    const start = kind === "START_SESSION";
    const tokenUid = start ? (view.tokenUid ?? (await mintTokenUid(this.env, record.tenantId, record.id))) : null;
    const to = start ? (view.countryCode && view.partyId ? { countryCode: view.countryCode, partyId: view.partyId } : null) : record.ocpiRun.sessionParty;
    const prepared = await prepareCommand(this.env, record.tenantId, { kind, version: view.version, gatewaySessionId: record.id, to });
    if (this.apply({ type: "ocpi_sending", kind, commandId: prepared.commandId, tokenUid }).kind !== "send") return;
    const body = start
      ? buildStartSessionBody(this.env, { version: view.version, responseUrl: prepared.responseUrl, tokenUid: tokenUid!, mapping: view, gatewaySessionId: record.id })
      : buildStopSessionBody({ version: view.version, responseUrl: prepared.responseUrl, sessionId: view.sessionId! });
    const correlationId = start ? undefined : (record.ocpiRun.correlationId ?? undefined);
    const answer = await sendCommand(this.env, record.tenantId, { kind, body, to, ...(correlationId ? { correlationId } : {}) });
    this.apply({ type: "ocpi_answer", kind, commandId: prepared.commandId, answer });
  }

  private dispatcher(): Dispatcher {
    this.dispatch ??= new Dispatcher(
      this.ctx.storage.sql,
      this.db,
      sealerFor(this.env.ENCRYPTION_KEY),
      parseRetrySchedule(this.env.WEBHOOK_RETRY_SCHEDULE),
      (queries) => queries.forEach((query) => this.outbox.add(query)),
      this.fresh,
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
}

/** What the machine index should say of this session, or null when it has nothing to say (never authorized). */
function indexEntryOf(record: SessionRecord | null, version: number): IndexEntry | null {
  if (!record || record.machineId === null || record.nayaxTransactionId === null) return null;
  return {
    sessionId: record.id,
    machineId: record.machineId,
    nayaxTransactionId: record.nayaxTransactionId,
    cardHash: record.card?.hash?.toLowerCase() ?? null,
    serviceStationNumber: record.serviceStationNumber,
    open: OPEN_STATUSES.includes(record.status),
    authorizedAt: record.authorizedAt ? Date.parse(record.authorizedAt) : Date.parse(record.createdAt),
    version,
  };
}

/** A record stored by an earlier version, with the fields added since at their defaults. */
function normalized(stored: SessionRecord): SessionRecord {
  return { ...blankRecord(stored.tenantId, stored.id, stored.flow, Date.parse(stored.createdAt)), ...stored };
}
