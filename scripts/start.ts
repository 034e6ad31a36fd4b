/**
 * `npm start`: the gateway on 127.0.0.1:$PORT with local D1 (migrated first), local Durable
 * Objects and all state under $STATE_DIR; beside it the Spark simulator (PORT+3) and the CPO
 * simulator (PORT+4), a demo tenant that points at the Spark simulator, and an OCPI demo tenant
 * connected to the CPO simulator on DEMO_OCPI_VERSION (default 2.2.1) (DEMO_TENANT=0 turns all of
 * them off). Settings come from this process's environment and are passed to the Worker
 * explicitly, since wrangler dev does not.
 *
 * It shows the gateway's own log lines (LOG_LEVEL, default info) and real errors, not wrangler's
 * banner, request lines or workerd's stack traces (WRANGLER_LOG=info|debug shows wrangler's
 * output unfiltered), and ends with where the reference and the portal are and the demo
 * tenants' API keys and portal sign-in links. A port in use stops it at once, naming the port.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { OCPI_DEFAULTS, ocpiStartVars } from "../src/ocpi/config";
import { DEMO_OCPI_TENANT, DEMO_TENANT } from "../sim/demo";
import { DEFAULT_DEMO_OCPI_VERSION, DEMO_CPO_PARTY, DEMO_OCPI_STATION, demoOcpiTenantFile, isDemoOcpiVersion, seedDemoOcpiTenant } from "./demo-ocpi-tenant";
import type { ConnectionView, DemoOcpiTenant } from "./demo-ocpi-tenant";
import { seedDemoTenant } from "./demo-tenant";
import type { DemoTenant } from "./demo-tenant";
import { copyDocsAssets } from "./docs-assets";
import { appliedMigrations, filterOutput } from "./start-output";

/** The contract's local default for the operator token. */
const DEFAULT_ADMIN_TOKEN = "dev-admin-token";
/** How long to wait for the gateway to answer /health before giving up. */
const STARTUP_TIMEOUT_MS = 90_000;

const port = Number(process.env.PORT ?? 8787);
const stateDir = resolve(process.env.STATE_DIR ?? ".wrangler/state");
const adminToken = process.env.ADMIN_TOKEN || DEFAULT_ADMIN_TOKEN;
const demo = process.env.DEMO_TENANT !== "0";
const simPort = Number(process.env.SIM_PORT ?? port + 3);
const cpoSimPort = Number(process.env.CPO_SIM_PORT ?? port + 4);
/** How long the CPO simulator may take to listen (it re-runs itself under a V8 flag first). */
const SIMULATOR_TIMEOUT_MS = 30_000;
const inspectorPort = port + 10_000;
/** The OCPI settings (CONTRACT §7.1), checked before anything starts: a malformed one stops here, named. */
const ocpiVars = (() => {
  try {
    return ocpiStartVars(process.env, port);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
})();
/** The OCPI version the OCPI demo tenant is registered on at start. */
const demoOcpiVersion = (() => {
  const value = process.env.DEMO_OCPI_VERSION || DEFAULT_DEMO_OCPI_VERSION;
  if (!isDemoOcpiVersion(value)) {
    console.error(`DEMO_OCPI_VERSION: must be 2.2.1 or 2.1.1, not ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return value;
})();
const wrangler = resolve("node_modules/.bin/wrangler");
/** WRANGLER_LOG (a wrangler log level) shows wrangler's own output unfiltered, for debugging wrangler itself. */
const wranglerLog = process.env.WRANGLER_LOG;
/**
 * wrangler's environment: no metrics, and no fetch of Cloudflare's `Request.cf` sample from the
 * internet (offline it fails with a stack trace; the placeholder it falls back to is fine locally).
 */
const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
mkdirSync(stateDir, { recursive: true });

/** A local encryption key kept with the state, so a restart can still open stored credentials. */
function localEncryptionKey(): string {
  if (process.env.ENCRYPTION_KEY) return process.env.ENCRYPTION_KEY;
  const file = resolve(stateDir, "encryption-key");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/**
 * wrangler prints the Worker's console.log lines at its "log" level, which also prints a line per
 * request (filtered out here). When the gateway logs only warnings and errors (LOG_LEVEL=warn,
 * e.g. for the benchmark), wrangler's "warn" is enough and costs nothing per request.
 */
function wranglerLevelFor(gatewayLevel: string | undefined): string {
  return gatewayLevel === "warn" || gatewayLevel === "error" ? "warn" : "log";
}

/** Runs a command to the end and answers its output; a failure shows that output in full. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: wranglerEnv });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => (code === 0 ? done(output) : fail(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output}`))));
  });
}

/** Whether 127.0.0.1:port can be listened on right now. */
function portFree(candidate: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen(candidate, "127.0.0.1", () => server.close(() => done(true)));
  });
}

/** Stops before anything starts when a port this run needs is taken (another `npm start`, most likely). */
async function refuseBusyPorts(): Promise<void> {
  const needed: Array<[number, string]> = [
    [port, "the gateway's (PORT)"],
    [inspectorPort, "wrangler's inspector (PORT+10000)"],
  ];
  if (demo) needed.push([simPort, "the Spark simulator's (PORT+3, or SIM_PORT)"], [cpoSimPort, "the CPO simulator's (PORT+4, or CPO_SIM_PORT)"]);
  for (const [candidate, whose] of needed) {
    if (!(await portFree(candidate))) {
      console.error(
        `npm start: port ${candidate} on 127.0.0.1, ${whose}, is already in use — is another \`npm start\` running? ` +
          `Stop it, or start this one on another port, e.g. PORT=${port + 1} npm start (with its own STATE_DIR to keep state apart).`,
      );
      process.exit(1);
    }
  }
}

const children: ChildProcess[] = [];
function stopAll(code = 0): never {
  for (const child of children) child.kill("SIGTERM");
  process.exit(code);
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

async function waitForHealth(url: string, what = "gateway", timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs / 1000}s`);
}

async function main(): Promise<void> {
  await refuseBusyPorts();
  copyDocsAssets();
  const applied = appliedMigrations(await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir]));
  console.log(applied.length === 0 ? "D1: migrations up to date" : `D1: applied ${applied.join(", ")}`);

  if (demo) {
    const sim = spawn(resolve("node_modules/.bin/tsx"), ["scripts/simulator.ts"], {
      stdio: "inherit",
      env: {
        ...process.env,
        SIM_PORT: String(simPort),
        GATEWAY_URL: `http://127.0.0.1:${port}`,
        // The Spark accounts of both demo tenants.
        SIM_TENANTS_JSON: process.env.SIM_TENANTS_JSON || JSON.stringify([DEMO_TENANT, DEMO_OCPI_TENANT]),
      },
    });
    children.push(sim);
    const cpo = spawn(resolve("node_modules/.bin/tsx"), ["scripts/cpo-simulator.ts"], {
      stdio: "inherit",
      env: {
        ...process.env,
        CPO_SIM_PORT: String(cpoSimPort),
        CPO_SIM_HOST: "127.0.0.1",
        CPO_SIM_PARTIES_JSON: JSON.stringify([DEMO_CPO_PARTY]),
        // START_SESSION token uids must begin with the gateway's prefix; the simulator checks it.
        CPO_SIM_TOKEN_PREFIX: ocpiVars.OCPI_TOKEN_PREFIX ?? OCPI_DEFAULTS.OCPI_TOKEN_PREFIX,
      },
    });
    children.push(cpo);
  }

  const vars: Record<string, string> = {
    ADMIN_TOKEN: adminToken,
    ENCRYPTION_KEY: localEncryptionKey(),
    WEBHOOK_RETRY_SCHEDULE: process.env.WEBHOOK_RETRY_SCHEDULE ?? "",
    ...ocpiVars,
  };
  for (const name of ["SETTLEMENT_WINDOW_SECONDS", "SPARK_TIMEOUT_MS", "LOG_LEVEL", "HISTORY_WRITERS", "HISTORY_BATCH_WINDOW_MS", "AWAITING_CARD_TTL_SECONDS", "SPARK_RESEND_SCHEDULE", "SPARK_RESEND_HORIZON_SECONDS", "RETENTION_SECONDS", "TIMINGS"]) {
    if (process.env[name]) vars[name] = process.env[name]!;
  }
  const gateway = spawn(
    wrangler,
    [
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--persist-to", stateDir,
      "--inspector-port", String(inspectorPort),
      "--show-interactive-dev-session=false",
      "--log-level", wranglerLog ?? wranglerLevelFor(process.env.LOG_LEVEL),
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    { stdio: ["ignore", wranglerLog ? "inherit" : "pipe", wranglerLog ? "inherit" : "pipe"], env: wranglerEnv },
  );
  if (!wranglerLog) {
    filterOutput(gateway.stdout!, process.stdout);
    filterOutput(gateway.stderr!, process.stderr);
  }
  children.push(gateway);
  gateway.on("exit", (code) => stopAll(code ?? 0));

  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(`${url}/health`);
  const tenant = demo ? await seedDemoTenant({ gatewayUrl: url, adminToken, simulatorUrl: `http://127.0.0.1:${simPort}`, stateDir }) : null;
  let ocpiTenant: { tenant: DemoOcpiTenant; connection: ConnectionView } | null = null;
  if (demo) {
    const cpoSimulatorUrl = `http://127.0.0.1:${cpoSimPort}`;
    await waitForHealth(`${cpoSimulatorUrl}/_sim/health`, "the CPO simulator", SIMULATOR_TIMEOUT_MS);
    ocpiTenant = await seedDemoOcpiTenant({ gatewayUrl: url, adminToken, simulatorUrl: `http://127.0.0.1:${simPort}`, cpoSimulatorUrl, stateDir, version: demoOcpiVersion });
  }
  console.log(`spark-gateway listening on ${url} (state in ${stateDir})`);
  console.log(`  API reference   ${url}/docs`);
  console.log(`  Tenant portal   ${url}/portal`);
  if (!process.env.ADMIN_TOKEN) console.log(`  Operator token  ${DEFAULT_ADMIN_TOKEN} (the local default; set ADMIN_TOKEN to change it)`);
  if (tenant) await describeDemoTenant(url, tenant);
  if (ocpiTenant) await describeOcpiDemoTenant(url, ocpiTenant.tenant, ocpiTenant.connection);
}

/** A fresh portal sign-in link for a tenant. */
async function portalLink(url: string, tenantId: string): Promise<string> {
  const res = await fetch(`${url}/admin/tenants/${tenantId}/portal-link`, { method: "POST", headers: { Authorization: `Bearer ${adminToken}` } });
  return res.ok ? ((await res.json()) as { url: string }).url : `(none: ${res.status})`;
}

/** The demo tenant's id, API key and a fresh portal sign-in link: everything needed to try it. */
async function describeDemoTenant(url: string, tenant: DemoTenant): Promise<void> {
  const link = await portalLink(url, tenant.id);
  console.log(`  Demo tenant     ${tenant.id} (SiteId 9000, TokenId 9000), Spark simulator on http://127.0.0.1:${simPort}`);
  console.log(`    API key         ${tenant.apiKey}`);
  console.log(`    X-Spark-Secret  ${tenant.sparkCallbackSecret}`);
  console.log(`    Portal link     ${link}  (opens once, within 15 min)`);
  console.log(`    (all kept in ${resolve(stateDir, "demo-tenant.json")})`);
}

/** The OCPI demo tenant: its keys, its connection to the CPO simulator, its mapped station and a portal link. */
async function describeOcpiDemoTenant(url: string, tenant: DemoOcpiTenant, connection: ConnectionView): Promise<void> {
  const link = await portalLink(url, tenant.id);
  const s = DEMO_OCPI_STATION;
  const by = connection.initiatedBy === "cpo" ? "registered by the CPO" : "registered by the gateway";
  console.log(`  OCPI tenant     ${tenant.id} (SiteId 9001, TokenId 9001), OCPI ${connection.version} with the CPO simulator on ${tenant.cpoSimulatorUrl}/ocpi/versions (${by})`);
  console.log(`    API key         ${tenant.apiKey}`);
  console.log(`    X-Spark-Secret  ${tenant.sparkCallbackSecret}`);
  console.log(`    Station         MachineId ${s.machineId}, ServiceStationNumber ${s.serviceStationNumber} → ${DEMO_CPO_PARTY.countryCode}/${DEMO_CPO_PARTY.partyId} Location ${s.locationId}, EVSE ${s.evseUid}, connector ${s.connectorId}`);
  console.log(`    Portal link     ${link}  (opens once, within 15 min)`);
  console.log(`    (all kept in ${demoOcpiTenantFile(stateDir)}; npm run demo -- ocpi plays it)`);
}

main().catch((error: unknown) => {
  console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
  stopAll(1);
});
