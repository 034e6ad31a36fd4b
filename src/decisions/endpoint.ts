/**
 * A tenant's decision endpoint (CONTRACT §5): its configuration in D1, with the signing secrets
 * sealed at rest, and the cached copy the Spark callback path reads.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { decisionEndpoints } from "../db/schema";
import { TtlCache } from "../lib/cache";
import type { Sealer } from "../lib/crypto";
import { live, rotated } from "../lib/rotating-secrets";
import type { RotatingSecret } from "../lib/rotating-secrets";
import { generateWebhookSecret } from "../webhooks/signing";

export type Fallback = "approve" | "decline";

/** What the tenant sees. The secret is shown once, when the endpoint is created or rotated. */
export interface DecisionEndpointView {
  url: string;
  fallback: Fallback;
  createdAt: string;
  updatedAt: string;
}

/** What asking needs: where, the fallback, and the secrets that sign. */
export interface Decider {
  url: string;
  fallback: Fallback;
  secrets: string[];
}

/** How long an isolate keeps a tenant's decision endpoint: bounds how late a change bites in other isolates. */
export const DECIDER_CACHE_TTL_MS = 30_000;

const deciders = new TtlCache<Decider | null>(DECIDER_CACHE_TTL_MS);

type Row = typeof decisionEndpoints.$inferSelect;

const view = (row: Row): DecisionEndpointView => ({
  url: row.url,
  fallback: row.fallback,
  createdAt: new Date(row.createdAt).toISOString(),
  updatedAt: new Date(row.updatedAt).toISOString(),
});

export async function getDecisionEndpoint(db: Database, tenantId: string): Promise<DecisionEndpointView | null> {
  const row = await db.select().from(decisionEndpoints).where(eq(decisionEndpoints.tenantId, tenantId)).get();
  return row ? view(row) : null;
}

/** Creates the endpoint (with a new secret, answered once) or changes its url and fallback (keeping the secret). */
export async function putDecisionEndpoint(
  db: Database,
  sealer: Sealer,
  tenantId: string,
  input: { url: string; fallback: Fallback },
): Promise<DecisionEndpointView & { secret?: string }> {
  const now = Date.now();
  const existing = await db.select().from(decisionEndpoints).where(eq(decisionEndpoints.tenantId, tenantId)).get();
  if (existing) {
    const row = { ...existing, url: input.url, fallback: input.fallback, updatedAt: now };
    await db.update(decisionEndpoints).set({ url: row.url, fallback: row.fallback, updatedAt: now }).where(eq(decisionEndpoints.tenantId, tenantId));
    deciders.delete(tenantId);
    return view(row);
  }
  const secret = generateWebhookSecret();
  const row: Row = {
    tenantId,
    url: input.url,
    fallback: input.fallback,
    secrets: await sealer.seal(JSON.stringify([{ secret, expiresAt: null }] satisfies RotatingSecret[])),
    createdAt: now,
    updatedAt: now,
  };
  // A concurrent first PUT loses to the one that got in first, and then reads like a change.
  const inserted = await db.insert(decisionEndpoints).values(row).onConflictDoNothing().returning({ tenantId: decisionEndpoints.tenantId });
  if (inserted.length === 0) return putDecisionEndpoint(db, sealer, tenantId, input);
  deciders.delete(tenantId);
  return { ...view(row), secret };
}

/** Removes the endpoint; false when there was none. */
export async function deleteDecisionEndpoint(db: Database, tenantId: string): Promise<boolean> {
  const deleted = await db.delete(decisionEndpoints).where(eq(decisionEndpoints.tenantId, tenantId)).returning({ tenantId: decisionEndpoints.tenantId });
  deciders.delete(tenantId);
  return deleted.length > 0;
}

/** A new secret, answered once; the previous one keeps signing beside it for the overlap. Null when there is no endpoint. */
export async function rotateDecisionSecret(db: Database, sealer: Sealer, tenantId: string): Promise<string | null> {
  const row = await db.select().from(decisionEndpoints).where(eq(decisionEndpoints.tenantId, tenantId)).get();
  if (!row) return null;
  const now = Date.now();
  const secret = generateWebhookSecret();
  const next = rotated(JSON.parse(await sealer.open(row.secrets)) as RotatingSecret[], secret, now);
  await db.update(decisionEndpoints).set({ secrets: await sealer.seal(JSON.stringify(next)), updatedAt: now }).where(eq(decisionEndpoints.tenantId, tenantId));
  deciders.delete(tenantId);
  return secret;
}

/** The tenant's decider with its live secrets, cached per isolate; null when none is configured. */
export function deciderFor(db: Database, sealer: Sealer, tenantId: string): Promise<Decider | null> {
  return deciders.get(tenantId, async () => {
    const row = await db.select().from(decisionEndpoints).where(eq(decisionEndpoints.tenantId, tenantId)).get();
    if (!row) return null;
    const secrets = live(JSON.parse(await sealer.open(row.secrets)) as RotatingSecret[], Date.now()).map((s) => s.secret);
    return { url: row.url, fallback: row.fallback, secrets };
  });
}
