/**
 * Remote Start against the Spark simulator (CONTRACT.md §4–§5, spark-api.md §2.1–§2.5, §3.1):
 * POST /v1/sessions runs StartAuthentication then TriggerTransaction; Spark's TransactionCallback,
 * DeclineCallback and TimeoutCallback then move the session.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { declineCallback, timeoutCallback, transactionCallback } from "../sim/drive";
import { cipherTimestampToDate, openCipher } from "../src/spark/cipher";
import { freshSite, tenantJson } from "./support";
import { authorizedRemote, drain, bodyOf, eventTypes, expectSigned, freshNayaxId, remoteStart, sent, session, settle, startedRemote } from "./session-flows";
import type { SessionJson } from "./session-flows";
import { installSimulator } from "./spark-harness";
import type { SimTenantHandle } from "./spark-harness";

afterEach(() => vi.restoreAllMocks());

/** A tenant on a fresh site, with the simulator. */
async function setup() {
  const harness = installSimulator();
  const siteId = freshSite();
  const t = await harness.tenant({ siteIds: [siteId] });
  return { ...harness, siteId, t };
}

/** The tenant's session list (from D1). */
async function listed(t: SimTenantHandle): Promise<string[]> {
  const res = await tenantJson<{ data: Array<{ id: string }> }>(t.apiKey, "/v1/sessions");
  expect(res.status, res.text).toBe(200);
  return res.body.data.map((s) => s.id);
}

/** `yyMMddHHmm` of a UTC instant. */
function utcMinute(at: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(at.getUTCFullYear() % 100)}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}`;
}

describe("POST /v1/sessions: StartAuthentication then TriggerTransaction", () => {
  it("by hardware serial: TerminalIdType 1, the cipher, the exact amount, timeout and display; 201 awaiting_card", async () => {
    const { simulator, t } = await setup();
    const before = new Date();
    const res = await remoteStart(t, { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", timeoutSeconds: 60, display: ";Charging Station:3;Day:30.52p;" });
    const after = new Date();
    expect(res.status, res.text).toBe(201);
    const id = res.body.id;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.body).toMatchObject({ flow: "remote_start", status: "awaiting_card", hwSerial: "0434334921100366", nayaxTransactionId: null, authorizedAmount: null, paymentMode: "pre_authorization" });
    expect(simulator.requests.map((r) => r.method)).toEqual(["StartAuthentication", "TriggerTransaction"]);

    const auth = sent(simulator, "StartAuthentication")[0]!;
    expect(auth.path).toBe("/api/StartAuthentication");
    await expectSigned(auth, t, id);
    const authBody = bodyOf(auth);
    expect(Object.keys(authBody).sort()).toEqual(["Cipher", "Random", "SparkTransactionId", "TerminalId", "TerminalIdType", "TokenId"]);
    expect(authBody).toMatchObject({ TokenId: t.spark.tokenId, TerminalId: "0434334921100366", TerminalIdType: 1, SparkTransactionId: id });
    expect(authBody["Random"]).toMatch(/^[A-Za-z0-9]{17}$/);
    // The cipher opens under the tenant's secret token to id "=" Random yyMMddHHmm (UTC, now).
    const opened = openCipher(authBody["Cipher"] as string, t.spark.secretToken);
    expect(opened).not.toBeNull();
    expect(opened!.sparkTransactionId).toBe(id);
    expect(opened!.random).toBe(authBody["Random"]);
    expect([utcMinute(before), utcMinute(after)]).toContain(opened!.timestamp);
    expect(cipherTimestampToDate(opened!.timestamp!)).not.toBeNull();
    // ...and only under that token: its rightmost 32 characters are the key.
    const otherKey = `${t.spark.secretToken.slice(0, -32)}${"k".repeat(32)}`;
    expect(openCipher(authBody["Cipher"] as string, otherKey)?.sparkTransactionId ?? null).not.toBe(id);

    const trigger = sent(simulator, "TriggerTransaction")[0]!;
    expect(trigger.path).toBe("/api/TriggerTransaction");
    await expectSigned(trigger, t, id);
    expect(bodyOf(trigger)).toEqual({
      SparkTransactionId: id,
      TerminalId: "0434334921100366",
      TerminalIdType: 1,
      Amount: "15",
      PosDisplay: ";Charging Station:3;Day:30.52p;",
      TransactionTimeout: 60,
    });
    expect(trigger.bodyText).toMatch(/"Amount":15[,}]/);
    expect(simulator.transaction(id)!.triggers).toEqual([
      { amount: 1500n, amountText: "15", timeoutSeconds: 60, display: ";Charging Station:3;Day:30.52p;", terminalId: "0434334921100366", terminalIdType: 1 },
    ]);

    const read = await session(t, id);
    expect(read.events.map((e) => [e.type, e.data.sequence])).toEqual([["session.created", 1]]);
    expect(read.events[0]!.data.session).toMatchObject({ id, status: "awaiting_card" });
    await drain(id);
    expect(await listed(t)).toEqual([id]);
  });

  it("by machine id: TerminalId is the machine id, TerminalIdType 2", async () => {
    const { simulator, t } = await setup();
    const res = await remoteStart(t, { terminal: { machineId: 71234996 }, amount: "12.50", timeoutSeconds: 90 });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ status: "awaiting_card", machineId: 71234996, hwSerial: null });
    for (const method of ["StartAuthentication", "TriggerTransaction"] as const) {
      expect(bodyOf(sent(simulator, method)[0]!)).toMatchObject({ TerminalId: "71234996", TerminalIdType: 2 });
    }
    const trigger = sent(simulator, "TriggerTransaction")[0]!;
    expect(bodyOf(trigger)).toMatchObject({ Amount: "12.5", TransactionTimeout: 90 });
    expect(trigger.bodyText).toMatch(/"Amount":12\.5[,}]/);
    // No display given: no PosDisplay at all.
    expect(bodyOf(trigger)).not.toHaveProperty("PosDisplay");
  });

  it("defaults TransactionTimeout to 60 and takes a JSON number amount exactly", async () => {
    const { simulator, t } = await setup();
    const res = await remoteStart(t, { terminal: { hwSerial: "0434334921100366" }, amount: 0.3 });
    expect(res.status, res.text).toBe(201);
    const trigger = sent(simulator, "TriggerTransaction")[0]!;
    expect(bodyOf(trigger)).toMatchObject({ Amount: "0.3", TransactionTimeout: 60 });
  });

  it.each([
    ["missing terminal", { amount: "15.00" }],
    ["both terminal forms", { terminal: { hwSerial: "0434334921100366", machineId: 71234996 }, amount: "15.00" }],
    ["an empty terminal", { terminal: {}, amount: "15.00" }],
    ["an empty serial", { terminal: { hwSerial: "" }, amount: "15.00" }],
    ["a machine id as text", { terminal: { machineId: "71234996" }, amount: "15.00" }],
    ["missing amount", { terminal: { hwSerial: "0434334921100366" } }],
    ["a bad amount", { terminal: { hwSerial: "0434334921100366" }, amount: "fifteen" }],
    ["a negative amount", { terminal: { hwSerial: "0434334921100366" }, amount: "-15.00" }],
    ["three decimals", { terminal: { hwSerial: "0434334921100366" }, amount: "15.005" }],
    ["timeoutSeconds 0", { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", timeoutSeconds: 0 }],
    ["timeoutSeconds not whole", { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", timeoutSeconds: 1.5 }],
    ["timeoutSeconds above int16", { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", timeoutSeconds: 32_768 }],
    ["an unknown mode", { terminal: { hwSerial: "0434334921100366" }, amount: "15.00", mode: "instant" }],
  ])("%s is 400 and nothing is sent", async (_what, input) => {
    const { simulator, t } = await setup();
    const res = await remoteStart(t, input);
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBeTruthy();
    expect(simulator.requests).toHaveLength(0);
    expect(await listed(t)).toEqual([]);
  });
});

describe("POST /v1/sessions: Spark refusing", () => {
  /**
   * Asserts a 502 carrying Spark's code. The session was recorded before Spark was called (§8), so
   * it exists, ended `declined` with Spark's answer, and announced nothing: no webhook was due.
   */
  async function expectNothingStored(t: SimTenantHandle, simulator: ReturnType<typeof installSimulator>["simulator"], res: { status: number; text: string; body: SessionJson & { error: { spark?: unknown } } }) {
    expect(res.status, res.text).toBe(502);
    const tried = bodyOf(sent(simulator, "StartAuthentication")[0]!)["SparkTransactionId"] as string;
    await drain(tried);
    const read = await tenantJson<SessionJson>(t.apiKey, `/v1/sessions/${tried}`);
    expect(read.status, read.text).toBe(200);
    expect(read.body).toMatchObject({ status: "declined", flow: "remote_start", operation: null, lastSparkError: expect.objectContaining({ method: expect.any(String) }) });
    expect(read.body.events).toEqual([]);
    expect(await listed(t)).toEqual([tried]);
  }

  it.each([28, 30, 31, 34, 26, 33, 999])("StartAuthentication refused with %i: 502, no TriggerTransaction, the session ends declined", async (code) => {
    const { simulator, t } = await setup();
    simulator.failNext("StartAuthentication", { errorCode: code, description: `Injected ${code}` });
    const res = await remoteStart(t, { terminal: { hwSerial: "0434334921100366" }, amount: "15.00" });
    expect(res.body.error?.spark).toEqual({ code, description: `Injected ${code}` });
    expect(simulator.requests.map((r) => r.method)).toEqual(["StartAuthentication"]);
    await expectNothingStored(t, simulator, res);
  });

  it.each([20, 21, 22, 23, 24, 25, 29])("TriggerTransaction refused with %i: 502, nothing further sent, the session ends declined", async (code) => {
    const { simulator, t } = await setup();
    simulator.failNext("TriggerTransaction", { errorCode: code, description: `Injected ${code}` });
    const res = await remoteStart(t, { terminal: { machineId: 71234996 }, amount: "15.00" });
    expect(res.body.error?.spark).toEqual({ code, description: `Injected ${code}` });
    expect(res.body.error?.message ?? "").toContain("TriggerTransaction");
    expect(simulator.requests.map((r) => r.method)).toEqual(["StartAuthentication", "TriggerTransaction"]);
    await expectNothingStored(t, simulator, res);
  });

  it.each([
    ["unreachable", { networkError: true }],
    ["HTTP 500", { httpStatus: 500 }],
    ["HTTP 401", { httpStatus: 401 }],
  ])("StartAuthentication %s: 502, nothing further sent, the session ends declined", async (_what, failure) => {
    const { simulator, t } = await setup();
    simulator.failNext("StartAuthentication", failure);
    const res = await remoteStart(t, { terminal: { hwSerial: "0434334921100366" }, amount: "15.00" });
    expect(res.body.error?.spark).toBeDefined();
    expect(simulator.requests.map((r) => r.method)).toEqual(["StartAuthentication"]);
    await expectNothingStored(t, simulator, res);
  });

  it("a wrong HashedSparkTransactionId: 502, no TriggerTransaction, the session ends declined", async () => {
    const { simulator, spy, t } = await setup();
    const handle = simulator.handle.bind(simulator);
    spy.mockImplementationOnce(async (input, init) => {
      const answer = (await (await handle(new Request(input, init))).json()) as Record<string, unknown>;
      return new Response(JSON.stringify({ ...answer, HashedSparkTransactionId: "0".repeat(64) }), { headers: { "Content-Type": "application/json" } });
    });
    const res = await remoteStart(t, { terminal: { hwSerial: "0434334921100366" }, amount: "15.00" });
    expect(res.body.error?.spark?.description).toMatch(/HashedSparkTransactionId/);
    expect(simulator.requests.map((r) => r.method)).toEqual(["StartAuthentication"]);
    await expectNothingStored(t, simulator, res);
  });
});

describe("Remote Start callbacks", () => {
  it("TransactionCallback approved: minor-unit Amount 1500 → authorizedAmount 15.00, currency from CurrencyCode, session.authorized", async () => {
    const { t, siteId } = await setup();
    const id = await startedRemote(t);
    const nayaxId = freshNayaxId();
    const cb = await t.driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: nayaxId, Amount: 1500n, CurrencyCode: "EUR", MachineAuTime: "20240205194122328" }));
    expect(cb.status, cb.text).toBe(200);
    expect(cb.body).toMatchObject({ SparkTransactionId: id, Status: { Verdict: "Approved" } });
    const read = await session(t, id);
    expect(read).toMatchObject({
      status: "authorized",
      authorizedAmount: "15.00",
      currency: "EUR",
      nayaxTransactionId: nayaxId,
      siteId,
      hwSerial: "0434334921100366",
      machineId: 71234996,
      card: { last4: "1234", uid: "1288528281124927" },
      deviceTime: "2024-02-05T19:41:22.328",
    });
    expect(read.events.map((e) => [e.type, e.data.sequence])).toEqual([["session.created", 1], ["session.authorized", 2]]);
    expect(read.events[1]!.data.session).toMatchObject({ status: "authorized", authorizedAmount: "15.00" });
  });

  it("TransactionCallback with a declined AuthStatus: session.declined with the code", async () => {
    const { t, siteId } = await setup();
    const id = await startedRemote(t);
    const cb = await t.driver.send(
      "TransactionCallback",
      transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: freshNayaxId(), AuthStatus: { Verdict: "Declined", ErrorCode: 37, ErrorDescription: "Authorization Failed" } }),
    );
    expect(cb.status, cb.text).toBe(200);
    const read = await session(t, id);
    expect(read).toMatchObject({ status: "declined", decline: { code: 37, description: "Authorization Failed" } });
    expect(read.events.map((e) => e.type)).toEqual(["session.created", "session.declined"]);
  });

  it("TransactionCallback declined without any transaction data is accepted", async () => {
    const { t } = await setup();
    const id = await startedRemote(t);
    const cb = await t.driver.send(
      "TransactionCallback",
      transactionCallback({ SparkTransactionId: id, NayaxTransactionId: undefined, SiteId: undefined, Amount: undefined, AuthStatus: { Verdict: "Declined", ErrorCode: 37, ErrorDescription: "Authorization Failed" } }),
    );
    expect(cb.status, cb.text).toBe(200);
    expect(await eventTypes(t, id)).toEqual(["session.created", "session.declined"]);
  });

  it.each([
    [44, "Timeout on POS Device"],
    [45, "Cancelled on POS Device"],
    [38, "Transaction Callback Failed"],
  ])("DeclineCallback %i: session.declined carrying the code", async (code, description) => {
    const { t } = await setup();
    const id = await startedRemote(t);
    const cb = await t.driver.send("DeclineCallback", declineCallback({ SparkTransactionId: id, Status: { Verdict: "Declined", ErrorCode: code, ErrorDescription: description } }));
    expect(cb.status, cb.text).toBe(200);
    const read = await session(t, id);
    expect(read).toMatchObject({ status: "declined", decline: { code, description } });
    expect(read.events.map((e) => [e.type, e.data.sequence])).toEqual([["session.created", 1], ["session.declined", 2]]);
    expect(read.events[1]!.data.session).toMatchObject({ decline: { code } });
  });

  it("TimeoutCallback: session.timed_out, final; settling afterwards is 409", async () => {
    const { simulator, t, siteId } = await setup();
    const { id } = await authorizedRemote(t, siteId);
    const cb = await t.driver.send("TimeoutCallback", timeoutCallback({ SparkTransactionId: id }));
    expect(cb.status, cb.text).toBe(200);
    const read = await session(t, id);
    expect(read.status).toBe("timed_out");
    expect(read.events.map((e) => e.type)).toEqual(["session.created", "session.authorized", "session.timed_out"]);
    const res = await settle(t, id, { amount: "5.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
    // A later approval cannot revive it.
    const late = await t.driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: freshNayaxId() }));
    expect(late.status, late.text).toBe(409);
    expect((await session(t, id)).status).toBe("timed_out");
  });

  it("TimeoutCallback before any card also ends the session", async () => {
    const { t } = await setup();
    const id = await startedRemote(t);
    expect((await t.driver.send("TimeoutCallback", timeoutCallback({ SparkTransactionId: id }))).status).toBe(200);
    expect((await session(t, id)).status).toBe("timed_out");
  });
});

describe("Remote Start callbacks: repeats", () => {
  it("an exact TransactionCallback repeat changes nothing; another NayaxTransactionId or Amount is 409", async () => {
    const { t, siteId } = await setup();
    const id = await startedRemote(t);
    const nayaxId = freshNayaxId();
    const body = transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: nayaxId, Amount: 1500n });
    const first = await t.driver.send("TransactionCallback", body);
    expect(first.status, first.text).toBe(200);
    const before = await session(t, id);

    const again = await t.driver.send("TransactionCallback", body);
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual(first.body);

    const otherNayax = await t.driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: freshNayaxId(), Amount: 1500n }));
    expect(otherNayax.status, otherNayax.text).toBe(409);
    expect(otherNayax.body).toMatchObject({ Status: { Verdict: "Declined" } });
    const otherAmount = await t.driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: nayaxId, Amount: 1600n }));
    expect(otherAmount.status, otherAmount.text).toBe(409);
    const declinedNow = await t.driver.send("TransactionCallback", { ...body, AuthStatus: { Verdict: "Declined", ErrorCode: 37, ErrorDescription: "Authorization Failed" } });
    expect(declinedNow.status, declinedNow.text).toBe(409);

    const after = await session(t, id);
    expect(after).toEqual(before);
    expect(after.events.map((e) => e.type)).toEqual(["session.created", "session.authorized"]);
  });

  it("an exact declined TransactionCallback repeat changes nothing; another NayaxTransactionId or Amount is 409", async () => {
    const { t, siteId } = await setup();
    const id = await startedRemote(t);
    const nayaxId = freshNayaxId();
    const declined = { Verdict: "Declined", ErrorCode: 37, ErrorDescription: "Authorization Failed" };
    const body = transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: nayaxId, Amount: 1500n, AuthStatus: declined });
    expect((await t.driver.send("TransactionCallback", body)).status).toBe(200);
    const before = await session(t, id);

    const again = await t.driver.send("TransactionCallback", body);
    expect(again.status, again.text).toBe(200);
    const otherNayax = await t.driver.send("TransactionCallback", { ...body, NayaxTransactionId: freshNayaxId() });
    expect(otherNayax.status, otherNayax.text).toBe(409);
    const otherAmount = await t.driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: id, SiteId: siteId, NayaxTransactionId: nayaxId, Amount: 1600n, AuthStatus: declined }));
    expect(otherAmount.status, otherAmount.text).toBe(409);
    const approvedNow = await t.driver.send("TransactionCallback", { ...body, AuthStatus: { Verdict: "Approved" } });
    expect(approvedNow.status, approvedNow.text).toBe(409);

    const after = await session(t, id);
    expect(after).toEqual(before);
    expect(after.events.map((e) => e.type)).toEqual(["session.created", "session.declined"]);
  });

  it("an exact DeclineCallback repeat changes nothing; another code is 409", async () => {
    const { t } = await setup();
    const id = await startedRemote(t);
    const body = declineCallback({ SparkTransactionId: id, Status: { Verdict: "Declined", ErrorCode: 45, ErrorDescription: "Cancelled on POS Device" } });
    expect((await t.driver.send("DeclineCallback", body)).status).toBe(200);
    const before = await session(t, id);
    const again = await t.driver.send("DeclineCallback", body);
    expect(again.status, again.text).toBe(200);
    const other = await t.driver.send("DeclineCallback", declineCallback({ SparkTransactionId: id, Status: { Verdict: "Declined", ErrorCode: 44, ErrorDescription: "Timeout on POS Device" } }));
    expect(other.status, other.text).toBe(409);
    const after = await session(t, id);
    expect(after).toEqual(before);
    expect(after.events.map((e) => e.type)).toEqual(["session.created", "session.declined"]);
  });

  it("a DeclineCallback after an authorization is 409 and changes nothing", async () => {
    const { t, siteId } = await setup();
    const { id } = await authorizedRemote(t, siteId);
    const res = await t.driver.send("DeclineCallback", declineCallback({ SparkTransactionId: id }));
    expect(res.status, res.text).toBe(409);
    const read = await session(t, id);
    expect(read.status).toBe("authorized");
    expect(read.events.map((e) => e.type)).toEqual(["session.created", "session.authorized"]);
  });

  it("an exact TimeoutCallback repeat changes nothing", async () => {
    const { t, siteId } = await setup();
    const { id } = await authorizedRemote(t, siteId);
    const body = timeoutCallback({ SparkTransactionId: id });
    expect((await t.driver.send("TimeoutCallback", body)).status).toBe(200);
    const before = await session(t, id);
    const again = await t.driver.send("TimeoutCallback", body);
    expect(again.status, again.text).toBe(200);
    const after = await session(t, id);
    expect(after).toEqual(before);
    expect(after.events.map((e) => e.type)).toEqual(["session.created", "session.authorized", "session.timed_out"]);
  });
});

describe("Remote Start callbacks: routing and authentication", () => {
  const callbacks = {
    TransactionCallback: (id: string) => transactionCallback({ SparkTransactionId: id, NayaxTransactionId: freshNayaxId() }),
    DeclineCallback: (id: string) => declineCallback({ SparkTransactionId: id }),
    TimeoutCallback: (id: string) => timeoutCallback({ SparkTransactionId: id }),
  } as const;

  it.each(Object.keys(callbacks) as Array<keyof typeof callbacks>)("%s for an unknown SparkTransactionId is 404", async (method) => {
    const { t } = await setup();
    const res = await t.driver.send(method, callbacks[method](crypto.randomUUID()));
    expect(res.status, res.text).toBe(404);
    expect(res.body).toMatchObject({ Status: { Verdict: "Declined" } });
  });

  it.each(Object.keys(callbacks) as Array<keyof typeof callbacks>)("%s with another tenant's secret is 401 and changes nothing", async (method) => {
    const { t, tenant } = await setup();
    const intruder = await tenant({ siteIds: [freshSite()] });
    const id = await startedRemote(t);
    const res = await t.driver.send(method, callbacks[method](id), { secret: intruder.sparkCallbackSecret });
    expect(res.status, res.text).toBe(401);
    expect(res.body).toMatchObject({ Status: { Verdict: "Declined" } });
    const read = await session(t, id);
    expect(read.status).toBe("awaiting_card");
    expect(read.events.map((e) => e.type)).toEqual(["session.created"]);
  });

  it.each(Object.keys(callbacks) as Array<keyof typeof callbacks>)("%s without a secret, or a wrong one, is 401", async (method) => {
    const { t } = await setup();
    const id = await startedRemote(t);
    expect((await t.driver.send(method, callbacks[method](id), { secret: null })).status).toBe(401);
    expect((await t.driver.send(method, callbacks[method](id), { secret: "not-a-secret" })).status).toBe(401);
    expect(await eventTypes(t, id)).toEqual(["session.created"]);
  });
});
