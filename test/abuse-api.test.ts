/**
 * Abuse: the tenant API's request bodies (CONTRACT §5) under property-based fuzzing and a
 * field-by-field sweep — Remote Start (`POST /v1/sessions`), settle, cancel, station state,
 * webhook endpoint create/update/recover, and event redelivery — plus hostile path segments on
 * every `/v1` route. Properties: never 5xx, `X-Request-Id` and errors as
 * `{error:{code,message,details}}`, and a refused body stores nothing and calls nobody (no new
 * or changed session, station, endpoint, delivery or attempt, no call to Spark).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vi } from "vitest";
import * as drive from "../sim/drive";
import type { SimMethod } from "../sim/spark-simulator";
import { flush } from "./helpers";
import {
  RUNS,
  bearer,
  counts,
  expectApiAnswer,
  expectNoSecrets,
  fuzzRoute,
  installSandbox,
  operatorSecrets,
  probeRoute,
  quietConsole,
  read,
  secretsOf,
  sweepRoute,
  tableDigest,
} from "./abuse-support";
import type { BodyRoute } from "./abuse-support";
import type { SimTenantHandle } from "./spark-harness";
import { freshMachine, freshSite } from "./support";
import type { SessionBody } from "./support";

const sandbox = installSandbox();
afterAll(() => vi.restoreAllMocks());
const logs = quietConsole();

/** S: sessions (Remote Start, settle, cancel, stations). W: webhook endpoints and events, and no sessions. */
let s: SimTenantHandle & { siteIds: number[] };
let w: SimTenantHandle;
let endpointId: string;
let eventId: string;
let nayaxIds = 5_000_000;

beforeAll(async () => {
  const sites = [freshSite(), freshSite()];
  s = { ...(await sandbox.tenant({ siteIds: sites })), siteIds: sites };
  w = await sandbox.tenant({ siteIds: [freshSite()] });
  const created = await read<{ id: string }>(await bearer(w.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://hooks.csms.example/spark" } }));
  expect(created.status, created.text).toBe(201);
  endpointId = created.body.id;
  const test = await read<{ eventId: string }>(await bearer(w.apiKey, `/v1/webhook-endpoints/${endpointId}/test`, { method: "POST" }));
  expect(test.status, test.text).toBe(200);
  eventId = test.body.eventId;
});

const sparkCalls = (...methods: SimMethod[]) => methods.map((m) => sandbox.simulator.requestsFor(m).length);

/** An authorized Device Start session of S (10.00 held in the simulator), for settle and cancel. */
async function authorizedSession(): Promise<string> {
  const id = crypto.randomUUID();
  const answer = await s.driver.send(
    "TransactionNotify",
    drive.transactionNotify({ SiteId: s.siteIds[0], MachineId: freshMachine(), SparkTransactionId: id, NayaxTransactionId: nayaxIds++ }),
  );
  expect(answer.status, answer.text).toBe(200);
  await flush(id);
  return id;
}

async function sessionState(id: string): Promise<unknown> {
  const res = await bearer(s.apiKey, `/v1/sessions/${id}`);
  expect(res.status).toBe(200);
  const session = (await res.json()) as SessionBody;
  return { ...session, overdue: undefined };
}

/** A route whose target session is replaced once a run was accepted (it has moved on). */
function onSession(path: (id: string) => string, seed: () => Record<string, unknown>, spark: SimMethod, readsText = false): BodyRoute {
  let target: string | null = null;
  return {
    readsText,
    method: "POST",
    path: () => path(target!),
    token: () => s.apiKey,
    seed,
    prepare: async () => {
      target ??= await authorizedSession();
    },
    state: async () => [await sessionState(target!), sparkCalls(spark), await counts(["sessions", "session_events"])],
    accepted: async () => {
      await flush(target!);
      target = null;
    },
  };
}

const remoteStart: BodyRoute = {
  method: "POST",
  path: () => "/v1/sessions",
  token: () => s.apiKey,
  seed: () => ({ terminal: { hwSerial: "0434334921100366" }, amount: "15.00", timeoutSeconds: 60, display: "Charging Station:5;", mode: "pre_authorization" }),
  state: async () => [await counts(["sessions", "session_events"]), sparkCalls("StartAuthentication", "TriggerTransaction")],
  accepted: async (answer) => flush((answer.body as { id: string }).id),
};

const settle = onSession((id) => `/v1/sessions/${id}/settle`, () => ({ amount: "7.50", receipt: { General: [{ Station: "B12" }] } }), "Settlement");
const cancel = onSession((id) => `/v1/sessions/${id}/cancel`, () => ({ reasonCode: 7, reasonText: "fuzz" }), "CancelTransaction", true);

/** Every header an accepted endpoint keeps must be sendable: visible ASCII, spaces and tabs only. */
async function expectSendableHeaders(answer: { body: unknown }) {
  const headers = (answer.body as { headers: Record<string, string> }).headers;
  for (const [name, value] of Object.entries(headers)) expect(value, `header ${name}`).toMatch(/^[\t\x20-\x7e]*$/);
  expect(() => new Headers(headers)).not.toThrow();
}

const station: BodyRoute = {
  method: "PUT",
  path: () => "/v1/stations/71234996/5",
  token: () => s.apiKey,
  seed: () => ({ availability: "busy", display: "Busy;", preAuthAmount: "10.00" }),
  state: () => tableDigest("stations"),
};

const createEndpoint: BodyRoute = {
  method: "POST",
  path: () => "/v1/webhook-endpoints",
  token: () => w.apiKey,
  seed: () => ({ url: "https://hooks2.csms.example/spark", eventTypes: ["session.authorized"], enabled: true, headers: { "X-Csms": "1" } }),
  state: () => tableDigest("webhook_endpoints"),
  accepted: expectSendableHeaders,
};

const updateEndpoint: BodyRoute = {
  method: "PATCH",
  path: () => `/v1/webhook-endpoints/${endpointId}`,
  token: () => w.apiKey,
  seed: () => ({ url: "https://hooks.csms.example/spark", eventTypes: null, enabled: true, headers: { "X-Csms": "2" } }),
  state: () => tableDigest("webhook_endpoints"),
  accepted: expectSendableHeaders,
};

const recover: BodyRoute = {
  method: "POST",
  path: () => `/v1/webhook-endpoints/${endpointId}/recover`,
  token: () => w.apiKey,
  seed: () => ({ since: "2026-01-01T00:00:00Z" }),
  state: async () => [await tableDigest("deliveries"), await counts(["delivery_attempts", "session_events"])],
};

const redeliver: BodyRoute = {
  method: "POST",
  path: () => `/v1/events/${eventId}/redeliver`,
  token: () => w.apiKey,
  readsText: true,
  seed: () => ({ endpointId }),
  state: async () => [await tableDigest("deliveries"), await counts(["delivery_attempts", "session_events"])],
};

const routes: Array<[string, BodyRoute]> = [
  ["POST /v1/sessions", remoteStart],
  ["POST /v1/sessions/{id}/settle", settle],
  ["POST /v1/sessions/{id}/cancel", cancel],
  ["PUT /v1/stations/{machineId}/{serviceStationNumber}", station],
  ["POST /v1/webhook-endpoints", createEndpoint],
  ["PATCH /v1/webhook-endpoints/{id}", updateEndpoint],
  ["POST /v1/webhook-endpoints/{id}/recover", recover],
  ["POST /v1/events/{id}/redeliver", redeliver],
];

describe.each(routes)("fuzzing %s", (_name, route) => {
  it(
    "never answers 5xx, errors in the API's shape, and a refused body stores nothing",
    async () => {
      const statuses = await fuzzRoute(route);
      expect(statuses.get(401) ?? 0).toBe(0);
      expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
    },
    60_000,
  );

  it(
    "sweeps every field: removed, and replaced by each edge value",
    async () => {
      const statuses = await sweepRoute(route);
      expect(statuses.some((status) => status === 400)).toBe(true);
    },
    60_000,
  );
});

describe("hostile Idempotency-Key headers", () => {
  /** Any value a client can put in a header: Latin-1 without CR, LF or NUL, up to 400 characters. */
  const headerValue = fc.oneof(
    fc.constantFrom("", " ", "a".repeat(255), "a".repeat(256), "é", "\t", "null", "0", "../"),
    fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 400 }),
  );

  it.each([
    ["settle", settle],
    ["cancel", cancel],
  ] as const)(
    "%s: never 5xx, and a refusal stores nothing",
    async (_name, route) => {
      await fc.assert(
        fc.asyncProperty(headerValue, async (key) => {
          await probeRoute(route, { kind: "mutate", ops: [] }, "application/json", { "Idempotency-Key": key });
        }),
        { numRuns: RUNS.small },
      );
    },
    60_000,
  );
});

describe("regressions found by the fuzzing", () => {
  it("refuses a webhook header value that no request can carry (CR/LF, NUL, non-ASCII), storing nothing", async () => {
    // Shrunk counterexample of the sweep: headers {"X-Csms": "\u0000"} was stored (201/200), and every delivery then failed before leaving.
    const before = await tableDigest("webhook_endpoints");
    for (const value of ["a\r\nX-Injected: 1", "a\u0000b", "\u007f", "😀", "é"]) {
      const created = await read(await bearer(w.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://hooks3.csms.example/x", headers: { "X-Csms": value } } }));
      expectApiAnswer(created, JSON.stringify(value));
      expect(created.status, created.text).toBe(400);
      expect(created.text).toContain("X-Csms");
      const updated = await read(await bearer(w.apiKey, `/v1/webhook-endpoints/${endpointId}`, { method: "PATCH", json: { headers: { "X-Csms": value } } }));
      expectApiAnswer(updated, JSON.stringify(value));
      expect(updated.status, updated.text).toBe(400);
    }
    expect(await tableDigest("webhook_endpoints")).toEqual(before);
  });

  it("redeliver refuses a body that is not a JSON object under any Content-Type, and sends nothing", async () => {
    // Shrunk counterexamples: "[]" sent as application/x-www-form-urlencoded (and "5" as text/plain)
    // was taken for "no endpointId" and redelivered to every endpoint (202).
    for (const [type, body] of [
      ["application/x-www-form-urlencoded", "[]"],
      ["text/plain", "5"],
      [null, "5"],
      ["text/plain", "[]"],
      ["text/plain", '"x"'],
      ["text/plain", "null"],
      ["text/plain", '{"endpointId": 5}'],
      ["application/json", '{"endpointId": 5}'],
    ] as const) {
      const before = await counts(["delivery_attempts"]);
      const answer = await read(await bearer(w.apiKey, `/v1/events/${eventId}/redeliver`, { method: "POST", headers: type ? { "Content-Type": type } : {}, body }));
      expectApiAnswer(answer, `${type} ${body}`);
      expect(answer.status, `${type} ${body}: ${answer.text}`).toBe(400);
      expect(await counts(["delivery_attempts"])).toEqual(before);
    }
  });
});

describe("hostile path segments and query strings on /v1 routes", () => {
  const segment = fc.oneof(
    fc.constantFrom("", ".", "..", "%00", "%2e%2e", "we_", "evt_", "%E2%80%AE", "%F0%9F%98%80", "-1", "-0", "1e309", "NaN", "9".repeat(400), "a%2Fb", "%ZZ"),
    fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent),
  );
  const route = fc.constantFrom(
    ["GET", "/v1/sessions/{x}"],
    ["POST", "/v1/sessions/{x}/settle"],
    ["POST", "/v1/sessions/{x}/cancel"],
    ["GET", "/v1/sessions?status={x}&siteId={x}&from={x}&to={x}&overdue={x}"],
    ["GET", "/v1/sessions?limit={x}&cursor={x}"],
    ["PUT", "/v1/stations/{x}/{x}"],
    ["PUT", "/v1/stations/71234996/{x}"],
    ["GET", "/v1/webhook-endpoints/{x}"],
    ["PATCH", "/v1/webhook-endpoints/{x}"],
    ["DELETE", "/v1/webhook-endpoints/{x}"],
    ["POST", "/v1/webhook-endpoints/{x}/rotate-secret"],
    ["POST", "/v1/webhook-endpoints/{x}/test"],
    ["POST", "/v1/webhook-endpoints/{x}/recover"],
    ["GET", "/v1/webhook-endpoints?limit={x}&cursor={x}"],
    ["GET", "/v1/events/{x}"],
    ["GET", "/v1/events/{x}/attempts"],
    ["POST", "/v1/events/{x}/redeliver"],
    ["GET", "/v1/events?sessionId={x}&type={x}&cursor={x}"],
  );
  const bodies: Record<string, unknown> = {
    settle: { amount: "1.00" },
    stations: { availability: "busy" },
    recover: { since: "2026-01-01T00:00:00Z" },
    "webhook-endpoints": { enabled: true },
  };

  it(
    "never 5xx, always the API's error shape, and nothing stored by a refusal",
    async () => {
      await fc.assert(
        fc.asyncProperty(route, segment, async ([method, template], x) => {
          const before = await counts();
          const path = template.replaceAll("{x}", x);
          const json = Object.entries(bodies).find(([key]) => path.includes(key))?.[1];
          const init = method === "GET" || method === "DELETE" || json === undefined ? { method } : { method, json };
          const answer = await read(await bearer(s.apiKey, path, init));
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
  it("carry none of the tenants' or the operator's secrets", () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    expectNoSecrets(logs.lines, [...secretsOf(s), ...secretsOf(w), ...operatorSecrets()], "console");
  });
});
