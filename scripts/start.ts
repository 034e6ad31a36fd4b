/**
 * `npm start`: the gateway on 127.0.0.1:$PORT with local D1 (migrated first), local Durable
 * Objects and all state under $STATE_DIR; beside it the Spark simulator and a demo tenant
 * that points at it (DEMO_TENANT=0 turns both off). Settings come from this process's
 * environment and are passed to the Worker explicitly, since wrangler dev does not.
 *
 * It shows the gateway's own log lines (LOG_LEVEL, default info) and real errors, not wrangler's
 * banner, request lines or workerd's stack traces (WRANGLER_LOG=info|debug shows wrangler's
 * output unfiltered), and ends with where the reference and the portal are and the demo
 * tenant's API key and a portal sign-in link. A port in use stops it at once, naming the port.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { ocpiStartVars } from "../src/ocpi/config";
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
  if (demo) needed.push([simPort, "the Spark simulator's (PORT+3, or SIM_PORT)"]);
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

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`gateway did not answer ${url} within ${STARTUP_TIMEOUT_MS / 1000}s`);
}

async function main(): Promise<void> {
  await refuseBusyPorts();
  copyDocsAssets();
  const applied = appliedMigrations(await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir]));
  console.log(applied.length === 0 ? "D1: migrations up to date" : `D1: applied ${applied.join(", ")}`);

  if (demo) {
    const sim = spawn(resolve("node_modules/.bin/tsx"), ["scripts/simulator.ts"], {
      stdio: "inherit",
      env: { ...process.env, SIM_PORT: String(simPort), GATEWAY_URL: `http://127.0.0.1:${port}` },
    });
    children.push(sim);
  }

  const vars: Record<string, string> = {
    ADMIN_TOKEN: adminToken,
    ENCRYPTION_KEY: localEncryptionKey(),
    WEBHOOK_RETRY_SCHEDULE: process.env.WEBHOOK_RETRY_SCHEDULE ?? "",
    ...ocpiVars,
  };
  for (const name of ["SETTLEMENT_WINDOW_SECONDS", "SPARK_TIMEOUT_MS", "LOG_LEVEL", "HISTORY_WRITERS", "AWAITING_CARD_TTL_SECONDS", "SPARK_RESEND_SCHEDULE", "SPARK_RESEND_HORIZON_SECONDS", "RETENTION_SECONDS"]) {
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
  console.log(`spark-gateway listening on ${url} (state in ${stateDir})`);
  console.log(`  API reference   ${url}/docs`);
  console.log(`  Tenant portal   ${url}/portal`);
  if (!process.env.ADMIN_TOKEN) console.log(`  Operator token  ${DEFAULT_ADMIN_TOKEN} (the local default; set ADMIN_TOKEN to change it)`);
  if (tenant) await describeDemoTenant(url, tenant);
}

/** The demo tenant's id, API key and a fresh portal sign-in link: everything needed to try it. */
async function describeDemoTenant(url: string, tenant: DemoTenant): Promise<void> {
  const res = await fetch(`${url}/admin/tenants/${tenant.id}/portal-link`, { method: "POST", headers: { Authorization: `Bearer ${adminToken}` } });
  const link = res.ok ? ((await res.json()) as { url: string }).url : `(none: ${res.status})`;
  console.log(`  Demo tenant     ${tenant.id} (SiteId 9000, TokenId 9000), Spark simulator on http://127.0.0.1:${simPort}`);
  console.log(`    API key         ${tenant.apiKey}`);
  console.log(`    X-Spark-Secret  ${tenant.sparkCallbackSecret}`);
  console.log(`    Portal link     ${link}  (opens once, within 15 min)`);
  console.log(`    (all kept in ${resolve(stateDir, "demo-tenant.json")})`);
}

main().catch((error: unknown) => {
  console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
  stopAll(1);
});
