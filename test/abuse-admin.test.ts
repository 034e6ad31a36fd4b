/**
 * Abuse: the operator API's request bodies (CONTRACT §3) under property-based fuzzing and a
 * field-by-field sweep — `POST /admin/tenants`, `PATCH /admin/tenants/{id}`, `POST …/claims`,
 * `POST …/rotate-api-key` and `…/rotate-callback-secret` — and hostile path segments on every
 * `/admin` route. Properties: never 5xx, errors as `{error:{code,message,details}}`, and a
 * refused body stores nothing (no tenant, credential, claim or endpoint row appears or changes).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { tenantInput } from "./fixtures";
import { onboard } from "./helpers";
import type { Onboarded } from "./helpers";
import { ADMIN_TOKEN } from "./helpers";
import { RUNS, asAdmin, counts, expectApiAnswer, expectNoSecrets, fuzzRoute, operatorSecrets, quietConsole, read, secretsOf, sweepRoute, tableDigest } from "./abuse-support";
import type { BodyRoute } from "./abuse-support";
import { freshSite } from "./support";

let t: Onboarded & { spark: { tokenId: number } };
let other: Onboarded & { siteIds: number[] };
let tokenIds = 900_000;
const logs = quietConsole();

beforeAll(async () => {
  t = (await onboard({ siteIds: [freshSite()] })) as typeof t;
  const otherSite = freshSite();
  other = { ...(await onboard({ siteIds: [otherSite], machines: [{ siteId: otherSite, machineId: 4242 }] })), siteIds: [otherSite] };
});

const admin = () => ADMIN_TOKEN;

const createTenant: BodyRoute = {
  method: "POST",
  path: () => "/admin/tenants",
  token: admin,
  seed: () => ({
    name: "Fuzz Charging",
    siteIds: [freshSite(), freshSite()],
    machines: [{ siteId: freshSite(), machineId: 71234996 }],
    spark: { ...tenantInput.spark, tokenId: tokenIds++ },
    webhookUrl: "https://csms.example/hooks/spark",
    defaultPreAuthAmount: "50.00",
  }),
  state: () => counts(["tenants", "credentials", "site_claims", "machine_claims", "webhook_endpoints"]),
};

const updateTenant: BodyRoute = {
  method: "PATCH",
  path: () => `/admin/tenants/${t.id}`,
  token: admin,
  seed: () => ({
    name: "Renamed Charging",
    status: "active",
    defaultPreAuthAmount: "12.50",
    spark: { ...tenantInput.spark, tokenId: t.spark.tokenId },
  }),
  state: async () => [await tableDigest("tenants"), await tableDigest("credentials")],
};

const addClaims: BodyRoute = {
  method: "POST",
  path: () => `/admin/tenants/${t.id}/claims`,
  token: admin,
  seed: () => ({ siteIds: [freshSite()], machines: [{ siteId: freshSite(), machineId: 5 }] }),
  state: async () => [await tableDigest("site_claims"), await tableDigest("machine_claims"), await tableDigest("tenants")],
};

const rotation = (kind: "rotate-api-key" | "rotate-callback-secret"): BodyRoute => ({
  method: "POST",
  path: () => `/admin/tenants/${t.id}/${kind}`,
  token: admin,
  seed: () => ({ overlapSeconds: 3600 }),
  state: () => tableDigest("credentials"),
  readsText: true,
});

const routes: Array<[string, BodyRoute]> = [
  ["POST /admin/tenants", createTenant],
  ["PATCH /admin/tenants/{id}", updateTenant],
  ["POST /admin/tenants/{id}/claims", addClaims],
  ["POST /admin/tenants/{id}/rotate-api-key", rotation("rotate-api-key")],
  ["POST /admin/tenants/{id}/rotate-callback-secret", rotation("rotate-callback-secret")],
];

describe.each(routes)("fuzzing %s", (_name, route) => {
  it(
    "never answers 5xx, errors in the API's shape, and a refused body stores nothing",
    async () => {
      const statuses = await fuzzRoute(route);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(401) ?? 0).toBe(0);
    },
    60_000,
  );

  it(
    "sweeps every field: removed, and replaced by each edge value",
    async () => {
      const statuses = await sweepRoute(route);
      expect(statuses.some((s) => s === 400)).toBe(true);
    },
    60_000,
  );
});

describe("refused onboarding and claims leave no partial rows", () => {
  it("409 for a SiteId, machine or tokenId already claimed, with nothing stored", async () => {
    const before = await counts(["tenants", "credentials", "site_claims", "machine_claims", "webhook_endpoints"]);
    const base = { ...createTenant.seed() };
    for (const body of [
      { ...base, siteIds: [freshSite(), other.siteIds[0]] },
      { ...base, siteIds: [freshSite()], machines: [{ siteId: other.siteIds[0], machineId: 4242 }] },
      { ...base, siteIds: [freshSite()], spark: { ...tenantInput.spark, tokenId: t.spark.tokenId } },
    ]) {
      const answer = await read(await asAdmin("/admin/tenants", { method: "POST", json: body }));
      expectApiAnswer(answer, JSON.stringify(body));
      expect(answer.status, answer.text).toBe(409);
    }
    expect(await counts(["tenants", "credentials", "site_claims", "machine_claims", "webhook_endpoints"])).toEqual(before);
  });

  it("409 for claims that name one taken SiteId among free ones, with none of them stored", async () => {
    const before = [await tableDigest("site_claims"), await tableDigest("machine_claims")];
    const answer = await read(await asAdmin(`/admin/tenants/${t.id}/claims`, { method: "POST", json: { siteIds: [freshSite(), other.siteIds[0]], machines: [{ siteId: freshSite(), machineId: 1 }] } }));
    expectApiAnswer(answer, "claims");
    expect(answer.status).toBe(409);
    expect([await tableDigest("site_claims"), await tableDigest("machine_claims")]).toEqual(before);
  });

  it("400 for duplicates within one body, and for a body over 64 KiB (413), with nothing stored", async () => {
    const before = await counts(["tenants", "credentials", "site_claims", "machine_claims", "webhook_endpoints"]);
    const site = freshSite();
    for (const [body, status] of [
      [{ ...createTenant.seed(), siteIds: [site, site] }, 400],
      [{ ...createTenant.seed(), machines: [{ siteId: site, machineId: 1 }, { siteId: site, machineId: 1 }] }, 400],
      [{ ...createTenant.seed(), name: "x".repeat(70_000) }, 413],
      [{ ...createTenant.seed(), siteIds: Array.from({ length: 1001 }, (_, i) => 10_000_000 + i) }, 400],
    ] as const) {
      const answer = await read(await asAdmin("/admin/tenants", { method: "POST", json: body }));
      expectApiAnswer(answer, JSON.stringify(body).slice(0, 200));
      expect(answer.status, answer.text.slice(0, 300)).toBe(status);
    }
    expect(await counts(["tenants", "credentials", "site_claims", "machine_claims", "webhook_endpoints"])).toEqual(before);
  });
});

describe("hostile path segments on /admin routes", () => {
  const segment = fc.oneof(
    fc.constantFrom("", ".", "..", "%00", "%2e%2e", "ten_", "ten_%00", "%E2%80%AE", "%F0%9F%98%80", "-1", "1e309", "NaN", "9".repeat(400), "%ZZ", "a%2Fb"),
    fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent),
  );
  const route = fc.constantFrom(
    ["GET", "/admin/tenants/{x}"],
    ["PATCH", "/admin/tenants/{x}"],
    ["POST", "/admin/tenants/{x}/disable"],
    ["POST", "/admin/tenants/{x}/enable"],
    ["POST", "/admin/tenants/{x}/claims"],
    ["DELETE", "/admin/tenants/{id}/sites/{x}"],
    ["DELETE", "/admin/tenants/{id}/machines/{x}/{x}"],
    ["POST", "/admin/tenants/{x}/rotate-api-key"],
    ["POST", "/admin/tenants/{x}/rotate-callback-secret"],
    ["GET", "/admin/tenants?limit={x}&cursor={x}"],
  );

  it(
    "never 5xx, always the API's error shape, and nothing stored",
    async () => {
      await fc.assert(
        fc.asyncProperty(route, segment, async ([method, template], x) => {
          const before = await counts();
          const path = template.replaceAll("{id}", t.id).replaceAll("{x}", x);
          const init = method === "GET" || method === "DELETE" ? { method } : { method, json: { siteIds: [1], name: "x" } };
          const answer = await read(await asAdmin(path, init));
          expectApiAnswer(answer, `${method} ${path}`);
          if (answer.status >= 400) expect(await counts(), `${method} ${path}`).toEqual(before);
        }),
        { numRuns: RUNS.api },
      );
    },
    60_000,
  );
});

describe("logs of this file", () => {
  it("carry none of the tenants', the seeds' or the operator's secrets", () => {
    expectNoSecrets(logs.lines, [...secretsOf(t), ...secretsOf(other), tenantInput.spark.secretToken, tenantInput.spark.signKey, ...operatorSecrets()], "console");
  });
});
