/**
 * Calls to Spark that move money (CONTRACT §8): one at a time in arrival order, recorded before
 * they are sent, an unknown outcome never treated as a refusal, Remote Start never orphaned,
 * StartSession idempotent, and stop-by-card independent of the D1 projection.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startSession, stopCallback, stopNotify, transactionCallback, transactionNotify } from "../sim/drive";
import { EARLIER_INDEX_SHARDS, INDEX_SHARDS, earlierMachineIndex, machineIndex } from "../src/sessions/machine-index";
import { sessionStub } from "../src/sessions/stub";
import { breakableHistory } from "./helpers";
import type { D1Outage } from "./helpers";
import { freshMachine, freshSite, sleep } from "./support";
import type { Command } from "../src/sessions/rules";
import { bodyOf, cancel, deviceStart, drain, eventTypes, freshNayaxId, insideSession, remoteStart, sent, session, sessionSettings, settle } from "./session-flows";
import type { ErrorJson, SessionJson } from "./session-flows";
import { tenantJson } from "./support";
import { installSimulator } from "./spark-harness";

afterEach(() => {
  vi.restoreAllMocks();
  outage.down = false;
});

/** A tenant of the simulator with one authorized Device Start session of "10.00". */
async function authorized() {
  const harness = installSimulator();
  const siteId = freshSite();
  const t = await harness.tenant({ siteIds: [siteId] });
  const { id, nayaxId } = await deviceStart(t, siteId, { Amount: JSON.rawJSON("10.00") });
  return { ...harness, t, siteId, id, nayaxId };
}

/** Counts how many Settlement/CancelTransaction requests the simulator is serving at once. */
function watchConcurrency(simulator: { handle(request: Request): Promise<Response> }) {
  let inFlight = 0;
  let peak = 0;
  const handle = simulator.handle.bind(simulator);
  vi.spyOn(simulator, "handle").mockImplementation(async (request: Request) => {
    inFlight += 1;
    peak = Math.max(peak, inFlight);
    try {
      return await handle(request);
    } finally {
      inFlight -= 1;
    }
  });
  return { peak: () => peak };
}

/** Waits until the session object holds `n` calls to Spark (running or queued): what arrived so far, in arrival order. */
function holdsCalls(id: string, n: number) {
  return vi.waitFor(() => insideSession(id, (object) => expect((object as unknown as { spark: { size: number } }).spark.size).toBe(n)), { timeout: 5_000, interval: 5 });
}

/**
 * An authorized session with three calls in arrival order: a settle of "4.00" that Spark declines
 * after a delay, a queued settle of "5.00", then `third`; answers all three, in that order.
 */
async function behindDeclinedSettle(third: (t: Parameters<typeof settle>[0], id: string) => ReturnType<typeof settle>) {
  const { simulator, t, id } = await authorized();
  const concurrency = watchConcurrency(simulator);
  simulator.failNext("Settlement", { errorCode: 35, delayMs: 400 });
  const a = settle(t, id, { amount: "4.00" });
  await holdsCalls(id, 1);
  const b = settle(t, id, { amount: "5.00" });
  await holdsCalls(id, 2);
  const c = third(t, id);
  return { simulator, t, id, concurrency, answers: await Promise.all([a, b, c]) };
}

/** Runs the session's alarm once (the object's own schedule decides what is due). */
const alarm = (id: string) => runDurableObjectAlarm(sessionStub(env, id));

describe("one call to Spark at a time, in arrival order (§8)", () => {
  it("a declined settle followed by two queued settles reaches Spark twice, never at once, and settles once", async () => {
    const { simulator, t, id, concurrency, answers } = await behindDeclinedSettle((t, id) => settle(t, id, { amount: "6.00" }));
    const [ra, rb, rc] = answers;
    expect(ra.status, ra.text).toBe(502);
    expect(rb.status, rb.text).toBe(200);
    expect(rb.body.settledAmount).toBe("5.00");
    expect(rc.status, rc.text).toBe(409);
    // On the wire as exact literals: 4.00 goes out as 4.
    expect(sent(simulator, "Settlement").map((r) => bodyOf(r)["Amount"])).toEqual(["4", "5"]);
    expect(concurrency.peak()).toBe(1);
    const types = await eventTypes(t, id);
    expect(types.filter((type) => type === "session.settled")).toHaveLength(1);
    expect(types).toEqual(["session.authorized", "session.settlement_failed", "session.settled"]);
  });

  it("a declined settle followed by a queued settle and a queued cancel: the settle wins, the cancel is 409", async () => {
    const { simulator, t, id, concurrency, answers } = await behindDeclinedSettle(cancel);
    const [ra, rb, rc] = answers;
    expect([ra.status, rb.status, rc.status]).toEqual([502, 200, 409]);
    expect(sent(simulator, "CancelTransaction")).toHaveLength(0);
    expect(concurrency.peak()).toBe(1);
    expect((await session(t, id)).status).toBe("settled");
  });
});

describe("an unknown outcome is its own state (§8)", () => {
  it("a Settlement whose answer is lost answers 202, refuses another amount, and is resolved by the identical request", async () => {
    const { simulator, t, id } = await authorized();
    await sessionSettings(id, { SPARK_RESEND_SCHEDULE: "1" });
    simulator.failNext("Settlement", { lostAnswer: true });
    const first = await settle(t, id, { amount: "5.00", receipt: { General: [{ Station: "B12" }] } });
    expect(first.status, first.text).toBe(202);
    expect(first.body.status).toBe("authorized");
    expect(first.body.operation).toMatchObject({ kind: "settle", amount: "5.00", state: "unknown", attempts: 1 });

    const other = await settle(t, id, { amount: "6.00" });
    expect(other.status, other.text).toBe(409);
    expect(other.body.error.code).toBe("operation_in_doubt");
    const cancelled = await cancel(t, id);
    expect(cancelled.status, cancelled.text).toBe(409);
    const same = await settle(t, id, { amount: "5.00", receipt: { General: [{ Station: "B12" }] } });
    expect(same.status, same.text).toBe(202);
    expect(sent(simulator, "Settlement")).toHaveLength(1);

    // The object's own alarm sends the identical request again about a second later.
    await vi.waitFor(async () => expect((await session(t, id)).status).toBe("settled"), { timeout: 5_000, interval: 100 });
    const requests = sent(simulator, "Settlement");
    expect(requests).toHaveLength(2);
    expect(requests[1]!.bodyText).toBe(requests[0]!.bodyText);
    const after = await session(t, id);
    expect(after).toMatchObject({ status: "settled", settledAmount: "5.00", operation: null });
    expect(after.events.map((e) => e.type)).toEqual(["session.authorized", "session.settled"]);
  });

  it("a Settlement that times out answers 202 and is not refused", async () => {
    const { simulator, t, id } = await authorized();
    await sessionSettings(id, { SPARK_TIMEOUT_MS: "150" });
    simulator.failNext("Settlement", { delayMs: 400 });
    const first = await settle(t, id, { amount: "5.00" });
    expect(first.status, first.text).toBe(202);
    expect(first.body.operation).toMatchObject({ kind: "settle", state: "unknown", lastError: { code: null } });
    const other = await settle(t, id, { amount: "6.00" });
    expect(other.status).toBe(409);
    await sleep(400);
    expect(sent(simulator, "Settlement").map((r) => bodyOf(r)["Amount"])).toEqual(["5"]);
  });
});

describe("Remote Start is never orphaned (§8)", () => {
  it("a TriggerTransaction whose answer is lost leaves a session that Spark's TransactionCallback finds", async () => {
    const { simulator, tenant } = installSimulator();
    const siteId = freshSite();
    const t = await tenant({ siteIds: [siteId] });
    simulator.failNext("TriggerTransaction", { lostAnswer: true });
    const started = await remoteStart(t, { terminal: { hwSerial: "0434334921100366" }, amount: "15.00" });
    expect(started.status, started.text).toBe(202);
    expect(started.body).toMatchObject({ status: "awaiting_card", operation: { kind: "remote_start", state: "unknown" } });
    const id = started.body.id;
    const answer = await t.driver.send("TransactionCallback", transactionCallback({ SiteId: siteId, SparkTransactionId: id, NayaxTransactionId: freshNayaxId() }));
    expect(answer.status, answer.text).toBe(200);
    expect(await session(t, id)).toMatchObject({ status: "authorized", authorizedAmount: "15.00", operation: null });
    expect(sent(simulator, "TriggerTransaction")).toHaveLength(1);
  });
});

describe("StartSession (§8)", () => {
  it("a repeat with the same TokenId and Random answers the same session and cipher and creates nothing", async () => {
    const { t } = await authorized();
    const body = startSession({ TokenId: t.spark.tokenId, MachineId: freshMachine(), Random: "abcdefghi12345678" });
    const first = await t.driver.send("StartSession", body);
    const second = await t.driver.send("StartSession", body);
    expect(first.status).toBe(200);
    expect(second.body).toEqual(first.body);
    const id = (first.body as { SparkTransactionId: string }).SparkTransactionId;
    expect(await eventTypes(t, id)).toEqual(["session.created"]);
  });

  it("a Device Start session that never sees a card ends timed_out after AWAITING_CARD_TTL_SECONDS", async () => {
    const { t } = await authorized();
    const first = await t.driver.send("StartSession", startSession({ TokenId: t.spark.tokenId, MachineId: freshMachine(), Random: "zyxwvutsr98765432" }));
    const id = (first.body as { SparkTransactionId: string }).SparkTransactionId;
    await sessionSettings(id, { AWAITING_CARD_TTL_SECONDS: "1" });
    await sleep(1100);
    await alarm(id);
    expect(await session(t, id)).toMatchObject({ status: "timed_out" });
    expect(await eventTypes(t, id)).toEqual(["session.created", "session.timed_out"]);
  });
});

/** While down, the history writer's D1 batches fail as if D1 were unreachable. */
const outage: D1Outage = { down: false };
const breakHistory = () => breakableHistory(outage);

describe("stop by card sees every authorization, also while D1 lags or is down (§8)", () => {
  it("StopCallback by card hash, by NayaxTransactionId, and StopNotify, sent right after the authorization", async () => {
    const { t, siteId } = await authorized();
    await breakHistory();
    outage.down = true;
    const machine = freshMachine();
    const card = (crypto.randomUUID() + crypto.randomUUID()).replace(/-/g, "");
    const byCard = await deviceStart(t, siteId, { MachineId: machine, CardHash: card, ServiceStationNumber: "1" });
    const stopped = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: machine, CardHash: card, SparkTransactionId: null, NayaxTransactionId: null, ServiceStationNumber: "1" }));
    expect(stopped.status, stopped.text).toBe(200);
    expect(stopped.body).toMatchObject({ SparkTransactionId: byCard.id, Status: { Verdict: "Approved" } });

    const byNayax = await deviceStart(t, siteId, { MachineId: machine, CardHash: card, ServiceStationNumber: "2" });
    const stoppedById = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: machine, CardHash: card, SparkTransactionId: null, NayaxTransactionId: byNayax.nayaxId, ServiceStationNumber: "2" }));
    expect(stoppedById.body).toMatchObject({ SparkTransactionId: byNayax.id, Status: { Verdict: "Approved" } });

    const notified = await deviceStart(t, siteId, { MachineId: machine, CardHash: card, ServiceStationNumber: "3" });
    const notify = await t.driver.send("StopNotify", stopNotify({ StopSiteId: siteId, MachineId: machine, CardHash: card, ServiceStationNumber: "3" }));
    expect(notify.body).toMatchObject({ SparkTransactionId: notified.id, NayaxTransactionId: notified.nayaxId, Status: { Verdict: "Approved" } });
    for (const id of [byCard.id, byNayax.id, notified.id]) expect((await session(t, id)).status).toBe("stop_requested");
  });

  it("machines that share an index object keep their own authorizations apart", async () => {
    const { t, siteId } = await authorized();
    await breakHistory();
    outage.down = true;
    const machine = freshMachine();
    const neighbour = machine + INDEX_SHARDS;
    const card = (crypto.randomUUID() + crypto.randomUUID()).replace(/-/g, "");
    const here = await deviceStart(t, siteId, { MachineId: machine, CardHash: card, ServiceStationNumber: "1" });
    const elsewhere = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: neighbour, CardHash: card, SparkTransactionId: null, NayaxTransactionId: null, ServiceStationNumber: "1" }));
    expect(elsewhere.body).toMatchObject({ SparkTransactionId: null, Status: { Verdict: "Declined" } });
    const elsewhereById = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: neighbour, CardHash: card, SparkTransactionId: null, NayaxTransactionId: here.nayaxId, ServiceStationNumber: "1" }));
    expect(elsewhereById.body).toMatchObject({ SparkTransactionId: null, Status: { Verdict: "Declined" } });
    expect((await session(t, here.id)).status).toBe("authorized");
    const atItsMachine = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: machine, CardHash: card, SparkTransactionId: null, NayaxTransactionId: null, ServiceStationNumber: "1" }));
    expect(atItsMachine.body).toMatchObject({ SparkTransactionId: here.id, Status: { Verdict: "Approved" } });
  });

  it("an authorization indexed before the index became one object per tenant is still found, unless the current index knows better", async () => {
    const { t, siteId } = await authorized();
    await breakHistory();
    outage.down = true;
    let machine = freshMachine();
    while (earlierMachineIndex(env, t.id, machine) === null) machine = freshMachine();
    const earlier = earlierMachineIndex(env, t.id, machine)!;
    const current = machineIndex(env, t.id, machine);
    const card = (crypto.randomUUID() + crypto.randomUUID()).replace(/-/g, "");
    const entry = (id: string, nayaxId: number, open: boolean, version: number) => ({ sessionId: id, machineId: machine, nayaxTransactionId: nayaxId, cardHash: card, serviceStationNumber: "1", open, authorizedAt: Date.now(), version });
    // As an earlier version left it: the entry in the machine's earlier shard only.
    const before = await deviceStart(t, siteId, { MachineId: machine, CardHash: card, ServiceStationNumber: "1" });
    await current.forget(before.id);
    await earlier.put(entry(before.id, before.nayaxId, true, 1));
    const stopped = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: machine, CardHash: card, SparkTransactionId: null, NayaxTransactionId: null, ServiceStationNumber: "1" }));
    expect(stopped.body).toMatchObject({ SparkTransactionId: before.id, Status: { Verdict: "Approved" } });
    expect((await session(t, before.id)).status).toBe("stop_requested");
    // By NayaxTransactionId too (a repeat of that stop: the session already stopping answers it).
    const byId = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: machine, CardHash: card, SparkTransactionId: null, NayaxTransactionId: before.nayaxId, ServiceStationNumber: "1" }));
    expect(byId.body).toMatchObject({ SparkTransactionId: before.id });

    // The earlier shard still says open, the current index has the session closed: not matched.
    const stale = await deviceStart(t, siteId, { MachineId: machine, CardHash: card, ServiceStationNumber: "1" });
    await earlier.put(entry(stale.id, stale.nayaxId, true, 1));
    await current.put(entry(stale.id, stale.nayaxId, false, 99));
    await earlier.forget(before.id);
    await current.forget(before.id);
    const unmatched = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: machine, CardHash: card, SparkTransactionId: null, NayaxTransactionId: null, ServiceStationNumber: "1" }));
    expect(unmatched.body).toMatchObject({ SparkTransactionId: null, Status: { Verdict: "Declined" } });
    expect((await session(t, stale.id)).status).toBe("authorized");
  });

  it("all of a tenant's machines share one index object", async () => {
    expect(INDEX_SHARDS).toBe(1);
    expect(EARLIER_INDEX_SHARDS).toBeGreaterThan(1);
    const { t } = await authorized();
    const machine = freshMachine();
    const entry = { sessionId: crypto.randomUUID(), machineId: machine + 7, nayaxTransactionId: 1, cardHash: null, serviceStationNumber: null, open: true, authorizedAt: Date.now(), version: 1 };
    await machineIndex(env, t.id, machine + 7).put(entry);
    expect(await machineIndex(env, t.id, machine).byNayaxId(machine + 7, 1)).toBe(entry.sessionId);
  });

  it("twenty stops sent as soon as their authorizations are answered all find their sessions", async () => {
    const { t, siteId } = await authorized();
    const machine = freshMachine();
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const card = (crypto.randomUUID() + crypto.randomUUID()).replace(/-/g, "");
        const id = crypto.randomUUID();
        const notified = await t.driver.send("TransactionNotify", transactionNotify({ SiteId: siteId, MachineId: machine, SparkTransactionId: id, NayaxTransactionId: freshNayaxId(), CardHash: card, ServiceStationNumber: String(i + 1) }));
        expect(notified.status).toBe(200);
        const stop = await t.driver.send("StopCallback", stopCallback({ StopSiteId: siteId, MachineId: machine, CardHash: card, SparkTransactionId: null, NayaxTransactionId: null, ServiceStationNumber: String(i + 1) }));
        return { id, answer: stop.body as { SparkTransactionId: string | null; Status: { Verdict: string } } };
      }),
    );
    expect(results.filter((r) => r.answer.Status.Verdict !== "Approved" || r.answer.SparkTransactionId !== r.id)).toEqual([]);
  });
});

describe("recorded first, reconciled by the alarm, reviewed by a person (§8)", () => {
  it("an operation recorded before the object stopped is sent again, identically, by the alarm", async () => {
    const { simulator, t, id } = await authorized();
    await sessionSettings(id, { SPARK_RESEND_SCHEDULE: "0.2" });
    // What the object holds when it stops right after recording the call, before Spark answered.
    await insideSession(id, (object) =>
      (object as unknown as { apply(command: Command): unknown }).apply({ type: "settle", tenantId: t.id, operationId: "op_stopped", amount: "3.00", receiptJson: null, idempotencyKey: null }),
    );
    expect((await session(t, id)).operation).toMatchObject({ kind: "settle", amount: "3.00", state: "pending", attempts: 1 });
    expect(sent(simulator, "Settlement")).toHaveLength(0);
    await vi.waitFor(async () => expect((await session(t, id)).status).toBe("settled"), { timeout: 5_000, interval: 100 });
    expect(sent(simulator, "Settlement").map((r) => bodyOf(r)["Amount"])).toEqual(["3"]);
    expect((await session(t, id)).operation).toBeNull();
  });

  it("a re-send that Spark refuses puts the session in review; resolve closes it; bad input changes nothing", async () => {
    const { simulator, t, id } = await authorized();
    await sessionSettings(id, { SPARK_RESEND_SCHEDULE: "0.2" });
    simulator.failNext("Settlement", { networkError: true });
    simulator.failNext("Settlement", { errorCode: 32, description: "Transaction Not Found or Old" });
    expect((await settle(t, id, { amount: "7.00" })).status).toBe(202);
    await vi.waitFor(async () => expect((await session(t, id)).status).toBe("review_required"), { timeout: 5_000, interval: 100 });
    const inReview = await session(t, id);
    expect(inReview.operation).toMatchObject({ kind: "settle", amount: "7.00", state: "unknown", attempts: 2, lastError: { code: 32, description: "Transaction Not Found or Old" } });
    expect(inReview.events.map((e) => e.type)).toEqual(["session.authorized", "session.review_required"]);
    expect(sent(simulator, "Settlement")).toHaveLength(2);
    // Nothing more goes to Spark by itself.
    await sleep(500);
    expect(sent(simulator, "Settlement")).toHaveLength(2);
    expect((await settle(t, id, { amount: "7.00" })).status).toBe(202);
    expect((await settle(t, id, { amount: "1.00" })).status).toBe(409);

    await drain(id);
    const listed = await tenantJson<{ data: Array<{ id: string }> }>(t.apiKey, "/v1/sessions?status=review_required");
    expect(listed.body.data.map((s) => s.id)).toEqual([id]);

    const bogus = await tenantJson<ErrorJson>(t.apiKey, `/v1/sessions/${id}/resolve`, { method: "POST", json: { outcome: "maybe" } });
    expect(bogus.status, bogus.text).toBe(400);
    expect(bogus.body.error.details).toEqual([expect.objectContaining({ field: "outcome" })]);
    expect((await session(t, id)).status).toBe("review_required");

    const resolved = await tenantJson<SessionJson>(t.apiKey, `/v1/sessions/${id}/resolve`, { method: "POST", json: { outcome: "settled", note: "Nayax confirmed the 7.00" } });
    expect(resolved.status, resolved.text).toBe(200);
    expect(resolved.body).toMatchObject({ status: "settled", settledAmount: "7.00", operation: null, resolvedBy: "tenant", resolutionNote: "Nayax confirmed the 7.00" });
    expect(await eventTypes(t, id)).toEqual(["session.authorized", "session.review_required", "session.settled"]);

    const again = await tenantJson<ErrorJson>(t.apiKey, `/v1/sessions/${id}/resolve`, { method: "POST", json: { outcome: "settled" } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("not_in_review");
    expect(sent(simulator, "Settlement")).toHaveLength(2);
  });

  it("resolve on a session not in review is 409 and changes nothing; another tenant's is 404", async () => {
    const { t, id, tenant } = await authorized();
    const res = await tenantJson<ErrorJson>(t.apiKey, `/v1/sessions/${id}/resolve`, { method: "POST", json: { outcome: "not_settled" } });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("not_in_review");
    expect((await session(t, id)).status).toBe("authorized");
    const other = await tenant({ siteIds: [freshSite()] });
    expect((await tenantJson(other.apiKey, `/v1/sessions/${id}/resolve`, { method: "POST", json: { outcome: "settled" } })).status).toBe(404);
  });

  it("the same Idempotency-Key answers 202 while in doubt, the final answer once known, and 409 with another body", async () => {
    const { simulator, t, id } = await authorized();
    await sessionSettings(id, { SPARK_RESEND_SCHEDULE: "0.5" });
    simulator.failNext("Settlement", { lostAnswer: true });
    const key = { "Idempotency-Key": "settle-1" };
    expect((await settle(t, id, { amount: "5.00" }, key)).status).toBe(202);
    expect((await settle(t, id, { amount: "5.00" }, key)).status).toBe(202);
    expect((await settle(t, id, { amount: "6.00" }, key)).status).toBe(409);
    await vi.waitFor(async () => expect((await session(t, id)).status).toBe("settled"), { timeout: 5_000, interval: 100 });
    const final = await settle(t, id, { amount: "5.00" }, key);
    expect(final.status, final.text).toBe(200);
    expect(final.body).toMatchObject({ status: "settled", settledAmount: "5.00" });
    expect(sent(simulator, "Settlement")).toHaveLength(2);
  });
});
