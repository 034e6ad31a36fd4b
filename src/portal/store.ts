/**
 * Portal sign-in: one-time links the operator mints and the browser sessions they (or an API
 * key) open. Only SHA-256 hashes of the tokens are stored, so neither a D1 read nor a log line
 * can sign anyone in; a session row can expire or be deleted (sign-out).
 */
import { and, eq, gt, isNull, lt } from "drizzle-orm";
import type { Database } from "../db/client";
import { portalLinks, portalSessions } from "../db/schema";
import { randomToken, sha256Hex } from "../lib/crypto";

/** A sign-in link is short-lived, like Svix's app-portal links: long enough to open from an email or chat. */
export const PORTAL_LINK_TTL_MS = 15 * 60 * 1000;
/** A signed-in browser stays signed in for a working day at most (the contract's 12 h ceiling). */
export const PORTAL_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const hashOf = (kind: "link" | "session", token: string) => sha256Hex(`portal_${kind}:${token}`);

/** Mints a one-time sign-in token for `tenantId`; the token itself is only in the answer. */
export async function mintLink(db: Database, tenantId: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const token = randomToken("pl_");
  const expiresAt = now + PORTAL_LINK_TTL_MS;
  // Links past their time are of no use to anyone: drop them while we are here.
  await db.batch([
    db.delete(portalLinks).where(lt(portalLinks.expiresAt, now)),
    db.insert(portalLinks).values({ hash: await hashOf("link", token), tenantId, createdAt: now, expiresAt, usedAt: null }),
  ]);
  return { token, expiresAt };
}

/** Uses a sign-in token: the tenant it was minted for, once, while it is valid; else null. */
export async function redeemLink(db: Database, token: string, now = Date.now()): Promise<string | null> {
  if (!token || token.length > 200) return null;
  // One conditional update: two browsers racing with the same link cannot both win.
  const used = await db
    .update(portalLinks)
    .set({ usedAt: now })
    .where(and(eq(portalLinks.hash, await hashOf("link", token)), isNull(portalLinks.usedAt), gt(portalLinks.expiresAt, now)))
    .returning({ tenantId: portalLinks.tenantId });
  return used[0]?.tenantId ?? null;
}

/** Opens a browser session for `tenantId`: the cookie value, shown to that browser only. */
export async function openSession(db: Database, tenantId: string, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const token = randomToken("ps_");
  const expiresAt = now + PORTAL_SESSION_TTL_MS;
  await db.batch([
    db.delete(portalSessions).where(lt(portalSessions.expiresAt, now)),
    db.insert(portalSessions).values({ hash: await hashOf("session", token), tenantId, createdAt: now, expiresAt }),
  ]);
  return { token, expiresAt };
}

/** The tenant a session cookie belongs to while it is valid, else null. */
export async function sessionTenant(db: Database, token: string, now = Date.now()): Promise<string | null> {
  if (!token || token.length > 200) return null;
  const row = await db
    .select({ tenantId: portalSessions.tenantId })
    .from(portalSessions)
    .where(and(eq(portalSessions.hash, await hashOf("session", token)), gt(portalSessions.expiresAt, now)))
    .get();
  return row?.tenantId ?? null;
}

/** Signs a browser out: its session stops working at once. */
export async function closeSession(db: Database, token: string): Promise<void> {
  await db.delete(portalSessions).where(eq(portalSessions.hash, await hashOf("session", token)));
}

/**
 * The anti-forgery token of a session's forms: derived from the cookie, so it needs no storage,
 * and a page that leaks it reveals nothing about the cookie.
 */
export function csrfTokenOf(sessionToken: string): Promise<string> {
  return sha256Hex(`portal_csrf:${sessionToken}`);
}
