/**
 * The OCPI demo tenant (SiteId 9001, TokenId 9001, CONTRACT §2): its Spark account is in the Spark
 * simulator, its CPO is the CPO simulator, and its one station is mapped to an EVSE of a Location
 * the CPO simulator serves. Seeded once by `npm start`; its one-time secrets are kept in
 * $STATE_DIR/demo-ocpi-tenant.json so restarts reuse them. The CPO simulator keeps nothing across
 * restarts, so every start registers the connection again (gateway-initiated on 2.2.1, or
 * CPO-initiated on 2.1.1).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { DEMO_OCPI_SITE_ID, DEMO_OCPI_TENANT, simulatorBaseUrl } from "../sim/demo";
import { call, waitFor } from "./demo-common";
import type { Answer } from "./demo-common";

/** The OCPI versions the demo plays, in the order it plays them. */
export const DEMO_OCPI_VERSIONS = ["2.2.1", "2.1.1"] as const;
export type DemoOcpiVersion = (typeof DEMO_OCPI_VERSIONS)[number];
/** The version `npm start` registers the connection on unless DEMO_OCPI_VERSION says otherwise. */
export const DEFAULT_DEMO_OCPI_VERSION: DemoOcpiVersion = "2.2.1";

/** The CPO simulator's one party (`CPO_SIM_PARTIES_JSON`), which owns the demo Location. */
export const DEMO_CPO_PARTY = { countryCode: "NL", partyId: "EXA", name: "Example Operator (CPO simulator)" } as const;

/** The OCPI demo tenant's station and the EVSE it is mapped to (CONTRACT §7.5). */
export const DEMO_OCPI_STATION = {
  machineId: 71239001,
  serviceStationNumber: "1",
  hwSerial: "0434334921109001",
  locationId: "LOC1",
  evseUid: "3256",
  connectorId: "1",
} as const;

/** What Spark pre-authorizes at the demo station when the tenant pushed no amount. */
export const DEMO_OCPI_PRE_AUTH = "30.00";

/** The tenant's §7.7 settings: the CPO's wholesale cost × 1.25, 20 % VAT where the CPO gives none, CDRs in EUR. */
export const DEMO_OCPI_SETTINGS = { retailFactor: "1.25", vatPercent: "20", currency: "EUR" } as const;

/** How long the pull of Locations and Tariffs after a registration may take. */
const SYNC_WAIT_MS = 20_000;

export interface DemoOcpiTenant {
  id: string;
  apiKey: string;
  sparkCallbackSecret: string;
  gatewayUrl: string;
  /** The Spark simulator's origin. */
  simulatorUrl: string;
  /** The CPO simulator's origin (its versions URL is `{cpoSimulatorUrl}/ocpi/versions`). */
  cpoSimulatorUrl: string;
}

/** `GET /v1/ocpi/connection`, as far as the demo reads it. */
export interface ConnectionView {
  status: "none" | "invited" | "connected";
  version: DemoOcpiVersion | null;
  initiatedBy: "gateway" | "cpo" | null;
  emsp: { countryCode: string; partyId: string; versionsUrl: string } | null;
  cpo: { versionsUrl: string | null; parties: Array<{ countryCode: string; partyId: string; name: string | null }> } | null;
  lastSync: { locations: { count: number; pages: number; error: string | null } | null; tariffs: { count: number; pages: number; error: string | null } | null } | null;
}

export function demoOcpiTenantFile(stateDir: string): string {
  return resolve(stateDir, "demo-ocpi-tenant.json");
}

/** Reads the OCPI demo tenant `npm start` seeded in this STATE_DIR; a clear error when there is none. */
export function readDemoOcpiTenant(stateDir: string): DemoOcpiTenant {
  const file = demoOcpiTenantFile(stateDir);
  if (!existsSync(file)) throw new Error(`no OCPI demo tenant in ${file}: start the gateway with \`npm start\` (with this STATE_DIR, and DEMO_TENANT not 0) first`);
  return JSON.parse(readFileSync(file, "utf8")) as DemoOcpiTenant;
}

/** Whether `value` names a version the demo plays. */
export function isDemoOcpiVersion(value: string): value is DemoOcpiVersion {
  return (DEMO_OCPI_VERSIONS as readonly string[]).includes(value);
}

/** `last_updated` for objects written now (OCPI DateTime, UTC, whole seconds). */
export function ocpiNow(offsetSeconds = 0): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000 + offsetSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The demo Location as the CPO simulator serves it on `version`: one EVSE with one connector, AVAILABLE. */
export function demoLocation(version: DemoOcpiVersion, lastUpdated: string): Record<string, unknown> {
  const s = DEMO_OCPI_STATION;
  const connector =
    version === "2.2.1"
      ? { id: s.connectorId, standard: "IEC_62196_T2", format: "SOCKET", power_type: "AC_3_PHASE", max_voltage: 230, max_amperage: 32, tariff_ids: ["TAR1"], last_updated: lastUpdated }
      : { id: s.connectorId, standard: "IEC_62196_T2", format: "SOCKET", power_type: "AC_3_PHASE", voltage: 230, amperage: 32, tariff_id: "TAR1", last_updated: lastUpdated };
  const evse = { uid: s.evseUid, evse_id: `${DEMO_CPO_PARTY.countryCode}*${DEMO_CPO_PARTY.partyId}*E${s.evseUid}`, status: "AVAILABLE", connectors: [connector], last_updated: lastUpdated };
  const place = { address: "Stationsplein 1", city: "Utrecht", country: "NLD", coordinates: { latitude: "52.089444", longitude: "5.110278" } };
  return version === "2.2.1"
    ? { country_code: DEMO_CPO_PARTY.countryCode, party_id: DEMO_CPO_PARTY.partyId, id: s.locationId, publish: true, name: "Demo station", ...place, postal_code: "3511 ED", time_zone: "Europe/Amsterdam", evses: [evse], last_updated: lastUpdated }
    : { id: s.locationId, type: "PARKING_LOT", name: "Demo station", ...place, postal_code: "3511 ED", evses: [evse], last_updated: lastUpdated };
}

/** The demo Tariff: a wholesale energy price (Flux passes wholesale tariffs only). */
export function demoTariff(version: DemoOcpiVersion, lastUpdated: string): Record<string, unknown> {
  const elements = [{ price_components: [{ type: "ENERGY", price: 0.3, step_size: 1 }] }];
  return version === "2.2.1"
    ? { country_code: DEMO_CPO_PARTY.countryCode, party_id: DEMO_CPO_PARTY.partyId, id: "TAR1", currency: "EUR", elements, last_updated: lastUpdated }
    : { id: "TAR1", currency: "EUR", elements, last_updated: lastUpdated };
}

function fail(what: string, answer: Answer): never {
  throw new Error(`${what}: ${answer.status} ${answer.text.slice(0, 500)}`);
}

/** A tenant API call as the OCPI demo tenant. */
export function tenantApi(tenant: DemoOcpiTenant, method: string, path: string, body?: unknown): Promise<Answer> {
  return call(method, `${tenant.gatewayUrl}${path}`, { bearer: tenant.apiKey, body });
}

/** A call to the CPO simulator's control API. */
export function cpoSim(tenant: DemoOcpiTenant, method: string, path: string, body?: unknown): Promise<Answer> {
  return call(method, `${tenant.cpoSimulatorUrl}${path}`, { body });
}

/** The tenant's OCPI connection. */
export async function ocpiConnection(tenant: DemoOcpiTenant): Promise<ConnectionView> {
  const answer = await tenantApi(tenant, "GET", "/v1/ocpi/connection");
  if (answer.status !== 200) fail("GET /v1/ocpi/connection", answer);
  return answer.json as ConnectionView;
}

/** What the CPO simulator says of its registration. */
export async function cpoSimHealth(tenant: DemoOcpiTenant): Promise<{ registered: boolean; version: DemoOcpiVersion | null }> {
  const answer = await cpoSim(tenant, "GET", "/_sim/health");
  if (answer.status !== 200) fail(`the CPO simulator on ${tenant.cpoSimulatorUrl}`, answer);
  return { registered: answer.json.registered === true, version: answer.json.version ?? null };
}

/** Steps of a registration, for whoever wants to print them. */
export type StepLog = (who: string, text: string) => void;

/**
 * Registers the tenant with the CPO simulator on `version`, after making the simulator serve the
 * demo Location and Tariff of that version: gateway-initiated (`POST /v1/ocpi/connection` with
 * the simulator's Token A) on 2.2.1, the highest version both offer; CPO-initiated (an invitation,
 * then the simulator registers choosing the version) on 2.1.1. Waits for the pull that follows.
 */
export async function connectToCpo(tenant: DemoOcpiTenant, version: DemoOcpiVersion, log: StepLog = () => {}): Promise<ConnectionView> {
  const now = ocpiNow();
  for (const [path, objects] of [
    ["/_sim/locations", [demoLocation(version, now)]],
    ["/_sim/tariffs", [demoTariff(version, now)]],
  ] as const) {
    const served = await cpoSim(tenant, "PUT", path, objects);
    if (served.status !== 204) fail(`PUT ${tenant.cpoSimulatorUrl}${path}`, served);
  }
  if (version === "2.2.1") {
    const offer = await cpoSim(tenant, "POST", "/_sim/token-a");
    if (offer.status !== 200) fail("the CPO simulator's Token A", offer);
    log("cpo", `offers Token A for its versions URL ${offer.json.versionsUrl}`);
    const registered = await tenantApi(tenant, "POST", "/v1/ocpi/connection", { versionsUrl: offer.json.versionsUrl, token: offer.json.token });
    if (registered.status !== 201) fail("POST /v1/ocpi/connection", registered);
    log("tenant", `POST /v1/ocpi/connection {versionsUrl, token: Token A} → ${registered.status} ${registered.json.status} on ${registered.json.version} (the gateway read the CPO's versions and details, POSTed its credentials)`);
  } else {
    const invitation = await tenantApi(tenant, "POST", "/v1/ocpi/invitation");
    if (invitation.status !== 201) fail("POST /v1/ocpi/invitation", invitation);
    log("tenant", `POST /v1/ocpi/invitation → ${invitation.status}: Token A and ${invitation.json.versionsUrl}, handed to the CPO`);
    const registered = await cpoSim(tenant, "POST", "/_sim/register", { versionsUrl: invitation.json.versionsUrl, token: invitation.json.token, version });
    if (registered.status !== 200 || registered.json?.status !== 200 || registered.json?.body?.status_code !== 1000) fail(`the CPO's registration on ${version}`, registered);
    log("cpo", `GET versions, GET ${version} details, POST ${version}/credentials with Token A → ${registered.json.status} status_code ${registered.json.body.status_code} (the gateway read the CPO's versions with the CPO's token first)`);
  }
  const connection = await waitFor(
    SYNC_WAIT_MS,
    async () => {
      const seen = await ocpiConnection(tenant);
      return seen.status === "connected" && seen.lastSync?.locations && seen.lastSync.tariffs ? seen : undefined;
    },
    () => `the pull of Locations and Tariffs after the registration on ${version} did not end within ${SYNC_WAIT_MS / 1000} s`,
  );
  if (connection.version !== version) throw new Error(`the connection is on ${connection.version ?? "no version"}, not ${version}`);
  const sync = connection.lastSync!;
  if (sync.locations!.error || sync.tariffs!.error) throw new Error(`the pull after the registration failed: ${sync.locations!.error ?? sync.tariffs!.error}`);
  log("gateway", `pulled ${sync.locations!.count} Location(s) and ${sync.tariffs!.count} Tariff(s) from the CPO`);
  return connection;
}

/** `DELETE /v1/ocpi/connection` (the gateway tells the CPO, whose answer is not required). */
export async function disconnectFromCpo(tenant: DemoOcpiTenant, log: StepLog = () => {}): Promise<void> {
  const answer = await tenantApi(tenant, "DELETE", "/v1/ocpi/connection");
  if (answer.status !== 200) fail("DELETE /v1/ocpi/connection", answer);
  log("tenant", `DELETE /v1/ocpi/connection → ${answer.status} ${answer.json.status}`);
}

/**
 * Makes the tenant's connection be on `version` with a CPO simulator that knows it: kept when it
 * already is, else unregistered (when there is anything to unregister) and registered again.
 */
export async function ensureConnection(tenant: DemoOcpiTenant, version: DemoOcpiVersion, log: StepLog = () => {}): Promise<ConnectionView> {
  const connection = await ocpiConnection(tenant);
  const sim = await cpoSimHealth(tenant);
  if (connection.status === "connected" && connection.version === version && sim.registered && sim.version === version) return connection;
  if (connection.status !== "none") await disconnectFromCpo(tenant, log);
  return connectToCpo(tenant, version, log);
}

/** The station mapping, PUT only when it is not already in place. */
async function mapStation(tenant: DemoOcpiTenant): Promise<void> {
  const s = DEMO_OCPI_STATION;
  const path = `/v1/stations/${s.machineId}/${s.serviceStationNumber}`;
  const current = await tenantApi(tenant, "GET", path);
  const ocpi = current.status === 200 ? current.json.ocpi : null;
  if (ocpi && ocpi.locationId === s.locationId && ocpi.evseUid === s.evseUid && ocpi.connectorId === s.connectorId) return;
  const mapped = await tenantApi(tenant, "PUT", path, { ocpi: { locationId: s.locationId, evseUid: s.evseUid, connectorId: s.connectorId } });
  if (mapped.status !== 200) fail(`PUT ${path}`, mapped);
}

/** Creates the tenant (with its §7.7 settings), or reuses the one this STATE_DIR already holds. */
async function seedTenant(opts: { gatewayUrl: string; adminToken: string; simulatorUrl: string; cpoSimulatorUrl: string; stateDir: string }): Promise<DemoOcpiTenant> {
  const file = demoOcpiTenantFile(opts.stateDir);
  const admin = (method: string, path: string, body?: unknown) => call(method, `${opts.gatewayUrl}${path}`, { bearer: opts.adminToken, body });
  const sparkBaseUrl = simulatorBaseUrl(Number(new URL(opts.simulatorUrl).port));
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as DemoOcpiTenant;
    if ((await admin("GET", `/admin/tenants/${saved.id}`)).status === 200) {
      // Keep the tenant pointing at this run's Spark simulator port.
      const patched = await admin("PATCH", `/admin/tenants/${saved.id}`, { spark: { baseUrl: sparkBaseUrl } });
      if (patched.status !== 200) fail("PATCH the OCPI demo tenant", patched);
      const updated = { ...saved, gatewayUrl: opts.gatewayUrl, simulatorUrl: opts.simulatorUrl, cpoSimulatorUrl: opts.cpoSimulatorUrl };
      writeFileSync(file, JSON.stringify(updated, null, 2), { mode: 0o600 });
      return updated;
    }
  }
  const created = await admin("POST", "/admin/tenants", {
    name: "Demo OCPI Charging (simulators)",
    siteIds: [DEMO_OCPI_SITE_ID],
    spark: { baseUrl: sparkBaseUrl, ...DEMO_OCPI_TENANT },
    defaultPreAuthAmount: DEMO_OCPI_PRE_AUTH,
  });
  if (created.status !== 201) fail("could not seed the OCPI demo tenant", created);
  const tenant: DemoOcpiTenant = {
    id: created.json.id,
    apiKey: created.json.apiKey,
    sparkCallbackSecret: created.json.sparkCallbackSecret,
    gatewayUrl: opts.gatewayUrl,
    simulatorUrl: opts.simulatorUrl,
    cpoSimulatorUrl: opts.cpoSimulatorUrl,
  };
  writeFileSync(file, JSON.stringify(tenant, null, 2), { mode: 0o600 });
  const settings = await tenantApi(tenant, "PATCH", "/v1/ocpi/settings", DEMO_OCPI_SETTINGS);
  if (settings.status !== 200) fail("PATCH /v1/ocpi/settings", settings);
  return tenant;
}

/**
 * Seeds the OCPI demo tenant, maps its station and registers its connection with the CPO
 * simulator on `version`. Idempotent: a restart on the same STATE_DIR reuses the tenant, its keys,
 * settings and mapping, and registers again with the new (empty) CPO simulator.
 */
export async function seedDemoOcpiTenant(opts: {
  gatewayUrl: string;
  adminToken: string;
  simulatorUrl: string;
  cpoSimulatorUrl: string;
  stateDir: string;
  version: DemoOcpiVersion;
}): Promise<{ tenant: DemoOcpiTenant; connection: ConnectionView }> {
  const tenant = await seedTenant(opts);
  await mapStation(tenant);
  const connection = await ensureConnection(tenant, opts.version);
  return { tenant, connection };
}
