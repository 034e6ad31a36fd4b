/** Webhook endpoint CRUD through the tenant API: shapes, secrets, ownership, URL and header rules (CONTRACT §5, §6). */
import { describe, expect, it, vi } from "vitest";
import { Receiver, WAIT, authorizeSession, createEndpoint, expectQuiet, interceptWebhooks, verify } from "./webhooks-support";
import type { CreatedEndpoint } from "./webhooks-support";
import { call } from "./helpers";
import { expectApiError, tenantJson, tenantWithSites } from "./support";

interceptWebhooks();

type Page = { data: CreatedEndpoint[]; nextCursor: string | null };
const ENDPOINT_KEYS = ["id", "url", "enabled", "disabledReason", "eventTypes", "createdAt"];

function secretBytes(secret: string): number {
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
  return atob(secret.slice("whsec_".length)).length;
}

describe("webhook endpoint CRUD", () => {
  it("creates (secret shown once), reads, lists, patches and deletes", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    const created = await tenantJson<CreatedEndpoint>(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: receiver.url } });
    expect(created.status, created.text).toBe(201);
    expect(created.res.headers.get("X-Request-Id")).toBeTruthy();
    const endpoint = created.body;
    for (const key of ENDPOINT_KEYS) expect(endpoint).toHaveProperty(key);
    expect(endpoint).toMatchObject({ url: receiver.url, enabled: true, disabledReason: null, eventTypes: null });
    expect(new Date(endpoint.createdAt).toISOString()).toBe(endpoint.createdAt);
    const bytes = secretBytes(endpoint.secret);
    expect(bytes).toBeGreaterThanOrEqual(24);
    expect(bytes).toBeLessThanOrEqual(64);

    const read = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`);
    expect(read.status).toBe(200);
    const { secret, ...view } = endpoint;
    expect(read.body).toEqual(view);
    expect(read.text).not.toContain(secret);

    const patched = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, {
      method: "PATCH",
      json: { eventTypes: ["session.authorized", "session.settled"], enabled: false },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ id: endpoint.id, url: receiver.url, enabled: false, eventTypes: ["session.authorized", "session.settled"] });
    expect(patched.body.disabledReason).toBeTruthy();
    const other = new Receiver();
    const moved = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { url: other.url, enabled: true } });
    expect(moved.body).toMatchObject({ url: other.url, enabled: true, disabledReason: null, eventTypes: ["session.authorized", "session.settled"] });
    expect((await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`)).body).toEqual(moved.body);
    // The PATCH moved deliveries to the new URL, still signed with the same secret.
    const test = await tenantJson<{ delivered: boolean }>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/test`, { method: "POST" });
    expect(test.body.delivered).toBe(true);
    expect(receiver.received).toEqual([]);
    expect(verify(secret, other.received[0]!).type).toBe("webhook.test");

    const removed = await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE" });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe("");
    expectApiError(await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`), 404);
    expectApiError(await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE" }), 404);
    expectApiError(await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { enabled: true } }), 404);
    // A deleted endpoint receives nothing more.
    await authorizeSession(tenant, tenant.siteIds[0]!);
    await expectQuiet(other, 500);
  });

  it("lists newest first with cursor pagination, only the tenant's own", async () => {
    const tenant = await tenantWithSites();
    const stranger = await tenantWithSites();
    const mine: string[] = [];
    for (let i = 0; i < 3; i++) mine.push((await createEndpoint(tenant.apiKey, { url: `https://list-${i}.csms.example/hooks` })).id);
    const theirs = await createEndpoint(stranger.apiKey, { url: "https://theirs.csms.example/hooks" });

    const all = await tenantJson<Page>(tenant.apiKey, "/v1/webhook-endpoints");
    expect(all.status).toBe(200);
    expect(Object.keys(all.body).sort()).toEqual(["data", "nextCursor"]);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.data.map((e) => e.id).sort()).toEqual([...mine].sort());
    const created = all.body.data.map((e) => Date.parse(e.createdAt));
    expect([...created].sort((x, y) => y - x)).toEqual(created);
    for (const e of all.body.data) expect(e).not.toHaveProperty("secret");

    const first = await tenantJson<Page>(tenant.apiKey, "/v1/webhook-endpoints?limit=2");
    expect(first.body.data).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await tenantJson<Page>(tenant.apiKey, `/v1/webhook-endpoints?limit=2&cursor=${encodeURIComponent(first.body.nextCursor!)}`);
    expect(second.body.nextCursor).toBeNull();
    expect([...first.body.data, ...second.body.data].map((e) => e.id)).toEqual(all.body.data.map((e) => e.id));
    expectApiError(await tenantJson(tenant.apiKey, "/v1/webhook-endpoints?cursor=garbage"), 400);
    expectApiError(await tenantJson(tenant.apiKey, "/v1/webhook-endpoints?limit=201"), 400);

    const theirList = await tenantJson<Page>(stranger.apiKey, "/v1/webhook-endpoints");
    expect(theirList.body.data.map((e) => e.id)).toEqual([theirs.id]);
  });

  it("answers 404 for another tenant's endpoint, whatever the verb, and leaves it untouched", async () => {
    const owner = await tenantWithSites();
    const stranger = await tenantWithSites();
    const receiver = new Receiver();
    const endpoint = await createEndpoint(owner.apiKey, { url: receiver.url });
    const path = `/v1/webhook-endpoints/${endpoint.id}`;
    const attempts: Array<[string, string, unknown]> = [
      ["GET", path, undefined],
      ["PATCH", path, { enabled: false }],
      ["DELETE", path, undefined],
      ["POST", `${path}/rotate-secret`, undefined],
      ["POST", `${path}/test`, undefined],
      ["POST", `${path}/recover`, { since: "2020-01-01T00:00:00Z" }],
    ];
    for (const [method, url, json] of attempts) {
      const res = await tenantJson(stranger.apiKey, url, { method, ...(json !== undefined ? { json } : {}) });
      expectApiError(res, 404);
    }
    const read = await tenantJson<CreatedEndpoint>(owner.apiKey, path);
    expect(read.body).toMatchObject({ enabled: true });
    expect(receiver.received).toEqual([]);
    // The secret was not rotated by the stranger: the owner's still verifies alone.
    await tenantJson(owner.apiKey, `${path}/test`, { method: "POST" });
    expect(receiver.received[0]!.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(verify(endpoint.secret, receiver.received[0]!).type).toBe("webhook.test");

    expect((await call("/v1/webhook-endpoints")).status).toBe(401);
    expect((await call(path, { headers: { Authorization: "Bearer nope" } })).status).toBe(401);
  });

  it("enforces the URL rules on create and patch", async () => {
    const tenant = await tenantWithSites();
    const refused = [
      "http://csms.example/hooks",
      "http://10.0.0.1/hooks",
      "https://user:pass@csms.example/hooks",
      "https://token@csms.example/hooks",
      "ftp://csms.example/hooks",
      "csms.example/hooks",
      "not a url",
      "",
    ];
    for (const url of refused) {
      expectApiError(await tenantJson(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url } }), 400, "url");
    }
    expectApiError(await tenantJson(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: {} }), 400, "url");
    for (const url of ["http://localhost:8080/hooks", "http://127.0.0.1:3000/hooks", "http://[::1]:3000/hooks", "https://csms.example/hooks?x=1"]) {
      const res = await tenantJson<CreatedEndpoint>(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url } });
      expect(res.status, `${url}: ${res.text}`).toBe(201);
      expect(res.body.url).toBe(url);
    }
    const endpoint = await createEndpoint(tenant.apiKey, { url: "https://ok.csms.example/hooks" });
    expectApiError(
      await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { url: "http://csms.example/hooks" } }),
      400,
      "url",
    );
    expectApiError(
      await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { url: "https://a:b@csms.example/" } }),
      400,
      "url",
    );
    expect((await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`)).body.url).toBe("https://ok.csms.example/hooks");

    // eventTypes must be known types, at least one (null means all).
    expectApiError(await tenantJson(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://x.csms.example/", eventTypes: ["session.exploded"] } }), 400);
    expectApiError(await tenantJson(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://x.csms.example/", eventTypes: [] } }), 400);
  });

  it("sends the tenant's custom headers and refuses reserved ones", async () => {
    const tenant = await tenantWithSites();
    const receiver = new Receiver();
    const endpoint = await createEndpoint(tenant.apiKey, { url: receiver.url, headers: { "X-Api-Key": "k-123", Authorization: "Bearer csms-side" } });
    // Values are never shown again, only masked (see webhooks-headers.test.ts).
    expect(endpoint.headers).toEqual({ "X-Api-Key": "****", Authorization: "Bearer ****" });

    await authorizeSession(tenant, tenant.siteIds[0]!);
    await vi.waitFor(() => expect(receiver.delivered()).toHaveLength(1), WAIT);
    const delivery = receiver.received[0]!;
    expect(delivery.headers["x-api-key"]).toBe("k-123");
    expect(delivery.headers.authorization).toBe("Bearer csms-side");
    expect(verify(endpoint.secret, delivery).type).toBe("session.authorized");

    for (const name of ["webhook-signature", "Webhook-Id", "webhook-timestamp", "Content-Type", "content-length", "User-Agent", "Host"]) {
      const res = await tenantJson(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: receiver.url, headers: { [name]: "x" } } });
      expectApiError(res, 400);
      expect(res.text).toContain(name);
      expectApiError(await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { headers: { [name]: "x" } } }), 400);
    }
    expectApiError(await tenantJson(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: receiver.url, headers: { "bad name": "x" } } }), 400);

    // PATCH replaces the headers.
    const patched = await tenantJson<CreatedEndpoint>(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}`, { method: "PATCH", json: { headers: { "X-Other": "2" } } });
    expect(patched.body.headers).toEqual({ "X-Other": "****" });
    await tenantJson(tenant.apiKey, `/v1/webhook-endpoints/${endpoint.id}/test`, { method: "POST" });
    const test = receiver.received[receiver.received.length - 1]!;
    expect(test.headers["x-other"]).toBe("2");
    expect(test.headers["x-api-key"]).toBeUndefined();
  });
});
