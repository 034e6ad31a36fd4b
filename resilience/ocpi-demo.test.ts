/**
 * The OCPI demo against a real `npm start`: the OCPI demo tenant (SiteId 9001) is seeded and
 * connected to the CPO simulator on 2.2.1 at start, `npm run demo -- ocpi` plays a Device Start
 * paid over OCPI on 2.2.1 and on 2.1.1 and exits 0, and what it printed (START_SESSION, the CDR,
 * the Settlement) is what the gateway holds: two sessions settled from their CDRs for the §7.7
 * amounts. A step that goes wrong ends the demo with an error. A restart on the same STATE_DIR
 * reuses the tenant and connects it again.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DemoOcpiTenant } from "../scripts/demo-ocpi-tenant";
import { runDemo, useGateway } from "./support";
import type { DemoRun, Gateway, HttpAnswer } from "./support";

/** The demo's own waits are bounded well under this; a run that needs more is a failure. */
const DEMO_TIMEOUT_MS = 100_000;
/** §7.7 from the demo's CDRs and the demo tenant's settings (retailFactor 1.25, VAT 20 %). */
const EXPECTED = {
  "2.2.1": { amount: "5.41", cost: "4.3240" },
  "2.1.1": { amount: "3.17", cost: "2.1125" },
} as const;
const VERSIONS = ["2.2.1", "2.1.1"] as const;

function ocpiTenant(gw: Gateway): DemoOcpiTenant {
  return JSON.parse(readFileSync(join(gw.stateDir, "demo-ocpi-tenant.json"), "utf8")) as DemoOcpiTenant;
}

async function asOcpiTenant(gw: Gateway, method: string, path: string): Promise<HttpAnswer> {
  const res = await fetch(`${gw.url}${path}`, { method, headers: { Authorization: `Bearer ${ocpiTenant(gw).apiKey}` }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null, headers: res.headers };
}

/** The part of the demo's output about one version, and the session it played there. */
function section(run: DemoRun, version: string): { text: string; sessionId: string } {
  const parts = run.stdout.split(/\n— /);
  const text = parts.find((p) => p.startsWith(`Device Start paid over OCPI ${version}`));
  expect(text, `no section for ${version} in:\n${run.stdout}`).toBeDefined();
  const sessionId = /StartSession → Approved, session ([0-9a-f-]{36})/.exec(text!)?.[1];
  expect(sessionId, text).toBeDefined();
  return { text: text!, sessionId: sessionId! };
}

async function expectDemoPasses(gw: Gateway): Promise<Map<string, string>> {
  const run = await runDemo(gw, ["ocpi"], DEMO_TIMEOUT_MS);
  const output = `exit ${run.code} after ${run.ms} ms\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
  expect(run.code, output).toBe(0);
  const sessions = new Map<string, string>();
  for (const version of VERSIONS) {
    const { text, sessionId } = section(run, version);
    sessions.set(version, sessionId);
    // Every OCPI message as it crossed: the commands with the CPO's answers, the Session, the CDR.
    expect(text).toMatch(new RegExp(`gateway +→ CPO  POST \\S+/ocpi/${version.replace(/\./g, "\\.")}/commands/START_SESSION`));
    expect(text).toMatch(/gateway +→ CPO  POST \S+\/commands\/STOP_SESSION/);
    expect(text).toMatch(/cpo +→ gateway  PUT \{sessions\}\//);
    expect(text).toMatch(/cpo +→ gateway  POST \{cdrs\}/);
    expect(text).toMatch(new RegExp(`gateway +← 201  Location: \\S+/ocpi/${version.replace(/\./g, "\\.")}/cdrs/`));
    expect(text).toContain(EXPECTED[version].cost);
    // The webhooks the tenant received, verified, and the Settlement with the §7.7 amount.
    for (const type of ["session.authorized", "session.charging", "session.stop_requested", "session.charging_completed", "session.settled"]) {
      expect(text).toContain(`✔ verified ${type} `);
    }
    expect(text).toContain(`Settlement received: Amount ${EXPECTED[version].amount} `);
    expect(text).toMatch(new RegExp(`Settlement: session settled, settledAmount ${EXPECTED[version].amount.replace(".", "\\.")} `));
  }
  expect(run.stdout).toContain("OCPI demo done");
  return sessions;
}

describe("npm run demo -- ocpi against a real npm start", () => {
  const h = useGateway();

  it("npm start connects the OCPI demo tenant on 2.2.1 with its station mapped to an EVSE the CPO serves", async () => {
    const connection = await asOcpiTenant(h.gw, "GET", "/v1/ocpi/connection");
    expect(connection.status, connection.text).toBe(200);
    expect(connection.json).toMatchObject({ status: "connected", version: "2.2.1", initiatedBy: "gateway", cpo: { versionsUrl: `${h.gw.cpoSimUrl}/ocpi/versions` } });
    expect(connection.json.lastSync.locations).toMatchObject({ count: 1, error: null });
    const station = await asOcpiTenant(h.gw, "GET", "/v1/stations/71239001/1");
    expect(station.status, station.text).toBe(200);
    expect(station.json).toMatchObject({ ocpi: { locationId: "LOC1", evseUid: "3256", connectorId: "1", evseStatus: "AVAILABLE" }, effectiveAvailability: "available" });
  });

  it("plays a Device Start over OCPI on 2.2.1 and 2.1.1, exits 0, and the gateway settled both from their CDRs", async () => {
    const sessions = await expectDemoPasses(h.gw);
    for (const version of VERSIONS) {
      const read = await asOcpiTenant(h.gw, "GET", `/v1/sessions/${sessions.get(version)}`);
      expect(read.status, read.text).toBe(200);
      expect(read.json).toMatchObject({ status: "settled", settledAmount: EXPECTED[version].amount, siteId: 9001, ocpi: { version, charge: EXPECTED[version].amount } });
    }
    // The demo leaves the connection as it found it.
    const connection = await asOcpiTenant(h.gw, "GET", "/v1/ocpi/connection");
    expect(connection.json).toMatchObject({ status: "connected", version: "2.2.1" });
  });

  it("a wrong step ends the demo at once with an error naming it, and the gateway released the card", async () => {
    // The CPO refuses the next command: the demo must stop there, not wait for what will not come.
    const queued = await fetch(`${h.gw.cpoSimUrl}/_sim/next-command`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"response":"REJECTED"}' });
    expect(queued.status).toBe(204);
    const run = await runDemo(h.gw, ["ocpi"], DEMO_TIMEOUT_MS);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stderr).toContain("the CPO answered START_SESSION with REJECTED, not ACCEPTED");
    expect(run.ms).toBeLessThan(20_000);
    const { sessionId } = section(run, "2.2.1");
    const read = await asOcpiTenant(h.gw, "GET", `/v1/sessions/${sessionId}`);
    expect(read.json).toMatchObject({ status: "cancelled", ocpi: { start: { response: "REJECTED" }, cancelReason: "start_rejected" } });
    // The connection was left where it was, so the next run plays.
    const connection = await asOcpiTenant(h.gw, "GET", "/v1/ocpi/connection");
    expect(connection.json).toMatchObject({ status: "connected", version: "2.2.1" });
  });

  it("a restart on the same STATE_DIR reuses the OCPI demo tenant, connects it again, and the demo plays again", async () => {
    const before = ocpiTenant(h.gw);
    await h.gw.stop();
    await h.gw.start();
    const after = ocpiTenant(h.gw);
    expect(after).toMatchObject({ id: before.id, apiKey: before.apiKey, sparkCallbackSecret: before.sparkCallbackSecret });
    const connection = await asOcpiTenant(h.gw, "GET", "/v1/ocpi/connection");
    expect(connection.status, connection.text).toBe(200);
    expect(connection.json).toMatchObject({ status: "connected", version: "2.2.1" });
    await expectDemoPasses(h.gw);
  });
});
