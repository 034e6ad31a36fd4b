/**
 * Local webhook receiver for demos: verifies Standard Webhooks signatures and prints one line per event.
 *
 *   WEBHOOK_SECRET=whsec_… [PORT=9999] npx tsx scripts/receiver.ts [--json]
 *
 * WEBHOOK_SECRET may list several secrets (comma- or space-separated) to watch a rotation.
 * Answers 204 when the signature verifies, 401 when it does not.
 */
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

/** Port the gateway's local examples point webhooks at. */
const DEFAULT_PORT = 9999;
/** Far above any event the gateway sends; only guards the demo against runaway clients. */
const MAX_BODY_BYTES = 1024 * 1024;

const port = Number(process.env.PORT ?? DEFAULT_PORT);
const secrets = (process.env.WEBHOOK_SECRET ?? "").split(/[\s,]+/).filter(Boolean);
const printJson = process.argv.includes("--json");
if (secrets.length === 0) {
  console.error("Set WEBHOOK_SECRET=whsec_… (the secret shown when the webhook endpoint was created).");
  process.exit(1);
}
const verifiers = secrets.map((secret) => new Webhook(secret));

interface EventBody {
  id?: string;
  type?: string;
  data?: { sequence?: number; session?: { id?: string; status?: string } };
}

/** The parsed body when any live secret verifies it, else null. */
function verify(body: string, headers: Record<string, string>): EventBody | null {
  for (const verifier of verifiers) {
    try {
      return verifier.verify(body, headers) as EventBody;
    } catch {
      // try the next secret
    }
  }
  return null;
}

const server = createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST" }).end();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) req.destroy();
    else chunks.push(chunk);
  });
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers[name] = value;
    }
    const event = verify(body, headers);
    if (event === null) {
      console.log(`✘ bad signature (webhook-id=${headers["webhook-id"] ?? "?"})`);
      res.writeHead(401).end();
      return;
    }
    const session = event.data?.session;
    const parts = [`✔ ${event.id ?? "?"} ${event.type ?? "?"}`];
    if (event.data?.sequence !== undefined) parts.push(`seq=${event.data.sequence}`);
    if (session) parts.push(`session=${session.id ?? "?"} status=${session.status ?? "?"}`);
    console.log(parts.join(" "));
    if (printJson) console.log(JSON.stringify(event, null, 2));
    res.writeHead(204).end();
  });
});

server.listen(port, () => {
  console.log(`webhook receiver on http://127.0.0.1:${port}/ (${secrets.length} secret(s)${printJson ? ", --json" : ""})`);
});
