/**
 * Strict queries (CONTRACT §11): on every list route an unknown query parameter is a 400 that
 * names it, so a misspelt filter never silently lists everything.
 */
import { describe, expect, it } from "vitest";
import { authorize, adminJson, expectApiError, tenantJson, tenantWithSites } from "./support";
import type { ApiErrorBody } from "./support";

describe("unknown query parameters on list routes", () => {
  it("are refused with 400 naming each of them, on the tenant's and the operator's lists", async () => {
    const tenant = await tenantWithSites();
    const { id: sessionId } = await authorize(tenant, { SiteId: tenant.siteIds[0]! });
    const events = await tenantJson<{ data: Array<{ id: string }> }>(tenant.apiKey, `/v1/events?sessionId=${sessionId}`);
    const eventId = events.body.data[0]!.id;
    const tenantLists = ["/v1/sessions", "/v1/events", "/v1/webhook-endpoints", `/v1/events/${eventId}/attempts`];
    const operatorLists = ["/admin/tenants", `/admin/tenants/${tenant.id}/webhook-endpoints`, `/admin/tenants/${tenant.id}/events`];

    const check = async (answer: { status: number; body: unknown; res: Response }, path: string, names: string[]) => {
      expectApiError(answer, 400);
      const fields = (answer.body as ApiErrorBody).error.details.map((d) => d.field);
      for (const name of names) expect(fields, path).toContain(name);
      expect((answer.body as ApiErrorBody).error.message, path).toContain(names[0]!);
    };
    for (const path of tenantLists) {
      expect((await tenantJson(tenant.apiKey, path)).status, path).toBe(200);
      await check(await tenantJson(tenant.apiKey, `${path}?statuss=authorized`), path, ["statuss"]);
      await check(await tenantJson(tenant.apiKey, `${path}?limit=5&foo=1&bar=2`), path, ["foo", "bar"]);
    }
    for (const path of operatorLists) {
      expect((await adminJson(path)).status, path).toBe(200);
      await check(await adminJson(`${path}?tenantId=${tenant.id}`), path, ["tenantId"]);
    }
  });

  it("still accepts every parameter a list documents", async () => {
    const tenant = await tenantWithSites();
    const ok = async (path: string) => expect((await tenantJson(tenant.apiKey, path)).status, path).toBe(200);
    await ok("/v1/sessions?limit=10&status=authorized&siteId=1&overdue=false&from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z");
    await ok("/v1/events?limit=10&sessionId=x&type=session.authorized&endpointId=we_x&deliveryStatus=failed");
    await ok("/v1/webhook-endpoints?limit=10");
    expect((await adminJson("/admin/tenants?limit=10")).status).toBe(200);
    expect((await adminJson(`/admin/tenants/${tenant.id}/events?limit=10&deliveryStatus=failed&type=session.authorized`)).status).toBe(200);
  });
});
