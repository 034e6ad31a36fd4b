/**
 * `npm run bench:profile`: where the gateway's time goes under load. Starts the gateway as
 * `npm start` does (default settings, a loopback webhook endpoint receiving every event), puts
 * TransactionNotify on new sessions on it at each CONCURRENCY for SECONDS, and meanwhile takes a
 * CPU profile of the Worker through its inspector (the session objects run in the same isolate).
 * Prints the functions that take the most time (self and total) and writes the profiles to
 * bench/results/profile-<C>.cpuprofile (open them in Chrome DevTools).
 *
 * With TIMINGS=1 the Worker adds `Server-Timing` stages to each answer (see src/lib/timing.ts),
 * and the script prints their percentiles among the slowest 1 % and the rest (with or without
 * the CPU profile): `queue` is the time from sending to the handler (the request carries
 * `X-Request-Start`), `return` what is left of the client's wait after the handler's stages. It also prints in which 250 ms windows the slowest 1 % started: a few
 * adjacent windows mean one stall, many mean queueing. Failed answers are counted, not timed. PROFILE=0 leaves
 * the inspector out (it slows the isolate); PERF=1 samples the runtime's native stacks with
 * Linux `perf` instead (bench/perf.ts), which shows what JavaScript profiles cannot: file
 * creation, storage commits, SQL. POLLS=1 traces (Linux `perf trace`) when the runtime's thread
 * asks the kernel for ready sockets: a request that arrived meanwhile waits for that, so the
 * longest stretches between two polls are stalls of every connection; STRETCHES=1 samples the
 * runtime's native stacks and its polls on one clock and prints what the thread ran during the
 * longest of those stretches. Each concurrency is measured after WARMUP_SECONDS (5) of load.
 *
 *   CONCURRENCY=32,64 SECONDS=15 npm run bench:profile
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { WebSocket } from "undici";
import { Connections, notifyBody } from "./load";
import { FREQUENCY, perfAvailable, recordNative, recordPolls, recordThread, summarizeNative, summarizePolls, summarizeStretches } from "./perf";
import type { Stretch } from "./perf";
import { exitWhenDone, processCpu, roleOf, scratch, workerRuntime } from "./processes";
import { oneDecimal, percentile } from "./stats";
import { waitForDemoTenant } from "../scripts/demo-tenant";

const CONCURRENCY = (process.env.CONCURRENCY ?? "32,64").split(",").map(Number);
const SECONDS = Number(process.env.SECONDS ?? 15);
/** Seconds of load before the first measurement, not counted. */
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 5);
const PORT = Number(process.env.PORT ?? 8900);
const RECEIVER_PORT = PORT + 30;
/** The slowest requests are placed in windows this long, to tell a stall from queueing. */
const TAIL_WINDOW_MS = 250;
/** Terminals the load spreads over (the tenant's stop index shards share them). */
const MACHINES = Number(process.env.MACHINES ?? 500);
const { root, children } = scratch("spark-profile-");

const connections = new Connections();
/** A POST, with the answer's Server-Timing header (TIMINGS=1). */
const post = async (url: string, body: string, headers: Record<string, string> = {}) => {
  const answer = await connections.post(url, body, headers);
  return { ...answer, timing: (answer.headers["server-timing"] as string | undefined) ?? null };
};

/** `c` clients sending back to back for `ms`. */
async function runFor(c: number, ms: number, send: () => Promise<unknown>): Promise<void> {
  const until = performance.now() + ms;
  await Promise.all(Array.from({ length: c }, async () => {
    while (performance.now() < until) await send();
  }));
}

/** A minimal Chrome DevTools Protocol client over the inspector's WebSocket. */
async function inspector(url: string) {
  // wrangler's inspector proxy accepts DevTools and localhost origins only.
  const ws = new WebSocket(url, { headers: { Origin: "http://localhost" } });
  await new Promise<void>((ready, fail) => {
    ws.addEventListener("open", () => ready());
    ws.addEventListener("error", (e) => fail(new Error(`inspector: ${String((e as { message?: string }).message ?? e)}`)));
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  return {
    send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const n = ++id;
      return new Promise<T>((done) => {
        pending.set(n, (r) => done(r as T));
        ws.send(JSON.stringify({ id: n, method, params }));
      });
    },
    close: () => ws.close(),
  };
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self and total time per function (by name and location), in ms, from a CPU profile. */
function summarizeProfile(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const file = f.url.split("/").slice(-2).join("/");
    return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
  };
  const selfBy = new Map<string, number>();
  const totalBy = new Map<string, number>();
  for (const [id, ms] of self) {
    selfBy.set(label(id), (selfBy.get(label(id)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const l = label(at);
      if (seen.has(l)) continue;
      seen.add(l);
      totalBy.set(l, (totalBy.get(l) ?? 0) + ms);
    }
  }
  const wall = (profile.endTime - profile.startTime) / 1000;
  const idle = [...selfBy].filter(([l]) => /^\((idle|program|garbage collector)\)/.test(l));
  return { wall, self: [...selfBy].sort((a, b) => b[1] - a[1]), total: [...totalBy].sort((a, b) => b[1] - a[1]), idle };
}

/** Parses `Server-Timing: route;dur=1.2, session;dur=3.4`. */
function stagesOf(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (header ?? "").split(",")) {
    const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** The Worker's own stages, one after the other (the object's stages are inside `session`). */
const HANDLER_STAGES = ["queue", "auth", "parse", "lookup", "session"];

/** Adds `return`: what the client waited beyond the handler's stages, i.e. the answer's way back. */
function withReturn(stages: Record<string, number>, ms: number): Record<string, number> {
  if (stages.queue === undefined) return stages;
  return { ...stages, return: ms - HANDLER_STAGES.reduce((sum, name) => sum + (stages[name] ?? 0), 0) };
}

async function main(): Promise<void> {
  // Longer than the Worker's idle connections live, so a delivery never races the close.
  const receiver = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => receiver.listen(RECEIVER_PORT, "127.0.0.1", r));
  const stateDir = join(root, "state");
  const child = spawn(resolve("node_modules/.bin/tsx"), ["scripts/start.ts"], {
    env: { ...process.env, PORT: String(PORT), STATE_DIR: stateDir, DEMO_TENANT: "1", ...(process.env.TIMINGS ? { TIMINGS: "1" } : {}) },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  children.push(child);
  const gateway = `http://127.0.0.1:${PORT}`;
  const tenant = await waitForDemoTenant(stateDir, 120_000);
  // WEBHOOK=0 measures without a webhook endpoint (to attribute cost; the default has one).
  if (process.env.WEBHOOK !== "0") await post(`${gateway}/v1/webhook-endpoints`, JSON.stringify({ url: `http://127.0.0.1:${RECEIVER_PORT}/hooks` }), { Authorization: `Bearer ${tenant.apiKey}` });
  // PROFILE=0 leaves the inspector out altogether (attached, it costs the isolate time itself).
  const profiling = process.env.PROFILE !== "0";
  const targets = profiling ? ((await (await fetch(`http://127.0.0.1:${PORT + 10_000}/json`)).json()) as Array<{ webSocketDebuggerUrl: string }>) : [];
  const cdp = profiling ? await inspector(targets[0]!.webSocketDebuggerUrl) : null;
  await cdp?.send("Profiler.enable");
  await cdp?.send("Profiler.setSamplingInterval", { interval: 200 });
  let nayax = 4_300_000_000;
  const notify = () => {
    const id = crypto.randomUUID();
    const n = nayax++;
    const body = notifyBody({ id, siteId: 9000, nayaxId: n, machineId: 71_000_000 + (n % MACHINES) });
    // With TIMINGS=1 the Worker measures from here to its handler as the `queue` stage.
    return post(`${gateway}/spark/TransactionNotify`, body, { "X-Spark-Secret": tenant.sparkCallbackSecret, "X-Request-Start": String(Date.now()) });
  };
  await notify();
  mkdirSync("bench/results", { recursive: true });
  // Warm up at the first concurrency (caches, the JIT, the index objects), not counted.
  await runFor(CONCURRENCY[0]!, WARMUP_SECONDS * 1000, notify);
  for (const c of CONCURRENCY) {
    if (cdp) await cdp.send("Profiler.start");
    // PERF=1, POLLS=1 and STRETCHES=1 look at the runtime that runs the Worker and its objects, over the same window.
    const worker = ["PERF", "POLLS", "STRETCHES"].some((name) => process.env[name] === "1") ? workerRuntime(child.pid!) : undefined;
    const perfFile = join(root, `perf-${c}.data`);
    const native = worker && process.env.PERF === "1" ? recordNative(worker.pid, SECONDS, perfFile) : null;
    const pollFile = join(root, `polls-${c}.txt`);
    const polls = worker && process.env.POLLS === "1" ? recordPolls(worker.pid, SECONDS, pollFile) : null;
    const stretchFile = join(root, `stretches-${c}.data`);
    const stretches = worker && process.env.STRETCHES === "1" ? recordThread(worker.pid, stretchFile) : null;
    const cpuBefore = processCpu(child.pid!);
    const benchBefore = process.cpuUsage();
    const samples: Array<{ at: number; ms: number; stages: Record<string, number> }> = [];
    const failures: string[] = [];
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: c }, async () => {
        while (performance.now() < until) {
          const t0 = performance.now();
          const res = await notify();
          // Only answered callbacks count, as in `npm run bench`; a failure is counted and sampled.
          if (res.status !== 200) failures.push(`${res.status} ${res.text.slice(0, 160)}`);
          else {
            const ms = performance.now() - t0;
            samples.push({ at: t0, ms, stages: withReturn(stagesOf(res.timing), ms) });
          }
        }
      }),
    );
    // Over the load's window only: once it ends the thread waits in polls, which are not stretches of work.
    const stretchesRecorded = stretches?.stop();
    const benchCpu = process.cpuUsage(benchBefore);
    const cpuAfter = processCpu(child.pid!);
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    console.log(`\n=== ${c} in flight: ${samples.length} requests in ${SECONDS} s (${oneDecimal(samples.length / SECONDS)}/s), p50 ${oneDecimal(percentile(sorted, 50))} ms, p99 ${oneDecimal(percentile(sorted, 99))} ms, ${failures.length} failed`);
    for (const failure of failures.slice(0, 3)) console.log(`failed: ${failure}`);
    // Whether the slowest requests come together (a stall of the runtime) or spread out (queueing).
    const windowOf = (at: number) => Math.floor((at - (until - SECONDS * 1000)) / TAIL_WINDOW_MS);
    const slowWindows = new Set(samples.filter((s) => s.ms >= percentile(sorted, 99)).map((s) => windowOf(s.at)));
    console.log(`slowest 1 %: started in ${slowWindows.size} of ${Math.ceil((SECONDS * 1000) / TAIL_WINDOW_MS)} windows of ${TAIL_WINDOW_MS} ms (${[...slowWindows].sort((x, y) => x - y).map((w) => (w * TAIL_WINDOW_MS) / 1000).join(", ")} s)`);
    const roles = new Map<string, number>();
    for (const [pid, after] of cpuAfter) roles.set(roleOf(after.command), (roles.get(roleOf(after.command)) ?? 0) + after.ms - (cpuBefore.get(pid)?.ms ?? 0));
    roles.set("this script (load and webhook receiver)", (benchCpu.user + benchCpu.system) / 1000);
    if (native) {
      await native;
      console.log(`native samples of the Worker's runtime (perf), by what it was doing:`);
      for (const [category, percent] of summarizeNative(perfFile)) console.log(`  ${String(percent).padStart(5)} %  ${category}`);
    } else if (process.env.PERF === "1") {
      console.log(perfAvailable() ? "PERF=1: the Worker's runtime was not found" : "PERF=1: perf is not installed");
    }
    if (polls) {
      await polls;
      const p = summarizePolls(pollFile);
      console.log(`socket polls of the Worker's runtime thread: ${p.polls} in ${SECONDS} s, ${p.full} of them answered the most ready sockets one poll takes; between polls p50 ${oneDecimal(percentile(p.stretches, 50))} ms, p99 ${oneDecimal(percentile(p.stretches, 99))} ms, longest ${p.longest.map(([at, ms]) => `${Math.round(ms)} ms at ${oneDecimal(at / 1000)} s`).join(", ")}`);
    }
    if (stretchesRecorded && worker) {
      await stretchesRecorded;
      const { polls: n, stretches: longest, whole } = summarizeStretches(stretchFile, worker.pid);
      const mix = (by: Map<string, number>, unit: string) => [...by].sort((a, b) => b[1] - a[1]).map(([name, k]) => `${name} ${Math.round(k)}${unit}`).join(", ") || "nothing";
      const show = (s: Stretch) => `on the CPU (samples): ${mix(s.samples, "")}; off it, blocked in: ${mix(s.blocked, " ms")}`;
      console.log(`the runtime thread's longest stretches without a socket poll (${n} polls; native samples at ${FREQUENCY} Hz):`);
      for (const s of longest) console.log(`  ${Math.round(s.ms)} ms at ${oneDecimal(s.at / 1000)} s: ${show(s)}`);
      console.log(`  the whole window (${oneDecimal(whole.ms / 1000)} s): ${show(whole)}`);
    }
    console.log(`CPU per request, by process (ms; ${samples.length} requests):`);
    for (const [role, ms] of [...roles].sort((a, b) => b[1] - a[1])) console.log(`  ${oneDecimal(ms / samples.length).toString().padStart(6)}  ${role}`);
    if (samples.some((s) => Object.keys(s.stages).length > 0)) {
      const cut = percentile(sorted, 99);
      const slow = samples.filter((s) => s.ms >= cut);
      const rest = samples.filter((s) => s.ms < cut);
      const names = [...new Set(samples.flatMap((s) => Object.keys(s.stages)))];
      console.log(`stages (ms; Server-Timing inside the Worker): slowest 1 % (${slow.length}) vs the rest, p50 / max`);
      for (const name of names) {
        const of = (set: typeof samples) => set.map((s) => s.stages[name] ?? 0).sort((a, b) => a - b);
        const a = of(slow);
        const b = of(rest);
        console.log(`  ${name.padEnd(12)} slow p50 ${oneDecimal(percentile(a, 50))} max ${oneDecimal(a.at(-1) ?? 0)} | rest p50 ${oneDecimal(percentile(b, 50))} p99 ${oneDecimal(percentile(b, 99))}`);
      }
    }
    if (!cdp) continue;
    const { profile } = await cdp.send<{ profile: CpuProfile }>("Profiler.stop");
    writeFileSync(`bench/results/profile-${c}.cpuprofile`, JSON.stringify(profile));
    const summary = summarizeProfile(profile);
    const busy = summary.wall - summary.idle.reduce((s, [, ms]) => s + ms, 0);
    console.log(`CPU profile: ${oneDecimal(summary.wall)} ms wall, ${oneDecimal(busy)} ms busy in the isolate (${Math.round((busy / summary.wall) * 100)} %)`);
    for (const [l, ms] of summary.idle) console.log(`  ${oneDecimal(ms).toString().padStart(9)} ms  ${l}`);
    console.log("top self time:");
    for (const [l, ms] of summary.self.filter(([l]) => !/^\((idle|program)\)/.test(l)).slice(0, 20)) console.log(`  ${oneDecimal(ms).toString().padStart(9)} ms  ${l}`);
    console.log("top total time:");
    for (const [l, ms] of summary.total.filter(([l]) => !/^\((root|idle|program)\)/.test(l)).slice(0, 25)) console.log(`  ${oneDecimal(ms).toString().padStart(9)} ms  ${l}`);
  }
  cdp?.close();
  receiver.close();
}

exitWhenDone(main());
