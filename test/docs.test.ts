/**
 * The API reference (CONTRACT §11 "API reference"): `/docs` served with the gateway's own copy of
 * Swagger UI, and `/openapi.json` documenting Spark's callbacks and the webhook events.
 */
import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../src/sessions/model";
import { inboundSchemas } from "../src/spark/messages";
import { call } from "./helpers";

interface Operation {
  summary?: string;
  description?: string;
  security?: unknown[];
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, { schema: { required?: string[]; properties?: Record<string, unknown> }; example?: unknown }> };
  responses: Record<string, unknown>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  webhooks?: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, Schema> };
}

const spec = async () => (await (await call("/openapi.json")).json()) as Document;

type Schema = { $ref?: string; required?: string[]; properties?: Record<string, unknown> };
/** A schema, its `$ref` followed. */
const deref = (doc: Document, schema: Schema): Schema => (schema.$ref ? deref(doc, doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")]!) : schema);

describe("GET /docs", () => {
  it("is a page that loads Swagger UI from this gateway only", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    const html = await res.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls).toContain("/docs/assets/swagger-ui-bundle.js");
    expect(urls).toContain("/docs/assets/swagger-ui.css");
    for (const url of urls) expect(url.startsWith("/"), url).toBe(true);
    expect(res.headers.get("Content-Security-Policy")).toContain("connect-src 'self'");
  });

  it("serves Swagger UI's files from the Worker's assets, and nothing else under that path", async () => {
    const js = await call("/docs/assets/swagger-ui-bundle.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toContain("javascript");
    expect(await js.text()).toContain("SwaggerUIBundle");
    const css = await call("/docs/assets/swagger-ui.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("Content-Type")).toContain("text/css");
    const init = await (await call("/docs/assets/init.js")).text();
    expect(init).toContain('url: "/openapi.json"');
    expect(init).toContain("validatorUrl: null");
    expect((await call("/docs/assets/index.html")).status).toBe(404);
    expect((await call("/docs/assets/..%2Fwrangler.toml")).status).toBe(404);
  });
});

describe("GET /openapi.json", () => {
  it("documents the nine Spark callbacks from the schemas that validate them", async () => {
    const doc = await spec();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes["SparkSecret"]).toMatchObject({ type: "apiKey", in: "header", name: "X-Spark-Secret" });
    const methods = Object.keys(inboundSchemas);
    expect(methods).toHaveLength(9);
    for (const method of methods) {
      const op = doc.paths[`/spark/${method}`]?.["post"];
      expect(op, method).toBeDefined();
      expect(op!.summary, method).toBeTruthy();
      expect(op!.description, method).toBeTruthy();
      expect(op!.security).toEqual([{ SparkSecret: [] }]);
      expect(deref(doc, op!.requestBody!.content["application/json"]!.schema).properties, method).toBeTruthy();
      for (const status of ["200", "400", "401", "404", "409", "413", "500"]) expect(op!.responses[status], `${method} ${status}`).toBeDefined();
    }
    const notify = deref(doc, doc.paths["/spark/TransactionNotify"]!["post"]!.requestBody!.content["application/json"]!.schema);
    expect(notify.required).toEqual(expect.arrayContaining(["SiteId", "MachineId", "NayaxTransactionId", "SparkTransactionId", "Amount", "CardHash", "MachineAuTime"]));
    expect(notify.required).not.toContain("CardUid");
  });

  it("documents every webhook event under `webhooks`, with its payload, an example and the signature headers", async () => {
    const doc = await spec();
    expect(Object.keys(doc.webhooks ?? {}).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const op = doc.webhooks![type]!["post"]!;
      expect(op.summary, type).toBeTruthy();
      expect(op.description, type).toContain("HMAC-SHA256");
      expect(op.description, type).toContain("{webhook-id}.{webhook-timestamp}.{raw body}");
      expect((op.parameters ?? []).filter((p) => p.in === "header").map((p) => p.name).sort()).toEqual(["webhook-id", "webhook-signature", "webhook-timestamp"]);
      const media = op.requestBody!.content["application/json"]!;
      expect(media.schema.properties, type).toHaveProperty("data");
      expect((media.example as { type: string }).type).toBe(type);
    }
    const settled = doc.webhooks!["session.settled"]!["post"]!.requestBody!.content["application/json"]!.example as { data: { sequence: number; session: { status: string } } };
    expect(settled.data.session.status).toBe("settled");
  });

  it("documents the portal sign-in link", async () => {
    const op = (await spec()).paths["/admin/tenants/{id}/portal-link"]?.["post"];
    expect(op?.summary).toBeTruthy();
    expect(op?.description).toContain("single use");
    expect(op?.security).toEqual([{ AdminToken: [] }]);
  });
});
