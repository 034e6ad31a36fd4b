/**
 * Custom webhook headers often carry the receiver's own credentials: sealed at rest like the
 * signing secrets, masked in every answer, and sent as they are with every delivery.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { Receiver, WAIT, authorizeSession, createEndpoint, interceptWebhooks } from "./webhooks-support";
import type { CreatedEndpoint } from "./webhooks-support";
import { adminJson, tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

const storedHeaders = async (id: string) =>
  (await env.DB.prepare("SELECT headers FROM webhook_endpoints WHERE id = ?").bind(id).first<{ headers: string | null }>())!.headers;

describe("custom webhook headers", () => {
  it("are sealed at rest, masked in every answer, and sent as configured", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    const secrets = ["s3cr3t-bearer-value", "k-123-api-key", "opaque-credential"];
    const created = await tenantJson<CreatedEndpoint>(tenant.apiKey, "/v1/webhook-endpoints", {
      method: "POST",
      json: { url: receiver.url, headers: { Authorization: `Bearer ${secrets[0]}`, "X-Api-Key": secrets[1], "Proxy-Authorization": secrets[2] } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.headers).toEqual({ Authorization: "Bearer ****", "X-Api-Key": "****", "Proxy-Authorization": "****" });
    const id = created.body.id;

    const answers = [
      created.text,
      (await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${id}`)).text,
      (await tenantJson(tenant.apiKey, "/v1/webhook-endpoints")).text,
      (await adminJson(`/admin/tenants/${tenant.id}/webhook-endpoints`)).text,
      (await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${id}`, { method: "PATCH", json: { enabled: true } })).text,
    ];
    for (const text of answers) for (const secret of secrets) expect(text).not.toContain(secret);
    const stored = await storedHeaders(id);
    expect(stored).toMatch(/^v1\./);
    for (const secret of secrets) expect(stored).not.toContain(secret);

    await authorizeSession(tenant, tenant.siteIds[0]!);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    expect(receiver.received[0]!.headers).toMatchObject({ authorization: `Bearer ${secrets[0]}`, "x-api-key": secrets[1], "proxy-authorization": secrets[2] });

    // Replaced by a PATCH: sealed again, and the next delivery carries the new ones only.
    const patched = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${id}`, { method: "PATCH", json: { headers: { Authorization: "Basic bmV3Om9uZQ==" } } });
    expect(patched.body.headers).toEqual({ Authorization: "Basic ****" });
    expect(patched.text).not.toContain("bmV3Om9uZQ==");
    expect(await storedHeaders(id)).not.toContain("bmV3Om9uZQ==");
    await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${id}/test`, { method: "POST" });
    const test = receiver.received[receiver.received.length - 1]!;
    expect(test.headers.authorization).toBe("Basic bmV3Om9uZQ==");
    expect(test.headers["x-api-key"]).toBeUndefined();

    // Removing them all stores nothing.
    const cleared = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${id}`, { method: "PATCH", json: { headers: {} } });
    expect(cleared.body.headers).toEqual({});
    expect(await storedHeaders(id)).toBeNull();
  });

  it("still reads headers stored before sealing, masked in answers and sent as they are", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url });
    await env.DB.prepare("UPDATE webhook_endpoints SET headers = ? WHERE id = ?").bind(JSON.stringify({ Authorization: "Token legacy-plain" }), endpoint.id).run();
    // Any change makes every isolate read the endpoint again.
    const read = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { enabled: true } });
    expect(read.status, read.text).toBe(200);
    expect(read.body.headers).toEqual({ Authorization: "Token ****" });
    expect(read.text).not.toContain("legacy-plain");
    await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/test`, { method: "POST" });
    expect(receiver.received[0]!.headers.authorization).toBe("Token legacy-plain");
  });
});
