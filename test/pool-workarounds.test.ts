/**
 * The test runtime itself (test/setup.ts, test/pool-workarounds.ts): test files share one Workers
 * runtime, yet each starts as if alone, and requests do not slow each other down.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, onboard } from "./helpers";
import { proxyPrototypeReuses } from "./pool-workarounds";
import { freshSite } from "./support";

describe("each test file starts as if alone", () => {
  it("finds D1 with every migration applied and nothing else", async () => {
    const applied = await env.DB.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
    expect(applied.results.map((row) => row.name)).toEqual(env.TEST_MIGRATIONS.map((migration) => migration.name));
    const rows = await env.DB.prepare("SELECT (SELECT COUNT(*) FROM tenants) AS tenants, (SELECT COUNT(*) FROM site_claims) AS claims, (SELECT COUNT(*) FROM sessions) AS sessions").first();
    expect(rows).toEqual({ tenants: 0, claims: 0, sessions: 0 });
    // What the next file must not see.
    await onboard();
  });

  it("gets its own copy of the test helpers", () => {
    expect(freshSite()).toBe(1000);
  });
});

describe("the pool's wrapper classes (cloudflare/workers-sdk#15092)", () => {
  it("reuse their prototype proxy on every request instead of wrapping it again", async () => {
    const before = proxyPrototypeReuses();
    for (let i = 0; i < 3; i++) expect((await call("/health")).status).toBe(200);
    // One wrapper per request; none may install a proxy of its own.
    expect(proxyPrototypeReuses() - before).toBeGreaterThanOrEqual(3);
  });
});
