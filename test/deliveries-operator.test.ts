/**
 * The operator's view of a tenant's deliveries (CONTRACT §11): its webhook endpoints and its
 * events by delivery status, answered exactly as the tenant's own routes answer them.
 */
import { describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN } from "./helpers";
import { Receiver, WAIT, authorizeSession, createEndpoint, deliveriesByEndpoint, interceptWebhooks, sessionEventIds, stopSession } from "./webhooks-support";
import { adminJson, expectApiError, tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

describe("operator view", () => {
  it("lists a tenant's endpoints and its failed events as the tenant sees them, and nothing of another tenant", async () => {
    const tenant = await tenantWithSites();
    const other = await tenantWithSites();
    const site = tenant.siteIds[0]!;
    const broken = new Receiver(() => new Response("boom", { status: 500 }));
    const failing = await createEndpoint(tenant.apiKey, { url: broken.url, eventTypes: ["session.authorized"], headers: { Authorization: "Bearer operator-must-not-see" } });
    const healthy = await createEndpoint(tenant.apiKey, { url: new Receiver().url });
    await createEndpoint(other.apiKey, { url: new Receiver(() => new Response("boom", { status: 500 })).url });
    await authorizeSession(other, other.siteIds[0]!);
    const session = await authorizeSession(tenant, site);
    await stopSession(tenant, session, site);
    const [authorized, stopped] = await sessionEventIds(tenant.apiKey, session.id);
    await vi.waitFor(async () => {
      expect((await deliveriesByEndpoint(tenant.apiKey, authorized!.id))[failing.id]?.status).toBe("failed");
      expect((await deliveriesByEndpoint(tenant.apiKey, stopped!.id))[healthy.id]?.status).toBe("delivered");
    }, WAIT);

    const endpoints = await adminJson<{ data: Array<{ id: string }>; nextCursor: string | null }>(`/admin/tenants/${tenant.id}/webhook-endpoints`);
    expect(endpoints.status, endpoints.text).toBe(200);
    expect(endpoints.body).toEqual((await tenantJson(tenant.apiKey, "/v1/webhook-endpoints")).body);
    expect(endpoints.body.data.map((e) => e.id).sort()).toEqual([failing.id, healthy.id].sort());
    expect(endpoints.text).not.toContain("operator-must-not-see");
    expect(endpoints.text).not.toContain(failing.secret);

    const failed = await adminJson<{ data: Array<{ id: string }> }>(`/admin/tenants/${tenant.id}/events?deliveryStatus=failed`);
    expect(failed.status, failed.text).toBe(200);
    expect(failed.body).toEqual((await tenantJson(tenant.apiKey, "/v1/events?deliveryStatus=failed")).body);
    expect(failed.body.data.map((e) => e.id)).toEqual([authorized!.id]);
    const all = await adminJson(`/admin/tenants/${tenant.id}/events`);
    expect(all.body).toEqual((await tenantJson(tenant.apiKey, "/v1/events")).body);

    // Pages like the tenant's list.
    const first = await adminJson<{ data: Array<{ id: string }>; nextCursor: string }>(`/admin/tenants/${tenant.id}/webhook-endpoints?limit=1`);
    const second = await adminJson<{ data: Array<{ id: string }>; nextCursor: string | null }>(
      `/admin/tenants/${tenant.id}/webhook-endpoints?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    expect([...first.body.data, ...second.body.data].map((e) => e.id)).toEqual(endpoints.body.data.map((e) => e.id));
    expect(second.body.nextCursor).toBeNull();
  });

  it("answers 404 for an unknown tenant, 400 for a bad filter, and only to the operator", async () => {
    const tenant = await tenantWithSites();
    for (const path of ["/admin/tenants/ten_nope/webhook-endpoints", "/admin/tenants/ten_nope/events"]) expectApiError(await adminJson(path), 404);
    expectApiError(await adminJson(`/admin/tenants/${tenant.id}/events?deliveryStatus=lost`), 400, "deliveryStatus");
    expectApiError(await adminJson(`/admin/tenants/${tenant.id}/events?limit=0`), 400, "limit");
    for (const path of [`/admin/tenants/${tenant.id}/webhook-endpoints`, `/admin/tenants/${tenant.id}/events`]) {
      expectApiError(await tenantJson(tenant.apiKey, path), 401);
      expectApiError(await adminJson(path, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}x` } }), 401);
    }
  });
});
