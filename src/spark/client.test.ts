import { afterEach, describe, expect, it, vi } from "vitest";
import { openCipher } from "./cipher";
import { classify } from "../sessions/spark-calls";
import { SparkClient, SparkError } from "./client";
import type { SparkCredentials } from "./client";
import { cipherTime } from "./time";

/** The documented example credentials (spark-api.md §1.5); the base URL ends with a slash on purpose. */
const CREDENTIALS: SparkCredentials = {
  baseUrl: "https://spark-qa.example/api/",
  tokenId: 116383,
  secretToken: "mrV3U3nsgGFrE3w5-wnBo_WCLPce-pZ1awRvTVTkungMIKThTVbj_fiXdfoGclhn0",
  integratorId: "927",
  signKey: "RbtdDsiVNjkAeRty",
};
const ID = "12c7cec2-c690-4425-9a1f-db0db60e2d8c";
/** sha256(ID + ";" + signKey), computed independently (Node crypto). */
const SIGNATURE = "7dbc29666663c301b35f776f21dc92c66bd1cc32c73d170d3be0aabb696130de";
/** sha256(ID), the documented HashedSparkTransactionId. */
const HASHED_ID = "9515af0d6b5c328b6383ff241fa7b03e489d6285a8db6a4f0d8369e3f044e8d7";
const NOW = new Date("2024-02-05T17:41:22.328Z");
const SERIAL = { hwSerial: "0434334921100366" };

/** Seed 003, byte for byte as documented (curl body minified). */
const SEED_SETTLEMENT_BODY =
  '{"NayaxTransactionId":2004545072,"SparkTransactionId":"12c7cec2-c690-4425-9a1f-db0db60e2d8c","SiteId":2,"TerminalId":"0434334921100366","TerminalIdType":1,"Amount":12.25,' +
  '"EReceiptData":"{\\"General\\":[{\\"Company\\":\\"Your Payments - Our Solutions\\",\\"Station Name\\":\\"B12\\"}],\\"Service\\":[{\\"Product\\":\\"Something Yummy\\",\\"Price Per Unit\\":\\"$2.45\\",\\"Number of Units\\":2}]}"}';
const SEED_SETTLEMENT_ANSWER = `{
  "SparkTransactionId": "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  "Status": { "Verdict": "Approved", "ErrorDescription": "No Errors" },
  "CardBrand": "Visa", "CardLast4Digits": "1234", "AuthCode": "333333",
  "MachineAuTime": "20240205194122328", "AuTime": "20240205174122328", "SeTime": "20240205192215572",
  "CurrencyCode": "EUR", "CurrencyNumeric": "978", "FiscalRrn": "1A2b3C4d5E6f7g8H9i", "NayaxRRN": "111111", "Amount": 12.25
}`;

interface Captured {
  url: string;
  method: string;
  headers: Headers;
  bodyText: string;
}

/** Spies on the global fetch; each call is recorded and answered by `answer` (a fresh Response each time). */
function spyFetch(answer: (request: Captured) => Response | Promise<Response>): Captured[] {
  const calls: Captured[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const captured = { url: request.url, method: request.method, headers: request.headers, bodyText: await request.text() };
    calls.push(captured);
    return answer(captured);
  });
  return calls;
}

function jsonResponse(text: string, status = 200): Response {
  return new Response(text, { status, headers: { "Content-Type": "application/json" } });
}

const approved = (extra = "") => jsonResponse(`{"SparkTransactionId":"${ID}","Status":{"Verdict":"Approved","ErrorDescription":" No Errors "}${extra}}`);

function client(options: ConstructorParameters<typeof SparkClient>[1] = {}): SparkClient {
  return new SparkClient(CREDENTIALS, { now: () => NOW, ...options });
}

async function sparkError(promise: Promise<unknown>): Promise<SparkError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SparkError);
  return error as SparkError;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("SparkClient wire format", () => {
  it("StartAuthentication: path, v2 headers, body fields, and a cipher that opens to id/random/time", async () => {
    const calls = spyFetch(() => jsonResponse(`{"HashedSparkTransactionId":"${HASHED_ID}","Status":{"Verdict":"Approved","ErrorDescription":" No Errors "}}`));
    await client().startAuthentication({ sparkTransactionId: ID, terminal: SERIAL });

    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe("https://spark-qa.example/api/StartAuthentication");
    expect(call.method).toBe("POST");
    expect(call.headers.get("Content-Type")).toBe("application/json");
    expect(call.headers.get("IntegratorId")).toBe("927");
    expect(call.headers.get("TransactionSignature")).toBe(SIGNATURE);

    const body = JSON.parse(call.bodyText) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(["TokenId", "TerminalId", "TerminalIdType", "Random", "Cipher", "SparkTransactionId"]);
    expect(body).toMatchObject({ TokenId: 116383, TerminalId: "0434334921100366", TerminalIdType: 1, SparkTransactionId: ID });
    expect(body["Random"]).toMatch(/^[A-Za-z0-9]{17}$/);
    expect(openCipher(body["Cipher"] as string, CREDENTIALS.secretToken)).toEqual({
      sparkTransactionId: ID,
      random: body["Random"],
      timestamp: cipherTime(NOW),
    });
    expect(cipherTime(NOW)).toBe("2402051741");
  });

  it("StartAuthentication addresses a machine id with TerminalIdType 2 and a fresh Random each time", async () => {
    const calls = spyFetch(() => jsonResponse(`{"HashedSparkTransactionId":"${HASHED_ID}","Status":{"Verdict":"Approved"}}`));
    await client().startAuthentication({ sparkTransactionId: ID, terminal: { machineId: 71234996 } });
    await client().startAuthentication({ sparkTransactionId: ID, terminal: { machineId: 71234996 } });
    const [first, second] = calls.map((c) => JSON.parse(c.bodyText) as Record<string, unknown>);
    expect(first).toMatchObject({ TerminalId: "71234996", TerminalIdType: 2 });
    expect(first!["Random"]).not.toBe(second!["Random"]);
  });

  it("StartAuthentication accepts the hash in upper case", async () => {
    spyFetch(() => jsonResponse(`{"HashedSparkTransactionId":"${HASHED_ID.toUpperCase()}","Status":{"Verdict":"Approved"}}`));
    await expect(client().startAuthentication({ sparkTransactionId: ID, terminal: SERIAL })).resolves.toBeUndefined();
  });

  it.each([
    ["a wrong", `"HashedSparkTransactionId":"${"0".repeat(64)}",`],
    ["a missing", ""],
    ["a null", `"HashedSparkTransactionId":null,`],
  ])("StartAuthentication refuses %s HashedSparkTransactionId", async (_, field) => {
    spyFetch(() => jsonResponse(`{${field}"Status":{"Verdict":"Approved"}}`));
    const error = await sparkError(client().startAuthentication({ sparkTransactionId: ID, terminal: SERIAL }));
    expect(error).toMatchObject({ kind: "bad_response", method: "StartAuthentication", description: "HashedSparkTransactionId does not match", code: null });
  });

  it("TriggerTransaction: exact body, 30n as 0.3 (never a float artefact)", async () => {
    const calls = spyFetch(() => approved());
    const display = ";Charging Station:3;Day:30.52p;";
    await client().triggerTransaction({ sparkTransactionId: ID, terminal: SERIAL, amount: 30n, timeoutSeconds: 60, display });
    const call = calls[0]!;
    expect(call.url).toBe("https://spark-qa.example/api/TriggerTransaction");
    expect(call.headers.get("TransactionSignature")).toBe(SIGNATURE);
    expect(call.headers.get("IntegratorId")).toBe("927");
    expect(call.bodyText).toBe(
      `{"SparkTransactionId":"${ID}","TerminalId":"0434334921100366","TerminalIdType":1,"Amount":0.3,"PosDisplay":"${display}","TransactionTimeout":60}`,
    );
    expect(call.bodyText).not.toContain("0.30000000000000004");
  });

  it("TriggerTransaction leaves PosDisplay out when there is no display, and writes 1500n as 15", async () => {
    const calls = spyFetch(() => approved());
    await client().triggerTransaction({ sparkTransactionId: ID, terminal: { machineId: 71234996 }, amount: 1500n, timeoutSeconds: 60 });
    expect(calls[0]!.bodyText).toBe(`{"SparkTransactionId":"${ID}","TerminalId":"71234996","TerminalIdType":2,"Amount":15,"TransactionTimeout":60}`);
  });

  it("Settlement: the seed 003 request byte for byte, and its answer in camelCase", async () => {
    const calls = spyFetch(() => jsonResponse(SEED_SETTLEMENT_ANSWER));
    const result = await client().settle({
      sparkTransactionId: ID,
      nayaxTransactionId: 2004545072,
      siteId: 2,
      terminal: SERIAL,
      amount: 1225n,
      receipt: {
        General: [{ Company: "Your Payments - Our Solutions", "Station Name": "B12" }],
        Service: [{ Product: "Something Yummy", "Price Per Unit": "$2.45", "Number of Units": 2 }],
      },
    });
    const call = calls[0]!;
    expect(call.url).toBe("https://spark-qa.example/api/Settlement");
    expect(call.headers.get("TransactionSignature")).toBe(SIGNATURE);
    expect(call.bodyText).toBe(SEED_SETTLEMENT_BODY);
    expect(result).toEqual({
      amount: 1225n,
      currencyCode: "EUR",
      currencyNumeric: "978",
      authCode: "333333",
      nayaxRrn: "111111",
      fiscalRrn: "1A2b3C4d5E6f7g8H9i",
      settledAt: "2024-02-05T19:22:15.572Z",
      cardBrand: "Visa",
      cardLast4: "1234",
    });
  });

  it("Settlement: 30n goes out as 0.3, no EReceiptData without a receipt, 0.30 comes back as 30n", async () => {
    const calls = spyFetch(() => approved(`,"Amount":0.30,"SeTime":null,"CurrencyNumeric":978`));
    const result = await client().settle({ sparkTransactionId: ID, nayaxTransactionId: 2004545072, siteId: 2, terminal: SERIAL, amount: 30n, receipt: null });
    expect(calls[0]!.bodyText).toBe(
      `{"NayaxTransactionId":2004545072,"SparkTransactionId":"${ID}","SiteId":2,"TerminalId":"0434334921100366","TerminalIdType":1,"Amount":0.3}`,
    );
    // A numeric CurrencyNumeric must not fail an approved settlement.
    expect(result).toMatchObject({ amount: 30n, settledAt: null, currencyNumeric: "978", authCode: null });
  });

  it("CancelTransaction: exact body and CancelTime read as UTC", async () => {
    const calls = spyFetch(() =>
      approved(`,"CardBrand":"Visa","CardLast4Digits":"1234","AuthCode":"333333","MachineAuTime":"20240205194122328","AuTime":"20240205174122328","CancelTime":"20240205180000123","CurrencyCode":"EUR","CurrencyNumeric":"978","FiscalRrn":"F","NayaxRRN":"111111"`),
    );
    const result = await client().cancel({
      sparkTransactionId: ID,
      nayaxTransactionId: 2004545072,
      siteId: 2,
      terminal: SERIAL,
      machineAuTime: "20240205194122328",
      type: 1,
      amount: 1500n,
      reasonCode: 101,
      reasonText: "User aborted session",
    });
    const call = calls[0]!;
    expect(call.url).toBe("https://spark-qa.example/api/CancelTransaction");
    expect(call.headers.get("TransactionSignature")).toBe(SIGNATURE);
    expect(call.bodyText).toBe(
      `{"NayaxTransactionId":2004545072,"SparkTransactionId":"${ID}","SiteId":2,"MachineAuTime":"20240205194122328","TerminalId":"0434334921100366","TerminalIdType":1,"CancellationType":1,"CancelAmount":15,"ReasonCode":101,"ReasonText":"User aborted session"}`,
    );
    expect(result).toEqual({
      currencyCode: "EUR",
      currencyNumeric: "978",
      authCode: "333333",
      nayaxRrn: "111111",
      fiscalRrn: "F",
      cancelledAt: "2024-02-05T18:00:00.123Z",
      cardBrand: "Visa",
      cardLast4: "1234",
    });
  });

  it("works with a base URL without a trailing slash", async () => {
    const calls = spyFetch(() => approved());
    await new SparkClient({ ...CREDENTIALS, baseUrl: "https://spark-qa.example/api" }).triggerTransaction({
      sparkTransactionId: ID,
      terminal: SERIAL,
      amount: 100n,
      timeoutSeconds: 30,
    });
    expect(calls[0]!.url).toBe("https://spark-qa.example/api/TriggerTransaction");
  });
});

describe("SparkClient errors", () => {
  const trigger = (c = client()) => c.triggerTransaction({ sparkTransactionId: ID, terminal: SERIAL, amount: 1500n, timeoutSeconds: 60 });

  it("a Declined verdict is kind declined with Spark's code and trimmed description", async () => {
    spyFetch(() => jsonResponse(`{"SparkTransactionId":"${ID}","Status":{"Verdict":"Declined","ErrorCode":24,"ErrorDescription":" Machine Not Responding "}}`));
    const error = await sparkError(trigger());
    expect(error).toMatchObject({ kind: "declined", method: "TriggerTransaction", code: 24, description: "Machine Not Responding", httpStatus: 200 });
    expect(error.message).toContain("24");
  });

  it("any verdict other than Approved is a decline; an empty description falls back to the code's meaning", async () => {
    spyFetch(() => jsonResponse(`{"Status":{"Verdict":"Rejected","ErrorCode":29,"ErrorDescription":""}}`));
    expect(await sparkError(trigger())).toMatchObject({ kind: "declined", code: 29, description: "Not Allowed to Wake Device" });
  });

  it("a padded Approved verdict is approved", async () => {
    spyFetch(() => jsonResponse(`{"Status":{"Verdict":" Approved "}}`));
    await expect(trigger()).resolves.toBeUndefined();
  });

  it("HTTP 401 is unauthorized", async () => {
    spyFetch(() => jsonResponse(`{"Message":"Authorization has been denied for this request."}`, 401));
    expect(await sparkError(trigger())).toMatchObject({ kind: "unauthorized", httpStatus: 401, code: null });
  });

  it("another non-2xx is bad_response with the status, and Spark's code when the body has one", async () => {
    spyFetch(() => new Response("Service Unavailable", { status: 503 }));
    const error = await sparkError(trigger());
    expect(error).toMatchObject({ kind: "bad_response", httpStatus: 503, code: null });
    expect(error.description).toContain("503");

    vi.restoreAllMocks();
    spyFetch(() => jsonResponse(`{"Status":{"Verdict":"Declined","ErrorCode":999,"ErrorDescription":"Nayax General Error"}}`, 500));
    expect(await sparkError(trigger())).toMatchObject({ kind: "bad_response", httpStatus: 500, code: 999, description: "Nayax General Error" });
  });

  it.each([
    ["not JSON", "<html>oops</html>"],
    ["empty", ""],
    ["JSON without Status", `{"SparkTransactionId":"${ID}"}`],
    ["an answer for another transaction", `{"SparkTransactionId":"00000000-0000-4000-8000-000000000000","Status":{"Verdict":"Approved"}}`],
    ["a settlement amount that is not money", `{"Status":{"Verdict":"Approved"},"Amount":"twelve"}`],
  ])("a 200 that is %s is bad_response", async (_, text) => {
    spyFetch(() => jsonResponse(text));
    const settle = client().settle({ sparkTransactionId: ID, nayaxTransactionId: 1, siteId: 2, terminal: SERIAL, amount: 100n });
    expect(await sparkError(settle)).toMatchObject({ kind: "bad_response", httpStatus: 200 });
  });

  it("a network failure is unreachable", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      throw new TypeError("Network connection lost.");
    });
    const error = await sparkError(trigger());
    expect(error).toMatchObject({ kind: "unreachable", httpStatus: null, code: null });
    expect(error.description).toContain("Network connection lost");
  });

  it("no answer within timeoutMs is timeout, and the request is aborted", async () => {
    let aborted = false;
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input, init) =>
        new Promise<Response>((_, reject) => {
          init?.signal?.addEventListener("abort", () => {
            aborted = true;
            reject(new DOMException("aborted", "AbortError"));
          });
        }),
    );
    const error = await sparkError(trigger(client({ timeoutMs: 30 })));
    expect(error).toMatchObject({ kind: "timeout", method: "TriggerTransaction" });
    expect(aborted).toBe(true);
  });

  it("times out even when the fetcher ignores the abort signal", async () => {
    const fetcher = (() => new Promise<Response>(() => undefined)) as typeof fetch;
    expect(await sparkError(trigger(client({ timeoutMs: 30, fetcher })))).toMatchObject({ kind: "timeout" });
  });

  it("uses the given fetcher instead of the global fetch", async () => {
    const global = vi.spyOn(globalThis, "fetch");
    const fetcher = vi.fn(async () => approved()) as unknown as typeof fetch;
    await trigger(client({ fetcher }));
    expect(fetcher).toHaveBeenCalledOnce();
    expect(global).not.toHaveBeenCalled();
  });

  it("refuses bad inputs before sending anything", async () => {
    const calls = spyFetch(() => approved());
    await expect(client().triggerTransaction({ sparkTransactionId: ID, terminal: SERIAL, amount: -1n, timeoutSeconds: 60 })).rejects.toThrow(RangeError);
    await expect(client().triggerTransaction({ sparkTransactionId: ID, terminal: SERIAL, amount: 1n, timeoutSeconds: 0 })).rejects.toThrow(RangeError);
    await expect(client().triggerTransaction({ sparkTransactionId: ID, terminal: SERIAL, amount: 1.5 as unknown as bigint, timeoutSeconds: 60 })).rejects.toThrow(RangeError);
    await expect(
      client().cancel({ sparkTransactionId: ID, nayaxTransactionId: 1, siteId: 2, terminal: SERIAL, machineAuTime: "2024", type: 1, amount: 1n, reasonCode: 1 }),
    ).rejects.toThrow(RangeError);
    await expect(client().startAuthentication({ sparkTransactionId: "not-a-guid", terminal: SERIAL })).rejects.toThrow(/GUID/);
    expect(calls).toHaveLength(0);
  });
});

describe("what a failed call says (the tenant reads it in error.spark.description)", () => {
  const settle = (c: SparkClient) => c.settle({ sparkTransactionId: ID, nayaxTransactionId: 1, siteId: 2, terminal: SERIAL, amount: 100n });
  const failing = (message: string, cause?: unknown) => (async () => {
    throw Object.assign(new Error(message), cause === undefined ? {} : { cause });
  }) as unknown as typeof fetch;
  /** A TCP probe that answers `reachable` and records whom it was asked about. */
  const probe = (reachable: boolean | null) => {
    const asked: string[] = [];
    return { asked, probe: async (host: string, port: number) => (asked.push(`${host}:${port}`), reachable) };
  };
  afterEach(() => vi.restoreAllMocks());

  it("a name that does not resolve is a DNS failure (workerd hides it behind an internal error; a TCP probe tells)", async () => {
    const p = probe(false);
    const error = await sparkError(settle(client({ fetcher: failing("internal error; reference = 2gf8omad42fd22og7un5suci"), probe: p.probe })));
    expect(error).toMatchObject({ kind: "unreachable", httpStatus: null });
    expect(error.description).toBe("request failed: DNS lookup failed for spark-qa.example");
    expect(p.asked).toEqual(["spark-qa.example:443"]);
  });

  it("a host that answers TCP but not TLS is a TLS failure", async () => {
    const p = probe(true);
    const error = await sparkError(settle(client({ fetcher: failing("internal error; reference = cao8t24gbr325lnda8l3238q"), probe: p.probe })));
    expect(error.description).toBe("request failed: TLS handshake with spark-qa.example:443 failed");
  });

  it("over plain http an internal error can only be DNS; to an IP address only TLS", async () => {
    const p = probe(true);
    const http = new SparkClient({ ...CREDENTIALS, baseUrl: "http://spark-qa.example:8080/api" }, { fetcher: failing("internal error; reference = x"), probe: p.probe });
    expect((await sparkError(settle(http))).description).toBe("request failed: DNS lookup failed for spark-qa.example");
    const ip = new SparkClient({ ...CREDENTIALS, baseUrl: "https://127.0.0.1:8790/api" }, { fetcher: failing("internal error; reference = x"), probe: p.probe });
    expect((await sparkError(settle(ip))).description).toBe("request failed: TLS handshake with 127.0.0.1:8790 failed");
    expect(p.asked).toEqual([]);
  });

  it("a port nobody listens on is refused; a connection dropped mid-call is reset", async () => {
    const refused = await sparkError(settle(client({ fetcher: failing("Network connection lost."), probe: probe(false).probe })));
    expect(refused.description).toBe("request failed: connection refused by spark-qa.example:443 (Network connection lost.)");
    const reset = await sparkError(settle(client({ fetcher: failing("Network connection lost."), probe: probe(true).probe })));
    expect(reset.description).toBe("request failed: connection to spark-qa.example:443 was reset before Spark answered (Network connection lost.)");
    const unknown = await sparkError(settle(client({ fetcher: failing("Network connection lost."), probe: probe(null).probe })));
    expect(unknown.description).toBe("request failed: connection to spark-qa.example:443 refused or reset (Network connection lost.)");
  });

  it("reads Node's error codes too", async () => {
    const cases: Array<[string, string]> = [
      ["ENOTFOUND", "request failed: DNS lookup failed for spark-qa.example (TypeError: fetch failed)"],
      ["ECONNREFUSED", "request failed: connection refused by spark-qa.example:443 (TypeError: fetch failed)"],
      ["ECONNRESET", "request failed: connection to spark-qa.example:443 was reset before Spark answered (TypeError: fetch failed)"],
      ["CERT_HAS_EXPIRED", "request failed: TLS handshake with spark-qa.example:443 failed (TypeError: fetch failed)"],
    ];
    for (const [code, description] of cases) {
      const fetcher = (async () => {
        throw new TypeError("fetch failed", { cause: Object.assign(new Error(code), { code }) });
      }) as unknown as typeof fetch;
      expect((await sparkError(settle(client({ fetcher, probe: null })))).description).toBe(description);
    }
  });

  it("Cloudflare's own answers for an origin it cannot resolve or handshake with say so", async () => {
    spyFetch(() => new Response("error code: 1016", { status: 530 }));
    const dns = await sparkError(settle(client()));
    expect(dns).toMatchObject({ kind: "bad_response", httpStatus: 530 });
    expect(dns.description).toBe('HTTP 530: DNS lookup failed for spark-qa.example (Cloudflare error 1016): "error code: 1016"');
    vi.restoreAllMocks();
    spyFetch(() => new Response("error code: 525", { status: 525 }));
    expect((await sparkError(settle(client()))).description).toBe('HTTP 525: TLS handshake with spark-qa.example:443 failed: "error code: 525"');
  });

  it("logs one line per failed call, without a stack", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "log").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    await sparkError(settle(client({ fetcher: failing("internal error; reference = x"), probe: probe(false).probe })));
    expect(warn).toHaveBeenCalledOnce();
    const line = JSON.parse(String(warn.mock.calls[0]![0])) as Record<string, unknown>;
    expect(line).toEqual({
      level: "warn",
      message: "spark call failed",
      method: "Settlement",
      sparkTransactionId: ID,
      kind: "unreachable",
      code: null,
      httpStatus: null,
      description: "request failed: DNS lookup failed for spark-qa.example",
    });
    expect(error).not.toHaveBeenCalled();
  });
});

describe("whether a failed call can have reached Spark (CONTRACT §8: only then is its outcome unknown)", () => {
  const settle = (c: SparkClient) => c.settle({ sparkTransactionId: ID, nayaxTransactionId: 1, siteId: 2, terminal: SERIAL, amount: 100n });
  const failing = (message: string) => (async () => {
    throw new Error(message);
  }) as unknown as typeof fetch;
  afterEach(() => vi.restoreAllMocks());

  it("DNS, a refused connection, a failed TLS handshake and Cloudflare's 530/525: surely not sent", async () => {
    for (const [message, reachable] of [["internal error; reference = x", false], ["internal error; reference = x", true], ["Network connection lost.", false]] as const) {
      const error = await sparkError(settle(client({ fetcher: failing(message), probe: async () => reachable })));
      expect(error.notSent, error.description).toBe(true);
      expect(classify(error, "Settlement").kind).toBe("not_sent");
    }
    spyFetch(() => new Response("error code: 1016", { status: 530 }));
    const edge = await sparkError(settle(client()));
    expect(edge.notSent).toBe(true);
    expect(classify(edge, "Settlement").kind).toBe("not_sent");
  });

  it("a reset, a timeout, a 5xx without Spark's verdict: the outcome is unknown", async () => {
    const reset = await sparkError(settle(client({ fetcher: failing("Network connection lost."), probe: async () => true })));
    expect(reset.notSent).toBe(false);
    expect(classify(reset, "Settlement").kind).toBe("unknown");
    const undecided = await sparkError(settle(client({ fetcher: failing("Network connection lost."), probe: async () => null })));
    expect(classify(undecided, "Settlement").kind).toBe("unknown");
    spyFetch(() => new Response("upstream error", { status: 502 }));
    expect(classify(await sparkError(settle(client())), "Settlement").kind).toBe("unknown");
  });
});
