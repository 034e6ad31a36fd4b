/**
 * Which gateway session a CPO Session or CDR belongs to (CONTRACT §7.6), always within the tenant
 * whose token sent it: by `authorization_reference` (the session id), else, for a CDR, by the CPO
 * Session it names, else by the token uid the gateway minted.
 */
import { and, eq, isNotNull } from "drizzle-orm";
import type { Database } from "../db/client";
import { ocpiSessions, ocpiTokenUids } from "../db/schema";
import { idKey } from "./ids";
import type { Party } from "./model";

/** The gateway session with this id that was started over OCPI for this tenant, or null. */
async function byReference(db: Database, tenantId: string, reference: string | null): Promise<string | null> {
  if (!reference) return null;
  const row = await db
    .select({ id: ocpiTokenUids.gatewaySessionId })
    .from(ocpiTokenUids)
    .where(and(eq(ocpiTokenUids.tenantId, tenantId), eq(ocpiTokenUids.gatewaySessionId, reference.toLowerCase())))
    .get();
  return row?.id ?? null;
}

/** The gateway session a token uid was minted for, within this tenant, or null. */
async function byTokenUid(db: Database, tenantId: string, uid: string | null): Promise<string | null> {
  if (!uid) return null;
  const row = await db
    .select({ id: ocpiTokenUids.gatewaySessionId })
    .from(ocpiTokenUids)
    .where(and(eq(ocpiTokenUids.uid, idKey(uid)), eq(ocpiTokenUids.tenantId, tenantId)))
    .get();
  return row?.id ?? null;
}

/** The gateway session of a CPO Session: its `authorization_reference`, else its token uid. */
export async function resolveSession(db: Database, tenantId: string, session: { authorizationReference: string | null; tokenUid: string }): Promise<string | null> {
  return (await byReference(db, tenantId, session.authorizationReference)) ?? (await byTokenUid(db, tenantId, session.tokenUid));
}

/** The gateway session of a CDR: its `authorization_reference`, else the CPO Session it names, else its token uid. */
export async function resolveCdr(
  db: Database,
  tenantId: string,
  cdr: { party: Party; authorizationReference: string | null; sessionId: string | null; tokenUid: string },
): Promise<string | null> {
  const byReferenceId = await byReference(db, tenantId, cdr.authorizationReference);
  if (byReferenceId) return byReferenceId;
  if (cdr.sessionId) {
    const row = await db
      .select({ id: ocpiSessions.gatewaySessionId })
      .from(ocpiSessions)
      .where(
        and(
          eq(ocpiSessions.tenantId, tenantId),
          eq(ocpiSessions.countryCode, idKey(cdr.party.countryCode)),
          eq(ocpiSessions.partyId, idKey(cdr.party.partyId)),
          eq(ocpiSessions.sessionKey, idKey(cdr.sessionId)),
          isNotNull(ocpiSessions.gatewaySessionId),
        ),
      )
      .get();
    if (row?.id) return row.id;
  }
  return byTokenUid(db, tenantId, cdr.tokenUid);
}
