/**
 * The API reference is complete (CONTRACT §11 "API reference"): every route the Hono app serves
 * is in `/openapi.json` under its path template, with a summary, a description and a schema for
 * every answer it declares; every error answer has its error schema and every status a route can
 * answer is listed; the error codes are enumerated from the code itself; sessions and events are
 * typed as the gateway sends them.
 */
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/lib/errors";
import { createApp } from "../src/routes/app";
import { SessionEventData, TestEventData } from "../src/routes/schemas";
import { EVENT_TYPES } from "../src/sessions/model";
import { inboundSchemas } from "../src/spark/messages";
import { call } from "./helpers";
import { authorize, tenantJson, tenantWithSites } from "./support";

interface Media {
  schema?: SchemaNode;
  example?: unknown;
}
interface Response {
  description?: string;
  content?: Record<string, Media>;
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, unknown>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, Response>;
}
interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  enum?: string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  const?: unknown;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, Record<string, Operation>>;
  tags?: Array<{ name: string; description?: string; externalDocs?: { url: string } }>;
  components: { schemas: Record<string, SchemaNode> };
}

const spec = async () => (await (await call("/openapi.json")).json()) as Document;

/** What the app itself serves but is not an API, so not in the reference. */
const NOT_IN_REFERENCE: Array<{ route: RegExp; why: string }> = [
  { route: /^(GET|POST) \/portal(\/.*)?$/, why: "the tenant portal's HTML pages and forms, a browser console over the tenant API (not an API)" },
  { route: /^ALL \/portal\/\*$/, why: "the portal's own not-found page" },
  { route: /^GET \/docs\/assets\//, why: "Swagger UI's own files, which /docs loads" },
  { route: /^ALL \/spark\/\*$/, why: "any other path under /spark: a Spark-shaped 404" },
  { route: /^ALL \/ocpi\/\*$/, why: "any other path under /ocpi: a 404 envelope" },
  { route: /^ALL \/ocpi\/\{version\}\/\{module\}(\/\*)?$/, why: "a method a served OCPI module does not support: a 405 envelope" },
];

/**
 * Routes with a parameter the reference spells out: the Spark router serves `/spark/:method`
 * with one handler, and each callback is its own operation (POST) in the reference.
 */
const SPELLED_OUT: Record<string, string[]> = { "POST /spark/{method}": Object.keys(inboundSchemas) };

/** Hono's `:name` and `:name{regex}` as OpenAPI's `{name}`. */
const template = (path: string) => path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");

/** The handler a route runs: sub-apps with their own error handler wrap theirs. */
type Handler = ((...args: unknown[]) => unknown) & { __COMPOSED_HANDLER?: Handler };
const unwrap = (handler: Handler): Handler => (handler.__COMPOSED_HANDLER ? unwrap(handler.__COMPOSED_HANDLER) : handler);

/**
 * Every `METHOD /path` the app answers. Middleware (`use`, registered for every method, taking
 * `next`) is not a route; an `all(…)` handler that answers by itself is.
 */
function servedRoutes(): string[] {
  const served = new Set<string>();
  for (const route of createApp().routes) {
    const handler = unwrap(route.handler as unknown as Handler);
    if (route.method === "ALL" && handler.length >= 2) continue;
    served.add(`${route.method} ${template(route.path)}`);
  }
  return [...served];
}

const isErrorStatus = (status: string) => /^[45]\d\d$/.test(status);
const schemaOf = (response: Response) => response.content?.["application/json"]?.schema ?? Object.values(response.content ?? {})[0]?.schema;

/** A schema with its `$ref` followed, and of a nullable `anyOf`, the part that is not null. */
function deref(doc: Document, node: SchemaNode): SchemaNode {
  if (node.$ref) return deref(doc, doc.components.schemas[node.$ref.replace("#/components/schemas/", "")]!);
  const parts = node.anyOf ?? node.oneOf;
  if (!node.properties && parts) {
    const object = parts.map((part) => deref(doc, part)).find((part) => part.properties);
    if (object) return object;
  }
  return node;
}

/** Every operation of the document, as `[label, path, method, operation]`. */
function operations(doc: Document): Array<[string, string, string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, path, method, op] as [string, string, string, Operation]));
}

describe("/openapi.json covers every route the app serves", () => {
  it("lists each one under its path template, with a summary, a description and a schema for every answer", async () => {
    const doc = await spec();
    const served = servedRoutes();
    expect(served.length).toBeGreaterThan(90);
    const missing: string[] = [];
    for (const route of served) {
      if (NOT_IN_REFERENCE.some((rule) => rule.route.test(route))) continue;
      const [method, path] = route.split(" ") as [string, string];
      const paths = SPELLED_OUT[route]?.map((name) => path.replace(/\{\w+\}$/, name)) ?? [path];
      for (const documented of paths) {
        const op = doc.paths[documented]?.[method.toLowerCase()];
        if (!op) {
          missing.push(`${method} ${documented}`);
          continue;
        }
        const label = `${method} ${documented}`;
        expect(op.summary?.trim(), `${label}: summary`).toBeTruthy();
        expect(op.description?.trim(), `${label}: description`).toBeTruthy();
        expect(op.description!.length, `${label}: a description says more than the summary`).toBeGreaterThan(op.summary!.length);
        expect(op.tags?.length, `${label}: tags`).toBeGreaterThan(0);
        // OpenAPI requires every path parameter to be marked required.
        for (const param of op.parameters ?? []) if (param.in === "path") expect(param.required, `${label}: path parameter ${param.name}`).toBe(true);
        for (const [status, response] of Object.entries(op.responses)) {
          expect(response.description?.trim(), `${label} ${status}: description`).toBeTruthy();
          // 204 No Content has no body by definition; everything else says what its body is.
          if (status !== "204") expect(schemaOf(response), `${label} ${status}: schema`).toBeDefined();
        }
      }
    }
    expect(missing, "served but not in /openapi.json").toEqual([]);
  });

  it("documents nothing the app does not serve", async () => {
    const doc = await spec();
    const served = new Set(servedRoutes());
    const spelled = new Map(Object.entries(SPELLED_OUT).flatMap(([route, names]) => names.map((name) => [route.replace(/\{\w+\}$/, name), route] as const)));
    for (const [label] of operations(doc)) {
      expect(served.has(label) || served.has(spelled.get(label) ?? ""), `${label} is documented but not served`).toBe(true);
    }
  });

  it("the operations documented as public (`security: []`) answer without credentials, and every other one declares its scheme", async () => {
    const doc = await spec();
    const open: string[] = [];
    for (const [label, path, method, op] of operations(doc)) {
      if (op.security?.length === 0) {
        open.push(label);
        expect(method, label).toBe("get");
        expect((await call(path)).status, label).toBe(200);
      } else {
        expect(Object.keys(op.security?.[0] ?? {}), label).toHaveLength(1);
      }
    }
    expect(open.sort()).toEqual(["GET /docs", "GET /health", "GET /openapi.json"]);
  });
});

describe("error answers", () => {
  it("use the Error schema on the tenant and operator APIs, Spark's shape on callbacks and the envelope on OCPI", async () => {
    const doc = await spec();
    for (const [label, path, , op] of operations(doc)) {
      const expected = path.startsWith("/spark/") ? "SparkError" : path.startsWith("/ocpi/") ? "OcpiEnvelope" : "Error";
      for (const [status, response] of Object.entries(op.responses)) {
        if (!isErrorStatus(status)) continue;
        expect(schemaOf(response)?.$ref, `${label} ${status}`).toBe(`#/components/schemas/${expected}`);
      }
    }
  });

  it("list every status each kind of route can answer", async () => {
    const doc = await spec();
    const lacking: string[] = [];
    const needs = (label: string, op: Operation, statuses: number[]) => {
      for (const status of statuses) if (!op.responses[String(status)]) lacking.push(`${label} ${status}`);
    };
    for (const [label, path, method, op] of operations(doc)) {
      // A body, or a query (lists refuse unknown parameters), can always be invalid.
      const hasInput = Boolean(op.requestBody) || (op.parameters ?? []).some((p) => p.in === "query");
      const hasPathParams = path.includes("{");
      if (path.startsWith("/v1/") || path.startsWith("/admin/")) {
        // Every request authenticates and may meet a bug; a body may be too large on every non-GET route.
        needs(label, op, [401, 500]);
        if (path.startsWith("/v1/")) needs(label, op, [429]);
        if (method !== "get") needs(label, op, [413]);
        if (hasInput) needs(label, op, [400]);
        // What a path names may not exist, except for a PUT, which creates it.
        if (hasPathParams && method !== "put") needs(label, op, [404]);
      } else if (path.startsWith("/spark/")) {
        needs(label, op, [400, 401, 404, 409, 413, 500]);
      } else if (path.startsWith("/ocpi/")) {
        needs(label, op, [401, 500]);
        if (op.requestBody || ["put", "patch", "post"].includes(method)) needs(label, op, [400, 413]);
      }
    }
    expect(lacking).toEqual([]);
  });

  it("declare 415 where a body must be JSON and 502 where Spark or the CPO is called", async () => {
    const doc = await spec();
    for (const path of ["/admin/tenants/{id}", "/v1/webhook-endpoints/{id}"]) expect(doc.paths[path]!.patch!.responses["415"], path).toBeDefined();
    for (const path of ["/v1/sessions", "/v1/sessions/{id}/settle", "/v1/sessions/{id}/cancel", "/v1/external-transactions/settle", "/v1/external-transactions/cancel", "/v1/ocpi/connection", "/v1/ocpi/connection/rotate"]) {
      expect(doc.paths[path]!.post!.responses["502"], path).toBeDefined();
    }
    for (const path of ["/v1/sessions/{id}/settle", "/v1/external-transactions/settle"]) expect(doc.paths[path]!.post!.responses["422"], path).toBeDefined();
  });

  it("the Error schema enumerates every code, each with its meaning, and carries Spark's code and description", async () => {
    const error = (await spec()).components.schemas["Error"]!.properties!["error"]!;
    const code = error.properties!["code"]!;
    expect([...code.enum!].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const name of code.enum!) expect(code.description, name).toContain(`\`${name}\``);
    expect(error.required).toEqual(expect.arrayContaining(["code", "message", "details"]));
    expect(error.required).not.toContain("spark");
    const sparkField = error.properties!["spark"]!;
    expect(Object.keys(sparkField.properties!).sort()).toEqual(["code", "description"]);
  });

  it("the enumeration holds every code the source answers, and nothing else", () => {
    const sources = import.meta.glob(["../src/**/*.ts", "../src/**/*.tsx", "!../src/**/*.test.ts", "!../src/routes/docs-assets.gen.ts"], { query: "?raw", import: "default", eager: true }) as Record<string, string>;
    const text = Object.values(sources).join("\n");
    expect(text).toContain("class ApiError");
    const found = new Set<string>();
    // `new ApiError(404, "not_found", …)`, the session rules' `refused(409, "conflict", …)`, `{status: 409, code: "…"}`.
    for (const m of text.matchAll(/\b(?:ApiError|refused)\(\s*[\w.]+,\s*"([a-z][a-z_]*)"/g)) found.add(m[1]!);
    for (const m of text.matchAll(/\bstatus: \d{3}, code: "([a-z][a-z_]*)"/g)) found.add(m[1]!);
    // Hono's own HTTP errors, given a code in the app's error handler.
    for (const m of text.matchAll(/\bconst code = ([^;]+);/g)) for (const s of m[1]!.matchAll(/"([a-z][a-z_]*)"/g)) found.add(s[1]!);
    // Codes built from a prefix (`something_${status}`), if any: the enumeration spells each out.
    const prefixes = [...text.matchAll(/\b(?:ApiError|refused)\(\s*[\w.]+,\s*`([a-z][a-z_]*)\$\{/g)].map((m) => m[1]!);
    /** Refusals of Spark's callbacks: Spark is answered in its own shape, which has no code. */
    const sparkOnly = ["wrong_tenant"];
    const documented = Object.keys(ERROR_CODES);
    for (const code of found) if (!sparkOnly.includes(code)) expect(documented, `${code} is answered but not enumerated`).toContain(code);
    for (const prefix of prefixes) expect(documented.some((code) => code.startsWith(prefix)), prefix).toBe(true);
    for (const code of documented) expect(found.has(code) || prefixes.some((p) => code.startsWith(p)), `${code} is enumerated but never answered`).toBe(true);
  });

  it("a real error answer matches the schema: an enumerated code and the fields it documents", async () => {
    const tenant = await tenantWithSites();
    const answer = await tenantJson<{ error: Record<string, unknown> }>(tenant.apiKey, "/v1/sessions?bogus=1");
    expect(answer.status).toBe(400);
    expect(Object.keys(ERROR_CODES)).toContain(answer.body.error["code"]);
    const props = Object.keys((await spec()).components.schemas["Error"]!.properties!["error"]!.properties!);
    for (const key of Object.keys(answer.body.error)) expect(props, key).toContain(key);
  });
});

describe("sessions and events are typed as the gateway sends them", () => {
  it("the Session schema has exactly the fields of a session the API answers", async () => {
    const doc = await spec();
    const tenant = await tenantWithSites();
    const { id } = await authorize(tenant, { SiteId: tenant.siteIds[0]! });
    const read = await tenantJson<Record<string, unknown>>(tenant.apiKey, `/v1/sessions/${id}`);
    expect(read.status).toBe(200);
    const { events: _events, ...session } = read.body;
    const schema = doc.components.schemas["Session"]!;
    expect(Object.keys(schema.properties!).sort()).toEqual(Object.keys(session).sort());
    expect(schema.required!.sort()).toEqual(Object.keys(session).sort());
  });

  it("types decision, ocpi, operation and the review fields of a session", async () => {
    const doc = await spec();
    const props = doc.components.schemas["Session"]!.properties!;
    const objectOf = (node: SchemaNode) => deref(doc, node);
    expect(Object.keys(objectOf(props["decision"]!).properties!).sort()).toEqual(["approved", "durationMs", "error", "message", "source"]);
    const ocpi = objectOf(props["ocpi"]!);
    expect(Object.keys(ocpi.properties!).sort()).toEqual(
      ["cancelReason", "cdrId", "charge", "connectorId", "cost", "countryCode", "endedAt", "evseUid", "kwh", "locationId", "partyId", "reviewReasons", "sessionId", "start", "startedAt", "status", "stop", "tokenUid", "version"].sort(),
    );
    expect(Object.keys(objectOf(ocpi.properties!["start"]!).properties!)).toEqual(expect.arrayContaining(["sentAt", "response", "result", "resultAt"]));
    expect(Object.keys(objectOf(ocpi.properties!["cost"]!).properties!).sort()).toEqual(["exclVat", "inclVat"]);
    expect(Object.keys(objectOf(props["operation"]!).properties!).sort()).toEqual(["amount", "attempts", "kind", "lastError", "since", "state"]);
    expect(JSON.stringify(props["resolvedBy"])).toContain("tenant");
    expect(props["resolutionNote"]).toBeDefined();
  });

  it("Event.data is `{sequence, session}` for session events and the test event's `{endpointId}`", async () => {
    const doc = await spec();
    const data = doc.components.schemas["Event"]!.properties!["data"]!;
    const shapes = (data.anyOf ?? data.oneOf ?? []).map((part) => deref(doc, part));
    expect(shapes.map((shape) => Object.keys(shape.properties!).sort())).toEqual([["sequence", "session"], ["endpointId"]]);
    expect(shapes[0]!.properties!["session"]!.$ref ?? shapes[0]!.properties!["session"]!.allOf?.[0]?.$ref).toBe("#/components/schemas/Session");
    expect(shapes[0]!.required!.sort()).toEqual(["sequence", "session"]);
  });

  it("every webhook's example session has exactly the Session schema's fields, and its type's data shape", async () => {
    const doc = await spec();
    const fields = Object.keys(doc.components.schemas["Session"]!.properties!).sort();
    for (const type of EVENT_TYPES) {
      const op = doc.webhooks[type]!["post"]!;
      expect(op.summary, type).not.toMatch(/^The session event /);
      const example = op.requestBody!.content["application/json"]!.example as { type: string; data: Record<string, unknown> };
      // The example is what the schema describes (a zod object drops unknown keys, hence the key check too).
      const parsed = (type === "webhook.test" ? TestEventData : SessionEventData).safeParse(example.data);
      expect(parsed.error?.issues ?? [], type).toEqual([]);
      if (type === "webhook.test") {
        expect(Object.keys(example.data)).toEqual(["endpointId"]);
        continue;
      }
      expect(Object.keys(example.data["session"] as object).sort(), type).toEqual(fields);
      expect((example.data["session"] as { status: string }).status, type).toBeTruthy();
    }
    const charging = doc.webhooks["session.charging"]!["post"]!.requestBody!.content["application/json"]!.example as { data: { session: { ocpi: { status: string } | null } } };
    expect(charging.data.session.ocpi?.status).toBe("ACTIVE");
  });
});

describe("OCPI routes", () => {
  it("are listed under their version tags with a pointer to the specification and the contract's sections", async () => {
    const doc = await spec();
    const ocpi = operations(doc).filter(([, path]) => path.startsWith("/ocpi/"));
    expect(ocpi.length).toBeGreaterThanOrEqual(25);
    for (const [label, , , op] of ocpi) {
      expect(op.tags, label).toContain("OCPI");
      expect(op.description, label).toMatch(/2\.2\.1/);
      expect(op.description, label).toMatch(/2\.1\.1/);
      expect(op.description, label).toMatch(/§7\.[234]/);
      expect(op.security, label).toEqual([{ OcpiToken: [] }]);
    }
    const tag = doc.tags?.find((t) => t.name === "OCPI");
    expect(tag?.description).toMatch(/envelope/i);
    expect(tag?.externalDocs?.url).toMatch(/ocpi/);
  });
});
