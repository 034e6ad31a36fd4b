/**
 * OCPI test support: CPO simulators behind the gateway's outbound `fetch`, tenants connected to
 * them in either direction and version, and calls to the gateway as a CPO and as a tenant would
 * make them. The gateway is addressed at its default public URL, so every URL it hands out
 * (versions, `response_url`, CDR `Location`) is reachable from here.
 */
import { env, exports } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { DEFAULT_LOCAL_PORT } from "../src/ocpi/config";
import type { OcpiVersion } from "../src/ocpi/model";
import { CpoSimulator } from "../sim/cpo-simulator";
import type { CpoSimulatorOptions } from "../sim/cpo-simulator";
import { onboard } from "./helpers";
import type { Onboarded } from "./helpers";

/** The gateway's base URL when PUBLIC_URL is unset. */
export const GATEWAY = `http://127.0.0.1:${DEFAULT_LOCAL_PORT}`;

/** Calls the Worker at its public base. */
export function gateway(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("Content-Type", "application/json");
  return exports.default.fetch(new Request(`${GATEWAY}${path}`, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body }));
}

/** A tenant API call as JSON. */
export async function api<T = Record<string, unknown>>(apiKey: string, path: string, init: RequestInit & { json?: unknown } = {}) {
  const res = await gateway(path, { ...init, headers: { Authorization: `Bearer ${apiKey}`, ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, res };
}

/** An OCPI answer read back: HTTP status, envelope, headers. */
export async function envelopeOf(res: Response) {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { unreadable: text };
  }
  return { status: res.status, body, text, headers: res.headers };
}

const simulators: CpoSimulator[] = [];
let installed = false;
let nextSim = 1;

/** Routes the gateway's outbound requests to the simulators (once per test file). */
function install(): void {
  if (installed) return;
  installed = true;
  // Another interception already in place (the Spark simulator's) keeps handling what is not a CPO's.
  const current = globalThis.fetch;
  const previous = vi.isMockFunction(current) ? (current.getMockImplementation() ?? current.bind(globalThis)) : current.bind(globalThis);
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const sim = simulators.find((s) => request.url.startsWith(s.baseUrl + "/"));
    if (sim) return sim.handle(request);
    return previous(request);
  });
}

/** A new simulated CPO at its own base URL. */
export function newCpo(options: Partial<CpoSimulatorOptions> = {}): CpoSimulator {
  install();
  const sim = new CpoSimulator({
    baseUrl: `https://cpo-${nextSim++}.test/ocpi`,
    gatewayFetch: (request) => exports.default.fetch(request),
    ...options,
  });
  simulators.push(sim);
  return sim;
}

export type Direction = "gateway" | "cpo";

export interface Connected {
  tenant: Onboarded;
  sim: CpoSimulator;
}

let nextTenantSite = 910_000;

/** A tenant with a fresh site, connected to a new simulator over `version`, registered in `direction`. */
export async function connectedTenant(version: OcpiVersion, direction: Direction = "gateway", options: Partial<CpoSimulatorOptions> = {}, setup?: (sim: CpoSimulator) => void): Promise<Connected & { siteId: number }> {
  const siteId = nextTenantSite++;
  const tenant = await onboard({ siteIds: [siteId] });
  const sim = newCpo({ versions: [version], ...options });
  setup?.(sim);
  await connect(tenant, sim, direction, version);
  return { tenant, sim, siteId };
}

/** Registers an onboarded tenant with a simulator. */
export async function connect(tenant: Onboarded, sim: CpoSimulator, direction: Direction, version?: OcpiVersion): Promise<void> {
  if (direction === "gateway") {
    const offer = sim.offerTokenA();
    const res = await api(tenant.apiKey, "/v1/ocpi/connection", { method: "POST", json: { versionsUrl: offer.versionsUrl, token: offer.token } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  } else {
    const invitation = await api<{ token: string; versionsUrl: string }>(tenant.apiKey, "/v1/ocpi/invitation", { method: "POST" });
    expect(invitation.status, JSON.stringify(invitation.body)).toBe(201);
    const answer = await sim.register(invitation.body.versionsUrl, invitation.body.token, version);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.status_code).toBe(1000);
  }
  await waitForSync(tenant.apiKey);
}

/** Waits until the pulls after a registration or sync ended (or there was nothing to pull). */
export async function waitForSync(apiKey: string, since?: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const { body } = await api<{ status: string; lastSync: { locations: { at: string } | null; tariffs: { at: string } | null } | null; cpo: { endpoints: Array<{ identifier: string; role: string | null }> } | null }>(apiKey, "/v1/ocpi/connection");
    if (body.status !== "connected") return body as unknown as Record<string, unknown>;
    const senders = (body.cpo?.endpoints ?? []).filter((e) => (e.identifier === "locations" || e.identifier === "tariffs") && e.role !== "RECEIVER").map((e) => e.identifier);
    const done = senders.every((m) => {
      const outcome = body.lastSync?.[m as "locations" | "tariffs"];
      return outcome && (!since || outcome.at > since);
    });
    if (done) return body as unknown as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the pull did not end");
}

/** The query behind {@link tableDigest}: a table's rows (a tenant's, when given) in a stable order. */
function digestQuery(table: string, tenantId?: string): D1PreparedStatement {
  return env.DB.prepare(`SELECT * FROM ${table}${tenantId ? " WHERE tenant_id = ?" : ""} ORDER BY 1, 2, 3`).bind(...(tenantId ? [tenantId] : []));
}

/** Rows of a table for a tenant, as a digest (to check that a refusal stored nothing). */
export async function tableDigest(table: string, tenantId?: string): Promise<string> {
  const rows = await digestQuery(table, tenantId).all();
  return JSON.stringify(rows.results);
}

const OCPI_TABLES = ["ocpi_connections", "ocpi_tokens", "ocpi_locations", "ocpi_evses", "ocpi_tariffs", "ocpi_sessions", "ocpi_cdrs", "ocpi_commands", "ocpi_token_uids", "ocpi_settings"];

/** Every OCPI table's rows: a refused request must leave this unchanged. One D1 round trip (the fuzzing reads it twice a run). */
export async function ocpiState(): Promise<string> {
  const results = await env.DB.batch(OCPI_TABLES.map((t) => digestQuery(t)));
  return results.map((rows) => JSON.stringify(rows.results)).join("\n");
}

/** A 2.2.1 Location owned by a party, with EVSEs given as `[uid, status, connectorIds]`. */
export function location221(party: { countryCode: string; partyId: string }, id: string, evses: Array<[string, string, string[]]>, lastUpdated = "2024-05-01T10:00:00Z") {
  return {
    country_code: party.countryCode,
    party_id: party.partyId,
    id,
    publish: true,
    address: "F.Rooseveltlaan 3A",
    city: "Gent",
    country: "BEL",
    coordinates: { latitude: "51.047599", longitude: "3.729944" },
    time_zone: "Europe/Brussels",
    evses: evses.map(([uid, status, connectors]) => ({
      uid,
      status,
      connectors: connectors.map((c) => ({ id: c, standard: "IEC_62196_T2", format: "SOCKET", power_type: "AC_3_PHASE", max_voltage: 230, max_amperage: 32, last_updated: lastUpdated })),
      last_updated: lastUpdated,
    })),
    last_updated: lastUpdated,
  };
}

/** A 2.1.1 Location with EVSEs given as `[uid, status, connectorIds]`. */
export function location211(id: string, evses: Array<[string, string, string[]]>, lastUpdated = "2024-05-01T10:00:00Z") {
  return {
    id,
    type: "ON_STREET",
    address: "F.Rooseveltlaan 3A",
    city: "Gent",
    postal_code: "9000",
    country: "BEL",
    coordinates: { latitude: "51.047599", longitude: "3.729944" },
    evses: evses.map(([uid, status, connectors]) => ({
      uid,
      status,
      connectors: connectors.map((c) => ({ id: c, standard: "IEC_62196_T2", format: "SOCKET", power_type: "AC_3_PHASE", voltage: 230, amperage: 32, last_updated: lastUpdated })),
      last_updated: lastUpdated,
    })),
    last_updated: lastUpdated,
  };
}
