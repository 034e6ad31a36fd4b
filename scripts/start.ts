/**
 * `npm start`: the gateway on 127.0.0.1:$PORT with local D1 (migrated first), local Durable
 * Objects and all state under $STATE_DIR; beside it the Spark simulator and a demo tenant
 * that points at it (DEMO_TENANT=0 turns both off). Settings come from this process's
 * environment and are passed to the Worker explicitly, since wrangler dev does not.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ocpiStartVars } from "../src/ocpi/config";
import { seedDemoTenant } from "./demo-tenant";

/** The contract's local default for the operator token. */
const DEFAULT_ADMIN_TOKEN = "dev-admin-token";
/** How long to wait for the gateway to answer /health before giving up. */
const STARTUP_TIMEOUT_MS = 90_000;

const port = Number(process.env.PORT ?? 8787);
const stateDir = resolve(process.env.STATE_DIR ?? ".wrangler/state");
const adminToken = process.env.ADMIN_TOKEN || DEFAULT_ADMIN_TOKEN;
const demo = process.env.DEMO_TENANT !== "0";
const simPort = Number(process.env.SIM_PORT ?? port + 3);
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
mkdirSync(stateDir, { recursive: true });

/** A local encryption key kept with the state, so a restart can still open stored credentials. */
function localEncryptionKey(): string {
  if (process.env.ENCRYPTION_KEY) return process.env.ENCRYPTION_KEY;
  const file = resolve(stateDir, "encryption-key");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: "inherit" });
    child.on("exit", (code) => (code === 0 ? done() : fail(new Error(`${command} ${args.join(" ")} exited with ${code}`))));
  });
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
  await run(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir]);

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
  for (const name of ["SETTLEMENT_WINDOW_SECONDS", "SPARK_TIMEOUT_MS", "LOG_LEVEL", "HISTORY_WRITERS"]) {
    if (process.env[name]) vars[name] = process.env[name]!;
  }
  const gateway = spawn(
    wrangler,
    [
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--persist-to", stateDir,
      "--inspector-port", String(port + 10_000),
      "--show-interactive-dev-session=false",
      "--log-level", process.env.WRANGLER_LOG ?? "warn",
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    ],
    { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  children.push(gateway);
  gateway.on("exit", (code) => stopAll(code ?? 0));

  await waitForHealth(`http://127.0.0.1:${port}/health`);
  if (demo) {
    const tenant = await seedDemoTenant({ gatewayUrl: `http://127.0.0.1:${port}`, adminToken, simulatorUrl: `http://127.0.0.1:${simPort}`, stateDir });
    console.log(`demo tenant ${tenant.id} (SiteId 9000, TokenId 9000) → Spark simulator on :${simPort}; secrets in ${resolve(stateDir, "demo-tenant.json")}`);
  }
  console.log(`spark-gateway listening on http://127.0.0.1:${port} (state in ${stateDir})`);
}

main().catch((error: unknown) => {
  console.error(error);
  stopAll(1);
});
