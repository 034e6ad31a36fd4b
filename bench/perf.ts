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
export const FREQUENCY = 499;

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

/** Time off the CPU in a poll for ready sockets: nothing to do. */
export const IDLE = "idle (waiting for sockets)";

/** Native samples, socket polls and switches off the CPU: what a thread did with its time. */
const THREAD_EVENTS = ["-e", "cpu-clock", "-F", String(FREQUENCY), "-e", "syscalls:sys_enter_epoll_wait", "-e", "syscalls:sys_enter_epoll_pwait", "-e", "sched:sched_switch"];

/**
 * Records `pid` with {@link THREAD_EVENTS} into `file` until `stop` (`STRETCHES=1`): its native
 * stacks, its main thread's polls for ready sockets and each time it leaves the CPU, on one clock.
 * `stop` resolves when perf has written the file.
 */
export function recordThread(pid: number, file: string): { stop: () => Promise<void> } {
  const perf = spawn("perf", ["record", "-g", ...THREAD_EVENTS, "-p", String(pid), "-o", file], { stdio: "ignore" });
  const done = exited(perf);
  return {
    stop: () => {
      perf.kill("SIGINT");
      return done;
    },
  };
}

/** A thread's time by category, in ms: on the CPU (from samples) and off it (blocked). */
export function threadTime(file: string, tid: number): { onCpu: Map<string, number>; blocked: Map<string, number> } {
  const { samples, blocked } = readThread(file, tid).tally(-Infinity, Infinity);
  return { onCpu: new Map([...samples].map(([name, n]) => [name, (n * 1000) / FREQUENCY])), blocked };
}

/**
 * One stretch between two polls: when it started (ms into the trace), how long, its samples on
 * the CPU by category, and the time (ms) it spent off the CPU by what it was blocked in.
 */
export interface Stretch {
  at: number;
  ms: number;
  samples: Map<string, number>;
  blocked: Map<string, number>;
}

/** A recorded thread's polls, its samples on the CPU, and its times off it, each with what it was doing (ms on one clock). */
function readThread(file: string, tid: number) {
  const script = execFileSync("perf", ["script", "-i", file, "-F", "tid,time,event,ip,sym"], { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] }).toString("utf8");
  const polls: number[] = [];
  const samples: Array<{ at: number; category: string }> = [];
  // Off the CPU from a switch until the thread's next event of any kind (within a sample's period).
  const blocks: Array<{ at: number; ms: number; category: string }> = [];
  let switched: { at: number; category: string } | null = null;
  for (const block of script.split("\n\n")) {
    const [head, ...frames] = block.trim().split("\n");
    const m = /^\s*(\d+)\s+([\d.]+):\s+(\S+):/.exec(head ?? "");
    if (!m || Number(m[1]) !== tid) continue;
    const at = Number(m[2]) * 1000;
    if (switched) blocks.push({ at: switched.at, ms: at - switched.at, category: switched.category });
    switched = null;
    const category = categoryOf(frames.map((f) => f.trim()));
    if (m[3]!.includes("epoll")) polls.push(at);
    else if (m[3] === "cpu-clock") samples.push({ at, category });
    // Switched out inside a poll is the thread waiting for work, not blocked in it.
    else if (m[3] === "sched:sched_switch") switched = { at, category: frames.some((f) => /epoll_p?wait/.test(f)) ? IDLE : category };
  }
  /** Samples on the CPU and ms off it, by category, between `from` and `to`. */
  const tally = (from: number, to: number) => {
    const on = new Map<string, number>();
    const off = new Map<string, number>();
    for (const s of samples) if (s.at > from && s.at < to) on.set(s.category, (on.get(s.category) ?? 0) + 1);
    for (const b of blocks) if (b.at > from && b.at < to) off.set(b.category, (off.get(b.category) ?? 0) + b.ms);
    return { samples: on, blocked: off };
  };
  return { polls, tally };
}

/** The `longest` stretches of a `recordThread` trace of thread `tid`, and the whole trace from its first poll to its last. */
export function summarizeStretches(file: string, tid: number, longest = 5): { polls: number; stretches: Stretch[]; whole: Stretch } {
  const { polls, tally } = readThread(file, tid);
  const stretch = (from: number, to: number): Stretch => ({ at: from - polls[0]!, ms: to - from, ...tally(from, to) });
  const gaps = polls.slice(1).map((to, i) => ({ from: polls[i]!, to }));
  gaps.sort((a, b) => b.to - b.from - (a.to - a.from));
  return { polls: polls.length, stretches: gaps.slice(0, longest).map(({ from, to }) => stretch(from, to)), whole: stretch(polls[0] ?? 0, polls.at(-1) ?? 0) };
}
