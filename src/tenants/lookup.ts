/**
 * Read paths the Spark callbacks and the tenant API take on every request: who holds this
 * secret, who owns this site or machine, what did the tenant say about this station.
 * All cached per isolate, because each is a D1 read Spark would otherwise wait on.
 */
import { and, eq } from "drizzle-orm";
import { TtlCache } from "../lib/cache";
import { sha256Hex, timingSafeEqualText } from "../lib/crypto";
import type { Database } from "../db/client";
import { credentials, machineClaims, siteClaims, stations, tenants } from "../db/schema";

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

export interface StationState {
  availability: "available" | "busy" | "out_of_service";
  display: string | null;
  preAuthAmount: string | null;
}

const credentialCache = new TtlCache<{ hash: string; tenantId: string; expiresAt: number | null } | null>(LOOKUP_CACHE_TTL_MS);
const tenantCache = new TtlCache<TenantSummary | null>(LOOKUP_CACHE_TTL_MS);
const routeCache = new TtlCache<string | null>(LOOKUP_CACHE_TTL_MS);
const siteRouteCache = new TtlCache<SiteRoutes>(LOOKUP_CACHE_TTL_MS);
/** Per tenant, every station it pushed: one read serves all its stations until the entry expires. */
const stationCache = new TtlCache<Map<string, StationState>>(STATION_CACHE_TTL_MS);

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

/** What the tenant last pushed for this station, or null when it never did. */
export async function stationState(db: Database, tenantId: string, machineId: number, serviceStationNumber: string | null): Promise<StationState | null> {
  const byStation = await stationCache.get(tenantId, async () => {
    const rows = await db
      .select({
        machineId: stations.machineId,
        serviceStationNumber: stations.serviceStationNumber,
        availability: stations.availability,
        display: stations.display,
        preAuthAmount: stations.preAuthAmount,
      })
      .from(stations)
      .where(eq(stations.tenantId, tenantId));
    return new Map(rows.map(({ machineId: m, serviceStationNumber: n, ...state }) => [`${m}:${n}`, state]));
  });
  return byStation.get(`${machineId}:${serviceStationNumber ?? ""}`) ?? null;
}
