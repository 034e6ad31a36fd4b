/**
 * A tenant's OCPI connection in D1 (CONTRACT §7.3): its state, the CPO's endpoints and parties,
 * the gateway's tokens (hashed) and the CPO's (sealed), and a short lease that serializes
 * registrations, rotations and unregistrations per tenant.
 */
import { and, eq, inArray, isNull, lt, ne, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { ocpiConnections, ocpiTokens, tenants } from "../db/schema";
import { forgetConnection } from "./target";
import { sha256Hex, toBase64 } from "../lib/crypto";
import type { CpoParty, EmspIdentity, Endpoint, OcpiVersion, Party } from "./model";
import { tokenCandidates } from "./token";
import type { TokenEncoding } from "./token";

/** A registration makes at most four calls of 10 s each; the lease outlives them with room to spare. */
export const CONNECTION_LOCK_MS = 90_000;
/** Random bytes in a gateway token: 43 printable characters, within OCPI's 64. */
const TOKEN_BYTES = 32;

export type ConnectionStatus = "none" | "invited" | "connected";
export type TokenKind = "invitation" | "pending" | "connection";

/** The outcome of one pull (CONTRACT §7.3 `lastSync`). */
export interface SyncOutcome {
  at: string;
  count: number;
  pages: number;
  error: string | null;
}

export interface LastSync {
  locations: SyncOutcome | null;
  tariffs: SyncOutcome | null;
}

/** A tenant's connection as stored (the CPO's token still sealed). */
export interface Connection {
  tenantId: string;
  status: ConnectionStatus;
  version: OcpiVersion | null;
  initiatedBy: "gateway" | "cpo" | null;
  tokenEncoding: TokenEncoding | null;
  cpoVersionsUrl: string | null;
  sealedCpoToken: string | null;
  endpoints: Endpoint[];
  cpoParties: CpoParty[];
  additionalParties: Party[];
  lastSync: LastSync;
  invitedAt: number | null;
  registeredAt: number | null;
  updatedAt: number;
}

const NONE = (tenantId: string): Connection => ({
  tenantId,
  status: "none",
  version: null,
  initiatedBy: null,
  tokenEncoding: null,
  cpoVersionsUrl: null,
  sealedCpoToken: null,
  endpoints: [],
  cpoParties: [],
  additionalParties: [],
  lastSync: { locations: null, tariffs: null },
  invitedAt: null,
  registeredAt: null,
  updatedAt: Date.now(),
});

const parseJson = <T>(text: string | null, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);

function fromRow(row: typeof ocpiConnections.$inferSelect): Connection {
  return {
    tenantId: row.tenantId,
    status: row.status,
    version: row.version,
    initiatedBy: row.initiatedBy,
    tokenEncoding: row.tokenEncoding,
    cpoVersionsUrl: row.cpoVersionsUrl,
    sealedCpoToken: row.cpoToken,
    endpoints: parseJson(row.cpoEndpoints, []),
    cpoParties: parseJson(row.cpoParties, []),
    additionalParties: parseJson(row.additionalParties, []),
    lastSync: parseJson(row.lastSync, { locations: null, tariffs: null }),
    invitedAt: row.invitedAt,
    registeredAt: row.registeredAt,
    updatedAt: row.updatedAt,
  };
}

/** The tenant's connection; status `none` when it has none. */
export async function getConnection(db: Database, tenantId: string): Promise<Connection> {
  const row = await db.select().from(ocpiConnections).where(eq(ocpiConnections.tenantId, tenantId)).get();
  return row ? fromRow(row) : NONE(tenantId);
}

const same = (a: string, b: string) => a.toUpperCase() === b.toUpperCase();

/**
 * The parties whose objects the gateway accepts from this connection (CONTRACT §7.3): the CPO
 * roles of 2.2.1 credentials, or the party of 2.1.1 credentials, plus `additionalParties`.
 */
export function declaredParties(connection: Connection): Party[] {
  const own = connection.cpoParties.filter((p) => p.role === null || p.role === "CPO");
  return [...own, ...connection.additionalParties].map(({ countryCode, partyId }) => ({ countryCode, partyId }));
}

/** Whether the connection declared this party (case-insensitive). */
export function isDeclared(connection: Connection, party: Party): boolean {
  return declaredParties(connection).some((p) => same(p.countryCode, party.countryCode) && same(p.partyId, party.partyId));
}

/** The first CPO party of the CPO's credentials: where pulls are addressed (CONTRACT §7.2). */
export function firstCpoParty(connection: Connection): Party | null {
  const party = connection.cpoParties.find((p) => p.role === null || p.role === "CPO") ?? null;
  return party ? { countryCode: party.countryCode, partyId: party.partyId } : null;
}

/** The CPO's endpoint for a module; on 2.2.1 with the given role. */
export function endpointOf(connection: Connection, identifier: string, role: "SENDER" | "RECEIVER"): Endpoint | null {
  return connection.endpoints.find((e) => e.identifier === identifier && (e.role === null || e.role === role)) ?? null;
}

/** The CPO's credentials endpoint (its role has no meaning in 2.2.1, so any will do). */
export function credentialsEndpoint(endpoints: Endpoint[]): Endpoint | null {
  return endpoints.find((e) => e.identifier === "credentials") ?? null;
}

/** The connection as `GET /v1/ocpi/connection` shows it: never a token. */
export function connectionView(connection: Connection, identity: EmspIdentity) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  if (connection.status === "none") {
    return {
      status: "none" as const,
      version: null,
      initiatedBy: null,
      tokenEncoding: null,
      emsp: null,
      cpo: null,
      additionalParties: [],
      lastSync: null,
      invitedAt: null,
      registeredAt: null,
      updatedAt: null,
    };
  }
  const connected = connection.status === "connected";
  return {
    status: connection.status,
    version: connection.version,
    initiatedBy: connection.initiatedBy,
    tokenEncoding: connection.tokenEncoding,
    emsp: { countryCode: identity.countryCode, partyId: identity.partyId, versionsUrl: identity.versionsUrl },
    cpo: connected
      ? {
          versionsUrl: connection.cpoVersionsUrl,
          parties: connection.cpoParties.map((p) => ({ countryCode: p.countryCode, partyId: p.partyId, role: p.role, name: p.name })),
          endpoints: connection.endpoints.map((e) => ({ identifier: e.identifier, role: e.role, url: e.url })),
        }
      : null,
    additionalParties: connection.additionalParties,
    lastSync: connected ? connection.lastSync : null,
    invitedAt: iso(connection.invitedAt),
    registeredAt: iso(connection.registeredAt),
    updatedAt: iso(connection.updatedAt),
  };
}

/** A new gateway token: 43 random base64url characters, never the same twice. */
export function newGatewayToken(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The hash a gateway token is stored under. */
export function gatewayTokenHash(token: string): Promise<string> {
  return sha256Hex(`ocpi:${token}`);
}

/** Who an inbound OCPI request is, by its token. */
export interface OcpiCaller {
  tenantId: string;
  kind: TokenKind;
  /** The token as the gateway issued it (decoded). */
  token: string;
  connection: Connection;
}

/** Finds the active tenant whose gateway token the `Authorization` header carries (either form); null otherwise. */
export async function authenticate(db: Database, header: string | undefined | null): Promise<OcpiCaller | null> {
  const candidates = tokenCandidates(header);
  if (candidates.length === 0) return null;
  const hashes = await Promise.all(candidates.map(gatewayTokenHash));
  const rows = await db
    .select({ hash: ocpiTokens.hash, tenantId: ocpiTokens.tenantId, kind: ocpiTokens.kind, tenantStatus: tenants.status, connection: ocpiConnections })
    .from(ocpiTokens)
    .innerJoin(tenants, eq(tenants.id, ocpiTokens.tenantId))
    .leftJoin(ocpiConnections, eq(ocpiConnections.tenantId, ocpiTokens.tenantId))
    .where(inArray(ocpiTokens.hash, hashes));
  for (const [i, hash] of hashes.entries()) {
    const row = rows.find((r) => r.hash === hash);
    if (!row || row.tenantStatus !== "active" || !row.connection) continue;
    return { tenantId: row.tenantId, kind: row.kind, token: candidates[i]!, connection: fromRow(row.connection) };
  }
  return null;
}

/**
 * Takes the tenant's connection lease: true when taken, false when another registration,
 * rotation or unregistration holds it. Creates the row (status `none`) when there is none.
 */
export async function acquireLock(db: Database, tenantId: string): Promise<boolean> {
  const now = Date.now();
  await db.insert(ocpiConnections).values({ tenantId, status: "none", updatedAt: now }).onConflictDoNothing();
  const result = await db
    .update(ocpiConnections)
    .set({ lockedUntil: now + CONNECTION_LOCK_MS })
    .where(and(eq(ocpiConnections.tenantId, tenantId), or(isNull(ocpiConnections.lockedUntil), lt(ocpiConnections.lockedUntil, now))))
    .run();
  if (result.meta.changes !== 1) return false;
  // A token minted by an operation that died before finishing opens nothing any more.
  await db.delete(ocpiTokens).where(and(eq(ocpiTokens.tenantId, tenantId), eq(ocpiTokens.kind, "pending")));
  return true;
}

export async function releaseLock(db: Database, tenantId: string): Promise<void> {
  await db.update(ocpiConnections).set({ lockedUntil: null }).where(eq(ocpiConnections.tenantId, tenantId));
  // Whatever the operation changed counts from the next callback in this isolate.
  forgetConnection(tenantId);
}

/** Runs `work` holding the tenant's lease; `busy` is called instead when another operation holds it. */
export async function withLock<T>(db: Database, tenantId: string, work: () => Promise<T>, busy: () => T | Promise<T>): Promise<T> {
  if (!(await acquireLock(db, tenantId))) return busy();
  try {
    return await work();
  } finally {
    await releaseLock(db, tenantId);
  }
}

/** The statement storing a gateway token (by its hash, from {@link gatewayTokenHash}) of a kind. */
export function tokenInsert(db: Database, tenantId: string, hash: string, kind: TokenKind) {
  return db.insert(ocpiTokens).values({ hash, tenantId, kind, createdAt: Date.now() });
}

/** Deletes one gateway token. */
export async function deleteToken(db: Database, token: string): Promise<void> {
  await db.delete(ocpiTokens).where(eq(ocpiTokens.hash, await gatewayTokenHash(token)));
}

/** The statements that make `token` the tenant's only gateway token, of kind `connection`. */
export async function onlyTokenStatements(db: Database, tenantId: string, token: string) {
  const hash = await gatewayTokenHash(token);
  return [
    db.delete(ocpiTokens).where(and(eq(ocpiTokens.tenantId, tenantId), ne(ocpiTokens.hash, hash))),
    db.update(ocpiTokens).set({ kind: "connection" }).where(eq(ocpiTokens.hash, hash)),
  ] as const;
}

/** The statement that retires every gateway token of the tenant. */
export function retireAllTokens(db: Database, tenantId: string) {
  return db.delete(ocpiTokens).where(eq(ocpiTokens.tenantId, tenantId));
}
