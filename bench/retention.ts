/**
 * `npm run bench:retention`: how many sessions one run of the retention job removes, and how long
 * it takes, against a real `npm start` (its own STATE_DIR and port).
 *
 * Plays SESSIONS full Device Start sessions (TransactionNotify → StopCallback → settle, each
 * event delivered to a loopback webhook receiver, so every session has events, deliveries and
 * attempts), with RETENTION_SECONDS=1; then triggers the scheduled job through
 * `/cdn-cgi/handler/scheduled` until nothing is left, and prints each run's count and time as
 * the job logs them.
 *
 *   SESSIONS=3000 npm run bench:retention
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { pool } from "./stats";
import { readDemoTenant } from "../scripts/demo-tenant";

/** Sessions to play; bounded well under the ~10,000 new Durable Objects a minute local dev can hold. */
const SESSIONS = Math.min(Number(process.env.SESSIONS ?? 2000), 6000);
const CONCURRENCY = 16;
const PORT = Number(process.env.PORT ?? 8920);
const RECEIVER_PORT = PORT + 20;
/** Runs of the job at most: the benchmark always ends. */
const MAX_RUNS = 20;

const stateDir = mkdtempSync(join(tmpdir(), "spark-retention-"));
let gateway: ChildProcess | null = null;
let output = "";

function stop(): void {
  // The gateway's own output, for a look afterwards (bench/results/*.log is not committed).
  try {
    writeFileSync("bench/results/retention-gateway.log", output);
  } catch {
    // no results folder: nothing to keep
  }
  if (gateway?.pid) {
    try {
      process.kill(-gateway.pid, "SIGTERM");
    } catch {
      gateway.kill("SIGTERM");
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
}
process.on("exit", stop);
process.on("SIGINT", () => process.exit(130));

async function until<T>(what: string, ms: number, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  const receiver = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => receiver.listen(RECEIVER_PORT, "127.0.0.1", r));

  gateway = spawn("npx", ["tsx", "scripts/start.ts"], {
    env: { ...process.env, PORT: String(PORT), STATE_DIR: stateDir, RETENTION_SECONDS: "1", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  gateway.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  gateway.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await until("the gateway", 120_000, () => (output.includes("listening on") && output.includes("Demo tenant") ? true : undefined));
  const tenant = readDemoTenant(stateDir);
  const g = `http://127.0.0.1:${PORT}`;
  const api = (path: string, body: unknown) =>
    fetch(`${g}${path}`, { method: "POST", headers: { Authorization: `Bearer ${tenant.apiKey}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const spark = (method: string, body: string) => fetch(`${g}/spark/${method}`, { method: "POST", headers: { "X-Spark-Secret": tenant.sparkCallbackSecret, "Content-Type": "application/json" }, body });
  await api("/v1/webhook-endpoints", { url: `http://127.0.0.1:${RECEIVER_PORT}/hooks` });

  console.log(`playing ${SESSIONS} sessions (notify, stop, settle; webhooks delivered)…`);
  const played = Date.now();
  let failed = 0;
  await pool(SESSIONS, CONCURRENCY, async (i) => {
    const id = crypto.randomUUID();
    const nayaxId = 3_000_000_000 + i;
    await fetch(`${tenant.simulatorUrl}/_sim/authorizations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ nayaxTransactionId: nayaxId, sparkTransactionId: id, siteId: 9000, amount: "30.00" }),
    });
    const common = `"HwSerial":"0434334921100366","MachineId":${71_000_000 + (i % 50)},"CardHash":"7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6","ServiceStationNumber":"${i}"`;
    for (const [method, body] of [
      ["TransactionNotify", `{${common},"NayaxTransactionId":${nayaxId},"SparkTransactionId":"${id}","Amount":30.00,"CardLast4Digits":"1234","SiteId":9000,"MachineAuTime":"20240205194122328"}`],
      ["StopCallback", `{${common},"StopSiteId":9000,"SparkTransactionId":"${id}","NayaxTransactionId":${nayaxId}}`],
    ] as const) {
      const res = await spark(method, body);
      const text = await res.text();
      if (res.status !== 200 || !text.includes('"Approved"')) {
        failed++;
        if (failed <= 3) console.log(`${method} of ${id}: ${res.status} ${text.slice(0, 300)}`);
      }
    }
    let settled = await api(`/v1/sessions/${id}/settle`, { amount: "12.25" });
    // The tenant API's rate limit (300 requests per 10 s) is near this pace: wait as told, and settle.
    for (let tries = 0; settled.status === 429 && tries < 5; tries++) {
      await new Promise((r) => setTimeout(r, Number(settled.headers.get("Retry-After") ?? 10) * 1000));
      settled = await api(`/v1/sessions/${id}/settle`, { amount: "12.25" });
    }
    if (settled.status !== 200) {
      failed++;
      if (failed <= 3) console.log(`settle of ${id}: ${settled.status} ${(await settled.text()).slice(0, 300)}`);
    }
  });
  console.log(`played in ${((Date.now() - played) / 1000).toFixed(1)} s (${failed} callbacks or settles failed)`);
  // Let every session's history reach D1, and its webhooks go out.
  await new Promise((r) => setTimeout(r, 15_000));

  const d1Bytes = d1Size();
  console.log(`D1 holds ${(d1Bytes / 2 ** 20).toFixed(1)} MiB: about ${(d1Bytes / SESSIONS / 1024).toFixed(1)} KiB per session (tenants and settings included)`);

  const runs: Array<{ deleted: number; skipped: number; more: boolean; ms: number }> = [];
  for (let n = 0; n < MAX_RUNS; n++) {
    const before = output.length;
    const res = await fetch(`${g}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/10 * * * *")}`, { signal: AbortSignal.timeout(120_000) }).catch(async (error: unknown) => {
      // Say what still answers: the Worker alone, D1 through the API, a session object.
      const probe = async (path: string) => {
        const t0 = Date.now();
        const r = await fetch(`${g}${path}`, { headers: { Authorization: `Bearer ${tenant.apiKey}` }, signal: AbortSignal.timeout(10_000) }).then((x) => String(x.status), (e: unknown) => String(e));
        return `${path}: ${r} in ${Date.now() - t0} ms`;
      };
      console.log(`run ${n + 1}: the scheduled handler did not answer (${String(error)}); ${await probe("/health")}; ${await probe("/v1/sessions?limit=1")}; ${await probe("/v1/webhook-endpoints")}`);
      throw error;
    });
    if (!res.ok) throw new Error(`scheduled handler answered ${res.status}`);
    const line = await until("the retention log line", 600_000, () => {
      const match = output.slice(before).match(/\{[^\n]*"message":"session retention"[^\n]*\}/);
      return match ? (JSON.parse(match[0]) as { deleted: number; skipped: number; more: boolean; ms: number }) : undefined;
    });
    runs.push(line);
    console.log(`run ${n + 1}: deleted ${line.deleted}, skipped ${line.skipped}, ${line.ms} ms, more: ${line.more}`);
    if (!line.more && line.deleted === 0) break;
  }
  const deleted = runs.reduce((sum, r) => sum + r.deleted, 0);
  const busy = runs.filter((r) => r.deleted > 0);
  const rate = busy.reduce((sum, r) => sum + r.deleted, 0) / (busy.reduce((sum, r) => sum + r.ms, 0) / 1000);
  console.log(
    `\n${deleted} of ${SESSIONS} sessions deleted in ${busy.length} run(s); ${Math.round(rate)} sessions/s while deleting` +
      `\nmachine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  receiver.close();
}

/** Bytes of the local D1 database files (the database and its write-ahead log). */
function d1Size(): number {
  const dir = join(stateDir, "v3", "d1");
  let total = 0;
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.sqlite(-wal)?$/.test(entry.name)) total += statSync(full).size;
    }
  };
  walk(dir);
  return total;
}

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(error);
    console.error(output.split("\n").filter((line) => !line.includes('"message":"spark callback"') && !line.startsWith("POST /api/")).slice(-30).join("\n"));
    process.exit(1);
  });
