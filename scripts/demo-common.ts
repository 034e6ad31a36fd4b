/**
 * What the demo scripts share: bounded HTTP calls, a timeline printer, and a loopback webhook
 * receiver that verifies every event as a tenant would.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** Longest any single HTTP call of a demo may take; a registration makes a few calls of up to 10 s. */
export const CALL_TIMEOUT_MS = 30_000;
/** Default wait for a webhook: the gateway sends each one at once. */
export const WEBHOOK_WAIT_MS = 10_000;

/** An HTTP answer, read to the end. */
export interface Answer {
  status: number;
  text: string;
  /** The body parsed as JSON; null when empty or not JSON. */
  json: any;
  headers: Headers;
}

/**
 * One HTTP call with a deadline. `body` is sent as JSON text (a string is sent as is, so exact
 * numbers written with `JSON.rawJSON` survive); `bearer` sets `Authorization: Bearer …`.
 */
export async function call(method: string, url: string, options: { bearer?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.bearer) headers["Authorization"] = `Bearer ${options.bearer}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? CALL_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    throw new Error(`${method} ${url} failed: ${error instanceof Error ? error.message : String(error)}${cause}`);
  }
  return readAnswer(res);
}

/** Reads an answer to the end, its body also as JSON where it is JSON. */
export async function readAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** Polls `check` every 100 ms until it answers a value, or throws `failure()` after `timeoutMs`. */
export async function waitFor<T>(timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, failure: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(failure());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prints `+   12 ms  who      text` lines, timed from when it was made. */
export function timeline(): (who: string, text: string) => void {
  const started = Date.now();
  return (who, text) => console.log(`+${String(Date.now() - started).padStart(5)} ms  ${who.padEnd(8)} ${text}`);
}

/** A webhook as the receiver verified it. */
export interface ReceivedEvent {
  type: string;
  data: { sequence?: number; session?: { id: string; status: string; ocpi?: { status?: string | null } | null } };
}

/** A receiver on loopback that verifies each webhook as a tenant would. */
export interface DemoReceiver {
  url: string;
  setSecret(secret: string): void;
  /** Waits until an event of `type` about `sessionId` arrived (bounded). */
  waitFor(sessionId: string, type: string, timeoutMs?: number): Promise<ReceivedEvent>;
  close(): void;
}

export async function startReceiver(say: (who: string, text: string) => void): Promise<DemoReceiver> {
  let verifier: Webhook | null = null;
  const seen: Array<{ sessionId: string | undefined; event: ReceivedEvent }> = [];
  const waiters: Array<() => void> = [];
  // Idle connections outlive the gateway's own, so a delivery never races the receiver closing one.
  const server = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      try {
        const event = verifier!.verify(body, req.headers as Record<string, string>) as ReceivedEvent;
        const session = event.data.session;
        const ocpi = session?.ocpi ? ` ocpi.status=${session.ocpi.status ?? "-"}` : "";
        say("webhook", `✔ verified ${event.type} seq=${event.data.sequence ?? "-"} status=${session?.status ?? "-"}${ocpi}`);
        seen.push({ sessionId: session?.id, event });
        waiters.splice(0).forEach((w) => w());
        res.writeHead(204).end();
      } catch {
        say("webhook", "✘ signature did not verify");
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    setSecret: (secret) => (verifier = new Webhook(secret)),
    waitFor: (sessionId, type, timeoutMs = WEBHOOK_WAIT_MS) =>
      new Promise<ReceivedEvent>((resolve, reject) => {
        const timer = setTimeout(() => {
          const got = seen.filter((e) => e.sessionId === sessionId).map((e) => e.event.type);
          reject(new Error(`no ${type} webhook for ${sessionId} within ${timeoutMs / 1000} s (received: ${got.join(", ") || "none"})`));
        }, timeoutMs);
        const check = () => {
          const found = seen.find((e) => e.sessionId === sessionId && e.event.type === type);
          if (found) {
            clearTimeout(timer);
            resolve(found.event);
          } else waiters.push(check);
        };
        check();
      }),
    close: () => server.close(),
  };
}
