/**
 * Tools of the abuse suites (`test/abuse-*.test.ts`): fast-check arbitraries that turn a valid
 * request body into hostile ones (fields removed, replaced by wrong types, huge or odd strings,
 * numbers at the edges, arbitrary JSON, raw non-JSON text), assertions of the two error shapes,
 * D1 row counts, a console capture for secret scanning, and a fetch stub that keeps every
 * outbound request inside the test.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { expect, vi } from "vitest";
import { SIM_BASE_URL, installSimulator } from "./spark-harness";

// ---------------------------------------------------------------- run sizes

/**
 * Runs per property. Modest on purpose: the machine has two cores and every run is a few
 * requests through the Worker, a Durable Object and D1.
 */
export const RUNS = { spark: 45, api: 40, small: 25 } as const;

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
          Object.defineProperty(body, change.key, { value: change.value, enumerable: true, configurable: true, writable: true });
          continue;
        }
        const all = paths(body);
        if (all.length === 0) continue;
        const path = all[change.at % all.length]!;
        setAt(body, path, change.op === "remove" ? "remove" : { value: change.value });
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

/** A hash of every row of a table (for "nothing changed", including updates in place). */
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

// ---------------------------------------------------------------- outbound fetch

/**
 * The Spark simulator behind fetch (see ./spark-harness), with every other outbound request
 * (webhook deliveries to fuzzed URLs) answered 204 here instead of reaching the network.
 */
export function installSandbox() {
  const sandbox = installSimulator();
  const outbound: Request[] = [];
  sandbox.spy.mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url.startsWith(SIM_BASE_URL)) return sandbox.simulator.handle(request);
    outbound.push(request);
    return new Response(null, { status: 204 });
  });
  return { ...sandbox, outbound };
}
