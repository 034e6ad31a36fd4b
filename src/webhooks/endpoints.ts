/** Tenants' webhook endpoints in D1. Signing secrets and custom headers are sealed at rest; secrets are shown once, header values never. */
import { and, desc, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { after } from "../db/paging";
import type { Cursor } from "../db/paging";
import { webhookEndpoints } from "../db/schema";
import type { Sealer } from "../lib/crypto";
import { randomId } from "../lib/crypto";
import { TtlCache } from "../lib/cache";
import type { EventType } from "../sessions/model";
import { maskHeaders, openHeaders, sealHeaders } from "./headers";
import { SECRET_ROTATION_OVERLAP_MS, live, rotated } from "../lib/rotating-secrets";
import type { RotatingSecret } from "../lib/rotating-secrets";
import { generateWebhookSecret } from "./signing";

/** After a rotation the previous secret keeps signing this long, so receivers can switch without losing events. */
export { SECRET_ROTATION_OVERLAP_MS };
/** Session objects re-read a tenant's endpoints this often: bounds how late a new endpoint starts receiving. */
export const ENDPOINT_CACHE_TTL_MS = 10_000;

export interface EndpointView {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  eventTypes: EventType[] | null;
  /** Names with masked values (`"Bearer ****"`); delivery reads the real ones through {@link deliveryEndpoints}. */
  headers: Record<string, string>;
  createdAt: string;
}

/** What delivery needs: the view with the real header values, plus the live signing secrets. */
export interface DeliveryEndpoint extends EndpointView {
  tenantId: string;
  createdAtMs: number;
  secrets: string[];
}

type SealedSecret = RotatingSecret;

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
type Row = EndpointRow;

/** The endpoint as answers show it: header values masked, no secrets. */
export async function endpointView(sealer: Sealer, row: Row): Promise<EndpointView> {
  return { ...baseView(row), headers: maskHeaders(await openHeaders(sealer, row.headers)) };
}

function baseView(row: Row): Omit<EndpointView, "headers"> {
  return {
    id: row.id,
    url: row.url,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    eventTypes: row.eventTypes ? (JSON.parse(row.eventTypes) as EventType[]) : null,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

/** The insert for a new endpoint and its one-time secret; the caller runs it (alone or in a batch). */
export async function newEndpoint(
  db: Database,
  sealer: Sealer,
  tenantId: string,
  input: { url: string; eventTypes?: EventType[] | null | undefined; enabled?: boolean | undefined; headers?: Record<string, string> | undefined },
) {
  const now = Date.now();
  const secret = generateWebhookSecret();
  const row: Row = {
    id: randomId("we_"),
    tenantId,
    url: input.url,
    enabled: input.enabled ?? true,
    disabledReason: input.enabled === false ? "disabled by tenant" : null,
    eventTypes: input.eventTypes ? JSON.stringify(input.eventTypes) : null,
    headers: await sealHeaders(sealer, input.headers),
    secrets: await sealer.seal(JSON.stringify([{ secret, expiresAt: null }] satisfies SealedSecret[])),
    createdAt: now,
    updatedAt: now,
  };
  return { insert: db.insert(webhookEndpoints).values(row), view: await endpointView(sealer, row), secret };
}

export async function listEndpoints(db: Database, tenantId: string, limit: number, cursor: Cursor | null) {
  const rows = await db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.tenantId, tenantId),
        after(cursor, webhookEndpoints.createdAt, webhookEndpoints.id),
      ),
    )
    .orderBy(desc(webhookEndpoints.createdAt), desc(webhookEndpoints.id))
    .limit(limit + 1);
  return rows;
}

export async function getEndpoint(db: Database, tenantId: string, id: string): Promise<Row | null> {
  const row = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)))
    .get();
  return row ?? null;
}

/** Replaces the signing secret; the old one keeps signing for {@link SECRET_ROTATION_OVERLAP_MS}. */
export async function rotateEndpointSecret(db: Database, sealer: Sealer, row: Row): Promise<string> {
  const now = Date.now();
  const secret = generateWebhookSecret();
  const next = rotated(JSON.parse(await sealer.open(row.secrets)) as SealedSecret[], secret, now);
  await db
    .update(webhookEndpoints)
    .set({ secrets: await sealer.seal(JSON.stringify(next)), updatedAt: now })
    .where(eq(webhookEndpoints.id, row.id));
  endpointCache.clear();
  return secret;
}

const endpointCache = new TtlCache<DeliveryEndpoint[]>(ENDPOINT_CACHE_TTL_MS);

/** Forgets cached endpoints in this isolate (after a change). */
export function forgetEndpoints(): void {
  endpointCache.clear();
}

/** Every endpoint of a tenant with its live secrets, for delivery. Cached briefly per isolate. */
export async function deliveryEndpoints(db: Database, sealer: Sealer, tenantId: string): Promise<DeliveryEndpoint[]> {
  return endpointCache.get(tenantId, async () => {
    const rows = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId));
    const now = Date.now();
    return Promise.all(
      rows.map(async (row) => ({
        ...baseView(row),
        headers: await openHeaders(sealer, row.headers),
        tenantId,
        createdAtMs: row.createdAt,
        secrets: live(JSON.parse(await sealer.open(row.secrets)) as SealedSecret[], now).map((s) => s.secret),
      })),
    );
  });
}
