/**
 * The portal's browser-facing safety: the session cookie's attributes, same-origin checks and
 * anti-forgery tokens for every form, and the headers every portal page carries.
 */
import { timingSafeEqualText, toHex } from "../lib/crypto";
import { publicUrl } from "./public-url";

/** The signed-in browser's cookie, scoped to the portal. */
export const SESSION_COOKIE = "spark_portal";

/** A sign-in form's token stays valid this long, so a form left open over lunch still works. */
const LOGIN_TOKEN_TTL_MS = 2 * 60 * 60 * 1000;

/** Loopback hosts, where a local gateway runs over plain http and a `Secure` cookie would never come back. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The session cookie's attributes: HttpOnly, SameSite=Strict, Secure except on loopback, expiring with the session. */
export function sessionCookieOptions(requestUrl: string, maxAgeSeconds: number) {
  return {
    path: "/portal",
    httpOnly: true,
    sameSite: "Strict" as const,
    secure: !isLoopbackHost(new URL(requestUrl).hostname),
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  };
}

/**
 * Whether a state-changing request comes from the portal's own pages: a browser always sends
 * `Origin` on a form POST, and it must be this gateway; without one, `Sec-Fetch-Site` must not
 * say another site. (Non-browser clients send neither and still need the form's token.)
 */
export function isSameOrigin(c: { env: Env; req: { url: string; header(name: string): string | undefined } }): boolean {
  const allowed = new Set([new URL(c.req.url).origin, new URL(publicUrl(c.env, c.req.url)).origin]);
  const origin = c.req.header("Origin");
  if (origin !== undefined) return allowed.has(origin);
  const site = c.req.header("Sec-Fetch-Site");
  return site === undefined || site === "same-origin" || site === "none";
}

/** Constant-time comparison of a submitted token with the expected one. */
export function tokenMatches(submitted: unknown, expected: string): boolean {
  return typeof submitted === "string" && submitted.length > 0 && timingSafeEqualText(submitted, expected);
}

async function hmacHex(secret: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(`portal-login:${secret}`), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** The sign-in form's anti-forgery token: a time stamp signed with a key only the gateway holds. */
export async function loginFormToken(env: Env, now = Date.now()): Promise<string> {
  const stamp = String(now);
  return `${stamp}.${await hmacHex(env.ENCRYPTION_KEY ?? "", stamp)}`;
}

/** Whether a submitted sign-in form token is one the gateway issued recently. */
export async function loginFormTokenValid(env: Env, token: unknown, now = Date.now()): Promise<boolean> {
  if (typeof token !== "string" || token.length > 200) return false;
  const [stamp, signature] = token.split(".");
  const issued = Number(stamp);
  if (!stamp || !signature || !Number.isSafeInteger(issued) || issued > now || now - issued > LOGIN_TOKEN_TTL_MS) return false;
  return timingSafeEqualText(signature, await hmacHex(env.ENCRYPTION_KEY ?? "", stamp));
}

/** Headers of every portal answer: no caching of tenant data or secrets, no framing, no scripts, nothing from elsewhere. */
export const PORTAL_HEADERS: Record<string, string> = {
  "Cache-Control": "no-store",
  "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "same-origin",
};
