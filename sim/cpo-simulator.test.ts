/** The CPO simulator itself: it must refuse what the OCPI specification and CONTRACT §7 refuse. */
import { beforeEach, describe, expect, it } from "vitest";
import { CpoSimulator, SimulatedConnectionRefused } from "./cpo-simulator";

const BASE = "https://cpo.test/ocpi";
const GATEWAY = "https://gw.test";
const TOKEN = "token-c-0123456789abcdef";
const BEC = { countryCode: "BE", partyId: "BEC" };

/** What the gateway's side answers the simulator (results, pushes): recorded, always 1000. */
function gatewayStub(seen: Request[]) {
  return async (request: Request) => {
    seen.push(request);
    return new Response(JSON.stringify({ status_code: 1000, status_message: "Success", timestamp: "2024-01-01T00:00:00Z" }), { headers: { "Content-Type": "application/json" } });
  };
}

/** A simulator registered with a gateway on `version`, holding LOC1/3256/1 of BE/BEC. */
function registered(version: "2.2.1" | "2.1.1", seen: Request[] = []) {
  const sim = new CpoSimulator({ baseUrl: BASE, gatewayFetch: gatewayStub(seen), versions: [version], parties: [{ ...BEC, name: "Be" }] });
  sim.acceptedToken = TOKEN;
  sim.gatewayToken = "gateway-token";
  sim.version = version;
  sim.gatewayVersionsUrl = `${GATEWAY}/ocpi/versions`;
  sim.gatewayParty = { countryCode: "IL", partyId: "NYX" };
  sim.locations = [
    version === "2.2.1"
      ? { country_code: "BE", party_id: "BEC", id: "LOC1", evses: [{ uid: "3256", status: "AVAILABLE", connectors: [{ id: "1" }] }] }
      : { id: "LOC1", evses: [{ uid: "3256", status: "AVAILABLE", connectors: [{ id: "1" }] }] },
  ];
  return sim;
}

let counter = 0;
const uid = () => `NYX-${(0xabc000000000 + counter++).toString(16).toUpperCase().padStart(16, "0")}`;
const responseUrl = (version: string) => `${GATEWAY}/ocpi/${version}/commands/START_SESSION/${crypto.randomUUID()}`;

function start221(overrides: Record<string, unknown> = {}, token: Record<string, unknown> = {}) {
  const u = uid();
  return {
    response_url: responseUrl("2.2.1"),
    token: { country_code: "IL", party_id: "NYX", uid: u, type: "AD_HOC_USER", contract_id: u, issuer: "Nayax", valid: true, whitelist: "NEVER", last_updated: "2024-05-01T10:00:00Z", ...token },
    location_id: "LOC1",
    evse_uid: "3256",
    connector_id: "1",
    authorization_reference: crypto.randomUUID(),
    ...overrides,
  };
}

function start211(overrides: Record<string, unknown> = {}) {
  const u = uid();
  return {
    response_url: responseUrl("2.1.1"),
    token: { uid: u, type: "OTHER", auth_id: u, issuer: "Nayax", valid: true, whitelist: "ALWAYS", last_updated: "2024-05-01T10:00:00Z" },
    location_id: "LOC1",
    evse_uid: "3256",
    ...overrides,
  };
}

const headers221 = (extra: Record<string, string | undefined> = {}) => {
  const all: Record<string, string | undefined> = {
    Authorization: `Token ${btoa(TOKEN)}`,
    "Content-Type": "application/json",
    "X-Request-ID": crypto.randomUUID(),
    "X-Correlation-ID": crypto.randomUUID(),
    "OCPI-from-country-code": "IL",
    "OCPI-from-party-id": "NYX",
    "OCPI-to-country-code": "BE",
    "OCPI-to-party-id": "BEC",
    ...extra,
  };
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined));
};
const headers211 = (extra: Record<string, string> = {}) => ({ Authorization: `Token ${TOKEN}`, "Content-Type": "application/json", ...extra });

async function command(sim: CpoSimulator, version: string, kind: string, body: unknown, headers: Record<string, string>) {
  const res = await sim.handle(new Request(`${BASE}/${version}/commands/${kind}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) }));
  return { status: res.status, body: (await res.json()) as { status_code: number; status_message: string; data?: { result: string; timeout?: number } } };
}

describe("the simulator's commands receiver (2.2.1)", () => {
  let sim: CpoSimulator;
  let seen: Request[];
  beforeEach(() => {
    seen = [];
    sim = registered("2.2.1", seen);
  });

  it("accepts exactly what the gateway must send, answers with a timeout, and posts the result bare", async () => {
    const body = start221();
    const answer = await command(sim, "2.2.1", "START_SESSION", body, headers221());
    expect(answer.body).toMatchObject({ status_code: 1000, data: { result: "ACCEPTED", timeout: 30 } });
    expect(sim.violations).toEqual([]);
    await sim.settled();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe(body.response_url);
    expect(seen[0]!.headers.get("Authorization")).toBe(`Token ${btoa("gateway-token")}`);
    expect(await seen[0]!.json()).toEqual({ result: "ACCEPTED" });
  });

  it.each<[string, () => { body: unknown; headers: Record<string, string> }]>([
    ["the token sent as is", () => ({ body: start221(), headers: headers221({ Authorization: `Token ${TOKEN}` }) })],
    ["no token", () => ({ body: start221(), headers: headers221({ Authorization: undefined }) })],
    ["no X-Request-ID", () => ({ body: start221(), headers: headers221({ "X-Request-ID": undefined }) })],
    ["no X-Correlation-ID", () => ({ body: start221(), headers: headers221({ "X-Correlation-ID": undefined }) })],
    ["OCPI-to naming another party", () => ({ body: start221(), headers: headers221({ "OCPI-to-party-id": "XXX" }) })],
    ["OCPI-from not naming the gateway", () => ({ body: start221(), headers: headers221({ "OCPI-from-party-id": "ABC" }) })],
    ["no Content-Type", () => ({ body: start221(), headers: headers221({ "Content-Type": undefined }) })],
    ["an extra field", () => ({ body: { ...start221(), remark: "x" }, headers: headers221() })],
    ["an extra token field", () => ({ body: start221({}, { visual_number: "1" }), headers: headers221() })],
    ["no authorization_reference", () => ({ body: { ...start221(), authorization_reference: undefined }, headers: headers221() })],
    ["a lower-case hex uid", () => ({ body: start221({}, { uid: "NYX-abcdef0123456789", contract_id: "NYX-abcdef0123456789" }), headers: headers221() })],
    ["a uid of another prefix", () => ({ body: start221({}, { uid: "ABC-0123456789ABCDEF", contract_id: "ABC-0123456789ABCDEF" }), headers: headers221() })],
    ["a uid of 15 digits", () => ({ body: start221({}, { uid: "NYX-0123456789ABCDE", contract_id: "NYX-0123456789ABCDE" }), headers: headers221() })],
    ["contract_id other than uid", () => ({ body: start221({}, { contract_id: "NYX-0000000000000000" }), headers: headers221() })],
    ["type RFID", () => ({ body: start221({}, { type: "RFID" }), headers: headers221() })],
    ["whitelist ALWAYS", () => ({ body: start221({}, { whitelist: "ALWAYS" }), headers: headers221() })],
    ["a token of another party", () => ({ body: start221({}, { party_id: "ABC" }), headers: headers221() })],
    ["a last_updated with an offset", () => ({ body: start221({}, { last_updated: "2024-05-01T10:00:00+00:00" }), headers: headers221() })],
    ["a last_updated without Z", () => ({ body: start221({}, { last_updated: "2024-05-01T10:00:00" }), headers: headers221() })],
    ["a response_url outside the gateway's version", () => ({ body: start221({ response_url: `${GATEWAY}/ocpi/2.1.1/commands/START_SESSION/1` }), headers: headers221() })],
    ["a response_url elsewhere", () => ({ body: start221({ response_url: "https://evil.test/ocpi/2.2.1/x" }), headers: headers221() })],
    ["an EVSE the Location does not have", () => ({ body: start221({ evse_uid: "9999" }), headers: headers221() })],
    ["a connector the EVSE does not have", () => ({ body: start221({ connector_id: "7" }), headers: headers221() })],
    ["malformed JSON", () => ({ body: "{", headers: headers221() })],
  ])("refuses %s", async (_name, make) => {
    const { body, headers } = make();
    const answer = await command(sim, "2.2.1", "START_SESSION", body, headers);
    expect(answer.body.status_code).not.toBe(1000);
    expect(sim.violations).toHaveLength(1);
    expect(sim.commands).toHaveLength(0);
  });

  it("refuses a uid or a response_url used before", async () => {
    const body = start221();
    expect((await command(sim, "2.2.1", "START_SESSION", body, headers221())).body.status_code).toBe(1000);
    const sameUid = { ...start221(), token: body.token };
    expect((await command(sim, "2.2.1", "START_SESSION", sameUid, headers221())).body.status_code).toBe(2001);
    const sameUrl = start221({ response_url: body.response_url });
    expect((await command(sim, "2.2.1", "START_SESSION", sameUrl, headers221())).body.status_code).toBe(2001);
  });

  it("answers an unknown Location with 2003 and an unknown Session with UNKNOWN_SESSION", async () => {
    expect((await command(sim, "2.2.1", "START_SESSION", start221({ location_id: "NOPE" }), headers221())).body.status_code).toBe(2003);
    const stop = { response_url: `${GATEWAY}/ocpi/2.2.1/commands/STOP_SESSION/1`, session_id: "404" };
    expect((await command(sim, "2.2.1", "STOP_SESSION", stop, headers221())).body.data).toMatchObject({ result: "UNKNOWN_SESSION" });
    sim.sessions.add("101");
    const known = { response_url: `${GATEWAY}/ocpi/2.2.1/commands/STOP_SESSION/2`, session_id: "101" };
    expect((await command(sim, "2.2.1", "STOP_SESSION", known, headers221())).body.data).toMatchObject({ result: "ACCEPTED" });
  });

  it("plays REJECTED, FAILED, garbage, a dropped answer, a hang, and a host where nothing listens", async () => {
    sim.nextCommand({ response: "REJECTED" });
    expect((await command(sim, "2.2.1", "START_SESSION", start221(), headers221())).body.data).toMatchObject({ result: "REJECTED" });
    sim.nextCommand({ response: "ACCEPTED", result: "FAILED" });
    await command(sim, "2.2.1", "START_SESSION", start221(), headers221());
    await sim.settled();
    expect(await seen.at(-1)!.json()).toEqual({ result: "FAILED" });
    sim.nextCommand({ garbage: true });
    const garbage = await sim.handle(new Request(`${BASE}/2.2.1/commands/START_SESSION`, { method: "POST", headers: headers221(), body: JSON.stringify(start221()) }));
    expect(garbage.headers.get("Content-Type")).toContain("text/html");
    sim.nextCommand({ dropAnswer: true });
    await expect(sim.handle(new Request(`${BASE}/2.2.1/commands/START_SESSION`, { method: "POST", headers: headers221(), body: JSON.stringify(start221()) }))).rejects.toBeInstanceOf(SimulatedConnectionRefused);
    sim.nextCommand({ hang: true });
    const controller = new AbortController();
    const hanging = sim.handle(new Request(`${BASE}/2.2.1/commands/START_SESSION`, { method: "POST", headers: headers221(), body: JSON.stringify(start221()), signal: controller.signal }));
    let settled = false;
    void hanging.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    controller.abort();
    await hanging;
    sim.down = true;
    await expect(sim.handle(new Request(`${BASE}/versions`))).rejects.toBeInstanceOf(SimulatedConnectionRefused);
  });
});

describe("the simulator's commands receiver (2.1.1)", () => {
  it("accepts the 2.1.1 body with the token as is and no routing headers; refuses 2.2.1 fields and forms", async () => {
    const sim = registered("2.1.1");
    expect((await command(sim, "2.1.1", "START_SESSION", start211(), headers211())).body).toMatchObject({ status_code: 1000, data: { result: "ACCEPTED" } });
    expect(sim.violations).toEqual([]);
    const refusals: Array<[unknown, Record<string, string>]> = [
      [start211({ connector_id: "1" }), headers211()],
      [start211({ authorization_reference: "x" }), headers211()],
      [{ ...start211(), token: { ...start211().token, type: "AD_HOC_USER" } }, headers211()],
      [start211(), headers211({ Authorization: `Token ${btoa(TOKEN)}` })],
      [start211(), headers211({ "OCPI-to-party-id": "BEC", "OCPI-to-country-code": "BE" })],
    ];
    for (const [body, headers] of refusals) expect((await command(sim, "2.1.1", "START_SESSION", body, headers)).body.status_code, JSON.stringify({ body, headers })).not.toBe(1000);
    expect(sim.violations).toHaveLength(refusals.length);
  });
});

describe("the simulator's credentials and senders", () => {
  it("refuses credentials without Token A, a second registration, an update before registering, and a malformed body", async () => {
    const fresh = new CpoSimulator({ baseUrl: BASE, gatewayFetch: gatewayStub([]) });
    const { token } = fresh.offerTokenA();
    const post = (t: string, body: unknown) => fresh.handle(new Request(`${BASE}/2.2.1/credentials`, { method: "POST", headers: { Authorization: `Token ${btoa(t)}`, "Content-Type": "application/json" }, body: JSON.stringify(body) }));
    expect((await post("wrong", {})).status).toBe(401);
    expect((await post(token, { token: "short", url: "https://gw.test/ocpi/versions", roles: [] })).status).toBe(400);
    expect((await post(token, { token: "x".repeat(40), url: "https://gw.test/ocpi/versions", roles: [{ role: "CPO", country_code: "IL", party_id: "NYX", business_details: { name: "Nayax" } }] })).status).toBe(400);
    const put = await fresh.handle(new Request(`${BASE}/2.2.1/credentials`, { method: "PUT", headers: { Authorization: `Token ${btoa(token)}` }, body: "{}" }));
    expect(put.status).toBe(405);
    const sim = registered("2.2.1");
    const again = await sim.handle(new Request(`${BASE}/2.2.1/credentials`, { method: "POST", headers: { Authorization: `Token ${btoa(TOKEN)}` }, body: "{}" }));
    expect(again.status).toBe(405);
    const routed = await sim.handle(new Request(`${BASE}/2.2.1/credentials`, { headers: { Authorization: `Token ${btoa(TOKEN)}`, "X-Request-ID": "1", "X-Correlation-ID": "2", "OCPI-to-party-id": "BEC" } }));
    expect(routed.status).toBe(400);
  });

  it("serves Locations in small pages with Link headers, checking the routing headers of a pull", async () => {
    const sim = registered("2.2.1");
    sim.locations = Array.from({ length: 5 }, (_, i) => ({ id: `L${i}` }));
    let url: string | null = `${BASE}/2.2.1/locations?offset=0`;
    const ids: string[] = [];
    while (url) {
      const res: Response = await sim.handle(new Request(url, { headers: headers221() }));
      expect(res.status).toBe(200);
      ids.push(...((await res.json()) as { data: Array<{ id: string }> }).data.map((l) => l.id));
      url = /<([^>]+)>; rel="next"/.exec(res.headers.get("Link") ?? "")?.[1] ?? null;
    }
    expect(ids).toEqual(["L0", "L1", "L2", "L3", "L4"]);
    const unrouted = await sim.handle(new Request(`${BASE}/2.2.1/locations?offset=0`, { headers: headers221({ "OCPI-to-party-id": undefined, "OCPI-to-country-code": undefined }) }));
    expect(unrouted.status).toBe(400);
  });
});
