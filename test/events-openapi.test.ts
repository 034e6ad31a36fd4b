/** The API reference documents the delivery routes: every operation with a summary and a description, the new fields and filters included. */
import { expect, it } from "vitest";
import { call } from "./helpers";

interface Operation {
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string }>;
}

it("describes the events, webhook endpoint and operator delivery routes", async () => {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  const doc = (await res.json()) as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
  const mine = Object.entries(doc.paths).filter(([path]) => /^\/v1\/(events|webhook-endpoints)|^\/admin\/tenants\/\{id\}\/(events|webhook-endpoints)/.test(path));
  expect(mine.length).toBeGreaterThanOrEqual(8);
  for (const [path, operations] of mine) {
    for (const [method, operation] of Object.entries(operations)) {
      expect(operation.summary, `${method} ${path}`).toBeTruthy();
      expect(operation.description, `${method} ${path}`).toBeTruthy();
    }
  }
  const params = (path: string) => (doc.paths[path]!.get!.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
  expect(params("/v1/events")).toEqual(expect.arrayContaining(["limit", "cursor", "sessionId", "type", "endpointId", "deliveryStatus"]));
  expect(params("/admin/tenants/{id}/events")).toEqual(params("/v1/events"));
  expect(params("/v1/events/{id}/attempts")).toEqual(expect.arrayContaining(["limit", "cursor"]));
  // An Event with its deliveries (generated as allOf).
  expect(JSON.stringify(doc.components.schemas.EventWithDeliveries)).toMatch(/"deliveries":\{"type":"array","items":\{"\$ref":"#\/components\/schemas\/Delivery"\}/);
  expect(Object.keys(doc.components.schemas.Delivery!.properties!).sort()).toEqual(["attempts", "endpointId", "lastAttemptAt", "nextAttemptAt", "status"]);
  expect(Object.keys(doc.components.schemas.WebhookEndpoint!.properties!)).toContain("health");
  expect(Object.keys(doc.components.schemas.DeliveryAttempt!.properties!)).toEqual(expect.arrayContaining(["trigger", "nextAttemptAt"]));
});
