/** What `npm start` keeps of wrangler's output (scripts/start-output.ts), line by line. */
import { describe, expect, it } from "vitest";
import { appliedMigrations, presentLine } from "../scripts/start-output";

/** Runs lines through the filter as `npm start` does, answering what is shown. */
function shown(lines: string[]): string[] {
  let inBlock = false;
  const out: string[] = [];
  for (const line of lines) {
    const r = presentLine(line, inBlock);
    inBlock = r.inBlock;
    if (r.text !== null) out.push(r.text);
  }
  return out;
}

describe("npm start output", () => {
  it("keeps the gateway's log lines, unwrapped from wrangler's warning and error frames", () => {
    const info = '{"level":"info","message":"spark callback","outcome":"Approved","ms":12}';
    const warn = '{"level":"warn","message":"spark call failed","description":"request failed: DNS lookup failed for spark-qa.example"}';
    expect(shown([info, `\x1b[33m▲ \x1b[43;33m[\x1b[43;30mWARNING\x1b[43;33m]\x1b[0m \x1b[1m${warn}\x1b[0m`])).toEqual([info, warn]);
  });

  it("drops the banner, the bindings table, request lines, the cron reminder and workerd's stack traces", () => {
    const lines = [
      " ⛅️ wrangler 4.86.0 (update available 4.164.0)",
      "──────────────────────────────────────────────",
      "Your Worker has access to the following bindings:",
      "Binding                                         Resource                  Mode",
      "env.DB (spark-gateway)                          D1 Database               local",
      "",
      "\x1b[33m▲ \x1b[43;33m[\x1b[43;30mWARNING\x1b[43;33m]\x1b[0m \x1b[1mScheduled Workers are not automatically triggered during local development.\x1b[0m",
      "",
      "  To manually trigger a scheduled event, run:",
      '    curl "http://127.0.0.1:8787/cdn-cgi/handler/scheduled"',
      "  For more details, see https://developers.cloudflare.com/workers/configuration/cron-triggers/",
      "⎔ Starting local server...",
      "[wrangler:info] Ready on http://127.0.0.1:8787",
      "[wrangler:info] GET /health 200 OK (12ms)",
      "\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1me = kj/async-io-unix.c++:1298: failed: DNS lookup failed.; params.host = spark-qa.example\x1b[0m",
      "  stack: /x/workerd@51f50be /x/workerd@51f5bb0",
      "✘ [ERROR] Socket proxy disconnected abruptly; e = kj/async-io-unix.c++:1298: failed: DNS lookup failed.",
      "✘ [ERROR] Uncaught Error: internal error; reference = tplt7jl49d63j6u1a453jq22",
    ];
    expect(shown(lines)).toEqual([]);
  });

  it("still shows a real error", () => {
    expect(shown(["✘ [ERROR] Build failed with 1 error:", "src/index.ts:1:0: ERROR: Could not resolve"])).toHaveLength(2);
  });

  it("reads the applied migrations from wrangler's tables", () => {
    expect(appliedMigrations("│ 0000_init.sql │ ✅ │\n│ 0001_endpoint_headers.sql │ ✅ │\n│ 0000_init.sql │")).toEqual(["0000_init.sql", "0001_endpoint_headers.sql"]);
    expect(appliedMigrations("✅ No migrations to apply!")).toEqual([]);
  });
});
