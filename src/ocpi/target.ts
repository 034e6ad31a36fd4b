/**
 * Whether an approved authorization starts charging over OCPI (CONTRACT §7.5, "OCPI-driven"): the
 * tenant is connected and the station of the authorization is mapped to an EVSE. The connection's
 * state is cached per isolate like the other lookups of the callback path, and only read for
 * mapped stations.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { ocpiConnections } from "../db/schema";
import { TtlCache } from "../lib/cache";
import type { OcpiTarget } from "../sessions/model";
import type { StationMapping } from "../tenants/lookup";
import type { OcpiVersion } from "./model";

/** How long an isolate trusts a tenant's connection state; every change in this isolate forgets it at once. */
export const CONNECTION_CACHE_TTL_MS = 5_000;

const versions = new TtlCache<OcpiVersion | null>(CONNECTION_CACHE_TTL_MS);

/** The version of the tenant's OCPI connection, or null when it is not connected. */
export function connectedVersion(db: Database, tenantId: string): Promise<OcpiVersion | null> {
  return versions.get(tenantId, async () => {
    const row = await db.select({ status: ocpiConnections.status, version: ocpiConnections.version }).from(ocpiConnections).where(eq(ocpiConnections.tenantId, tenantId)).get();
    return row?.status === "connected" ? (row.version ?? null) : null;
  });
}

/** Forgets the cached connection state of a tenant (after a registration, rotation or unregistration). */
export function forgetConnection(tenantId: string): void {
  versions.delete(tenantId);
}

/** Where an approval on this station charges over OCPI, or null when it does not. */
export async function ocpiTarget(db: Database, tenantId: string, mapping: StationMapping | null): Promise<OcpiTarget | null> {
  if (!mapping) return null;
  const version = await connectedVersion(db, tenantId);
  return version ? { version, ...mapping } : null;
}
