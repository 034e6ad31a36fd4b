/**
 * Baseline for `npm run bench`: parse the callback, write it in the session's Durable Object,
 * insert one row in D1, answer. Nothing else — no auth, no validation, no routing, no events.
 */
import { DurableObject } from "cloudflare:workers";

interface Env {
  DB: D1Database;
  SESSIONS: DurableObjectNamespace<BaselineSession>;
}

export class BaselineSession extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS callbacks (at INTEGER, body TEXT)");
  }

  record(body: string): void {
    this.ctx.storage.sql.exec("INSERT INTO callbacks (at, body) VALUES (?, ?)", Date.now(), body);
  }
}

let ready: Promise<unknown> | null = null;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    // Anything but a callback is the benchmark asking whether the Worker is up.
    if (request.method !== "POST") return new Response(null, { status: 204 });
    ready ??= env.DB.prepare("CREATE TABLE IF NOT EXISTS callbacks (id TEXT, at INTEGER, body TEXT)").run();
    await ready;
    const body = await request.text();
    const { SparkTransactionId } = JSON.parse(body) as { SparkTransactionId: string };
    await env.SESSIONS.get(env.SESSIONS.idFromName(SparkTransactionId)).record(body);
    await env.DB.prepare("INSERT INTO callbacks (id, at, body) VALUES (?, ?, ?)").bind(SparkTransactionId, Date.now(), body).run();
    return Response.json({ SparkTransactionId, Status: { Verdict: "Approved", StatusMessage: "Session will begin immediately." } });
  },
};
