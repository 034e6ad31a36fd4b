/**
 * Commands to the CPO (CONTRACT §7.6): token uids, `response_url`s, the START_SESSION and
 * STOP_SESSION bodies of both versions, what `sendCommand` makes of every kind of answer, and
 * the command-result receiver. The strict CPO simulator checks everything the gateway sends.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { buildStartSessionBody, buildStopSessionBody, mintTokenUid, prepareCommand, sendCommand } from "../src/ocpi/commands";
import type { OcpiVersion } from "../src/ocpi/model";
import { onboard } from "./helpers";
import { GATEWAY, api, connectedTenant, envelopeOf, gateway, location211, location221 } from "./ocpi-support";
import type { Connected } from "./ocpi-support";

const BEC = { countryCode: "BE", partyId: "BEC" };

async function commandRow(id: string) {
  return env.DB.prepare("SELECT * FROM ocpi_commands WHERE id = ?").bind(id).first<{ result: string | null; message: string | null; gateway_session_id: string; tenant_id: string }>();
}

/** Mints a uid and a START_SESSION for a fresh gateway session on LOC1/3256. */
async function start(c: Connected, version: OcpiVersion, mapping = { locationId: "LOC1", evseUid: "3256", connectorId: "1" as string | null }) {
  const gatewaySessionId = crypto.randomUUID();
  const tokenUid = await mintTokenUid(env, c.tenant.id, gatewaySessionId);
  const prepared = await prepareCommand(env, c.tenant.id, { kind: "START_SESSION", version, gatewaySessionId, to: version === "2.2.1" ? BEC : null });
  const body = buildStartSessionBody(env, { version, responseUrl: prepared.responseUrl, tokenUid, mapping, gatewaySessionId });
  return { gatewaySessionId, tokenUid, prepared, body };
}

describe("START_SESSION and STOP_SESSION on 2.2.1", () => {
  let c: Connected;

  beforeAll(async () => {
    c = await connectedTenant("2.2.1", "gateway", { parties: [{ ...BEC, name: "Be Charging" }, { countryCode: "BE", partyId: "BED", name: "Other" }] }, (sim) => {
      sim.locations = [location221(BEC, "LOC1", [["3256", "AVAILABLE", ["1", "2"]]])];
    });
  });

  it("mints token uids of the prefix and 16 upper-case hex digits, never twice", async () => {
    const uids = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const uid = await mintTokenUid(env, c.tenant.id, crypto.randomUUID());
      expect(uid).toMatch(/^NYX-[0-9A-F]{16}$/);
      uids.add(uid);
    }
    expect(uids.size).toBe(100);
  });

  it("sends exactly the §7.6 body and headers, and reads ACCEPTED with the CPO's timeout", async () => {
    const { gatewaySessionId, tokenUid, prepared, body } = await start(c, "2.2.1");
    expect(prepared.responseUrl).toMatch(new RegExp(`^${GATEWAY}/ocpi/2\\.2\\.1/commands/START_SESSION/[0-9a-f]{32}$`));
    expect(body).toEqual({
      response_url: prepared.responseUrl,
      token: {
        country_code: "IL",
        party_id: "NYX",
        uid: tokenUid,
        type: "AD_HOC_USER",
        contract_id: tokenUid,
        issuer: "Nayax",
        valid: true,
        whitelist: "NEVER",
        last_updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/),
      },
      location_id: "LOC1",
      evse_uid: "3256",
      connector_id: "1",
      authorization_reference: gatewaySessionId,
    });
    const correlationId = crypto.randomUUID();
    const outcome = await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC, correlationId });
    expect(outcome).toEqual({ reached: true, response: "ACCEPTED", timeoutSeconds: 30, message: null });
    expect(c.sim.violations).toEqual([]);
    const received = c.sim.commands.at(-1)!;
    expect(received.kind).toBe("START_SESSION");
    expect(received.headers.authorization).toBe(`Token ${btoa(c.sim.acceptedToken!)}`);
    expect(received.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(received.headers["x-correlation-id"]).toBe(correlationId);
    expect(received.headers).toMatchObject({ "ocpi-from-country-code": "IL", "ocpi-from-party-id": "NYX", "ocpi-to-country-code": "BE", "ocpi-to-party-id": "BEC" });
    // The simulator then posts the result to the response_url; the gateway records it once.
    await c.sim.settled();
    expect(await commandRow(prepared.commandId)).toMatchObject({ result: "ACCEPTED", gateway_session_id: gatewaySessionId });
  });

  it("leaves connector_id out when the station maps none", async () => {
    const { body } = await start(c, "2.2.1", { locationId: "LOC1", evseUid: "3256", connectorId: null });
    expect(body).not.toHaveProperty("connector_id");
    expect((await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC })).response).toBe("ACCEPTED");
    expect(c.sim.violations).toEqual([]);
  });

  it("records the first result only; repeats and unknown commands are answered 1000 and change nothing", async () => {
    c.sim.nextCommand({ response: "ACCEPTED", result: null });
    const { prepared, body } = await start(c, "2.2.1");
    await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC });
    const first = await envelopeOf(await c.sim.sendResult(prepared.responseUrl, { result: "FAILED", message: [{ language: "en", text: "EV not plugged in" }] }));
    expect(first).toMatchObject({ status: 200, body: { status_code: 1000 } });
    expect(first.body.data).toBeUndefined();
    expect(first.headers.get("OCPI-to-party-id")).toBe("BEC");
    expect(await commandRow(prepared.commandId)).toMatchObject({ result: "FAILED", message: "EV not plugged in" });
    const again = await envelopeOf(await c.sim.sendResult(prepared.responseUrl, { result: "ACCEPTED" }));
    expect(again.body.status_code).toBe(1000);
    expect(await commandRow(prepared.commandId)).toMatchObject({ result: "FAILED" });
    const unknown = await envelopeOf(await c.sim.sendResult(`${GATEWAY}/ocpi/2.2.1/commands/START_SESSION/${"0".repeat(32)}`, { result: "ACCEPTED" }));
    expect(unknown).toMatchObject({ status: 200, body: { status_code: 1000 } });
    const wrongKind = await envelopeOf(await c.sim.sendResult(prepared.responseUrl.replace("START_SESSION", "STOP_SESSION"), { result: "ACCEPTED" }));
    expect(wrongKind.body.status_code).toBe(1000);
    expect(await commandRow(prepared.commandId)).toMatchObject({ result: "FAILED" });
    const malformed = await envelopeOf(await c.sim.sendResult(prepared.responseUrl, { result: "MAYBE" }));
    expect(malformed).toMatchObject({ status: 400, body: { status_code: 2001 } });
    const enveloped = await envelopeOf(await c.sim.sendResult(prepared.responseUrl, { data: { result: "ACCEPTED" }, status_code: 1000 }));
    expect(enveloped.status).toBe(400);
  });

  it("keeps another tenant's results away from this tenant's commands", async () => {
    const other = await connectedTenant("2.2.1");
    c.sim.nextCommand({ response: "ACCEPTED", result: null });
    const { prepared, body } = await start(c, "2.2.1");
    await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC });
    const foreign = await envelopeOf(await other.sim.sendResult(prepared.responseUrl, { result: "REJECTED" }));
    expect(foreign.body.status_code).toBe(1000);
    expect((await commandRow(prepared.commandId))!.result).toBeNull();
  });

  it("answers what the CPO said: REJECTED, NOT_SUPPORTED, and ERROR for anything but a 1000 envelope", async () => {
    for (const [behaviour, response] of [
      [{ response: "REJECTED" }, "REJECTED"],
      [{ response: "NOT_SUPPORTED" }, "NOT_SUPPORTED"],
      [{ httpStatus: 500, statusCode: 3000 }, "ERROR"],
      [{ httpStatus: 200, statusCode: 2001 }, "ERROR"],
      [{ garbage: true }, "ERROR"],
    ] as const) {
      c.sim.nextCommand(behaviour);
      const { body } = await start(c, "2.2.1");
      const outcome = await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC });
      expect(outcome.reached, JSON.stringify(behaviour)).toBe(true);
      expect(outcome.response, JSON.stringify(behaviour)).toBe(response);
      if (response === "ERROR") expect(outcome.message).toBeTruthy();
    }
    // An unknown Location: the CPO answers 2003, which is an ERROR too.
    const { body } = await start(c, "2.2.1", { locationId: "NOPE", evseUid: "1", connectorId: null });
    expect(await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC })).toMatchObject({ reached: true, response: "ERROR" });
  });

  it("tells a request that surely did not reach the CPO from one that may have", async () => {
    const { body } = await start(c, "2.2.1");
    c.sim.down = true;
    try {
      expect(await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC })).toMatchObject({ reached: false, response: "ERROR" });
    } finally {
      c.sim.down = false;
    }
    c.sim.nextCommand({ dropAnswer: true });
    const dropped = await start(c, "2.2.1");
    expect(await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body: dropped.body, to: BEC })).toMatchObject({ reached: true, response: "ERROR" });
    const lonely = await onboard({ siteIds: [940_001] });
    expect(await sendCommand(env, lonely.id, { kind: "START_SESSION", body, to: BEC })).toMatchObject({ reached: false, response: "ERROR" });
  });

  it("counts a request without an answer after 10 s as reached", async () => {
    c.sim.nextCommand({ hang: true });
    const { body } = await start(c, "2.2.1");
    const received = c.sim.commands.length;
    // The 10 s go by on a fake clock, advanced once the CPO holds the request.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    try {
      const started = Date.now();
      let outcome: Awaited<ReturnType<typeof sendCommand>> | undefined;
      const sending = sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC }).then((o) => (outcome = o));
      await vi.waitFor(() => expect(c.sim.commands).toHaveLength(received + 1));
      await vi.advanceTimersByTimeAsync(9_900);
      expect(outcome, "answered before the 10 s were up").toBeUndefined();
      await vi.advanceTimersByTimeAsync(100);
      await sending;
      expect(outcome).toMatchObject({ reached: true, response: "ERROR" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it("sends STOP_SESSION with the CPO's Session id to the party that owns it", async () => {
    c.sim.sessions.add("101");
    const gatewaySessionId = crypto.randomUUID();
    const prepared = await prepareCommand(env, c.tenant.id, { kind: "STOP_SESSION", version: "2.2.1", gatewaySessionId, to: { countryCode: "BE", partyId: "BED" } });
    const body = buildStopSessionBody({ version: "2.2.1", responseUrl: prepared.responseUrl, sessionId: "101" });
    expect(body).toEqual({ response_url: prepared.responseUrl, session_id: "101" });
    expect(prepared.responseUrl).toContain("/ocpi/2.2.1/commands/STOP_SESSION/");
    expect(await sendCommand(env, c.tenant.id, { kind: "STOP_SESSION", body, to: { countryCode: "BE", partyId: "BED" } })).toMatchObject({ reached: true, response: "ACCEPTED" });
    expect(c.sim.commands.at(-1)!.headers).toMatchObject({ "ocpi-to-country-code": "BE", "ocpi-to-party-id": "BED" });
    const unknown = await prepareCommand(env, c.tenant.id, { kind: "STOP_SESSION", version: "2.2.1", gatewaySessionId, to: BEC });
    expect((await sendCommand(env, c.tenant.id, { kind: "STOP_SESSION", body: buildStopSessionBody({ version: "2.2.1", responseUrl: unknown.responseUrl, sessionId: "999" }), to: BEC })).response).toBe("UNKNOWN_SESSION");
    expect(c.sim.violations).toEqual([]);
  });

  it("gives every command its own response_url", async () => {
    const urls = new Set<string>();
    for (let i = 0; i < 50; i++) urls.add((await prepareCommand(env, c.tenant.id, { kind: "STOP_SESSION", version: "2.2.1", gatewaySessionId: crypto.randomUUID(), to: null })).responseUrl);
    expect(urls.size).toBe(50);
  });
});

describe("START_SESSION on 2.1.1, and a forced token form", () => {
  it("sends the 2.1.1 body (OTHER token, auth_id, no connector, no reference), the token as is, no routing headers", async () => {
    const c = await connectedTenant("2.1.1", "cpo", {}, (sim) => {
      sim.locations = [location211("LOC1", [["3256", "AVAILABLE", ["1"]]])];
    });
    const { tokenUid, prepared, body } = await start(c, "2.1.1");
    expect(prepared.responseUrl.startsWith(`${GATEWAY}/ocpi/2.1.1/commands/START_SESSION/`)).toBe(true);
    expect(body).toEqual({
      response_url: prepared.responseUrl,
      token: { uid: tokenUid, type: "OTHER", auth_id: tokenUid, issuer: "Nayax", valid: true, whitelist: "ALWAYS", last_updated: expect.stringMatching(/Z$/) },
      location_id: "LOC1",
      evse_uid: "3256",
    });
    expect(await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body })).toEqual({ reached: true, response: "ACCEPTED", timeoutSeconds: null, message: null });
    const received = c.sim.commands.at(-1)!;
    expect(received.headers.authorization).toBe(`Token ${c.sim.acceptedToken}`);
    for (const header of ["ocpi-from-country-code", "ocpi-from-party-id", "ocpi-to-country-code", "ocpi-to-party-id"]) expect(received.headers[header]).toBeUndefined();
    expect(c.sim.violations).toEqual([]);
    await c.sim.settled();
    expect(await commandRow(prepared.commandId)).toMatchObject({ result: "ACCEPTED" });
  });

  it("uses the connection's tokenEncoding over the version's default", async () => {
    const c = await connectedTenant("2.2.1", "gateway", { parties: [{ ...BEC, name: "B" }], inboundEncoding221: "plain" }, (sim) => {
      sim.locations = [location221(BEC, "LOC1", [["3256", "AVAILABLE", ["1"]]])];
    });
    // Registered (the discovery fell back to the plain form), but commands go Base64 on 2.2.1 by default…
    const { body } = await start(c, "2.2.1");
    expect((await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body, to: BEC })).response).toBe("ERROR");
    // …until the tenant forces the plain form.
    expect((await api(c.tenant.apiKey, "/v1/ocpi/connection", { method: "PATCH", json: { tokenEncoding: "plain" } })).status).toBe(200);
    const second = await start(c, "2.2.1");
    expect((await sendCommand(env, c.tenant.id, { kind: "START_SESSION", body: second.body, to: BEC })).response).toBe("ACCEPTED");
    expect(c.sim.commands.at(-1)!.headers.authorization).toBe(`Token ${c.sim.acceptedToken}`);
  });
});

describe("the command-result receiver's authorization", () => {
  it("answers 401 without a token, and 401 for a 2.2.1 response_url with a 2.1.1 connection's token", async () => {
    const c = await connectedTenant("2.1.1");
    const prepared = await prepareCommand(env, c.tenant.id, { kind: "START_SESSION", version: "2.1.1", gatewaySessionId: crypto.randomUUID(), to: null });
    const path = prepared.responseUrl.slice(GATEWAY.length);
    expect((await gateway(path, { method: "POST", json: { result: "ACCEPTED" } })).status).toBe(401);
    expect((await gateway(path.replace("2.1.1", "2.2.1"), { method: "POST", json: { result: "ACCEPTED" }, headers: { Authorization: `Token ${c.sim.gatewayToken}` } })).status).toBe(401);
    const ok = await envelopeOf(await gateway(path, { method: "POST", json: { result: "TIMEOUT" }, headers: { Authorization: `Token ${c.sim.gatewayToken}` } }));
    expect(ok).toMatchObject({ status: 200, body: { status_code: 1000 } });
    expect(await commandRow(prepared.commandId)).toMatchObject({ result: "TIMEOUT" });
  });
});
