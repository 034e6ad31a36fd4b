/** `GET`/`PATCH /v1/ocpi/settings` (CONTRACT §7.7) and the OCPI routes in the API reference. */
import { describe, expect, it } from "vitest";
import { onboard } from "./helpers";
import { api, gateway, tableDigest } from "./ocpi-support";

let site = 950_000;

describe("OCPI amount settings", () => {
  it("answers the defaults, then changes, as decimal strings", async () => {
    const t = await onboard({ siteIds: [site++] });
    expect((await api(t.apiKey, "/v1/ocpi/settings")).body).toEqual({ retailFactor: "1", vatPercent: "0", currency: null });
    const patched = await api(t.apiKey, "/v1/ocpi/settings", { method: "PATCH", json: { retailFactor: "1.2500", vatPercent: 21, currency: "EUR" } });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ retailFactor: "1.25", vatPercent: "21", currency: "EUR" });
    expect((await api(t.apiKey, "/v1/ocpi/settings", { method: "PATCH", json: { vatPercent: "7.75" } })).body).toEqual({ retailFactor: "1.25", vatPercent: "7.75", currency: "EUR" });
    expect((await api(t.apiKey, "/v1/ocpi/settings", { method: "PATCH", json: { retailFactor: 0.8, currency: null } })).body).toEqual({ retailFactor: "0.8", vatPercent: "7.75", currency: null });
    expect((await api(t.apiKey, "/v1/ocpi/settings", { method: "PATCH", json: { vatPercent: "100", retailFactor: "0.0001" } })).body).toMatchObject({ vatPercent: "100", retailFactor: "0.0001" });
    expect((await api(t.apiKey, "/v1/ocpi/settings")).body).toMatchObject({ vatPercent: "100", retailFactor: "0.0001" });
  });

  it("refuses out-of-range values with 400 naming the field, changing nothing", async () => {
    const t = await onboard({ siteIds: [site++] });
    await api(t.apiKey, "/v1/ocpi/settings", { method: "PATCH", json: { retailFactor: "1.1" } });
    const before = await tableDigest("ocpi_settings", t.id);
    for (const [json, field] of [
      [{ retailFactor: "0" }, "retailFactor"],
      [{ retailFactor: -1 }, "retailFactor"],
      [{ retailFactor: "1.00001" }, "retailFactor"],
      [{ retailFactor: 1.00001 }, "retailFactor"],
      [{ retailFactor: "abc" }, "retailFactor"],
      [{ retailFactor: "1e2" }, "retailFactor"],
      [{ retailFactor: true }, "retailFactor"],
      [{ vatPercent: "100.01" }, "vatPercent"],
      [{ vatPercent: "-1" }, "vatPercent"],
      [{ vatPercent: "21.001" }, "vatPercent"],
      [{ currency: "eur" }, "currency"],
      [{ currency: "EURO" }, "currency"],
    ] as const) {
      const res = await api<{ error: { details: Array<{ field: string }> } }>(t.apiKey, "/v1/ocpi/settings", { method: "PATCH", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(res.body.error.details.map((d) => d.field), JSON.stringify(json)).toContain(field);
    }
    expect(await tableDigest("ocpi_settings", t.id)).toBe(before);
  });

  it("keeps each tenant's settings its own, and needs the API key", async () => {
    const a = await onboard({ siteIds: [site++] });
    const b = await onboard({ siteIds: [site++] });
    await api(a.apiKey, "/v1/ocpi/settings", { method: "PATCH", json: { retailFactor: "2" } });
    expect((await api(b.apiKey, "/v1/ocpi/settings")).body).toMatchObject({ retailFactor: "1" });
    expect((await gateway("/v1/ocpi/settings")).status).toBe(401);
    expect((await gateway("/v1/ocpi/connection", { method: "POST", json: {} })).status).toBe(401);
  });
});

describe("API reference", () => {
  it("lists the OCPI tenant routes and the /ocpi routes, each with a summary and a description", async () => {
    const doc = (await (await gateway("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { summary?: string; description?: string }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.components.securitySchemes.OcpiToken).toMatchObject({ type: "apiKey", in: "header", name: "Authorization" });
    const expected: Array<[string, string]> = [
      ["/v1/ocpi/connection", "post"],
      ["/v1/ocpi/connection", "get"],
      ["/v1/ocpi/connection", "patch"],
      ["/v1/ocpi/connection", "delete"],
      ["/v1/ocpi/connection/rotate", "post"],
      ["/v1/ocpi/connection/sync", "post"],
      ["/v1/ocpi/invitation", "post"],
      ["/v1/ocpi/settings", "get"],
      ["/v1/ocpi/settings", "patch"],
      ["/v1/stations/{machineId}/{serviceStationNumber}", "put"],
      ["/v1/stations/{machineId}/{serviceStationNumber}", "get"],
      ["/v1/stations/{machineId}", "put"],
      ["/v1/stations/{machineId}", "get"],
      ["/ocpi/versions", "get"],
      ["/ocpi/{version}", "get"],
      ["/ocpi/{version}/credentials", "post"],
      ["/ocpi/{version}/locations/{countryCode}/{partyId}/{locationId}/{evseUid}", "patch"],
      ["/ocpi/{version}/sessions/{countryCode}/{partyId}/{sessionId}", "put"],
      ["/ocpi/{version}/cdrs", "post"],
      ["/ocpi/{version}/commands/{command}/{commandId}", "post"],
    ];
    for (const [path, method] of expected) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeTruthy();
      expect(operation!.summary, `${method} ${path}`).toBeTruthy();
      expect(operation!.description, `${method} ${path}`).toBeTruthy();
    }
    expect(doc.paths["/ocpi/{version}/cdrs"]!.post!.description).toMatch(/OCPI specification/);
  });
});

describe("PATCHes without a JSON body", () => {
  it("are 415 and change nothing, like every other write route", async () => {
    const tenant = await onboard({ siteIds: [site++] });
    for (const path of ["/v1/ocpi/settings", "/v1/ocpi/connection"]) {
      const res = await api<{ error: { code: string } }>(tenant.apiKey, path, { method: "PATCH", body: JSON.stringify({ retailFactor: "2" }), headers: { "Content-Type": "text/plain" } });
      expect(res.status, path).toBe(415);
      expect(res.body.error.code).toBe("unsupported_media_type");
    }
    expect((await api<{ retailFactor: string }>(tenant.apiKey, "/v1/ocpi/settings")).body.retailFactor).toBe("1");
  });
});
