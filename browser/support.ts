/**
 * Chromium for the browser suite: Debian's `chromium` (`.ci/run` installs it) driven by
 * playwright-core, with every request that would leave the machine blocked and recorded, so a
 * test can assert that a page needed nothing from elsewhere.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { REPO_ROOT } from "../resilience/support";

/** Chromium's flags: no sandbox (CI runs as root) and none of its own background traffic. */
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps"];

/** The Chromium binary on PATH; the suite cannot run without one. */
export function chromiumPath(): string {
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("no `chromium` on PATH: install Debian's chromium (apt-get install chromium), as .ci/run does");
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** A fresh browser profile whose requests may reach loopback only; anything else is aborted and listed in `blocked`. */
export async function isolatedContext(browser: Browser): Promise<{ context: BrowserContext; blocked: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const blocked: string[] = [];
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || url.protocol === "blob:" || LOOPBACK.test(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort("internetdisconnected");
  });
  return { context, blocked };
}

/**
 * Saves a screenshot of the page: into `docs/` (shown in the README) when UPDATE_SCREENSHOTS=1,
 * else into a temporary folder, so an ordinary run leaves the work tree alone.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = process.env.UPDATE_SCREENSHOTS === "1" ? resolve(REPO_ROOT, "docs") : join(tmpdir(), "spark-gateway-screenshots");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
