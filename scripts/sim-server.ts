/**
 * The Node HTTP plumbing both local simulators share (`scripts/simulator.ts`, `scripts/cpo-simulator.ts`):
 * the re-run under the JSON source flag, body reading, JSON answers, passing a request on to a
 * fetch-style handler, and a server that logs each non-control request and stops on a signal.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { formatMoney } from "../src/lib/money";

/** V8 flag that turns on JSON.rawJSON and reviver source text in Node 20. */
const JSON_SOURCE_FLAG = "--harmony-json-parse-with-source";

/** Runs `main` where JSON.rawJSON exists; elsewhere runs this same script again under the flag, forwarding signals and the exit code. */
export function runWithJsonSource(main: () => void): void {
  if (typeof (JSON as { rawJSON?: unknown }).rawJSON === "function" || process.execArgv.includes(JSON_SOURCE_FLAG)) {
    main();
    return;
  }
  const child = spawn(process.execPath, [JSON_SOURCE_FLAG, ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

/** The whole request body; rejects, and drops the request, past `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error("body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Writes JSON (nothing for 204); bigint amounts become decimal strings ("15.00"). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (status === 204) {
    res.writeHead(204).end();
    return;
  }
  const text = JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? formatMoney(value) : value), 2);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" }).end(text);
}

/** Hands a Node request, whose `body` was read already, to a fetch-style handler and writes its answer; the handler's signal aborts when the caller hangs up. */
export async function forward(handle: (request: Request) => Promise<Response>, url: URL, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const hangUp = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) hangUp.abort();
  });
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const response = await handle(new Request(url, { method: req.method ?? "GET", headers, body: hasBody ? new Uint8Array(body) : undefined, signal: hangUp.signal }));
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

/** How {@link listen} runs one simulator. */
export interface SimServerOptions {
  host: string;
  port: number;
  /** Names the simulator in error lines, e.g. "simulator". */
  name: string;
  /** Answers one request. */
  serve: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Errors the simulator throws to make the connection drop without an answer. */
  dropsConnection: (error: unknown) => boolean;
  /** Printed once the server listens. */
  banner: () => string;
}

/** Listens on `host:port`, logs each non-control request with its answer and time, and closes on SIGINT/SIGTERM. */
export function listen(options: SimServerOptions): void {
  const server = createServer((req, res) => {
    const started = Date.now();
    options
      .serve(req, res)
      .catch((error: unknown) => {
        if (options.dropsConnection(error)) {
          req.socket.destroy();
          return;
        }
        // The caller hung up (e.g. its timeout during an injected delay): nobody to answer.
        if (res.destroyed || req.socket.destroyed) return;
        console.error(`${options.name} error:`, error);
        if (!res.headersSent) sendJson(res, 500, { error: String(error) });
        else res.destroy();
      })
      .finally(() => {
        if (!req.url?.startsWith("/_sim/")) console.log(`${req.method} ${req.url} → ${res.headersSent ? res.statusCode : "no answer"} (${Date.now() - started} ms)`);
      });
  });
  server.listen(options.port, options.host, () => console.log(options.banner()));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      server.close();
      process.exit(0);
    });
  }
}
