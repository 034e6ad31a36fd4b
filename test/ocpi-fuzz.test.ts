/**
 * Property-based fuzzing of every OCPI endpoint (CONTRACT §7.2): valid bodies of both versions
 * mutated at random (fields dropped, replaced by any JSON value, wrapped, renamed), arbitrary JSON
 * and arbitrary text, hostile number literals, and hostile path segments. Properties: never a 5xx,
 * always the OCPI envelope, and a refused request leaves every OCPI table as it was.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { OcpiVersion } from "../src/ocpi/model";
import { onboard } from "./helpers";
import { api, connectedTenant, envelopeOf, gateway, location211, location221, newCpo, ocpiState } from "./ocpi-support";
import type { Connected } from "./ocpi-support";

/** Runs per endpoint: enough to reach nested fields, small enough for a shared 2-core machine. */
const RUNS = 30;

type Json = unknown;
interface Plan {
  steps: Array<{ path: number[]; op: "delete" | "replace" | "wrap" | "rename"; value: Json }>;
}

const plan: fc.Arbitrary<Plan> = fc.record({
  steps: fc.array(
    fc.record({
      path: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 4 }),
      op: fc.constantFrom("delete", "replace", "wrap", "rename"),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

/** Applies a plan to a deep copy of `seed`: each step walks `path` (indices into keys) and changes what it reaches. */
function mutate(seed: Json, p: Plan): Json {
  const root = structuredClone(seed) as Json;
  for (const step of p.steps) {
    let parent: Record<string, Json> | Json[] | null = null;
    let key: string | number | null = null;
    let node: Json = root;
    for (const index of step.path) {
      if (Array.isArray(node) && node.length > 0) {
        parent = node;
        key = index % node.length;
        node = node[key];
      } else if (node !== null && typeof node === "object" && Object.keys(node).length > 0) {
        const keys = Object.keys(node);
        parent = node as Record<string, Json>;
        key = keys[index % keys.length]!;
        node = (node as Record<string, Json>)[key];
      } else break;
    }
    if (parent === null || key === null) continue;
    const target = parent as Record<string | number, Json>;
    if (step.op === "delete") {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete target[key];
    } else if (step.op === "replace") target[key] = step.value;
    else if (step.op === "wrap") target[key] = [target[key]];
    else if (!Array.isArray(parent)) {
      target[`${String(key)}_x`] = target[key];
      delete target[key];
    }
  }
  return root;
}

/** Number literals at the edges, spliced into bodies as raw JSON text. */
const HOSTILE_NUMBERS = ["1e400", "-1e400", "1e-400", "123456789012345678901234567890.123456789", "-0", "0.30000000000000004", "9007199254740993", "1E+2", "4.3240"];

const body: (seed: Json) => fc.Arbitrary<string> = (seed) =>
  fc.oneof(
    { weight: 6, arbitrary: plan.map((p) => JSON.stringify(mutate(seed, p))) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...HOSTILE_NUMBERS), fc.nat()).map(([literal, n]) => {
        // Replace one number of the seed by the literal, as text.
        const text = JSON.stringify(seed);
        const numbers = [...text.matchAll(/(?<=[:[,])-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
        if (numbers.length === 0) return text;
        const match = numbers[n % numbers.length]!;
        return text.slice(0, match.index) + literal + text.slice(match.index! + match[0].length);
      }),
    },
  );

interface Endpoint {
  name: string;
  method: "PUT" | "PATCH" | "POST" | "DELETE";
  path: string;
  seed: Json;
}

async function expectEnvelope(res: Response, what: string) {
  const answer = await envelopeOf(res);
  expect(answer.status, `${what}: ${answer.text}`).toBeLessThan(500);
  expect(answer.headers.get("Content-Type"), what).toContain("application/json");
  expect(typeof answer.body.status_code, `${what}: ${answer.text}`).toBe("number");
  expect(typeof answer.body.status_message, what).toBe("string");
  expect(typeof answer.body.timestamp, what).toBe("string");
  if (answer.status >= 400) expect(answer.body.data, what).toBeUndefined();
  return answer;
}

async function fuzz(c: Connected, endpoint: Endpoint) {
  await fc.assert(
    fc.asyncProperty(body(endpoint.seed), async (text) => {
      const before = await ocpiState();
      const res = await c.sim.push(endpoint.method, endpoint.path, text);
      const answer = await expectEnvelope(res, `${endpoint.name} ${text}`);
      if (answer.status >= 400 || answer.body.status_code !== 1000) expect(await ocpiState(), `${endpoint.name} ${text}`).toBe(before);
    }),
    { numRuns: RUNS },
  );
}

function endpoints(version: OcpiVersion, party: { countryCode: string; partyId: string }): Endpoint[] {
  const p = `${party.countryCode}/${party.partyId}`;
  const location = version === "2.2.1" ? location221(party, "FZ", [["E1", "AVAILABLE", ["1"]]]) : location211("FZ", [["E1", "AVAILABLE", ["1"]]]);
  const evse = (location as { evses: Json[] }).evses[0]!;
  const connector = (evse as { connectors: Json[] }).connectors[0]!;
  const owner = version === "2.2.1" ? { country_code: party.countryCode, party_id: party.partyId } : {};
  const session =
    version === "2.2.1"
      ? { ...owner, id: "FS", start_date_time: "2024-05-01T10:00:00Z", kwh: 1.5, cdr_token: { uid: "NYX-0000000000000000", type: "AD_HOC_USER", contract_id: "x" }, auth_method: "COMMAND", location_id: "FZ", evse_uid: "E1", connector_id: "1", currency: "EUR", charging_periods: [{ start_date_time: "2024-05-01T10:00:00Z", dimensions: [{ type: "ENERGY", volume: 1 }] }], total_cost: { excl_vat: 0.8, incl_vat: 0.88 }, status: "ACTIVE", last_updated: "2024-05-01T10:00:00Z" }
      : { id: "FS", start_datetime: "2024-05-01T10:00:00Z", kwh: 1.5, auth_id: "NYX-0000000000000000", auth_method: "AUTH_REQUEST", location, currency: "EUR", total_cost: 0.8, status: "ACTIVE", last_updated: "2024-05-01T10:00:00Z" };
  const cdr =
    version === "2.2.1"
      ? { ...owner, id: "FC", start_date_time: "2024-05-01T10:00:00Z", end_date_time: "2024-05-01T11:00:00Z", session_id: "FS", cdr_token: { uid: "NYX-0000000000000000" }, auth_method: "COMMAND", cdr_location: { id: "FZ" }, currency: "EUR", charging_periods: [{ start_date_time: "2024-05-01T10:00:00Z", dimensions: [{ type: "ENERGY", volume: 1 }] }], total_cost: { excl_vat: 0.8, incl_vat: 0.88 }, total_energy: 1.5, total_time: 1, last_updated: "2024-05-01T11:00:00Z" }
      : { id: "FC", start_date_time: "2024-05-01T10:00:00Z", stop_date_time: "2024-05-01T11:00:00Z", auth_id: "NYX-0000000000000000", auth_method: "AUTH_REQUEST", location, currency: "EUR", charging_periods: [{ start_date_time: "2024-05-01T10:00:00Z", dimensions: [{ type: "ENERGY", volume: 1 }] }], total_cost: 0.8, total_energy: 1.5, total_time: 1, last_updated: "2024-05-01T11:00:00Z" };
  const tariff = { ...owner, id: "FT", currency: "EUR", elements: [{ price_components: [{ type: "ENERGY", price: 0.25, step_size: 1 }] }], last_updated: "2024-05-01T10:00:00Z" };
  const patch = (object: Record<string, Json>) => ({ ...object, last_updated: "2024-05-02T10:00:00Z" });
  return [
    { name: "PUT Location", method: "PUT", path: `locations/${p}/FZ`, seed: location },
    { name: "PATCH Location", method: "PATCH", path: `locations/${p}/FZ`, seed: { name: "x", last_updated: "2024-05-02T10:00:00Z" } },
    { name: "PUT EVSE", method: "PUT", path: `locations/${p}/FZ/E1`, seed: patch(evse as Record<string, Json>) },
    { name: "PATCH EVSE", method: "PATCH", path: `locations/${p}/FZ/E1`, seed: { status: "CHARGING", last_updated: "2024-05-03T10:00:00Z" } },
    { name: "PUT connector", method: "PUT", path: `locations/${p}/FZ/E1/1`, seed: patch(connector as Record<string, Json>) },
    { name: "PATCH connector", method: "PATCH", path: `locations/${p}/FZ/E1/1`, seed: { format: "CABLE", last_updated: "2024-05-04T10:00:00Z" } },
    { name: "PUT Tariff", method: "PUT", path: `tariffs/${p}/FT`, seed: tariff },
    ...(version === "2.1.1" ? [{ name: "PATCH Tariff", method: "PATCH" as const, path: `tariffs/${p}/FT`, seed: { currency: "USD" } }] : []),
    { name: "PUT Session", method: "PUT", path: `sessions/${p}/FS`, seed: session },
    { name: "PATCH Session", method: "PATCH", path: `sessions/${p}/FS`, seed: { kwh: 2, total_cost: version === "2.2.1" ? { excl_vat: 1 } : 1, last_updated: "2024-05-02T10:00:00Z" } },
    { name: "POST CDR", method: "POST", path: "cdrs", seed: cdr },
  ];
}

for (const version of ["2.2.1", "2.1.1"] as const) {
  describe(`fuzzing the OCPI ${version} receivers`, () => {
    let c: Connected;
    /** The simulator's only party (its default). */
    const party = { countryCode: "NL", partyId: "EXA" };

    beforeAll(async () => {
      c = await connectedTenant(version, "gateway");
      expect(c.sim.parties[0]).toMatchObject(party);
      // Objects the PATCHes and sub-object PUTs can address.
      for (const e of endpoints(version, party).filter((e) => e.method === "PUT")) expect((await c.sim.push("PUT", e.path, e.seed)).status, e.name).toBeLessThan(300);
    });

    for (const endpoint of endpoints(version, party)) {
      it(`${endpoint.name}: never a 5xx, always the envelope, nothing stored when refused`, () => fuzz(c, endpoint), 120_000);
    }

    it("command results: never a 5xx; a refused one records nothing", async () => {
      const url = `${c.sim.gatewayEndpoint("commands")}/START_SESSION/${"a".repeat(32)}`;
      await fc.assert(
        fc.asyncProperty(body({ result: "ACCEPTED", message: [{ language: "en", text: "ok" }] }), async (text) => {
          const before = await ocpiState();
          const res = await c.sim.sendResult(url, text);
          await expectEnvelope(res, `result ${text}`);
          expect(await ocpiState()).toBe(before);
        }),
        { numRuns: RUNS },
      );
    }, 120_000);

    it("hostile path segments on every module: never a 5xx", async () => {
      const segment = fc.oneof(
        fc.constantFrom("", ".", "..", "%00", "%2e%2e", "%E2%80%AE", "%F0%9F%98%80", "a%2Fb", "%ZZ", "9".repeat(300), "x".repeat(300)),
        fc.string({ unit: "binary", maxLength: 20 }).map(encodeURIComponent),
      );
      const template = fc.constantFrom("locations/{x}/{x}/{x}", "locations/NL/EXA/{x}/{x}/{x}", "tariffs/{x}/{x}/{x}", "sessions/NL/EXA/{x}", "cdrs/{x}", "commands/{x}/{x}", "credentials/{x}");
      const method = fc.constantFrom("GET", "PUT", "PATCH", "POST", "DELETE");
      const base = c.sim.gatewayEndpoint("credentials").replace(/\/credentials$/, "");
      await fc.assert(
        fc.asyncProperty(template, segment, method, async (t, x, m) => {
          const before = await ocpiState();
          const path = `${base}/${t.replaceAll("{x}", x)}`.replace(/^https?:\/\/[^/]+/, "");
          // "." and ".." segments are resolved before the request leaves; what lands outside /ocpi is not this test's.
          if (!URL.canParse(`http://h${path}`) || !new URL(`http://h${path}`).pathname.startsWith("/ocpi/")) return;
          const res = await gateway(path, { method: m, headers: { Authorization: `Token ${version === "2.2.1" ? btoa(c.sim.gatewayToken!) : c.sim.gatewayToken!}` }, ...(m === "GET" || m === "DELETE" ? {} : { body: "{}" }) });
          const answer = await expectEnvelope(res, `${m} ${path}`);
          if (answer.status >= 400) expect(await ocpiState()).toBe(before);
        }),
        { numRuns: RUNS },
      );
    }, 120_000);
  });
}

describe("fuzzing the credentials module", () => {
  it("registration bodies with an invitation token: never a 5xx, nothing stored when refused", async () => {
    const t = await onboard({ siteIds: [960_001] });
    const tokenA = (await api<{ token: string }>(t.apiKey, "/v1/ocpi/invitation", { method: "POST" })).body.token;
    const down = newCpo();
    down.down = true;
    const seed = { token: "cpo-token-b-0123456789", url: `${down.baseUrl}/versions`, roles: [{ role: "CPO", party_id: "EXA", country_code: "NL", business_details: { name: "Example" } }] };
    await fc.assert(
      fc.asyncProperty(body(seed), fc.constantFrom("2.2.1", "2.1.1"), async (text, version) => {
        const before = await ocpiState();
        const res = await gateway(`/ocpi/${version}/credentials`, { method: "POST", body: text, headers: { Authorization: `Token ${tokenA}`, "Content-Type": "application/json" } });
        const answer = await expectEnvelope(res, `POST credentials ${text}`);
        expect(answer.body.status_code, text).not.toBe(1000);
        expect(await ocpiState(), text).toBe(before);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("credentials updates from a registered CPO that cannot complete: never a 5xx, nothing changes", async () => {
    const c = await connectedTenant("2.2.1", "cpo");
    const down = newCpo();
    down.down = true;
    const seed = { token: "cpo-token-b-0123456789", url: `${down.baseUrl}/versions`, roles: [{ role: "CPO", party_id: "EXA", country_code: "NL", business_details: { name: "Example" } }] };
    await fc.assert(
      fc.asyncProperty(body(seed), async (text) => {
        const before = await ocpiState();
        const res = await gateway("/ocpi/2.2.1/credentials", { method: "PUT", body: text, headers: { Authorization: `Token ${btoa(c.sim.gatewayToken!)}`, "Content-Type": "application/json" } });
        const answer = await expectEnvelope(res, `PUT credentials ${text}`);
        expect(answer.body.status_code, text).not.toBe(1000);
        expect(await ocpiState(), text).toBe(before);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
