/**
 * Harness of the resilience suite: a REALLY running gateway (`tsx scripts/start.ts` as a child
 * process, with its Spark simulator and demo tenant) in a fresh temporary STATE_DIR on a free
 * port, a loopback webhook receiver the test controls, and the checks every case shares.
 *
 * Everything here is black-box: HTTP to the gateway, to the simulator's `/_sim/*` control API and
 * from the gateway to the receiver. Every wait is bounded, and every child process group is killed
 * when the test file ends (afterAll) or, as a last resort, when the test process exits.
 *
 * JSON bodies are written by hand (money as literals like `30.00`), so neither this file nor the
 * tests need Node's `--harmony-json-parse-with-source`.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, connect } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { readAnswer } from "../scripts/demo-common";
import type { Answer } from "../scripts/demo-common";
import { readDemoTenant } from "../scripts/demo-tenant";
import type { DemoTenant } from "../scripts/demo-tenant";

export const REPO_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const DEMO_SITE_ID = 9000;
/** The card every session of the suite is authorized with (and stopped with). */
export const CARD_HASH = "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6";
const HW_SERIAL = "0434334921100366";

/** Longest wait for `npm start` to be ready (migrations, wrangler dev, simulator, demo tenant). */
const STARTUP_TIMEOUT_MS = 120_000;
/** Longest wait for a stopped gateway's process group to disappear after SIGTERM, before SIGKILL. */
const STOP_GRACE_MS = 10_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown from a `waitUntil` check to stop waiting at once. */
export class FatalWait extends Error {}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs` with `describe()`. */
export async function waitUntil<T>(what: string, timeoutMs: number, check: () => T | undefined | Promise<T | undefined>, describe?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      lastError = null;
    } catch (error) {
      if (error instanceof FatalWait) throw new Error(`${error.message}${describe ? `\n${describe()}` : ""}`);
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = [describe?.(), lastError ? `last error: ${String(lastError)}` : ""].filter(Boolean).join("\n");
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `\n${detail}` : ""}`);
    }
    await sleep(100);
  }
}

// ------------------------------------------------------------------ ports

function canBind(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createNetServer();
    server.once("error", () => done(false));
    server.listen(port, "127.0.0.1", () => server.close(() => done(true)));
  });
}

/** Whether something accepts connections on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const finish = (result: boolean) => {
      socket.destroy();
      done(result);
    };
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
    socket.setTimeout(1000, () => finish(false));
  });
}

/**
 * A port P such that P (gateway), P+3 (Spark simulator), P+4 (CPO simulator) and P+10000 (wrangler's
 * inspector) are all free. All four stay below Linux's ephemeral range (32768 up): a port in it
 * can be taken by any outgoing connection between this check and the bind (it happened in CI).
 */
export async function freeGatewayPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 21_000 + Math.floor(Math.random() * 1_700);
    if ((await canBind(port)) && (await canBind(port + 3)) && (await canBind(port + 4)) && (await canBind(port + 10_000))) return port;
  }
  throw new Error("no free set of ports found");
}

// ------------------------------------------------------------------ the gateway

/** An HTTP answer, read to the end. */
export type HttpAnswer = Answer;

const liveGroups = new Set<number>();
const liveRoots = new Set<string>();

/** Last resort (a crashed worker, an interrupted run): never leave a gateway, or its folder, behind. */
function killLiveGroups(): void {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
  if (process.env.RESILIENCE_KEEP !== "1") for (const root of liveRoots) rmSync(root, { recursive: true, force: true });
  liveRoots.clear();
}
process.once("exit", killLiveGroups);
// The gateways run in process groups of their own, so a Ctrl-C reaches this process but not them.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killLiveGroups();
    process.kill(process.pid, signal);
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface GatewayOptions {
  /** Extra environment for `npm start`: WEBHOOK_RETRY_SCHEDULE, SPARK_TIMEOUT_MS, … */
  env?: Record<string, string>;
}

/**
 * `tsx scripts/start.ts` in its own process group, all state in a fresh temporary folder. `stop()`
 * and `start()` again keep the folder and the port (a restart); `dispose()` kills it and removes
 * the folder (set RESILIENCE_KEEP=1 to keep it, with `gateway.log`, for a post-mortem).
 */
export class Gateway {
  readonly root: string;
  readonly stateDir: string;
  readonly logFile: string;
  port = 0;
  tenant!: DemoTenant;
  private child: ChildProcess | null = null;
  private starts = 0;

  private constructor(private readonly options: GatewayOptions) {
    this.root = mkdtempSync(join(tmpdir(), "spark-resilience-"));
    this.stateDir = join(this.root, "state");
    this.logFile = join(this.root, "gateway.log");
    mkdirSync(this.stateDir, { recursive: true });
    liveRoots.add(this.root);
  }

  static async launch(options: GatewayOptions = {}): Promise<Gateway> {
    const gateway = new Gateway(options);
    try {
      gateway.port = await freeGatewayPort();
      await gateway.start();
      return gateway;
    } catch (error) {
      await gateway.dispose();
      throw error;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get simPort(): number {
    return this.port + 3;
  }
  get simUrl(): string {
    return `http://127.0.0.1:${this.simPort}`;
  }
  get cpoSimPort(): number {
    return this.port + 4;
  }
  get cpoSimUrl(): string {
    return `http://127.0.0.1:${this.cpoSimPort}`;
  }
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts (or restarts, on the same STATE_DIR and port) and waits until the demo tenant is seeded. */
  async start(): Promise<void> {
    if (this.running) throw new Error("gateway already running");
    this.starts += 1;
    const readyLine = `spark-gateway listening on ${this.url}`;
    const readyBefore = this.countInLog(readyLine);
    const log = openSync(this.logFile, "a");
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: String(this.port),
      SIM_PORT: String(this.simPort),
      CPO_SIM_PORT: String(this.cpoSimPort),
      STATE_DIR: this.stateDir,
      DEMO_TENANT: "1",
      WRANGLER_SEND_METRICS: "false",
      ...this.options.env,
    };
    for (const name of Object.keys(env)) if (name.startsWith("VITEST") || name === "NODE_OPTIONS") delete env[name];
    const child = spawn(join(REPO_ROOT, "node_modules/.bin/tsx"), ["scripts/start.ts"], {
      cwd: REPO_ROOT,
      detached: true, // its own process group: stop() signals wrangler, workerd and the simulator too
      stdio: ["ignore", log, log],
      env,
    });
    closeSync(log);
    this.child = child;
    if (child.pid === undefined) throw new Error("could not spawn scripts/start.ts");
    liveGroups.add(child.pid);
    await waitUntil(
      `the gateway on ${this.url} (start #${this.starts})`,
      STARTUP_TIMEOUT_MS,
      async () => {
        if (!this.running) throw new FatalWait(`scripts/start.ts exited with ${child.exitCode ?? child.signalCode}`);
        if (this.countInLog(readyLine) <= readyBefore) return undefined;
        const sim = await fetch(`${this.simUrl}/_sim/health`).catch(() => null);
        return sim?.ok ? true : undefined;
      },
      () => this.logTail(),
    );
    this.tenant = readDemoTenant(this.stateDir);
  }

  /** SIGTERM to the whole process group; SIGKILL after a grace period; then waits for the ports to be free. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    const pgid = child.pid;
    if (groupAlive(pgid)) {
      try {
        process.kill(-pgid, signal);
      } catch {
        // gone meanwhile
      }
      const deadline = Date.now() + STOP_GRACE_MS;
      while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
      if (groupAlive(pgid)) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
        const hard = Date.now() + 5_000;
        while (groupAlive(pgid) && Date.now() < hard) await sleep(100);
      }
    }
    liveGroups.delete(pgid);
    this.child = null;
    await waitUntil("the gateway's ports to close", 10_000, async () =>
      !(await isListening(this.port)) && !(await isListening(this.simPort)) && !(await isListening(this.cpoSimPort)) ? true : undefined,
    );
  }

  /** Kills the gateway and removes its folder, unless `keep` (or RESILIENCE_KEEP=1) asks to leave it for a post-mortem. */
  async dispose(keep = process.env.RESILIENCE_KEEP === "1"): Promise<void> {
    try {
      await this.stop();
    } finally {
      liveRoots.delete(this.root);
      if (keep) console.log(`resilience: state and log kept in ${this.root}`);
      else rmSync(this.root, { recursive: true, force: true });
    }
  }

  private countInLog(line: string): number {
    if (!existsSync(this.logFile)) return 0;
    return readFileSync(this.logFile, "utf8").split(line).length - 1;
  }

  logTail(lines = 40): string {
    if (!existsSync(this.logFile)) return "(no log)";
    return `--- ${this.logFile} (tail) ---\n${readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n")}`;
  }

  // ---------------------------------------------------------------- HTTP

  private async request(url: string, init: RequestInit): Promise<HttpAnswer> {
    return readAnswer(await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) }));
  }

  /** The tenant API, as the demo tenant. */
  api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return this.request(`${this.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.tenant.apiKey}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** A Spark callback with the demo tenant's X-Spark-Secret; `body` is the exact JSON text. */
  spark(method: string, body: string): Promise<HttpAnswer> {
    return this.request(`${this.url}/spark/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Spark-Secret": this.tenant.sparkCallbackSecret },
      body,
    });
  }

  /** The simulator's control API. */
  sim(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    return this.request(`${this.simUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** Registers `receiver` as a webhook endpoint of the demo tenant and hands it the signing secret. */
  async addEndpoint(receiver: Receiver): Promise<string> {
    const created = await this.api("POST", "/v1/webhook-endpoints", { url: receiver.url });
    expect(created.status, created.text).toBe(201);
    receiver.setSecret(created.json.secret as string);
    return created.json.id as string;
  }

  /** The session and its timeline (GET /v1/sessions/{id}), which must exist. */
  async session(id: string): Promise<SessionWithEvents> {
    const res = await this.api("GET", `/v1/sessions/${id}`);
    expect(res.status, res.text).toBe(200);
    return res.json as SessionWithEvents;
  }

  /** Every request the simulator received for `method` about this session. */
  async simRequests(method: string, sessionId: string): Promise<Array<{ method: string; bodyText: string }>> {
    const res = await this.sim("GET", "/_sim/requests");
    expect(res.status).toBe(200);
    return (res.json as Array<{ method: string; bodyText: string }>).filter((r) => {
      if (r.method !== method) return false;
      try {
        return String((JSON.parse(r.bodyText) as { SparkTransactionId?: string }).SparkTransactionId).toLowerCase() === sessionId;
      } catch {
        return false;
      }
    });
  }
}

/** What a test file works with: its own gateway and a receiver registered as the tenant's endpoint. */
export interface Harness {
  gw: Gateway;
  receiver: Receiver;
}

/**
 * Registers the file's hooks: a fresh gateway (own STATE_DIR, own port) and a receiver before the
 * tests, everything killed and removed after them. When a test failed, the gateway's log tail is
 * printed and its folder kept.
 */
export function useGateway(options: GatewayOptions = {}): Harness {
  const harness = { receiver: new Receiver() } as Harness;
  let failed = false;
  beforeAll(async () => {
    await harness.receiver.listen();
    harness.gw = await Gateway.launch(options);
    await harness.gw.addEndpoint(harness.receiver);
  });
  beforeEach(({ task, onTestFailed }) => {
    // An `it.fails` (a known bug) is expected to fail: that is no reason to keep the logs.
    if (task.fails) return;
    onTestFailed(() => {
      failed = true;
    });
  });
  afterAll(async () => {
    try {
      if (failed && harness.gw) console.error(harness.gw.logTail(80));
      await harness.gw?.dispose(failed || process.env.RESILIENCE_KEEP === "1");
    } finally {
      await harness.receiver.close();
    }
  });
  return harness;
}

// ------------------------------------------------------------------ the demo

/** What a demo run printed and how it ended. */
export interface DemoRun {
  /** The exit code; null when it was killed at the deadline. */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `npm run demo -- …args` (the same command line: node with JSON source-text access, tsx)
 * against the gateway's STATE_DIR, to its end or to `timeoutMs`, when it is killed.
 */
export function runDemo(gw: Gateway, args: string[], timeoutMs: number): Promise<DemoRun> {
  const env: Record<string, string | undefined> = { ...process.env, STATE_DIR: gw.stateDir };
  for (const name of Object.keys(env)) if (name.startsWith("VITEST") || name === "NODE_OPTIONS") delete env[name];
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--harmony-json-parse-with-source", "--import", "tsx", "scripts/demo.ts", ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

// ------------------------------------------------------------------ sessions

export interface EventBody {
  id: string;
  type: string;
  timestamp: string;
  data: { sequence: number; session: { id: string; status: string } & Record<string, unknown> };
}

export interface SessionWithEvents {
  id: string;
  status: string;
  settledAmount: string | null;
  events: Array<EventBody & { deliveries?: unknown }>;
  [key: string]: unknown;
}

/** The session as stored, without its events' delivery status, which moves on as webhooks are delivered (§11). */
export function withoutDeliveries(session: SessionWithEvents): SessionWithEvents {
  return { ...session, events: session.events.map(({ deliveries: _deliveries, ...event }) => event) };
}

/** One Device Start session as Spark would play it. */
export interface SessionSpec {
  id: string;
  nayaxId: number;
  machineId: number;
  amount: string;
}

let counter = 0;
const runBase = Math.floor(Math.random() * 1_000_000) * 1_000;

export function newSession(amount = "30.00"): SessionSpec {
  counter += 1;
  return {
    id: crypto.randomUUID(),
    nayaxId: 3_000_000_000 + runBase + counter,
    machineId: 73_000_000 + (runBase % 1_000_000) + counter,
    amount,
  };
}

/** TransactionNotify, hand-written: `Amount` is a JSON number literal like `30.00`. */
export function notifyBody(s: SessionSpec): string {
  return `{"HwSerial":"${HW_SERIAL}","MachineId":${s.machineId},"NayaxTransactionId":${s.nayaxId},"SparkTransactionId":"${s.id}","Amount":${s.amount},"CardLast4Digits":"1234","CardHash":"${CARD_HASH}","CardUid":"1288528281124927","ServiceStationNumber":"1","SiteId":${DEMO_SITE_ID},"MachineAuTime":"20240205194122328"}`;
}

/** StopCallback naming the session, with the session's card. */
export function stopBody(s: SessionSpec): string {
  return `{"StopSiteId":${DEMO_SITE_ID},"MachineId":${s.machineId},"HwSerial":"${HW_SERIAL}","CardLast4Digits":"1234","CardHash":"${CARD_HASH}","SparkTransactionId":"${s.id}","NayaxTransactionId":${s.nayaxId},"CardUid":null,"MachineAuTime":"20240205194122328","ServiceStationNumber":"1"}`;
}

/** Spark authorizes the card (the simulator learns it, for Settlement later) and the gateway approves it. */
export async function authorize(gw: Gateway, s: SessionSpec): Promise<void> {
  const registered = await gw.sim("POST", "/_sim/authorizations", { nayaxTransactionId: s.nayaxId, sparkTransactionId: s.id, siteId: DEMO_SITE_ID, amount: s.amount });
  expect(registered.status, registered.text).toBe(201);
  const answer = await gw.spark("TransactionNotify", notifyBody(s));
  expect(answer.status, answer.text).toBe(200);
  expect(answer.json.Status.Verdict).toBe("Approved");
}

export async function stop(gw: Gateway, s: SessionSpec): Promise<HttpAnswer> {
  return gw.spark("StopCallback", stopBody(s));
}

export function settle(gw: Gateway, id: string, amount: string): Promise<HttpAnswer> {
  return gw.api("POST", `/v1/sessions/${id}/settle`, { amount });
}

/**
 * The session's timeline is exactly `types`, numbered 1..n without gaps, every event about this
 * session; the session's status is `status`. Returns the session.
 */
export async function expectTimeline(gw: Gateway, id: string, status: string, types: string[]): Promise<SessionWithEvents> {
  const session = await gw.session(id);
  expect(session.id).toBe(id);
  expect(session.status).toBe(status);
  expect(session.events.map((e) => e.type)).toEqual(types);
  expect(session.events.map((e) => e.data.sequence)).toEqual(types.map((_, i) => i + 1));
  expect(new Set(session.events.map((e) => e.id)).size).toBe(types.length);
  for (const event of session.events) expect(event.data.session.id).toBe(id);
  return session;
}

// ------------------------------------------------------------------ the webhook receiver

export interface Delivery {
  webhookId: string;
  verified: boolean;
  /** What the receiver answered (0 when it dropped the connection). */
  answered: number;
  at: number;
  event: EventBody | null;
}

type Mode = "ok" | "fail" | "hang";

/**
 * A tenant's webhook receiver on loopback. `ok` answers 204 to every correctly signed event;
 * `fail` answers 503; `hang` reads the request and never answers (recorded as answered 0);
 * `close()` stops listening (connection refused) and `reopen()` listens again on the same port.
 * Every request is recorded, in arrival order.
 */
export class Receiver {
  readonly deliveries: Delivery[] = [];
  mode: Mode = "ok";
  port = 0;
  private server: Server | null = null;
  private verifier: Webhook | null = null;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  setSecret(secret: string): void {
    this.verifier = new Webhook(secret);
  }

  async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(port, "127.0.0.1", () => done());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops listening and drops every open connection: the gateway gets "connection refused". */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  }

  reopen(): Promise<void> {
    return this.listen(this.port);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const webhookId = String(req.headers["webhook-id"] ?? "");
      let verified = false;
      let event: EventBody | null = null;
      try {
        event = this.verifier!.verify(text, req.headers as Record<string, string>) as EventBody;
        verified = true;
      } catch {
        verified = false;
      }
      if (verified && this.mode === "hang") {
        this.deliveries.push({ webhookId, verified, answered: 0, at: Date.now(), event });
        return;
      }
      const answered = !verified ? 400 : this.mode === "ok" ? 204 : 503;
      this.deliveries.push({ webhookId, verified, answered, at: Date.now(), event });
      res.writeHead(answered, answered === 503 ? { "Content-Type": "text/plain" } : {}).end(answered === 503 ? "down for maintenance" : undefined);
    });
  }

  /** Deliveries of this session's events, in arrival order (every attempt, accepted or not). */
  attemptsFor(sessionId: string): Delivery[] {
    return this.deliveries.filter((d) => d.event?.data?.session?.id === sessionId);
  }

  /** The session's events the receiver accepted, once per webhook-id, in order of first acceptance. */
  acceptedFor(sessionId: string): EventBody[] {
    const seen = new Set<string>();
    const out: EventBody[] = [];
    for (const d of this.attemptsFor(sessionId)) {
      if (d.answered !== 204 || seen.has(d.webhookId)) continue;
      seen.add(d.webhookId);
      out.push(d.event!);
    }
    return out;
  }

  /** Waits until the receiver accepted at least `count` distinct events of the session. */
  async waitForAccepted(sessionId: string, count: number, timeoutMs = 30_000): Promise<EventBody[]> {
    return waitUntil(
      `${count} webhook(s) of session ${sessionId}`,
      timeoutMs,
      () => {
        const accepted = this.acceptedFor(sessionId);
        return accepted.length >= count ? accepted : undefined;
      },
      () => `accepted so far: ${JSON.stringify(this.acceptedFor(sessionId).map((e) => `${e.data.sequence}:${e.type}`))}; attempts: ${this.attemptsFor(sessionId).length}`,
    );
  }

  /**
   * What the receiver got for this session is exactly the session's timeline: every event, once
   * per webhook-id, in sequence order 1..n, bodies identical, all signatures valid.
   */
  async expectDelivered(gw: Gateway, sessionId: string, timeoutMs = 30_000): Promise<void> {
    const session = await gw.session(sessionId);
    const accepted = await this.waitForAccepted(sessionId, session.events.length, timeoutMs);
    expect(accepted.map((e) => e.data.sequence)).toEqual(session.events.map((_, i) => i + 1));
    expect(accepted.map((e) => e.id)).toEqual(session.events.map((e) => e.id));
    // The API adds each event's delivery status (§11); the webhook body is the event without it.
    expect(accepted).toEqual(session.events.map(({ deliveries: _deliveries, ...event }) => event));
    for (const d of this.attemptsFor(sessionId)) {
      expect(d.verified).toBe(true);
      expect(d.webhookId).toBe(d.event!.id);
    }
    // At least once, never out of order: no attempt of event n+1 before event n was accepted.
    const firstAccepted = new Map<number, number>();
    this.attemptsFor(sessionId).forEach((d, i) => {
      if (d.answered === 204 && !firstAccepted.has(d.event!.data.sequence)) firstAccepted.set(d.event!.data.sequence, i);
    });
    this.attemptsFor(sessionId).forEach((d, i) => {
      const seq = d.event!.data.sequence;
      if (seq > 1) expect(firstAccepted.get(seq - 1), `event ${seq} of ${sessionId} was sent before event ${seq - 1} was delivered`).toBeLessThan(i);
    });
  }

  /** No signature failed anywhere. */
  expectAllVerified(): void {
    expect(this.deliveries.filter((d) => !d.verified)).toEqual([]);
  }
}
