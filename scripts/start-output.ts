/**
 * What `npm start` shows of wrangler's output: the gateway's own log lines and real errors, without
 * the banner, the bindings table, one line per HTTP request, the cron reminder, and workerd's
 * internal-error dumps (a failed outbound connection prints a native stack trace there; the
 * gateway logs one line of its own for it).
 */
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Lines dropped on their own. */
const NOISE: RegExp[] = [
  /^\s*$/,
  /^\s*⛅️ wrangler /,
  /^─+$/,
  /^Your Worker has access to the following bindings:/,
  /^Binding\s+Resource\s+Mode/,
  /^env\.\S+/,
  /Your types might be out of date/,
  /^⎔ Starting local server/,
  /^\[wrangler:info\] Ready on /,
  /^\[wrangler:info\] (GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+ \d{3} /,
  /^✘ \[ERROR\] (Socket proxy disconnected abruptly; )?e = kj\//,
  /^✘ \[ERROR\] Uncaught (\(in promise\) )?Error: internal error; reference = /,
  /^\s*stack: /,
  /^🪵\s+Logs were written to /,
];

/** A warning block that goes on for a few lines (cron triggers are not run locally; README says how). */
const BLOCK_START = /^▲ \[WARNING\] Scheduled Workers are not automatically triggered/;
const BLOCK_LINE = /^\s+(To manually trigger a scheduled event|curl "http|For more details, see )/;

/** Whether wrangler's output line is noise to a person running the gateway. */
export function isNoise(line: string, inBlock: boolean): { drop: boolean; inBlock: boolean } {
  const plain = line.replace(ANSI, "");
  if (BLOCK_START.test(plain)) return { drop: true, inBlock: true };
  if (inBlock && (BLOCK_LINE.test(plain) || plain.trim() === "")) return { drop: true, inBlock: true };
  return { drop: NOISE.some((pattern) => pattern.test(plain)), inBlock: false };
}

/** wrangler wraps the Worker's warn and error lines in its own "▲ [WARNING] …" / "✘ [ERROR] …" frame. */
const FRAMED_LOG_LINE = /^(?:▲ \[WARNING\]|✘ \[ERROR\]) (\{"level":.*\})\s*$/;

/** The line as a person should see it, or null to leave it out. */
export function presentLine(line: string, inBlock: boolean): { text: string | null; inBlock: boolean } {
  const verdict = isNoise(line, inBlock);
  if (verdict.drop) return { text: null, inBlock: verdict.inBlock };
  const framed = FRAMED_LOG_LINE.exec(line.replace(ANSI, ""));
  return { text: framed ? framed[1]! : line, inBlock: verdict.inBlock };
}

/** Copies `input` to `output` line by line, leaving out the noise. */
export function filterOutput(input: Readable, output: Writable): void {
  let inBlock = false;
  createInterface({ input, crlfDelay: Infinity }).on("line", (line) => {
    const shown = presentLine(line, inBlock);
    inBlock = shown.inBlock;
    if (shown.text !== null) output.write(`${shown.text}\n`);
  });
}

/** The migration files wrangler applied, read from its output (its tables are not shown). */
export function appliedMigrations(output: string): string[] {
  if (/No migrations to apply/i.test(output)) return [];
  return [...new Set([...output.replace(ANSI, "").matchAll(/(\d{4}_[\w-]+\.sql)/g)].map((m) => m[1]!))];
}
