/**
 * What Spark may send to `POST /spark/{Method}` (CONTRACT §4): authentication, validation,
 * size, routing and ownership, in the contract's order; Spark-shaped errors; nothing stored
 * for a refused request; and each method's accepted path.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { SEED_CARD_HASH, stopCallback, transactionNotify, transactionNotifyText } from "./fixtures";
import { call, newSessionId, spark, tenantCall } from "./helpers";
import type { Onboarded } from "./helpers";
import {
  authorize,
  countRows,
  expectSparkError,
  freshMachine,
  freshSite,
  readSession,
  settle,
  sparkCall,
  tenantWithSites,
  timeline,
  freshRandom,
} from "./support";

const HW = "0434334921100366";

type Tenant = Onboarded & { siteIds: number[]; spark: { tokenId: number } };

let a: Tenant;
let b: Tenant;
/** A's authorized session (card `cardA` on `machineA`), the target of the stop bodies. */
let authorizedId: string;
/** A's session created by StartSession, awaiting a card: the target of the Remote Start callbacks. */
let awaitingId: string;
let machineA: number;
const cardA = "aa".repeat(32);

beforeAll(async () => {
  a = (await tenantWithSites(2)) as Tenant;
  b = (await tenantWithSites(1)) as Tenant;
  machineA = freshMachine();
  authorizedId = (await authorize(a, { SiteId: a.siteIds[0]!, MachineId: machineA, CardHash: cardA })).id;
  const started = await sparkCall("StartSession", { HwSerial: HW, MachineId: machineA, TokenId: a.spark.tokenId, Random: freshRandom() }, a.sparkCallbackSecret);
  expect(started.status).toBe(200);
  awaitingId = started.body.SparkTransactionId as string;
  await settle(awaitingId);
});

interface MethodCase {
  /** A valid body that routes to tenant A (and would change something if accepted). */
  body: () => Record<string, unknown>;
  /** A required field to leave out. */
  required: string;
  /** A field and a value of the wrong type. */
  mistyped: [string, unknown];
  /** Overrides that make the body unroutable (404). */
  unroutable: () => Record<string, unknown>;
}

const unclaimedSite = () => freshSite();

const methods: Record<string, MethodCase> = {
  TransactionNotify: {
    body: () => transactionNotify({ SiteId: a.siteIds[0], MachineId: machineA, SparkTransactionId: newSessionId() }),
    required: "NayaxTransactionId",
    mistyped: ["MachineId", "71234996x"],
    unroutable: () => ({ SiteId: unclaimedSite() }),
  },
  StopCallback: {
    body: () => ({ ...stopCallback, StopSiteId: a.siteIds[1], MachineId: machineA, CardHash: cardA, SparkTransactionId: authorizedId }),
    required: "StopSiteId",
    mistyped: ["NayaxTransactionId", "2004545072x"],
    unroutable: () => ({ StopSiteId: unclaimedSite(), SparkTransactionId: newSessionId() }),
  },
  StopNotify: {
    body: () => ({ StopSiteId: a.siteIds[1], MachineId: machineA, HwSerial: HW, CardLast4Digits: "1234", CardHash: cardA, CardUid: "1", ServiceStationNumber: "5" }),
    required: "CardHash",
    mistyped: ["StopSiteId", "four"],
    unroutable: () => ({ StopSiteId: unclaimedSite() }),
  },
  TransactionCallback: {
    body: () => ({
      NayaxTransactionId: 2004545072,
      SparkTransactionId: awaitingId,
      SiteId: a.siteIds[0],
      TerminalId: HW,
      MachineId: machineA,
      HwSerial: HW,
      AuthStatus: { Verdict: "Approved", ErrorCode: 0, ErrorDescription: "", StatusMessage: "" },
      CardLast4Digits: "1234",
      CardHash: SEED_CARD_HASH,
      CardUid: "1288528281124927",
      MachineAuTime: "20240205194122328",
      Amount: 1500,
    }),
    required: "AuthStatus",
    mistyped: ["Amount", "15.00"],
    unroutable: () => ({ SparkTransactionId: newSessionId() }),
  },
  DeclineCallback: {
    body: () => ({ MachineId: machineA, HwSerial: HW, SparkTransactionId: awaitingId, Status: { Verdict: "Declined", ErrorCode: 44, ErrorDescription: "Timeout on POS Device" } }),
    required: "SparkTransactionId",
    mistyped: ["Status", "Declined"],
    unroutable: () => ({ SparkTransactionId: newSessionId() }),
  },
  TimeoutCallback: {
    body: () => ({ TerminalId: HW, MachineId: machineA, HwSerial: HW, SparkTransactionId: awaitingId }),
    required: "SparkTransactionId",
    mistyped: ["SparkTransactionId", 42],
    unroutable: () => ({ SparkTransactionId: newSessionId() }),
  },
  StartSession: {
    body: () => ({ HwSerial: HW, MachineId: machineA, TokenId: a.spark.tokenId, Random: freshRandom() }),
    required: "TokenId",
    mistyped: ["MachineId", "71234996x"],
    unroutable: () => ({ TokenId: 9_999_999 }),
  },
  InfoQuery: {
    body: () => ({ HwSerial: HW, MachineId: machineA, SparkTransactionId: newSessionId(), ServiceStationNumber: "5", SiteId: a.siteIds[0] }),
    required: "SiteId",
    mistyped: ["ServiceStationNumber", 5],
    unroutable: () => ({ SiteId: unclaimedSite() }),
  },
  AvailabilityCheck: {
    body: () => ({ HwSerial: HW, MachineId: machineA, SparkTransactionId: newSessionId(), ServiceStationNumber: "5", SiteId: a.siteIds[0], Amount: 10.0 }),
    required: "HwSerial",
    mistyped: ["Amount", "ten"],
    unroutable: () => ({ SiteId: unclaimedSite() }),
  },
};

/** Overrides that point a method's body at a session of its own, so accepting it disturbs no other test. */
async function freshTarget(method: string): Promise<Record<string, unknown>> {
  if (method === "TransactionCallback" || method === "DeclineCallback" || method === "TimeoutCallback") {
    const started = await sparkCall("StartSession", methods.StartSession!.body(), a.sparkCallbackSecret);
    await settle(started.body.SparkTransactionId as string);
    return { SparkTransactionId: started.body.SparkTransactionId };
  }
  if (method === "StopCallback" || method === "StopNotify") {
    const card = crypto.randomUUID().replace(/-/g, "").repeat(2);
    const machine = freshMachine();
    const { id } = await authorize(a, { SiteId: a.siteIds[0]!, MachineId: machine, CardHash: card });
    return { CardHash: card, MachineId: machine, ...(method === "StopCallback" ? { SparkTransactionId: id } : {}) };
  }
  return {};
}

const without = (body: Record<string, unknown>, field: string) => {
  const copy = { ...body };
  delete copy[field];
  return copy;
};

/** Every refusal below must leave A's two target sessions, in their objects and in D1, exactly as they were. */
async function snapshotOfA() {
  const read = async (id: string) => {
    const session = (await readSession(a.apiKey, id))!;
    return { status: session.status, events: session.events.map((e) => [e.type, e.data.sequence]) };
  };
  const projected = await env.DB.prepare(
    "SELECT s.id, s.status, s.last_sequence, (SELECT COUNT(*) FROM session_events e WHERE e.session_id = s.id) AS events FROM sessions s WHERE s.id IN (?, ?) ORDER BY s.id",
  )
    .bind(authorizedId, awaitingId)
    .all();
  return { authorized: await read(authorizedId), awaiting: await read(awaitingId), projected: projected.results };
}

describe.each(Object.keys(methods))("POST /spark/%s refusals", (method) => {
  const m = methods[method]!;

  it("401 without X-Spark-Secret, with an unknown one, or with a key of the wrong kind", async () => {
    const before = await snapshotOfA();
    expectSparkError(await sparkCall(method, m.body(), null), 401, /X-Spark-Secret/);
    expectSparkError(await sparkCall(method, m.body(), ""), 401);
    expectSparkError(await sparkCall(method, m.body(), "scs_not-a-secret"), 401, /X-Spark-Secret/);
    // The tenant's API key is not its callback secret.
    expectSparkError(await sparkCall(method, m.body(), a.apiKey), 401);
    // The secret goes in X-Spark-Secret, not Authorization.
    expectSparkError(await sparkCall(method, m.body(), null, { Authorization: `Bearer ${a.sparkCallbackSecret}` }), 401);
    // 401 comes before a malformed body or an unroutable one.
    expectSparkError(await sparkCall(method, "{not json", null), 401);
    expectSparkError(await sparkCall(method, { ...m.body(), ...m.unroutable() }, "scs_wrong"), 401);
    expect(await snapshotOfA()).toEqual(before);
  });

  it("400 on malformed JSON or a body that is not an object", async () => {
    const before = await snapshotOfA();
    for (const text of ["{not json", '{"SiteId": 2,}', "", "[]", "null", '"TransactionNotify"', "42"]) {
      expectSparkError(await sparkCall(method, text, a.sparkCallbackSecret), 400, /body/i);
    }
    expect(await snapshotOfA()).toEqual(before);
  });

  it("400 naming a missing required field", async () => {
    const before = await snapshotOfA();
    const answer = await sparkCall(method, without(m.body(), m.required), a.sparkCallbackSecret);
    expectSparkError(answer, 400, new RegExp(`${m.required}: is required`));
    // Explicit null for a required field is refused the same way, naming it.
    expectSparkError(await sparkCall(method, { ...m.body(), [m.required]: null }, a.sparkCallbackSecret), 400, new RegExp(m.required));
    expect(await snapshotOfA()).toEqual(before);
  });

  it("400 naming a field of the wrong type (not calling it missing)", async () => {
    const before = await snapshotOfA();
    const [field, value] = m.mistyped;
    const answer = await sparkCall(method, { ...m.body(), [field]: value }, a.sparkCallbackSecret);
    expectSparkError(answer, 400, new RegExp(`^${field}`));
    expect(answer.body.Status.ErrorDescription).not.toMatch(/is required/);
    // An invalid body is 400 even when it is also unroutable.
    expectSparkError(await sparkCall(method, { ...m.body(), ...m.unroutable(), [field]: value }, a.sparkCallbackSecret), 400, new RegExp(field));
    expect(await snapshotOfA()).toEqual(before);
  });

  it("413 on a valid body padded past 64 KiB, before routing", async () => {
    const before = await snapshotOfA();
    const padded = { ...m.body(), Padding: "x".repeat(65 * 1024) };
    expectSparkError(await sparkCall(method, padded, a.sparkCallbackSecret), 413, /64|65536|bytes/);
    expectSparkError(await sparkCall(method, { ...padded, ...m.unroutable() }, a.sparkCallbackSecret), 413);
    // A huge body (over a megabyte) is refused too, still Spark-shaped.
    expectSparkError(await sparkCall(method, { ...m.body(), Padding: "x".repeat(1100 * 1024) }, a.sparkCallbackSecret), 413);
    // Just under the limit is fine as far as size goes.
    const under = await sparkCall(method, { ...m.body(), Padding: "x".repeat(60 * 1024), ...m.unroutable() }, a.sparkCallbackSecret);
    expect(under.status).toBe(404);
    expect(await snapshotOfA()).toEqual(before);
  });

  it("404 when unroutable", async () => {
    const before = await snapshotOfA();
    expectSparkError(await sparkCall(method, { ...m.body(), ...m.unroutable() }, a.sparkCallbackSecret), 404);
    expect(await snapshotOfA()).toEqual(before);
  });

  it("401 with another tenant's secret", async () => {
    const before = await snapshotOfA();
    const body = m.body();
    expectSparkError(await sparkCall(method, body, b.sparkCallbackSecret), 401, /X-Spark-Secret/);
    expect(await snapshotOfA()).toEqual(before);
    // Nothing shows up for B either.
    if (typeof body.SparkTransactionId === "string") expect(await readSession(b.apiKey, body.SparkTransactionId)).toBeNull();
    expect(await countRows("sessions", b.id)).toBe(0);
  });

  it("tolerates unknown extra fields", async () => {
    const body: Record<string, unknown> = { ...m.body(), ...(await freshTarget(method)), SomethingNew: { nested: [1, 2] }, CardBrand: "VISA", Version: 3 };
    const answer = await sparkCall(method, body, a.sparkCallbackSecret);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.Status.Verdict).toBe("Approved");
    const touched = answer.body.SparkTransactionId ?? body.SparkTransactionId;
    if (typeof touched === "string") await settle(touched);
  });
});

describe("refusals store nothing", () => {
  it("a refused TransactionNotify leaves no session behind", async () => {
    const cases: Array<[Record<string, unknown> | string, string | null]> = [];
    const id = newSessionId();
    const body = transactionNotify({ SiteId: a.siteIds[0], SparkTransactionId: id });
    cases.push([body, null]);
    cases.push([body, "scs_wrong"]);
    cases.push([{ ...body, Amount: "1.005" }, a.sparkCallbackSecret]);
    cases.push([{ ...body, Padding: "x".repeat(70_000) }, a.sparkCallbackSecret]);
    cases.push([{ ...body, SiteId: freshSite() }, a.sparkCallbackSecret]);
    cases.push([body, b.sparkCallbackSecret]);
    const rows = await countRows("sessions", a.id);
    for (const [payload, secret] of cases) {
      const res = await spark("TransactionNotify", payload, secret);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    await settle(id);
    expect(await readSession(a.apiKey, id)).toBeNull();
    expect(await readSession(b.apiKey, id)).toBeNull();
    expect(await countRows("sessions", a.id)).toBe(rows);
    // The same body, properly sent, is then accepted as a first authorization.
    const ok = await sparkCall("TransactionNotify", body, a.sparkCallbackSecret);
    expect(ok.body.Status.Verdict).toBe("Approved");
    expect(await timeline(a.apiKey, id)).toEqual([["session.authorized", 1]]);
  });
});

describe("Spark method routing", () => {
  it("answers an unknown method with a Spark-shaped 404", async () => {
    expectSparkError(await sparkCall("Settlement", {}, a.sparkCallbackSecret), 404, /Settlement/);
    expectSparkError(await sparkCall("transactionnotify", {}, a.sparkCallbackSecret), 404);
    expectSparkError(await sparkCall("toString", {}, a.sparkCallbackSecret), 404);
    // Any other path or verb under /spark is Spark-shaped too.
    for (const [method, path] of [
      ["POST", "/spark/"],
      ["POST", "/spark/TransactionNotify/extra"],
      ["PUT", "/spark/TransactionNotify"],
      ["DELETE", "/spark/InfoQuery"],
    ] as const) {
      const res = await call(path, { method, headers: { "X-Spark-Secret": a.sparkCallbackSecret } });
      expectSparkError({ status: res.status, body: (await res.json()) as never }, 404);
      expect(res.headers.get("X-Request-Id")).toBeTruthy();
    }
  });

  it("carries X-Request-Id on Spark answers and errors", async () => {
    for (const secret of [null, a.sparkCallbackSecret]) {
      const res = await spark("InfoQuery", methods.InfoQuery!.body(), secret);
      expect(res.headers.get("X-Request-Id")).toBeTruthy();
    }
  });

  it("accepts InfoQuery as GET as well as POST", async () => {
    const body = JSON.stringify(methods.InfoQuery!.body());
    let request: Request | null = null;
    try {
      request = new Request("http://gateway.test/spark/InfoQuery", {
        method: "GET",
        headers: { "Content-Type": "application/json", "X-Spark-Secret": a.sparkCallbackSecret },
        body,
      });
    } catch {
      // This runtime refuses to build a GET with a body; see below.
    }
    if (request) {
      const res = await call("/spark/InfoQuery", { method: "GET", headers: Object.fromEntries(request.headers), body });
      expect(res.status).toBe(200);
    }
    // Either way a GET reaches the Spark handler (not the generic 404): it checks the secret first…
    const bare = await call("/spark/InfoQuery", { method: "GET" });
    expectSparkError({ status: bare.status, body: (await bare.json()) as never }, 401);
    // …and then wants a JSON body.
    const empty = await call("/spark/InfoQuery", { method: "GET", headers: { "X-Spark-Secret": a.sparkCallbackSecret } });
    expectSparkError({ status: empty.status, body: (await empty.json()) as never }, 400);
  });
});

describe("amounts from Spark", () => {
  it.each([
    ["10.00", "10.00"],
    ["10.5", "10.50"],
    ["7", "7.00"],
    ["0.1", "0.10"],
    ["90071992547409.93", "90071992547409.93"],
    ['"12.25"', "12.25"],
  ])("TransactionNotify Amount %s is kept exactly as %s", async (literal, expected) => {
    const id = newSessionId();
    const text = transactionNotifyText
      .replace("12c7cec2-c690-4425-9a1f-db0db60e2d8c", id)
      .replace('"SiteId": 2', `"SiteId": ${a.siteIds[0]}`)
      .replace('"Amount": 10.00', `"Amount": ${literal}`);
    expect(text).toContain(`"Amount": ${literal}`);
    const answer = await sparkCall("TransactionNotify", text, a.sparkCallbackSecret);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect((await readSession(a.apiKey, id))!.authorizedAmount).toBe(expected);
  });

  it.each([["1.005"], ["-1"], ['"-1.00"'], ['"ten"'], ["true"], ["null"]])("TransactionNotify Amount %s is refused, naming Amount", async (literal) => {
    const text = transactionNotifyText.replace('"SiteId": 2', `"SiteId": ${a.siteIds[0]}`).replace('"Amount": 10.00', `"Amount": ${literal}`);
    expectSparkError(await sparkCall("TransactionNotify", text, a.sparkCallbackSecret), 400, /^Amount/);
  });

  it("TransactionCallback Amount is minor units: 1500 is 15.00", async () => {
    const started = await sparkCall("StartSession", methods.StartSession!.body(), a.sparkCallbackSecret);
    const id = started.body.SparkTransactionId as string;
    const answer = await sparkCall("TransactionCallback", { ...methods.TransactionCallback!.body(), SparkTransactionId: id, Amount: 1500, CurrencyCode: "ILS" }, a.sparkCallbackSecret);
    expect(answer.status).toBe(200);
    const session = (await readSession(a.apiKey, id))!;
    expect(session).toMatchObject({ status: "authorized", authorizedAmount: "15.00", currency: "ILS", nayaxTransactionId: 2004545072 });
    // A decimal in a minor-unit field is a wrong type.
    expectSparkError(await sparkCall("TransactionCallback", { ...methods.TransactionCallback!.body(), Amount: 15.5 }, a.sparkCallbackSecret), 400, /^Amount/);
  });
});

describe("accepted callbacks", () => {
  it("TransactionNotify echoes the identifiers and approves", async () => {
    const id = newSessionId();
    const answer = await sparkCall("TransactionNotify", transactionNotify({ SiteId: a.siteIds[0], SparkTransactionId: id, ServiceStationNumber: "7" }), a.sparkCallbackSecret);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      NayaxTransactionId: 2004545072,
      SparkTransactionId: id,
      HwSerial: HW,
      MachineId: 71234996,
      SiteId: a.siteIds[0],
      ServiceStationNumber: "7",
      Status: { Verdict: "Approved", StatusMessage: expect.any(String) },
    });
  });

  it("TransactionNotify normalizes an upper-case SparkTransactionId to the same session", async () => {
    const id = newSessionId();
    const body = transactionNotify({ SiteId: a.siteIds[0], SparkTransactionId: id.toUpperCase() });
    expect((await sparkCall("TransactionNotify", body, a.sparkCallbackSecret)).status).toBe(200);
    expect(await timeline(a.apiKey, id)).toEqual([["session.authorized", 1]]);
    // The repeat in lower case is the same session, no new event.
    expect((await sparkCall("TransactionNotify", { ...body, SparkTransactionId: id }, a.sparkCallbackSecret)).status).toBe(200);
    expect(await timeline(a.apiKey, id)).toEqual([["session.authorized", 1]]);
  });

  it("TransactionCallback approves an awaiting session once; a repeat is the same answer with no new event", async () => {
    const started = await sparkCall("StartSession", methods.StartSession!.body(), a.sparkCallbackSecret);
    const id = started.body.SparkTransactionId as string;
    const body = { ...methods.TransactionCallback!.body(), SparkTransactionId: id };
    const first = await sparkCall("TransactionCallback", body, a.sparkCallbackSecret);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ SparkTransactionId: id, Status: { Verdict: "Approved" } });
    const again = await sparkCall("TransactionCallback", body, a.sparkCallbackSecret);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await timeline(a.apiKey, id)).toEqual([
      ["session.created", 1],
      ["session.authorized", 2],
    ]);
    // A conflicting repeat (another NayaxTransactionId) is 409 and changes nothing.
    expectSparkError(await sparkCall("TransactionCallback", { ...body, NayaxTransactionId: 1 }, a.sparkCallbackSecret), 409);
    expect((await readSession(a.apiKey, id))!.nayaxTransactionId).toBe(2004545072);
  });

  it("TransactionCallback with a declined AuthStatus declines the session", async () => {
    const started = await sparkCall("StartSession", methods.StartSession!.body(), a.sparkCallbackSecret);
    const id = started.body.SparkTransactionId as string;
    const answer = await sparkCall(
      "TransactionCallback",
      { SparkTransactionId: id, MachineId: machineA, HwSerial: HW, AuthStatus: { Verdict: "Declined", ErrorCode: 37, ErrorDescription: "Authorization Failed" } },
      a.sparkCallbackSecret,
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const session = (await readSession(a.apiKey, id))!;
    expect(session.status).toBe("declined");
    expect(session.events.map((e) => e.type)).toEqual(["session.created", "session.declined"]);
  });

  it("DeclineCallback declines with the code; a repeat adds nothing", async () => {
    const started = await sparkCall("StartSession", methods.StartSession!.body(), a.sparkCallbackSecret);
    const id = started.body.SparkTransactionId as string;
    const body = { ...methods.DeclineCallback!.body(), SparkTransactionId: id, Status: { Verdict: "Declined", ErrorCode: 45, ErrorDescription: " Cancelled on POS Device " } };
    const answer = await sparkCall("DeclineCallback", body, a.sparkCallbackSecret);
    expect(answer.status).toBe(200);
    expect(answer.body.Status.Verdict).toBe("Approved");
    expect(await sparkCall("DeclineCallback", body, a.sparkCallbackSecret)).toMatchObject({ status: 200 });
    const session = (await readSession(a.apiKey, id))!;
    expect(session).toMatchObject({ status: "declined", decline: { code: 45, description: "Cancelled on POS Device" } });
    expect(session.events.map((e) => [e.type, e.data.sequence])).toEqual([
      ["session.created", 1],
      ["session.declined", 2],
    ]);
  });

  it("TimeoutCallback ends an authorized session for good", async () => {
    const { id } = await authorize(a, { SiteId: a.siteIds[0]! });
    const body = { ...methods.TimeoutCallback!.body(), SparkTransactionId: id };
    const answer = await sparkCall("TimeoutCallback", body, a.sparkCallbackSecret);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ SparkTransactionId: id, Status: { Verdict: "Approved" } });
    expect(await sparkCall("TimeoutCallback", body, a.sparkCallbackSecret)).toMatchObject({ status: 200 });
    expect(await timeline(a.apiKey, id)).toEqual([
      ["session.authorized", 1],
      ["session.timed_out", 2],
    ]);
    expect((await readSession(a.apiKey, id))!.status).toBe("timed_out");
  });
});

describe("InfoQuery and AvailabilityCheck answer from station state", () => {
  const ask = (method: "InfoQuery" | "AvailabilityCheck", tenant: Tenant, machineId: number, ssn: string | undefined, sessionId: string | null = newSessionId()) =>
    sparkCall(
      method,
      {
        HwSerial: HW,
        MachineId: machineId,
        ...(sessionId ? { SparkTransactionId: sessionId } : {}),
        ...(ssn !== undefined ? { ServiceStationNumber: ssn } : {}),
        SiteId: tenant.siteIds[0],
        ...(method === "AvailabilityCheck" ? { Amount: 12.0 } : {}),
      },
      tenant.sparkCallbackSecret,
    );
  const put = (tenant: Tenant, machineId: number, ssn: string, json: unknown) => tenantCall(tenant.apiKey, `/v1/stations/${machineId}/${ssn}`, { method: "PUT", json });

  it.each(["InfoQuery", "AvailabilityCheck"] as const)("%s: available with the tenant's default amount when nothing was pushed", async (method) => {
    const machineId = freshMachine();
    const id = newSessionId();
    const answer = await ask(method, a, machineId, "5", id);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      SparkTransactionId: id,
      HwSerial: HW,
      MachineId: machineId,
      ServiceStationNumber: "5",
      SiteId: a.siteIds[0],
      ServiceStationAvailability: 1,
      Amount: 50,
      Status: { Verdict: "Approved", StatusMessage: expect.any(String) },
    });
    expect(answer.body).not.toHaveProperty("PosDisplay");
    // InfoQuery stores nothing: no session appears for the id it named.
    expect(await readSession(a.apiKey, id)).toBeNull();
  });

  it.each(["InfoQuery", "AvailabilityCheck"] as const)("%s: the station's availability, display and amount", async (method) => {
    const machineId = freshMachine();
    const display = ";Charging Station:5;Day:30.52p;Night:9p;";
    expect((await put(a, machineId, "5", { availability: "busy", display, preAuthAmount: "10.00" })).status).toBe(200);
    let answer = await ask(method, a, machineId, "5");
    expect(answer.body).toMatchObject({ ServiceStationAvailability: 2, PosDisplay: display, Amount: 10, Status: { Verdict: "Approved" } });

    expect((await put(a, machineId, "5", { availability: "out_of_service", preAuthAmount: 0.3 })).status).toBe(200);
    answer = await ask(method, a, machineId, "5");
    expect(answer.body).toMatchObject({ ServiceStationAvailability: 3, Amount: 0.3 });
    expect(answer.body).not.toHaveProperty("PosDisplay");

    expect((await put(a, machineId, "5", { availability: "available" })).status).toBe(200);
    answer = await ask(method, a, machineId, "5");
    expect(answer.body).toMatchObject({ ServiceStationAvailability: 1, Amount: 50 });

    // Another station of the same machine is untouched.
    expect((await ask(method, a, machineId, "6")).body).toMatchObject({ ServiceStationAvailability: 1, Amount: 50 });
  });

  it("answers without a ServiceStationNumber or SparkTransactionId (single-point devices)", async () => {
    const answer = await ask("InfoQuery", a, freshMachine(), undefined, null);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ SparkTransactionId: null, ServiceStationNumber: null, ServiceStationAvailability: 1 });
  });

  it("uses the amount the tenant set at onboarding", async () => {
    const tenant = (await tenantWithSites(1, { defaultPreAuthAmount: "35.00" })) as Tenant;
    expect((await ask("InfoQuery", tenant, freshMachine(), "1")).body.Amount).toBe(35);
  });

  it("keeps one tenant's station state from another's", async () => {
    const machineId = freshMachine();
    expect((await put(b, machineId, "1", { availability: "out_of_service" })).status).toBe(200);
    expect((await ask("InfoQuery", a, machineId, "1")).body.ServiceStationAvailability).toBe(1);
    expect((await ask("InfoQuery", b, machineId, "1")).body.ServiceStationAvailability).toBe(3);
  });
});
