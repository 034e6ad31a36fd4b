/** Operator API (CONTRACT §3), driven exactly as the operator would. */
import { describe, expect, it } from "vitest";
import { tenantInput } from "./fixtures";
import { ADMIN_TOKEN, admin, call, onboard, spark, tenantCall } from "./helpers";
import type { Onboarded } from "./helpers";
import { adminJson, expectApiError, freshMachine, freshSite, sparkCall } from "./support";

interface TenantBody {
  id: string;
  name: string;
  status: string;
  siteIds: number[];
  machines: Array<{ siteId: number; machineId: number }>;
  defaultPreAuthAmount: string;
  spark: { baseUrl: string; tokenId: number; integratorId: string };
}

let nextToken = 700_000;
/** A tenant body in the contract's shape, on fresh sites and a fresh token. */
function tenantBody(overrides: Record<string, unknown> = {}, spark: Record<string, unknown> = {}) {
  return {
    ...tenantInput,
    name: `Tenant ${nextToken}`,
    siteIds: [freshSite()],
    webhookUrl: undefined as string | undefined,
    spark: { ...tenantInput.spark, tokenId: nextToken++, ...spark },
    ...overrides,
  };
}

const create = (body: unknown) => adminJson<TenantBody & Onboarded>("/admin/tenants", { method: "POST", json: body });

/** Proves a tenant's callback secret works (200) or not (401) with an InfoQuery on its own site. */
async function infoQueryStatus(secret: string, siteId: number) {
  const res = await spark("InfoQuery", { HwSerial: "0434334921100366", MachineId: 71234996, ServiceStationNumber: "5", SiteId: siteId }, secret);
  return res.status;
}

const apiKeyStatus = async (apiKey: string) => (await tenantCall(apiKey, "/v1/sessions")).status;

describe("POST /admin/tenants", () => {
  it("onboards the contract's example and answers the documented 201 shape", async () => {
    const res = await admin("/admin/tenants", { method: "POST", json: tenantInput });
    expect(res.status).toBe(201);
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
    const body = (await res.json()) as Onboarded & TenantBody;
    expect(body.id).toMatch(/^ten_[A-Za-z0-9_-]+$/);
    expect(body.name).toBe("Acme Charging");
    expect(body.siteIds).toEqual([2, 4]);
    expect(typeof body.apiKey).toBe("string");
    expect(body.apiKey.length).toBeGreaterThanOrEqual(32);
    expect(typeof body.sparkCallbackSecret).toBe("string");
    expect(body.sparkCallbackSecret.length).toBeGreaterThanOrEqual(32);
    expect(body.apiKey).not.toBe(body.sparkCallbackSecret);
    expect(body.webhookEndpoint).toEqual({ id: expect.stringMatching(/^we_/), url: "https://csms.example/hooks/spark", secret: expect.stringMatching(/^whsec_/) });
    // The whsec_ secret is base64 of 24–64 random bytes.
    const raw = atob(body.webhookEndpoint!.secret.slice("whsec_".length));
    expect(raw.length).toBeGreaterThanOrEqual(24);
    expect(raw.length).toBeLessThanOrEqual(64);
    // Spark credentials are never echoed.
    const text = JSON.stringify(body);
    expect(text).not.toContain(tenantInput.spark.secretToken);
    expect(text).not.toContain(tenantInput.spark.signKey);
    // The secrets shown work.
    expect(await apiKeyStatus(body.apiKey)).toBe(200);
    expect(await infoQueryStatus(body.sparkCallbackSecret, 2)).toBe(200);
    expect(await infoQueryStatus(body.sparkCallbackSecret, 4)).toBe(200);
  });

  it("makes webhookUrl optional: no endpoint then", async () => {
    const created = await create(tenantBody());
    expect(created.status).toBe(201);
    expect(created.body.webhookEndpoint).toBeNull();
  });

  it.each([
    ["http:// to a public host", "http://csms.example/hooks", 400],
    ["credentials in the URL", "https://user:pw@csms.example/hooks", 400],
    ["an empty user in the URL", "https://@csms.example/hooks", 400],
    ["not a URL", "csms.example/hooks", 400],
    ["ftp://", "ftp://csms.example/hooks", 400],
    ["http://localhost", "http://localhost:9000/hooks", 201],
    ["http://127.0.0.1", "http://127.0.0.1:9000/hooks", 201],
    ["http://[::1]", "http://[::1]:9000/hooks", 201],
    ["https://", "https://csms.example/hooks", 201],
  ])("webhookUrl: %s (%s) → %i", async (_label, url, status) => {
    const created = await create(tenantBody({ webhookUrl: url }));
    if (status === 400) expectApiError(created, 400, "webhookUrl");
    else {
      expect(created.status, created.text).toBe(201);
      expect(created.body.webhookEndpoint?.url).toBe(url);
    }
  });

  it.each([
    ["http:// to a public host", "http://spark-qa.example/api", 400],
    ["credentials in the URL", "https://user:pw@spark-qa.example/api", 400],
    ["http://localhost", "http://localhost:8788/api", 201],
    ["http://127.0.0.1", "http://127.0.0.1:8788/api", 201],
  ])("spark.baseUrl: %s (%s) → %i", async (_label, baseUrl, status) => {
    const created = await create(tenantBody({}, { baseUrl }));
    if (status === 400) expectApiError(created, 400, "spark.baseUrl");
    else {
      expect(created.status, created.text).toBe(201);
      expect(created.body.spark.baseUrl).toBe(baseUrl);
    }
  });

  it("refuses a SiteId another tenant owns with 409, and keeps nothing of the refused request", async () => {
    const owner = await create(tenantBody());
    expect(owner.status).toBe(201);
    const site = owner.body.siteIds[0]!;
    const free = freshSite();
    const refused = tenantBody({ siteIds: [free, site] });
    expectApiError(await create(refused), 409);
    // Neither its free site nor its token were kept: the same request without the taken site goes through.
    const retried = await create({ ...refused, siteIds: [free] });
    expect(retried.status, retried.text).toBe(201);
    // And the owner still owns its site.
    expect(await infoQueryStatus(owner.body.sparkCallbackSecret, site)).toBe(200);
    expect(await infoQueryStatus(retried.body.sparkCallbackSecret, site)).toBe(401);
  });

  it("refuses a spark.tokenId another tenant uses with 409", async () => {
    const first = await create(tenantBody());
    expect(first.status).toBe(201);
    expectApiError(await create(tenantBody({}, { tokenId: first.body.spark.tokenId })), 409);
  });

  it("allows a machine claim on another tenant's site, but the same machine only once", async () => {
    const siteOwner = await create(tenantBody());
    const site = siteOwner.body.siteIds[0]!;
    const machineId = freshMachine();
    const claimer = await create(tenantBody({ siteIds: [], machines: [{ siteId: site, machineId }] }));
    expect(claimer.status, claimer.text).toBe(201);
    expect(claimer.body.machines).toEqual([{ siteId: site, machineId }]);
    expect(claimer.body.siteIds).toEqual([]);
    expectApiError(await create(tenantBody({ siteIds: [], machines: [{ siteId: site, machineId }] })), 409);
    // The site owner cannot claim that machine either.
    expectApiError(await adminJson(`/admin/tenants/${siteOwner.body.id}/claims`, { method: "POST", json: { machines: [{ siteId: site, machineId }] } }), 409);
  });

  it("lets a tenant claim a site on which another tenant holds a machine; the machine claim still wins", async () => {
    const site = freshSite();
    const machineId = freshMachine();
    const machineOwner = await create(tenantBody({ siteIds: [], machines: [{ siteId: site, machineId }] }));
    expect(machineOwner.status, machineOwner.text).toBe(201);
    const siteOwner = await create(tenantBody({ siteIds: [site] }));
    expect(siteOwner.status, siteOwner.text).toBe(201);
    const onMachine = { HwSerial: "h", MachineId: machineId, SiteId: site };
    expect((await spark("InfoQuery", onMachine, machineOwner.body.sparkCallbackSecret)).status).toBe(200);
    expect((await spark("InfoQuery", onMachine, siteOwner.body.sparkCallbackSecret)).status).toBe(401);
    expect((await spark("InfoQuery", { ...onMachine, MachineId: freshMachine() }, siteOwner.body.sparkCallbackSecret)).status).toBe(200);
  });

  it("refuses the same SiteId or machine listed twice in one request", async () => {
    const site = freshSite();
    expectApiError(await create(tenantBody({ siteIds: [site, site] })), 400, "siteIds");
    const machine = { siteId: freshSite(), machineId: freshMachine() };
    expectApiError(await create(tenantBody({ siteIds: [], machines: [machine, machine] })), 400, "machines");
  });

  it.each([
    ["name missing", { name: undefined }, {}, "name"],
    ["name empty", { name: "  " }, {}, "name"],
    ["siteIds not numbers", { siteIds: ["two"] }, {}, "siteIds.0"],
    ["no claim at all", { siteIds: [], machines: [] }, {}, "siteIds"],
    ["machine without machineId", { machines: [{ siteId: 5 }] }, {}, "machines.0.machineId"],
    ["spark missing", { spark: undefined }, {}, "spark"],
    ["spark.tokenId a string", {}, { tokenId: "116383" }, "spark.tokenId"],
    ["spark.secretToken too short", {}, { secretToken: "short" }, "spark.secretToken"],
    ["spark.secretToken not ASCII", {}, { secretToken: "é".repeat(40) }, "spark.secretToken"],
    ["spark.signKey missing", {}, { signKey: undefined }, "spark.signKey"],
    ["spark.baseUrl missing", {}, { baseUrl: undefined }, "spark.baseUrl"],
    ["defaultPreAuthAmount with 3 decimals", { defaultPreAuthAmount: "1.005" }, {}, "defaultPreAuthAmount"],
    ["defaultPreAuthAmount negative", { defaultPreAuthAmount: "-5.00" }, {}, "defaultPreAuthAmount"],
  ])("validates: %s → 400 naming the field", async (_label, overrides, sparkOverrides, field) => {
    const answer = await create(tenantBody(overrides as Record<string, unknown>, sparkOverrides));
    expectApiError(answer, 400, field);
    expect(answer.body as unknown).toMatchObject({ error: { code: expect.any(String), message: expect.stringContaining(field.split(".")[0]!) } });
  });

  it("tells a missing field from a mistyped one", async () => {
    const answer = await create(tenantBody({ name: undefined }, { tokenId: "116383" }));
    expectApiError(answer, 400);
    const details = (answer.body as unknown as { error: { details: Array<{ field: string; message: string }> } }).error.details;
    expect(details.find((d) => d.field === "name")?.message).toBe("is required");
    expect(details.find((d) => d.field === "spark.tokenId")?.message).toMatch(/number/);
  });

  it("answers malformed JSON with 400 in the error shape", async () => {
    const res = await admin("/admin/tenants", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"name": "x",' });
    const body = await res.json();
    expectApiError({ status: res.status, body, res }, 400);
  });

  it("refuses a body over 64 KiB with 413", async () => {
    const body = tenantBody({ padding: "x".repeat(70 * 1024) });
    const answer = await create(body);
    expectApiError(answer, 413);
    // Nothing was created: its token is still free.
    expect((await create({ ...body, padding: undefined })).status).toBe(201);
  });

  it("keeps the onboarding defaultPreAuthAmount, answering it to InfoQuery", async () => {
    const created = await create(tenantBody({ defaultPreAuthAmount: "25.5" }));
    expect(created.status).toBe(201);
    expect(created.body.defaultPreAuthAmount).toBe("25.50");
    const answer = await sparkCall(
      "InfoQuery",
      { HwSerial: "h", MachineId: 1, ServiceStationNumber: "1", SiteId: created.body.siteIds[0] },
      created.body.sparkCallbackSecret,
    );
    expect(answer.body.Amount).toBe(25.5);
  });
});

describe("operator authentication", () => {
  it.each([
    ["no Authorization", {}],
    ["a wrong token", { Authorization: "Bearer not-the-admin-token" }],
    ["the token without Bearer", { Authorization: ADMIN_TOKEN }],
    ["Basic auth", { Authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` }],
  ])("refuses %s with 401", async (_label, headers) => {
    for (const [method, path] of [
      ["GET", "/admin/tenants"],
      ["POST", "/admin/tenants"],
      ["GET", "/admin/tenants/ten_x"],
    ] as const) {
      const res = await call(path, { method, headers, ...(method === "POST" ? { json: tenantBody() } : {}) });
      const body = await res.json();
      expectApiError({ status: res.status, body, res }, 401);
    }
  });

  it("refuses a tenant's API key and callback secret on /admin", async () => {
    const tenant = await onboard({ siteIds: [freshSite()] });
    for (const token of [tenant.apiKey, tenant.sparkCallbackSecret]) {
      const res = await call("/admin/tenants", { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    }
  });

  it("puts X-Request-Id on 404s under /admin too", async () => {
    const res = await admin("/admin/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
    const missing = await adminJson("/admin/tenants/ten_doesnotexist");
    expectApiError(missing, 404);
  });
});

describe("tenant management", () => {
  it("lists tenants newest first with cursor pagination, without duplicates or gaps", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await create(tenantBody())).body.id);
    const seen: TenantBody[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { data: TenantBody[]; nextCursor: string | null } } = await adminJson(
        `/admin/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    const ids = seen.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of made) expect(ids).toContain(id);
    // Newest first: the five just made come in reverse creation order relative to each other.
    const positions = made.map((id) => ids.indexOf(id));
    expect([...positions].sort((a, b) => b - a)).toEqual(positions);
    // Whole list in one page agrees.
    const all = await adminJson<{ data: TenantBody[]; nextCursor: string | null }>("/admin/tenants?limit=200");
    expect(all.body.data.map((t) => t.id)).toEqual(ids);
    expect(all.body.nextCursor).toBeNull();
  });

  it("refuses a bad cursor or limit with 400", async () => {
    expectApiError(await adminJson("/admin/tenants?cursor=not-a-cursor"), 400, "cursor");
    expectApiError(await adminJson("/admin/tenants?limit=201"), 400, "limit");
    expectApiError(await adminJson("/admin/tenants?limit=0"), 400, "limit");
  });

  it("reads a tenant", async () => {
    const created = await create(tenantBody({ name: "Readable" }));
    const read = await adminJson<TenantBody>(`/admin/tenants/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      id: created.body.id,
      name: "Readable",
      status: "active",
      siteIds: created.body.siteIds,
      machines: [],
      defaultPreAuthAmount: "50.00",
      spark: { baseUrl: tenantInput.spark.baseUrl, tokenId: created.body.spark.tokenId, integratorId: "927" },
    });
  });

  it("updates a tenant with PATCH", async () => {
    const created = await create(tenantBody());
    const id = created.body.id;
    const patched = await adminJson<TenantBody>(`/admin/tenants/${id}`, {
      method: "PATCH",
      json: { name: "Renamed", defaultPreAuthAmount: "12.5", spark: { baseUrl: "https://spark-prod.example/api" } },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ name: "Renamed", defaultPreAuthAmount: "12.50", spark: { baseUrl: "https://spark-prod.example/api" } });
    expect((await adminJson<TenantBody>(`/admin/tenants/${id}`)).body.name).toBe("Renamed");
    const info = await sparkCall("InfoQuery", { HwSerial: "h", MachineId: 1, SiteId: created.body.siteIds[0] }, created.body.sparkCallbackSecret);
    expect(info.body.Amount).toBe(12.5);

    expectApiError(await adminJson(`/admin/tenants/${id}`, { method: "PATCH", json: { name: "" } }), 400, "name");
    expectApiError(await adminJson(`/admin/tenants/${id}`, { method: "PATCH", json: { spark: { baseUrl: "http://spark.example/api" } } }), 400, "spark.baseUrl");
    expectApiError(await adminJson(`/admin/tenants/${id}`, { method: "PATCH", json: { defaultPreAuthAmount: "1.001" } }), 400, "defaultPreAuthAmount");
    const other = await create(tenantBody());
    expectApiError(await adminJson(`/admin/tenants/${id}`, { method: "PATCH", json: { spark: { tokenId: other.body.spark.tokenId } } }), 409);
    expectApiError(await adminJson("/admin/tenants/ten_missing", { method: "PATCH", json: { name: "x" } }), 404);
  });

  it("disables and enables a tenant: its API key and callback secret stop and start working", async () => {
    const created = await create(tenantBody());
    const { id, apiKey, sparkCallbackSecret, siteIds } = created.body;
    const disabled = await adminJson<TenantBody>(`/admin/tenants/${id}/disable`, { method: "POST" });
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe("disabled");
    expect(await apiKeyStatus(apiKey)).toBe(401);
    expect(await infoQueryStatus(sparkCallbackSecret, siteIds[0]!)).toBe(401);
    // Its claims stay reserved while disabled.
    expectApiError(await create(tenantBody({ siteIds })), 409);

    const enabled = await adminJson<TenantBody>(`/admin/tenants/${id}/enable`, { method: "POST" });
    expect(enabled.body.status).toBe("active");
    expect(await apiKeyStatus(apiKey)).toBe(200);
    expect(await infoQueryStatus(sparkCallbackSecret, siteIds[0]!)).toBe(200);
  });

  it("adds site and machine claims", async () => {
    const created = await create(tenantBody());
    const { id, sparkCallbackSecret } = created.body;
    const site = freshSite();
    expect(await infoQueryStatus(sparkCallbackSecret, site)).toBe(404);
    const machine = { siteId: freshSite(), machineId: freshMachine() };
    const added = await adminJson<TenantBody>(`/admin/tenants/${id}/claims`, { method: "POST", json: { siteIds: [site], machines: [machine] } });
    expect(added.status, added.text).toBe(200);
    expect(added.body.siteIds).toEqual([created.body.siteIds[0]!, site].sort((a, b) => a - b));
    expect(added.body.machines).toEqual([machine]);
    expect(await infoQueryStatus(sparkCallbackSecret, site)).toBe(200);
    const onMachine = await spark("InfoQuery", { HwSerial: "h", MachineId: machine.machineId, SiteId: machine.siteId }, sparkCallbackSecret);
    expect(onMachine.status).toBe(200);

    const other = await create(tenantBody());
    expectApiError(await adminJson(`/admin/tenants/${other.body.id}/claims`, { method: "POST", json: { siteIds: [site] } }), 409);
    expectApiError(await adminJson(`/admin/tenants/${id}/claims`, { method: "POST", json: {} }), 400, "siteIds");
    expectApiError(await adminJson(`/admin/tenants/${id}/claims`, { method: "POST", json: { siteIds: ["x"] } }), 400, "siteIds.0");
    expectApiError(await adminJson("/admin/tenants/ten_missing/claims", { method: "POST", json: { siteIds: [freshSite()] } }), 404);
  });

  it("removes a site and a machine claim; routing stops, and the claim is free again", async () => {
    const site = freshSite();
    const machine = { siteId: freshSite(), machineId: freshMachine() };
    const created = await create(tenantBody({ siteIds: [site, freshSite()], machines: [machine] }));
    const { id, sparkCallbackSecret } = created.body;

    const removed = await adminJson<TenantBody>(`/admin/tenants/${id}/sites/${site}`, { method: "DELETE" });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body.siteIds).not.toContain(site);
    expect(await infoQueryStatus(sparkCallbackSecret, site)).toBe(404);
    expectApiError(await adminJson(`/admin/tenants/${id}/sites/${site}`, { method: "DELETE" }), 404);

    const gone = await adminJson<TenantBody>(`/admin/tenants/${id}/machines/${machine.siteId}/${machine.machineId}`, { method: "DELETE" });
    expect(gone.status, gone.text).toBe(200);
    expect(gone.body.machines).toEqual([]);
    const onMachine = await spark("InfoQuery", { HwSerial: "h", MachineId: machine.machineId, SiteId: machine.siteId }, sparkCallbackSecret);
    expect(onMachine.status).toBe(404);

    // Both are free for another tenant now.
    expect((await create(tenantBody({ siteIds: [site], machines: [machine] }))).status).toBe(201);
  });

  it.each([
    ["rotate-api-key", "apiKey"],
    ["rotate-callback-secret", "sparkCallbackSecret"],
  ] as const)("%s: the new secret works, the old keeps working during the overlap, overlapSeconds 0 revokes at once", async (action, field) => {
    const created = await create(tenantBody());
    const { id, siteIds } = created.body;
    const works = (secret: string) => (field === "apiKey" ? apiKeyStatus(secret) : infoQueryStatus(secret, siteIds[0]!));
    const old = created.body[field];

    const first = await adminJson<Record<string, string>>(`/admin/tenants/${id}/${action}`, { method: "POST" });
    expect(first.status, first.text).toBe(200);
    const second = first.body[field]!;
    expect(second).toBeTruthy();
    expect(second).not.toBe(old);
    const overlapEnds = Date.parse(first.body.previousExpiresAt!);
    expect(overlapEnds - Date.now()).toBeGreaterThan(23 * 3600 * 1000);
    expect(overlapEnds - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
    expect(await works(second)).toBe(200);
    expect(await works(old)).toBe(200);

    const third = await adminJson<Record<string, string>>(`/admin/tenants/${id}/${action}`, { method: "POST", json: { overlapSeconds: 0 } });
    expect(third.status, third.text).toBe(200);
    const newest = third.body[field]!;
    expect(await works(newest)).toBe(200);
    expect(await works(second)).toBe(401);
    expect(await works(old)).toBe(401);

    // A body sent without a JSON content type (curl -d) is read all the same.
    const fourth = await adminJson<Record<string, string>>(`/admin/tenants/${id}/${action}`, { method: "POST", body: '{"overlapSeconds":0}' });
    expect(fourth.status, fourth.text).toBe(200);
    expect(await works(newest)).toBe(401);
    const latest = fourth.body[field]!;
    expect(await works(latest)).toBe(200);

    expectApiError(await adminJson(`/admin/tenants/${id}/${action}`, { method: "POST", json: { overlapSeconds: -1 } }), 400, "overlapSeconds");
    expectApiError(await adminJson(`/admin/tenants/${id}/${action}`, { method: "POST", json: { overlapSeconds: "soon" } }), 400, "overlapSeconds");
    expect(await works(latest)).toBe(200);
    expectApiError(await adminJson(`/admin/tenants/ten_missing/${action}`, { method: "POST" }), 404);
  });

  it("never shows a secret again after onboarding", async () => {
    const created = await create(tenantBody({ webhookUrl: "https://csms.example/hooks/again" }));
    const { id, apiKey, sparkCallbackSecret } = created.body;
    const secrets = [tenantInput.spark.secretToken, tenantInput.spark.signKey, apiKey, sparkCallbackSecret, created.body.webhookEndpoint!.secret];
    const rotated = await adminJson<Record<string, string>>(`/admin/tenants/${id}/rotate-api-key`, { method: "POST" });
    secrets.push(rotated.body.apiKey!);
    const texts = [
      (await adminJson(`/admin/tenants/${id}`)).text,
      (await adminJson("/admin/tenants?limit=200")).text,
      (await adminJson(`/admin/tenants/${id}`, { method: "PATCH", json: { name: "Still secret" } })).text,
      (await adminJson(`/admin/tenants/${id}`, { method: "PATCH", json: { spark: { secretToken: "N".repeat(40), signKey: "new-sign-key" } } })).text,
      (await adminJson(`/admin/tenants/${id}/claims`, { method: "POST", json: { siteIds: [freshSite()] } })).text,
      (await adminJson(`/admin/tenants/${id}/disable`, { method: "POST" })).text,
      (await adminJson(`/admin/tenants/${id}/enable`, { method: "POST" })).text,
    ];
    secrets.push("N".repeat(40), "new-sign-key");
    for (const text of texts) {
      expect(text).toContain(id);
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toContain("whsec_");
    }
  });
});
