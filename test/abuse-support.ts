/**
 * Tools of the abuse suites (`test/abuse-*.test.ts`): fast-check arbitraries that turn a valid
 * request body into hostile ones (fields removed, replaced by wrong types, huge or odd strings,
 * numbers at the edges, arbitrary JSON, raw non-JSON text), assertions of the two error shapes,
 * D1 row counts, a console capture for secret scanning, and a fetch stub that keeps every
 * outbound request inside the test.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, expect, vi } from "vitest";
import * as drive from "../sim/drive";
import worker from "../src/index";
import type { InboundMethod } from "../src/spark/messages";
import { ADMIN_TOKEN, flush } from "./helpers";
import type { Onboarded } from "./helpers";
import { SIM_BASE_URL, installSimulator } from "./spark-harness";
import type { SimTenantHandle } from "./spark-harness";
import { freshMachine, freshRandom } from "./support";
import type { SessionBody, SparkAnswer } from "./support";

// ---------------------------------------------------------------- calling the Worker

/**
 * The bindings the abuse suites call the Worker with: the test's own, except that the per-tenant
 * rate limit (300 requests per 10 s, wrangler.toml) never trips. A fuzzing run sends hundreds of
 * requests per tenant in seconds, and a 429 would only hide what the run is after.
 */
const unlimitedEnv: Env = { ...env, TENANT_RATE_LIMITER: { limit: async () => ({ success: true }) } };

/**
 * A `fetch` that reaches the Worker's own handler with the test's bindings (above), as `call` in
 * ./helpers does through `exports.default.fetch`, but without vitest-pool-workers' entrypoint
 * wrapper. That wrapper (0.15.1, `createProxyPrototypeClass`) wraps the class prototype in one
 * more Proxy on every instantiation, so each call through it is slower than the one before: the
 * thousands of requests of these suites would take minutes instead of seconds.
 */
export const directFetch: typeof fetch = async (input, init) =>
  worker.fetch!(new Request(input, init) as Parameters<NonNullable<typeof worker.fetch>>[0], unlimitedEnv, createExecutionContext());

/** Calls the gateway at `path` (`json` is sent as an `application/json` body). */
export function gateway(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("Content-Type", "application/json");
  return directFetch(`http://gateway.test${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
}

/** {@link gateway} with `Authorization: Bearer <token>` (an API key, the admin token, or anything). */
export const bearer = (token: string | null, path: string, init: RequestInit & { json?: unknown } = {}) =>
  gateway(path, { ...init, headers: { ...(token !== null ? { Authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } });

/** {@link gateway} as the operator. */
export const asAdmin = (path: string, init: RequestInit & { json?: unknown } = {}) => bearer(ADMIN_TOKEN, path, init);

// ---------------------------------------------------------------- run sizes

/**
 * Runs per property. Modest on purpose: the machine has two cores and every run is a few
 * requests through the Worker, a Durable Object and D1.
 */
export const RUNS = { spark: 80, api: 40, small: 25 } as const;

// ---------------------------------------------------------------- hostile values

/** Marks a JSON number literal to be written exactly as given (`{"$raw": "1e309"}` → `1e309`). */
export interface RawLiteral {
  $raw: string;
}
export const raw = (text: string): RawLiteral => ({ $raw: text });
const isRaw = (value: unknown): value is RawLiteral =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && typeof (value as RawLiteral).$raw === "string";

/**
 * Number literals at the edges, as JSON source text: signed zero, the float limits and past
 * them (`1e309` parses to Infinity), unsafe integers, 2^31, 2^64, three-decimal amounts,
 * exponent forms and subnormals.
 */
export const EDGE_NUMBERS = [
  "0",
  "-0",
  "-1",
  "1e308",
  "-1e308",
  "1e309",
  "-1e309",
  "5e-324",
  "1e-7",
  "9007199254740991",
  "9007199254740993",
  "2147483647",
  "2147483648",
  "18446744073709551616",
  "123456789012345678901234567890",
  "0.1",
  "1.005",
  "12.345",
  "0.000",
  "10.00",
  "1E2",
  "1.5e1",
  "1e400",
] as const;

/** Strings that look like other types, control and unpaired-surrogate characters, injections. */
export const EDGE_STRINGS = [
  "",
  " ",
  "NaN",
  "Infinity",
  "-Infinity",
  "null",
  "true",
  "-0",
  "1e309",
  "12.345",
  "12,25",
  "0x10",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "\uffff",
  "\u202eevil",
  "😀",
  "é́",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "../../etc/passwd",
  "%00",
  "__proto__",
  "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  "https://user:pw@evil.example/",
  "http://evil.example/",
  "javascript:alert(1)",
] as const;

/** Long strings: under and over the 64 KiB body limit, one- and four-byte characters. */
export const hugeString: fc.Arbitrary<string> = fc
  .record({ char: fc.constantFrom("x", "é", "😀", "\u0000"), length: fc.constantFrom(300, 5_000, 70_000) })
  .map(({ char, length }) => char.repeat(length));

/**
 * A fixed set for systematic sweeps (every field, one value at a time): one of each kind of
 * trouble, from wrong types to NUL and unpaired surrogates to numbers past every limit.
 */
export const SWEEP_VALUES: readonly unknown[] = [
  null,
  true,
  [],
  {},
  "",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "😀".repeat(300),
  "x".repeat(5_000),
  raw("-0"),
  raw("-1"),
  raw("1e308"),
  raw("1e309"),
  raw("9007199254740993"),
  raw("18446744073709551616"),
  raw("12.345"),
  raw("0.1"),
  raw("1E2"),
];

/** One hostile value for a field. */
export const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}, [null], { $ref: "#" }), weight: 3 },
  { arbitrary: fc.constantFrom(...EDGE_NUMBERS).map(raw), weight: 4 },
  { arbitrary: fc.constantFrom(...EDGE_STRINGS), weight: 4 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 24 }), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 16 }), weight: 1 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: fc.integer(), weight: 2 },
  { arbitrary: fc.double(), weight: 2 },
  { arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((n) => raw(n.toString())), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 2 },
);

/** Names of extra fields: harmless, prototype-polluting, and case twins of real ones. */
const extraKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "amount", "AMOUNT", "siteid", "Extra", ""),
  fc.string({ maxLength: 12 }),
);

// ---------------------------------------------------------------- body plans

/** One change to a valid body; `at` picks a field path (modulo the number of paths). */
export type Op = { op: "remove"; at: number } | { op: "replace"; at: number; value: unknown } | { op: "add"; key: string; value: unknown };

/**
 * How to build a hostile body from a valid seed. Plans do not hold the seed, so one plan
 * arbitrary serves every route and the seed can depend on state made in `beforeAll`.
 */
export type BodyPlan =
  | { kind: "mutate"; ops: Op[] }
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string }
  | { kind: "truncate"; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("remove" as const), at: fc.nat(999) }),
  fc.record({ op: fc.constant("replace" as const), at: fc.nat(999), value: edgeValue }),
  fc.record({ op: fc.constant("add" as const), key: extraKey, value: edgeValue }),
);

/** Text that is not JSON, or is JSON of the wrong kind, as a client might send it. */
export const NOT_JSON = [
  "",
  " ",
  "{",
  "}",
  "[1,2",
  '{"a":',
  '{"a":1}}',
  "{'a': 1}",
  "{a: 1}",
  "NaN",
  '{"Amount": NaN}',
  '{"Amount": Infinity}',
  '{"Amount": 01}',
  '{"Amount": .5}',
  '{"Amount": 1.}',
  '{"Amount": +1}',
  '{"MachineId": 1e}',
  "undefined",
  "<xml/>",
  "\u0000",
  "\ufeff{}",
  "null",
  "true",
  "0",
  '"a string"',
  "[]",
  "[{}]",
  '{"__proto__": {"polluted": true}}',
] as const;

/** A hostile body plan: mostly a mutated seed, sometimes arbitrary JSON or raw text. */
export const bodyPlan: fc.Arbitrary<BodyPlan> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("mutate" as const), ops: fc.array(op, { minLength: 1, maxLength: 3 }) }), weight: 12 },
  { arbitrary: fc.record({ kind: fc.constant("json" as const), value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), edgeValue) }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant("text" as const), text: fc.oneof(fc.constantFrom(...NOT_JSON), fc.string({ unit: "binary", maxLength: 40 })) }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(400) }), weight: 2 },
);

type Path = Array<string | number>;

/** Every field path of a body, nested objects and arrays included (the root excluded). */
export function paths(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== "object" || value === null || isRaw(value)) return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...paths(child, [...prefix, key])]);
}

const isRawJson = (JSON as unknown as { isRawJSON(value: unknown): boolean }).isRawJSON;

/**
 * A deep copy of a seed in which `JSON.rawJSON` literals (the sim/drive.ts builders write
 * amounts that way) become {@link RawLiteral}s, which survive copying and printing.
 */
export function clone<T>(value: T): T {
  if (isRawJson(value)) return raw((value as unknown as { rawJSON: string }).rawJSON) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      Object.defineProperty(copy, key, { value: clone(child), enumerable: true, configurable: true, writable: true });
    }
    return copy as T;
  }
  return value;
}

function setAt(root: Record<string, unknown>, path: Path, change: { value: unknown } | "remove"): void {
  let parent: Record<string | number, unknown> = root;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (change === "remove") {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    parent[last] = change.value;
  }
}

/** Serializes a body, writing {@link RawLiteral}s as exact number literals. */
export function toText(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (isRaw(v) ? JSON.rawJSON(v.$raw) : v));
  // JSON.stringify answers undefined for a bare undefined; send an empty body then.
  return text ?? "";
}

/** The body a plan makes of `seed`, as the text to send. */
export function applyPlan(seed: Record<string, unknown>, plan: BodyPlan): string {
  switch (plan.kind) {
    case "json":
      return toText(plan.value);
    case "text":
      return plan.text;
    case "truncate": {
      const text = toText(clone(seed));
      return text.slice(0, plan.at % Math.max(text.length, 1));
    }
    case "mutate": {
      const body = clone(seed);
      for (const change of plan.ops) {
        if (change.op === "add") {
          // defineProperty: a plain assignment to "__proto__" would set the prototype, not a field.
          Object.defineProperty(body, change.key, { value: clone(change.value), enumerable: true, configurable: true, writable: true });
          continue;
        }
        const all = paths(body);
        if (all.length === 0) continue;
        const path = all[change.at % all.length]!;
        // Values are copied in: arbitraries hand out shared constants, and a later op may change what it holds.
        setAt(body, path, change.op === "remove" ? "remove" : { value: clone(change.value) });
      }
      return toText(body);
    }
  }
}

/** Content-Types a client may (wrongly) send with a JSON body. */
export const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", null);

// ---------------------------------------------------------------- answers

export interface Answer<T = unknown> {
  status: number;
  text: string;
  body: T;
  res: Response;
}

/** Reads an answer; `body` is the parsed JSON, or undefined when it is not JSON. */
export async function read<T = unknown>(res: Response): Promise<Answer<T>> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, text, body: body as T, res };
}

const describe = (what: string, answer: Answer) => `${what}: ${answer.status} ${answer.text.slice(0, 500)}`;

/**
 * A Spark callback's answer: never 5xx; JSON; a refusal is exactly
 * `{"Status":{"Verdict":"Declined","ErrorDescription":"…"}}`, an answer carries a Verdict.
 */
export function expectSparkAnswer(answer: Answer, what: string): void {
  expect(answer.status, describe(what, answer)).toBeLessThan(500);
  expect(answer.res.headers.get("Content-Type") ?? "", describe(what, answer)).toContain("application/json");
  const body = answer.body as { Status?: { Verdict?: unknown; ErrorDescription?: unknown } } | undefined;
  expect(body, describe(what, answer)).toBeTypeOf("object");
  if (answer.status === 200) {
    expect(["Approved", "Declined"], describe(what, answer)).toContain(body?.Status?.Verdict);
    return;
  }
  expect(Object.keys(body ?? {}), describe(what, answer)).toEqual(["Status"]);
  expect(body?.Status?.Verdict, describe(what, answer)).toBe("Declined");
  expect(body?.Status?.ErrorDescription, describe(what, answer)).toBeTypeOf("string");
  expect((body?.Status?.ErrorDescription as string).length, describe(what, answer)).toBeGreaterThan(0);
}

/** A tenant or operator API answer: never 5xx, `X-Request-Id`, and errors as `{error:{code,message,details}}`. */
export function expectApiAnswer(answer: Answer, what: string): void {
  expect(answer.status, describe(what, answer)).toBeLessThan(500);
  expect(answer.res.headers.get("X-Request-Id"), describe(what, answer)).toBeTruthy();
  if (answer.status < 400) return;
  const error = (answer.body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  expect(error, describe(what, answer)).toBeTypeOf("object");
  expect(error?.code, describe(what, answer)).toBeTypeOf("string");
  expect(error?.message, describe(what, answer)).toBeTypeOf("string");
  expect(Array.isArray(error?.details), describe(what, answer)).toBe(true);
  for (const detail of error!.details as Array<{ field?: unknown; message?: unknown }>) {
    expect(detail.field, describe(what, answer)).toBeTypeOf("string");
    expect(detail.message, describe(what, answer)).toBeTypeOf("string");
  }
}

// ---------------------------------------------------------------- storage

export const TABLES = [
  "tenants",
  "credentials",
  "site_claims",
  "machine_claims",
  "stations",
  "sessions",
  "session_events",
  "webhook_endpoints",
  "deliveries",
  "delivery_attempts",
] as const;
export type Table = (typeof TABLES)[number];

/** Row counts of D1 tables, in one query. */
export async function counts(tables: readonly Table[] = TABLES): Promise<Record<Table, number>> {
  const select = tables.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(", ");
  const row = await env.DB.prepare(`SELECT ${select}`).first<Record<Table, number>>();
  return row!;
}

/** Every row of a table as one JSON text (for "nothing changed", updates in place included). */
export async function tableDigest(table: Table): Promise<string> {
  const { results } = await env.DB.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
  return JSON.stringify(results);
}

// ---------------------------------------------------------------- console

/** Every line written to the console while capturing, joined as one string per call. */
export interface ConsoleCapture {
  lines: string[];
  restore(): void;
}

function stringify(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message}\n${arg.stack ?? ""}`;
  try {
    return JSON.stringify(arg) ?? String(arg);
  } catch {
    return String(arg);
  }
}

/** Spies on console.log/info/warn/error/debug, recording every line (and passing nothing through). */
export function captureConsole(): ConsoleCapture {
  const lines: string[] = [];
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((name) =>
    vi.spyOn(console, name).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(stringify).join(" "));
    }),
  );
  return { lines, restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

/**
 * Captures the console for the whole file (fuzzing logs a line per request; printing them all
 * would only slow the run) so the file can check at its end that no secret reached a log line.
 */
export function quietConsole(): ConsoleCapture {
  const capture: ConsoleCapture = { lines: [], restore: () => undefined };
  beforeAll(() => {
    const live = captureConsole();
    capture.lines = live.lines;
    capture.restore = live.restore;
  });
  afterAll(() => capture.restore());
  return capture;
}

/** The secrets of a tenant that must never be logged or answered after creation. */
export function secretsOf(tenant: Onboarded & { spark?: { secretToken?: string; signKey?: string; tokenId?: number } }): string[] {
  return [tenant.apiKey, tenant.sparkCallbackSecret, tenant.webhookEndpoint?.secret, tenant.spark?.secretToken, tenant.spark?.signKey].filter(
    (s): s is string => typeof s === "string" && s.length > 0,
  );
}

/** The operator's secrets as the tests configure them (vitest.config.ts). */
export const operatorSecrets = (): string[] => [env.ADMIN_TOKEN, env.ENCRYPTION_KEY].filter((s): s is string => typeof s === "string" && s.length > 0);

/** Asserts that none of `secrets` (nor the key part of a `whsec_` secret) occurs in `texts`. */
export function expectNoSecrets(texts: readonly string[], secrets: readonly string[], where: string): void {
  const needles = secrets.flatMap((s) => (s.startsWith("whsec_") ? [s, s.slice("whsec_".length)] : [s]));
  for (const text of texts) {
    for (const needle of needles) {
      if (text.includes(needle)) expect.fail(`${where}: a secret (${needle.slice(0, 6)}…) appears in: ${text.slice(0, 400)}`);
    }
  }
}

// ---------------------------------------------------------------- outbound fetch

/**
 * The Spark simulator behind fetch (see ./spark-harness), with every other outbound request
 * (webhook deliveries to fuzzed URLs) answered 204 here instead of reaching the network.
 * `tenant()` onboards a tenant whose Spark account lives in the simulator; its driver plays
 * Spark's callbacks straight into the Worker's handler.
 */
export function installSandbox() {
  const sandbox = installSimulator();
  /** Every request that left for somewhere other than the simulator, as it was sent. */
  const outbound: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  let reply: (request: Request) => Response | Promise<Response> = () => new Response(null, { status: 204 });
  sandbox.spy.mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url.startsWith(SIM_BASE_URL)) return sandbox.simulator.handle(request);
    outbound.push({ url: request.url, headers: Object.fromEntries(request.headers), body: await request.clone().text() });
    return reply(request);
  });
  async function tenant(overrides: Record<string, unknown> = {}): Promise<SimTenantHandle> {
    const created = await sandbox.tenant(overrides);
    const driver = new drive.SparkDriver({ gatewayUrl: "http://gateway.test", callbackSecret: created.sparkCallbackSecret, fetcher: directFetch, simulator: sandbox.simulator });
    return { ...created, driver };
  }
  /** How webhook receivers answer from now on (default: 204). */
  const receivers = (answer: (request: Request) => Response | Promise<Response>) => {
    reply = answer;
  };
  return { ...sandbox, tenant, outbound, receivers };
}

// ---------------------------------------------------------------- Spark callbacks

/** A tenant onboarded by ./helpers `onboard` with sites of its own. */
export type SparkTenant = Onboarded & { siteIds: number[]; spark: { tokenId: number } };

const HW = "0434334921100366";
let nayaxIds = 1_000_000;

/** A session of the tenant that a method's body points at; replaced once a run was accepted (it may have moved on). */
interface Target {
  id: string;
  machine: number;
  card: string;
  nayax: number;
  snapshot: string;
}

type TargetKind = "authorized" | "awaiting" | null;

interface Seeding {
  target: Target | null;
  fresh: string;
  machine: number;
}

interface MethodSpec {
  target: TargetKind;
  /** A valid body aimed at the tenant (and at the target session, when there is one). */
  seed(s: Seeding): Record<string, unknown>;
  /** Whether an accepted call may store something (InfoQuery and AvailabilityCheck never do). */
  stores: boolean;
}

export const SPARK_METHODS: readonly InboundMethod[] = [
  "TransactionNotify",
  "StopCallback",
  "StopNotify",
  "TransactionCallback",
  "DeclineCallback",
  "TimeoutCallback",
  "StartSession",
  "InfoQuery",
  "AvailabilityCheck",
];

const randomCard = () => crypto.randomUUID().replace(/-/g, "").repeat(2);

/**
 * Sends hostile bodies to `/spark/{Method}` as tenant `a` and checks every property of a
 * Spark callback under abuse: never 5xx, always Spark-shaped; a refused body (4xx) stores
 * nothing — the session it names is unchanged (status, timeline, updatedAt as the tenant API
 * reads them from the session object), a fresh SparkTransactionId stays unknown (404) and D1
 * holds no new session or event. Accepted bodies are flushed to D1 so the next run starts level.
 * After an accepted body the next run gets a new target session (variety), or with `keepTargets`
 * the same one in its new state (fewer session objects, for long sweeps).
 */
export function sparkFuzzer(tenant: () => SparkTenant, options: { keepTargets?: boolean } = {}) {
  const targets = new Map<InboundMethod, Target>();
  const machines = new Map<InboundMethod, number>();
  // Per method, a SparkTransactionId no session has. A refused run leaves it unknown, so it is
  // kept for the next run (every id read makes a session object, and objects are not free).
  const freshIds = new Map<InboundMethod, string>();

  async function sparkCall(method: string, body: unknown) {
    const res = await gateway(`/spark/${method}`, {
      method: "POST",
      headers: { "X-Spark-Secret": tenant().sparkCallbackSecret, "Content-Type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as SparkAnswer };
  }

  async function readSession(id: string): Promise<SessionBody | null> {
    const res = await bearer(tenant().apiKey, `/v1/sessions/${id}`);
    if (res.status === 404) return null;
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as SessionBody;
  }

  /** Status, timeline and last update of a session, read from its object through the tenant API. */
  async function snapshot(id: string): Promise<string> {
    const session = await readSession(id);
    expect(session, `session ${id}`).not.toBeNull();
    return JSON.stringify({ status: session!.status, updatedAt: session!.updatedAt, events: session!.events.map((e) => [e.type, e.data.sequence]) });
  }

  async function newTarget(kind: Exclude<TargetKind, null>): Promise<Target> {
    const a = tenant();
    const machine = freshMachine();
    const card = randomCard();
    const nayax = nayaxIds++;
    let id: string;
    if (kind === "authorized") {
      id = crypto.randomUUID();
      const body = drive.transactionNotify({ SiteId: a.siteIds[0], MachineId: machine, CardHash: card, NayaxTransactionId: nayax, SparkTransactionId: id });
      const answer = await sparkCall("TransactionNotify", body);
      expect(answer.body.Status.Verdict, JSON.stringify(answer.body)).toBe("Approved");
    } else {
      const answer = await sparkCall("StartSession", drive.startSession({ MachineId: machine, TokenId: a.spark.tokenId, HwSerial: HW, Random: freshRandom() }));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      id = answer.body.SparkTransactionId as string;
    }
    await flush(id);
    return { id, machine, card, nayax, snapshot: await snapshot(id) };
  }

  const specs: Record<InboundMethod, MethodSpec> = {
    TransactionNotify: {
      target: null,
      stores: true,
      seed: ({ fresh, machine }) =>
        drive.transactionNotify({ SiteId: tenant().siteIds[0], MachineId: machine, NayaxTransactionId: nayaxIds++, SparkTransactionId: fresh, CardHash: randomCard() }),
    },
    StopCallback: {
      target: "authorized",
      stores: true,
      seed: ({ target: t }) =>
        drive.stopCallback({ StopSiteId: tenant().siteIds[1] ?? tenant().siteIds[0], MachineId: t!.machine, CardHash: t!.card, SparkTransactionId: t!.id, NayaxTransactionId: t!.nayax }),
    },
    StopNotify: {
      target: "authorized",
      stores: true,
      seed: ({ target: t }) => drive.stopNotify({ StopSiteId: tenant().siteIds[1] ?? tenant().siteIds[0], MachineId: t!.machine, CardHash: t!.card }),
    },
    TransactionCallback: {
      target: "awaiting",
      stores: true,
      seed: ({ target: t }) => drive.transactionCallback({ SparkTransactionId: t!.id, SiteId: tenant().siteIds[0], MachineId: t!.machine, NayaxTransactionId: nayaxIds++ }),
    },
    DeclineCallback: {
      target: "awaiting",
      stores: true,
      seed: ({ target: t }) => drive.declineCallback({ SparkTransactionId: t!.id, MachineId: t!.machine }),
    },
    TimeoutCallback: {
      target: "authorized",
      stores: true,
      seed: ({ target: t }) => drive.timeoutCallback({ SparkTransactionId: t!.id, MachineId: t!.machine }),
    },
    StartSession: {
      target: null,
      stores: true,
      seed: ({ machine }) => drive.startSession({ MachineId: machine, TokenId: tenant().spark.tokenId }),
    },
    InfoQuery: {
      target: null,
      stores: false,
      seed: ({ fresh, machine }) => drive.infoQuery({ SiteId: tenant().siteIds[0], MachineId: machine, SparkTransactionId: fresh }),
    },
    AvailabilityCheck: {
      target: null,
      stores: false,
      seed: ({ fresh, machine }) => drive.availabilityCheck({ SiteId: tenant().siteIds[0], MachineId: machine, SparkTransactionId: fresh }),
    },
  };

  /** The valid body a method's runs start from (for counting its fields). */
  async function seedOf(method: InboundMethod): Promise<Record<string, unknown>> {
    const spec = specs[method];
    let target = targets.get(method) ?? null;
    if (spec.target && !target) {
      target = await newTarget(spec.target);
      targets.set(method, target);
    }
    if (!machines.has(method)) machines.set(method, freshMachine());
    const fresh = freshIds.get(method) ?? crypto.randomUUID();
    freshIds.set(method, fresh);
    return clone(spec.seed({ target, fresh, machine: machines.get(method)! }));
  }

  /** Sends one hostile body and checks every property; answers the status. */
  async function probe(method: InboundMethod, plan: BodyPlan, type: string | null = "application/json"): Promise<number> {
    const spec = specs[method];
    const seed = await seedOf(method);
    const target = targets.get(method) ?? null;
    const fresh = freshIds.get(method)!;
    const text = applyPlan(seed, plan);
    const before = await counts(["sessions", "session_events"]);

    const headers: Record<string, string> = { "X-Spark-Secret": tenant().sparkCallbackSecret };
    if (type !== null) headers["Content-Type"] = type;
    const answer = await read<{ SparkTransactionId?: unknown }>(await gateway(`/spark/${method}`, { method: "POST", headers, body: text }));
    const what = `${method} ${text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text}`;
    expectSparkAnswer(answer, what);

    if (answer.status === 200) {
      if (!spec.stores) {
        expect(await counts(["sessions", "session_events"]), what).toEqual(before);
        return 200;
      }
      freshIds.delete(method);
      // Accepted: let its writes land in D1 so the next run's "before" is stable, and start the next run on a fresh target.
      const answered = answer.body.SparkTransactionId;
      if (typeof answered === "string" && answered !== "" && answered !== target?.id) await flush(answered);
      if (target) {
        await flush(target.id);
        if (options.keepTargets) target.snapshot = await snapshot(target.id);
        else targets.delete(method);
      }
      return 200;
    }

    // Refused: nothing stored, anywhere.
    expect(await counts(["sessions", "session_events"]), what).toEqual(before);
    expect(await readSession(fresh), what).toBeNull();
    if (target) expect(await snapshot(target.id), what).toBe(target.snapshot);
    return answer.status;
  }

  return { probe, seedOf };
}

// ---------------------------------------------------------------- tenant and operator API bodies

/** A route of the tenant or operator API that takes a JSON body, as the fuzzing sees it. */
export interface BodyRoute {
  method: "POST" | "PATCH" | "PUT";
  /** The path, resolved per run (targets may be replaced). */
  path(): string;
  /** The bearer token: an API key or the admin token. */
  token(): string;
  /** A valid body; accepted as is. */
  seed(): Record<string, unknown>;
  /** What a refused body must leave unchanged (row counts, digests, simulator calls …). */
  state(): Promise<unknown>;
  /** After a 2xx: bring D1 level, replace a consumed target. */
  accepted?(answer: Answer): Promise<void>;
  /** Prepares the run (e.g. makes a target); runs before `state`. */
  prepare?(): Promise<void>;
  /**
   * The handler reads the body text itself whatever its Content-Type (optional bodies:
   * rotations, cancel, redeliver), so a non-empty body that is not a JSON object must be
   * refused under every Content-Type, not only under `application/json`.
   */
  readsText?: boolean;
}

const isJsonType = (type: string | null) => type !== null && /^application\/json\b/i.test(type);

/** Whether `text` is a JSON object (what every body of these APIs is), read as `Request.text()` would: a leading BOM is dropped. */
export function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text.replace(/^\ufeff/, ""));
    return typeof value === "object" && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Sends one hostile body to a route and checks: never 5xx, `X-Request-Id`, errors as
 * `{error:{code,message,details}}`, and for a refused body (4xx) `state()` unchanged.
 * @returns the status.
 */
export async function probeRoute(route: BodyRoute, plan: BodyPlan, type: string | null = "application/json", headers: Record<string, string> = {}): Promise<number> {
  await route.prepare?.();
  const text = applyPlan(route.seed(), plan);
  const path = route.path();
  const before = await route.state();
  const answer = await read(
    await bearer(route.token(), path, { method: route.method, headers: { ...(type !== null ? { "Content-Type": type } : {}), ...headers }, body: text }),
  );
  const what = `${route.method} ${path} [${type}] ${text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text}`;
  expectApiAnswer(answer, what);
  if (answer.status < 300) {
    // Accepting a body that is not a JSON object means it was not validated at all.
    if (text.trim() !== "" && (isJsonType(type) || route.readsText)) expect(isJsonObject(text), `accepted a body that is not a JSON object: ${what}`).toBe(true);
    await route.accepted?.(answer);
    return answer.status;
  }
  expect(await route.state(), `${what}\n→ ${answer.status} ${answer.text.slice(0, 300)}`).toEqual(before);
  return answer.status;
}

/** Runs the fuzzing property of one route; answers how often each status came back. */
export async function fuzzRoute(route: BodyRoute, numRuns: number = RUNS.api): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(bodyPlan, contentType, async (plan, type) => {
      const status = await probeRoute(route, plan, type);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }),
    { numRuns },
  );
  return statuses;
}

/** Walks every field of the route's seed: removed, then replaced by each of {@link SWEEP_VALUES}. */
export async function sweepRoute(route: BodyRoute): Promise<number[]> {
  const statuses: number[] = [];
  await route.prepare?.();
  const count = paths(clone(route.seed())).length;
  for (let at = 0; at < count; at++) {
    statuses.push(await probeRoute(route, { kind: "mutate", ops: [{ op: "remove", at }] }));
    for (const value of SWEEP_VALUES) statuses.push(await probeRoute(route, { kind: "mutate", ops: [{ op: "replace", at, value }] }));
  }
  return statuses;
}

/** After abuse, every session, event and list a tenant stored still reads back (no 5xx on what was kept). */
export async function expectStoredStateReadable(apiKey: string): Promise<void> {
  for (const path of ["/v1/sessions?limit=200", "/v1/events?limit=200", "/v1/sessions?status=authorized&limit=200"]) {
    const answer = await read<{ data: Array<{ id: string }> }>(await bearer(apiKey, path));
    expectApiAnswer(answer, path);
    expect(answer.status, answer.text.slice(0, 300)).toBe(200);
  }
  const sessions = await read<{ data: Array<{ id: string }> }>(await bearer(apiKey, "/v1/sessions?limit=200"));
  for (const session of sessions.body.data) {
    const one = await read(await bearer(apiKey, `/v1/sessions/${session.id}`));
    expect(one.status, one.text.slice(0, 300)).toBe(200);
  }
}
