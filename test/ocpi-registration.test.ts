/// <reference types="vite/client" />
/** OCPI connections (CONTRACT §7.3): registration both ways, the credentials module, rotation, unregistration, pulls. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { onboard } from "./helpers";
import { GATEWAY, api, connect, connectedTenant, envelopeOf, gateway, location221, newCpo, ocpiState, tableDigest, waitForSync } from "./ocpi-support";

let nextSite = 930_000;
const tenant = () => onboard({ siteIds: [nextSite++] });

interface ConnectionBody {
  status: string;
  version: string | null;
  initiatedBy: string | null;
  tokenEncoding: string | null;
  emsp: { countryCode: string; partyId: string; versionsUrl: string } | null;
  cpo: { versionsUrl: string; parties: Array<Record<string, unknown>>; endpoints: Array<{ identifier: string; role: string | null; url: string }> } | null;
  additionalParties: unknown[];
  lastSync: { locations: { count: number; pages: number; error: string | null } | null; tariffs: { count: number; pages: number; error: string | null } | null } | null;
  registeredAt: string | null;
}

/** An OCPI request to the gateway with a token in a given form. */
function ocpi(path: string, token: string | null, init: RequestInit & { json?: unknown; encoding?: "base64" | "plain" } = {}) {
  const { encoding = "plain", ...rest } = init;
  const headers: Record<string, string> = { ...(rest.headers as Record<string, string>) };
  if (token !== null) headers.Authorization = `Token ${encoding === "base64" ? btoa(token) : token}`;
  return gateway(path, { ...rest, headers });
}

const gatewayTokens = async (tenantId: string) => (await env.DB.prepare("SELECT kind FROM ocpi_tokens WHERE tenant_id = ?").bind(tenantId).all<{ kind: string }>()).results.map((r) => r.kind);

describe("gateway-initiated registration (POST /v1/ocpi/connection)", () => {
  it("registers on 2.2.1: versions, details, credentials with Token A, then only the CPO's token", async () => {
    const t = await tenant();
    const sim = newCpo({ parties: [{ countryCode: "NL", partyId: "EXA", name: "Example Operator" }, { countryCode: "NL", partyId: "EXB", name: "Other Operator" }] });
    sim.locations = [1, 2, 3, 4, 5].map((i) => location221({ countryCode: "NL", partyId: "EXA" }, `L${i}`, [[`E${i}`, "AVAILABLE", ["1"]]]));
    sim.tariffs = [{ country_code: "NL", party_id: "EXA", id: "T1", currency: "EUR", elements: [{ price_components: [{ type: "ENERGY", price: 0.25, step_size: 1 }] }], last_updated: "2024-05-01T10:00:00Z" }];
    const offer = sim.offerTokenA();
    const res = await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection", { method: "POST", json: { versionsUrl: offer.versionsUrl, token: offer.token } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      status: "connected",
      version: "2.2.1",
      initiatedBy: "gateway",
      tokenEncoding: null,
      emsp: { countryCode: "IL", partyId: "NYX", versionsUrl: `${GATEWAY}/ocpi/versions` },
      cpo: { versionsUrl: offer.versionsUrl },
      additionalParties: [],
    });
    expect(res.body.cpo!.parties).toEqual([
      { countryCode: "NL", partyId: "EXA", role: "CPO", name: "Example Operator" },
      { countryCode: "NL", partyId: "EXB", role: "CPO", name: "Other Operator" },
    ]);
    expect(res.body.cpo!.endpoints).toContainEqual({ identifier: "commands", role: "RECEIVER", url: `${sim.baseUrl}/2.2.1/commands` });
    expect(sim.violations).toEqual([]);

    // Versions and details with Token A (Base64 on 2.2.1), then the credentials POST; the CPO read the gateway back with the new token.
    const [versions, details, post] = sim.requests;
    expect(versions!.headers.authorization).toBe(`Token ${btoa(offer.token)}`);
    expect(details!.url).toBe(`${sim.baseUrl}/2.2.1`);
    expect(post!.method).toBe("POST");
    expect(post!.headers.authorization).toBe(`Token ${btoa(offer.token)}`);
    const sent = JSON.parse(post!.bodyText) as { token: string; url: string; roles: unknown[] };
    expect(sent.url).toBe(`${GATEWAY}/ocpi/versions`);
    expect(sent.roles).toEqual([{ role: "EMSP", country_code: "IL", party_id: "NYX", business_details: { name: "Nayax" } }]);
    expect(sent.token).toMatch(/^[\x21-\x7e]{32,64}$/);
    expect(sim.gatewayToken).toBe(sent.token);

    // Tokens never shown.
    const shown = JSON.stringify((await api(t.apiKey, "/v1/ocpi/connection")).body);
    for (const token of [offer.token, sent.token, sim.acceptedToken!]) expect(shown).not.toContain(token);

    // The initial pull: 5 Locations in pages of 2, 1 Tariff; Token A never again.
    const synced = (await waitForSync(t.apiKey)) as unknown as ConnectionBody;
    expect(synced.lastSync!.locations).toMatchObject({ count: 5, pages: 3, error: null });
    expect(synced.lastSync!.tariffs).toMatchObject({ count: 1, pages: 1, error: null });
    const later = sim.requests.slice(3);
    expect(later.length).toBeGreaterThan(0);
    for (const r of later) expect(r.headers.authorization).toBe(`Token ${btoa(sim.acceptedToken!)}`);
    expect(sim.violations).toEqual([]);
  });

  it("registers on 2.1.1 with a CPO that only reads its token as is (Base64 first, then as is after a 401)", async () => {
    const t = await tenant();
    const sim = newCpo({ versions: ["2.1.1"] });
    const offer = sim.offerTokenA();
    const res = await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection", { method: "POST", json: { versionsUrl: offer.versionsUrl, token: offer.token } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.version).toBe("2.1.1");
    expect(res.body.cpo!.parties).toEqual([{ countryCode: "NL", partyId: "EXA", role: null, name: "Example Operator" }]);
    expect(res.body.cpo!.endpoints.every((e) => e.role === null)).toBe(true);
    expect(sim.requests[0]).toMatchObject({ status: 401 });
    expect(sim.requests[0]!.headers.authorization).toBe(`Token ${btoa(offer.token)}`);
    expect(sim.requests[1]!.headers.authorization).toBe(`Token ${offer.token}`);
    const post = sim.requests.find((r) => r.method === "POST")!;
    expect(Object.keys(JSON.parse(post.bodyText) as object).sort()).toEqual(["business_details", "country_code", "party_id", "token", "url"]);
    await waitForSync(t.apiKey);
  });

  it("chooses the highest version both sides support, and honours a fixed token form", async () => {
    const t = await tenant();
    const sim = newCpo({ versions: ["2.1.1", "2.2.1"], inboundEncoding221: "plain" });
    const offer = sim.offerTokenA();
    const res = await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection", { method: "POST", json: { versionsUrl: offer.versionsUrl, token: offer.token, tokenEncoding: "plain" } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ version: "2.2.1", tokenEncoding: "plain" });
    expect(sim.requests.every((r) => r.headers.authorization === `Token ${offer.token}` || r.headers.authorization === `Token ${sim.acceptedToken}`)).toBe(true);
    await waitForSync(t.apiKey);
    expect(sim.violations).toEqual([]);
  });

  it("answers 502 naming the failing step, and keeps nothing", async () => {
    const cases: Array<[string, (sim: ReturnType<typeof newCpo>) => { versionsUrl: string; token: string }, RegExp]> = [
      ["a wrong Token A", (sim) => ({ versionsUrl: sim.offerTokenA().versionsUrl, token: "not-the-token" }), /versions.*401/],
      ["no version in common", (sim) => sim.offerTokenA(), /no OCPI version in common/],
      ["no commands endpoint", (sim) => sim.offerTokenA(), /commands/],
      ["the credentials POST refused", (sim) => sim.offerTokenA(), /POST .*credentials.*3001/],
      [
        "a CPO where nothing listens",
        (sim) => {
          sim.down = true;
          return sim.offerTokenA();
        },
        /versions.*network error/,
      ],
    ];
    for (const [name, setup, message] of cases) {
      const t = await tenant();
      const sim = newCpo(name === "no version in common" ? { versions: [] } : name === "no commands endpoint" ? { omitEndpoints: ["commands"] } : {});
      if (name === "the credentials POST refused") sim.credentialsFailures.push({ httpStatus: 200, statusCode: 3001 });
      const res = await api<{ error: { code: string; message: string } }>(t.apiKey, "/v1/ocpi/connection", { method: "POST", json: setup(sim) });
      expect(res.status, name).toBe(502);
      expect(res.body.error.code, name).toBe("ocpi_registration_failed");
      expect(res.body.error.message, name).toMatch(message);
      expect((await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body.status, name).toBe("none");
      expect(await gatewayTokens(t.id), name).toEqual([]);
    }
  });

  it("refuses a second connection (409), a bad versions URL and a bad token (400)", async () => {
    const { tenant: t, sim } = await connectedTenant("2.2.1");
    const again = await api(t.apiKey, "/v1/ocpi/connection", { method: "POST", json: sim.offerTokenA() });
    expect(again.status).toBe(409);
    const fresh = await tenant();
    for (const [json, field] of [
      [{ versionsUrl: "http://cpo.example/ocpi/versions", token: "abc" }, "versionsUrl"],
      [{ versionsUrl: "https://user:pw@cpo.example/ocpi/versions", token: "abc" }, "versionsUrl"],
      [{ versionsUrl: "https://cpo.example/ocpi/versions" }, "token"],
      [{ versionsUrl: "https://cpo.example/ocpi/versions", token: "has space" }, "token"],
      [{ versionsUrl: "https://cpo.example/ocpi/versions", token: "abc", tokenEncoding: "hex" }, "tokenEncoding"],
      [{ versionsUrl: "https://cpo.example/ocpi/versions", token: "abc", additionalParties: [{ countryCode: "NLD", partyId: "EXB" }] }, "additionalParties.0.countryCode"],
    ] as const) {
      const res = await api<{ error: { details: Array<{ field: string }> } }>(fresh.apiKey, "/v1/ocpi/connection", { method: "POST", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(res.body.error.details.map((d) => d.field)).toContain(field);
    }
    expect((await api<ConnectionBody>(fresh.apiKey, "/v1/ocpi/connection")).body.status).toBe("none");
  });
});

describe("CPO-initiated registration (POST /v1/ocpi/invitation)", () => {
  it("hands out Token A, which opens versions, details and credentials only, until the CPO registers with it", async () => {
    const t = await tenant();
    const invitation = await api<{ token: string; versionsUrl: string; createdAt: string }>(t.apiKey, "/v1/ocpi/invitation", { method: "POST" });
    expect(invitation.status).toBe(201);
    expect(invitation.body.versionsUrl).toBe(`${GATEWAY}/ocpi/versions`);
    expect(invitation.body.token).toMatch(/^[\x21-\x7e]{32,64}$/);
    expect((await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body.status).toBe("invited");
    expect(JSON.stringify((await api(t.apiKey, "/v1/ocpi/connection")).body)).not.toContain(invitation.body.token);

    const tokenA = invitation.body.token;
    const versions = await envelopeOf(await ocpi("/ocpi/versions", tokenA, { encoding: "base64" }));
    expect(versions.status).toBe(200);
    expect(versions.body.data).toEqual([
      { version: "2.1.1", url: `${GATEWAY}/ocpi/2.1.1` },
      { version: "2.2.1", url: `${GATEWAY}/ocpi/2.2.1` },
    ]);
    const details = await envelopeOf(await ocpi("/ocpi/2.2.1", tokenA));
    expect(details.body.data).toEqual({
      version: "2.2.1",
      endpoints: [
        { identifier: "credentials", role: "RECEIVER", url: `${GATEWAY}/ocpi/2.2.1/credentials` },
        { identifier: "locations", role: "RECEIVER", url: `${GATEWAY}/ocpi/2.2.1/locations` },
        { identifier: "tariffs", role: "RECEIVER", url: `${GATEWAY}/ocpi/2.2.1/tariffs` },
        { identifier: "sessions", role: "RECEIVER", url: `${GATEWAY}/ocpi/2.2.1/sessions` },
        { identifier: "cdrs", role: "RECEIVER", url: `${GATEWAY}/ocpi/2.2.1/cdrs` },
        { identifier: "commands", role: "SENDER", url: `${GATEWAY}/ocpi/2.2.1/commands` },
      ],
    });
    const details211 = await envelopeOf(await ocpi("/ocpi/2.1.1", tokenA));
    expect((details211.body.data as { endpoints: Array<Record<string, unknown>> }).endpoints.map((e) => Object.keys(e).sort())).toEqual(Array(6).fill(["identifier", "url"]));
    expect((await ocpi("/ocpi/2.2.1/credentials", tokenA)).status).toBe(200);
    const refused = await envelopeOf(await ocpi("/ocpi/2.2.1/locations/NL/EXA/L1", tokenA));
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ status_code: 2000 });
    expect(refused.body.data).toBeUndefined();
    for (const method of ["PUT", "DELETE"]) expect((await ocpi("/ocpi/2.2.1/credentials", tokenA, { method, json: {} })).status, method).toBe(405);

    const sim = newCpo();
    const answer = await sim.register(invitation.body.versionsUrl, tokenA);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status_code: 1000 });
    const data = answer.body.data as { token: string; url: string; roles: unknown[] };
    expect(data.url).toBe(`${GATEWAY}/ocpi/versions`);
    expect(data.roles).toEqual([{ role: "EMSP", country_code: "IL", party_id: "NYX", business_details: { name: "Nayax" } }]);
    expect(data.token).toMatch(/^[\x21-\x7e]{32,64}$/);
    expect(data.token).not.toBe(tokenA);
    expect(sim.violations).toEqual([]);

    expect((await ocpi("/ocpi/versions", tokenA)).status).toBe(401);
    expect((await ocpi("/ocpi/versions", data.token, { encoding: "base64" })).status).toBe(200);
    const connection = (await waitForSync(t.apiKey)) as unknown as ConnectionBody;
    expect(connection).toMatchObject({ status: "connected", version: "2.2.1", initiatedBy: "cpo" });
    // The gateway read the CPO back with the token the CPO gave, Base64 on 2.2.1.
    expect(sim.requests[0]!.headers.authorization).toBe(`Token ${btoa(sim.acceptedToken!)}`);
  });

  it("registers a 2.1.1 CPO that reads and sends tokens as is", async () => {
    const t = await tenant();
    const sim = newCpo({ versions: ["2.1.1"] });
    await connect(t, sim, "cpo", "2.1.1");
    const connection = (await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body;
    expect(connection).toMatchObject({ status: "connected", version: "2.1.1", initiatedBy: "cpo" });
    expect(sim.violations).toEqual([]);
  });

  it("replaces an open invitation with a new one, and refuses one while connected (409)", async () => {
    const t = await tenant();
    const first = (await api<{ token: string }>(t.apiKey, "/v1/ocpi/invitation", { method: "POST" })).body.token;
    const second = (await api<{ token: string }>(t.apiKey, "/v1/ocpi/invitation", { method: "POST" })).body.token;
    expect(first).not.toBe(second);
    expect((await ocpi("/ocpi/versions", first)).status).toBe(401);
    expect((await ocpi("/ocpi/versions", second)).status).toBe(200);
    const { tenant: connected } = await connectedTenant("2.2.1", "cpo");
    expect((await api(connected.apiKey, "/v1/ocpi/invitation", { method: "POST" })).status).toBe(409);
  });

  it("answers 3001, 3002 and 3003 when it cannot read the CPO back, keeping Token A valid", async () => {
    const t = await tenant();
    const tokenA = (await api<{ token: string }>(t.apiKey, "/v1/ocpi/invitation", { method: "POST" })).body.token;
    const credentials = (url: string) => ({ token: "cpo-token-b-0123456789", url, roles: [{ role: "CPO", party_id: "EXA", country_code: "NL", business_details: { name: "Example" } }] });
    const down = newCpo();
    down.down = true;
    const unreachable = await envelopeOf(await ocpi("/ocpi/2.2.1/credentials", tokenA, { method: "POST", json: credentials(`${down.baseUrl}/versions`) }));
    expect(unreachable).toMatchObject({ status: 200, body: { status_code: 3001 } });
    const only211 = newCpo({ versions: ["2.1.1"] });
    only211.acceptedToken = "cpo-token-b-0123456789";
    const noVersion = await envelopeOf(await ocpi("/ocpi/2.2.1/credentials", tokenA, { method: "POST", json: credentials(`${only211.baseUrl}/versions`) }));
    expect(noVersion).toMatchObject({ status: 200, body: { status_code: 3002 } });
    const noCommands = newCpo({ omitEndpoints: ["commands"] });
    noCommands.acceptedToken = "cpo-token-b-0123456789";
    const missing = await envelopeOf(await ocpi("/ocpi/2.2.1/credentials", tokenA, { method: "POST", json: credentials(`${noCommands.baseUrl}/versions`) }));
    expect(missing).toMatchObject({ status: 200, body: { status_code: 3003 } });
    for (const answer of [unreachable, noVersion, missing]) expect(answer.body.data).toBeUndefined();
    expect((await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body.status).toBe("invited");
    expect((await ocpi("/ocpi/versions", tokenA)).status).toBe(200);
  });

  it("refuses a malformed credentials body with 2001 and stores nothing", async () => {
    const t = await tenant();
    const tokenA = (await api<{ token: string }>(t.apiKey, "/v1/ocpi/invitation", { method: "POST" })).body.token;
    const before = await ocpiState();
    for (const [body, field] of [
      ["{not json", "body"],
      [JSON.stringify([]), "body"],
      [JSON.stringify({ url: "https://cpo.example/versions", roles: [] }), "token"],
      [JSON.stringify({ token: "tok", url: "https://cpo.example/versions", roles: [{ role: "PIRATE", party_id: "EXA", country_code: "NL", business_details: { name: "x" } }] }), "roles.0.role"],
      [JSON.stringify({ token: "tok", url: "http://cpo.example/versions", roles: [{ role: "CPO", party_id: "EXA", country_code: "NL", business_details: { name: "x" } }] }), "url"],
    ] as const) {
      const answer = await envelopeOf(await ocpi("/ocpi/2.2.1/credentials", tokenA, { method: "POST", body, headers: { "Content-Type": "application/json" } }));
      expect(answer.status, body).toBe(400);
      expect(answer.body.status_code, body).toBe(2001);
      expect(String(answer.body.status_message), body).toContain(field);
    }
    expect(await ocpiState()).toBe(before);
  });
});

describe("the specification's credentials examples as a CPO's registration", () => {
  const examples = import.meta.glob("./fixtures/ocpi/*/credentials_example*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

  it.each(Object.keys(examples).sort())("%s", async (path) => {
    const version = path.includes("/2.2.1/") ? "2.2.1" : "2.1.1";
    const example = JSON.parse(examples[path]!) as { token: string; url: string; roles?: Array<{ role: string; party_id: string; country_code: string; business_details: { name: string } }>; party_id?: string; country_code?: string };
    const t = await tenant();
    const tokenA = (await api<{ token: string }>(t.apiKey, "/v1/ocpi/invitation", { method: "POST" })).body.token;
    // The CPO of the example, reachable here: it knows the example's token.
    const sim = newCpo({ versions: [version] });
    sim.acceptedToken = example.token;
    sim.version = version;
    const answer = await envelopeOf(await ocpi(`/ocpi/${version}/credentials`, tokenA, { method: "POST", json: { ...example, url: `${sim.baseUrl}/versions` } }));
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.status_code).toBe(1000);
    const connection = (await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body;
    expect(connection).toMatchObject({ status: "connected", version, initiatedBy: "cpo" });
    const expected = example.roles
      ? example.roles.map((r) => ({ countryCode: r.country_code, partyId: r.party_id, role: r.role, name: r.business_details.name }))
      : [{ countryCode: example.country_code, partyId: example.party_id, role: null, name: (example as unknown as { business_details: { name: string } }).business_details.name }];
    expect(connection.cpo!.parties).toEqual(expected);
    expect(sim.requests[0]!.headers.authorization).toBe(`Token ${version === "2.2.1" ? btoa(example.token) : example.token}`);
    await waitForSync(t.apiKey);
  });
});

describe("the credentials module and the connection's lifecycle", () => {
  it("GET answers the gateway's credentials; POST with a registered token is 405", async () => {
    const { sim } = await connectedTenant("2.2.1");
    const got = await envelopeOf(await ocpi("/ocpi/2.2.1/credentials", sim.gatewayToken!, { encoding: "base64" }));
    expect(got.status).toBe(200);
    expect(got.body.data).toEqual({ token: sim.gatewayToken, url: `${GATEWAY}/ocpi/versions`, roles: [{ role: "EMSP", country_code: "IL", party_id: "NYX", business_details: { name: "Nayax" } }] });
    const post = await envelopeOf(await ocpi("/ocpi/2.2.1/credentials", sim.gatewayToken!, { method: "POST", json: {} }));
    expect(post).toMatchObject({ status: 405, body: { status_code: 2000 } });
  });

  it("PUT by the CPO: new tokens both ways, the previous gateway token answers 401", async () => {
    const { tenant: t, sim } = await connectedTenant("2.2.1");
    const old = sim.gatewayToken!;
    const update = await sim.updateCredentials();
    expect(update.status, JSON.stringify(update.body)).toBe(200);
    expect(sim.gatewayToken).not.toBe(old);
    expect((await ocpi("/ocpi/versions", old)).status).toBe(401);
    expect((await ocpi("/ocpi/versions", sim.gatewayToken!)).status).toBe(200);
    // The gateway now presents the CPO's new token: a pull succeeds with it.
    const since = new Date().toISOString();
    expect((await api(t.apiKey, "/v1/ocpi/connection/sync", { method: "POST" })).status).toBe(202);
    await waitForSync(t.apiKey, since);
    expect(sim.requests.at(-1)!.headers.authorization).toBe(`Token ${btoa(sim.acceptedToken!)}`);
    expect(sim.violations).toEqual([]);
  });

  it("PUT to the other version's credentials switches the connection's version", async () => {
    const { tenant: t, sim } = await connectedTenant("2.2.1", "gateway", { versions: ["2.2.1", "2.1.1"] });
    const update = await sim.updateCredentials("2.1.1");
    expect(update.status, JSON.stringify(update.body)).toBe(200);
    expect(Object.keys(update.body.data as object).sort()).toEqual(["business_details", "country_code", "party_id", "token", "url"]);
    expect((await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body.version).toBe("2.1.1");
    // Modules of 2.2.1 now refuse the connection's token; 2.1.1 ones take it as is.
    expect((await ocpi("/ocpi/2.2.1/sessions/NL/EXA/1", sim.gatewayToken!)).status).toBe(401);
    expect((await ocpi("/ocpi/2.1.1/sessions/NL/EXA/1", sim.gatewayToken!)).status).toBe(404);
  });

  it("PUT that cannot read the CPO back changes nothing (3001)", async () => {
    const { sim } = await connectedTenant("2.2.1");
    const token = sim.gatewayToken!;
    const down = newCpo();
    down.down = true;
    const answer = await envelopeOf(await ocpi("/ocpi/2.2.1/credentials", token, { method: "PUT", json: { token: "x-new-token", url: `${down.baseUrl}/versions`, roles: [{ role: "CPO", party_id: "EXA", country_code: "NL", business_details: { name: "x" } }] } }));
    expect(answer).toMatchObject({ status: 200, body: { status_code: 3001 } });
    expect((await ocpi("/ocpi/versions", token)).status).toBe(200);
  });

  it("DELETE by the CPO retires both tokens; the connection is none", async () => {
    const { tenant: t, sim } = await connectedTenant("2.1.1", "cpo");
    const token = sim.gatewayToken!;
    const answer = await sim.unregister();
    expect(answer).toMatchObject({ status: 200, body: { status_code: 1000 } });
    expect(answer.body.data).toBeUndefined();
    expect((await ocpi("/ocpi/versions", token)).status).toBe(401);
    expect((await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body).toMatchObject({ status: "none", version: null, cpo: null, emsp: null });
    expect(await gatewayTokens(t.id)).toEqual([]);
  });

  it("rotates the gateway's token (tenant) and keeps the CPO's new one", async () => {
    const { tenant: t, sim } = await connectedTenant("2.2.1");
    const oldGateway = sim.gatewayToken!;
    const oldCpo = sim.acceptedToken!;
    const res = await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection/rotate", { method: "POST" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe("connected");
    expect(sim.gatewayToken).not.toBe(oldGateway);
    expect(sim.acceptedToken).not.toBe(oldCpo);
    expect((await ocpi("/ocpi/versions", oldGateway)).status).toBe(401);
    expect((await ocpi("/ocpi/versions", sim.gatewayToken!)).status).toBe(200);
    const since = new Date().toISOString();
    await api(t.apiKey, "/v1/ocpi/connection/sync", { method: "POST" });
    await waitForSync(t.apiKey, since);
    expect(sim.requests.at(-1)!.headers.authorization).toBe(`Token ${btoa(sim.acceptedToken!)}`);
    expect(sim.violations).toEqual([]);
  });

  it("a rotation the CPO refuses is a 502 and changes nothing", async () => {
    const { tenant: t, sim } = await connectedTenant("2.2.1");
    const token = sim.gatewayToken!;
    const before = await tableDigest("ocpi_tokens", t.id);
    sim.credentialsFailures.push({ httpStatus: 200, statusCode: 2000 });
    const res = await api<{ error: { code: string } }>(t.apiKey, "/v1/ocpi/connection/rotate", { method: "POST" });
    expect(res.status).toBe(502);
    expect((await ocpi("/ocpi/versions", token)).status).toBe(200);
    expect(await tableDigest("ocpi_tokens", t.id)).toBe(before);
  });

  it("DELETE /v1/ocpi/connection tells the CPO and retires both tokens", async () => {
    const { tenant: t, sim } = await connectedTenant("2.2.1");
    const token = sim.gatewayToken!;
    const res = await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection", { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "none", version: null, cpo: null, lastSync: null, additionalParties: [] });
    const deleted = sim.requests.at(-1)!;
    expect(deleted.method).toBe("DELETE");
    expect(deleted.url).toBe(`${sim.baseUrl}/2.2.1/credentials`);
    expect((await ocpi("/ocpi/versions", token)).status).toBe(401);
    expect(await gatewayTokens(t.id)).toEqual([]);
    // A new registration works afterwards.
    await connect(t, newCpo(), "gateway");
  });

  it("PATCH sets the token form and the additional parties; 404 without a connection", async () => {
    const { tenant: t } = await connectedTenant("2.2.1");
    const res = await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection", { method: "PATCH", json: { tokenEncoding: "plain", additionalParties: [{ countryCode: "BE", partyId: "BEC" }] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenEncoding: "plain", additionalParties: [{ countryCode: "BE", partyId: "BEC" }] });
    const reset = await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection", { method: "PATCH", json: { tokenEncoding: null } });
    expect(reset.body.tokenEncoding).toBeNull();
    expect((await api(t.apiKey, "/v1/ocpi/connection", { method: "PATCH", json: { tokenEncoding: "hex" } })).status).toBe(400);
    const none = await tenant();
    expect((await api(none.apiKey, "/v1/ocpi/connection", { method: "PATCH", json: { tokenEncoding: "plain" } })).status).toBe(404);
  });

  it("sync pulls again, following Link exactly and ignoring X-Total-Count; an error stops it and is recorded", async () => {
    const { tenant: t, sim } = await connectedTenant("2.2.1", "gateway", { misleadingTotalCount: true, pageSize: 2 });
    sim.locations = Array.from({ length: 7 }, (_, i) => location221({ countryCode: "NL", partyId: "EXA" }, `P${i}`, [[`E${i}`, "AVAILABLE", ["1"]]]));
    let since = new Date().toISOString();
    expect((await api(t.apiKey, "/v1/ocpi/connection/sync", { method: "POST" })).status).toBe(202);
    let synced = (await waitForSync(t.apiKey, since)) as unknown as ConnectionBody;
    expect(synced.lastSync!.locations).toMatchObject({ count: 7, pages: 4, error: null });
    const pages = sim.requests.filter((r) => r.url.includes("/locations"));
    expect(pages.at(-4)!.url).toBe(`${sim.baseUrl}/2.2.1/locations?offset=0`);
    expect(pages.slice(-3).map((r) => r.url)).toEqual([2, 4, 6].map((o) => `${sim.baseUrl}/2.2.1/locations?offset=${o}&limit=2`));
    for (const page of pages.slice(-4)) expect(page.headers["ocpi-to-party-id"]).toBe("EXA");
    expect((await envelopeOf(await ocpi("/ocpi/2.2.1/locations/NL/EXA/P6", sim.gatewayToken!, { encoding: "base64" }))).status).toBe(200);

    sim.pageFailures.push({ httpStatus: 200, statusCode: 1000 }, { httpStatus: 500, statusCode: 3000 });
    since = new Date().toISOString();
    await api(t.apiKey, "/v1/ocpi/connection/sync", { method: "POST" });
    synced = (await waitForSync(t.apiKey, since)) as unknown as ConnectionBody;
    expect(synced.lastSync!.locations!.error).toMatch(/page 1/);
    const none = await tenant();
    expect((await api(none.apiKey, "/v1/ocpi/connection/sync", { method: "POST" })).status).toBe(409);
  });

  it("keeps lastSync of a module the CPO does not send null", async () => {
    const { tenant: t } = await connectedTenant("2.2.1", "gateway", { omitEndpoints: ["tariffs"] });
    const connection = (await api<ConnectionBody>(t.apiKey, "/v1/ocpi/connection")).body;
    expect(connection.lastSync!.tariffs).toBeNull();
    expect(connection.lastSync!.locations).not.toBeNull();
  });
});

describe("authorization on /ocpi (CONTRACT §7.2)", () => {
  it("answers 401 with the envelope for a missing, unknown or retired token, and for the other version's modules", async () => {
    const { sim } = await connectedTenant("2.1.1");
    for (const [path, token] of [
      ["/ocpi/versions", null],
      ["/ocpi/versions", "unknown-token-value"],
      ["/ocpi/2.1.1/sessions/NL/EXA/1", "unknown-token-value"],
      ["/ocpi/2.2.1/sessions/NL/EXA/1", sim.gatewayToken],
      ["/ocpi/2.2.1/cdrs", sim.gatewayToken],
    ] as const) {
      const answer = await envelopeOf(await ocpi(path, token));
      expect(answer.status, `${path} ${token}`).toBe(401);
      expect(answer.body, path).toMatchObject({ status_code: 2000 });
      expect(typeof answer.body.timestamp).toBe("string");
      expect(answer.headers.get("Content-Type")).toContain("application/json");
    }
    // Either form of the token is accepted inbound.
    expect((await ocpi("/ocpi/2.1.1/sessions/NL/EXA/1", sim.gatewayToken!, { encoding: "base64" })).status).toBe(404);
    expect((await ocpi("/ocpi/2.1.1/sessions/NL/EXA/1", sim.gatewayToken!, { encoding: "plain" })).status).toBe(404);
  });

  it("echoes X-Request-ID and X-Correlation-ID, or makes new ones", async () => {
    const { sim } = await connectedTenant("2.2.1");
    const res = await ocpi("/ocpi/versions", sim.gatewayToken!, { headers: { "X-Request-ID": "req.123:abc", "X-Correlation-ID": "corr-456" } });
    expect(res.headers.get("X-Request-ID")).toBe("req.123:abc");
    expect(res.headers.get("X-Correlation-ID")).toBe("corr-456");
    const fresh = await ocpi("/ocpi/versions", sim.gatewayToken!);
    expect(fresh.headers.get("X-Request-ID")).toMatch(/^[0-9a-f-]{36}$/);
    expect(fresh.headers.get("X-Correlation-ID")).toMatch(/^[0-9a-f-]{36}$/);
    // No routing headers on versions and credentials.
    expect(fresh.headers.get("OCPI-from-party-id")).toBeNull();
  });

  it("answers unknown paths 404 and unsupported methods 405, always with the envelope", async () => {
    const { sim } = await connectedTenant("2.2.1");
    const unknown = await envelopeOf(await ocpi("/ocpi/9.9.9", sim.gatewayToken!));
    expect(unknown.status).toBe(404);
    expect(unknown.body.status_code).toBe(2000);
    const method = await envelopeOf(await ocpi("/ocpi/2.2.1/locations/NL/EXA/L1", sim.gatewayToken!, { method: "DELETE", encoding: "base64" }));
    expect(method.status).toBe(405);
    expect((await envelopeOf(await ocpi("/ocpi/2.2.1/tariffs/NL/EXA/T1", sim.gatewayToken!, { method: "PATCH", json: { last_updated: "2024-01-01T00:00:00Z" } }))).status).toBe(405);
  });
});
