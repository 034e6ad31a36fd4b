/**
 * Read paths the Spark callbacks and the tenant API take on every request: who holds this
 * secret, who owns this site or machine, what did the tenant say about this station.
 * All cached per isolate, because each is a D1 read Spark would otherwise wait on.
 */
import { and, eq, isNull, or, sql } from "drizzle-orm";
import { TtlCache } from "../lib/cache";
import { sha256Hex, timingSafeEqualText } from "../lib/crypto";
import type { Database } from "../db/client";
import { credentials, machineClaims, ocpiEvses, siteClaims, stations, tenants } from "../db/schema";
import { effectiveAvailability } from "../ocpi/availability";
import type { Availability } from "../ocpi/availability";

/** How long a credential, claim or tenant read stays cached in an isolate: bounds how late a revocation bites elsewhere. */
export const LOOKUP_CACHE_TTL_MS = 30_000;
/** Station state is cached briefly: a tenant marking a station busy should stop approvals within seconds. */
export const STATION_CACHE_TTL_MS = 2_000;

export type CredentialKind = "api_key" | "spark_callback";

export interface TenantSummary {
  id: string;
  status: "active" | "disabled";
  sparkTokenId: number;
  defaultPreAuthAmount: string;
}

/** A station's mapping to an OCPI EVSE as the tenant set it (CONTRACT §7.5); country and party null when left out. */
export interface StationMapping {
  locationId: string;
  evseUid: string;
  connectorId: string | null;
  countryCode: string | null;
  partyId: string | null;
}

/** A station (or, with `serviceStationNumber` null, a whole single-point machine) as the tenant pushed it. */
export interface StationRecord {
  machineId: number;
  serviceStationNumber: string | null;
  /** What the tenant said. */
  availability: Availability;
  display: string | null;
  preAuthAmount: string | null;
  mapping: StationMapping | null;
  /** The mapped EVSE's status, and the CPO party holding its Location, while the gateway holds one. */
  evse: { status: string; countryCode: string; partyId: string } | null;
  updatedAt: number;
}

/** What a Spark callback needs to know about a station. */
export interface StationState {
  /** The effective availability: the tenant's, or the mapped EVSE's when more restrictive. */
  availability: Availability;
  display: string | null;
  preAuthAmount: string | null;
  /**
   * The EVSE the station is mapped to, or null. `countryCode`/`partyId` are the tenant's, else
   * those of the CPO party holding the Location (null while the gateway holds none).
   */
  ocpi: StationMapping | null;
}

const credentialCache = new TtlCache<{ hash: string; tenantId: string; expiresAt: number | null } | null>(LOOKUP_CACHE_TTL_MS);
const tenantCache = new TtlCache<TenantSummary | null>(LOOKUP_CACHE_TTL_MS);
const routeCache = new TtlCache<string | null>(LOOKUP_CACHE_TTL_MS);
const siteRouteCache = new TtlCache<SiteRoutes>(LOOKUP_CACHE_TTL_MS);
/** Per tenant, every station it pushed: one read serves all its stations until the entry expires. */
const stationCache = new TtlCache<Map<string, StationRecord>>(STATION_CACHE_TTL_MS);

/** Forgets everything cached about a tenant's claims, credentials and record in this isolate. */
export function forgetTenantCaches(): void {
  credentialCache.clear();
  tenantCache.clear();
  routeCache.clear();
  siteRouteCache.clear();
}

export function forgetStations(tenantId: string): void {
  stationCache.delete(tenantId);
}

/** The active tenant holding this secret of this kind, or null. The secret is only ever compared as a hash. */
export async function tenantByCredential(db: Database, kind: CredentialKind, secret: string): Promise<TenantSummary | null> {
  const hash = await sha256Hex(`${kind}:${secret}`);
  const found = await credentialCache.get(hash, async () => {
    const row = await db
      .select({ hash: credentials.hash, tenantId: credentials.tenantId, expiresAt: credentials.expiresAt })
      .from(credentials)
      .where(and(eq(credentials.hash, hash), eq(credentials.kind, kind)))
      .get();
    return row ?? null;
  });
  // The lookup is by hash, so timing says nothing about the secret; the stored hash is still compared in constant time.
  if (!found || !timingSafeEqualText(found.hash, hash) || (found.expiresAt !== null && found.expiresAt <= Date.now())) return null;
  const tenant = await tenantById(db, found.tenantId);
  return tenant && tenant.status === "active" ? tenant : null;
}

/** The hash a credential is stored under. */
export function credentialHash(kind: CredentialKind, secret: string): Promise<string> {
  return sha256Hex(`${kind}:${secret}`);
}

export async function tenantById(db: Database, id: string): Promise<TenantSummary | null> {
  return tenantCache.get(id, async () => {
    const row = await db
      .select({ id: tenants.id, status: tenants.status, sparkTokenId: tenants.sparkTokenId, defaultPreAuthAmount: tenants.defaultPreAuthAmount })
      .from(tenants)
      .where(eq(tenants.id, id))
      .get();
    return row ?? null;
  });
}

/** Who holds a site: its site claim and every machine claim under it. */
interface SiteRoutes {
  site: string | null;
  machines: Map<number, string>;
}

/**
 * Routes `(SiteId, MachineId)` to its tenant: a machine claim wins over a site claim. One read
 * per site loads both kinds of claim, so a machine the isolate has not seen yet costs nothing.
 */
export async function tenantForMachine(db: Database, siteId: number, machineId: number): Promise<string | null> {
  const routes = await siteRouteCache.get(String(siteId), async (): Promise<SiteRoutes> => {
    const [site, machines] = await db.batch([
      db.select({ tenantId: siteClaims.tenantId }).from(siteClaims).where(eq(siteClaims.siteId, siteId)),
      db.select({ machineId: machineClaims.machineId, tenantId: machineClaims.tenantId }).from(machineClaims).where(eq(machineClaims.siteId, siteId)),
    ]);
    return { site: site[0]?.tenantId ?? null, machines: new Map(machines.map((m) => [m.machineId, m.tenantId])) };
  });
  return routes.machines.get(machineId) ?? routes.site;
}

/** Routes StartSession's `TokenId` to the tenant whose Spark credentials carry it. */
export async function tenantForToken(db: Database, tokenId: number): Promise<string | null> {
  return routeCache.get(`t:${tokenId}`, async () => {
    const row = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.sparkTokenId, tokenId)).get();
    return row?.id ?? null;
  });
}

/** The row key of a station; the machine itself (single-point devices) is station "". */
const stationKey = (machineId: number, serviceStationNumber: string | null) => `${machineId}:${serviceStationNumber ?? ""}`;

/**
 * Every station of a tenant with its mapped EVSE's status: one read (stations left-joined to the
 * EVSE statuses), cached per isolate. A station mapped without country and party takes the most
 * recently updated EVSE of that Location and uid among the CPO's parties.
 */
async function tenantStations(db: Database, tenantId: string): Promise<Map<string, StationRecord>> {
  return stationCache.get(tenantId, async () => {
    const rows = await db
      .select({
        machineId: stations.machineId,
        serviceStationNumber: stations.serviceStationNumber,
        availability: stations.availability,
        display: stations.display,
        preAuthAmount: stations.preAuthAmount,
        locationId: stations.ocpiLocationId,
        evseUid: stations.ocpiEvseUid,
        connectorId: stations.ocpiConnectorId,
        countryCode: stations.ocpiCountryCode,
        partyId: stations.ocpiPartyId,
        updatedAt: stations.updatedAt,
        evseStatus: ocpiEvses.status,
        evseCountryCode: ocpiEvses.countryCode,
        evsePartyId: ocpiEvses.partyId,
        evseUpdatedAt: ocpiEvses.updatedAt,
      })
      .from(stations)
      .leftJoin(
        ocpiEvses,
        and(
          eq(ocpiEvses.tenantId, stations.tenantId),
          eq(ocpiEvses.locationKey, sql`upper(${stations.ocpiLocationId})`),
          eq(ocpiEvses.evseKey, sql`upper(${stations.ocpiEvseUid})`),
          or(isNull(stations.ocpiCountryCode), eq(ocpiEvses.countryCode, sql`upper(${stations.ocpiCountryCode})`)),
          or(isNull(stations.ocpiPartyId), eq(ocpiEvses.partyId, sql`upper(${stations.ocpiPartyId})`)),
        ),
      )
      .where(eq(stations.tenantId, tenantId));
    const byStation = new Map<string, StationRecord & { evseUpdatedAt: number }>();
    for (const row of rows) {
      const key = stationKey(row.machineId, row.serviceStationNumber === "" ? null : row.serviceStationNumber);
      const held = byStation.get(key);
      if (held && held.evseUpdatedAt >= (row.evseUpdatedAt ?? -1)) continue;
      byStation.set(key, {
        machineId: row.machineId,
        serviceStationNumber: row.serviceStationNumber === "" ? null : row.serviceStationNumber,
        availability: row.availability,
        display: row.display,
        preAuthAmount: row.preAuthAmount,
        mapping:
          row.locationId !== null && row.evseUid !== null
            ? { locationId: row.locationId, evseUid: row.evseUid, connectorId: row.connectorId, countryCode: row.countryCode, partyId: row.partyId }
            : null,
        evse: row.evseStatus !== null && row.evseCountryCode !== null && row.evsePartyId !== null ? { status: row.evseStatus, countryCode: row.evseCountryCode, partyId: row.evsePartyId } : null,
        updatedAt: row.updatedAt,
        evseUpdatedAt: row.evseUpdatedAt ?? -1,
      });
    }
    return new Map([...byStation].map(([key, { evseUpdatedAt: _, ...record }]) => [key, record]));
  });
}

/** Exactly this station's record (`serviceStationNumber` null: the machine's own), or null when never pushed. */
export async function stationRecord(db: Database, tenantId: string, machineId: number, serviceStationNumber: string | null): Promise<StationRecord | null> {
  return (await tenantStations(db, tenantId)).get(stationKey(machineId, serviceStationNumber)) ?? null;
}

/**
 * The state a Spark callback uses (CONTRACT §4, §7.5, §10): that station's when the tenant pushed
 * one, else the machine's own, else null (the defaults). `availability` is the effective one.
 */
export async function stationState(db: Database, tenantId: string, machineId: number, serviceStationNumber: string | null): Promise<StationState | null> {
  const byStation = await tenantStations(db, tenantId);
  const record = (serviceStationNumber !== null ? byStation.get(stationKey(machineId, serviceStationNumber)) : undefined) ?? byStation.get(stationKey(machineId, null));
  if (!record) return null;
  const mapping = record.mapping
    ? { ...record.mapping, countryCode: record.mapping.countryCode ?? record.evse?.countryCode ?? null, partyId: record.mapping.partyId ?? record.evse?.partyId ?? null }
    : null;
  return {
    availability: effectiveAvailability(record.availability, record.evse?.status ?? null),
    display: record.display,
    preAuthAmount: record.preAuthAmount,
    ocpi: mapping,
  };
}
