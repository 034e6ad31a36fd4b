/**
 * `npm run demo -- ocpi`: one Device Start paid over OCPI, end to end, on OCPI 2.2.1 and then on
 * 2.1.1, with the OCPI demo tenant that `npm start` seeds (SiteId 9001), the Spark simulator and
 * the CPO simulator. This script plays Spark (the terminal) and drives the CPO through the CPO
 * simulator's control API; the gateway does the rest. It prints every OCPI message as it crosses,
 * every webhook the tenant receives (verified), and the Spark Settlement, whose amount it checks
 * against CONTRACT §7.7 computed from the CDR.
 *
 * The connection is moved between versions through the tenant API: unregistered, then registered
 * again (gateway-initiated on 2.2.1, CPO-initiated through an invitation on 2.1.1). At the end it
 * is put back on the version it had. Every wait is bounded; a wrong step ends the demo with an error.
 */
import { formatMoney, moneyOf, parseMoney } from "../src/lib/money";
import { cardAmount } from "../src/ocpi/amounts";
import { decimalOf, formatDecimal, multiply, shift, add } from "../src/ocpi/decimal";
import { formatOcpiDateTime } from "../src/ocpi/datetime";
import type { Cost } from "../src/ocpi/model";
import { DEMO_OCPI_SITE_ID, DEMO_OCPI_TENANT } from "../sim/demo";
import { SparkDriver, checkStartSessionAnswer, infoQuery, startSession, stopCallback, transactionNotify } from "../sim/drive";
import { CALL_TIMEOUT_MS, call, startReceiver, timeline, waitFor } from "./demo-common";
import type { Answer, DemoReceiver } from "./demo-common";
import {
  DEFAULT_DEMO_OCPI_VERSION,
  DEMO_CPO_PARTY,
  DEMO_OCPI_PRE_AUTH,
  DEMO_OCPI_STATION,
  DEMO_OCPI_VERSIONS,
  cpoSim,
  demoLocation,
  ensureConnection,
  ocpiConnection,
  readDemoOcpiTenant,
  tenantApi,
} from "./demo-ocpi-tenant";
import type { DemoOcpiTenant, DemoOcpiVersion } from "./demo-ocpi-tenant";

/** How long the gateway may take to send a command after what triggers it. */
const COMMAND_WAIT_MS = 15_000;
/** How long the Settlement (after the CDR) may take: one call to the Spark simulator. */
const SETTLED_WAIT_MS = 20_000;
/** Spark's StartSession `Random` is 17 characters (spark-api.md §2.6); a new one per session, so no repeat is answered. */
const SPARK_RANDOM_LENGTH = 17;
/** A card the demo stops with (the seed card of spark-api.md). */
const CARD_HASH = "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6";
/** What the command receiver of the CPO simulator does by itself once the demo is over. */
const SIM_DEFAULT_COMMAND = { response: "ACCEPTED", result: "ACCEPTED" };
/** §7.8: the events of a Device Start paid through OCPI, in order (after `session.created` of StartSession). */
const EXPECTED_EVENTS = ["session.authorized", "session.charging", "session.stop_requested", "session.charging_completed", "session.settled"];

/** InfoQuery's ServiceStationAvailability codes (spark-api.md §2.7). */
const AVAILABILITY: Record<number, string> = { 1: "available", 2: "busy", 3: "out of service" };

const say = timeline();

/** An exact JSON number (the demo runs with JSON source-text access, like the simulators). */
const num = (text: string): unknown => JSON.rawJSON(text);

/** Prints a JSON body under the line that announced it. */
function show(body: unknown): void {
  const text = typeof body === "string" ? prettyText(body) : JSON.stringify(body, null, 2);
  for (const line of text.split("\n")) console.log(`                   ${line}`);
}

/** JSON text pretty-printed with its numbers exactly as written; other text as is. */
function prettyText(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text, (_key, value, context?: { source?: string }) => (typeof value === "number" && context?.source ? JSON.rawJSON(context.source) : value)), null, 2);
  } catch {
    return text;
  }
}

/** Strictly increasing OCPI DateTimes, so every update is later than the one before it. */
function clock(): () => string {
  let last = 0;
  return () => {
    last = Math.max(Date.now(), last + 1);
    return formatOcpiDateTime(last);
  };
}

const randomHex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();

/** A request the CPO simulator received, with its answer (`GET /_sim/requests`). */
interface SimRequest {
  method: string;
  url: string;
  bodyText: string;
  status: number;
  statusCode: number | null;
  responseText: string;
}

/** The CPO's copy of the token the gateway sent in START_SESSION. */
interface StartToken {
  uid: string;
  country_code?: string;
  party_id?: string;
  contract_id?: string;
}

class OcpiDemo {
  private readonly driver: SparkDriver;

  constructor(
    private readonly tenant: DemoOcpiTenant,
    private readonly receiver: DemoReceiver,
  ) {
    this.driver = new SparkDriver({
      gatewayUrl: tenant.gatewayUrl,
      callbackSecret: tenant.sparkCallbackSecret,
      fetcher: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) }),
    });
  }

  private async requestCount(): Promise<number> {
    return ((await this.simRequests()) ?? []).length;
  }

  private async simRequests(): Promise<SimRequest[]> {
    const answer = await cpoSim(this.tenant, "GET", "/_sim/requests");
    if (answer.status !== 200) throw new Error(`GET /_sim/requests of the CPO simulator: ${answer.status}`);
    return answer.json as SimRequest[];
  }

  /** The session as the tenant reads it. */
  private async session(id: string): Promise<any> {
    const answer = await tenantApi(this.tenant, "GET", `/v1/sessions/${id}`);
    if (answer.status !== 200) throw new Error(`GET /v1/sessions/${id}: ${answer.status} ${answer.text}`);
    return answer.json;
  }

  /** Waits for a webhook; on time-out the error says where the session stands. */
  private async event(sessionId: string, type: string, timeoutMs?: number): Promise<void> {
    try {
      await this.receiver.waitFor(sessionId, type, timeoutMs);
    } catch (error) {
      const session = await this.session(sessionId).catch(() => null);
      const where = session ? ` — the session is ${session.status}, ocpi ${JSON.stringify(session.ocpi)}, lastSparkError ${JSON.stringify(session.lastSparkError)}` : "";
      throw new Error(`${error instanceof Error ? error.message : String(error)}${where}`);
    }
  }

  /**
   * The command of `kind` the gateway sends to the CPO after request number `since` of the CPO
   * simulator's log, printed with the CPO's answer. A command the CPO refused is an error.
   */
  private async command(kind: "START_SESSION" | "STOP_SESSION", since: number): Promise<{ body: Record<string, any>; url: string }> {
    const request = await waitFor(
      COMMAND_WAIT_MS,
      async () => (await this.simRequests()).slice(since).find((r) => r.method === "POST" && new URL(r.url).pathname.endsWith(`/commands/${kind}`)),
      () => `the gateway sent no ${kind} to the CPO within ${COMMAND_WAIT_MS / 1000} s`,
    );
    say("gateway", `→ CPO  POST ${request.url}`);
    show(request.bodyText);
    say("cpo", `← ${request.status}`);
    show(request.responseText);
    if (request.status !== 200 || request.statusCode !== 1000) throw new Error(`the CPO simulator refused ${kind}: ${request.status} ${request.responseText}`);
    const result = (JSON.parse(request.responseText) as { data?: { result?: string } }).data?.result;
    if (result !== "ACCEPTED") throw new Error(`the CPO answered ${kind} with ${result ?? "no result"}, not ACCEPTED`);
    return { body: JSON.parse(request.bodyText) as Record<string, any>, url: request.url };
  }

  /** The CPO POSTs a command result to the `response_url` the command named. */
  private async result(responseUrl: string, result: string): Promise<void> {
    const body = { result };
    say("cpo", `→ gateway  POST ${responseUrl}`);
    show(body);
    const answer = await cpoSim(this.tenant, "POST", "/_sim/result", { responseUrl, body });
    this.printGatewayAnswer(answer, `command result ${result}`);
  }

  /** The CPO sends an object to one of the gateway's module endpoints (exact numbers kept). */
  private async push(method: "PUT" | "PATCH" | "POST", path: string, body: Record<string, unknown>, expected: number[]): Promise<Answer> {
    const [module, ...rest] = path.split("/");
    say("cpo", `→ gateway  ${method} {${module}}${rest.map((part) => `/${part}`).join("")}`);
    show(body);
    const answer = await cpoSim(this.tenant, "POST", "/_sim/push", JSON.stringify({ method, path, body }));
    this.printGatewayAnswer(answer, `${method} ${path}`, expected);
    return answer;
  }

  private printGatewayAnswer(answer: Answer, what: string, expected: number[] = [200]): void {
    if (answer.status !== 200) throw new Error(`the CPO simulator could not send ${what}: ${answer.status} ${answer.text}`);
    const reply = answer.json as { status: number; headers: Record<string, string>; body: unknown };
    const location = reply.headers["location"] ? `  Location: ${reply.headers["location"]}` : "";
    say("gateway", `← ${reply.status}${location}`);
    show(reply.body);
    const statusCode = (reply.body as { status_code?: number } | null)?.status_code;
    if (!expected.includes(reply.status) || statusCode !== 1000) throw new Error(`the gateway refused ${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }

  /** Polls the session until `check` holds (bounded). */
  private async sessionUntil(id: string, what: string, check: (session: any) => boolean): Promise<any> {
    let last: any = null;
    return waitFor(
      10_000,
      async () => {
        last = await this.session(id);
        return check(last) ? last : undefined;
      },
      () => `the session did not show ${what} within 10 s: status ${last?.status}, ocpi ${JSON.stringify(last?.ocpi)}`,
    );
  }

  /** One Device Start paid over OCPI on `version`. */
  async play(version: DemoOcpiVersion, settings: { retailFactor: string; vatPercent: string }): Promise<void> {
    const s = DEMO_OCPI_STATION;
    const now = clock();
    const nayaxId = 2_100_000_000 + Math.floor(Math.random() * 100_000_000);
    const random = randomHex(9).slice(0, SPARK_RANDOM_LENGTH);

    // Spark: the card chooses the station, asks, and is authorized.
    const start = await this.driver.send("StartSession", startSession({ HwSerial: s.hwSerial, MachineId: s.machineId, TokenId: DEMO_OCPI_TENANT.tokenId, Random: random }));
    const sessionId = (start.body as { SparkTransactionId?: string }).SparkTransactionId;
    const cipherProblem = checkStartSessionAnswer(start.body, { random, secretToken: DEMO_OCPI_TENANT.secretToken });
    if (start.status !== 200 || !sessionId || cipherProblem) throw new Error(`StartSession: ${start.status} ${start.text} ${cipherProblem ?? ""}`);
    say("spark", `StartSession → ${(start.body as any).Status.Verdict}, session ${sessionId} (cipher ✔)`);
    const info = await this.driver.send("InfoQuery", infoQuery({ SparkTransactionId: sessionId, SiteId: DEMO_OCPI_SITE_ID, MachineId: s.machineId, HwSerial: s.hwSerial, ServiceStationNumber: s.serviceStationNumber }));
    const availability = (info.body as any)?.ServiceStationAvailability;
    say("spark", `InfoQuery → ServiceStationAvailability ${availability} (${AVAILABILITY[availability] ?? "?"}; EVSE ${s.evseUid} as the CPO reported it), Amount ${(/"Amount":([\d.]+)/.exec(info.text) ?? [])[1]}`);
    if (availability !== 1) throw new Error(`InfoQuery: the station is not available: ${info.status} ${info.text}`);
    const authorized = await call("POST", `${this.tenant.simulatorUrl}/_sim/authorizations`, {
      body: { nayaxTransactionId: nayaxId, sparkTransactionId: sessionId, siteId: DEMO_OCPI_SITE_ID, amount: DEMO_OCPI_PRE_AUTH, integratorId: DEMO_OCPI_TENANT.integratorId },
    });
    if (authorized.status !== 201) throw new Error(`the Spark simulator's authorization: ${authorized.status} ${authorized.text}`);
    let since = await this.requestCount();
    const notify = await this.driver.send(
      "TransactionNotify",
      transactionNotify({
        SparkTransactionId: sessionId,
        SiteId: DEMO_OCPI_SITE_ID,
        MachineId: s.machineId,
        HwSerial: s.hwSerial,
        ServiceStationNumber: s.serviceStationNumber,
        NayaxTransactionId: nayaxId,
        Amount: moneyOf(DEMO_OCPI_PRE_AUTH),
      }),
    );
    const verdict = (notify.body as any)?.Status?.Verdict;
    say("spark", `TransactionNotify ${DEMO_OCPI_PRE_AUTH} → ${verdict}: ${(notify.body as any)?.Status?.StatusMessage ?? notify.text}`);
    if (verdict !== "Approved") throw new Error(`TransactionNotify was not approved: ${notify.status} ${notify.text}`);
    await this.event(sessionId, "session.authorized");

    // The gateway starts the charge at the CPO; the CPO accepts, then reports the result.
    const started = await this.command("START_SESSION", since);
    const token = started.body.token as StartToken;
    if (version === "2.2.1" && String(started.body.authorization_reference).toLowerCase() !== sessionId) {
      throw new Error(`START_SESSION names authorization_reference ${started.body.authorization_reference}, not the session ${sessionId}`);
    }
    await this.sessionUntil(sessionId, "ocpi.start.response ACCEPTED", (x) => x.ocpi?.start?.response === "ACCEPTED");
    await this.result(started.body.response_url as string, "ACCEPTED");
    const afterResult = await this.sessionUntil(sessionId, "ocpi.start.result ACCEPTED", (x) => x.ocpi?.start?.result === "ACCEPTED");
    say("tenant", `session ${afterResult.status}, ocpi.tokenUid ${afterResult.ocpi.tokenUid}, ocpi.start ${JSON.stringify(afterResult.ocpi.start)}`);

    // The CPO's Session: ACTIVE, then charging progress.
    const cpoSessionId = `${version === "2.2.1" ? "S221" : "S211"}-${randomHex(4)}`;
    const sessionPath = `sessions/${DEMO_CPO_PARTY.countryCode}/${DEMO_CPO_PARTY.partyId}/${cpoSessionId}`;
    const startedAt = now();
    const registered = await cpoSim(this.tenant, "POST", "/_sim/sessions", { id: cpoSessionId });
    if (registered.status !== 204) throw new Error(`the CPO simulator did not take Session ${cpoSessionId}: ${registered.status}`);
    const plan = version === "2.2.1" ? PLAN_221 : PLAN_211;
    await this.push("PUT", sessionPath, sessionObject(version, { id: cpoSessionId, sessionId, token, startedAt, lastUpdated: now(), kwh: "0", cost: plan.startCost }), [200, 201]);
    await this.event(sessionId, "session.charging");
    await this.push("PATCH", sessionPath, sessionPatch(version, { lastUpdated: now(), kwh: plan.progressKwh, cost: plan.progressCost }), [200]);

    // The card is presented again: Spark's StopCallback, and the gateway stops the charge at the CPO.
    since = await this.requestCount();
    const stop = await this.driver.send(
      "StopCallback",
      stopCallback({ SparkTransactionId: sessionId, NayaxTransactionId: nayaxId, StopSiteId: DEMO_OCPI_SITE_ID, MachineId: s.machineId, HwSerial: s.hwSerial, CardHash: CARD_HASH, ServiceStationNumber: s.serviceStationNumber }),
    );
    say("spark", `StopCallback → ${(stop.body as any)?.Status?.Verdict ?? stop.text}`);
    if ((stop.body as any)?.Status?.Verdict !== "Approved") throw new Error(`StopCallback was not approved: ${stop.status} ${stop.text}`);
    await this.event(sessionId, "session.stop_requested");
    const stopped = await this.command("STOP_SESSION", since);
    if (String(stopped.body.session_id).toUpperCase() !== cpoSessionId.toUpperCase()) throw new Error(`STOP_SESSION names session_id ${stopped.body.session_id}, not ${cpoSessionId}`);
    await this.result(stopped.body.response_url as string, "ACCEPTED");

    // The charger stops: the Session is COMPLETED, then the CDR comes.
    const endedAt = now();
    await this.push("PATCH", sessionPath, sessionPatch(version, { lastUpdated: now(), kwh: plan.kwh, cost: plan.cdrCost, status: "COMPLETED", endedAt }), [200]);
    await this.event(sessionId, "session.charging_completed");
    const cdrId = `CDR-${randomHex(4)}`;
    const cdr = cdrObject(version, { id: cdrId, cpoSessionId, sessionId, token, startedAt, endedAt, lastUpdated: now(), kwh: plan.kwh, cost: plan.cdrCost });
    await this.push("POST", "cdrs", cdr, [201]);

    // The gateway settles the card with Spark from the CDR.
    await this.event(sessionId, "session.settled", SETTLED_WAIT_MS);
    const settled = await this.session(sessionId);
    const spark = await call("GET", `${this.tenant.simulatorUrl}/_sim/authorizations/${nayaxId}`);
    if (spark.status !== 200) throw new Error(`the Spark simulator has no authorization ${nayaxId}: ${spark.status}`);
    const sparkAmount = spark.json.settledAmountText as string | null;
    say("spark", `Settlement received: Amount ${sparkAmount} for NayaxTransactionId ${nayaxId} (SiteId ${spark.json.siteId}), EReceiptData ${spark.json.eReceiptData}`);
    const expected = cardAmount({ totalCost: plan.cdrCostModel, version, settings, authorized: moneyOf(DEMO_OCPI_PRE_AUTH) });
    say("check", `${explain(version, plan.cdrCostModel, settings)} → ${formatMoney(expected.amount)}`);
    const sparkMinor = sparkAmount === null ? null : parseMoney(sparkAmount);
    if (!sparkMinor?.ok || sparkMinor.value !== expected.amount) throw new Error(`Spark was settled for ${sparkAmount}, not ${formatMoney(expected.amount)} as the tenant's settings make of the CDR`);
    if (settled.status !== "settled" || settled.settledAmount !== formatMoney(expected.amount)) {
      throw new Error(`the session is ${settled.status} for ${settled.settledAmount}, not settled for ${formatMoney(expected.amount)}`);
    }
    say("tenant", `Settlement: session ${settled.status}, settledAmount ${settled.settledAmount} ${settled.currency ?? ""}, ocpi.charge ${settled.ocpi?.charge}, ocpi.cdrId ${settled.ocpi?.cdrId}`);
    printSession(settled);
  }
}

/** The amounts one demo charge goes through on a version (exact decimal text). */
interface Plan {
  startCost: CostText;
  progressKwh: string;
  progressCost: CostText;
  kwh: string;
  cdrCost: CostText;
  cdrCostModel: Cost;
}
/** A cost as the CPO writes it: a 2.2.1 Price, or a 2.1.1 number (without VAT). */
type CostText = { exclVat: string; inclVat?: string };

/** 12.011 kWh at the Tariff's 0.30 wholesale: 3.6033 excl. VAT, 4.3240 incl. 20 % → 4.3240 × 1.25 = 5.405 → 5.41. */
const PLAN_221: Plan = {
  startCost: { exclVat: "0.00", inclVat: "0.00" },
  progressKwh: "6.25",
  progressCost: { exclVat: "1.875", inclVat: "2.25" },
  kwh: "12.011",
  cdrCost: { exclVat: "3.6033", inclVat: "4.3240" },
  cdrCostModel: { exclVat: "3.6033", inclVat: "4.3240" },
};
/** 7.0417 kWh at 0.30: 2.1125 without VAT (2.1.1 has no other) → 2.1125 × 1.20 × 1.25 = 3.16875 → 3.17. */
const PLAN_211: Plan = {
  startCost: { exclVat: "0.00" },
  progressKwh: "3.5",
  progressCost: { exclVat: "1.05" },
  kwh: "7.0417",
  cdrCost: { exclVat: "2.1125" },
  cdrCostModel: { exclVat: "2.1125", inclVat: null },
};

function costField(version: DemoOcpiVersion, cost: CostText): unknown {
  return version === "2.2.1" ? { excl_vat: num(cost.exclVat), ...(cost.inclVat ? { incl_vat: num(cost.inclVat) } : {}) } : num(cost.exclVat);
}

/** A location as a 2.1.1 Session or CDR embeds it: the EVSE charging. */
function embeddedLocation(lastUpdated: string): Record<string, unknown> {
  const location = demoLocation("2.1.1", lastUpdated) as { evses: Array<Record<string, unknown>> };
  return { ...location, evses: location.evses.map((e) => ({ ...e, status: "CHARGING" })) };
}

function sessionObject(version: DemoOcpiVersion, x: { id: string; sessionId: string; token: StartToken; startedAt: string; lastUpdated: string; kwh: string; cost: CostText }): Record<string, unknown> {
  const s = DEMO_OCPI_STATION;
  if (version === "2.1.1") {
    return {
      id: x.id,
      start_datetime: x.startedAt,
      kwh: num(x.kwh),
      auth_id: x.token.uid,
      auth_method: "AUTH_REQUEST",
      location: embeddedLocation(x.lastUpdated),
      currency: "EUR",
      total_cost: costField(version, x.cost),
      status: "ACTIVE",
      last_updated: x.lastUpdated,
    };
  }
  return {
    country_code: DEMO_CPO_PARTY.countryCode,
    party_id: DEMO_CPO_PARTY.partyId,
    id: x.id,
    start_date_time: x.startedAt,
    kwh: num(x.kwh),
    cdr_token: cdrToken(x.token),
    auth_method: "COMMAND",
    authorization_reference: x.sessionId,
    location_id: s.locationId,
    evse_uid: s.evseUid,
    connector_id: s.connectorId,
    currency: "EUR",
    total_cost: costField(version, x.cost),
    status: "ACTIVE",
    last_updated: x.lastUpdated,
  };
}

function sessionPatch(version: DemoOcpiVersion, x: { lastUpdated: string; kwh: string; cost: CostText; status?: "COMPLETED"; endedAt?: string }): Record<string, unknown> {
  return {
    ...(x.status ? { status: x.status, [version === "2.2.1" ? "end_date_time" : "end_datetime"]: x.endedAt } : {}),
    kwh: num(x.kwh),
    total_cost: costField(version, x.cost),
    last_updated: x.lastUpdated,
  };
}

/** The 2.2.1 CdrToken: the token the gateway sent in START_SESSION. */
function cdrToken(token: StartToken): Record<string, unknown> {
  return { country_code: token.country_code, party_id: token.party_id, uid: token.uid, type: "AD_HOC_USER", contract_id: token.contract_id ?? token.uid };
}

function cdrObject(
  version: DemoOcpiVersion,
  x: { id: string; cpoSessionId: string; sessionId: string; token: StartToken; startedAt: string; endedAt: string; lastUpdated: string; kwh: string; cost: CostText },
): Record<string, unknown> {
  const s = DEMO_OCPI_STATION;
  const chargingPeriods = [{ start_date_time: x.startedAt, dimensions: [{ type: "ENERGY", volume: num(x.kwh) }], ...(version === "2.2.1" ? { tariff_id: "TAR1" } : {}) }];
  if (version === "2.1.1") {
    return {
      id: x.id,
      start_date_time: x.startedAt,
      stop_date_time: x.endedAt,
      auth_id: x.token.uid,
      auth_method: "AUTH_REQUEST",
      location: embeddedLocation(x.lastUpdated),
      currency: "EUR",
      charging_periods: chargingPeriods,
      total_cost: costField(version, x.cost),
      total_energy: num(x.kwh),
      total_time: num("0.5"),
      last_updated: x.lastUpdated,
    };
  }
  const location = demoLocation("2.2.1", x.lastUpdated) as Record<string, any>;
  return {
    country_code: DEMO_CPO_PARTY.countryCode,
    party_id: DEMO_CPO_PARTY.partyId,
    id: x.id,
    start_date_time: x.startedAt,
    end_date_time: x.endedAt,
    session_id: x.cpoSessionId,
    cdr_token: cdrToken(x.token),
    auth_method: "COMMAND",
    authorization_reference: x.sessionId,
    cdr_location: {
      id: s.locationId,
      name: location.name,
      address: location.address,
      city: location.city,
      postal_code: location.postal_code,
      country: location.country,
      coordinates: location.coordinates,
      evse_uid: s.evseUid,
      evse_id: location.evses[0].evse_id,
      connector_id: s.connectorId,
      connector_standard: "IEC_62196_T2",
      connector_format: "SOCKET",
      connector_power_type: "AC_3_PHASE",
    },
    currency: "EUR",
    charging_periods: chargingPeriods,
    total_cost: costField(version, x.cost),
    total_energy: num(x.kwh),
    total_time: num("0.5"),
    last_updated: x.lastUpdated,
  };
}

/** §7.7 for this CDR, spelled out with the exact unrounded product. */
function explain(version: DemoOcpiVersion, cost: Cost, settings: { retailFactor: string; vatPercent: string }): string {
  if (version === "2.2.1" && cost.inclVat !== null) {
    const product = multiply(decimalOf(cost.inclVat), decimalOf(settings.retailFactor));
    return `amount: total_cost.incl_vat ${cost.inclVat} × retailFactor ${settings.retailFactor} = ${formatDecimal(product)}, rounded half away from zero`;
  }
  const vat = shift(add({ units: 100n, scale: 0 }, decimalOf(settings.vatPercent)), 2);
  const product = multiply(multiply(decimalOf(cost.exclVat), vat), decimalOf(settings.retailFactor));
  return `amount: total_cost ${cost.exclVat} (excl. VAT) × (1 + ${settings.vatPercent} / 100) × retailFactor ${settings.retailFactor} = ${formatDecimal(product)}, rounded half away from zero`;
}

/** The session's OCPI side and its timeline, checked against §7.8's order of events. */
function printSession(session: any): void {
  const o = session.ocpi;
  console.log(`  ocpi of ${session.id}: version ${o.version}, ${o.countryCode}/${o.partyId} ${o.locationId}/${o.evseUid}/${o.connectorId ?? "-"}, sessionId ${o.sessionId}, status ${o.status}, kwh ${o.kwh}, cost ${JSON.stringify(o.cost)}`);
  console.log(`    start ${JSON.stringify(o.start)}`);
  console.log(`    stop  ${JSON.stringify(o.stop)}`);
  console.log(`  timeline of ${session.id}:`);
  const events = session.events as Array<{ type: string; timestamp: string; data: { sequence: number } }>;
  for (const e of events) console.log(`    ${e.data.sequence}. ${e.type.padEnd(28)} ${e.timestamp}`);
  const types = events.map((e) => e.type).filter((type, i) => !(i === 0 && type === "session.created"));
  if (JSON.stringify(types) !== JSON.stringify(EXPECTED_EVENTS)) throw new Error(`the timeline is ${types.join(", ")}; a Device Start paid over OCPI emits ${EXPECTED_EVENTS.join(", ")}`);
}

/** A clear error when something `npm start` runs does not answer. */
async function preflight(tenant: DemoOcpiTenant): Promise<void> {
  for (const [what, url] of [
    ["the gateway", `${tenant.gatewayUrl}/health`],
    ["the Spark simulator", `${tenant.simulatorUrl}/_sim/health`],
    ["the CPO simulator", `${tenant.cpoSimulatorUrl}/_sim/health`],
  ] as const) {
    const answer = await call("GET", url, { timeoutMs: 5_000 }).catch(() => null);
    if (answer?.status !== 200) throw new Error(`${what} does not answer on ${url}: is \`npm start\` running, with this STATE_DIR?`);
  }
}

/** Runs the OCPI demo against the gateway `npm start` runs with this STATE_DIR. */
export async function runOcpiDemo(stateDir: string): Promise<void> {
  const tenant = readDemoOcpiTenant(stateDir);
  await preflight(tenant);
  const before = await ocpiConnection(tenant);
  const restoreVersion = before.status === "connected" && before.version ? before.version : DEFAULT_DEMO_OCPI_VERSION;
  const settings = await tenantApi(tenant, "GET", "/v1/ocpi/settings");
  if (settings.status !== 200) throw new Error(`GET /v1/ocpi/settings: ${settings.status} ${settings.text}`);
  say("tenant", `OCPI demo tenant ${tenant.id}: SiteId ${DEMO_OCPI_SITE_ID}, station ${DEMO_OCPI_STATION.machineId}/${DEMO_OCPI_STATION.serviceStationNumber} → EVSE ${DEMO_OCPI_STATION.evseUid}; settings ${JSON.stringify(settings.json)}`);

  const receiver = await startReceiver(say);
  const endpoint = await tenantApi(tenant, "POST", "/v1/webhook-endpoints", { url: receiver.url });
  if (endpoint.status !== 201) {
    receiver.close();
    throw new Error(`could not register the receiver: ${endpoint.status} ${endpoint.text}`);
  }
  receiver.setSecret(endpoint.json.secret);
  say("tenant", `webhook endpoint ${endpoint.json.id} → ${receiver.url}`);
  // The demo posts every command result itself.
  await cpoSim(tenant, "PUT", "/_sim/default-command", { response: "ACCEPTED", result: null });
  const demo = new OcpiDemo(tenant, receiver);
  let failure: unknown = null;
  try {
    for (const version of DEMO_OCPI_VERSIONS) {
      console.log(`\n— Device Start paid over OCPI ${version} (card stop) —`);
      const connection = await ensureConnection(tenant, version, say);
      say("tenant", `OCPI ${connection.version} connection (registered by ${connection.initiatedBy === "cpo" ? "the CPO" : "the gateway"}) with ${connection.cpo?.parties.map((p) => `${p.countryCode}/${p.partyId}`).join(", ")}`);
      await demo.play(version, settings.json);
    }
  } catch (error) {
    failure = error;
  } finally {
    await cpoSim(tenant, "PUT", "/_sim/default-command", SIM_DEFAULT_COMMAND).catch(() => undefined);
    await tenantApi(tenant, "DELETE", `/v1/webhook-endpoints/${endpoint.json.id}`).catch(() => undefined);
    receiver.close();
    try {
      const connection = await ocpiConnection(tenant);
      if (connection.status !== "connected" || connection.version !== restoreVersion) {
        console.log(`\n— Back to OCPI ${restoreVersion}, as the connection was before the demo —`);
        await ensureConnection(tenant, restoreVersion, say);
      }
    } catch (error) {
      if (!failure) failure = error;
      else console.error(`(could not put the connection back on ${restoreVersion}: ${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (failure) throw failure;
  console.log(`\nOCPI demo done: ${DEMO_OCPI_VERSIONS.join(" and ")}, each started over OCPI, stopped by card, settled from its CDR.`);
}
