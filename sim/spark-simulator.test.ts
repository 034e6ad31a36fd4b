import { describe, expect, it } from "vitest";
import { buildCipher } from "../src/spark/cipher";
import { SparkClient, SparkError } from "../src/spark/client";
import type { SparkCredentials, Terminal } from "../src/spark/client";
import { hashSparkTransactionId, transactionSignature } from "../src/spark/signature";
import { DEMO_TENANT } from "./demo";
import { SparkSimulator } from "./spark-simulator";
import type { SimTenant } from "./spark-simulator";

const BASE_URL = "https://spark.sim/api";
const ACME: SimTenant = {
  tokenId: 116383,
  secretToken: "mrV3U3nsgGFrE3w5-wnBo_WCLPce-pZ1awRvTVTkungMIKThTVbj_fiXdfoGclhn0",
  integratorId: "927",
  signKey: "RbtdDsiVNjkAeRty",
};
const SERIAL: Terminal = { hwSerial: "0434334921100366" };
const NAYAX_ID = 2004545072;
const SITE = 2;
const MACHINE_AU_TIME = "20240205194122328";

/** A simulator with Acme and the demo tenant, a fixed clock, and clients wired to it. */
function setup(start = new Date("2024-02-05T17:41:22.328Z")) {
  const clock = { now: start };
  const simulator = new SparkSimulator({ tenants: [ACME, DEMO_TENANT], now: () => clock.now });
  const fetcher = ((input, init) => simulator.handle(new Request(input, init))) as typeof fetch;
  const clientFor = (credentials: Partial<SparkCredentials> = {}, options: { timeoutMs?: number; now?: () => Date } = {}) =>
    new SparkClient({ baseUrl: BASE_URL, ...ACME, ...credentials }, { fetcher, now: () => clock.now, ...options });
  return { simulator, clock, fetcher, client: clientFor(), clientFor };
}

function newId(): string {
  return crypto.randomUUID();
}

async function sparkError(promise: Promise<unknown>): Promise<SparkError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SparkError);
  return error as SparkError;
}

/** Sends a hand-made signed body, for shapes SparkClient never produces. */
async function rawCall(simulator: SparkSimulator, method: string, body: string, id: string, tenant: SimTenant = ACME): Promise<{ status: number; text: string; json: any }> {
  const response = await simulator.handle(
    new Request(`${BASE_URL}/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", IntegratorId: tenant.integratorId, TransactionSignature: await transactionSignature(id, tenant.signKey) },
      body,
    }),
  );
  const text = await response.text();
  return { status: response.status, text, json: text ? JSON.parse(text) : null };
}

let nextNayaxId = NAYAX_ID;

/** StartAuthentication + TriggerTransaction + the authorization Spark would play. */
async function authorized(env: ReturnType<typeof setup>, amount = 1500n) {
  const id = newId();
  await env.client.startAuthentication({ sparkTransactionId: id, terminal: SERIAL });
  await env.client.triggerTransaction({ sparkTransactionId: id, terminal: SERIAL, amount, timeoutSeconds: 60 });
  nextNayaxId += 1;
  const nayaxTransactionId = nextNayaxId;
  env.simulator.registerAuthorization({ nayaxTransactionId, sparkTransactionId: id, siteId: SITE, amount, machineAuTime: MACHINE_AU_TIME });
  return { id, nayaxTransactionId };
}

describe("SparkSimulator happy paths through SparkClient", () => {
  it("Remote Start pre-auth: authenticate, trigger, settle", async () => {
    const env = setup();
    const id = newId();
    await env.client.startAuthentication({ sparkTransactionId: id, terminal: SERIAL });
    await env.client.triggerTransaction({ sparkTransactionId: id, terminal: SERIAL, amount: 1500n, timeoutSeconds: 60, display: ";Station:5;" });
    expect(env.simulator.transaction(id)).toMatchObject({
      integratorId: "927",
      terminalId: "0434334921100366",
      terminalIdType: 1,
      triggers: [{ amount: 1500n, amountText: "15", timeoutSeconds: 60, display: ";Station:5;" }],
    });

    env.simulator.registerAuthorization({ nayaxTransactionId: NAYAX_ID, sparkTransactionId: id, siteId: SITE, amount: 1500n, machineAuTime: MACHINE_AU_TIME });
    env.clock.now = new Date("2024-02-05T19:22:15.572Z");
    const result = await env.client.settle({
      sparkTransactionId: id,
      nayaxTransactionId: NAYAX_ID,
      siteId: SITE,
      terminal: SERIAL,
      amount: 1225n,
      receipt: { General: [{ Company: "Acme" }] },
    });
    expect(result).toEqual({
      amount: 1225n,
      currencyCode: "EUR",
      currencyNumeric: "978",
      authCode: "333333",
      nayaxRrn: expect.stringMatching(/^\d+$/),
      fiscalRrn: "1A2b3C4d5E6f7g8H9i",
      settledAt: "2024-02-05T19:22:15.572Z",
      cardBrand: "Visa",
      cardLast4: "1234",
    });
    expect(env.simulator.authorization(NAYAX_ID)).toMatchObject({ settledAmount: 1225n, settledAmountText: "12.25", eReceiptData: '{"General":[{"Company":"Acme"}]}' });

    expect(env.simulator.requests.map((r) => r.method)).toEqual(["StartAuthentication", "TriggerTransaction", "Settlement"]);
    const settlement = env.simulator.requestsFor("Settlement")[0]!;
    expect(settlement.path).toBe("/api/Settlement");
    expect(settlement.headers["integratorid"]).toBe("927");
    expect(settlement.headers["transactionsignature"]).toBe(await transactionSignature(id, ACME.signKey));
    expect(settlement.bodyText).toContain('"Amount":12.25,');
    expect(settlement.body).toMatchObject({ Amount: "12.25", NayaxTransactionId: NAYAX_ID });
  });

  it("answers the documented shapes (seed 003 Settlement, padded StartAuthentication status)", async () => {
    const env = setup();
    const id = newId();
    const random = "123456789qwertyui";
    const cipher = buildCipher({ sparkTransactionId: id, random, secretToken: ACME.secretToken, now: env.clock.now });
    const start = await rawCall(
      env.simulator,
      "StartAuthentication",
      JSON.stringify({ TokenId: ACME.tokenId, TerminalId: "0434334921100366", TerminalIdType: 1, Random: random, Cipher: cipher, SparkTransactionId: id }),
      id,
    );
    expect(start.json).toEqual({ HashedSparkTransactionId: await hashSparkTransactionId(id), Status: { Verdict: "Approved", ErrorDescription: " No Errors " } });

    env.simulator.registerAuthorization({ nayaxTransactionId: NAYAX_ID, sparkTransactionId: id, siteId: SITE, amount: 1500n, machineAuTime: MACHINE_AU_TIME });
    const settle = await rawCall(
      env.simulator,
      "Settlement",
      `{"NayaxTransactionId":${NAYAX_ID},"SparkTransactionId":"${id}","SiteId":2,"TerminalId":"0434334921100366","TerminalIdType":1,"Amount":0.30}`,
      id,
    );
    expect(Object.keys(settle.json)).toEqual([
      "SparkTransactionId",
      "Status",
      "CardBrand",
      "CardLast4Digits",
      "AuthCode",
      "MachineAuTime",
      "AuTime",
      "SeTime",
      "CurrencyCode",
      "CurrencyNumeric",
      "FiscalRrn",
      "NayaxRRN",
      "Amount",
    ]);
    // The amount is echoed exactly as sent.
    expect(settle.text).toContain('"Amount":0.30}');
    expect(settle.json).toMatchObject({ Status: { Verdict: "Approved", ErrorDescription: "No Errors" }, MachineAuTime: MACHINE_AU_TIME, SeTime: "20240205174122328" });
  });

  it("cancels, then refuses a second cancel with 28 and a settle with 35", async () => {
    const env = setup();
    const { id, nayaxTransactionId } = await authorized(env);
    const cancel = () =>
      env.client.cancel({ sparkTransactionId: id, nayaxTransactionId, siteId: SITE, terminal: SERIAL, machineAuTime: MACHINE_AU_TIME, type: 1, amount: 1500n, reasonCode: 101 });
    const result = await cancel();
    expect(result).toMatchObject({ cancelledAt: "2024-02-05T17:41:22.328Z", currencyCode: "EUR", authCode: "333333", cardLast4: "1234" });
    expect(env.simulator.authorization(nayaxTransactionId)).toMatchObject({ cancelled: true, cancellationType: 1, cancelAmount: 1500n });

    expect(await sparkError(cancel())).toMatchObject({ kind: "declined", code: 28, description: "Already Cancelled" });
    const settle = env.client.settle({ sparkTransactionId: id, nayaxTransactionId, siteId: SITE, terminal: SERIAL, amount: 100n });
    expect(await sparkError(settle)).toMatchObject({ kind: "declined", code: 35 });
  });

  it("voids a pre-selection (CancellationType 2) by machine id", async () => {
    const env = setup();
    const { id, nayaxTransactionId } = await authorized(env, 500n);
    await env.client.cancel({
      sparkTransactionId: id,
      nayaxTransactionId,
      siteId: SITE,
      terminal: { machineId: 71234996 },
      machineAuTime: MACHINE_AU_TIME,
      type: 2,
      amount: 500n,
      reasonCode: 7,
      reasonText: "SMC card refused",
    });
    expect(env.simulator.authorization(nayaxTransactionId)).toMatchObject({ cancellationType: 2 });
    expect(env.simulator.requestsFor("CancelTransaction")[0]!.body).toMatchObject({ TerminalId: "71234996", TerminalIdType: 2, CancelAmount: "5", ReasonText: "SMC card refused" });
  });
});

describe("SparkSimulator refusals: authentication", () => {
  it("401 for an unknown IntegratorId or a wrong signature", async () => {
    const env = setup();
    const unknown = env.clientFor({ integratorId: "nobody" });
    expect(await sparkError(unknown.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({ kind: "unauthorized", httpStatus: 401 });
    const wrongKey = env.clientFor({ signKey: "wrong-sign-key00" });
    expect(await sparkError(wrongKey.triggerTransaction({ sparkTransactionId: newId(), terminal: SERIAL, amount: 1n, timeoutSeconds: 1 }))).toMatchObject({ kind: "unauthorized" });
  });

  it("401 when the signature is over another SparkTransactionId or the body has none", async () => {
    const env = setup();
    const id = newId();
    const other = await rawCall(env.simulator, "TriggerTransaction", JSON.stringify({ SparkTransactionId: newId() }), id);
    expect(other.status).toBe(401);
    const none = await rawCall(env.simulator, "TriggerTransaction", JSON.stringify({ TerminalId: "x" }), id);
    expect(none.status).toBe(401);
  });

  it("28 Invalid Token for an unknown TokenId or another integrator's", async () => {
    const env = setup();
    expect(await sparkError(env.clientFor({ tokenId: 1 }).startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({
      kind: "declined",
      code: 28,
      description: "Invalid Token",
    });
    const borrowed = env.clientFor({ tokenId: DEMO_TENANT.tokenId });
    expect(await sparkError(borrowed.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({ code: 28 });
  });

  it("34 Decryption Failure for a cipher under another secret token, or garbage", async () => {
    const env = setup();
    const wrongToken = env.clientFor({ secretToken: `x${DEMO_TENANT.secretToken}` });
    expect(await sparkError(wrongToken.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({ kind: "declined", code: 34, description: "Decryption Failure" });

    const id = newId();
    const garbage = await rawCall(
      env.simulator,
      "StartAuthentication",
      JSON.stringify({ TokenId: ACME.tokenId, TerminalId: "1", TerminalIdType: 1, Random: "123456789qwertyui", Cipher: "bm90IGEgY2lwaGVy", SparkTransactionId: id }),
      id,
    );
    expect(garbage.json).toEqual({ Status: { Verdict: "Declined", ErrorCode: 34, ErrorDescription: "Decryption Failure" } });
  });

  it("30 Validation Failed when the cipher's id or random differs from the body", async () => {
    const env = setup();
    const id = newId();
    const body = (cipherId: string, cipherRandom: string) =>
      JSON.stringify({
        TokenId: ACME.tokenId,
        TerminalId: "0434334921100366",
        TerminalIdType: 1,
        Random: "123456789qwertyui",
        Cipher: buildCipher({ sparkTransactionId: cipherId, random: cipherRandom, secretToken: ACME.secretToken, now: env.clock.now }),
        SparkTransactionId: id,
      });
    const otherRandom = await rawCall(env.simulator, "StartAuthentication", body(id, "AAAAAAAAAAAAAAAAA"), id);
    expect(otherRandom.json.Status).toMatchObject({ Verdict: "Declined", ErrorCode: 30, ErrorDescription: "Validation Failed" });
    const otherId = await rawCall(env.simulator, "StartAuthentication", body(newId(), "123456789qwertyui"), id);
    expect(otherId.json.Status).toMatchObject({ ErrorCode: 30 });
  });

  it("31 Expired Request for a cipher older than 5 minutes; 4 minutes is fine", async () => {
    const env = setup();
    const at = (minutesAgo: number) => env.clientFor({}, { now: () => new Date(env.clock.now.getTime() - minutesAgo * 60_000) });
    expect(await sparkError(at(6).startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({ kind: "declined", code: 31, description: "Expired Request" });
    await expect(at(4).startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL })).resolves.toBeUndefined();
  });
});

describe("SparkSimulator refusals: TriggerTransaction", () => {
  it("27 Unknown Transaction ID when not authenticated, or authenticated by another integrator", async () => {
    const env = setup();
    const trigger = (client: SparkClient, id: string) => client.triggerTransaction({ sparkTransactionId: id, terminal: SERIAL, amount: 1500n, timeoutSeconds: 60 });
    expect(await sparkError(trigger(env.client, newId()))).toMatchObject({ kind: "declined", code: 27, description: "Unknown Transaction ID" });

    const demo = env.clientFor(DEMO_TENANT);
    const id = newId();
    await demo.startAuthentication({ sparkTransactionId: id, terminal: SERIAL });
    expect(await sparkError(trigger(env.client, id))).toMatchObject({ code: 27 });
    await expect(trigger(demo, id)).resolves.toBeUndefined();
  });

  it("34 Missing Amount, and 997 for a string amount or a TransactionTimeout of 0", async () => {
    const env = setup();
    const id = newId();
    await env.client.startAuthentication({ sparkTransactionId: id, terminal: SERIAL });
    const base = { SparkTransactionId: id, TerminalId: "0434334921100366", TerminalIdType: 1 };
    const missing = await rawCall(env.simulator, "TriggerTransaction", JSON.stringify({ ...base, TransactionTimeout: 60 }), id);
    expect(missing.json).toEqual({ Status: { Verdict: "Declined", ErrorCode: 34, ErrorDescription: "Missing Amount" }, SparkTransactionId: id });
    const text = await rawCall(env.simulator, "TriggerTransaction", JSON.stringify({ ...base, Amount: "15.00", TransactionTimeout: 60 }), id);
    expect(text.json.Status).toMatchObject({ ErrorCode: 997 });
    const zero = await rawCall(env.simulator, "TriggerTransaction", JSON.stringify({ ...base, Amount: 15, TransactionTimeout: 0 }), id);
    expect(zero.json.Status).toMatchObject({ ErrorCode: 997, ErrorDescription: expect.stringContaining("TransactionTimeout") });
    const fraction = await rawCall(env.simulator, "TriggerTransaction", `{"SparkTransactionId":"${id}","TerminalId":"1","TerminalIdType":1,"Amount":15.001,"TransactionTimeout":60}`, id);
    expect(fraction.json.Status).toMatchObject({ ErrorCode: 997 });
  });
});

describe("SparkSimulator refusals: Settlement and CancelTransaction", () => {
  it("Settlement: 32 unknown NayaxTransactionId, 27 another session, 36 wrong site, 35 above authorized, the identical repeat answered again, 35 for another amount", async () => {
    const env = setup();
    const { id, nayaxTransactionId } = await authorized(env, 1500n);
    const settle = (o: { id?: string; nayax?: number; site?: number; amount?: bigint } = {}) =>
      env.client.settle({ sparkTransactionId: o.id ?? id, nayaxTransactionId: o.nayax ?? nayaxTransactionId, siteId: o.site ?? SITE, terminal: SERIAL, amount: o.amount ?? 1500n });

    expect(await sparkError(settle({ nayax: 1 }))).toMatchObject({ kind: "declined", code: 32, description: "Transaction Not Found or Old" });
    expect(await sparkError(settle({ id: newId() }))).toMatchObject({ code: 27, description: "Unknown Transaction ID" });
    expect(await sparkError(settle({ site: 4 }))).toMatchObject({ code: 36, description: "Site ID Not Found" });
    expect(await sparkError(settle({ amount: 1501n }))).toMatchObject({ code: 35, description: expect.stringContaining("Settlement Failed") });
    const first = await settle({ amount: 1400n });
    expect(first).toMatchObject({ amount: 1400n });
    // A client that lost the answer sends the same request again and gets the same answer.
    expect(await settle({ amount: 1400n })).toEqual(first);
    expect(await sparkError(settle({ amount: 1300n }))).toMatchObject({ code: 35, description: expect.stringContaining("already settled") });
  });

  it("Settlement: 34 Missing Amount and 997 for an EReceiptData that is not a JSON string", async () => {
    const env = setup();
    const { id, nayaxTransactionId } = await authorized(env);
    const base = `"NayaxTransactionId":${nayaxTransactionId},"SparkTransactionId":"${id}","SiteId":2,"TerminalId":"0434334921100366","TerminalIdType":1`;
    expect((await rawCall(env.simulator, "Settlement", `{${base}}`, id)).json.Status).toMatchObject({ ErrorCode: 34, ErrorDescription: "Missing Amount" });
    expect((await rawCall(env.simulator, "Settlement", `{${base},"Amount":1,"EReceiptData":{"General":[]}}`, id)).json.Status).toMatchObject({ ErrorCode: 997 });
  });

  it("Settlement: an authorization bound to another integrator is not found", async () => {
    const env = setup();
    const id = newId();
    env.simulator.registerAuthorization({ nayaxTransactionId: 77, sparkTransactionId: id, siteId: SITE, amount: 100n, integratorId: DEMO_TENANT.integratorId });
    expect(await sparkError(env.client.settle({ sparkTransactionId: id, nayaxTransactionId: 77, siteId: SITE, terminal: SERIAL, amount: 100n }))).toMatchObject({ code: 32 });
    await expect(env.clientFor(DEMO_TENANT).settle({ sparkTransactionId: id, nayaxTransactionId: 77, siteId: SITE, terminal: SERIAL, amount: 100n })).resolves.toMatchObject({ amount: 100n });
  });

  it("CancelTransaction: 32 unknown, 27 another session, 36 wrong site, 31 after settlement or above authorized", async () => {
    const env = setup();
    const { id, nayaxTransactionId } = await authorized(env, 1500n);
    const cancel = (o: { id?: string; nayax?: number; site?: number; amount?: bigint } = {}) =>
      env.client.cancel({
        sparkTransactionId: o.id ?? id,
        nayaxTransactionId: o.nayax ?? nayaxTransactionId,
        siteId: o.site ?? SITE,
        terminal: SERIAL,
        machineAuTime: MACHINE_AU_TIME,
        type: 1,
        amount: o.amount ?? 1500n,
        reasonCode: 101,
      });
    expect(await sparkError(cancel({ nayax: 1 }))).toMatchObject({ code: 32 });
    expect(await sparkError(cancel({ id: newId() }))).toMatchObject({ code: 27 });
    expect(await sparkError(cancel({ site: 9 }))).toMatchObject({ code: 36 });
    expect(await sparkError(cancel({ amount: 1501n }))).toMatchObject({ code: 31 });
    await env.client.settle({ sparkTransactionId: id, nayaxTransactionId, siteId: SITE, terminal: SERIAL, amount: 1000n });
    expect(await sparkError(cancel())).toMatchObject({ code: 31, description: expect.stringContaining("already settled") });
  });
});

describe("SparkSimulator transport", () => {
  it("404 for an unknown method, 405 for GET, 415 without JSON content type, 400 for malformed JSON", async () => {
    const env = setup();
    expect((await env.simulator.handle(new Request(`${BASE_URL}/RefundTransaction`, { method: "POST", body: "{}" }))).status).toBe(404);
    expect((await env.simulator.handle(new Request(`${BASE_URL}/Settlement`))).status).toBe(405);
    expect((await env.simulator.handle(new Request(`${BASE_URL}/Settlement`, { method: "POST", body: "{}", headers: { "Content-Type": "text/plain" } }))).status).toBe(415);
    const malformed = await rawCall(env.simulator, "Settlement", "{not json", newId());
    expect(malformed.status).toBe(400);
    expect(env.simulator.requests).toHaveLength(4);
    expect(env.simulator.requests[3]!.body).toBeUndefined();
  });
});

describe("SparkSimulator failure injection", () => {
  it("an injected HTTP status is bad_response; 401 is unauthorized; one-shot", async () => {
    const env = setup();
    const { id, nayaxTransactionId } = await authorized(env);
    const settle = () => env.client.settle({ sparkTransactionId: id, nayaxTransactionId, siteId: SITE, terminal: SERIAL, amount: 100n });
    env.simulator.failNext("Settlement", { httpStatus: 500 });
    env.simulator.failNext("Settlement", { httpStatus: 401 });
    expect(await sparkError(settle())).toMatchObject({ kind: "bad_response", httpStatus: 500 });
    expect(await sparkError(settle())).toMatchObject({ kind: "unauthorized", httpStatus: 401 });
    await expect(settle()).resolves.toMatchObject({ amount: 100n });
  });

  it("an injected error code is a decline with the code's meaning, or the given description", async () => {
    const env = setup();
    const id = newId();
    await env.client.startAuthentication({ sparkTransactionId: id, terminal: SERIAL });
    const trigger = () => env.client.triggerTransaction({ sparkTransactionId: id, terminal: SERIAL, amount: 1500n, timeoutSeconds: 60 });
    env.simulator.failNext("TriggerTransaction", { errorCode: 24 });
    env.simulator.failNext("TriggerTransaction", { errorCode: 21, description: "Device offline" });
    expect(await sparkError(trigger())).toMatchObject({ kind: "declined", code: 24, description: "Machine Not Responding", httpStatus: 200 });
    expect(await sparkError(trigger())).toMatchObject({ kind: "declined", code: 21, description: "Device offline" });
    await expect(trigger()).resolves.toBeUndefined();
    // Injected failures leave state alone: only the third trigger was recorded.
    expect(env.simulator.transaction(id)!.triggers).toHaveLength(1);
  });

  it("a network error is unreachable", async () => {
    const env = setup();
    env.simulator.failNext("StartAuthentication", { networkError: true });
    expect(await sparkError(env.client.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({ kind: "unreachable" });
  });

  it("a delay beyond the client's deadline is timeout; setLatency applies to every call", async () => {
    const env = setup();
    const slowClient = env.clientFor({}, { timeoutMs: 40 });
    env.simulator.failNext("StartAuthentication", { delayMs: 500 });
    expect(await sparkError(slowClient.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({ kind: "timeout" });

    env.simulator.setLatency(500);
    expect(await sparkError(slowClient.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL }))).toMatchObject({ kind: "timeout" });
    env.simulator.setLatency(10);
    await expect(slowClient.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL })).resolves.toBeUndefined();
  });

  it("a lost answer settles on Spark's side: the identical retry is approved, another amount declined 35", async () => {
    const env = setup();
    const { id, nayaxTransactionId } = await authorized(env);
    const settle = (amount = 700n) => env.client.settle({ sparkTransactionId: id, nayaxTransactionId, siteId: SITE, terminal: SERIAL, amount });
    env.simulator.failNext("Settlement", { lostAnswer: true });
    expect(await sparkError(settle())).toMatchObject({ kind: "unreachable" });
    expect(env.simulator.authorization(nayaxTransactionId)).toMatchObject({ settledAmount: 700n });
    await expect(settle()).resolves.toMatchObject({ amount: 700n });
    expect(await sparkError(settle(600n))).toMatchObject({ kind: "declined", code: 35 });
  });

  it("reset forgets state and queued failures", async () => {
    const env = setup();
    const { nayaxTransactionId } = await authorized(env);
    env.simulator.failNext("StartAuthentication", { networkError: true });
    env.simulator.reset();
    expect(env.simulator.authorization(nayaxTransactionId)).toBeUndefined();
    expect(env.simulator.requests).toHaveLength(0);
    await expect(env.client.startAuthentication({ sparkTransactionId: newId(), terminal: SERIAL })).resolves.toBeUndefined();
  });
});
