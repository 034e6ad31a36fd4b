/**
 * Tenant and operator JSON bodies (CONTRACT §5): money sent as a JSON number is read from the
 * text the client wrote, never through a binary float; and a PATCH must be sent as JSON (415).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseTenantJson } from "../src/lib/json";
import { transactionNotify } from "../sim/drive";
import { tenantInput } from "./fixtures";
import { admin, tenantCall } from "./helpers";
import { installSimulator } from "./spark-harness";
import { adminJson, expectApiError, freshMachine, sparkCall, tenantJson, tenantWithSites } from "./support";
import type { ApiErrorBody } from "./support";

afterEach(() => vi.restoreAllMocks());

/** Sends `text` exactly as written (so `9007199254740993` is not rounded on the way out). */
async function send(path: string, method: string, text: string, token: { apiKey: string } | "admin") {
  const init = { method, headers: { "Content-Type": "application/json" }, body: text };
  const res = token === "admin" ? await admin(path, init) : await tenantCall(token.apiKey, path, init);
  const body = (await res.text()) || "null";
  return { status: res.status, body: JSON.parse(body) as Record<string, unknown> & ApiErrorBody, text: body, res };
}

describe("parseTenantJson", () => {
  it("keeps the written text of money and decimal-setting numbers only, at any depth", () => {
    expect(
      parseTenantJson('{"amount": 9007199254740993, "preAuthAmount": 10.00, "products": [{"unitPrice": 2.450, "quantity": 2}], "retailFactor": 1.2500, "timeoutSeconds": 60, "siteIds": [2, 4]}'),
    ).toEqual({ amount: "9007199254740993", preAuthAmount: "10.00", products: [{ unitPrice: "2.450", quantity: "2" }], retailFactor: "1.2500", timeoutSeconds: 60, siteIds: [2, 4] });
    // Strings stay strings; anything else is as JSON.parse reads it.
    expect(parseTenantJson('{"amount": "12.25", "note": null}')).toEqual({ amount: "12.25", note: null });
    expect(() => parseTenantJson('{"amount": 1.')).toThrow(SyntaxError);
  });
});

describe("money sent as a JSON number", () => {
  it("is read exactly as written: no rounding of large or long numbers", async () => {
    const tenant = await tenantWithSites();
    const path = `/v1/stations/${freshMachine()}/1`;
    const large = await send(path, "PUT", '{"availability": "available", "preAuthAmount": 9007199254740993}', tenant);
    expect(large.status, large.text).toBe(200);
    expect(large.body.preAuthAmount).toBe("9007199254740993.00");
    const written = await send(path, "PUT", '{"availability": "available", "preAuthAmount": 10.50}', tenant);
    expect(written.body.preAuthAmount).toBe("10.50");
    const exponent = await send(path, "PUT", '{"availability": "available", "preAuthAmount": 1.25e1}', tenant);
    expect(exponent.body.preAuthAmount).toBe("12.50");

    const untouched = freshMachine();
    for (const literal of ["0.30000000000000004", "1.0000000000000000001", "12.345", "1.000"]) {
      const refused = await send(`/v1/stations/${untouched}/1`, "PUT", `{"availability": "busy", "preAuthAmount": ${literal}}`, tenant);
      expectApiError(refused, 400, "preAuthAmount");
      expect(refused.text).toMatch(/2 decimals/);
    }
    // Nothing was stored by the refusals: InfoQuery still answers the defaults.
    const info = await sparkCall("InfoQuery", { HwSerial: "h", MachineId: untouched, ServiceStationNumber: "1", SiteId: tenant.siteIds[0] }, tenant.sparkCallbackSecret);
    expect(info.body).toMatchObject({ ServiceStationAvailability: 1, Amount: 50 });
  });

  it("reads the operator's defaultPreAuthAmount exactly, on create and on update", async () => {
    const spark = { ...tenantInput.spark, tokenId: 880_000 + Math.floor(Math.random() * 10_000) };
    const site = 9_500 + Math.floor(Math.random() * 400);
    const created = await send(
      "/admin/tenants",
      "POST",
      JSON.stringify({ ...tenantInput, webhookUrl: undefined, siteIds: [site], spark }).replace(/}$/, ', "defaultPreAuthAmount": 9007199254740993}'),
      "admin",
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body.defaultPreAuthAmount).toBe("9007199254740993.00");
    const id = created.body.id as string;

    const refused = await send(`/admin/tenants/${id}`, "PATCH", '{"defaultPreAuthAmount": 0.30000000000000004}', "admin");
    expectApiError(refused, 400, "defaultPreAuthAmount");
    expect((await adminJson(`/admin/tenants/${id}`)).body.defaultPreAuthAmount).toBe("9007199254740993.00");
    const updated = await send(`/admin/tenants/${id}`, "PATCH", '{"defaultPreAuthAmount": 12.5}', "admin");
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.defaultPreAuthAmount).toBe("12.50");
  });

  it("settles only amounts written with at most 2 decimals, whatever a float would make of them", async () => {
    const { simulator, tenant } = installSimulator();
    const site = 9_100 + Math.floor(Math.random() * 300);
    const t = await tenant({ siteIds: [site] });
    const id = crypto.randomUUID();
    expect((await t.driver.send("TransactionNotify", transactionNotify({ SiteId: site, SparkTransactionId: id, NayaxTransactionId: 77_001 }))).status).toBe(200);
    // A float reads this as 1, which would settle 1.00.
    const refused = await send(`/v1/sessions/${id}/settle`, "POST", '{"amount": 1.0000000000000000001}', t);
    expectApiError(refused, 400, "amount");
    expectApiError(await send(`/v1/sessions/${id}/settle`, "POST", '{"amount": 0.30000000000000004}', t), 400, "amount");
    expect(simulator.requests.filter((r) => r.path.endsWith("/Settlement"))).toEqual([]);

    const settled = await send(`/v1/sessions/${id}/settle`, "POST", '{"amount": 7.50}', t);
    expect(settled.status, settled.text).toBe(200);
    expect(settled.body).toMatchObject({ status: "settled", settledAmount: "7.50" });
    expect(simulator.requests.filter((r) => r.path.endsWith("/Settlement"))[0]!.bodyText).toMatch(/"Amount":7\.5[,}]/);
  });
});

describe("a PATCH without a JSON body", () => {
  it("is 415 for a webhook endpoint, and changes nothing", async () => {
    const tenant = await tenantWithSites();
    const created = await tenantJson<{ id: string }>(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://patch.csms.example/hooks" } });
    const path = `/v1/webhook-endpoints/${created.body.id}`;
    for (const headers of [{ "Content-Type": "text/plain" }, { "Content-Type": "application/x-www-form-urlencoded" }, {}] as Array<Record<string, string>>) {
      const res = await tenantCall(tenant.apiKey, path, { method: "PATCH", headers, body: '{"enabled": false}' });
      const answer = { status: res.status, body: await res.json(), res };
      expectApiError(answer, 415, "Content-Type");
    }
    expect((await tenantJson(tenant.apiKey, path)).body).toMatchObject({ enabled: true });
    // Credentials are checked first; JSON with a charset is JSON.
    expect((await tenantCall("sk_wrong", path, { method: "PATCH", headers: { "Content-Type": "text/plain" }, body: "{}" })).status).toBe(401);
    const ok = await tenantCall(tenant.apiKey, path, { method: "PATCH", headers: { "Content-Type": "application/json; charset=utf-8" }, body: '{"enabled": false}' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ enabled: false });
  });

  it("is 415 for a tenant, and changes nothing", async () => {
    const tenant = await tenantWithSites();
    const path = `/admin/tenants/${tenant.id}`;
    for (const headers of [{ "Content-Type": "text/plain" }, {}] as Array<Record<string, string>>) {
      const res = await admin(path, { method: "PATCH", headers, body: '{"name": "Renamed"}' });
      expectApiError({ status: res.status, body: await res.json(), res }, 415, "Content-Type");
    }
    expect((await adminJson(path)).body.name).toBe(tenantInput.name);
    expect((await admin(path, { method: "PATCH", headers: { "Content-Type": "text/plain", Authorization: "Bearer nope" }, body: "{}" })).status).toBe(401);
    expect((await adminJson(path, { method: "PATCH", json: { name: "Renamed" } })).body.name).toBe("Renamed");
  });
});
