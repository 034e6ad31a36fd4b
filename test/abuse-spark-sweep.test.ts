/**
 * Abuse: a systematic sweep of every `POST /spark/{Method}` body (CONTRACT §4). Where the
 * fuzzing in ./abuse-spark.test.ts samples, this walks: every field (nested ones included)
 * removed, then replaced by each of `SWEEP_VALUES` (wrong types, NUL, unpaired surrogates, long
 * strings, numbers past every limit), one at a time. Same properties: never 5xx, always
 * Spark-shaped, and a refused body stores nothing.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SPARK_METHODS, SWEEP_VALUES, bearer, expectApiAnswer, expectNoSecrets, expectStoredStateReadable, operatorSecrets, paths, quietConsole, read, secretsOf, sparkFuzzer } from "./abuse-support";
import type { SparkTenant } from "./abuse-support";
import { tenantWithSites } from "./support";

let a: SparkTenant;
const logs = quietConsole();
beforeAll(async () => {
  a = (await tenantWithSites(2)) as SparkTenant;
});
const fuzzer = sparkFuzzer(() => a, { keepTargets: true });

describe.each(SPARK_METHODS)("sweeping POST /spark/%s", (method) => {
  it(
    "each field removed, and replaced by each edge value, is answered below 500 and stores nothing when refused",
    async () => {
      const count = paths(await fuzzer.seedOf(method)).length;
      const statuses: number[] = [];
      for (let at = 0; at < count; at++) {
        statuses.push(await fuzzer.probe(method, { kind: "mutate", ops: [{ op: "remove", at }] }));
        for (const value of SWEEP_VALUES) statuses.push(await fuzzer.probe(method, { kind: "mutate", ops: [{ op: "replace", at, value }] }));
      }
      expect(statuses.filter((s) => s === 400).length).toBeGreaterThan(0);
    },
    60_000,
  );
});

describe("after the abuse", () => {
  it("every session, event and list stays readable (no 5xx on what was stored)", () => expectStoredStateReadable(a.apiKey));

  it("no log line carries the tenant's or the operator's secrets", () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    expectNoSecrets(logs.lines, [...secretsOf(a), ...operatorSecrets()], "console");
  });
});
