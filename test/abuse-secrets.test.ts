/**
 * Abuse: secrets never leave (CONTRACT §3: "shown once, stored only as hashes or encrypted,
 * never logged"). One tenant goes through everything with the console captured — onboarding
 * with a webhook URL, every Spark callback including StartSession, Remote Start and settlement
 * through the Spark simulator, Spark failing and unreachable, receivers failing until the
 * gateway gives up, rotations of the API key, the callback secret and the webhook secret, new
 * Spark credentials, secrets presented where they do not belong, malformed bodies and a
 * deliberate 500 — then: no log line holds any secret (the tenant's, its Spark credentials,
 * ADMIN_TOKEN, ENCRYPTION_KEY), no later read answers one, D1 holds none in the clear, and
 * nothing sent to Spark or to the receivers carries one.
 */
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it, vi } from "vitest";
import * as drive from "../sim/drive";
import { ADMIN_TOKEN, flush } from "./helpers";
import { TABLES, asAdmin, bearer, expectNoSecrets, gateway, installSandbox, operatorSecrets, quietConsole, read, secretsOf } from "./abuse-support";
import type { Answer } from "./abuse-support";
import type { SimTenantHandle } from "./spark-harness";
import { freshMachine, freshSite } from "./support";

const sandbox = installSandbox();
afterAll(() => vi.restoreAllMocks());
const logs = quietConsole();

let t: SimTenantHandle & { siteIds: number[] };
/** Every secret the flow created or used, old and new. */
const secrets: string[] = [];
/** Every answer of the flow that must not show a secret (all but creation and rotation answers). */
const answers: Array<{ label: string; text: string }> = [];
const sessionIds: string[] = [];
let apiKey: string;
let callbackSecret: string;
let nayax = 8_000_000;

/** Keeps an answer for the final scan, and checks its status. */
async function step(label: string, response: Promise<Response>, status: number | number[]): Promise<Answer<Record<string, unknown>>> {
  const answer = await read<Record<string, unknown>>(await response);
  answers.push({ label, text: answer.text });
  expect(Array.isArray(status) ? status : [status], `${label}: ${answer.status} ${answer.text.slice(0, 300)}`).toContain(answer.status);
  return answer;
}

const api = (label: string, path: string, init: RequestInit & { json?: unknown }, status: number | number[]) => step(label, bearer(apiKey, path, init), status);
const spark = (label: string, method: string, body: unknown, status: number | number[], secret = callbackSecret) =>
  step(label, gateway(`/spark/${method}`, { method: "POST", headers: { "X-Spark-Secret": secret, "Content-Type": "application/json" }, body: JSON.stringify(body) }), status);

/** Device Start on a fresh machine: TransactionNotify (registered in the simulator), answered Approved. */
async function deviceStart(label: string): Promise<{ id: string; machine: number; nayaxId: number }> {
  const id = crypto.randomUUID();
  const machine = freshMachine();
  const nayaxId = nayax++;
  const body = drive.transactionNotify({ SiteId: t.siteIds[0], MachineId: machine, SparkTransactionId: id, NayaxTransactionId: nayaxId });
  sandbox.simulator.registerAuthorization({ nayaxTransactionId: nayaxId, sparkTransactionId: id, siteId: t.siteIds[0]!, amount: 1000n });
  await spark(`${label}: TransactionNotify`, "TransactionNotify", body, 200);
  sessionIds.push(id);
  return { id, machine, nayaxId };
}

/** Remote Start to awaiting_card through the simulator. */
async function remoteStart(label: string, status: number | number[] = 201): Promise<string | null> {
  const answer = await api(`${label}: remote start`, "/v1/sessions", { method: "POST", json: { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", display: "Charging" } }, status);
  if (answer.status !== 201) return null;
  const id = answer.body.id as string;
  sessionIds.push(id);
  return id;
}

describe("one tenant through every path, console captured", () => {
  it("runs the flow", async () => {
    const siteIds = [freshSite(), freshSite()];
    t = { ...(await sandbox.tenant({ siteIds, webhookUrl: "https://receiver.csms.example/spark" })), siteIds };
    secrets.push(...secretsOf(t));
    expect(secrets.length).toBe(5);
    apiKey = t.apiKey;
    callbackSecret = t.sparkCallbackSecret;

    // StartSession: the cipher is made under the secret token, which must not travel.
    const started = await spark("StartSession", "StartSession", drive.startSession({ MachineId: freshMachine(), TokenId: t.spark.tokenId }), 200);
    sessionIds.push(started.body.SparkTransactionId as string);

    // Device Start → stop → settle, with a receipt.
    const one = await deviceStart("device start");
    await spark("StopCallback", "StopCallback", drive.stopCallback({ StopSiteId: t.siteIds[1], MachineId: one.machine, SparkTransactionId: one.id, NayaxTransactionId: one.nayaxId }), 200);
    await api("settle", `/v1/sessions/${one.id}/settle`, { method: "POST", json: { amount: "7.50", receipt: { General: [{ Station: "B12" }] } }, headers: { "Idempotency-Key": "k-1" } }, 200);

    // Remote Start → TransactionCallback → cancel; another → DeclineCallback.
    const remote = (await remoteStart("remote start"))!;
    await spark("TransactionCallback", "TransactionCallback", drive.transactionCallback({ SparkTransactionId: remote, SiteId: t.siteIds[0], NayaxTransactionId: nayax++ }), 200);
    await api("cancel", `/v1/sessions/${remote}/cancel`, { method: "POST", json: { reasonText: "customer left" } }, [200, 502]);
    const declined = (await remoteStart("remote start 2"))!;
    await spark("DeclineCallback", "DeclineCallback", drive.declineCallback({ SparkTransactionId: declined }), 200);
    const expiring = await deviceStart("timeout");
    await spark("TimeoutCallback", "TimeoutCallback", drive.timeoutCallback({ SparkTransactionId: expiring.id }), 200);
    await spark("InfoQuery", "InfoQuery", drive.infoQuery({ SiteId: t.siteIds[0], MachineId: freshMachine() }), 200);
    await spark("AvailabilityCheck", "AvailabilityCheck", drive.availabilityCheck({ SiteId: t.siteIds[0], MachineId: freshMachine() }), 200);
    await api("station", `/v1/stations/${freshMachine()}/5`, { method: "PUT", json: { availability: "busy", display: "Busy" } }, 200);

    // Spark failing: a decline is a 502; an HTTP 500 or a network error leaves the outcome unknown (202, §8).
    const failing = await deviceStart("spark failures");
    sandbox.simulator.failNext("Settlement", { errorCode: 29 });
    await api("settle, Spark declines", `/v1/sessions/${failing.id}/settle`, { method: "POST", json: { amount: "5.00" } }, 502);
    const inDoubt = await deviceStart("spark 500");
    sandbox.simulator.failNext("Settlement", { httpStatus: 500 });
    await api("settle, Spark 500", `/v1/sessions/${inDoubt.id}/settle`, { method: "POST", json: { amount: "5.00" } }, 202);
    const unreachable = await deviceStart("spark unreachable");
    sandbox.simulator.failNext("Settlement", { networkError: true });
    await api("settle, Spark unreachable", `/v1/sessions/${unreachable.id}/settle`, { method: "POST", json: { amount: "5.00" } }, 202);
    sandbox.simulator.failNext("StartAuthentication", { networkError: true });
    await remoteStart("remote start, Spark unreachable", 502);
    await api("settle after failures", `/v1/sessions/${failing.id}/settle`, { method: "POST", json: { amount: "5.00" } }, 200);

    // Secrets presented where they do not belong, and malformed bodies: 4xx, and the values must not be logged.
    for (const secret of [...secrets, ADMIN_TOKEN]) {
      await step("secret as X-Spark-Secret", gateway("/spark/InfoQuery", { method: "POST", headers: { "X-Spark-Secret": secret }, body: "{}" }), [400, 401]);
      await step("secret as API key", bearer(secret, "/v1/sessions"), [200, 401]);
      await step("secret as admin token", bearer(secret, "/admin/tenants"), [200, 401]);
    }
    await spark("malformed TransactionNotify", "TransactionNotify", { ...drive.transactionNotify({ SiteId: t.siteIds[0] }), Amount: "ten" }, 400);
    await step("malformed JSON", gateway("/spark/StopNotify", { method: "POST", headers: { "X-Spark-Secret": callbackSecret }, body: `{"CardHash": "${t.spark.secretToken}"` }), 400);
    await api("malformed settle", `/v1/sessions/${failing.id}/settle`, { method: "POST", json: { amount: t.spark.signKey } }, 400);
    await step("admin, malformed tenant", asAdmin("/admin/tenants", { method: "POST", json: { name: "x", spark: { ...t.spark, baseUrl: `https://u:${t.spark.signKey}@spark.example` }, siteIds: [freshSite()] } }), 400);
    await step("admin, another tenant with the same secrets", asAdmin("/admin/tenants", { method: "POST", json: { name: "x", spark: { ...t.spark, baseUrl: "https://spark.example" }, siteIds: [freshSite()] } }), 409);

    // Receivers failing: every attempt of the next events fails until the gateway gives up (a warning from the session object).
    sandbox.receivers(() => new Response("receiver down", { status: 500 }));
    const undelivered = await deviceStart("receiver down");
    await vi.waitFor(() => expect(logs.lines.some((l) => l.includes("webhook given up") && l.includes(t.webhookEndpoint!.id))).toBe(true), { timeout: 20_000, interval: 100 });
    sandbox.receivers(() => Promise.reject(new TypeError("connection reset")));
    await spark("StopCallback, receiver unreachable", "StopCallback", drive.stopCallback({ StopSiteId: t.siteIds[1], MachineId: undelivered.machine, SparkTransactionId: undelivered.id, NayaxTransactionId: undelivered.nayaxId }), 200);
    sandbox.receivers(() => new Response(null, { status: 204 }));

    // Rotations: the new secrets are answered once, then used.
    const newKey = await step("rotate API key", asAdmin(`/admin/tenants/${t.id}/rotate-api-key`, { method: "POST", json: { overlapSeconds: 60 } }), 200);
    answers.pop();
    apiKey = newKey.body.apiKey as string;
    const newSecret = await step("rotate callback secret", asAdmin(`/admin/tenants/${t.id}/rotate-callback-secret`, { method: "POST" }), 200);
    answers.pop();
    callbackSecret = newSecret.body.sparkCallbackSecret as string;
    const newWhsec = await step("rotate webhook secret", bearer(apiKey, `/v1/webhook-endpoints/${t.webhookEndpoint!.id}/rotate-secret`, { method: "POST" }), 200);
    answers.pop();
    const second = await step("second endpoint", bearer(apiKey, "/v1/webhook-endpoints", { method: "POST", json: { url: "https://receiver2.csms.example/spark", headers: { "X-Csms": "1" } } }), 201);
    answers.pop();
    secrets.push(apiKey, callbackSecret, newWhsec.body.secret as string, second.body.secret as string);
    await api("webhook test", `/v1/webhook-endpoints/${second.body.id as string}/test`, { method: "POST" }, 200);
    await deviceStart("after rotations");
    await api("recover", `/v1/webhook-endpoints/${t.webhookEndpoint!.id}/recover`, { method: "POST", json: { since: "2020-01-01T00:00:00Z" } }, 202);

    // New Spark credentials the simulator does not know: Spark refuses (502); then the real ones again.
    const newSignKey = `rotated-sign-key-${crypto.randomUUID()}`;
    const newToken = `rotated-secret-token-${crypto.randomUUID()}-${crypto.randomUUID()}`;
    secrets.push(newSignKey, newToken);
    await step("PATCH Spark credentials", asAdmin(`/admin/tenants/${t.id}`, { method: "PATCH", json: { spark: { signKey: newSignKey, secretToken: newToken } } }), 200);
    await remoteStart("remote start, wrong credentials", 502);
    await spark("StartSession, new token", "StartSession", drive.startSession({ MachineId: freshMachine(), TokenId: t.spark.tokenId }), 200);
    await step("PATCH Spark credentials back", asAdmin(`/admin/tenants/${t.id}`, { method: "PATCH", json: { spark: { signKey: t.spark.signKey, secretToken: t.spark.secretToken } } }), 200);

    // A deliberate 500: the sealed Spark credentials unreadable (logged as an unhandled error).
    const sealed = await env.DB.prepare("SELECT spark_secrets AS s FROM tenants WHERE id = ?").bind(t.id).first<{ s: string }>();
    await env.DB.prepare("UPDATE tenants SET spark_secrets = ? WHERE id = ?").bind("corrupt", t.id).run();
    try {
      await spark("StartSession, credentials unreadable", "StartSession", drive.startSession({ MachineId: freshMachine(), TokenId: t.spark.tokenId }), 500);
      await remoteStart("remote start, credentials unreadable", [500, 502]);
    } finally {
      await env.DB.prepare("UPDATE tenants SET spark_secrets = ? WHERE id = ?").bind(sealed!.s, t.id).run();
    }
    await remoteStart("remote start, credentials restored");

    for (const id of sessionIds) await flush(id);
  }, 60_000);

  it("the captured console holds route and session-object lines, and none of them carries a secret", () => {
    expect(logs.lines.some((l) => l.includes('"spark callback"'))).toBe(true);
    expect(logs.lines.some((l) => l.includes("webhook given up"))).toBe(true);
    expect(logs.lines.some((l) => l.includes("unhandled error"))).toBe(true);
    expectNoSecrets(logs.lines, [...secrets, ...operatorSecrets()], "console");
  });

  it("no answer of the flow, other than creation and rotation, shows a secret", () => {
    expectNoSecrets(
      answers.map((a) => `${a.label}: ${a.text}`),
      [...secrets, ...operatorSecrets()],
      "answers",
    );
  });

  it("no later read shows a secret: tenants, endpoints, sessions, events, attempts, the API document", async () => {
    const paths = ["/admin/tenants?limit=200", `/admin/tenants/${t.id}`, "/v1/webhook-endpoints?limit=200", "/v1/sessions?limit=200", "/v1/events?limit=200", "/openapi.json"];
    const endpoints = await read<{ data: Array<{ id: string }> }>(await bearer(apiKey, "/v1/webhook-endpoints"));
    paths.push(...endpoints.body.data.map((e) => `/v1/webhook-endpoints/${e.id}`));
    paths.push(...sessionIds.map((id) => `/v1/sessions/${id}`));
    const events = await read<{ data: Array<{ id: string }> }>(await bearer(apiKey, "/v1/events?limit=200"));
    expect(events.body.data.length).toBeGreaterThan(10);
    paths.push(...events.body.data.flatMap((e) => [`/v1/events/${e.id}`, `/v1/events/${e.id}/attempts`]));
    for (const path of paths) {
      const answer = await read(path.startsWith("/admin") ? await asAdmin(path) : await bearer(apiKey, path));
      expect(answer.status, `${path}: ${answer.text.slice(0, 200)}`).toBe(200);
      expectNoSecrets([answer.text], [...secrets, ...operatorSecrets()], `GET ${path}`);
    }
  });

  it("D1 holds no secret in the clear (keys as hashes, Spark and webhook secrets sealed)", async () => {
    for (const table of TABLES) {
      const { results } = await env.DB.prepare(`SELECT * FROM ${table}`).all();
      expectNoSecrets([JSON.stringify(results)], [...secrets, ...operatorSecrets()], `D1 ${table}`);
    }
  });

  it("nothing sent to Spark or to the receivers carries a secret (only signatures and ciphers made from them)", () => {
    expect(sandbox.simulator.requests.length).toBeGreaterThan(5);
    expect(sandbox.outbound.length).toBeGreaterThan(5);
    expectNoSecrets(
      sandbox.simulator.requests.map((r) => `${r.path} ${JSON.stringify(r.headers)} ${r.bodyText}`),
      [...secrets, ...operatorSecrets()],
      "to Spark",
    );
    expectNoSecrets(
      sandbox.outbound.map((r) => `${r.url} ${JSON.stringify(r.headers)} ${r.body}`),
      [...secrets, ...operatorSecrets()],
      "to receivers",
    );
  });
});
