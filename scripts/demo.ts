/**
 * `npm run demo`: plays one Device Start, one Remote Start and one External Settlement end to end against the
 * gateway started by `npm start` (its demo tenant and Spark simulator), with a local webhook
 * receiver that verifies every event, and prints the timeline as it happens.
 *
 * `npm run demo -- ocpi`: plays a Device Start paid over OCPI with the OCPI demo tenant and the CPO
 * simulator, on OCPI 2.2.1 and then on 2.1.1 (`scripts/demo-ocpi.ts`).
 */
import { SparkDriver, stopCallback, transactionCallback, transactionNotify, infoQuery, startSession } from "../sim/drive";
import { DEMO_SITE_ID } from "../sim/demo";
import { startReceiver, timeline } from "./demo-common";
import { runOcpiDemo } from "./demo-ocpi";
import { readDemoTenant } from "./demo-tenant";
import type { DemoTenant } from "./demo-tenant";

const stateDir = process.env.STATE_DIR ?? ".wrangler/state";
const say = timeline();
/** The first demo tenant; read when its scenario runs. */
let tenant: DemoTenant;
let gateway: string;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gateway}${path}`, {
    method,
    headers: { Authorization: `Bearer ${tenant.apiKey}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function sim(path: string, body: unknown): Promise<void> {
  await fetch(`${tenant.simulatorUrl}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

async function main(): Promise<void> {
  tenant = readDemoTenant(stateDir);
  gateway = tenant.gatewayUrl;
  const receiver = await startReceiver(say);
  const endpoint = await api("POST", "/v1/webhook-endpoints", { url: receiver.url });
  if (endpoint.status !== 201) throw new Error(`could not register the receiver: ${JSON.stringify(endpoint.json)}`);
  receiver.setSecret(endpoint.json.secret);
  say("tenant", `webhook endpoint ${endpoint.json.id} → ${receiver.url}`);
  const driver = new SparkDriver({ gatewayUrl: gateway, callbackSecret: tenant.sparkCallbackSecret });
  const machineId = 71234996;
  const nayaxId = 2_000_000_000 + Math.floor(Math.random() * 100_000_000);

  try {
    console.log("\n— Device Start —");
    const start = await driver.send("StartSession", startSession({ MachineId: machineId, TokenId: 9000 }));
    const sessionId = (start.body as { SparkTransactionId: string }).SparkTransactionId;
    say("spark", `StartSession → ${(start.body as any).Status.Verdict}, session ${sessionId}`);
    const info = await driver.send("InfoQuery", infoQuery({ SparkTransactionId: sessionId, SiteId: DEMO_SITE_ID, MachineId: machineId }));
    say("spark", `InfoQuery → availability ${(info.body as any).ServiceStationAvailability}, amount ${(info.text.match(/"Amount":([\d.]+)/) ?? [])[1]}`);
    await sim("/_sim/authorizations", { nayaxTransactionId: nayaxId, sparkTransactionId: sessionId, siteId: DEMO_SITE_ID, amount: "30.00" });
    const notify = await driver.send("TransactionNotify", transactionNotify({ SparkTransactionId: sessionId, SiteId: DEMO_SITE_ID, MachineId: machineId, NayaxTransactionId: nayaxId, Amount: 3000n }));
    say("spark", `TransactionNotify → ${(notify.body as any).Status.Verdict}: ${(notify.body as any).Status.StatusMessage}`);
    await receiver.waitFor(sessionId, "session.authorized");
    const stop = await driver.send("StopCallback", stopCallback({ SparkTransactionId: sessionId, NayaxTransactionId: nayaxId, StopSiteId: DEMO_SITE_ID, MachineId: machineId }));
    say("spark", `StopCallback → ${(stop.body as any).Status.Verdict}`);
    await receiver.waitFor(sessionId, "session.stop_requested");
    const settled = await api("POST", `/v1/sessions/${sessionId}/settle`, { amount: "12.25", receipt: { General: [{ Company: "Demo Charging", "Station Name": "B12" }] } });
    say("tenant", `settle 12.25 → ${settled.status} ${settled.json.status} ${settled.json.settledAmount} ${settled.json.currency} auth ${settled.json.settlement?.authCode}`);
    await receiver.waitFor(sessionId, "session.settled");
    await printTimeline(sessionId);

    console.log("\n— Remote Start —");
    const created = await api("POST", "/v1/sessions", { terminal: { machineId }, amount: "15.00", timeoutSeconds: 60, display: ";Charging Station:3;Price:0.45/kWh;" });
    if (created.status !== 201) throw new Error(`Remote Start failed: ${JSON.stringify(created.json)}`);
    const remoteId = created.json.id as string;
    say("tenant", `POST /v1/sessions → ${created.status} ${created.json.status} (StartAuthentication + TriggerTransaction done)`);
    await receiver.waitFor(remoteId, "session.created");
    const remoteNayax = nayaxId + 1;
    await sim("/_sim/authorizations", { nayaxTransactionId: remoteNayax, sparkTransactionId: remoteId, siteId: DEMO_SITE_ID, amount: "15.00" });
    const callback = await driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: remoteId, SiteId: DEMO_SITE_ID, MachineId: machineId, NayaxTransactionId: remoteNayax, Amount: 1500n }));
    say("spark", `TransactionCallback (1500 minor units) → ${callback.status}`);
    await receiver.waitFor(remoteId, "session.authorized");
    const remoteSettled = await api("POST", `/v1/sessions/${remoteId}/settle`, { amount: "9.80" });
    say("tenant", `settle 9.80 → ${remoteSettled.status} ${remoteSettled.json.status} ${remoteSettled.json.settledAmount} ${remoteSettled.json.currency}`);
    await receiver.waitFor(remoteId, "session.settled");
    await printTimeline(remoteId);

    console.log("\n— External Settlement (a card authorized on the terminal outside Spark's flows) —");
    const externalNayax = nayaxId + 2;
    const authorizedLocal = new Date(Date.now() - 20 * 60_000).toISOString().slice(0, 23);
    await sim("/_sim/external-authorizations", {
      nayaxTransactionId: externalNayax,
      siteId: DEMO_SITE_ID,
      terminalId: "0434334921100366",
      amount: "20.00",
      machineAuTime: authorizedLocal.replace(/[-T:.]/g, ""),
    });
    say("terminal", `card authorized for 20.00 outside Spark, NayaxTransactionId ${externalNayax}`);
    const external = await api("POST", "/v1/external-transactions/settle", {
      nayaxTransactionId: externalNayax,
      siteId: DEMO_SITE_ID,
      terminal: { hwSerial: "0434334921100366" },
      machineAuTime: authorizedLocal,
      amount: "7.35",
      receipt: { General: [{ Company: "Demo Charging" }] },
      products: [{ code: "EV-KWH", unitPrice: "0.49", quantity: 15 }],
    });
    if (external.status !== 201) throw new Error(`External settlement failed: ${JSON.stringify(external.json)}`);
    say("tenant", `POST /v1/external-transactions/settle 7.35 → ${external.status} ${external.json.flow} ${external.json.status} ${external.json.settledAmount} (StartAuthentication + ExternalSettlement)`);
    await receiver.waitFor(external.json.id as string, "session.settled");
    await printTimeline(external.json.id as string);
  } finally {
    await api("DELETE", `/v1/webhook-endpoints/${endpoint.json.id}`);
    receiver.close();
  }
}

async function printTimeline(sessionId: string): Promise<void> {
  const { json } = await api("GET", `/v1/sessions/${sessionId}`);
  console.log(`  timeline of ${sessionId}:`);
  for (const e of json.events as Array<{ type: string; timestamp: string; data: { sequence: number } }>) {
    console.log(`    ${e.data.sequence}. ${e.type.padEnd(26)} ${e.timestamp}`);
  }
}

/** The scenario named on the command line: none (Spark) or `ocpi`. */
const scenario = process.argv[2];
const run = scenario === undefined ? main : scenario === "ocpi" ? () => runOcpiDemo(stateDir) : null;
if (!run) {
  console.error(`npm run demo: unknown scenario ${JSON.stringify(scenario)}; use \`npm run demo\` or \`npm run demo -- ocpi\``);
  process.exit(2);
}
run().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
