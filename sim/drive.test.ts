import { describe, expect, it } from "vitest";
import { buildCipher } from "../src/spark/cipher";
import { SparkClient } from "../src/spark/client";
import { inboundSchemas } from "../src/spark/messages";
import type { InboundMethod } from "../src/spark/messages";
import { DEMO_TENANT } from "./demo";
import {
  SEED,
  SparkDriver,
  availabilityCheck,
  checkStartSessionAnswer,
  declineCallback,
  infoQuery,
  startSession,
  stopCallback,
  stopNotify,
  timeoutCallback,
  transactionCallback,
  transactionNotify,
} from "./drive";
import type { SparkBody } from "./drive";
import { SparkSimulator } from "./spark-simulator";

/** Seed 001's request, minified. */
const SEED_001 =
  '{"HwSerial":"0434334921100366","MachineId":71234996,"NayaxTransactionId":2004545072,"SparkTransactionId":"12c7cec2-c690-4425-9a1f-db0db60e2d8c","Amount":10.00,"CardLast4Digits":"1234","CardHash":"7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6","CardUid":"1288528281124927","ServiceStationNumber":"5","SiteId":2,"MachineAuTime":"20240205194122328"}';
/** Seed 002's request, minified. */
const SEED_002 =
  '{"StopSiteId":4,"MachineId":71234996,"HwSerial":"0434334921100366","CardLast4Digits":"1234","CardHash":"7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6","SparkTransactionId":"12c7cec2-c690-4425-9a1f-db0db60e2d8c","NayaxTransactionId":2004545072,"CardUid":"1288528281124927","MachineAuTime":"20240205194122328","ServiceStationNumber":"5"}';

interface Captured {
  url: string;
  method: string;
  headers: Headers;
  bodyText: string;
}

/** A stand-in gateway that records what it gets and answers `answer`. */
function fakeGateway(answer: () => Response = () => Response.json({ Status: { Verdict: "Approved" } })) {
  const received: Captured[] = [];
  const fetcher = (async (input, init) => {
    const request = new Request(input, init);
    received.push({ url: request.url, method: request.method, headers: request.headers, bodyText: await request.text() });
    return answer();
  }) as typeof fetch;
  return { received, fetcher };
}

describe("callback builders", () => {
  it("default to the seed payloads, byte for byte", () => {
    expect(JSON.stringify(transactionNotify())).toBe(SEED_001);
    expect(JSON.stringify(stopCallback())).toBe(SEED_002);
  });

  it.each<[InboundMethod, () => SparkBody]>([
    ["TransactionNotify", transactionNotify],
    ["StopCallback", stopCallback],
    ["StopNotify", stopNotify],
    ["TransactionCallback", transactionCallback],
    ["DeclineCallback", declineCallback],
    ["TimeoutCallback", timeoutCallback],
    ["StartSession", startSession],
    ["InfoQuery", infoQuery],
    ["AvailabilityCheck", availabilityCheck],
  ])("%s default body passes the gateway's schema", (method, build) => {
    const parsed = inboundSchemas[method].safeParse(JSON.parse(JSON.stringify(build())));
    expect(parsed.success).toBe(true);
  });

  it("writes bigint amounts exactly: major units in general, minor units in TransactionCallback", () => {
    expect(JSON.stringify(transactionNotify({ Amount: 30n }))).toContain('"Amount":0.30,');
    expect(JSON.stringify(availabilityCheck({ Amount: 1225n }))).toContain('"Amount":12.25');
    expect(JSON.stringify(transactionCallback())).toContain('"Amount":1500,');
    expect(JSON.stringify(transactionCallback({ Amount: 1234n }))).toContain('"Amount":1234,');
  });

  it("overrides fields, removes undefined ones, and sends wrong types as given", () => {
    const body = transactionNotify({ SiteId: 9000, CardUid: undefined, MachineId: "71234996", Extra: true });
    expect(body).toMatchObject({ SiteId: 9000, MachineId: "71234996", Extra: true });
    expect("CardUid" in body).toBe(false);
    expect(declineCallback({ Status: { Verdict: "Declined", ErrorCode: 45, ErrorDescription: "Cancelled on POS Device" } })["Status"]).toMatchObject({ ErrorCode: 45 });
  });
});

describe("SparkDriver", () => {
  it("POSTs to {gatewayUrl}/spark/{Method} with X-Spark-Secret and parses the answer", async () => {
    const gateway = fakeGateway(() => new Response('{"Amount":10.00,"Status":{"Verdict":"Approved"}}', { headers: { "Content-Type": "application/json" } }));
    const driver = new SparkDriver({ gatewayUrl: "http://gw.test/", callbackSecret: "cb-secret", fetcher: gateway.fetcher });
    const answer = await driver.send("InfoQuery", infoQuery());
    const request = gateway.received[0]!;
    expect(request.url).toBe("http://gw.test/spark/InfoQuery");
    expect(request.method).toBe("POST");
    expect(request.headers.get("X-Spark-Secret")).toBe("cb-secret");
    expect(request.headers.get("Content-Type")).toBe("application/json");
    expect(request.bodyText).toBe(JSON.stringify(infoQuery()));
    expect(answer).toMatchObject({ status: 200, body: { Amount: "10.00", Status: { Verdict: "Approved" } } });
  });

  it("can leave the secret out, use another one, send raw text and another HTTP method", async () => {
    const gateway = fakeGateway(() => new Response("nope", { status: 401 }));
    const driver = new SparkDriver({ gatewayUrl: "http://gw.test", callbackSecret: "cb-secret", fetcher: gateway.fetcher });
    const answer = await driver.send("TransactionNotify", "{not json", { secret: null });
    await driver.send("StopNotify", stopNotify(), { secret: "other" });
    expect(gateway.received[0]!.headers.has("X-Spark-Secret")).toBe(false);
    expect(gateway.received[0]!.bodyText).toBe("{not json");
    expect(gateway.received[1]!.headers.get("X-Spark-Secret")).toBe("other");
    expect(answer).toMatchObject({ status: 401, body: "nope" });
  });

  it("registers played authorizations in the simulator, so the gateway's Settlement is checked against them", async () => {
    const simulator = new SparkSimulator({ tenants: [DEMO_TENANT] });
    const gateway = fakeGateway(() => new Response(null, { status: 200 }));
    const driver = new SparkDriver({ gatewayUrl: "http://gw.test", callbackSecret: "s", fetcher: gateway.fetcher, simulator });
    const id = crypto.randomUUID();

    await driver.send("TransactionCallback", transactionCallback({ SparkTransactionId: id, NayaxTransactionId: 501, SiteId: 9000, Amount: 1500n }));
    expect(simulator.authorization(501)).toMatchObject({ sparkTransactionId: id, siteId: 9000, amount: 1500n, machineAuTime: SEED.machineAuTime, cardBrand: "MASTERCARD", currencyCode: "ILS", nayaxRrn: "527109494297" });

    await driver.send("TransactionNotify", transactionNotify({ SparkTransactionId: crypto.randomUUID(), NayaxTransactionId: 502, Amount: 1000n }));
    expect(simulator.authorization(502)).toMatchObject({ amount: 1000n, siteId: SEED.siteId });

    // A declined authorization, or a body the gateway's schema refuses, registers nothing.
    await driver.send("TransactionCallback", transactionCallback({ NayaxTransactionId: 503, AuthStatus: { Verdict: "Declined", ErrorCode: 37 } }));
    await driver.send("TransactionNotify", transactionNotify({ NayaxTransactionId: 504, Amount: "lots" }));
    expect(simulator.authorization(503)).toBeUndefined();
    expect(simulator.authorization(504)).toBeUndefined();

    const client = new SparkClient({ baseUrl: "https://spark.sim/api", ...DEMO_TENANT }, { fetcher: (input, init) => simulator.handle(new Request(input, init)) });
    await expect(client.settle({ sparkTransactionId: id, nayaxTransactionId: 501, siteId: 9000, terminal: { hwSerial: SEED.hwSerial }, amount: 1225n })).resolves.toMatchObject({
      amount: 1225n,
      currencyCode: "ILS",
    });
  });
});

describe("checkStartSessionAnswer", () => {
  const now = new Date("2024-02-05T17:41:22.328Z");
  const id = "12c7cec2-c690-4425-9a1f-db0db60e2d8c";
  const answer = (o: { random?: string; at?: Date; cipherId?: string } = {}) => ({
    Cipher: buildCipher({ sparkTransactionId: o.cipherId ?? id, random: o.random ?? SEED.random, secretToken: DEMO_TENANT.secretToken, now: o.at ?? now }),
    SparkTransactionId: id,
    Status: { Verdict: "Approved" },
  });
  const expected = { random: SEED.random, secretToken: DEMO_TENANT.secretToken, now };

  it("accepts a well-formed answer", () => {
    expect(checkStartSessionAnswer(answer(), expected)).toBeNull();
  });

  it("names what is wrong", () => {
    expect(checkStartSessionAnswer(answer({ random: "AAAAAAAAAAAAAAAAA" }), expected)).toMatch(/Random/);
    expect(checkStartSessionAnswer(answer({ cipherId: crypto.randomUUID() }), expected)).toMatch(/SparkTransactionId/);
    expect(checkStartSessionAnswer(answer({ at: new Date(now.getTime() - 10 * 60_000) }), expected)).toMatch(/5 minutes/);
    expect(checkStartSessionAnswer(answer(), { ...expected, secretToken: "x".repeat(40) })).toMatch(/decrypt/);
    expect(checkStartSessionAnswer({ ...answer(), Status: { Verdict: "Declined" } }, expected)).toMatch(/Verdict/);
    expect(checkStartSessionAnswer(null, expected)).toMatch(/JSON object/);
  });
});
