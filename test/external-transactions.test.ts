/**
 * External transactions (CONTRACT §9): ExternalSettlement and ExternalCancel of authorizations
 * taken outside Spark's flows, through the tenant API, against the Spark simulator.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { externalSessionId } from "../src/sessions/ids";
import { bodyOf, sent, session, sessionSettings } from "./session-flows";
import type { ErrorJson, SessionJson } from "./session-flows";
import { installSimulator } from "./spark-harness";
import type { SimTenantHandle } from "./spark-harness";
import { expectApiError, freshSite, tenantJson } from "./support";

afterEach(() => vi.restoreAllMocks());

const HW = "0434334921100366";
let nayax = 7_200_000_000;

/** `YYYY-MM-DDTHH:mm:ss.SSS` of an instant in UTC, and Spark's 17 digits of it. */
const localTime = (ms: number) => new Date(ms).toISOString().slice(0, 23);
const digits = (local: string) => local.replace(/[-T:.]/g, "");

async function setup(options: { enabled?: boolean; amount?: bigint; authorizedAgoMs?: number } = {}) {
  const harness = installSimulator();
  const siteId = freshSite();
  const t = await harness.tenant({ siteIds: [siteId] });
  const nayaxTransactionId = nayax++;
  const authorizedAt = Date.now() - (options.authorizedAgoMs ?? 60_000);
  const machineAuTime = localTime(authorizedAt);
  harness.simulator.registerExternal({
    nayaxTransactionId,
    siteId,
    terminalId: HW,
    amount: options.amount ?? 2000n,
    machineAuTime: digits(machineAuTime),
    authorizedAt: new Date(authorizedAt),
    enabled: options.enabled ?? true,
  });
  return { ...harness, t, siteId, nayaxTransactionId, machineAuTime };
}

type Ctx = Awaited<ReturnType<typeof setup>>;
/** The authorization both calls name. */
const authorization = (c: Ctx) => ({ nayaxTransactionId: c.nayaxTransactionId, siteId: c.siteId, terminal: { hwSerial: HW }, machineAuTime: c.machineAuTime });
const settleBody = (c: Ctx, o: Record<string, unknown> = {}) => ({
  ...authorization(c),
  amount: "12.25",
  receipt: { General: [{ Station: "B12" }] },
  products: [{ code: "EV-KWH", unitPrice: "2.45", quantity: 5 }],
  ...o,
});
const cancelBody = (c: Ctx, o: Record<string, unknown> = {}) => ({
  ...authorization(c),
  amount: "20.00",
  reasonCode: "01",
  reasonText: "No service delivered",
  ...o,
});
const post = (t: SimTenantHandle, what: "settle" | "cancel", json: unknown, headers: Record<string, string> = {}) =>
  tenantJson<SessionJson & ErrorJson>(t.apiKey, `/v1/external-transactions/${what}`, { method: "POST", json, headers });

describe("POST /v1/external-transactions/settle", () => {
  it("StartAuthentication, then ExternalSettlement with exact amounts and ProductInfo; 201 with a settled external session", async () => {
    const c = await setup();
    const res = await post(c.t, "settle", settleBody(c));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ flow: "external", status: "settled", nayaxTransactionId: c.nayaxTransactionId, siteId: c.siteId, hwSerial: HW, settledAmount: "12.25", deviceTime: c.machineAuTime, operation: null });
    const [auth] = sent(c.simulator, "StartAuthentication");
    const [external] = sent(c.simulator, "ExternalSettlement");
    expect(bodyOf(auth!)["SparkTransactionId"]).toBe(res.body.id);
    expect(c.simulator.requests.map((r) => r.method)).toEqual(["StartAuthentication", "ExternalSettlement"]);
    // Byte for byte: the amount and the unit price as exact literals, the receipt as a JSON string.
    expect(external!.bodyText).toBe(
      `{"NayaxTransactionId":${c.nayaxTransactionId},"SparkTransactionId":"${res.body.id}","MachineAuTime":"${digits(c.machineAuTime)}","SiteId":${c.siteId},"TerminalId":"${HW}","TerminalIdType":1,"Amount":12.25,"EReceiptData":"{\\"General\\":[{\\"Station\\":\\"B12\\"}]}","ProductInfo":[{"Value":2.45,"Code":"EV-KWH","Quantity":5}]}`,
    );
    expect(c.simulator.external(c.nayaxTransactionId)).toMatchObject({ settledAmount: 1225n });
    const read = await session(c.t, res.body.id);
    expect(read.events.map((e) => e.type)).toEqual(["session.settled"]);
  });

  it("reads JSON numbers exactly: 12.25 and a unit price of 2.450 go out as written", async () => {
    const c = await setup();
    const text = JSON.stringify(settleBody(c, { amount: "AMOUNT", products: [{ code: "P", unitPrice: "PRICE", quantity: 2 }] }))
      .replace('"AMOUNT"', "12.25")
      .replace('"PRICE"', "2.450");
    const res = await tenantJson<SessionJson>(c.t.apiKey, "/v1/external-transactions/settle", { method: "POST", body: text, headers: { "Content-Type": "application/json" } });
    expect(res.status, res.text).toBe(201);
    expect(sent(c.simulator, "ExternalSettlement")[0]!.bodyText).toContain('"Amount":12.25,');
    expect(sent(c.simulator, "ExternalSettlement")[0]!.bodyText).toContain('"ProductInfo":[{"Value":2.450,"Code":"P","Quantity":2}]');
  });

  it("a NayaxTransactionId settled through this API is 409; the same Idempotency-Key and body answer the first answer", async () => {
    const c = await setup();
    const key = { "Idempotency-Key": `ext-${c.nayaxTransactionId}` };
    const first = await post(c.t, "settle", settleBody(c), key);
    expect(first.status, first.text).toBe(201);
    const again = await post(c.t, "settle", settleBody(c), key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect((await post(c.t, "settle", settleBody(c, { amount: "10.00" }), key)).status).toBe(409);
    const withoutKey = await post(c.t, "settle", settleBody(c));
    expect(withoutKey.status).toBe(409);
    expect(withoutKey.body.error.code).toBe("already_settled");
    const cancel = await post(c.t, "cancel", cancelBody(c));
    expect(cancel.status).toBe(409);
    expect(sent(c.simulator, "ExternalSettlement")).toHaveLength(1);
    expect(sent(c.simulator, "ExternalCancel")).toHaveLength(0);
  });

  it.each([
    [50, "Deferred Settlement Failed"],
    [52, "No Support for Deferred Settlement/Cancel"],
    [999, "Nayax General Error"],
  ])("Spark refusing with %i is 502 with error.spark; nothing settled, and the transaction may be tried again", async (code, description) => {
    const c = await setup();
    c.simulator.failNext("ExternalSettlement", { errorCode: code, description });
    const refused = await post(c.t, "settle", settleBody(c));
    expect(refused.status, refused.text).toBe(502);
    expect(refused.body.error).toMatchObject({ code: "spark_error", spark: { code, description } });
    expect(c.simulator.external(c.nayaxTransactionId)!.settledAmount).toBeNull();
    const retry = await post(c.t, "settle", settleBody(c));
    expect(retry.status, retry.text).toBe(201);
    expect(retry.body).toMatchObject({ status: "settled", flow: "external" });
    expect(c.simulator.external(c.nayaxTransactionId)!.settledAmount).toBe(1225n);
  });

  it("a device without External Settlement: the simulator's 52 reaches the tenant", async () => {
    const c = await setup({ enabled: false });
    const res = await post(c.t, "settle", settleBody(c));
    expect(res.status, res.text).toBe(502);
    expect(res.body.error.spark).toMatchObject({ code: 52 });
  });

  it("an unknown outcome is 202 with the operation; the identical request is re-sent until Spark answers", async () => {
    const c = await setup();
    // The session's id is derived from the tenant and the NayaxTransactionId: give that object a short re-send schedule first.
    await sessionSettings(await externalSessionId(env.ENCRYPTION_KEY, c.t.id, c.nayaxTransactionId), { SPARK_RESEND_SCHEDULE: "1" });
    c.simulator.failNext("ExternalSettlement", { lostAnswer: true });
    const res = await post(c.t, "settle", settleBody(c));
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ flow: "external", status: "authorized", operation: { kind: "external_settle", amount: "12.25", state: "unknown", attempts: 1 } });
    expect((await post(c.t, "settle", settleBody(c))).status).toBe(202);
    expect((await post(c.t, "settle", settleBody(c, { amount: "11.00" }))).status).toBe(409);
    await vi.waitFor(async () => expect((await session(c.t, res.body.id)).status).toBe("settled"), { timeout: 15_000, interval: 200 });
    const requests = sent(c.simulator, "ExternalSettlement").filter((r) => bodyOf(r)["NayaxTransactionId"] === c.nayaxTransactionId);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(new Set(requests.map((r) => r.bodyText)).size).toBe(1);
  });
});

describe("POST /v1/external-transactions/cancel", () => {
  it("StartAuthentication, then ExternalCancel with a string ReasonCode and CancelAmount; 201 cancelled", async () => {
    const c = await setup();
    const res = await post(c.t, "cancel", cancelBody(c));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ flow: "external", status: "cancelled", nayaxTransactionId: c.nayaxTransactionId });
    const body = bodyOf(sent(c.simulator, "ExternalCancel")[0]!);
    expect(body).toMatchObject({ NayaxTransactionId: c.nayaxTransactionId, SiteId: c.siteId, MachineAuTime: digits(c.machineAuTime), TerminalId: HW, TerminalIdType: 1, CancelAmount: "20", ReasonCode: "01", ReasonText: "No service delivered" });
    expect(await session(c.t, res.body.id)).toMatchObject({ status: "cancelled" });
    expect((await post(c.t, "settle", settleBody(c))).status).toBe(409);
  });

  it("above the authorized amount: Spark's 51 is 502", async () => {
    const c = await setup({ amount: 1000n });
    const res = await post(c.t, "cancel", cancelBody(c, { amount: "20.00" }));
    expect(res.status, res.text).toBe(502);
    expect(res.body.error.spark).toMatchObject({ code: 51 });
  });
});

describe("validation before anything reaches Spark", () => {
  it("machineAuTime more than 48 h ago is 422; the offset counts", async () => {
    const c = await setup();
    const old = localTime(Date.now() - 49 * 60 * 60 * 1000);
    expectApiError(await post(c.t, "settle", settleBody(c, { machineAuTime: old })), 422, "machineAuTime");
    expectApiError(await post(c.t, "cancel", cancelBody(c, { machineAuTime: old })), 422, "machineAuTime");
    // A local time 47 h ago at +02:00 is 49 h ago in UTC: too old. Without an offset the same digits are UTC, 47 h ago: fine.
    const digits47 = localTime(Date.now() - 47 * 60 * 60 * 1000).slice(0, 19);
    expectApiError(await post(c.t, "settle", settleBody(c, { machineAuTime: `${digits47}+02:00` })), 422, "machineAuTime");
    expect(c.simulator.requests).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["an amount with three decimals", { amount: "1.005" }, "amount"],
    ["a negative amount", { amount: "-1.00" }, "amount"],
    ["a malformed machineAuTime", { machineAuTime: "20240205194122328" }, "machineAuTime"],
    ["a machineAuTime with a bad offset", { machineAuTime: "2024-02-05T19:41:22+2" }, "machineAuTime"],
    ["a terminal without an id", { terminal: {} }, "terminal"],
    ["a unit price that is not a decimal", { products: [{ code: "P", unitPrice: "cheap", quantity: 1 }] }, "products.0.unitPrice"],
    ["a product without a code", { products: [{ unitPrice: "1", quantity: 1 }] }, "products.0.code"],
    ["an unknown field", { tip: "1.00" }, "tip"],
    ["a NayaxTransactionId that is not an integer", { nayaxTransactionId: "2004545072" }, "nayaxTransactionId"],
  ])("settle with %s is 400 naming it", async (_what, override, field) => {
    const c = await setup();
    expectApiError(await post(c.t, "settle", settleBody(c, override)), 400, field);
    expect(c.simulator.requests).toEqual([]);
  });

  it("zero is 422, a cancel without reasonCode or reasonText is 400", async () => {
    const c = await setup();
    expectApiError(await post(c.t, "settle", settleBody(c, { amount: "0.00" })), 422, "amount");
    expectApiError(await post(c.t, "cancel", cancelBody(c, { reasonCode: undefined, reasonText: undefined })), 400, "reasonCode");
    expect(c.simulator.requests).toEqual([]);
  });
});
