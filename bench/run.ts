/**
 * `npm run bench`: measures the gateway against a baseline Worker in the same run.
 *
 * 1. Baseline (bench/baseline): one Durable Object write + one D1 insert per callback.
 * 2. The gateway (`npm start`, with the Spark simulator and a loopback webhook receiver):
 *    a. TransactionNotify on new sessions, same count and concurrency as the baseline;
 *    b. full sessions: TransactionNotify → webhook → StopCallback → webhook → settle → webhook.
 * Prints ratios gateway / baseline and writes bench/results/latest.{json,svg}.
 *
 *   N=1500 C=16 SESSIONS=300 npm run bench
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { load, oneDecimal, percentile, pool } from "./stats";
import type { LoadResult } from "./stats";
import { renderChart } from "./chart";
import { demoTenantFile } from "../scripts/demo-tenant";
import type { DemoTenant } from "../scripts/demo-tenant";

/** Callbacks per load phase; bounded well under the ~10,000 new Durable Objects a minute local dev can hold. */
const N = Math.min(Number(process.env.N ?? 1500), 4000);
/** Requests in flight at once. */
const C = Number(process.env.C ?? 16);
/** Full sessions played end to end. */
const SESSIONS = Math.min(Number(process.env.SESSIONS ?? 300), 2000);
/** Rounds of baseline/gateway measurement, interleaved so drift hits both alike; medians are reported. */
const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** Give up on any one wait after this long, so the benchmark always ends. */
const WAIT_MS = 30_000;

const BASELINE_PORT = 8870;
const GATEWAY_PORT = 8880;
const SIM_PORT = GATEWAY_PORT + 3;
const RECEIVER_PORT = 8890;
const bin = (name: string) => resolve("node_modules/.bin", name);

const children: ChildProcess[] = [];
const stopAll = () => children.forEach((c) => c.kill("SIGTERM"));
process.on("exit", stopAll);
process.on("SIGINT", () => process.exit(130));

function start(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, ...env }, detached: true });
  children.push(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not come up`);
}

const notifyBody = (id: string, siteId: number, nayaxId: number, machineId: number) =>
  `{"HwSerial":"0434334921100366","MachineId":${machineId},"NayaxTransactionId":${nayaxId},"SparkTransactionId":"${id}","Amount":30.00,"CardLast4Digits":"1234","CardHash":"7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6","CardUid":"1288528281124927","ServiceStationNumber":"1","SiteId":${siteId},"MachineAuTime":"20240205194122328"}`;

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body });
  return { status: res.status, text: await res.text() };
}

async function measureBaseline(stateDir: string): Promise<LoadResult> {
  const child = start(bin("wrangler"), ["dev", "-c", "bench/baseline/wrangler.toml", "--ip", "127.0.0.1", "--port", String(BASELINE_PORT), "--persist-to", stateDir, "--inspector-port", "18870", "--show-interactive-dev-session=false", "--log-level", "warn"], { WRANGLER_SEND_METRICS: "false" });
  try {
    await waitFor(`http://127.0.0.1:${BASELINE_PORT}/`).catch(() => undefined);
    await post(`http://127.0.0.1:${BASELINE_PORT}/`, notifyBody(crypto.randomUUID(), 1, 1, 1));
    return await load(N, C, async (i) => {
      const res = await post(`http://127.0.0.1:${BASELINE_PORT}/`, notifyBody(crypto.randomUUID(), 1, 4_000_000_000 + i, 71_000_000 + (i % 500)));
      return res.status === 200;
    });
  } finally {
    await stop(child);
  }
}

/** A loopback receiver noting when each (session, event type) arrived. */
function receiver() {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, Array<(at: number) => void>>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      res.writeHead(204).end();
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { type: string; data: { session?: { id: string } } };
        const key = `${event.data.session?.id}:${event.type}`;
        if (!arrivals.has(key)) arrivals.set(key, at);
        for (const w of waiters.get(key) ?? []) w(at);
        waiters.delete(key);
      } catch {
        // not an event
      }
    });
  });
  return {
    listen: () => new Promise<void>((r) => server.listen(RECEIVER_PORT, "127.0.0.1", r)),
    close: () => server.close(),
    arrival(sessionId: string, type: string): Promise<number> {
      const key = `${sessionId}:${type}`;
      const seen = arrivals.get(key);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolveArrival, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} for ${sessionId}`)), WAIT_MS);
        waiters.set(key, [...(waiters.get(key) ?? []), (at) => (clearTimeout(timer), resolveArrival(at))]);
      });
    },
  };
}

interface GatewayResult {
  notify: LoadResult;
  notifyToWebhook: { p50Ms: number; p99Ms: number };
  sessions: {
    count: number;
    failures: number;
    sessionsPerSecond: number;
    steps: Record<string, { p50Ms: number; p99Ms: number }>;
  };
}

async function measureGateway(stateDir: string, hooks: ReturnType<typeof receiver>, round: number): Promise<GatewayResult> {
  // Per-callback log lines off, as the baseline writes none (LOG_LEVEL is documented in the README).
  const child = start(bin("tsx"), ["scripts/start.ts"], { PORT: String(GATEWAY_PORT), STATE_DIR: stateDir, SIM_PORT: String(SIM_PORT), DEMO_TENANT: "1", LOG_LEVEL: "warn" });
  const gateway = `http://127.0.0.1:${GATEWAY_PORT}`;
  try {
    await waitFor(`${gateway}/health`);
    let tenant: DemoTenant | null = null;
    for (let i = 0; i < 100 && !tenant; i++) {
      try {
        tenant = JSON.parse(readFileSync(demoTenantFile(stateDir), "utf8")) as DemoTenant;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    if (!tenant) throw new Error("demo tenant was not seeded");
    const auth = { Authorization: `Bearer ${tenant.apiKey}` };
    const spark = { "X-Spark-Secret": tenant.sparkCallbackSecret };
    const endpoint = await post(`${gateway}/v1/webhook-endpoints`, JSON.stringify({ url: `http://127.0.0.1:${RECEIVER_PORT}/hooks` }), auth);
    if (endpoint.status !== 201) throw new Error(`webhook endpoint: ${endpoint.text}`);
    // Warm the isolate and caches once.
    await post(`${gateway}/spark/TransactionNotify`, notifyBody(crypto.randomUUID(), 9000, 1, 71234996), spark);

    const sentAt = new Map<string, number>();
    const ids: string[] = [];
    const notify = await load(N, C, async (i) => {
      const id = crypto.randomUUID();
      ids.push(id);
      sentAt.set(id, performance.now());
      const res = await post(`${gateway}/spark/TransactionNotify`, notifyBody(id, 9000, 4_100_000_000 + round * 10_000_000 + i, 71_000_000 + (i % 500)), spark);
      return res.status === 200 && res.text.includes('"Approved"');
    });
    const webhookLatency: number[] = [];
    await Promise.all(ids.map(async (id) => webhookLatency.push((await hooks.arrival(id, "session.authorized").catch(() => Number.NaN)) - sentAt.get(id)!)));
    const sortedWebhook = webhookLatency.filter(Number.isFinite).sort((a, b) => a - b);

    const steps: Record<string, number[]> = { TransactionNotify: [], "notify→webhook": [], StopCallback: [], "stop→webhook": [], settle: [], "settle→webhook": [] };
    let failures = 0;
    const started = performance.now();
    await pool(SESSIONS, C, async (i) => {
      const id = crypto.randomUUID();
      const nayaxId = 4_200_000_000 + round * 10_000_000 + i;
      const machineId = 72_000_000 + i;
      try {
        await post(`http://127.0.0.1:${SIM_PORT}/_sim/authorizations`, JSON.stringify({ nayaxTransactionId: nayaxId, sparkTransactionId: id, siteId: 9000, amount: "30.00" }));
        let t0 = performance.now();
        const n = await post(`${gateway}/spark/TransactionNotify`, notifyBody(id, 9000, nayaxId, machineId), spark);
        steps.TransactionNotify!.push(performance.now() - t0);
        steps["notify→webhook"]!.push((await hooks.arrival(id, "session.authorized")) - t0);
        t0 = performance.now();
        const s = await post(`${gateway}/spark/StopCallback`, JSON.stringify({ StopSiteId: 9000, MachineId: machineId, HwSerial: "0434334921100366", CardLast4Digits: "1234", CardHash: "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6", SparkTransactionId: id, NayaxTransactionId: nayaxId, CardUid: null, MachineAuTime: "20240205194122328", ServiceStationNumber: "1" }), spark);
        steps.StopCallback!.push(performance.now() - t0);
        steps["stop→webhook"]!.push((await hooks.arrival(id, "session.stop_requested")) - t0);
        t0 = performance.now();
        const settled = await post(`${gateway}/v1/sessions/${id}/settle`, JSON.stringify({ amount: "12.25" }), auth);
        steps.settle!.push(performance.now() - t0);
        steps["settle→webhook"]!.push((await hooks.arrival(id, "session.settled")) - t0);
        if (n.status !== 200 || s.status !== 200 || settled.status !== 200) failures++;
      } catch {
        failures++;
      }
    });
    const seconds = (performance.now() - started) / 1000;
    const stepStats = Object.fromEntries(
      Object.entries(steps).map(([name, values]) => {
        const sorted = values.sort((a, b) => a - b);
        return [name, { p50Ms: oneDecimal(percentile(sorted, 50)), p99Ms: oneDecimal(percentile(sorted, 99)) }];
      }),
    );
    return {
      notify,
      notifyToWebhook: { p50Ms: oneDecimal(percentile(sortedWebhook, 50)), p99Ms: oneDecimal(percentile(sortedWebhook, 99)) },
      sessions: { count: SESSIONS, failures, sessionsPerSecond: oneDecimal(SESSIONS / seconds), steps: stepStats },
    };
  } finally {
    await stop(child);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * Writes out the files the previous phase left dirty, so the kernel's delayed writeback of one
 * phase (thousands of SQLite files for the gateway) does not land in the next one's measurement.
 */
function settleDisk(): void {
  execFileSync("sync");
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "spark-bench-"));
  const hooks = receiver();
  await hooks.listen();
  const baselines: LoadResult[] = [];
  const gateways: GatewayResult[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      console.error(`round ${round + 1}/${ROUNDS}: baseline`);
      settleDisk();
      baselines.push(await measureBaseline(join(root, `baseline-${round}`)));
      console.error(`round ${round + 1}/${ROUNDS}: gateway`);
      settleDisk();
      gateways.push(await measureGateway(join(root, `gateway-${round}`), hooks, round));
    }
  } finally {
    hooks.close();
    stopAll();
    rmSync(root, { recursive: true, force: true });
  }
  const pick = (f: (r: LoadResult) => number, rs: LoadResult[]) => median(rs.map(f));
  const baseline = { requestsPerSecond: pick((r) => r.requestsPerSecond, baselines), p50Ms: pick((r) => r.p50Ms, baselines), p99Ms: pick((r) => r.p99Ms, baselines) };
  const notifies = gateways.map((g) => g.notify);
  const gateway = { requestsPerSecond: pick((r) => r.requestsPerSecond, notifies), p50Ms: pick((r) => r.p50Ms, notifies), p99Ms: pick((r) => r.p99Ms, notifies) };
  const twoDecimals = (n: number) => Math.round(n * 100) / 100;
  const ratios = {
    throughput: twoDecimals(gateway.requestsPerSecond / baseline.requestsPerSecond),
    p50: twoDecimals(gateway.p50Ms / baseline.p50Ms),
    p99: twoDecimals(gateway.p99Ms / baseline.p99Ms),
  };
  // Each round's own ratios too: the rounds run back to back, so they show how much drift there was.
  const roundRatios = baselines.map((b, i) => ({
    throughput: twoDecimals(gateways[i]!.notify.requestsPerSecond / b.requestsPerSecond),
    p99: twoDecimals(gateways[i]!.notify.p99Ms / b.p99Ms),
  }));
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: { N, C, SESSIONS, ROUNDS },
    baseline: { median: baseline, rounds: baselines },
    gateway: { notify: gateway, rounds: gateways },
    ratios,
    roundRatios,
    targets: { throughput: ">= 0.8", p99: "<= 1.3" },
    met: ratios.throughput >= 0.8 && ratios.p99 <= 1.3,
  };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify(result, null, 2) + "\n");
  writeFileSync("bench/results/latest.svg", renderChart(result));
  const last = gateways[gateways.length - 1]!;
  console.log(`machine: ${result.machine.cpus} × ${result.machine.cpu}, ${result.machine.memoryGiB} GiB, node ${result.machine.node}; N=${N} C=${C} sessions=${SESSIONS} rounds=${ROUNDS}`);
  console.log(`baseline  TransactionNotify: ${baseline.requestsPerSecond} req/s, p50 ${baseline.p50Ms} ms, p99 ${baseline.p99Ms} ms`);
  console.log(`gateway   TransactionNotify: ${gateway.requestsPerSecond} req/s, p50 ${gateway.p50Ms} ms, p99 ${gateway.p99Ms} ms`);
  console.log(`gateway   callback → webhook received: p50 ${last.notifyToWebhook.p50Ms} ms, p99 ${last.notifyToWebhook.p99Ms} ms`);
  console.log(`gateway   full sessions: ${last.sessions.sessionsPerSecond}/s, ${last.sessions.failures} failed; steps ${JSON.stringify(last.sessions.steps)}`);
  console.log(`ratios per round: throughput ${roundRatios.map((r) => r.throughput).join(", ")}; p99 ${roundRatios.map((r) => r.p99).join(", ")}`);
  console.log(`ratio gateway/baseline: throughput ${ratios.throughput} (target ≥ 0.8), p50 ${ratios.p50}, p99 ${ratios.p99} (target ≤ 1.3) → ${result.met ? "met" : "NOT met"}`);
}

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
