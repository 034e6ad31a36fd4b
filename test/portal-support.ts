/** A browser as the portal tests play it: a cookie jar of one cookie, form posts with the page's token. */
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { admin } from "./helpers";

export const ORIGIN = "http://gateway.test";

/** One `Set-Cookie` header, split into its value and attributes. */
export interface CookieSet {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

export function parseSetCookie(header: string | null): CookieSet | null {
  if (!header) return null;
  const [pair, ...attrs] = header.split(";").map((p) => p.trim());
  const eq = pair!.indexOf("=");
  const attributes = new Map<string, string>();
  for (const attr of attrs) {
    const i = attr.indexOf("=");
    attributes.set((i < 0 ? attr : attr.slice(0, i)).toLowerCase(), i < 0 ? "" : attr.slice(i + 1));
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes };
}

/** The hidden `_csrf` value of the first form on a page. */
export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  expect(match, "page has an anti-forgery field").not.toBeNull();
  return match![1]!;
}

/** A request to the Worker, never following redirects (a browser would; the tests look at each step). */
export function fetchWorker(path: string, init: RequestInit = {}, origin = ORIGIN): Promise<Response> {
  return exports.default.fetch(new Request(`${origin}${path}`, { redirect: "manual", ...init }));
}

/** A signed-in browser: its cookie, and GET/POST as that browser would send them. */
export class Browser {
  constructor(readonly cookie: string) {}

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetchWorker(path, { headers: { Cookie: `spark_portal=${this.cookie}`, ...headers } });
  }

  /** GETs the page at `from` for its anti-forgery token, then posts the form fields to `action` from this origin. */
  async post(action: string, fields: Record<string, string | string[]>, opts: { from?: string; csrf?: string | null; origin?: string | null } = {}): Promise<Response> {
    let csrf = opts.csrf;
    if (csrf === undefined) csrf = csrfOf(await (await this.get(opts.from ?? "/portal/sessions")).text());
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
    if (csrf !== null) body.set("_csrf", csrf);
    const headers: Record<string, string> = { Cookie: `spark_portal=${this.cookie}`, "Content-Type": "application/x-www-form-urlencoded" };
    if (opts.origin !== null) headers["Origin"] = opts.origin ?? ORIGIN;
    return fetchWorker(action, { method: "POST", headers, body: body.toString() });
  }
}

/** Mints a sign-in link for the tenant (operator API) and answers it. */
export async function portalLink(tenantId: string): Promise<{ url: string; expiresAt: string }> {
  const res = await admin(`/admin/tenants/${tenantId}/portal-link`, { method: "POST" });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { url: string; expiresAt: string };
}

/** Signs in with a fresh link, as a browser opening it would. */
export async function signIn(tenantId: string): Promise<Browser> {
  const { url } = await portalLink(tenantId);
  const res = await fetchWorker(new URL(url).pathname + new URL(url).search);
  expect(res.status).toBe(303);
  const cookie = parseSetCookie(res.headers.get("Set-Cookie"));
  expect(cookie?.name).toBe("spark_portal");
  return new Browser(cookie!.value);
}
