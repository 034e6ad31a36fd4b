/** The processes under one root (a gateway started by a benchmark: node, wrangler, workerd), read from /proc (Linux). */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
/** Bytes per page of /proc's resident set size. */
const PAGE_BYTES = 4096;

export interface ProcessSample {
  pid: number;
  /** User and system CPU time so far, in ms. */
  cpuMs: number;
  /** Resident memory, in bytes. */
  rssBytes: number;
  command: string;
}

/** `root` and every process descended from it, as they stand now. */
export function processTree(root: number): ProcessSample[] {
  const all = new Map<number, { ppid: number; cpuMs: number; rssBytes: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // After the command's closing parenthesis: state, ppid, … (field 3 of the whole line onwards).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const field = (n: number) => Number(fields[n - 3]);
      all.set(Number(name), { ppid: field(4), cpuMs: ((field(14) + field(15)) * 1000) / TICKS_PER_SECOND, rssBytes: field(24) * PAGE_BYTES });
    } catch {
      // exited meanwhile
    }
  }
  const under = (pid: number): boolean => pid === root || (pid > 1 && all.has(pid) && under(all.get(pid)!.ppid));
  const tree: ProcessSample[] = [];
  for (const [pid, sample] of all) {
    if (!under(pid)) continue;
    let command = "";
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
      // exited meanwhile
    }
    tree.push({ pid, cpuMs: sample.cpuMs, rssBytes: sample.rssBytes, command });
  }
  return tree;
}

/** CPU time (ms) of every process under `root`, by pid, with its command line. */
export function processCpu(root: number): Map<number, { ms: number; command: string }> {
  return new Map(processTree(root).map((p) => [p.pid, { ms: p.cpuMs, command: p.command }]));
}

/** A process's role, from its command line. */
/** The role of the workerd that runs the Worker, its objects and D1: the one thread every measure here is about. */
const WORKER_RUNTIME = "workerd (the Worker and its objects)";

/** The workerd under `root` that runs the Worker and its objects, if it has started. */
export function workerRuntime(root: number): ProcessSample | undefined {
  return processTree(root).find((p) => roleOf(p.command) === WORKER_RUNTIME);
}

export function roleOf(command: string): string {
  if (command.includes("workerd")) return /socket-addr=entry=127\.0\.0\.1:0\b/.test(command) ? WORKER_RUNTIME : "workerd (wrangler's entry proxy)";
  if (command.includes("wrangler")) return "wrangler (node: logs, dev server)";
  if (command.includes("simulator")) return "simulators (node)";
  if (command.includes("scripts/start.ts")) return "npm start (node: output filter)";
  return command.split(" ").slice(0, 3).join(" ");
}

/** CPU (ms) spent by role between two readings of `processCpu`. */
export function cpuByRole(before: Map<number, { ms: number; command: string }>, after: Map<number, { ms: number; command: string }>): Map<string, number> {
  const roles = new Map<string, number>();
  for (const [pid, now] of after) roles.set(roleOf(now.command), (roles.get(roleOf(now.command)) ?? 0) + now.ms - (before.get(pid)?.ms ?? 0));
  return roles;
}

/**
 * A scratch directory for a benchmark's state and the list of process groups it starts: when this
 * process exits (Ctrl-C included), every group is stopped and the directory removed.
 */
export function scratch(prefix: string): { root: string; children: ChildProcess[] } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const children: ChildProcess[] = [];
  process.on("exit", () => {
    for (const child of children) {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  });
  process.on("SIGINT", () => process.exit(130));
  return { root, children };
}

/** Ends this process when `run` settles: 0 when it resolved, 1 (with the error printed) when not. */
export function exitWhenDone(run: Promise<unknown>): void {
  run
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
