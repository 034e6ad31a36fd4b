/**
 * POST /v1/sessions/{id}/cancel against the Spark simulator (CONTRACT.md §5, spark-api.md §2.10):
 * CancelTransaction type 1 for a pre-authorization, type 2 for a pre-selection, the session's
 * identifiers echoed, 28 "Already Cancelled" taken as done, other refusals 502.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { freshSite } from "./support";
import { authorizedRemote, bodyOf, cancel, deviceStart, eventTypes, expectSigned, sent, session, settle, startedRemote } from "./session-flows";
import { installSimulator } from "./spark-harness";

afterEach(() => vi.restoreAllMocks());

/** A tenant on a fresh site with one authorized Device Start session. */
async function authorized(overrides: Record<string, unknown> = {}) {
  const { simulator, tenant } = installSimulator();
  const siteId = freshSite();
  const t = await tenant({ siteIds: [siteId] });
  const { id, nayaxId } = await deviceStart(t, siteId, overrides);
  return { simulator, t, siteId, id, nayaxId };
}

describe("cancel: the CancelTransaction call", () => {
  it("a pre-authorization: type 1, CancelAmount = the authorized amount, MachineAuTime of the authorization, identifiers echoed", async () => {
    const { simulator, t, siteId, id, nayaxId } = await authorized({
      Amount: JSON.rawJSON("12.30"),
      MachineAuTime: "20240311081530123",
      HwSerial: "0434334921100555",
    });
    const res = await cancel(t, id, { reasonCode: 207, reasonText: "Charger fault" });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id, status: "cancelled", lastSparkError: null });

    const calls = sent(simulator, "CancelTransaction");
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.path).toBe("/api/CancelTransaction");
    await expectSigned(call, t, id);
    expect(bodyOf(call)).toEqual({
      NayaxTransactionId: nayaxId,
      SparkTransactionId: id,
      SiteId: siteId,
      MachineAuTime: "20240311081530123",
      TerminalId: "0434334921100555",
      TerminalIdType: 1,
      CancellationType: 1,
      CancelAmount: "12.3",
      ReasonCode: 207,
      ReasonText: "Charger fault",
    });
    expect(call.bodyText).toMatch(/"CancelAmount":12\.3[,}]/);
    const held = simulator.authorization(nayaxId)!;
    expect(held).toMatchObject({ cancelled: true, cancellationType: 1, cancelAmount: 1230n });
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.cancelled"]);
  });

  it("without a body: the default reason code 101 and no ReasonText", async () => {
    const { simulator, t, id } = await authorized();
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(200);
    const body = bodyOf(sent(simulator, "CancelTransaction")[0]!);
    expect(body["ReasonCode"]).toBe(101);
    expect(body).not.toHaveProperty("ReasonText");
  });

  it("a Remote Start pre-authorization echoes the TransactionCallback's identifiers, type 1", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    const { id, nayaxId } = await authorizedRemote(t, siteId, { amount: "25.00" }, { Amount: 2500n, MachineAuTime: "20240401120000001", HwSerial: "0434334921100444" });
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(200);
    const call = sent(simulator, "CancelTransaction")[0]!;
    await expectSigned(call, t, id);
    expect(bodyOf(call)).toMatchObject({
      NayaxTransactionId: nayaxId,
      SiteId: siteId,
      MachineAuTime: "20240401120000001",
      TerminalId: "0434334921100444",
      TerminalIdType: 1,
      CancellationType: 1,
      CancelAmount: "25",
    });
    expect(await eventTypes(t, id)).toEqual(["session.created", "session.authorized", "session.cancelled"]);
  });

  it("a Remote Start in pre_selection mode is voided with type 2", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    const { id, nayaxId } = await authorizedRemote(t, siteId, { mode: "pre_selection", amount: "7.50" }, { Amount: 750n });
    expect((await session(t, id)).paymentMode).toBe("pre_selection");
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(200);
    expect(res.body.status).toBe("cancelled");
    const call = sent(simulator, "CancelTransaction")[0]!;
    expect(bodyOf(call)).toMatchObject({ NayaxTransactionId: nayaxId, SiteId: siteId, CancellationType: 2, CancelAmount: "7.5" });
    expect(simulator.authorization(nayaxId)!.cancellationType).toBe(2);
    expect(await eventTypes(t, id)).toEqual(["session.created", "session.authorized", "session.cancelled"]);
  });
});

describe("cancel: Spark's answers", () => {
  it("28 Already Cancelled is treated as cancelled", async () => {
    const { simulator, t, id } = await authorized();
    simulator.failNext("CancelTransaction", { errorCode: 28, description: "Already Cancelled" });
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ status: "cancelled", lastSparkError: null });
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.cancelled"]);
  });

  it.each([27, 31, 32, 36, 997, 999, 992])("code %i is 502 and the session stays open", async (code) => {
    const { simulator, t, id } = await authorized();
    simulator.failNext("CancelTransaction", { errorCode: code, description: `Injected ${code}` });
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(502);
    expect(res.body.error.spark).toEqual({ code, description: `Injected ${code}` });
    const after = await session(t, id);
    expect(after.status).toBe("authorized");
    expect(after.lastSparkError).toMatchObject({ method: "CancelTransaction", code });
    expect(after.events.map((e) => e.type)).toEqual(["session.authorized"]);
    // Still cancellable, and the retry reaches Spark.
    const retry = await cancel(t, id);
    expect(retry.status, retry.text).toBe(200);
    expect(sent(simulator, "CancelTransaction")).toHaveLength(2);
  });

  it("Spark HTTP 401 is 502", async () => {
    const { simulator, t, id } = await authorized();
    simulator.failNext("CancelTransaction", { httpStatus: 401 });
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(502);
    expect(res.body.error.spark).toBeDefined();
    expect((await session(t, id)).status).toBe("authorized");
  });

  it.each([
    ["unreachable", { networkError: true }],
    ["HTTP 500", { httpStatus: 500 }],
  ])("Spark %s leaves the outcome unknown: 202, and another cancel answers the same", async (_what, failure) => {
    const { simulator, t, id } = await authorized();
    simulator.failNext("CancelTransaction", failure);
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(202);
    expect(res.body).toMatchObject({ status: "authorized", operation: { kind: "cancel", state: "unknown" } });
    expect((await cancel(t, id)).status).toBe(202);
    expect((await settle(t, id, { amount: "1.00" })).status).toBe(409);
    expect(sent(simulator, "CancelTransaction")).toHaveLength(1);
  });
});

describe("cancel: state rules", () => {
  it("a repeat on a cancelled session answers it again without calling Spark", async () => {
    const { simulator, t, id } = await authorized();
    expect((await cancel(t, id)).status).toBe(200);
    const again = await cancel(t, id);
    expect(again.status, again.text).toBe(200);
    expect(again.body.status).toBe("cancelled");
    expect(sent(simulator, "CancelTransaction")).toHaveLength(1);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.cancelled"]);
  });

  it("cancel on a settled session is 409 and nothing is sent", async () => {
    const { simulator, t, id } = await authorized();
    expect((await settle(t, id, { amount: "5.00" })).status).toBe(200);
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "CancelTransaction")).toHaveLength(0);
    expect((await session(t, id)).status).toBe("settled");
  });

  it("settle after cancel is 409 and nothing is sent", async () => {
    const { simulator, t, id } = await authorized();
    expect((await cancel(t, id)).status).toBe(200);
    const res = await settle(t, id, { amount: "5.00" });
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "Settlement")).toHaveLength(0);
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.cancelled"]);
  });

  it("cancel before any card (awaiting_card) is 409: Spark needs a NayaxTransactionId", async () => {
    const { simulator, tenant } = installSimulator();
    const t = await tenant({ siteIds: [freshSite()] });
    const id = await startedRemote(t);
    const res = await cancel(t, id);
    expect(res.status, res.text).toBe(409);
    expect(sent(simulator, "CancelTransaction")).toHaveLength(0);
  });

  it("a malformed body is 400", async () => {
    const { simulator, t, id } = await authorized();
    const res = await cancel(t, id, { reasonCode: "abc" });
    expect(res.status, res.text).toBe(400);
    expect(sent(simulator, "CancelTransaction")).toHaveLength(0);
  });
});
