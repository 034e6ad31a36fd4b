/**
 * Which gateway session a CPO Session or CDR belongs to (CONTRACT §7.6): by
 * `authorization_reference`, else (CDR) by the CPO Session it names, else by the token uid the
 * gateway minted — always within the tenant whose token sent it.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { mintTokenUid } from "../src/ocpi/commands";
import { connectedTenant, envelopeOf } from "./ocpi-support";
import type { Connected } from "./ocpi-support";

const BEC = { countryCode: "BE", partyId: "BEC" };

async function linkOfSession(tenantId: string, sessionId: string) {
  const row = await env.DB.prepare("SELECT gateway_session_id AS id FROM ocpi_sessions WHERE tenant_id = ? AND session_key = ?").bind(tenantId, sessionId.toUpperCase()).first<{ id: string | null }>();
  return row?.id ?? null;
}
async function linkOfCdr(tenantId: string, cdrId: string) {
  const row = await env.DB.prepare("SELECT gateway_session_id AS id FROM ocpi_cdrs WHERE tenant_id = ? AND cdr_key = ?").bind(tenantId, cdrId.toUpperCase()).first<{ id: string | null }>();
  return row?.id ?? null;
}

function session221(id: string, extra: Record<string, unknown>) {
  return {
    country_code: "BE",
    party_id: "BEC",
    id,
    start_date_time: "2024-05-01T10:00:00Z",
    kwh: 0,
    cdr_token: { uid: "SOMEONE-ELSE", type: "AD_HOC_USER", contract_id: "SOMEONE-ELSE", country_code: "IL", party_id: "NYX" },
    auth_method: "COMMAND",
    location_id: "LOC1",
    evse_uid: "3256",
    connector_id: "1",
    currency: "EUR",
    status: "ACTIVE",
    last_updated: "2024-05-01T10:00:00Z",
    ...extra,
  };
}

function cdr221(id: string, extra: Record<string, unknown>) {
  return {
    country_code: "BE",
    party_id: "BEC",
    id,
    start_date_time: "2024-05-01T10:00:00Z",
    end_date_time: "2024-05-01T11:00:00Z",
    cdr_token: { uid: "SOMEONE-ELSE", type: "AD_HOC_USER", contract_id: "SOMEONE-ELSE" },
    auth_method: "COMMAND",
    cdr_location: { id: "LOC1" },
    currency: "EUR",
    charging_periods: [{ start_date_time: "2024-05-01T10:00:00Z", dimensions: [{ type: "ENERGY", volume: 5 }] }],
    total_cost: { excl_vat: 2.5, incl_vat: 3.0 },
    total_energy: 5,
    total_time: 1,
    last_updated: "2024-05-01T11:00:00Z",
    ...extra,
  };
}

describe("resolving Sessions and CDRs to gateway sessions (2.2.1)", () => {
  let c: Connected;
  let other: Connected;

  beforeAll(async () => {
    c = await connectedTenant("2.2.1", "gateway", { parties: [{ ...BEC, name: "B" }] });
    other = await connectedTenant("2.2.1", "cpo", { parties: [{ ...BEC, name: "B" }] });
  });

  it("by authorization_reference (case-insensitive), else by cdr_token.uid", async () => {
    const byReference = crypto.randomUUID();
    await mintTokenUid(env, c.tenant.id, byReference);
    expect((await c.sim.push("PUT", "sessions/BE/BEC/S1", session221("S1", { authorization_reference: byReference.toUpperCase() }))).status).toBe(201);
    expect(await linkOfSession(c.tenant.id, "S1")).toBe(byReference);

    const byUid = crypto.randomUUID();
    const uid = await mintTokenUid(env, c.tenant.id, byUid);
    expect((await c.sim.push("PUT", "sessions/BE/BEC/S2", session221("S2", { cdr_token: { uid: uid.toLowerCase(), type: "AD_HOC_USER", contract_id: uid } }))).status).toBe(201);
    expect(await linkOfSession(c.tenant.id, "S2")).toBe(byUid);

    // A reference that names no session of this tenant falls back to the uid.
    expect((await c.sim.push("PUT", "sessions/BE/BEC/S3", session221("S3", { authorization_reference: "not-a-session", cdr_token: { uid } }))).status).toBe(201);
    expect(await linkOfSession(c.tenant.id, "S3")).toBe(byUid);

    // Neither: kept, belongs to nothing.
    expect((await c.sim.push("PUT", "sessions/BE/BEC/S4", session221("S4", {}))).status).toBe(201);
    expect(await linkOfSession(c.tenant.id, "S4")).toBeNull();
  });

  it("keeps the link through PATCHes that carry neither reference", async () => {
    const id = crypto.randomUUID();
    await mintTokenUid(env, c.tenant.id, id);
    await c.sim.push("PUT", "sessions/BE/BEC/S5", session221("S5", { authorization_reference: id }));
    expect((await c.sim.push("PATCH", "sessions/BE/BEC/S5", { kwh: 3.5, status: "COMPLETED", last_updated: "2024-05-01T11:00:00Z" })).status).toBe(200);
    expect(await linkOfSession(c.tenant.id, "S5")).toBe(id);
  });

  it("resolves a CDR by reference, by the Session it names, or by uid", async () => {
    const a = crypto.randomUUID();
    await mintTokenUid(env, c.tenant.id, a);
    await c.sim.push("POST", "cdrs", cdr221("C1", { authorization_reference: a }));
    expect(await linkOfCdr(c.tenant.id, "C1")).toBe(a);

    const b = crypto.randomUUID();
    await mintTokenUid(env, c.tenant.id, b);
    await c.sim.push("PUT", "sessions/BE/BEC/S6", session221("S6", { authorization_reference: b }));
    await c.sim.push("POST", "cdrs", cdr221("C2", { session_id: "s6" }));
    expect(await linkOfCdr(c.tenant.id, "C2")).toBe(b);

    const d = crypto.randomUUID();
    const uid = await mintTokenUid(env, c.tenant.id, d);
    await c.sim.push("POST", "cdrs", cdr221("C3", { session_id: "unknown", cdr_token: { uid } }));
    expect(await linkOfCdr(c.tenant.id, "C3")).toBe(d);

    await c.sim.push("POST", "cdrs", cdr221("C4", {}));
    expect(await linkOfCdr(c.tenant.id, "C4")).toBeNull();
  });

  it("never resolves to another tenant's session", async () => {
    const id = crypto.randomUUID();
    const uid = await mintTokenUid(env, c.tenant.id, id);
    const pushed = await envelopeOf(await other.sim.push("PUT", "sessions/BE/BEC/X1", session221("X1", { authorization_reference: id, cdr_token: { uid } })));
    expect(pushed.status).toBe(201);
    expect(await linkOfSession(other.tenant.id, "X1")).toBeNull();
    await other.sim.push("POST", "cdrs", cdr221("X2", { authorization_reference: id, cdr_token: { uid } }));
    expect(await linkOfCdr(other.tenant.id, "X2")).toBeNull();
    // The same Session pushed by the right tenant's CPO does resolve.
    await c.sim.push("PUT", "sessions/BE/BEC/X1", session221("X1", { authorization_reference: id }));
    expect(await linkOfSession(c.tenant.id, "X1")).toBe(id);
  });
});

describe("resolving on 2.1.1 (auth_id)", () => {
  it("links a Session and a CDR by auth_id", async () => {
    const c = await connectedTenant("2.1.1");
    const party = c.sim.parties[0]!;
    const id = crypto.randomUUID();
    const uid = await mintTokenUid(env, c.tenant.id, id);
    const session = {
      id: "211-1",
      start_datetime: "2024-05-01T10:00:00Z",
      kwh: 0,
      auth_id: uid,
      auth_method: "AUTH_REQUEST",
      location: { id: "LOC1", evses: [{ uid: "3256", status: "CHARGING", connectors: [{ id: "1" }] }] },
      currency: "EUR",
      status: "ACTIVE",
      last_updated: "2024-05-01T10:00:00Z",
    };
    expect((await c.sim.push("PUT", `sessions/${party.countryCode}/${party.partyId}/211-1`, session)).status).toBe(201);
    expect(await linkOfSession(c.tenant.id, "211-1")).toBe(id);
    const cdr = {
      id: "211-C1",
      start_date_time: "2024-05-01T10:00:00Z",
      stop_date_time: "2024-05-01T11:00:00Z",
      auth_id: uid,
      auth_method: "AUTH_REQUEST",
      location: { id: "LOC1" },
      currency: "EUR",
      charging_periods: [{ start_date_time: "2024-05-01T10:00:00Z", dimensions: [{ type: "ENERGY", volume: 5 }] }],
      total_cost: 2.1125,
      total_energy: 5,
      total_time: 1,
      last_updated: "2024-05-01T11:00:00Z",
    };
    expect((await c.sim.push("POST", "cdrs", cdr)).status).toBe(201);
    expect(await linkOfCdr(c.tenant.id, "211-C1")).toBe(id);
  });
});
