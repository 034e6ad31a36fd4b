/**
 * `npm run bench:ab -- <dir>`: this checkout's gateway (A) against another checkout's (B, e.g. a
 * git worktree with a change), side by side in one run, as `npm run bench` puts the gateway
 * against the baseline: both started as `npm start` starts them, a loopback webhook endpoint
 * receiving every event of both, the load alternating between them in short slices so drift on
 * the machine hits both alike. Prints B ÷ A for throughput and p99, and each side's CPU per
 * request by process. A change that saves a few per cent is invisible between two separate runs
 * on a shared machine; side by side it is less so. Which of the two starts first, on which port
 * and in which state directory, still favours one of them by up to a tenth in a run (measured:
 * the same pair gave 0.91 and then 1.09 with the checkouts' places swapped), so the comparison is
 * made ROUNDS times with fresh gateways, the checkouts swapping places each round, and the rounds'
 * geometric mean is the figure to quote.
 *
 * Settings (environment): CONCURRENCY (default 32), SLICE_MS (2500), SLICES (6, after one warm-up),
 * ROUNDS (2).
 */
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { Connections, notifyBody } from "./load";
import { cpuByRole, exitWhenDone, processCpu, scratch } from "./processes";
import { oneDecimal, percentile } from "./stats";
import { waitForDemoTenant } from "../scripts/demo-tenant";

const other = process.argv[2];
if (!other) {
  console.error("usage: npm run bench:ab -- <directory of the other checkout>");
  process.exit(2);
}
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const SLICE_MS = Number(process.env.SLICE_MS ?? 2500);
const SLICES = Number(process.env.SLICES ?? 6);
/** Rounds with fresh gateways, the checkouts changing places each time (an even number cancels the places' bias). */
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 2));
/** Give up on any one wait after this long, so the comparison always ends. */
const WAIT_MS = 30_000;
const RECEIVER_PORT = 8990;

const { root, children } = scratch("spark-ab-");

const connections = new Connections();
const post = connections.post.bind(connections);

const arrivals = new Set<string>();
const receiver = createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(204).end();
    try {
      const event = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { type: string; data: { session?: { id: string } } };
      if (event.type === "session.authorized" && event.data.session) arrivals.add(event.data.session.id);
    } catch {
      // not an event
    }
  });
});

async function startGateway(name: string, dir: string, port: number, round: number) {
  const stateDir = join(root, `${name}-${round}`);
  const child = spawn(resolve(dir, "node_modules/.bin/tsx"), ["scripts/start.ts"], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), STATE_DIR: stateDir, DEMO_TENANT: "1" },
    stdio: "ignore",
    detached: true,
  });
  children.push(child);
  const tenant = await waitForDemoTenant(stateDir, 120_000);
  const gateway = `http://127.0.0.1:${port}`;
  const endpoint = await post(`${gateway}/v1/webhook-endpoints`, JSON.stringify({ url: `http://127.0.0.1:${RECEIVER_PORT}/hooks` }), { Authorization: `Bearer ${tenant.apiKey}` });
  if (endpoint.status !== 201) throw new Error(`${name}: webhook endpoint: ${endpoint.text}`);
  let nayax = (name === "A" ? 4_100_000_000 : 4_200_000_000) + round * 10_000_000;
  const ids: string[] = [];
  const notify = async (): Promise<boolean> => {
    const id = crypto.randomUUID();
    const n = nayax++;
    ids.push(id);
    const body = notifyBody({ id, siteId: 9000, nayaxId: n, machineId: 71_000_000 + (n % 500) });
    const res = await post(`${gateway}/spark/TransactionNotify`, body, { "X-Spark-Secret": tenant.sparkCallbackSecret });
    return res.status === 200 && res.text.includes('"Approved"');
  };
  await notify();
  return { name, child, notify, ids, latencies: [] as number[], failures: 0, ms: 0, cpu: new Map<string, number>() };
}

/** Stops a gateway's process group and waits for it, so the next round can take its port. */
async function stop(g: Gateway): Promise<void> {
  const exited = g.child.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => g.child.once("exit", () => r()));
  try {
    process.kill(-g.child.pid!, "SIGTERM");
  } catch {
    // already gone
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, WAIT_MS))]);
  // The runtime's own processes leave with the group; give the kernel a moment to free the ports.
  await new Promise((r) => setTimeout(r, 1000));
}

type Gateway = Awaited<ReturnType<typeof startGateway>>;

async function slice(g: Gateway, count: boolean): Promise<void> {
  connections.fresh();
  execFileSync("sync");
  const from = g.ids.length;
  const before = processCpu(g.child.pid!);
  const started = performance.now();
  const until = started + SLICE_MS;
  const latencies: number[] = [];
  let failures = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        const ok = await g.notify().catch(() => false);
        latencies.push(performance.now() - t0);
        if (!ok) failures++;
      }
    }),
  );
  const ms = performance.now() - started;
  // Its follow-up work (webhooks, D1) belongs to it: wait for the slice's webhooks before the other side's turn.
  const mine = g.ids.slice(from);
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline && mine.some((id) => !arrivals.has(id))) await new Promise((r) => setTimeout(r, 20));
  if (!count) return;
  for (const [role, cpu] of cpuByRole(before, processCpu(g.child.pid!))) g.cpu.set(role, (g.cpu.get(role) ?? 0) + cpu);
  g.latencies.push(...latencies);
  g.failures += failures;
  g.ms += ms;
}

function summary(g: Gateway) {
  const sorted = [...g.latencies].sort((a, b) => a - b);
  const cpu = [...g.cpu].filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]);
  const total = cpu.reduce((sum, [, ms]) => sum + ms, 0);
  return {
    rps: oneDecimal((sorted.length - g.failures) / (g.ms / 1000)),
    p50: oneDecimal(percentile(sorted, 50)),
    p99: oneDecimal(percentile(sorted, 99)),
    failures: g.failures,
    cpu: `${oneDecimal(total / sorted.length)} ms = ` + cpu.map(([role, ms]) => `${oneDecimal(ms / sorted.length)} ${role}`).join(", "),
  };
}

async function main(): Promise<void> {
  await new Promise<void>((r) => receiver.listen(RECEIVER_PORT, "127.0.0.1", r));
  const here = process.cwd();
  const there = resolve(other!);
  const throughput: number[] = [];
  const p99: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Places swap each round: which checkout starts first and on which port.
    const swapped = round % 2 === 1;
    const startA = () => startGateway("A", here, swapped ? 8980 : 8880, round);
    const startB = () => startGateway("B", there, swapped ? 8880 : 8980, round);
    const [a, b] = swapped ? ((await Promise.all([startB(), startA()])).reverse() as [Gateway, Gateway]) : await Promise.all([startA(), startB()]);
    for (let k = -1; k < SLICES; k++) {
      // Alternate who goes first, so neither always follows the other's leftovers.
      const order = k % 2 === 0 ? [a, b] : [b, a];
      for (const g of order) await slice(g, k >= 0);
    }
    const sa = summary(a);
    const sb = summary(b);
    console.log(`round ${round + 1} of ${ROUNDS}, ${swapped ? "B" : "A"} in the first place:`);
    console.log(`  A (${here}): ${sa.rps} req/s p50 ${sa.p50} p99 ${sa.p99} ms, ${sa.failures} failed; CPU per request ${sa.cpu}`);
    console.log(`  B (${there}): ${sb.rps} req/s p50 ${sb.p50} p99 ${sb.p99} ms, ${sb.failures} failed; CPU per request ${sb.cpu}`);
    console.log(`  B ÷ A: throughput ${(sb.rps / sa.rps).toFixed(2)}, p99 ${(sb.p99 / sa.p99).toFixed(2)}`);
    throughput.push(sb.rps / sa.rps);
    p99.push(sb.p99 / sa.p99);
    await Promise.all([stop(a), stop(b)]);
  }
  const mean = (xs: number[]) => Math.exp(xs.reduce((sum, x) => sum + Math.log(x), 0) / xs.length).toFixed(2);
  console.log(`B ÷ A at ${CONCURRENCY} in flight, geometric mean of ${ROUNDS} rounds: throughput ${mean(throughput)}, p99 ${mean(p99)}`);
  receiver.close();
}

exitWhenDone(main());
