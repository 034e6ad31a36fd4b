/**
 * The tenant portal (CONTRACT §11 "Portal"), driven as a browser would: sign-in by the operator's
 * one-time link or the API key, the session cookie's attributes, redirects when signed out,
 * anti-forgery checks on every form, escaping, and one tenant never seeing another's data.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { transactionNotify } from "./fixtures";
import { admin, flush, newSessionId } from "./helpers";
import { Browser, ORIGIN, csrfOf, fetchWorker, parseSetCookie, portalLink, signIn } from "./portal-support";
import { sparkCall, tenantJson, tenantWithSites } from "./support";

let nayax = 4_100_000_000;

/** A Device Start session for the tenant, with the given Spark fields, projected to D1. */
async function sessionOf(tenant: { sparkCallbackSecret: string; siteIds: number[] }, fields: Record<string, unknown> = {}) {
  const id = newSessionId();
  const answer = await sparkCall("TransactionNotify", transactionNotify({ SiteId: tenant.siteIds[0], SparkTransactionId: id, NayaxTransactionId: nayax++, ...fields }), tenant.sparkCallbackSecret);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  await flush(id);
  return id;
}

describe("portal sign-in link (POST /admin/tenants/{id}/portal-link)", () => {
  it("answers a one-time link under the gateway's URL, valid 15 minutes", async () => {
    const tenant = await tenantWithSites();
    const before = Date.now();
    const link = await portalLink(tenant.id);
    expect(link.url).toMatch(new RegExp(`^${ORIGIN}/portal/login\\?token=[A-Za-z0-9_%-]+$`));
    const ttl = Date.parse(link.expiresAt) - before;
    expect(ttl).toBeGreaterThan(14 * 60 * 1000);
    expect(ttl).toBeLessThanOrEqual(15 * 60 * 1000 + 5_000);
    // Only a hash is kept: the token itself is nowhere in D1.
    const token = decodeURIComponent(new URL(link.url).searchParams.get("token")!);
    const rows = await env.DB.prepare("SELECT * FROM portal_links").all();
    expect(JSON.stringify(rows.results)).not.toContain(token);
  });

  it("needs the operator token; an unknown tenant is 404, a disabled one 409", async () => {
    const tenant = await tenantWithSites();
    expect((await fetchWorker(`/admin/tenants/${tenant.id}/portal-link`, { method: "POST" })).status).toBe(401);
    expect((await tenantJson(tenant.apiKey, `/admin/tenants/${tenant.id}/portal-link`, { method: "POST" })).status).toBe(401);
    expect((await admin("/admin/tenants/ten_nobody/portal-link", { method: "POST" })).status).toBe(404);
    expect((await admin(`/admin/tenants/${tenant.id}/disable`, { method: "POST" })).status).toBe(200);
    const refused = await admin(`/admin/tenants/${tenant.id}/portal-link`, { method: "POST" });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("tenant_disabled");
  });

  it("signs in at once with a cookie that is HttpOnly, SameSite=Strict, Secure off loopback and expires within 12 h; the link works once", async () => {
    const tenant = await tenantWithSites();
    const { url } = await portalLink(tenant.id);
    const path = new URL(url).pathname + new URL(url).search;
    const res = await fetchWorker(path);
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/portal");
    const cookie = parseSetCookie(res.headers.get("Set-Cookie"))!;
    expect(cookie.name).toBe("spark_portal");
    expect(cookie.attributes.has("httponly")).toBe(true);
    expect(cookie.attributes.get("samesite")).toBe("Strict");
    expect(cookie.attributes.has("secure")).toBe(true);
    const maxAge = Number(cookie.attributes.get("max-age"));
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(12 * 60 * 60);
    const page = await new Browser(cookie.value).get("/portal");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(tenant.id);

    const again = await fetchWorker(path);
    expect(again.status).toBe(401);
    expect(again.headers.get("Set-Cookie")).toBeNull();
    expect(await again.text()).toContain("not valid");
  });

  it("leaves Secure off on a loopback host, where the local gateway speaks plain http", async () => {
    const tenant = await tenantWithSites();
    const { url } = await portalLink(tenant.id);
    const res = await fetchWorker(new URL(url).pathname + new URL(url).search, {}, "http://127.0.0.1:8787");
    expect(res.status).toBe(303);
    const cookie = parseSetCookie(res.headers.get("Set-Cookie"))!;
    expect(cookie.attributes.has("secure")).toBe(false);
    expect(cookie.attributes.get("samesite")).toBe("Strict");
  });

  it("refuses a made-up or expired token", async () => {
    const tenant = await tenantWithSites();
    expect((await fetchWorker("/portal/login?token=pl_made_up")).status).toBe(401);
    const { url } = await portalLink(tenant.id);
    await env.DB.prepare("UPDATE portal_links SET expires_at = ? WHERE tenant_id = ?").bind(Date.now() - 1, tenant.id).run();
    const res = await fetchWorker(new URL(url).pathname + new URL(url).search);
    expect(res.status).toBe(401);
    expect(res.headers.get("Set-Cookie")).toBeNull();
  });
});

describe("portal sign-in with the API key", () => {
  async function form() {
    const page = await fetchWorker("/portal/login");
    expect(page.status).toBe(200);
    return csrfOf(await page.text());
  }
  const post = (fields: Record<string, string>, origin: string | null = ORIGIN) =>
    fetchWorker("/portal/login", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...(origin ? { Origin: origin } : {}) },
      body: new URLSearchParams(fields).toString(),
    });

  it("signs in with the form's token and a valid key", async () => {
    const tenant = await tenantWithSites();
    const res = await post({ _csrf: await form(), apiKey: tenant.apiKey });
    expect(res.status).toBe(303);
    const cookie = parseSetCookie(res.headers.get("Set-Cookie"))!;
    expect(await (await new Browser(cookie.value).get("/portal")).text()).toContain(tenant.id);
  });

  it("refuses a wrong key (401), a missing or forged token and a foreign Origin (403), and sets no cookie", async () => {
    const tenant = await tenantWithSites();
    const csrf = await form();
    for (const [res, status] of [
      [await post({ _csrf: csrf, apiKey: "sk_wrong" }), 401],
      [await post({ apiKey: tenant.apiKey }), 403],
      [await post({ _csrf: `${Date.now()}.0000`, apiKey: tenant.apiKey }), 403],
      [await post({ _csrf: csrf, apiKey: tenant.apiKey }, "https://evil.example"), 403],
    ] as const) {
      expect(res.status).toBe(status);
      expect(res.headers.get("Set-Cookie")).toBeNull();
    }
  });
});

describe("portal pages", () => {
  it("redirect to the sign-in page without a valid cookie, and refuse writes", async () => {
    for (const path of ["/portal", "/portal/sessions", "/portal/sessions/abc", "/portal/events", "/portal/endpoints", "/portal/ocpi", "/portal/decision-endpoint"]) {
      const res = await fetchWorker(path);
      expect(res.status, path).toBe(303);
      expect(res.headers.get("Location")).toBe("/portal/login");
      const stale = await fetchWorker(path, { headers: { Cookie: "spark_portal=ps_not_a_session" } });
      expect(stale.status, path).toBe(303);
    }
    const write = await fetchWorker("/portal/endpoints", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: ORIGIN }, body: "url=https://x.example" });
    expect(write.status).toBe(403);
  });

  it("arriving from another site (where a SameSite=Strict cookie stays home), take one same-site hop before deciding", async () => {
    const res = await fetchWorker("/portal/sessions", { headers: { "Sec-Fetch-Site": "cross-site" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<meta http-equiv="refresh" content="0; url=/portal/sessions"/>');
    const hop = await fetchWorker("/portal/sessions", { headers: { "Sec-Fetch-Site": "same-origin" } });
    expect(hop.status).toBe(303);
    expect(hop.headers.get("Location")).toBe("/portal/login");
  });

  it("show sessions with their status and amounts, one session with its timeline, and the API's view of it", async () => {
    const tenant = await tenantWithSites();
    const id = await sessionOf(tenant);
    const browser = await signIn(tenant.id);
    const list = await (await browser.get("/portal/sessions?status=authorized")).text();
    expect(list).toContain(id);
    expect(list).toContain("10.00");
    expect(list).toContain("authorized");
    expect(await (await browser.get("/portal/sessions?status=settled")).text()).not.toContain(id);
    const page = await browser.get(`/portal/sessions/${id}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("session.authorized");
    expect(html).toContain("Session will begin immediately.");
    expect(page.headers.get("Cache-Control")).toBe("no-store");
    expect(page.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
  });

  it("a bad filter is shown as the API's message, not a 5xx", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    const res = await browser.get("/portal/sessions?from=yesterday");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("from must be an ISO 8601 time");
  });

  it("show what Spark sent as text: a <script> in a callback is escaped everywhere", async () => {
    const tenant = await tenantWithSites();
    const evil = `<script>alert("x")</script>`;
    const id = await sessionOf(tenant, { HwSerial: evil, ServiceStationNumber: `"><img src=x onerror=alert(1)>` });
    const browser = await signIn(tenant.id);
    for (const path of [`/portal/sessions/${id}`, "/portal/sessions", `/portal/events?sessionId=${id}`]) {
      const html = await (await browser.get(path)).text();
      expect(html, path).not.toContain("<script");
      expect(html, path).not.toContain("<img src=x");
    }
    const session = await (await browser.get(`/portal/sessions/${id}`)).text();
    expect(session).toContain("&lt;script&gt;");
    const events = (await tenantJson<{ data: Array<{ id: string }> }>(tenant.apiKey, `/v1/events?sessionId=${id}`)).body.data;
    const event = await (await browser.get(`/portal/events/${events[0]!.id}`)).text();
    expect(event).toContain("&lt;script&gt;alert(");
    expect(event).not.toContain("<script");
  });

  it("one tenant never sees another's session, event or endpoint (404)", async () => {
    const mine = await tenantWithSites();
    const theirs = await tenantWithSites();
    const theirSession = await sessionOf(theirs, { HwSerial: "THEIR-SERIAL-123" });
    const theirEvent = (await tenantJson<{ data: Array<{ id: string }> }>(theirs.apiKey, `/v1/events?sessionId=${theirSession}`)).body.data[0]!.id;
    const theirEndpoint = (await tenantJson<{ id: string }>(theirs.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://theirs.example/hooks" } })).body.id;
    const browser = await signIn(mine.id);
    for (const path of [`/portal/sessions/${theirSession}`, `/portal/events/${theirEvent}`, `/portal/endpoints/${theirEndpoint}`]) {
      const res = await browser.get(path);
      expect(res.status, path).toBe(404);
      const html = await res.text();
      expect(html).not.toContain("THEIR-SERIAL-123");
      expect(html).not.toContain("theirs.example");
    }
    expect(await (await browser.get("/portal/sessions")).text()).not.toContain(theirSession);
    expect(await (await browser.get("/portal/events")).text()).not.toContain(theirEvent);
    // Their ids in my forms change nothing of theirs.
    const rotate = await browser.post(`/portal/endpoints/${theirEndpoint}/rotate-secret`, {});
    expect(rotate.status).toBe(404);
    const redeliver = await browser.post(`/portal/events/${theirEvent}/redeliver`, {});
    expect(redeliver.status).toBe(404);
  });

  it("the portal cookie is no key to the JSON API", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    const res = await fetchWorker("/v1/sessions", { headers: { Cookie: `spark_portal=${browser.cookie}` } });
    expect(res.status).toBe(401);
  });
});

describe("portal forms", () => {
  it("refuse a request without the page's token, or from another origin (403), and change nothing", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    const url = "https://csms.example/hooks/forged";
    const cases = [
      await browser.post("/portal/endpoints", { url }, { csrf: null }),
      await browser.post("/portal/endpoints", { url }, { csrf: "0".repeat(64) }),
      await browser.post("/portal/endpoints", { url }, { origin: "https://evil.example" }),
      await browser.post("/portal/endpoints", { url }, { origin: "null" }),
    ];
    for (const res of cases) expect(res.status).toBe(403);
    // Another browser's token is no good either.
    const other = await signIn(tenant.id);
    const otherCsrf = csrfOf(await (await other.get("/portal/endpoints")).text());
    expect((await browser.post("/portal/endpoints", { url }, { csrf: otherCsrf })).status).toBe(403);
    const list = await tenantJson<{ data: unknown[] }>(tenant.apiKey, "/v1/webhook-endpoints");
    expect(list.body.data).toEqual([]);
  });

  it("add an endpoint and show its secret once; rotate it and show the new one once", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    const added = await browser.post("/portal/endpoints", { url: "https://csms.example/hooks/portal", eventTypes: ["session.authorized", "session.settled"] }, { from: "/portal/endpoints" });
    expect(added.status).toBe(200);
    const addedHtml = await added.text();
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(addedHtml)?.[0];
    expect(secret).toBeTruthy();
    const [endpoint] = (await tenantJson<{ data: Array<{ id: string; eventTypes: string[] | null }> }>(tenant.apiKey, "/v1/webhook-endpoints")).body.data;
    expect(endpoint!.eventTypes).toEqual(["session.authorized", "session.settled"]);

    const page = await (await browser.get(`/portal/endpoints/${endpoint!.id}`)).text();
    expect(page).not.toContain("whsec_");
    expect(await (await browser.get("/portal/endpoints")).text()).not.toContain("whsec_");

    const rotated = await browser.post(`/portal/endpoints/${endpoint!.id}/rotate-secret`, {});
    expect(rotated.status).toBe(200);
    const fresh = /whsec_[A-Za-z0-9+/=]+/.exec(await rotated.text())?.[0];
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(secret);
    expect(await (await browser.get(`/portal/endpoints/${endpoint!.id}`)).text()).not.toContain(fresh!);
  });

  it("a refused endpoint is the API's 400 with its message, and nothing is stored", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    const res = await browser.post("/portal/endpoints", { url: "http://not-loopback.example/hooks" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("url");
    expect((await tenantJson<{ data: unknown[] }>(tenant.apiKey, "/v1/webhook-endpoints")).body.data).toEqual([]);
  });

  it("edit, disable and enable an endpoint through the API", async () => {
    const tenant = await tenantWithSites();
    const created = (await tenantJson<{ id: string }>(tenant.apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://csms.example/a" } })).body;
    const browser = await signIn(tenant.id);
    const from = `/portal/endpoints/${created.id}`;
    const saved = await browser.post(from, { url: "https://csms.example/b" }, { from });
    expect(saved.status).toBe(303);
    expect(saved.headers.get("Location")).toBe(`${from}?done=endpoint_saved`);
    const disabled = await browser.post(`${from}/disable`, {}, { from });
    expect(disabled.status).toBe(303);
    let read = (await tenantJson<{ url: string; enabled: boolean }>(tenant.apiKey, `/v1/webhook-endpoints/${created.id}`)).body;
    expect(read).toMatchObject({ url: "https://csms.example/b", enabled: false });
    expect(await (await browser.get(`${from}?done=endpoint_disabled`)).text()).toContain("Endpoint disabled");
    await browser.post(`${from}/enable`, {}, { from });
    read = (await tenantJson<{ url: string; enabled: boolean }>(tenant.apiKey, `/v1/webhook-endpoints/${created.id}`)).body;
    expect(read.enabled).toBe(true);
  });

  it("redeliver an event through the API", async () => {
    const tenant = await tenantWithSites();
    const id = await sessionOf(tenant);
    const [event] = (await tenantJson<{ data: Array<{ id: string }> }>(tenant.apiKey, `/v1/events?sessionId=${id}`)).body.data;
    const browser = await signIn(tenant.id);
    const res = await browser.post(`/portal/events/${event!.id}/redeliver`, { endpointId: "we_missing" }, { from: `/portal/events/${event!.id}` });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("webhook endpoint not found");
    const ok = await browser.post(`/portal/events/${event!.id}/redeliver`, {}, { from: `/portal/events/${event!.id}` });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("Location")).toBe(`/portal/events/${event!.id}?done=redelivered`);
  });

  it("sign-out ends the session at once", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    const res = await browser.post("/portal/logout", {});
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/portal/login?done=signed_out");
    expect(res.headers.get("Set-Cookie")).toMatch(/spark_portal=;/);
    expect((await browser.get("/portal")).status).toBe(303);
  });

  it("an expired session is signed out", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    expect((await browser.get("/portal")).status).toBe(200);
    await env.DB.prepare("UPDATE portal_sessions SET expires_at = ? WHERE tenant_id = ?").bind(Date.now() - 1, tenant.id).run();
    expect((await browser.get("/portal")).status).toBe(303);
  });
});

describe("decision endpoint and OCPI pages", () => {
  it("say clearly when nothing is configured", async () => {
    const tenant = await tenantWithSites();
    const browser = await signIn(tenant.id);
    for (const path of ["/portal/decision-endpoint", "/portal/ocpi"]) {
      const res = await browser.get(path);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain("Not configured");
    }
  });
});
