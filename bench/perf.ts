/**
 * Native CPU samples of the local runtime (workerd) with Linux `perf`, grouped by what the
 * runtime was doing: creating a new object's files, committing storage, running SQL, calling
 * between objects, running JavaScript. A JavaScript profile shows none of the first three, and
 * locally they are most of a callback's cost. Used by `PERF=1 npm run bench:profile`.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";

/** Samples per second: enough for a 10-second window, light enough not to slow the runtime much. */
const FREQUENCY = 499;

/** Whole-stack rules first: everything done while creating an object or keeping an alarm counts there. */
const ENCLOSING: Array<[string, RegExp]> = [
  ["new object (its SQLite files created and opened)", /Worker::Actor::Actor\b/],
  ["alarms (the local alarm store)", /AlarmScheduler/],
];
/** Then the frame nearest the leaf that says what it is. */
const INNERMOST: Array<[string, RegExp]> = [
  ["storage commits (WAL writes, fsync)", /pagerWalFrames|sqlite3PagerCommitPhaseOne|do_fsync|pager_end_transaction|syncJournal/],
  ["SQL (prepare, step)", /SqliteDatabase::(Query|prepareSql)|sqlite3_step|sqlite3Prepare/],
  ["calls between Worker and objects (RPC serialization)", /JsRpc|capnp::/],
  ["outbound HTTP (webhooks)", /HttpClient|Fetcher::/],
  ["JavaScript", /Builtins_|\[JIT\]|v8::internal/],
];

/** The category of one sample's stack (leaf first). */
function categoryOf(frames: string[]): string {
  const whole = frames.join("\n");
  for (const [name, pattern] of ENCLOSING) if (pattern.test(whole)) return name;
  for (const frame of frames) for (const [name, pattern] of INNERMOST) if (pattern.test(frame)) return name;
  return "other (event loop, I/O, allocation)";
}

export function perfAvailable(): boolean {
  try {
    execFileSync("perf", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Starts sampling `pid` into `file` for `seconds`; resolves when perf has written it. */
export function recordNative(pid: number, seconds: number, file: string): Promise<void> {
  return exited(spawn("perf", ["record", "-F", String(FREQUENCY), "-g", "-p", String(pid), "-o", file, "--", "sleep", String(seconds)], { stdio: "ignore" }));
}

/** Resolves when `child` has exited (its output written); rejects when it could not start. */
function exited(child: ChildProcess): Promise<void> {
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("exit", () => done());
  });
}

/** Share of samples per category, largest first. */
export function summarizeNative(file: string): Array<[string, number]> {
  const script = execFileSync("perf", ["script", "-i", file], { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] }).toString("utf8");
  const counts = new Map<string, number>();
  let total = 0;
  for (const sample of script.split("\n\n")) {
    const frames = sample.trim().split("\n").slice(1);
    if (frames.length === 0) continue;
    total++;
    const category = categoryOf(frames);
    counts.set(category, (counts.get(category) ?? 0) + 1);
  }
  return [...counts].map(([name, n]): [string, number] => [name, total === 0 ? 0 : Math.round((1000 * n) / total) / 10]).sort((a, b) => b[1] - a[1]);
}

/**
 * Traces when the runtime's main thread asks the kernel for ready sockets (epoll) for `seconds`:
 * between two such calls the thread only runs work already queued, so a request that arrives
 * meanwhile waits, whatever it is. Resolves when the trace is written.
 */
export function recordPolls(tid: number, seconds: number, file: string): Promise<void> {
  return exited(spawn("timeout", ["-s", "INT", String(seconds), "perf", "trace", "-e", "epoll_wait,epoll_pwait", "-t", String(tid), "-o", file], { stdio: "ignore" }));
}

/** One traced wait for ready sockets: when it started (ms into the trace), how long it took, what it answered. */
interface Poll {
  at: number;
  ms: number;
  ready: number;
  max: number;
}

/** The polls of a `recordPolls` trace, and the stretches between them when the thread ran without looking at its sockets. */
export function summarizePolls(file: string): { polls: number; full: number; stretches: number[]; longest: Array<[number, number]> } {
  const polls: Poll[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([\d.]+) \(\s*([\d.]+) ms\): .*epoll_p?wait\(.*maxevents: (\d+).*\) = (\d+)/.exec(line);
    if (m) polls.push({ at: Number(m[1]), ms: Number(m[2]), max: Number(m[3]), ready: Number(m[4]) });
  }
  const stretches: number[] = [];
  const longest: Array<[number, number]> = [];
  for (let i = 1; i < polls.length; i++) {
    const from = polls[i - 1]!.at + polls[i - 1]!.ms;
    const stretch = polls[i]!.at - from;
    stretches.push(stretch);
    longest.push([from, stretch]);
  }
  longest.sort((a, b) => b[1] - a[1]);
  return { polls: polls.length, full: polls.filter((p) => p.ready === p.max).length, stretches: stretches.sort((a, b) => a - b), longest: longest.slice(0, 5) };
}
