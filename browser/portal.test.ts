/**
 * The tenant portal and the API reference in real Chromium, against a real `npm start`: sign in
 * (link and API key), find a failed delivery and redeliver it, rotate a secret (shown once),
 * another tenant's session gives nothing, a `<script>` from Spark is text, and `/docs` renders
 * with every request that would leave the machine blocked.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SITE_ID, Gateway, Receiver, authorize, newSession, notifyBody, waitUntil } from "../resilience/support";
import type { SessionSpec } from "../resilience/support";
import { isolatedContext, launchChromium, screenshot } from "./support";

const ADMIN = { Authorization: "Bearer dev-admin-token", "Content-Type": "application/json" };

let gw: Gateway;
let receiver: Receiver;
let browser: Browser;
let endpointId: string;
const contexts: BrowserContext[] = [];

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.url}${path}`, { method, headers: ADMIN, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** A signed-in page: the operator's one-time link opened in a fresh browser profile. */
async function signedIn(): Promise<{ page: Page; blocked: string[] }> {
  const link = await admin("POST", `/admin/tenants/${gw.tenant.id}/portal-link`);
  expect(link.status).toBe(200);
  const { context, blocked } = await isolatedContext(browser);
  contexts.push(context);
  const page = await context.newPage();
  page.on("dialog", (dialog) => {
    throw new Error(`a page opened a dialog: ${dialog.message()}`);
  });
  await page.goto(link.json.url as string);
  expect(new URL(page.url()).pathname).toBe("/portal");
  return { page, blocked };
}

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.listen();
  // Three attempts a second apart: a failing receiver makes a failed delivery within seconds.
  gw = await Gateway.launch({ env: { WEBHOOK_RETRY_SCHEDULE: "1,1" } });
  endpointId = await gw.addEndpoint(receiver);
  browser = await launchChromium();
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await gw?.dispose();
  await receiver?.close();
});

describe("portal in Chromium", () => {
  it("signs in with the operator's link, and with the API key on the sign-in form", async () => {
    const { page, blocked } = await signedIn();
    await expect.poll(() => page.locator("[data-testid=tenant-id]").textContent()).toBe(gw.tenant.id);
    const cookie = (await page.context().cookies()).find((c) => c.name === "spark_portal");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: false, path: "/portal" });
    expect(cookie!.expires * 1000 - Date.now()).toBeLessThanOrEqual(12 * 60 * 60 * 1000);

    const { context } = await isolatedContext(browser);
    contexts.push(context);
    const other = await context.newPage();
    await other.goto(`${gw.url}/portal/sessions`);
    expect(new URL(other.url()).pathname).toBe("/portal/login");
    await screenshot(other, "portal-sign-in");
    await other.fill("input[name=apiKey]", "sk_wrong");
    await other.click("[data-testid=sign-in]");
    await expect.poll(() => other.locator("[role=alert]").textContent()).toContain("not valid");
    await other.fill("input[name=apiKey]", gw.tenant.apiKey);
    await other.click("[data-testid=sign-in]");
    await other.waitForURL(`${gw.url}/portal`);
    expect(await other.locator("[data-testid=tenant-id]").textContent()).toBe(gw.tenant.id);
    expect(blocked).toEqual([]);
  });

  it("finds a failed delivery on the session's page and redelivers it", async () => {
    const s: SessionSpec = newSession("30.00");
    receiver.mode = "fail";
    await authorize(gw, s);
    // All three attempts fail, and the gateway gives up on the event.
    await waitUntil("three failed attempts", 30_000, async () => {
      const session = await gw.session(s.id);
      const attempts = await gw.api("GET", `/v1/events/${session.events[0]!.id}/attempts`);
      return attempts.status === 200 && (attempts.json.data as unknown[]).length >= 3 ? true : undefined;
    });
    receiver.mode = "ok";

    const { page } = await signedIn();
    await page.click(`a[href="/portal/sessions/${s.id}"]`);
    await page.waitForURL(`${gw.url}/portal/sessions/${s.id}`);
    const row = page.locator(".timeline > li").first().locator("tbody tr").first();
    await expect.poll(() => row.textContent()).toContain("HTTP 503");
    await screenshot(page, "portal-session-failed-delivery");
    await row.locator("button", { hasText: "Redeliver" }).click();
    await page.waitForURL(`${gw.url}/portal/sessions/${s.id}?done=redelivered`);
    expect(await page.locator("[role=status]").textContent()).toContain("Queued for redelivery");
    await receiver.waitForAccepted(s.id, 1);
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator(".timeline > li").first().locator("tbody tr").first().textContent();
      }, { timeout: 20_000 })
      .toContain("HTTP 204");
    await screenshot(page, "portal-session");
  });

  it("rotates an endpoint's secret, shows it once, and the receiver verifies a test event with it", async () => {
    const { page } = await signedIn();
    await page.click("a[href='/portal/endpoints']");
    await screenshot(page, "portal-endpoints");
    await page.click(`a[href="/portal/endpoints/${endpointId}"]`);
    await page.click("[data-testid=rotate-secret]");
    const secret = (await page.locator("[data-testid=secret]").textContent())!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    receiver.setSecret(secret);
    const before = receiver.deliveries.length;
    await Promise.all([page.waitForLoadState("load"), page.click("[data-testid=send-test]")]);
    // The page says how the test went, delivered or not (an alert names the failure).
    const said = page.locator("[role=status], [role=alert]").first();
    await expect.poll(() => said.textContent(), { timeout: 30_000 }).toMatch(/Test event evt_\S+ delivered: HTTP 204/);
    const test = receiver.deliveries.slice(before).find((d) => d.event?.type === "webhook.test");
    expect(test).toMatchObject({ verified: true, answered: 204 });
    await screenshot(page, "portal-endpoint");
    await page.goto(`${gw.url}/portal/endpoints/${endpointId}`);
    expect(await page.content()).not.toContain(secret);
  });

  it("another tenant's session id gives nothing", async () => {
    const site = 90_000 + Math.floor(Math.random() * 9_000);
    const other = await admin("POST", "/admin/tenants", {
      name: "Other Charging",
      siteIds: [site],
      spark: { baseUrl: "http://127.0.0.1:9/api", tokenId: site, secretToken: "x".repeat(40), integratorId: "1", signKey: "k" },
    });
    expect(other.status).toBe(201);
    const s = newSession();
    const body = notifyBody(s).replace(`"SiteId":${DEMO_SITE_ID}`, `"SiteId":${site}`).replace('"HwSerial":"0434334921100366"', '"HwSerial":"OTHER-TENANT-SERIAL"');
    const res = await fetch(`${gw.url}/spark/TransactionNotify`, { method: "POST", headers: { "Content-Type": "application/json", "X-Spark-Secret": other.json.sparkCallbackSecret }, body });
    expect(res.status).toBe(200);

    const { page } = await signedIn();
    const answer = await page.goto(`${gw.url}/portal/sessions/${s.id}`);
    expect(answer!.status()).toBe(404);
    const html = await page.content();
    expect(html).not.toContain("OTHER-TENANT-SERIAL");
    expect(html).toContain("Session not found");
  });

  it("shows an event body holding <script> as text", async () => {
    const s = newSession();
    const payload = "<script>window.__pwned=1</script>";
    const body = notifyBody(s).replace('"HwSerial":"0434334921100366"', `"HwSerial":${JSON.stringify(payload)}`);
    expect((await gw.spark("TransactionNotify", body)).status).toBe(200);
    const { page } = await signedIn();
    await page.goto(`${gw.url}/portal/sessions/${s.id}`);
    expect(await page.locator("[data-testid=session-json]").textContent()).toContain(payload);
    const eventId = (await gw.session(s.id)).events[0]!.id;
    await waitUntil("the event in the events API", 10_000, async () => ((await gw.api("GET", `/v1/events/${eventId}`)).status === 200 ? true : undefined));
    await page.goto(`${gw.url}/portal/events/${eventId}`);
    expect(await page.locator("[data-testid=event-body]").textContent()).toContain(payload);
    await screenshot(page, "portal-event");
    expect(await page.evaluate("typeof window.__pwned")).toBe("undefined");
    expect(await page.locator("script").count()).toBe(0);
  });
});

describe("/docs in Chromium", () => {
  it("renders the operations with no request leaving the machine", async () => {
    const { context, blocked } = await isolatedContext(browser);
    contexts.push(context);
    const page = await context.newPage();
    const failed: string[] = [];
    page.on("requestfailed", (request) => failed.push(request.url()));
    await page.goto(`${gw.url}/docs`);
    await page.waitForSelector(".opblock", { timeout: 30_000 });
    expect(await page.locator(".opblock").count()).toBeGreaterThan(20);
    const tags = await page.locator(".opblock-tag").allTextContents();
    expect(tags.join(" ")).toContain("Spark callbacks");
    expect(await page.locator(".opblock-summary-path", { hasText: "/spark/TransactionNotify" }).count()).toBe(1);
    await screenshot(page, "docs");
    expect(blocked).toEqual([]);
    expect(failed).toEqual([]);
  });
});
