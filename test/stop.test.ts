/**
 * Device Stop (StopCallback, StopNotify) and callback idempotency (CONTRACT §4, spark-api.md
 * §2.11–§2.12), with the session's event timeline.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SEED_CARD_HASH, SEED_SESSION_ID, stopCallback, stopCallbackAnswer, transactionNotify, transactionNotifyAnswer, transactionNotifyText } from "./fixtures";
import { newSessionId, onboard, tenantCall } from "./helpers";
import type { Onboarded } from "./helpers";
import { authorize, countRows, expectSparkError, freshMachine, freshSite, readSession, settle, sleep, sparkCall, tenantWithSites, timeline } from "./support";

const HW = "0434334921100366";
const AU_TIME = "20240205194122328";

type Tenant = Onboarded & { siteIds: number[] };
let t: Tenant;

beforeAll(async () => {
  t = await tenantWithSites(2);
});

/** A fresh 64-hex card hash. */
const freshCard = () => (crypto.randomUUID() + crypto.randomUUID()).replace(/-/g, "");

/** Asserts the timeline is `types` with sequence 1..n, no gaps. */
async function expectTimeline(apiKey: string, id: string, types: string[]) {
  expect(await timeline(apiKey, id)).toEqual(types.map((type, i) => [type, i + 1]));
}

/** A StopCallback body on tenant t's second site (the stop site), for this machine and card. */
const stopBody = (machineId: number, card: string, overrides: Record<string, unknown> = {}) => ({
  ...stopCallback,
  StopSiteId: t.siteIds[1],
  MachineId: machineId,
  CardHash: card,
  ...overrides,
});

const stopNotifyBody = (machineId: number, card: string, overrides: Record<string, unknown> = {}) => ({
  StopSiteId: t.siteIds[1],
  MachineId: machineId,
  HwSerial: HW,
  CardLast4Digits: "1234",
  CardHash: card,
  CardUid: "1288528281124927",
  ...overrides,
});

describe("StopCallback", () => {
  it("answers seed 002 exactly for the seed session, and a repeat the same with no new event", async () => {
    const acme = await onboard({ siteIds: [2, 4] });
    const notified = await sparkCall("TransactionNotify", transactionNotifyText, acme.sparkCallbackSecret);
    expect(notified.body).toEqual(transactionNotifyAnswer);

    const res = await sparkCall("StopCallback", stopCallback, acme.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(stopCallbackAnswer);
    const session = (await readSession(acme.apiKey, SEED_SESSION_ID))!;
    expect(session).toMatchObject({ status: "stop_requested", siteId: 2, stopSiteId: 4 });
    await expectTimeline(acme.apiKey, SEED_SESSION_ID, ["session.authorized", "session.stop_requested"]);
    // The stop event carries the session as it is after the stop.
    expect(session.events[1]!.data.session).toMatchObject({ id: SEED_SESSION_ID, status: "stop_requested" });

    const again = await sparkCall("StopCallback", stopCallback, acme.sparkCallbackSecret);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(stopCallbackAnswer);
    await expectTimeline(acme.apiKey, SEED_SESSION_ID, ["session.authorized", "session.stop_requested"]);
  });

  it("is routed by the session it names, even from a stop site nobody claimed", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card });
    const res = await sparkCall("StopCallback", stopBody(machine, card, { SparkTransactionId: id, StopSiteId: freshSite() }), t.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ Status: { Verdict: "Approved", ErrorDescription: "No Errors" }, SparkTransactionId: id, ServiceStationNumber: "5" });
  });

  it("finds the session by NayaxTransactionId when SparkTransactionId is null", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const nayaxId = 3_000_000_000 + machine;
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card, NayaxTransactionId: nayaxId });
    const other = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card, NayaxTransactionId: nayaxId + 1 });

    const res = await sparkCall("StopCallback", stopBody(machine, card, { SparkTransactionId: null, NayaxTransactionId: nayaxId }), t.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ Status: { Verdict: "Approved" }, SparkTransactionId: id });
    expect((await readSession(t.apiKey, id))!.status).toBe("stop_requested");
    // Only that one: the newer session of the same card is still running.
    expect((await readSession(t.apiKey, other.id))!.status).toBe("authorized");
  });

  it("finds the newest open session by CardHash on that machine (and station) when both ids are null", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const older = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card, ServiceStationNumber: "1" });
    await sleep(5);
    const newer = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card, ServiceStationNumber: "2" });
    await sleep(5);
    // Same card on another machine, even newer: not a candidate.
    const elsewhere = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: freshMachine(), CardHash: card, ServiceStationNumber: "2" });
    const byCard = { SparkTransactionId: null, NayaxTransactionId: null, ServiceStationNumber: null };

    const first = await sparkCall("StopCallback", stopBody(machine, card, byCard), t.sparkCallbackSecret);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ Status: { Verdict: "Approved", ErrorDescription: "No Errors" }, SparkTransactionId: newer.id, ServiceStationNumber: "2" });
    expect((await readSession(t.apiKey, newer.id))!.status).toBe("stop_requested");
    expect((await readSession(t.apiKey, older.id))!.status).toBe("authorized");

    // With a ServiceStationNumber only that station's session is a candidate.
    const second = await sparkCall("StopCallback", stopBody(machine, card, { ...byCard, ServiceStationNumber: "1" }), t.sparkCallbackSecret);
    expect(second.body).toMatchObject({ Status: { Verdict: "Approved" }, SparkTransactionId: older.id, ServiceStationNumber: "1" });
    expect((await readSession(t.apiKey, older.id))!.status).toBe("stop_requested");
    expect((await readSession(t.apiKey, elsewhere.id))!.status).toBe("authorized");

    // Upper-case hex is the same card.
    const third = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card, ServiceStationNumber: "3" });
    const upper = await sparkCall("StopCallback", stopBody(machine, card.toUpperCase(), { ...byCard, ServiceStationNumber: "3" }), t.sparkCallbackSecret);
    expect(upper.body).toMatchObject({ Status: { Verdict: "Approved" }, SparkTransactionId: third.id });
  });

  it("declines (200) a card that matches no open session, storing nothing", async () => {
    const machine = freshMachine();
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: freshCard() });
    const events = await countRows("session_events", t.id);
    for (const body of [
      stopBody(machine, freshCard(), { SparkTransactionId: null, NayaxTransactionId: null }),
      stopBody(machine, freshCard(), { SparkTransactionId: null, NayaxTransactionId: 999_999_999_999 }),
      stopBody(freshMachine(), freshCard(), { SparkTransactionId: newSessionId() }),
    ]) {
      const res = await sparkCall("StopCallback", body, t.sparkCallbackSecret);
      expect(res.status).toBe(200);
      expect(res.body.Status.Verdict).toBe("Declined");
      expect(res.body.Status.ErrorDescription).toBeTruthy();
      expect(res.body.SparkTransactionId ?? null).toBeNull();
    }
    await expectTimeline(t.apiKey, id, ["session.authorized"]);
    expect(await countRows("session_events", t.id)).toBe(events);
  });

  it("declines a card hash that differs from the session's", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card });
    const res = await sparkCall("StopCallback", stopBody(machine, freshCard(), { SparkTransactionId: id }), t.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.body.Status.Verdict).toBe("Declined");
    expect((await readSession(t.apiKey, id))!.status).toBe("authorized");
    await expectTimeline(t.apiKey, id, ["session.authorized"]);
    // The right card still stops it afterwards.
    const ok = await sparkCall("StopCallback", stopBody(machine, card, { SparkTransactionId: id }), t.sparkCallbackSecret);
    expect(ok.body.Status.Verdict).toBe("Approved");
    // And once stop_requested, a wrong card is still Declined, with no new event.
    const wrong = await sparkCall("StopCallback", stopBody(machine, freshCard(), { SparkTransactionId: id }), t.sparkCallbackSecret);
    expect(wrong.body.Status.Verdict).toBe("Declined");
    await expectTimeline(t.apiKey, id, ["session.authorized", "session.stop_requested"]);
  });

  it("declines a session already ended: declined at a busy station, or timed out", async () => {
    const machine = freshMachine();
    const card = freshCard();
    expect((await tenantCall(t.apiKey, `/v1/stations/${machine}/5`, { method: "PUT", json: { availability: "busy" } })).status).toBe(200);
    const declined = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card });
    expect(declined.answer.Status.Verdict).toBe("Declined");
    const res = await sparkCall("StopCallback", stopBody(machine, card, { SparkTransactionId: declined.id }), t.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.body.Status.Verdict).toBe("Declined");
    expect(res.body.Status.ErrorDescription).toMatch(/session already ended/i);
    await expectTimeline(t.apiKey, declined.id, ["session.declined"]);

    const other = freshMachine();
    const timedOut = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: other, CardHash: card });
    const timeout = await sparkCall("TimeoutCallback", { TerminalId: HW, MachineId: other, HwSerial: HW, SparkTransactionId: timedOut.id }, t.sparkCallbackSecret);
    expect(timeout.status).toBe(200);
    const late = await sparkCall("StopCallback", stopBody(other, card, { SparkTransactionId: timedOut.id }), t.sparkCallbackSecret);
    expect(late.status).toBe(200);
    expect(late.body.Status.Verdict).toBe("Declined");
    expect(late.body.Status.ErrorDescription).toMatch(/session already ended/i);
    await expectTimeline(t.apiKey, timedOut.id, ["session.authorized", "session.timed_out"]);
  });

  it("requires the card hash (400 naming CardHash) and then stops nothing", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card });
    const body: Record<string, unknown> = stopBody(machine, card, { SparkTransactionId: id });
    delete body.CardHash;
    expectSparkError(await sparkCall("StopCallback", body, t.sparkCallbackSecret), 400, /^CardHash: is required/);
    expectSparkError(await sparkCall("StopCallback", { ...body, CardHash: null }, t.sparkCallbackSecret), 400, /^CardHash/);
    expectSparkError(await sparkCall("StopCallback", { ...body, CardHash: "" }, t.sparkCallbackSecret), 400, /^CardHash/);
    await expectTimeline(t.apiKey, id, ["session.authorized"]);
  });

  it("declines a stop for a session still awaiting its card", async () => {
    const started = await sparkCall("StartSession", { HwSerial: HW, MachineId: freshMachine(), TokenId: (t as unknown as { spark: { tokenId: number } }).spark.tokenId, Random: "123456789qwertyui" }, t.sparkCallbackSecret);
    const id = started.body.SparkTransactionId as string;
    const res = await sparkCall("StopCallback", stopBody(1, freshCard(), { SparkTransactionId: id }), t.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.body.Status.Verdict).toBe("Declined");
    await expectTimeline(t.apiKey, id, ["session.created"]);
  });
});

describe("StopNotify", () => {
  it("matches by card hash and answers the session's identifiers (§2.12)", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const nayaxId = 4_000_000_000 + machine;
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card, NayaxTransactionId: nayaxId });

    const res = await sparkCall("StopNotify", stopNotifyBody(machine, card, { ServiceStationNumber: "5" }), t.sparkCallbackSecret);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      SparkTransactionId: id,
      NayaxTransactionId: nayaxId,
      SiteId: t.siteIds[0],
      StopSiteId: t.siteIds[1],
      MachineId: machine,
      HwSerial: HW,
      MachineAuTime: AU_TIME,
      Status: { Verdict: "Approved", ErrorDescription: "No Errors" },
    });
    expect((await readSession(t.apiKey, id))!).toMatchObject({ status: "stop_requested", stopSiteId: t.siteIds[1] });
    await expectTimeline(t.apiKey, id, ["session.authorized", "session.stop_requested"]);

    // Spark repeats it: the same answer, no new event.
    const again = await sparkCall("StopNotify", stopNotifyBody(machine, card, { ServiceStationNumber: "5" }), t.sparkCallbackSecret);
    expect(again.body).toEqual(res.body);
    await expectTimeline(t.apiKey, id, ["session.authorized", "session.stop_requested"]);
  });

  it("matches without a ServiceStationNumber, and case-insensitively on the hash", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card.toUpperCase() });
    const res = await sparkCall("StopNotify", stopNotifyBody(machine, card), t.sparkCallbackSecret);
    expect(res.body).toMatchObject({ SparkTransactionId: id, Status: { Verdict: "Approved" } });
  });

  it("declines (200) when nothing matches, changing nothing", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card });
    const cases = [
      stopNotifyBody(machine, freshCard()),
      stopNotifyBody(machine, card, { ServiceStationNumber: "9" }),
      stopNotifyBody(freshMachine(), card),
    ];
    for (const body of cases) {
      const res = await sparkCall("StopNotify", body, t.sparkCallbackSecret);
      expect(res.status).toBe(200);
      expect(res.body.Status.Verdict).toBe("Declined");
      expect(res.body.SparkTransactionId ?? null).toBeNull();
      expect(res.body.NayaxTransactionId ?? null).toBeNull();
    }
    await expectTimeline(t.apiKey, id, ["session.authorized"]);
  });

  it("does not match a session already ended", async () => {
    const machine = freshMachine();
    const card = freshCard();
    const { id } = await authorize(t, { SiteId: t.siteIds[0]!, MachineId: machine, CardHash: card });
    expect((await sparkCall("TimeoutCallback", { SparkTransactionId: id, MachineId: machine, HwSerial: HW }, t.sparkCallbackSecret)).status).toBe(200);
    await settle(id);
    const res = await sparkCall("StopNotify", stopNotifyBody(machine, card), t.sparkCallbackSecret);
    expect(res.body.Status.Verdict).toBe("Declined");
    await expectTimeline(t.apiKey, id, ["session.authorized", "session.timed_out"]);
  });
});

describe("TransactionNotify idempotency", () => {
  it("answers an exact repeat the same, with no new event", async () => {
    const body = transactionNotify({ SiteId: t.siteIds[0], SparkTransactionId: newSessionId(), CardHash: freshCard() });
    const first = await sparkCall("TransactionNotify", body, t.sparkCallbackSecret);
    const second = await sparkCall("TransactionNotify", body, t.sparkCallbackSecret);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    await expectTimeline(t.apiKey, body.SparkTransactionId as string, ["session.authorized"]);
  });

  it("repeats a Declined verdict too, even after the station became available", async () => {
    const machine = freshMachine();
    const put = (availability: string) => tenantCall(t.apiKey, `/v1/stations/${machine}/5`, { method: "PUT", json: { availability } });
    expect((await put("out_of_service")).status).toBe(200);
    const body = transactionNotify({ SiteId: t.siteIds[0], MachineId: machine, SparkTransactionId: newSessionId() });
    const first = await sparkCall("TransactionNotify", body, t.sparkCallbackSecret);
    expect(first.body.Status.Verdict).toBe("Declined");
    expect((await put("available")).status).toBe(200);
    const second = await sparkCall("TransactionNotify", body, t.sparkCallbackSecret);
    expect(second.body).toEqual(first.body);
    await expectTimeline(t.apiKey, body.SparkTransactionId as string, ["session.declined"]);
  });

  it.each([
    ["another NayaxTransactionId", { NayaxTransactionId: 1234 }],
    ["another Amount", { Amount: 11.0 }],
    ["the Amount as a different literal of another value", { Amount: "10.01" }],
  ])("refuses a conflicting repeat (%s) with 409, changing nothing", async (_label, change) => {
    const id = newSessionId();
    const body = transactionNotify({ SiteId: t.siteIds[0], SparkTransactionId: id });
    expect((await sparkCall("TransactionNotify", body, t.sparkCallbackSecret)).status).toBe(200);
    await settle(id);
    const before = await readSession(t.apiKey, id);
    const events = await countRows("session_events", t.id);

    expectSparkError(await sparkCall("TransactionNotify", { ...body, ...change }, t.sparkCallbackSecret), 409, /SparkTransactionId|already/);

    await settle(id);
    expect(await readSession(t.apiKey, id)).toEqual(before);
    expect(before).toMatchObject({ nayaxTransactionId: 2004545072, authorizedAmount: "10.00" });
    expect(await countRows("session_events", t.id)).toBe(events);
    // The original repeat is still answered as before.
    expect((await sparkCall("TransactionNotify", body, t.sparkCallbackSecret)).body.Status.Verdict).toBe("Approved");
  });

  it("treats 10 and 10.00 as the same amount", async () => {
    const id = newSessionId();
    const text = transactionNotifyText.replace(SEED_SESSION_ID, id).replace('"SiteId": 2', `"SiteId": ${t.siteIds[0]}`);
    expect((await sparkCall("TransactionNotify", text, t.sparkCallbackSecret)).status).toBe(200);
    const same = await sparkCall("TransactionNotify", text.replace('"Amount": 10.00', '"Amount": 10'), t.sparkCallbackSecret);
    expect(same.status).toBe(200);
    await expectTimeline(t.apiKey, id, ["session.authorized"]);
  });
});

describe("event timeline", () => {
  it("numbers a session's events 1..n without gaps through its whole life", async () => {
    const machine = freshMachine();
    const card = SEED_CARD_HASH;
    const started = await sparkCall(
      "StartSession",
      { HwSerial: HW, MachineId: machine, TokenId: (t as unknown as { spark: { tokenId: number } }).spark.tokenId, Random: "ABCDEFGHIJKLMNOPQ" },
      t.sparkCallbackSecret,
    );
    const id = started.body.SparkTransactionId as string;
    const notify = transactionNotify({ SiteId: t.siteIds[0], MachineId: machine, SparkTransactionId: id, CardHash: card });
    expect((await sparkCall("TransactionNotify", notify, t.sparkCallbackSecret)).body.Status.Verdict).toBe("Approved");
    expect((await sparkCall("TransactionNotify", notify, t.sparkCallbackSecret)).status).toBe(200);
    expect((await sparkCall("StopCallback", stopBody(machine, card, { SparkTransactionId: id }), t.sparkCallbackSecret)).body.Status.Verdict).toBe("Approved");
    expect((await sparkCall("StopNotify", stopNotifyBody(machine, card), t.sparkCallbackSecret)).status).toBe(200);
    expect((await sparkCall("TimeoutCallback", { SparkTransactionId: id, MachineId: machine, HwSerial: HW }, t.sparkCallbackSecret)).status).toBe(200);

    const session = (await readSession(t.apiKey, id))!;
    expect(session.events.map((e) => e.type)).toEqual(["session.created", "session.authorized", "session.stop_requested", "session.timed_out"]);
    expect(session.events.map((e) => e.data.sequence)).toEqual([1, 2, 3, 4]);
    expect(new Set(session.events.map((e) => e.id)).size).toBe(4);
    for (const event of session.events) expect(event.id).toMatch(/^evt_/);
    expect(session.events.map((e) => e.data.session.status)).toEqual(["awaiting_card", "authorized", "stop_requested", "timed_out"]);

    // D1 holds the same events, in the same order.
    await settle(id);
    const list = await tenantCall(t.apiKey, `/v1/sessions?limit=200`);
    const listed = ((await list.json()) as { data: Array<{ id: string; status: string }> }).data.find((s) => s.id === id);
    expect(listed?.status).toBe("timed_out");
  });
});
