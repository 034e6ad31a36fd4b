/**
 * Runs before each test file. The files share one Workers runtime per vitest worker
 * (`isolate: false` in vitest.config.ts), so each starts here as it would in a runtime of its own:
 * empty storage (D1 and every Durable Object, alarms included) with the migrations applied, its
 * own copy of the test helpers, and real timers and globals (vitest itself restores spies between
 * files). The Worker's modules stay loaded from file to file.
 */
import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { installProxyPrototypeOnce, reloadModulesUnder } from "./pool-workarounds";

/** `reset()` calls before giving up on empty storage (see {@link emptyStorage}). */
const RESET_ATTEMPTS = 3;

/**
 * Deletes every Durable Object and the D1 database. After a file that aborted every object
 * (`abortAllDurableObjects`), one `reset()` can leave D1 as it was, so D1 is checked and the
 * reset repeated until it is empty.
 */
async function emptyStorage(): Promise<void> {
  for (let attempt = 1; attempt <= RESET_ATTEMPTS; attempt++) {
    await reset();
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM sqlite_master").first<{ n: number }>();
    if (left?.n === 0) return;
  }
  throw new Error(`D1 still holds tables after ${RESET_ATTEMPTS} resets`);
}

installProxyPrototypeOnce();
vi.useRealTimers();
vi.unstubAllGlobals();
vi.unstubAllEnvs();
reloadModulesUnder([new URL("./", import.meta.url).pathname, new URL("../sim/", import.meta.url).pathname]);
await emptyStorage();
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
