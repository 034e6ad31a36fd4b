/**
 * Seeds the demo tenant (SiteId 9000, TokenId 9000) against the local Spark simulator, once:
 * its one-time secrets are kept in $STATE_DIR/demo-tenant.json so restarts reuse them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { DEMO_INTEGRATOR_ID, DEMO_SECRET_TOKEN, DEMO_SIGN_KEY, DEMO_SITE_ID, DEMO_TOKEN_ID, simulatorBaseUrl } from "../sim/demo";

export interface DemoTenant {
  id: string;
  apiKey: string;
  sparkCallbackSecret: string;
  gatewayUrl: string;
  simulatorUrl: string;
}

export function demoTenantFile(stateDir: string): string {
  return resolve(stateDir, "demo-tenant.json");
}

/** The demo tenant `npm start` seeded in `stateDir`. */
export function readDemoTenant(stateDir: string): DemoTenant {
  return JSON.parse(readFileSync(demoTenantFile(stateDir), "utf8")) as DemoTenant;
}

/** The demo tenant, once a starting `npm start` has seeded it in `stateDir`. */
export async function waitForDemoTenant(stateDir: string, timeoutMs: number): Promise<DemoTenant> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return readDemoTenant(stateDir);
    } catch (error) {
      // Not written yet (or being written).
      if (Date.now() > deadline) throw new Error(`no demo tenant in ${stateDir} after ${timeoutMs} ms: did npm start fail? (${String(error)})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function seedDemoTenant(opts: { gatewayUrl: string; adminToken: string; simulatorUrl: string; stateDir: string }): Promise<DemoTenant> {
  const file = demoTenantFile(opts.stateDir);
  const headers = { Authorization: `Bearer ${opts.adminToken}`, "Content-Type": "application/json" };
  const simPort = Number(new URL(opts.simulatorUrl).port);
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as DemoTenant;
    const check = await fetch(`${opts.gatewayUrl}/admin/tenants/${saved.id}`, { headers });
    if (check.ok) {
      // Keep the tenant pointing at this run's simulator port.
      await fetch(`${opts.gatewayUrl}/admin/tenants/${saved.id}`, { method: "PATCH", headers, body: JSON.stringify({ spark: { baseUrl: simulatorBaseUrl(simPort) } }) });
      const updated = { ...saved, gatewayUrl: opts.gatewayUrl, simulatorUrl: opts.simulatorUrl };
      writeFileSync(file, JSON.stringify(updated, null, 2));
      return updated;
    }
  }
  const res = await fetch(`${opts.gatewayUrl}/admin/tenants`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      name: "Demo Charging (simulator)",
      siteIds: [DEMO_SITE_ID],
      spark: { baseUrl: simulatorBaseUrl(simPort), tokenId: DEMO_TOKEN_ID, secretToken: DEMO_SECRET_TOKEN, integratorId: DEMO_INTEGRATOR_ID, signKey: DEMO_SIGN_KEY },
      defaultPreAuthAmount: "30.00",
    }),
  });
  if (res.status !== 201) throw new Error(`could not seed the demo tenant: ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { id: string; apiKey: string; sparkCallbackSecret: string };
  const tenant: DemoTenant = { id: created.id, apiKey: created.apiKey, sparkCallbackSecret: created.sparkCallbackSecret, gatewayUrl: opts.gatewayUrl, simulatorUrl: opts.simulatorUrl };
  writeFileSync(file, JSON.stringify(tenant, null, 2), { mode: 0o600 });
  return tenant;
}
