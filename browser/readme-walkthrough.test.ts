/**
 * The README's walkthrough ("Try it with curl", "See signed webhooks arrive", "Portal"), run as
 * written against a real `npm start`: its `<!-- walkthrough: shell -->` blocks go, in order, into
 * one bash (as typed into the second shell), and the command line it prints for the receiver is
 * run in another (the receiver's shell), as a person would copy it.
 */
import { spawn } from "node:child_process";
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Gateway, REPO_ROOT, freeGatewayPort, waitUntil } from "../resilience/support";

interface Block {
  kind: "shell" | "receiver";
  code: string;
}

/** The walkthrough's code blocks, in README order. */
function walkthrough(): Block[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/<!-- walkthrough: (shell|receiver) -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({ kind: m[1] as Block["kind"], code: m[2]! }));
}

/** A shell of its own: the environment of this process, less vitest's, plus `extra`. */
function shell(args: string[], extra: Record<string, string>): ChildProcessWithoutNullStreams & { out: () => string } {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  for (const name of Object.keys(env)) if (name.startsWith("VITEST") || name === "NODE_OPTIONS") delete env[name];
  const child = spawn("bash", args, { cwd: REPO_ROOT, env, detached: true });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return Object.assign(child, { out: () => out });
}

const kill = (child: { pid?: number } | undefined) => {
  try {
    if (child?.pid) process.kill(-child.pid, "SIGTERM");
  } catch {
    // gone already
  }
};

let gw: Gateway;
let main: ReturnType<typeof shell>;
let receiver: ReturnType<typeof shell> | undefined;

beforeAll(async () => {
  gw = await Gateway.launch();
});

afterAll(async () => {
  kill(main);
  kill(receiver);
  await gw?.dispose();
});

it("runs as written: webhooks arrive at the receiver, a settle to a missing Spark says why, the demo tenant settles", async () => {
  const blocks = walkthrough();
  expect(blocks.filter((b) => b.kind === "shell").length).toBeGreaterThanOrEqual(4);
  expect(blocks.filter((b) => b.kind === "receiver")).toHaveLength(1);
  // Its own receiver port, so a receiver someone left running on 9999 does not get in the way.
  const receiverPort = (await freeGatewayPort()) + 1;
  main = shell(["--noprofile", "--norc"], { PORT: String(gw.port), STATE_DIR: gw.stateDir, RECEIVER_PORT: String(receiverPort) });

  let step = 0;
  for (const block of blocks) {
    if (block.kind === "receiver") {
      // The line the walkthrough printed for the receiver's shell, exactly as the README shows its shape.
      const printed = /In a third shell, run: {2}(WEBHOOK_SECRET=whsec_\S+ PORT=\d+ npm run receiver)/.exec(main.out());
      expect(printed, main.out()).not.toBeNull();
      expect(block.code.trim()).toMatch(/^WEBHOOK_SECRET=whsec_… PORT=9999 npm run receiver$/);
      receiver = shell(["--noprofile", "--norc", "-c", printed![1]!], { PORT: "" });
      await waitUntil("the receiver to listen", 30_000, () => (receiver!.out().includes("webhook receiver on") ? true : undefined), () => receiver!.out());
      continue;
    }
    step += 1;
    const marker = `__walkthrough_step_${step}_done__`;
    main.stdin.write(`${block.code}\necho "${marker} $?"\n`);
    await waitUntil(`walkthrough step ${step}`, 60_000, () => (main.out().includes(marker) ? true : undefined), () => main.out());
    expect(main.out(), `step ${step} exit status`).toContain(`${marker} 0`);
  }
  const out = main.out();
  expect(out).not.toMatch(/jq: error|curl: \(\d+\)|command not found|parse error/);
  expect(out).toContain('"Verdict": "Approved"');
  expect(out).toContain('"session.authorized"');
  expect(out).toContain("Spark Settlement failed: request failed: DNS lookup failed for spark-qa.example");
  expect(out).toMatch(/"status": "settled",\s*"settledAmount": "12.25"/);
  expect(out).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${gw.port}/portal/login\\?token=pl_`));

  // The receiver verified and printed the test event and the session's events that followed.
  await waitUntil(
    "the receiver to print the webhooks",
    30_000,
    () => (["webhook.test", "session.stop_requested seq=2", "session.settlement_failed seq=3"].every((t) => receiver!.out().includes(t)) ? true : undefined),
    () => receiver!.out(),
  );
  expect(receiver!.out()).not.toContain("bad signature");
});
