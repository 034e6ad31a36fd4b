/**
 * Abuse: authentication on every route. The tenant and operator routes are enumerated from
 * `GET /openapi.json` (a route added later is covered without touching this file), the Spark
 * routes from the contract's nine methods. Each is called with no credential, a wrong one, and
 * every credential of the wrong kind (CONTRACT §3–§5): 401 in the route's own error shape, and
 * nothing stored. Another tenant's API key on a tenant's resources is 404 — never 403, never
 * data — and another tenant's callback secret on a Spark body routed to a tenant is 401.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import * as drive from "../sim/drive";
import type { InboundMethod } from "../src/spark/messages";
import { tenantInput } from "./fixtures";
import { ADMIN_TOKEN, flush } from "./helpers";
import {
  SPARK_METHODS,
  asAdmin,
  bearer,
  counts,
  expectApiAnswer,
  expectSparkAnswer,
  gateway,
  expectNoSecrets,
  installSandbox,
  operatorSecrets,
  quietConsole,
  read,
  secretsOf,
  tableDigest,
} from "./abuse-support";
import type { SimTenantHandle } from "./spark-harness";
import { freshMachine, freshSite } from "./support";
import type { SessionBody } from "./support";

const sandbox = installSandbox();
afterAll(() => vi.restoreAllMocks());
const logs = quietConsole();

type Tenant = SimTenantHandle & { siteIds: number[]; machine: number };

/** A owns the resources under attack; B is another tenant with keys of its own. */
let a: Tenant;
let b: Tenant;
/** A's sessions: authorized (Device Start) and awaiting a card (StartSession). */
let sessionA: string;
let awaitingA: string;
let eventA: string;
let nayax = 7_000_000;

async function tenant(): Promise<Tenant> {
  const siteIds = [freshSite(), freshSite()];
  const machine = freshMachine();
  const created = await sandbox.tenant({ siteIds, machines: [{ siteId: siteIds[0], machineId: machine }], webhookUrl: `https://hooks-${siteIds[0]}.csms.example/spark` });
  return { ...created, siteIds, machine };
}

async function sparkAs(secret: string, method: string, body: unknown) {
  return read(await gateway(`/spark/${method}`, { method: "POST", headers: { "X-Spark-Secret": secret, "Content-Type": "application/json" }, body: JSON.stringify(body) }));
}

beforeAll(async () => {
  a = await tenant();
  b = await tenant();
  sessionA = crypto.randomUUID();
  const notified = await sparkAs(a.sparkCallbackSecret, "TransactionNotify", drive.transactionNotify({ SiteId: a.siteIds[0], MachineId: a.machine, SparkTransactionId: sessionA, NayaxTransactionId: nayax++ }));
  expect(notified.status, notified.text).toBe(200);
  const started = await sparkAs(a.sparkCallbackSecret, "StartSession", drive.startSession({ MachineId: a.machine, TokenId: a.spark.tokenId }));
  expect(started.status, started.text).toBe(200);
  awaitingA = (started.body as { SparkTransactionId: string }).SparkTransactionId;
  await flush(sessionA);
  await flush(awaitingA);
  const session = await read<SessionBody>(await bearer(a.apiKey, `/v1/sessions/${sessionA}`));
  eventA = session.body.events[0]!.id;
  const station = await read(await bearer(a.apiKey, `/v1/stations/${a.machine}/5`, { method: "PUT", json: { availability: "busy", display: "A's display" } }));
  expect(station.status, station.text).toBe(200);
});

// ---------------------------------------------------------------- the routes

interface Route {
  method: string;
  template: string;
  security: "ApiKey" | "AdminToken";
}

async function documentedRoutes(): Promise<Route[]> {
  const answer = await read<{ paths: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>> }>(await gateway("/openapi.json"));
  expect(answer.status).toBe(200);
  const routes: Route[] = [];
  for (const [template, operations] of Object.entries(answer.body.paths)) {
    // The Spark callbacks are documented too; they are covered below, from the contract's nine methods.
    if (template.startsWith("/spark/")) continue;
    for (const [method, operation] of Object.entries(operations)) {
      // Declared public (`security: []`): health and the reference itself.
      if (operation.security?.length === 0) continue;
      const scheme = Object.keys(operation.security?.[0] ?? {})[0];
      // The OCPI endpoints take a CPO's credentials token; test/ocpi-registration.test.ts covers them.
      if (scheme === "OcpiToken") continue;
      expect(["ApiKey", "AdminToken"], `${method} ${template} declares no security`).toContain(scheme);
      routes.push({ method: method.toUpperCase(), template, security: scheme as Route["security"] });
    }
  }
  return routes;
}

/** A's identifiers in a documented path template; a template with an unknown parameter fails here. */
function fill(template: string): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name === "id") {
      if (template.startsWith("/admin/tenants/")) return a.id;
      if (template.startsWith("/v1/sessions/")) return sessionA;
      if (template.startsWith("/v1/webhook-endpoints/")) return a.webhookEndpoint!.id;
      if (template.startsWith("/v1/events/")) return eventA;
    }
    if (name === "siteId") return String(a.siteIds[0]);
    if (name === "machineId") return String(a.machine);
    if (name === "serviceStationNumber") return "5";
    throw new Error(`abuse-auth: no value for {${name}} in ${template}; teach fill() about it`);
  });
}

/** A valid body for each route that takes one, so that only the credential is wrong. */
function bodyFor(method: string, template: string): unknown {
  const key = `${method} ${template}`;
  const bodies: Record<string, unknown> = {
    "POST /v1/sessions": { terminal: { hwSerial: "0434334921100366" }, amount: "15.00" },
    "POST /v1/sessions/{id}/settle": { amount: "1.00" },
    "POST /v1/sessions/{id}/cancel": {},
    "POST /v1/sessions/{id}/resolve": { outcome: "settled", note: "checked with Nayax" },
    "PUT /v1/decision-endpoint": { url: "https://attacker.example/decide", fallback: "approve" },
    "PUT /v1/stations/{machineId}/{serviceStationNumber}": { availability: "out_of_service" },
    "POST /v1/webhook-endpoints": { url: "https://attacker.example/hooks" },
    "PATCH /v1/webhook-endpoints/{id}": { url: "https://attacker.example/hooks", enabled: true },
    "POST /v1/webhook-endpoints/{id}/recover": { since: "2020-01-01T00:00:00Z" },
    "POST /v1/events/{id}/redeliver": {},
    "POST /admin/tenants": { ...tenantInput, siteIds: [freshSite()], spark: { ...tenantInput.spark, tokenId: 990_000 + freshSite() } },
    "PATCH /admin/tenants/{id}": { name: "Taken over" },
    "POST /admin/tenants/{id}/claims": { siteIds: [freshSite()] },
    "POST /admin/tenants/{id}/rotate-api-key": { overlapSeconds: 0 },
    "POST /admin/tenants/{id}/rotate-callback-secret": { overlapSeconds: 0 },
  };
  return bodies[key];
}

function request(route: Route, headers: Record<string, string>) {
  const json = bodyFor(route.method, route.template);
  return gateway(fill(route.template), { method: route.method, headers, ...(json !== undefined ? { json } : {}) });
}

/** Everything an accepted request on these routes could write. */
const everything = async () => [await counts(), await tableDigest("tenants"), await tableDigest("webhook_endpoints"), await tableDigest("stations"), await tableDigest("credentials")];

// ---------------------------------------------------------------- /v1 and /admin

describe("tenant and operator routes from /openapi.json", () => {
  it("the document lists both APIs, every operation with its security scheme", async () => {
    const routes = await documentedRoutes();
    expect(routes.filter((r) => r.security === "ApiKey").length).toBeGreaterThanOrEqual(18);
    expect(routes.filter((r) => r.security === "AdminToken").length).toBeGreaterThanOrEqual(11);
    for (const route of routes) expect(route.template.startsWith(route.security === "ApiKey" ? "/v1/" : "/admin/"), `${route.method} ${route.template}`).toBe(true);
  });

  it("401 without a credential, with a wrong one, or with a credential of the wrong kind; nothing stored", async () => {
    const routes = await documentedRoutes();
    const webhookSecret = a.webhookEndpoint!.secret;
    const forTenantRoutes: Array<[string, Record<string, string>]> = [
      ["no Authorization", {}],
      ["an empty bearer", { Authorization: "Bearer " }],
      ["a wrong API key", { Authorization: "Bearer sk_this-is-not-a-key" }],
      ["the API key with one character more", { Authorization: `Bearer ${a.apiKey}x` }],
      ["the API key without its last character", { Authorization: `Bearer ${a.apiKey.slice(0, -1)}` }],
      ["the API key in Basic auth", { Authorization: `Basic ${btoa(`${a.apiKey}:`)}` }],
      ["the API key in another header", { "X-Api-Key": a.apiKey }],
      ["the admin token", { Authorization: `Bearer ${ADMIN_TOKEN}` }],
      ["the Spark callback secret", { Authorization: `Bearer ${a.sparkCallbackSecret}` }],
      ["the Spark callback secret as X-Spark-Secret", { "X-Spark-Secret": a.sparkCallbackSecret }],
      ["the webhook signing secret", { Authorization: `Bearer ${webhookSecret}` }],
      ["the Spark secretToken", { Authorization: `Bearer ${a.spark.secretToken}` }],
    ];
    const forAdminRoutes: Array<[string, Record<string, string>]> = [
      ["no Authorization", {}],
      ["an empty bearer", { Authorization: "Bearer " }],
      ["a wrong token", { Authorization: "Bearer dev-admin-token" }],
      ["the admin token with one character more", { Authorization: `Bearer ${ADMIN_TOKEN}x` }],
      ["the admin token without its last character", { Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
      ["the admin token in Basic auth", { Authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` }],
      ["the admin token in another header", { "X-Admin-Token": ADMIN_TOKEN }],
      ["a tenant API key", { Authorization: `Bearer ${a.apiKey}` }],
      ["a Spark callback secret", { Authorization: `Bearer ${a.sparkCallbackSecret}` }],
      ["a webhook signing secret", { Authorization: `Bearer ${webhookSecret}` }],
    ];
    const before = await everything();
    let checked = 0;
    for (const route of routes) {
      for (const [what, headers] of route.security === "ApiKey" ? forTenantRoutes : forAdminRoutes) {
        const answer = await read(await request(route, headers));
        const label = `${route.method} ${route.template} with ${what}`;
        expectApiAnswer(answer, label);
        expect(answer.status, `${label}: ${answer.text}`).toBe(401);
        expect(Object.keys(answer.body as object), label).toEqual(["error"]);
        expect((answer.body as { error: { code: string } }).error.code, label).toBe("unauthorized");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(250);
    expect(await everything()).toEqual(before);
  });

  it("another tenant's API key: 404 for every resource of the tenant (never 403, never its data), and lists without it", async () => {
    const routes = (await documentedRoutes()).filter((r) => r.security === "ApiKey");
    const sessionBefore = await read(await bearer(a.apiKey, `/v1/sessions/${sessionA}`));
    const endpointBefore = await read(await bearer(a.apiKey, `/v1/webhook-endpoints/${a.webhookEndpoint!.id}`));
    const attemptsBefore = await counts(["delivery_attempts", "deliveries", "session_events", "sessions"]);
    // What of A's must never show up in an answer to B.
    const aData = [a.id, a.webhookEndpoint!.url, a.webhookEndpoint!.id, eventA, sessionA, awaitingA, "A's display"];

    for (const route of routes.filter((r) => r.template.includes("{id}"))) {
      const answer = await read(await request(route, { Authorization: `Bearer ${b.apiKey}` }));
      const label = `${route.method} ${route.template} with B's key`;
      expectApiAnswer(answer, label);
      expect(answer.status, `${label}: ${answer.text}`).toBe(404);
      expect(Object.keys(answer.body as object), label).toEqual(["error"]);
      // The id B sent may be echoed; nothing else of A's.
      for (const datum of aData.filter((d) => !fill(route.template).includes(d))) expect(answer.text, label).not.toContain(datum);
    }
    for (const path of ["/v1/sessions?limit=200", `/v1/events?limit=200&sessionId=${sessionA}`, "/v1/events?limit=200", "/v1/webhook-endpoints?limit=200", `/v1/sessions?siteId=${a.siteIds[0]}`]) {
      const answer = await read(await bearer(b.apiKey, path));
      expectApiAnswer(answer, path);
      expect(answer.status, answer.text).toBe(200);
      for (const datum of aData) expect(answer.text, `${path} with B's key`).not.toContain(datum);
    }
    // B's station state for A's machine is B's own: A's InfoQuery still answers A's.
    const station = await read(await bearer(b.apiKey, `/v1/stations/${a.machine}/5`, { method: "PUT", json: { availability: "available", display: "B's display" } }));
    expect(station.status, station.text).toBe(200);
    const info = await sparkAs(a.sparkCallbackSecret, "InfoQuery", drive.infoQuery({ SiteId: a.siteIds[0], MachineId: a.machine, ServiceStationNumber: "5", SparkTransactionId: null }));
    expect(info.status, info.text).toBe(200);
    expect(info.text).toContain("A's display");
    expect(info.text).not.toContain("B's display");

    expect((await read(await bearer(a.apiKey, `/v1/sessions/${sessionA}`))).text).toBe(sessionBefore.text);
    expect((await read(await bearer(a.apiKey, `/v1/webhook-endpoints/${a.webhookEndpoint!.id}`))).text).toBe(endpointBefore.text);
    expect(await counts(["delivery_attempts", "deliveries", "session_events", "sessions"])).toEqual(attemptsBefore);
  });

  it("a rotated-out API key and a disabled tenant's key are 401; the new key and re-enabling work", async () => {
    const c = await tenant();
    const rotated = await read<{ apiKey: string }>(await asAdmin(`/admin/tenants/${c.id}/rotate-api-key`, { method: "POST", json: { overlapSeconds: 0 } }));
    expect(rotated.status, rotated.text).toBe(200);
    expect((await bearer(c.apiKey, "/v1/sessions")).status).toBe(401);
    expect((await bearer(rotated.body.apiKey, "/v1/sessions")).status).toBe(200);
    expect((await asAdmin(`/admin/tenants/${c.id}/disable`, { method: "POST" })).status).toBe(200);
    expect((await bearer(rotated.body.apiKey, "/v1/sessions")).status).toBe(401);
    const refused = await sparkAs(c.sparkCallbackSecret, "InfoQuery", drive.infoQuery({ SiteId: c.siteIds[0], MachineId: c.machine }));
    expectSparkAnswer(refused, "disabled tenant's callback secret");
    expect(refused.status).toBe(401);
    expect((await asAdmin(`/admin/tenants/${c.id}/enable`, { method: "POST" })).status).toBe(200);
    expect((await bearer(rotated.body.apiKey, "/v1/sessions")).status).toBe(200);
  });
});

// ---------------------------------------------------------------- /spark

/** A body of each method that routes to A (by site, session or TokenId). */
function sparkBody(method: InboundMethod): Record<string, unknown> {
  const site = a.siteIds[0];
  switch (method) {
    case "TransactionNotify":
      return drive.transactionNotify({ SiteId: site, MachineId: a.machine, SparkTransactionId: crypto.randomUUID(), NayaxTransactionId: nayax++ });
    case "StopCallback":
      return drive.stopCallback({ StopSiteId: site, MachineId: a.machine, SparkTransactionId: sessionA });
    case "StopNotify":
      return drive.stopNotify({ StopSiteId: site, MachineId: a.machine });
    case "TransactionCallback":
      return drive.transactionCallback({ SparkTransactionId: awaitingA, SiteId: site, MachineId: a.machine, NayaxTransactionId: nayax++ });
    case "DeclineCallback":
      return drive.declineCallback({ SparkTransactionId: awaitingA, MachineId: a.machine });
    case "TimeoutCallback":
      return drive.timeoutCallback({ SparkTransactionId: sessionA, MachineId: a.machine });
    case "StartSession":
      return drive.startSession({ MachineId: a.machine, TokenId: a.spark.tokenId });
    case "InfoQuery":
      return drive.infoQuery({ SiteId: site, MachineId: a.machine });
    case "AvailabilityCheck":
      return drive.availabilityCheck({ SiteId: site, MachineId: a.machine });
  }
}

describe("Spark routes", () => {
  it.each(SPARK_METHODS)("POST /spark/%s: 401 without the routed tenant's callback secret, nothing stored", async (method) => {
    const sessionsBefore = [await read(await bearer(a.apiKey, `/v1/sessions/${sessionA}`)), await read(await bearer(a.apiKey, `/v1/sessions/${awaitingA}`))].map((r) => r.text);
    const before = await counts(["sessions", "session_events", "stations"]);
    const credentials: Array<[string, Record<string, string>]> = [
      ["no X-Spark-Secret", {}],
      ["an empty X-Spark-Secret", { "X-Spark-Secret": "" }],
      ["a wrong secret", { "X-Spark-Secret": "scs_not-a-secret" }],
      ["the secret with one character more", { "X-Spark-Secret": `${a.sparkCallbackSecret}x` }],
      ["the tenant's API key", { "X-Spark-Secret": a.apiKey }],
      ["the admin token", { "X-Spark-Secret": ADMIN_TOKEN }],
      ["the webhook signing secret", { "X-Spark-Secret": a.webhookEndpoint!.secret }],
      ["the Spark secretToken", { "X-Spark-Secret": a.spark.secretToken }],
      ["the secret as a bearer token", { Authorization: `Bearer ${a.sparkCallbackSecret}` }],
      ["another tenant's callback secret", { "X-Spark-Secret": b.sparkCallbackSecret }],
    ];
    for (const [what, headers] of credentials) {
      const answer = await read(await gateway(`/spark/${method}`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(sparkBody(method)) }));
      const label = `${method} with ${what}`;
      expectSparkAnswer(answer, label);
      expect(answer.status, `${label}: ${answer.text}`).toBe(401);
    }
    expect(await counts(["sessions", "session_events", "stations"])).toEqual(before);
    const sessionsAfter = [await read(await bearer(a.apiKey, `/v1/sessions/${sessionA}`)), await read(await bearer(a.apiKey, `/v1/sessions/${awaitingA}`))].map((r) => r.text);
    expect(sessionsAfter).toEqual(sessionsBefore);
  });
});

describe("Spark bodies that name another tenant's session under the caller's own routing", () => {
  it("B cannot reach A's session through B's own site, card or NayaxTransactionId, nor learn anything of it", async () => {
    const before = (await read(await bearer(a.apiKey, `/v1/sessions/${sessionA}`))).text;
    const aSession = JSON.parse(before) as { nayaxTransactionId: number; card: { hash: string } };
    const bSite = b.siteIds[0];
    const attempts: Array<[string, Record<string, unknown>]> = [
      // A's SparkTransactionId, on B's site with B's secret.
      ["TransactionNotify", drive.transactionNotify({ SiteId: bSite, MachineId: b.machine, SparkTransactionId: sessionA, NayaxTransactionId: nayax++ })],
      ["TransactionNotify", drive.transactionNotify({ SiteId: bSite, MachineId: a.machine, SparkTransactionId: sessionA, NayaxTransactionId: aSession.nayaxTransactionId })],
      // A's card and NayaxTransactionId, matched among B's sessions only.
      ["StopCallback", drive.stopCallback({ StopSiteId: bSite, MachineId: a.machine, SparkTransactionId: null, NayaxTransactionId: aSession.nayaxTransactionId, CardHash: aSession.card.hash })],
      ["StopCallback", drive.stopCallback({ StopSiteId: bSite, MachineId: a.machine, SparkTransactionId: null, NayaxTransactionId: null, CardHash: aSession.card.hash })],
      ["StopNotify", drive.stopNotify({ StopSiteId: bSite, MachineId: a.machine, CardHash: aSession.card.hash })],
      ["InfoQuery", drive.infoQuery({ SiteId: bSite, MachineId: a.machine, SparkTransactionId: sessionA })],
    ];
    for (const [method, body] of attempts) {
      const answer = await sparkAs(b.sparkCallbackSecret, method, body);
      const label = `${method} ${JSON.stringify(body)}`;
      expectSparkAnswer(answer, label);
      if (answer.status === 200) {
        // Answered (as B's own business), it must not be A's session that answers.
        expect((answer.body as { Status: { Verdict: string } }).Status.Verdict === "Approved" && method !== "InfoQuery", `${label}: ${answer.text}`).toBe(false);
      }
      for (const datum of [a.id, "A's display"]) expect(answer.text, label).not.toContain(datum);
    }
    await flush(sessionA);
    expect((await read(await bearer(a.apiKey, `/v1/sessions/${sessionA}`))).text).toBe(before);
    expect((await read(await bearer(b.apiKey, `/v1/sessions/${sessionA}`))).status).toBe(404);
  });
});

describe("logs of this file", () => {
  it("carry none of the credentials presented in the wrong places", () => {
    expect(logs.lines.length).toBeGreaterThan(0);
    expectNoSecrets(logs.lines, [...secretsOf(a), ...secretsOf(b), ...operatorSecrets()], "console");
  });
});
