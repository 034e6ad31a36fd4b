/** Tenant API basics (CONTRACT §5): session lists, stations, auth, errors, docs and health. */
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, call, tenantCall } from "./helpers";
import type { Onboarded } from "./helpers";
import { authorize, expectApiError, freshMachine, sleep, sparkCall, tenantJson, tenantWithSites } from "./support";

interface SessionItem {
  id: string;
  status: string;
  siteId: number | null;
  createdAt: string;
}
interface Page {
  data: SessionItem[];
  nextCursor: string | null;
}

type Tenant = Onboarded & { siteIds: number[] };

describe("service endpoints", () => {
  it("GET /health answers 200", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Request-Id")).toBeTruthy();
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("GET /openapi.json is an OpenAPI 3.1 document of the /v1 and /admin APIs", async () => {
    const res = await call("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; info: { title: string }; paths: Record<string, Record<string, unknown>>; components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> } };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBeTruthy();
    const paths = Object.keys(doc.paths);
    for (const path of [
      "/v1/sessions",
      "/v1/sessions/{id}",
      "/v1/stations/{machineId}/{serviceStationNumber}",
      "/admin/tenants",
      "/admin/tenants/{id}",
      "/admin/tenants/{id}/claims",
      "/admin/tenants/{id}/rotate-api-key",
      "/admin/tenants/{id}/rotate-callback-secret",
    ]) {
      expect(paths, path).toContain(path);
    }
    expect(Object.keys(doc.paths["/v1/sessions"]!)).toEqual(expect.arrayContaining(["get"]));
    expect(Object.keys(doc.paths["/admin/tenants"]!)).toEqual(expect.arrayContaining(["get", "post"]));
    expect(Object.keys(doc.paths["/v1/stations/{machineId}/{serviceStationNumber}"]!)).toContain("put");
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["ApiKey", "AdminToken"]));
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(["Session", "Error", "TenantInput", "StationInput"]));
  });

  it("GET /docs renders the API reference as HTML", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(await res.text()).toContain("/openapi.json");
  });

  it.each([
    ["GET", "/nope"],
    ["GET", "/v1"],
    ["POST", "/health"],
    ["GET", "/v1/nothing/here"],
  ])("answers an unknown route (%s %s) with a JSON 404 carrying X-Request-Id", async (method, path) => {
    const res = await call(path, { method });
    const body = await res.json();
    expectApiError({ status: res.status, body, res }, 404);
    expect((body as { error: { code: string } }).error.code).toBe("not_found");
  });
});

describe("tenant authentication", () => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await tenantWithSites(1);
  });

  it.each([
    ["no Authorization header", {}],
    ["an unknown API key", { Authorization: "Bearer sk_not-a-real-key" }],
    ["the admin token", { Authorization: `Bearer ${ADMIN_TOKEN}` }],
    ["an empty bearer", { Authorization: "Bearer " }],
  ])("refuses %s with 401", async (_label, headers) => {
    for (const [method, path, json] of [
      ["GET", "/v1/sessions", undefined],
      ["GET", `/v1/sessions/${crypto.randomUUID()}`, undefined],
      ["PUT", "/v1/stations/1/1", { availability: "busy" }],
    ] as const) {
      const res = await call(path, { method, headers, ...(json ? { json } : {}) });
      const body = await res.json();
      expectApiError({ status: res.status, body, res }, 401);
    }
  });

  it("refuses the tenant's callback secret as an API key", async () => {
    expectApiError(await tenantJson(tenant.sparkCallbackSecret, "/v1/sessions"), 401);
    expect((await tenantJson(tenant.apiKey, "/v1/sessions")).status).toBe(200);
  });
});

describe("GET /v1/sessions", () => {
  let tenant: Tenant;
  /** Oldest first, as created. */
  const made: SessionItem[] = [];
  let declinedId: string;

  beforeAll(async () => {
    tenant = await tenantWithSites(2);
    const busyMachine = freshMachine();
    expect((await tenantCall(tenant.apiKey, `/v1/stations/${busyMachine}/5`, { method: "PUT", json: { availability: "busy" } })).status).toBe(200);
    for (let i = 0; i < 7; i++) {
      const siteId = tenant.siteIds[i % 2]!;
      const machine = i === 3 ? busyMachine : freshMachine();
      const { id } = await authorize(tenant, { SiteId: siteId, MachineId: machine });
      if (i === 3) declinedId = id;
      const read = await tenantJson<SessionItem>(tenant.apiKey, `/v1/sessions/${id}`);
      made.push(read.body);
      await sleep(4);
    }
  });

  const list = (query: string) => tenantJson<Page>(tenant.apiKey, `/v1/sessions${query}`);

  /** Follows nextCursor until the end. */
  async function allPages(query: string, limit: number): Promise<SessionItem[][]> {
    const pages: SessionItem[][] = [];
    let cursor: string | null = null;
    do {
      const sep = query ? "&" : "";
      const page = await list(`?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status, page.text).toBe(200);
      pages.push(page.body.data);
      cursor = page.body.nextCursor;
      expect(pages.length).toBeLessThan(20);
    } while (cursor);
    return pages;
  }

  it("lists newest first with {data, nextCursor}; the default limit holds them all", async () => {
    const page = await list("");
    expect(page.status).toBe(200);
    expect(Object.keys(page.body).sort()).toEqual(["data", "nextCursor"]);
    expect(page.body.nextCursor).toBeNull();
    expect(page.body.data.map((s) => s.id)).toEqual([...made].reverse().map((s) => s.id));
    // The list shows the same session object as the single read (without the timeline).
    expect(page.body.data[0]).toMatchObject({ id: made[6]!.id, status: "authorized", authorizedAmount: "10.00", flow: "device_start" });
    expect(page.body.data[0]).not.toHaveProperty("events");
  });

  it("pages with limit and nextCursor, with no duplicates or gaps", async () => {
    const pages = await allPages("", 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    const ids = pages.flat().map((s) => s.id);
    expect(ids).toEqual([...made].reverse().map((s) => s.id));
    // A page exactly at the end has no next cursor.
    const exact = await allPages("", 7);
    expect(exact.map((p) => p.length)).toEqual([7]);
    const byOne = await allPages("", 1);
    expect(byOne.flat().map((s) => s.id)).toEqual(ids);
  });

  it("filters by status", async () => {
    const declined = await list("?status=declined");
    expect(declined.body.data.map((s) => s.id)).toEqual([declinedId]);
    const authorized = (await allPages("status=authorized", 2)).flat();
    expect(authorized.map((s) => s.id)).toEqual([...made].reverse().filter((s) => s.id !== declinedId).map((s) => s.id));
    expect(authorized.every((s) => s.status === "authorized")).toBe(true);
    expect((await list("?status=settled")).body.data).toEqual([]);
  });

  it("filters by siteId", async () => {
    for (const siteId of tenant.siteIds) {
      const pages = await allPages(`siteId=${siteId}`, 2);
      const expected = [...made].reverse().filter((s) => s.siteId === siteId);
      expect(expected.length).toBeGreaterThan(0);
      expect(pages.flat().map((s) => s.id)).toEqual(expected.map((s) => s.id));
    }
    expect((await list("?siteId=424242")).body.data).toEqual([]);
  });

  it("filters by from (inclusive) and to", async () => {
    const times = made.map((s) => Date.parse(s.createdAt));
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    const from = made[4]!.createdAt;
    const since = await list(`?from=${encodeURIComponent(from)}`);
    expect(since.body.data.map((s) => s.id)).toEqual([made[6]!.id, made[5]!.id, made[4]!.id]);

    const midway = new Date(Math.floor((times[1]! + times[2]!) / 2)).toISOString();
    const until = await list(`?to=${encodeURIComponent(midway)}`);
    expect(until.body.data.map((s) => s.id)).toEqual([made[1]!.id, made[0]!.id]);

    const between = await list(`?from=${encodeURIComponent(made[2]!.createdAt)}&to=${encodeURIComponent(new Date(times[4]! - 1).toISOString())}`);
    expect(between.body.data.map((s) => s.id)).toEqual([made[3]!.id, made[2]!.id]);

    // Combined with paging and another filter.
    const pages = await allPages(`from=${encodeURIComponent(made[1]!.createdAt)}&siteId=${tenant.siteIds[1]}`, 1);
    expect(pages.flat().map((s) => s.id)).toEqual([made[5]!.id, made[3]!.id, made[1]!.id]);
  });

  it.each([
    ["limit over 200", "?limit=201", "limit"],
    ["limit 0", "?limit=0", "limit"],
    ["limit not a number", "?limit=many", "limit"],
    ["an unknown status", "?status=finished", "status"],
    ["a siteId that is not a number", "?siteId=two", "siteId"],
    ["from not a time", "?from=yesterday", "from"],
    ["to not a time", "?to=2024-13-45", "to"],
    ["a cursor that is not ours", "?cursor=not-a-cursor", "cursor"],
    ["a cursor of the wrong shape", `?cursor=${btoa(JSON.stringify({ a: 1 }))}`, "cursor"],
  ])("refuses %s with 400 naming the field", async (_label, query, field) => {
    expectApiError(await list(query), 400, field);
  });

  it("refuses from after to with 400", async () => {
    expectApiError(await list("?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z"), 400);
  });

  it("accepts limit 200", async () => {
    const page = await list("?limit=200");
    expect(page.status).toBe(200);
    expect(page.body.data).toHaveLength(7);
  });
});

describe("PUT /v1/stations/{machineId}/{serviceStationNumber}", () => {
  let tenant: Tenant;
  beforeAll(async () => {
    tenant = await tenantWithSites(1);
  });
  const put = (path: string, json: unknown) => tenantJson(tenant.apiKey, `/v1/stations/${path}`, { method: "PUT", json });

  it("stores and echoes the station, money as a decimal string", async () => {
    const machine = freshMachine();
    const res = await put(`${machine}/5`, { availability: "busy", display: ";Station:5;", preAuthAmount: 10 });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ machineId: machine, serviceStationNumber: "5", availability: "busy", display: ";Station:5;", preAuthAmount: "10.00" });
    expect(Number.isNaN(Date.parse(res.body.updatedAt as string))).toBe(false);
    // Replacing it drops what is not given again.
    const again = await put(`${machine}/5`, { availability: "available" });
    expect(again.body).toMatchObject({ availability: "available", display: null, preAuthAmount: null });
    const info = await sparkCall("InfoQuery", { HwSerial: "h", MachineId: machine, ServiceStationNumber: "5", SiteId: tenant.siteIds[0] }, tenant.sparkCallbackSecret);
    expect(info.body).toMatchObject({ ServiceStationAvailability: 1, Amount: 50 });
  });

  it.each([
    ["an unknown availability", { availability: "maybe" }, "availability"],
    ["availability missing", { display: "x" }, "availability"],
    ["an amount with 3 decimals", { availability: "available", preAuthAmount: "1.005" }, "preAuthAmount"],
    ["a negative amount (string)", { availability: "available", preAuthAmount: "-1.00" }, "preAuthAmount"],
    ["a negative amount (number)", { availability: "available", preAuthAmount: -1 }, "preAuthAmount"],
    ["an amount that is not a number", { availability: "available", preAuthAmount: "ten" }, "preAuthAmount"],
    ["a display over 512 characters", { availability: "available", display: "x".repeat(513) }, "display"],
  ])("refuses %s with 400 naming the field", async (_label, body, field) => {
    const machine = freshMachine();
    expectApiError(await put(`${machine}/1`, body), 400, field);
    // Nothing was stored: InfoQuery still answers the defaults.
    const info = await sparkCall("InfoQuery", { HwSerial: "h", MachineId: machine, ServiceStationNumber: "1", SiteId: tenant.siteIds[0] }, tenant.sparkCallbackSecret);
    expect(info.body).toMatchObject({ ServiceStationAvailability: 1, Amount: 50 });
  });

  it("refuses a bad machine id, malformed JSON and an oversized body", async () => {
    expectApiError(await put("abc/1", { availability: "busy" }), 400, "machineId");
    expectApiError(await put("-5/1", { availability: "busy" }), 400, "machineId");
    const malformed = await tenantCall(tenant.apiKey, "/v1/stations/1/1", { method: "PUT", headers: { "Content-Type": "application/json" }, body: "{availability:" });
    expectApiError({ status: malformed.status, body: await malformed.json(), res: malformed }, 400);
    expectApiError(await put("1/1", { availability: "busy", display: "x".repeat(70 * 1024) }), 413);
  });
});
