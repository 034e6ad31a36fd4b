/**
 * `npm run bench`: the gateway against a baseline Worker, side by side in one run.
 *
 * The baseline (`bench/baseline/`) does only the irreducible work of a Spark callback: one
 * Durable Object write and one awaited D1 insert. The gateway runs as `npm start` runs it, at its
 * default settings (the per-callback log line on), with a loopback webhook endpoint receiving
 * every event. Both run at once; the load alternates between them in short slices, so drift on
 * the machine hits both alike. After each gateway slice the load waits until that slice's
 * webhooks arrived, so the gateway's follow-up work does not spill into the baseline's slice.
 *
 *   npm run bench                  TransactionNotify on new sessions at 8, 16, 32 and 64 in flight
 *   npm run bench -- --long        ten minutes at a steady rate, the gateway's memory sampled
 *
 * Settings (environment): CONCURRENCY (default "8,16,32,64"), SLICE_MS (2500), SLICES per side
 * and concurrency (4, after one warm-up slice each), RATE (requests/s of --long, default 30),
 * MINUTES (of --long, default 10). Results go to bench/results/ (JSON and SVG). STRETCHES=1
 * also records both runtimes' main threads with Linux `perf` at each concurrency (bench/perf.ts;
 * it slows both) and prints their time per request on and off the CPU, by what they were doing.
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { renderCharts } from "./chart";
import { Connections, notifyBody } from "./load";
import { IDLE, recordThread, threadTime } from "./perf";
import { cpuByRole, exitWhenDone, processCpu, processTree, scratch, workerRuntime } from "./processes";
import { oneDecimal, percentile } from "./stats";
import { waitForDemoTenant } from "../scripts/demo-tenant";

const LONG = process.argv.includes("--long");
const CONCURRENCY = (process.env.CONCURRENCY ?? "8,16,32,64").split(",").map(Number);
const SLICE_MS = Number(process.env.SLICE_MS ?? 2500);
const SLICES = Number(process.env.SLICES ?? 4);
const RATE = Number(process.env.RATE ?? 30);
const MINUTES = Number(process.env.MINUTES ?? 10);
/** The targets of the performance issue, at 16, 32 and 64 in flight. */
const TARGETS = { throughput: 0.8, p99: 1.3, at: [16, 32, 64] };
/** Give up on any one wait after this long, so the benchmark always ends. */
const WAIT_MS = 30_000;

const BASELINE_PORT = 8870;
const GATEWAY_PORT = 8880;
const RECEIVER_PORT = 8890;
const bin = (name: string) => resolve("node_modules/.bin", name);
const { root, children } = scratch("spark-bench-");

const connections = new Connections();
const post = connections.post.bind(connections);

function start(command: string, args: string[], env: Record<string, string>, logName: string): ChildProcess {
  // Kept after the run (bench/results/*.log, not committed): a failed request is explained there.
  mkdirSync("bench/results", { recursive: true });
  const log = createWriteStream(join("bench/results", logName));
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, detached: true });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  children.push(child);
  return child;
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

/** The loopback webhook receiver: when each session's `session.authorized` arrived. */
function receiver() {
  const arrivals = new Map<string, number>();
  const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      res.writeHead(204).end();
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { type: string; data: { session?: { id: string } } };
        if (event.type === "session.authorized" && event.data.session && !arrivals.has(event.data.session.id)) arrivals.set(event.data.session.id, at);
      } catch {
        // not an event
      }
    });
  });
  return {
    arrivals,
    listen: () => new Promise<void>((r) => server.listen(RECEIVER_PORT, "127.0.0.1", r)),
    close: () => server.close(),
    /** Waits until every one of `ids` arrived (bounded). */
    async waitAll(ids: string[]): Promise<void> {
      const deadline = Date.now() + WAIT_MS;
      while (Date.now() < deadline && ids.some((id) => !arrivals.has(id))) await new Promise((r) => setTimeout(r, 20));
    },
  };
}

const failureSamples: string[] = [];
/** Keeps the first few failed answers, printed at the end so a failure is never just a number. */
function noteFailure(side: string, res: { status: number; text: string }): void {
  if (failureSamples.length < 5) failureSamples.push(`${side}: ${res.status} ${res.text.slice(0, 200)}`);
}

interface Slice {
  latencies: number[];
  failures: number;
  ms: number;
}

/** `c` clients sending back to back for `ms`; in-flight requests finish before it returns. */
async function slice(c: number, ms: number, send: () => Promise<boolean>): Promise<Slice> {
  connections.fresh();
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const until = started + ms;
  await Promise.all(
    Array.from({ length: c }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const ok = await send().catch((error: unknown) => (noteFailure("connection", { status: 0, text: String(error) }), false));
        latencies.push(performance.now() - t0);
        if (!ok) failures++;
      }
    }),
  );
  return { latencies, failures, ms: performance.now() - started };
}

interface Side {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
}

function summarize(slices: Slice[]): Side {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = slices.reduce((sum, s) => sum + s.ms, 0) / 1000;
  const failures = slices.reduce((sum, s) => sum + s.failures, 0);
  return {
    // Only answered requests count: a side that fails fast must not look fast.
    requestsPerSecond: oneDecimal((latencies.length - failures) / seconds),
    p50Ms: oneDecimal(percentile(latencies, 50)),
    p99Ms: oneDecimal(percentile(latencies, 99)),
    requests: latencies.length,
    failures,
  };
}

/** Resident memory (MiB) of a process and all its descendants (the gateway: node, wrangler, workerd). */
function treeMemoryMiB(pid: number): number {
  return Math.round(processTree(pid).reduce((sum, p) => sum + p.rssBytes, 0) / 2 ** 20);
}

async function startGateway(hooks: ReturnType<typeof receiver>) {
  const stateDir = join(root, "gateway");
  // Default settings: no LOG_LEVEL, so the per-callback log line is written as in production.
  const child = start(bin("tsx"), ["scripts/start.ts"], { PORT: String(GATEWAY_PORT), STATE_DIR: stateDir, DEMO_TENANT: "1" }, "gateway.log");
  const gateway = `http://127.0.0.1:${GATEWAY_PORT}`;
  await waitFor(`${gateway}/health`);
  const tenant = await waitForDemoTenant(stateDir, 40_000);
  const endpoint = await post(`${gateway}/v1/webhook-endpoints`, JSON.stringify({ url: `http://127.0.0.1:${RECEIVER_PORT}/hooks` }), { Authorization: `Bearer ${tenant.apiKey}` });
  if (endpoint.status !== 201) throw new Error(`webhook endpoint: ${endpoint.text}`);
  let nayax = 4_100_000_000;
  const sent = new Map<string, number>();
  const notify = async (): Promise<boolean> => {
    const id = crypto.randomUUID();
    const n = nayax++;
    sent.set(id, performance.now());
    const res = await post(`${gateway}/spark/TransactionNotify`, notifyBody({ id, siteId: 9000, nayaxId: n, machineId: 71_000_000 + (n % 500) }), { "X-Spark-Secret": tenant!.sparkCallbackSecret });
    const ok = res.status === 200 && res.text.includes('"Approved"');
    if (!ok) noteFailure("gateway", res);
    return ok;
  };
  // Warm the isolate and its caches.
  await notify();
  await hooks.waitAll([...sent.keys()]);
  return { child, notify, sent };
}

async function startBaseline() {
  const child = start(
    bin("wrangler"),
    ["dev", "-c", "bench/baseline/wrangler.toml", "--ip", "127.0.0.1", "--port", String(BASELINE_PORT), "--persist-to", join(root, "baseline"), "--inspector-port", "18870", "--show-interactive-dev-session=false", "--log-level", "warn"],
    { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    "baseline.log",
  );
  await waitFor(`http://127.0.0.1:${BASELINE_PORT}/`);
  let nayax = 4_000_000_000;
  const notify = async (): Promise<boolean> => {
    const n = nayax++;
    const res = await post(`http://127.0.0.1:${BASELINE_PORT}/`, notifyBody({ id: crypto.randomUUID(), siteId: 1, nayaxId: n, machineId: 71_000_000 + (n % 500) }));
    if (res.status !== 200) noteFailure("baseline", res);
    return res.status === 200;
  };
  await notify();
  return { child, notify };
}

/** Records the main thread of the runtime that runs `child`'s Worker and objects, until stopped. */
function recordRuntime(child: ChildProcess, file: string) {
  const runtime = workerRuntime(child.pid!);
  if (!runtime) throw new Error("STRETCHES=1: the Worker's runtime was not found");
  const recording = recordThread(runtime.pid, file);
  return {
    /** "on the CPU 4.1 ms (…); off it, blocked 1.9 ms (…)" per request, `requests` being every request sent meanwhile. */
    stop: async (requests: number): Promise<string> => {
      await recording.stop();
      const { onCpu, blocked } = threadTime(file, runtime.pid);
      blocked.delete(IDLE);
      const line = (by: Map<string, number>) => {
        const rows = [...by].sort((a, b) => b[1] - a[1]).filter(([, ms]) => ms / requests >= 0.01);
        return `${twoDecimals([...by.values()].reduce((a, b) => a + b, 0) / requests)} ms (${rows.map(([name, ms]) => `${name} ${twoDecimals(ms / requests)}`).join(", ")})`;
      };
      return `on the CPU ${line(onCpu)}; off it, blocked ${line(blocked)}`;
    },
  };
}

function addInto(sum: Map<string, number>, add: Map<string, number>): void {
  for (const [role, ms] of add) sum.set(role, (sum.get(role) ?? 0) + ms);
}

/** "7.9 workerd (…), 2.1 …": CPU per request by process role, largest first, with the total. */
function perRequest(cpu: Map<string, number>, requests: number): string {
  const rows = [...cpu].filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]);
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
  return `${oneDecimal(total / requests)} in all = ` + rows.map(([role, ms]) => `${oneDecimal(ms / requests)} ${role}`).join(", ");
}

const machine = () => ({ cpus: cpus().length, cpu: cpus()[0]?.model.trim() ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version });
const twoDecimals = (n: number) => Math.round(n * 100) / 100;

async function curve(): Promise<void> {
  const hooks = receiver();
  await hooks.listen();
  const baseline = await startBaseline();
  const gateway = await startGateway(hooks);
  const results: Array<{ concurrency: number; baseline: Side; gateway: Side & { webhookP50Ms: number; webhookP99Ms: number }; ratios: { throughput: number; p99: number } }> = [];
  for (const c of CONCURRENCY) {
    const b: Slice[] = [];
    const g: Slice[] = [];
    const ids: string[] = [];
    const bCpu = new Map<string, number>();
    const gCpu = new Map<string, number>();
    const threads = process.env.STRETCHES === "1" ? { b: recordRuntime(baseline.child, join(root, `baseline-${c}.perf`)), g: recordRuntime(gateway.child, join(root, `gateway-${c}.perf`)) } : null;
    let sent = { b: 0, g: 0 };
    for (let k = -1; k < SLICES; k++) {
      execFileSync("sync");
      const bBefore = processCpu(baseline.child.pid!);
      const bs = await slice(c, SLICE_MS, baseline.notify);
      const bAfter = processCpu(baseline.child.pid!);
      execFileSync("sync");
      const before = new Set(gateway.sent.keys());
      const gBefore = processCpu(gateway.child.pid!);
      const gs = await slice(c, SLICE_MS, gateway.notify);
      const mine = [...gateway.sent.keys()].filter((id) => !before.has(id));
      await hooks.waitAll(mine);
      // The gateway's CPU includes its follow-up work (webhooks, D1), read once the slice's webhooks arrived.
      const gAfter = processCpu(gateway.child.pid!);
      sent = { b: sent.b + bs.latencies.length, g: sent.g + gs.latencies.length };
      // The first slice of each side warms it up at this concurrency and is not counted.
      if (k >= 0) {
        b.push(bs);
        g.push(gs);
        ids.push(...mine);
        addInto(bCpu, cpuByRole(bBefore, bAfter));
        addInto(gCpu, cpuByRole(gBefore, gAfter));
      }
    }
    const webhook = ids
      .map((id) => (hooks.arrivals.get(id) ?? Number.NaN) - gateway.sent.get(id)!)
      .filter(Number.isFinite)
      .sort((x, y) => x - y);
    const bSide = summarize(b);
    const gSide = summarize(g);
    const row = {
      concurrency: c,
      baseline: bSide,
      gateway: { ...gSide, webhookP50Ms: oneDecimal(percentile(webhook, 50)), webhookP99Ms: oneDecimal(percentile(webhook, 99)) },
      ratios: { throughput: twoDecimals(gSide.requestsPerSecond / bSide.requestsPerSecond), p99: twoDecimals(gSide.p99Ms / bSide.p99Ms) },
    };
    results.push(row);
    console.log(`      CPU per request (ms) — baseline: ${perRequest(bCpu, bSide.requests)}; gateway: ${perRequest(gCpu, gSide.requests)}`);
    if (threads) {
      console.log(`      the runtime's thread per request (STRETCHES=1; ${sent.b} and ${sent.g} requests, warm-up included) — baseline: ${await threads.b.stop(sent.b)}`);
      console.log(`      gateway: ${await threads.g.stop(sent.g)}`);
    }
    console.log(
      `C=${String(c).padStart(2)}  baseline ${bSide.requestsPerSecond} req/s p50 ${bSide.p50Ms} p99 ${bSide.p99Ms} ms (${bSide.failures} failed) | gateway ${gSide.requestsPerSecond} req/s p50 ${gSide.p50Ms} p99 ${gSide.p99Ms} ms (${gSide.failures} failed), webhook p50 ${row.gateway.webhookP50Ms} ms | ratio throughput ${row.ratios.throughput} p99 ${row.ratios.p99}`,
    );
  }
  hooks.close();
  const met = results.filter((r) => TARGETS.at.includes(r.concurrency)).every((r) => r.ratios.throughput >= TARGETS.throughput && r.ratios.p99 <= TARGETS.p99);
  const result = { at: new Date().toISOString(), machine: machine(), settings: { CONCURRENCY, SLICE_MS, SLICES }, results, targets: TARGETS, met };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/latest.json", JSON.stringify(result, null, 2) + "\n");
  const caption = `TransactionNotify on new sessions, default settings, webhook on — ${result.machine.cpus} × ${result.machine.cpu}, ${result.at}`;
  writeFileSync(
    "bench/results/curve.svg",
    renderCharts(caption, [
      {
        title: "Throughput (requests/s)",
        xLabel: "requests in flight",
        yLabel: "requests/s",
        log2X: true,
        series: [
          { name: "baseline", color: "#9aa5b1", points: results.map((r) => [r.concurrency, r.baseline.requestsPerSecond]) },
          { name: "gateway", color: "#f38020", points: results.map((r) => [r.concurrency, r.gateway.requestsPerSecond]) },
        ],
      },
      {
        title: "p99 latency (ms)",
        xLabel: "requests in flight",
        yLabel: "ms",
        log2X: true,
        series: [
          { name: "baseline", color: "#9aa5b1", points: results.map((r) => [r.concurrency, r.baseline.p99Ms]) },
          { name: "gateway", color: "#f38020", points: results.map((r) => [r.concurrency, r.gateway.p99Ms]) },
        ],
      },
    ]),
  );
  console.log(`machine: ${result.machine.cpus} × ${result.machine.cpu}, ${result.machine.memoryGiB} GiB, node ${result.machine.node}`);
  for (const sample of failureSamples) console.log(`failed: ${sample}`);
  console.log(`targets at ${TARGETS.at.join(", ")} in flight: throughput ≥ ${TARGETS.throughput}, p99 ≤ ${TARGETS.p99} → ${met ? "met" : "NOT met"}`);
}

async function long(): Promise<void> {
  const hooks = receiver();
  await hooks.listen();
  const gateway = await startGateway(hooks);
  const windows: Array<{ minute: number; requests: number; failures: number; p50Ms: number; p99Ms: number; memoryMiB: number }> = [];
  const started = performance.now();
  const endAt = started + MINUTES * 60_000;
  const inFlight = new Set<Promise<void>>();
  let current: { latencies: number[]; failures: number } = { latencies: [], failures: 0 };
  let next = started;
  let windowEnd = started + 10_000;
  console.log(`steady ${RATE} requests/s for ${MINUTES} min; memory of the gateway's processes every 10 s`);
  while (performance.now() < endAt) {
    const now = performance.now();
    if (now >= windowEnd) {
      const sorted = [...current.latencies].sort((a, b) => a - b);
      const w = { minute: oneDecimal((windowEnd - started) / 60_000), requests: sorted.length, failures: current.failures, p50Ms: oneDecimal(percentile(sorted, 50)), p99Ms: oneDecimal(percentile(sorted, 99)), memoryMiB: treeMemoryMiB(gateway.child.pid!) };
      windows.push(w);
      console.log(`${w.minute.toFixed(1)} min: ${w.requests} requests, ${w.failures} failed, p50 ${w.p50Ms} ms, p99 ${w.p99Ms} ms, memory ${w.memoryMiB} MiB`);
      current = { latencies: [], failures: 0 };
      windowEnd += 10_000;
    }
    if (now >= next) {
      const bucket = current;
      const t0 = performance.now();
      const request = gateway
        .notify()
        .catch(() => false)
        .then((ok) => {
          bucket.latencies.push(performance.now() - t0);
          if (!ok) bucket.failures++;
        })
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
      next += 1000 / RATE;
    } else {
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, windowEnd) - now)));
    }
  }
  await Promise.all(inFlight);
  hooks.close();
  const result = { at: new Date().toISOString(), machine: machine(), settings: { RATE, MINUTES }, windows };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync("bench/results/long.json", JSON.stringify(result, null, 2) + "\n");
  writeFileSync(
    "bench/results/long.svg",
    renderCharts(`${RATE} TransactionNotify/s on new sessions for ${MINUTES} min, default settings, webhook on — ${result.machine.cpus} × ${result.machine.cpu}, ${result.at}`, [
      { title: "Memory of the gateway's processes (MiB)", xLabel: "minutes", yLabel: "MiB", series: [{ name: "RSS", color: "#f38020", points: windows.map((w) => [w.minute, w.memoryMiB]) }] },
      {
        title: "Latency per 10 s (ms)",
        xLabel: "minutes",
        yLabel: "ms",
        series: [
          { name: "p50", color: "#9aa5b1", points: windows.map((w) => [w.minute, w.p50Ms]) },
          { name: "p99", color: "#f38020", points: windows.map((w) => [w.minute, w.p99Ms]) },
        ],
      },
    ]),
  );
}

exitWhenDone((LONG ? long() : curve()));
