/**
 * Abuse: property-based fuzzing of every `POST /spark/{Method}` (CONTRACT §4). Each run takes a
 * valid body (sim/drive.ts builders, aimed at tenant A) and breaks it — fields removed, replaced
 * by wrong types, huge or odd strings, numbers at the edges, arbitrary JSON, raw text, truncation —
 * and sends it with one of several Content-Types. Properties (see `sparkFuzzer`): never 5xx,
 * always Spark-shaped, and a refused body stores nothing.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import * as drive from "../sim/drive";
import {
  RUNS,
  SPARK_METHODS,
  bearer,
  bodyPlan,
  contentType,
  counts,
  expectApiAnswer,
  expectNoSecrets,
  expectSparkAnswer,
  gateway,
  operatorSecrets,
  quietConsole,
  read,
  secretsOf,
  sparkFuzzer,
  expectStoredStateReadable,
} from "./abuse-support";
import type { SparkTenant } from "./abuse-support";
import { freshMachine, tenantWithSites } from "./support";

let a: SparkTenant;
const logs = quietConsole();
beforeAll(async () => {
  a = (await tenantWithSites(2)) as SparkTenant;
});
const fuzzer = sparkFuzzer(() => a);

describe.each(SPARK_METHODS)("fuzzing POST /spark/%s", (method) => {
  it(
    "never answers 5xx, always in Spark's shape, and stores nothing for a refused body",
    async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(bodyPlan, contentType, async (plan, type) => {
          const status = await fuzzer.probe(method, plan, type);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }),
        { numRuns: RUNS.spark },
      );
      // The runs got past authentication into validation, and some were accepted.
      expect(statuses.get(401) ?? 0).toBe(0);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    },
    60_000,
  );
});

describe("Spark bodies beyond the limits", () => {
  it("413 in Spark's shape for a body over 64 KiB, and 4xx for a declared length over 1 MiB, storing nothing", async () => {
    const before = await counts(["sessions", "session_events"]);
    const fresh = crypto.randomUUID();
    const big = drive.transactionNotify({ SiteId: a.siteIds[0], MachineId: freshMachine(), SparkTransactionId: fresh, Padding: "x".repeat(70_000) });
    const headers = { "X-Spark-Secret": a.sparkCallbackSecret, "Content-Type": "application/json" };
    const answer = await read(await gateway("/spark/TransactionNotify", { method: "POST", headers, body: JSON.stringify(big) }));
    expectSparkAnswer(answer, "70 KB body");
    expect(answer.status).toBe(413);
    const declared = await read(
      await gateway("/spark/InfoQuery", { method: "POST", headers: { ...headers, "Content-Length": String(2 * 1024 * 1024) }, body: "{}" }),
    );
    expectSparkAnswer(declared, "declared 2 MiB");
    expect([400, 413]).toContain(declared.status);
    expect(await counts(["sessions", "session_events"])).toEqual(before);
    expect((await gateway(`/v1/sessions/${fresh}`, { headers: { Authorization: `Bearer ${a.apiKey}` } })).status).toBe(404);
  });

  it("answers unknown methods, prototype names and other HTTP methods with a Spark-shaped 404", async () => {
    for (const [path, init] of [
      ["/spark/DoesNotExist", { method: "POST", body: "{}" }],
      ["/spark/transactionnotify", { method: "POST", body: "{}" }],
      ["/spark/__proto__", { method: "POST", body: "{}" }],
      ["/spark/constructor", { method: "POST", body: "{}" }],
      ["/spark/hasOwnProperty", { method: "POST", body: "{}" }],
      ["/spark/toString", { method: "POST", body: "{}" }],
      ["/spark/TransactionNotify", { method: "PUT", body: "{}" }],
      ["/spark/TransactionNotify", { method: "DELETE" }],
      ["/spark/A/B", { method: "POST", body: "{}" }],
    ] as const) {
      const answer = await read(await gateway(path, { ...init, headers: { "X-Spark-Secret": a.sparkCallbackSecret } }));
      expectSparkAnswer(answer, `${init.method} ${path}`);
      expect(answer.status, `${init.method} ${path}`).toBe(404);
    }
  });
});

describe("after the abuse", () => {
  it("every session, event and list stays readable (no 5xx on what was stored)", () => expectStoredStateReadable(a.apiKey));

  it("no log line carries the tenant's or the operator's secrets", () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    expectNoSecrets(logs.lines, [...secretsOf(a), ...operatorSecrets()], "console");
  });
});
