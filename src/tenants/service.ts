/** Onboarding and managing tenants: records, claims, credentials. Secrets are shown once. */
import { and, asc, desc, eq, gt, inArray, isNull, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { after, paginate } from "../db/paging";
import type { Cursor } from "../db/paging";
import { credentials, machineClaims, siteClaims, tenants } from "../db/schema";
import { ApiError, conflict, notFound } from "../lib/errors";
import type { Sealer } from "../lib/crypto";
import { randomId, randomToken } from "../lib/crypto";
import { newEndpoint } from "../webhooks/endpoints";
import type { EndpointView } from "../webhooks/endpoints";
import { credentialHash, forgetTenantCaches } from "./lookup";
import type { CredentialKind } from "./lookup";

/** A rotated API key or callback secret keeps working this long, so the tenant (or Nayax) can switch without downtime. */
export const CREDENTIAL_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
/** Default pre-authorization amount answered to InfoQuery when a station has none of its own. */
export const DEFAULT_PRE_AUTH_AMOUNT = "50.00";

export interface MachineClaim {
  siteId: number;
  machineId: number;
}

export interface SparkSettings {
  baseUrl: string;
  tokenId: number;
  integratorId: string;
  secretToken: string;
  signKey: string;
}

export interface TenantInput {
  name: string;
  siteIds: number[];
  machines: MachineClaim[];
  spark: SparkSettings;
  webhookUrl?: string | undefined;
  defaultPreAuthAmount?: string | undefined;
}

export interface TenantView {
  id: string;
  name: string;
  status: "active" | "disabled";
  siteIds: number[];
  machines: MachineClaim[];
  spark: { baseUrl: string; tokenId: number; integratorId: string };
  defaultPreAuthAmount: string;
  createdAt: string;
  updatedAt: string;
}

export interface CreatedTenant extends TenantView {
  apiKey: string;
  sparkCallbackSecret: string;
  webhookEndpoint: (Pick<EndpointView, "id" | "url"> & { secret: string }) | null;
}

const newApiKey = () => randomToken("sk_", 32);
const newCallbackSecret = () => randomToken("scs_", 32);

function isUniqueViolation(error: unknown): boolean {
  return String((error as Error)?.message ?? error).includes("UNIQUE constraint failed");
}

/** 409 naming what is already taken, checked before writing so the answer names the claim. */
async function assertClaimsFree(db: Database, input: { siteIds: number[]; machines: MachineClaim[]; tokenId?: number }, self?: string) {
  if (input.siteIds.length > 0) {
    const taken = await db.select().from(siteClaims).where(inArray(siteClaims.siteId, input.siteIds));
    const other = taken.find((row) => row.tenantId !== self);
    if (other) throw conflict(`SiteId ${other.siteId} is already claimed by another tenant`);
  }
  for (const machine of input.machines) {
    const row = await db
      .select()
      .from(machineClaims)
      .where(and(eq(machineClaims.siteId, machine.siteId), eq(machineClaims.machineId, machine.machineId)))
      .get();
    if (row && row.tenantId !== self) throw conflict(`MachineId ${machine.machineId} on SiteId ${machine.siteId} is already claimed by another tenant`);
  }
  if (input.tokenId !== undefined) {
    const row = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.sparkTokenId, input.tokenId)).get();
    if (row && row.id !== self) throw conflict(`spark.tokenId ${input.tokenId} is already used by another tenant`);
  }
}

function duplicates<T>(items: T[], key: (item: T) => string): string | null {
  const seen = new Set<string>();
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) return k;
    seen.add(k);
  }
  return null;
}

export async function createTenant(db: Database, sealer: Sealer, input: TenantInput): Promise<CreatedTenant> {
  const dupSite = duplicates(input.siteIds, String);
  if (dupSite) throw new ApiError(400, "invalid_request", `siteIds lists ${dupSite} twice`, [{ field: "siteIds", message: "duplicate" }]);
  const dupMachine = duplicates(input.machines, (m) => `${m.siteId}/${m.machineId}`);
  if (dupMachine) throw new ApiError(400, "invalid_request", `machines lists ${dupMachine} twice`, [{ field: "machines", message: "duplicate" }]);
  await assertClaimsFree(db, { siteIds: input.siteIds, machines: input.machines, tokenId: input.spark.tokenId });

  const now = Date.now();
  const id = randomId("ten_");
  const apiKey = newApiKey();
  const sparkCallbackSecret = newCallbackSecret();
  const sealed = await sealer.seal(JSON.stringify({ secretToken: input.spark.secretToken, signKey: input.spark.signKey }));
  const endpoint = input.webhookUrl ? await newEndpoint(db, sealer, id, { url: input.webhookUrl }) : null;
  const row = {
    id,
    name: input.name,
    status: "active" as const,
    sparkBaseUrl: input.spark.baseUrl,
    sparkTokenId: input.spark.tokenId,
    sparkIntegratorId: input.spark.integratorId,
    sparkSecrets: sealed,
    defaultPreAuthAmount: input.defaultPreAuthAmount ?? DEFAULT_PRE_AUTH_AMOUNT,
    createdAt: now,
    updatedAt: now,
  };
  try {
    await db.batch([
      db.insert(tenants).values(row),
      db.insert(credentials).values([
        { hash: await credentialHash("api_key", apiKey), tenantId: id, kind: "api_key", createdAt: now, expiresAt: null },
        { hash: await credentialHash("spark_callback", sparkCallbackSecret), tenantId: id, kind: "spark_callback", createdAt: now, expiresAt: null },
      ]),
      ...input.siteIds.map((siteId) => db.insert(siteClaims).values({ siteId, tenantId: id, createdAt: now })),
      ...input.machines.map((m) => db.insert(machineClaims).values({ ...m, tenantId: id, createdAt: now })),
      ...(endpoint ? [endpoint.insert] : []),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict("a SiteId, machine or spark.tokenId is already claimed by another tenant");
    throw error;
  }
  forgetTenantCaches();
  const view = await getTenant(db, id);
  return {
    ...view,
    apiKey,
    sparkCallbackSecret,
    webhookEndpoint: endpoint ? { id: endpoint.view.id, url: endpoint.view.url, secret: endpoint.secret } : null,
  };
}

export async function getTenant(db: Database, id: string): Promise<TenantView> {
  const row = await db.select().from(tenants).where(eq(tenants.id, id)).get();
  if (!row) throw notFound("tenant");
  const [sites, machines] = await db.batch([
    db.select({ siteId: siteClaims.siteId }).from(siteClaims).where(eq(siteClaims.tenantId, id)).orderBy(asc(siteClaims.siteId)),
    db
      .select({ siteId: machineClaims.siteId, machineId: machineClaims.machineId })
      .from(machineClaims)
      .where(eq(machineClaims.tenantId, id))
      .orderBy(asc(machineClaims.siteId), asc(machineClaims.machineId)),
  ]);
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    siteIds: sites.map((s) => s.siteId),
    machines,
    spark: { baseUrl: row.sparkBaseUrl, tokenId: row.sparkTokenId, integratorId: row.sparkIntegratorId },
    defaultPreAuthAmount: row.defaultPreAuthAmount,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

export async function listTenants(db: Database, limit: number, cursor: Cursor | null) {
  const rows = await db
    .select({ id: tenants.id, createdAt: tenants.createdAt })
    .from(tenants)
    .where(after(cursor, tenants.createdAt, tenants.id))
    .orderBy(desc(tenants.createdAt), desc(tenants.id))
    .limit(limit + 1);
  const { page, next } = paginate(rows, limit);
  return { data: await Promise.all(page.map((r) => getTenant(db, r.id))), next };
}

export interface TenantUpdate {
  name?: string | undefined;
  status?: "active" | "disabled" | undefined;
  defaultPreAuthAmount?: string | undefined;
  spark?: Partial<SparkSettings> | undefined;
}

export async function updateTenant(db: Database, sealer: Sealer, id: string, update: TenantUpdate): Promise<TenantView> {
  const row = await db.select().from(tenants).where(eq(tenants.id, id)).get();
  if (!row) throw notFound("tenant");
  if (update.spark?.tokenId !== undefined) await assertClaimsFree(db, { siteIds: [], machines: [], tokenId: update.spark.tokenId }, id);
  let sparkSecrets = row.sparkSecrets;
  if (update.spark?.secretToken !== undefined || update.spark?.signKey !== undefined) {
    const current = JSON.parse(await sealer.open(row.sparkSecrets)) as { secretToken: string; signKey: string };
    sparkSecrets = await sealer.seal(
      JSON.stringify({ secretToken: update.spark.secretToken ?? current.secretToken, signKey: update.spark.signKey ?? current.signKey }),
    );
  }
  await db
    .update(tenants)
    .set({
      name: update.name ?? row.name,
      status: update.status ?? row.status,
      defaultPreAuthAmount: update.defaultPreAuthAmount ?? row.defaultPreAuthAmount,
      sparkBaseUrl: update.spark?.baseUrl ?? row.sparkBaseUrl,
      sparkTokenId: update.spark?.tokenId ?? row.sparkTokenId,
      sparkIntegratorId: update.spark?.integratorId ?? row.sparkIntegratorId,
      sparkSecrets,
      updatedAt: Date.now(),
    })
    .where(eq(tenants.id, id));
  forgetTenantCaches();
  return getTenant(db, id);
}

export async function addClaims(db: Database, id: string, claims: { siteIds: number[]; machines: MachineClaim[] }): Promise<TenantView> {
  await getTenant(db, id);
  await assertClaimsFree(db, claims, id);
  const now = Date.now();
  const writes = [
    ...claims.siteIds.map((siteId) => db.insert(siteClaims).values({ siteId, tenantId: id, createdAt: now }).onConflictDoNothing()),
    ...claims.machines.map((m) => db.insert(machineClaims).values({ ...m, tenantId: id, createdAt: now }).onConflictDoNothing()),
  ];
  if (writes.length > 0) {
    try {
      await db.batch(writes as [(typeof writes)[number], ...typeof writes]);
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict("claim already taken by another tenant");
      throw error;
    }
  }
  forgetTenantCaches();
  return getTenant(db, id);
}

export async function removeSiteClaim(db: Database, id: string, siteId: number): Promise<TenantView> {
  const removed = await db.delete(siteClaims).where(and(eq(siteClaims.tenantId, id), eq(siteClaims.siteId, siteId))).returning();
  if (removed.length === 0) throw notFound("site claim");
  forgetTenantCaches();
  return getTenant(db, id);
}

export async function removeMachineClaim(db: Database, id: string, claim: MachineClaim): Promise<TenantView> {
  const removed = await db
    .delete(machineClaims)
    .where(and(eq(machineClaims.tenantId, id), eq(machineClaims.siteId, claim.siteId), eq(machineClaims.machineId, claim.machineId)))
    .returning();
  if (removed.length === 0) throw notFound("machine claim");
  forgetTenantCaches();
  return getTenant(db, id);
}

/**
 * Issues a new API key or callback secret. The previous ones keep working for `overlapMs`
 * (default a day), then stop; `overlapMs: 0` revokes them at once.
 */
export async function rotateCredential(
  db: Database,
  id: string,
  kind: CredentialKind,
  overlapMs = CREDENTIAL_ROTATION_OVERLAP_MS,
): Promise<{ secret: string; previousExpiresAt: string }> {
  await getTenant(db, id);
  const now = Date.now();
  const secret = kind === "api_key" ? newApiKey() : newCallbackSecret();
  const expiresAt = now + overlapMs;
  await db.batch([
    db
      .update(credentials)
      .set({ expiresAt })
      .where(and(eq(credentials.tenantId, id), eq(credentials.kind, kind), or(isNull(credentials.expiresAt), gt(credentials.expiresAt, expiresAt)))),
    db.insert(credentials).values({ hash: await credentialHash(kind, secret), tenantId: id, kind, createdAt: now, expiresAt: null }),
  ]);
  forgetTenantCaches();
  return { secret, previousExpiresAt: new Date(expiresAt).toISOString() };
}

/** The tenant's Spark credentials, opened for a call to Spark. Never returned through the API. */
export async function sparkCredentials(db: Database, sealer: Sealer, id: string): Promise<SparkSettings & { tenantId: string }> {
  const row = await db.select().from(tenants).where(eq(tenants.id, id)).get();
  if (!row) throw notFound("tenant");
  const secrets = JSON.parse(await sealer.open(row.sparkSecrets)) as { secretToken: string; signKey: string };
  return { tenantId: id, baseUrl: row.sparkBaseUrl, tokenId: row.sparkTokenId, integratorId: row.sparkIntegratorId, ...secrets };
}
