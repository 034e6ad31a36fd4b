/**
 * Abuse: property-based fuzzing of every `POST /spark/{Method}` (CONTRACT §4). Each run takes a
 * valid body (sim/drive.ts builders, aimed at tenant A) and breaks it — fields removed, replaced
 * by wrong types, huge or odd strings, numbers at the edges, arbitrary JSON, raw text, truncation.
 * Properties: the answer is never 5xx and always Spark-shaped; a refused body (4xx) stores
 * nothing: the session it names is unchanged, a fresh SparkTransactionId stays unknown (404 on
 * the tenant API) and D1 holds no new session or event.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import * as drive from "../sim/drive";
import type { InboundMethod } from "../src/spark/messages";
import { call, flush, newSessionId } from "./helpers";
import type { Onboarded } from "./helpers";
import { applyPlan, bodyPlan, contentType, counts, expectSparkAnswer, read, RUNS } from "./abuse-support";
import type { BodyPlan } from "./abuse-support";
import { freshMachine, readSession, sparkCall, tenantWithSites } from "./support";

type Tenant = Onboarded & { siteIds: number[]; spark: { tokenId: number } };

const HW = "0434334921100366";
const RANDOM = "123456789qwertyui";

let a: Tenant;
let nayaxIds = 1_000_000;

beforeAll(async () => {
  a = (await tenantWithSites(2)) as Tenant;
});

/** A session of A that a method's body points at; replaced once a run was accepted (it may have moved on). */
interface Target {
  id: string;
  machine: number;
  card: string;
  nayax: number;
  snapshot: string;
}

type TargetKind = "authorized" | "awaiting" | null;

const randomCard = () => crypto.randomUUID().replace(/-/g, "").repeat(2);

/** Status, timeline and last update of a session as the tenant API reads it from the session object. */
async function snapshot(id: string): Promise<string> {
  const session = await readSession(a.apiKey, id);
  expect(session, `session ${id}`).not.toBeNull();
  return JSON.stringify({ status: session!.status, updatedAt: session!.updatedAt, events: session!.events.map((e) => [e.type, e.data.sequence]) });
}

async function newTarget(kind: Exclude<TargetKind, null>): Promise<Target> {
  const machine = freshMachine();
  const card = randomCard();
  const nayax = nayaxIds++;
  let id: string;
  if (kind === "authorized") {
    id = newSessionId();
    const body = drive.transactionNotify({ SiteId: a.siteIds[0], MachineId: machine, CardHash: card, NayaxTransactionId: nayax, SparkTransactionId: id });
    const answer = await sparkCall("TransactionNotify", JSON.stringify(body), a.sparkCallbackSecret);
    expect(answer.body.Status.Verdict, JSON.stringify(answer.body)).toBe("Approved");
  } else {
    const answer = await sparkCall("StartSession", drive.startSession({ MachineId: machine, TokenId: a.spark.tokenId, HwSerial: HW, Random: RANDOM }), a.sparkCallbackSecret);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    id = answer.body.SparkTransactionId as string;
  }
  await flush(id);
  return { id, machine, card, nayax, snapshot: await snapshot(id) };
}

interface Seeding {
  target: Target | null;
  fresh: string;
  machine: number;
}

interface MethodSpec {
  target: TargetKind;
  /** A valid body aimed at A (and at the target session, when there is one). */
  seed(s: Seeding): Record<string, unknown>;
  /** Whether an accepted call may store something (InfoQuery and AvailabilityCheck never do). */
  stores: boolean;
}

const specs: Record<InboundMethod, MethodSpec> = {
  TransactionNotify: {
    target: null,
    stores: true,
    seed: ({ fresh, machine }) =>
      drive.transactionNotify({ SiteId: a.siteIds[0], MachineId: machine, NayaxTransactionId: nayaxIds++, SparkTransactionId: fresh, CardHash: randomCard() }),
  },
  StopCallback: {
    target: "authorized",
    stores: true,
    seed: ({ target: t }) => drive.stopCallback({ StopSiteId: a.siteIds[1], MachineId: t!.machine, CardHash: t!.card, SparkTransactionId: t!.id, NayaxTransactionId: t!.nayax }),
  },
  StopNotify: {
    target: "authorized",
    stores: true,
    seed: ({ target: t }) => drive.stopNotify({ StopSiteId: a.siteIds[1], MachineId: t!.machine, CardHash: t!.card }),
  },
  TransactionCallback: {
    target: "awaiting",
    stores: true,
    seed: ({ target: t }) => drive.transactionCallback({ SparkTransactionId: t!.id, SiteId: a.siteIds[0], MachineId: t!.machine, NayaxTransactionId: nayaxIds++ }),
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
    seed: ({ machine }) => drive.startSession({ MachineId: machine, TokenId: a.spark.tokenId }),
  },
  InfoQuery: {
    target: null,
    stores: false,
    seed: ({ fresh, machine }) => drive.infoQuery({ SiteId: a.siteIds[0], MachineId: machine, SparkTransactionId: fresh }),
  },
  AvailabilityCheck: {
    target: null,
    stores: false,
    seed: ({ fresh, machine }) => drive.availabilityCheck({ SiteId: a.siteIds[0], MachineId: machine, SparkTransactionId: fresh }),
  },
};

const PH = new Map<string, number>();
const targets = new Map<InboundMethod, Target>();
const machines = new Map<InboundMethod, number>();

/** Sends one hostile body and checks every property; answers the status for statistics. */
async function probe(method: InboundMethod, plan: BodyPlan, type: string | null): Promise<number> {
  const spec = specs[method];
  let target = targets.get(method) ?? null;
  if (spec.target && !target) {
    target = await newTarget(spec.target);
    targets.set(method, target);
  }
  if (!machines.has(method)) machines.set(method, freshMachine());
  const fresh = newSessionId();
  let t0 = Date.now();
  const lap = (name: string) => { const t = Date.now(); PH.set(name, (PH.get(name) ?? 0) + t - t0); t0 = t; };
  const seed = spec.seed({ target, fresh, machine: machines.get(method)! });
  const text = applyPlan(seed, plan);
  const before = await counts(["sessions", "session_events"]);
  lap("counts");
  const headers: Record<string, string> = { "X-Spark-Secret": a.sparkCallbackSecret };
  if (type !== null) headers["Content-Type"] = type;
  const answer = await read<{ SparkTransactionId?: unknown; Status?: { Verdict?: string } }>(
    await call(`/spark/${method}`, { method: "POST", headers, body: text }),
  );
  lap("call");
  const what = `${method} ${text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text}`;
  expectSparkAnswer(answer, what);

  if (answer.status === 200) {
    if (!spec.stores) {
      expect(await counts(["sessions", "session_events"]), what).toEqual(before);
      return 200;
    }
    // Accepted: let its writes land in D1 so the next run's "before" is stable, and start the next run on a fresh target.
    const answered = answer.body.SparkTransactionId;
    if (typeof answered === "string" && answered !== "") await flush(answered);
    if (target) {
      await flush(target.id);
      targets.delete(method);
    }
    return 200;
  }

  // Refused: nothing stored, anywhere.
  expect(await counts(["sessions", "session_events"]), what).toEqual(before);
  lap("counts2");
  expect(await readSession(a.apiKey, fresh), what).toBeNull();
  lap("fresh");
  if (target) expect(await snapshot(target.id), what).toBe(target.snapshot);
  lap("snap");
  return answer.status;
}

const METHODS = Object.keys(specs) as InboundMethod[];

describe.each(METHODS)("fuzzing POST /spark/%s", (method) => {
  it(
    "never answers 5xx, always in Spark's shape, and stores nothing for a refused body",
    async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(bodyPlan, contentType, async (plan, type) => {
          const status = await probe(method, plan, type);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }),
        { numRuns: RUNS.spark },
      );
      console.warn("PHASES", method, JSON.stringify([...PH]));
      PH.clear();
      // The fuzzing must reach validation, not stop at the door.
      expect(statuses.get(401) ?? 0).toBe(0);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    },
    90_000,
  );
});

describe("Spark bodies beyond the limits", () => {
  it("413 in Spark's shape for a body over 64 KiB, and for a declared length over 1 MiB, storing nothing", async () => {
    const before = await counts(["sessions", "session_events"]);
    const fresh = newSessionId();
    const big = drive.transactionNotify({ SiteId: a.siteIds[0], MachineId: freshMachine(), SparkTransactionId: fresh, Padding: "x".repeat(70_000) });
    const answer = await read(await call("/spark/TransactionNotify", { method: "POST", headers: { "X-Spark-Secret": a.sparkCallbackSecret, "Content-Type": "application/json" }, body: JSON.stringify(big) }));
    expectSparkAnswer(answer, "70 KB body");
    expect(answer.status).toBe(413);
    const declared = await read(
      await call("/spark/InfoQuery", {
        method: "POST",
        headers: { "X-Spark-Secret": a.sparkCallbackSecret, "Content-Type": "application/json", "Content-Length": String(2 * 1024 * 1024) },
        body: "{}",
      }),
    );
    expectSparkAnswer(declared, "declared 2 MiB");
    expect([400, 413]).toContain(declared.status);
    expect(await counts(["sessions", "session_events"])).toEqual(before);
    expect(await readSession(a.apiKey, fresh)).toBeNull();
  });

  it("answers an unknown method, and other HTTP methods, in Spark's shape", async () => {
    for (const [path, init] of [
      ["/spark/DoesNotExist", { method: "POST", body: "{}" }],
      ["/spark/transactionnotify", { method: "POST", body: "{}" }],
      ["/spark/__proto__", { method: "POST", body: "{}" }],
      ["/spark/constructor", { method: "POST", body: "{}" }],
      ["/spark/toString", { method: "POST", body: "{}" }],
      ["/spark/TransactionNotify", { method: "PUT", body: "{}" }],
      ["/spark/TransactionNotify", { method: "DELETE" }],
      ["/spark/", { method: "POST", body: "{}" }],
      ["/spark/A/B", { method: "POST", body: "{}" }],
    ] as const) {
      const answer = await read(await call(path, { ...init, headers: { "X-Spark-Secret": a.sparkCallbackSecret } }));
      expectSparkAnswer(answer, `${init.method} ${path}`);
      expect(answer.status, `${init.method} ${path}`).toBe(404);
    }
  });
});
