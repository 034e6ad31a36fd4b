/**
 * Playing Spark against the gateway: builders for the callbacks Spark sends (PascalCase bodies,
 * defaulting to the documented example values, seeds 001/002 and spark-api.md §2.3–§2.8) and a
 * {@link SparkDriver} that POSTs them to `/spark/{Method}` with the tenant's `X-Spark-Secret`.
 *
 * Overrides replace fields one by one; `undefined` removes a field (to test "missing"), and any
 * value, even of the wrong type, goes out as given. A `bigint` for an amount is written as an
 * exact JSON number: minor units for TransactionCallback (`1500`), major units elsewhere (`10.00`).
 */
import { formatMoney } from "../src/lib/money";
import type { Minor } from "../src/lib/money";
import { cipherTimestampToDate, openCipher } from "../src/spark/cipher";
import { parseSparkJson, sparkJson } from "../src/spark/json";
import { TransactionCallback, TransactionNotify } from "../src/spark/messages";
import type { InboundMethod } from "../src/spark/messages";
import { formatDeviceTime } from "../src/spark/time";
import { CIPHER_MAX_AGE_MS } from "./spark-simulator";
import type { SparkSimulator } from "./spark-simulator";

/** The documented example values (seeds 001–003, spark-api.md §2). */
export const SEED = {
  sparkTransactionId: "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  nayaxTransactionId: 2004545072,
  machineId: 71234996,
  hwSerial: "0434334921100366",
  siteId: 2,
  stopSiteId: 4,
  serviceStationNumber: "5",
  cardLast4: "1234",
  cardHash: "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6",
  cardUid: "1288528281124927",
  cardBrand: "MASTERCARD",
  machineAuTime: "20240205194122328",
  tokenId: 116383,
  random: "123456789qwertyui",
  posDisplay: ";Charging Station:5;Day:30.52p;Night:9p;Standing charge:52.18p/day; Offpeak:12:30-04:30;",
} as const;

/** A Spark callback body: PascalCase fields; amounts may be `JSON.rawJSON` literals. */
export type SparkBody = Record<string, unknown>;

/** Field overrides; `undefined` removes a field; a `bigint` amount becomes an exact number. */
export type Overrides = Record<string, unknown>;

/** Money fields of the callbacks, for the bigint conversion. */
const MONEY_FIELDS = new Set(["Amount"]);

function build(defaults: SparkBody, overrides: Overrides, unit: "major" | "minor"): SparkBody {
  const body: SparkBody = { ...defaults, ...overrides };
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) delete body[key];
    else if (MONEY_FIELDS.has(key) && typeof value === "bigint") body[key] = moneyJson(value, unit);
  }
  return body;
}

/** An exact JSON number: `1500` in minor units, `15.00` in major units. */
function moneyJson(value: Minor, unit: "major" | "minor"): unknown {
  return JSON.rawJSON(unit === "minor" ? value.toString() : formatMoney(value));
}

/** Device Start authorization result (seed 001). Amount in major units (default `10.00`). */
export function transactionNotify(o: Overrides = {}): SparkBody {
  return build(
    {
      HwSerial: SEED.hwSerial,
      MachineId: SEED.machineId,
      NayaxTransactionId: SEED.nayaxTransactionId,
      SparkTransactionId: SEED.sparkTransactionId,
      Amount: moneyJson(1000n, "major"),
      CardLast4Digits: SEED.cardLast4,
      CardHash: SEED.cardHash,
      CardUid: SEED.cardUid,
      ServiceStationNumber: SEED.serviceStationNumber,
      SiteId: SEED.siteId,
      MachineAuTime: SEED.machineAuTime,
    },
    o,
    "major",
  );
}

/** Stop by card, Spark matched the session (seed 002). */
export function stopCallback(o: Overrides = {}): SparkBody {
  return build(
    {
      StopSiteId: SEED.stopSiteId,
      MachineId: SEED.machineId,
      HwSerial: SEED.hwSerial,
      CardLast4Digits: SEED.cardLast4,
      CardHash: SEED.cardHash,
      SparkTransactionId: SEED.sparkTransactionId,
      NayaxTransactionId: SEED.nayaxTransactionId,
      CardUid: SEED.cardUid,
      MachineAuTime: SEED.machineAuTime,
      ServiceStationNumber: SEED.serviceStationNumber,
    },
    o,
    "major",
  );
}

/** Stop by card, the gateway matches the session (spark-api.md §2.12). */
export function stopNotify(o: Overrides = {}): SparkBody {
  return build(
    {
      StopSiteId: SEED.stopSiteId,
      MachineId: SEED.machineId,
      HwSerial: SEED.hwSerial,
      CardLast4Digits: SEED.cardLast4,
      CardHash: SEED.cardHash,
      CardUid: SEED.cardUid,
      ServiceStationNumber: SEED.serviceStationNumber,
    },
    o,
    "major",
  );
}

/** Remote Start authorization result (spark-api.md §2.3). Amount in **minor** units (default `1500`). */
export function transactionCallback(o: Overrides = {}): SparkBody {
  return build(
    {
      NayaxTransactionId: SEED.nayaxTransactionId,
      SparkTransactionId: SEED.sparkTransactionId,
      SiteId: SEED.siteId,
      TerminalId: SEED.hwSerial,
      MachineId: SEED.machineId,
      HwSerial: SEED.hwSerial,
      AuthStatus: { Verdict: "Approved", ErrorCode: 0, ErrorDescription: "", StatusMessage: "" },
      CardLast4Digits: SEED.cardLast4,
      CardHash: SEED.cardHash,
      CardUid: SEED.cardUid,
      MachineAuTime: SEED.machineAuTime,
      Amount: moneyJson(1500n, "minor"),
      CardBrand: SEED.cardBrand,
      CardFirst6Digits: "555561",
      AuthCode: "3494297",
      AuTime: SEED.machineAuTime,
      CurrencyCode: "ILS",
      CurrencyNumeric: "376",
      FiscalRrn: "1A2b3C4d5E6f7g8H9i",
      NayaxRRN: "527109494297",
    },
    o,
    "minor",
  );
}

/** Remote Start ended before authorization (spark-api.md §2.4); default code 44 "Timeout on POS Device". */
export function declineCallback(o: Overrides = {}): SparkBody {
  return build(
    {
      MachineId: SEED.machineId,
      HwSerial: SEED.hwSerial,
      SparkTransactionId: SEED.sparkTransactionId,
      Status: { Verdict: "Declined", ErrorCode: 44, ErrorDescription: "Timeout on POS Device" },
    },
    o,
    "major",
  );
}

/** A pre-authorized session expired on Spark's side (spark-api.md §2.5). */
export function timeoutCallback(o: Overrides = {}): SparkBody {
  return build(
    {
      TerminalId: SEED.hwSerial,
      MachineId: SEED.machineId,
      HwSerial: SEED.hwSerial,
      SparkTransactionId: SEED.sparkTransactionId,
    },
    o,
    "major",
  );
}

/** Device Start handshake (spark-api.md §2.6). */
export function startSession(o: Overrides = {}): SparkBody {
  return build({ HwSerial: SEED.hwSerial, MachineId: SEED.machineId, TokenId: SEED.tokenId, Random: SEED.random }, o, "major");
}

/** Station availability query (spark-api.md §2.7). */
export function infoQuery(o: Overrides = {}): SparkBody {
  return build(
    {
      HwSerial: SEED.hwSerial,
      MachineId: SEED.machineId,
      SparkTransactionId: SEED.sparkTransactionId,
      ServiceStationNumber: SEED.serviceStationNumber,
      SiteId: SEED.siteId,
    },
    o,
    "major",
  );
}

/** InfoQuery with the estimated amount (devzone reference only); Amount in major units (default `10.00`). */
export function availabilityCheck(o: Overrides = {}): SparkBody {
  return infoQuery({ Amount: 1000n, ...o });
}

/** Options of {@link SparkDriver}. */
export interface SparkDriverOptions {
  /** The gateway's origin, e.g. `http://127.0.0.1:8787`. */
  gatewayUrl: string;
  /** The tenant's callback secret, sent as `X-Spark-Secret`. */
  callbackSecret: string;
  /** Defaults to the global `fetch` (looked up at call time). */
  fetcher?: typeof fetch;
  /** When given, authorizations played to the gateway are registered in it first. */
  simulator?: SparkSimulator;
}

/** Per-call options of {@link SparkDriver.send}. */
export interface SendOptions {
  /** Another `X-Spark-Secret` for this call; null leaves the header out. */
  secret?: string | null;
  /** HTTP method; InfoQuery is documented as GET-with-body in one portal. */
  httpMethod?: string;
  /** Extra headers. */
  headers?: Record<string, string>;
}

/** The gateway's answer. */
export interface DriverResponse {
  status: number;
  /** Parsed with `parseSparkJson` (money as exact text); the raw text when not JSON; null when empty. */
  body: unknown;
  text: string;
  headers: Headers;
}

/** Sends Spark callbacks to a gateway as Nayax would. */
export class SparkDriver {
  readonly #gatewayUrl: string;
  readonly #callbackSecret: string;
  readonly #fetcher: typeof fetch;
  readonly #simulator: SparkSimulator | undefined;

  constructor({ gatewayUrl, callbackSecret, fetcher, simulator }: SparkDriverOptions) {
    this.#gatewayUrl = gatewayUrl.replace(/\/+$/, "");
    this.#callbackSecret = callbackSecret;
    this.#fetcher = fetcher ?? ((input, init) => globalThis.fetch(input, init));
    this.#simulator = simulator;
  }

  /**
   * POSTs `body` (an object, or raw text to send malformed JSON) to `{gatewayUrl}/spark/{method}`.
   * An approved TransactionCallback or any parseable TransactionNotify is first registered in the
   * simulator, as Spark holds the authorization before it calls (and the gateway may settle or
   * cancel while answering).
   */
  async send(method: InboundMethod | (string & {}), body: SparkBody | string, options: SendOptions = {}): Promise<DriverResponse> {
    const text = typeof body === "string" ? body : sparkJson(body);
    if (this.#simulator) registerPlayedAuthorization(this.#simulator, method, text);
    const headers: Record<string, string> = { "Content-Type": "application/json", ...options.headers };
    const secret = options.secret === undefined ? this.#callbackSecret : options.secret;
    if (secret !== null) headers["X-Spark-Secret"] = secret;
    const response = await this.#fetcher(`${this.#gatewayUrl}/spark/${method}`, { method: options.httpMethod ?? "POST", headers, body: text });
    const answer = await response.text();
    let parsed: unknown = null;
    if (answer.trim() !== "") {
      try {
        parsed = parseSparkJson(answer);
      } catch {
        parsed = answer;
      }
    }
    return { status: response.status, body: parsed, text: answer, headers: response.headers };
  }
}

/** Registers the authorization a TransactionCallback/TransactionNotify text carries, if it is one. */
function registerPlayedAuthorization(simulator: SparkSimulator, method: string, text: string): void {
  let raw: unknown;
  let plain: unknown;
  try {
    raw = parseSparkJson(text);
    plain = JSON.parse(text);
  } catch {
    return;
  }
  if (method === "TransactionCallback") {
    // Plain JSON.parse here: the minor-unit Amount is an integer (no float risk), and the
    // MinorAmount schema expects a number where parseSparkJson hands over the source text.
    const parsed = TransactionCallback.safeParse(plain);
    if (!parsed.success) return;
    const m = parsed.data;
    if (m.AuthStatus.Verdict.trim() !== "Approved" || m.NayaxTransactionId == null || m.SiteId == null || m.Amount == null) return;
    simulator.registerAuthorization({
      nayaxTransactionId: m.NayaxTransactionId,
      sparkTransactionId: m.SparkTransactionId,
      siteId: m.SiteId,
      amount: m.Amount,
      ...defined({
        machineAuTime: m.MachineAuTime == null ? undefined : formatDeviceTime(m.MachineAuTime),
        cardBrand: m.CardBrand,
        cardLast4: m.CardLast4Digits,
        authCode: m.AuthCode,
        currencyCode: m.CurrencyCode,
        currencyNumeric: m.CurrencyNumeric,
        fiscalRrn: m.FiscalRrn,
        nayaxRrn: m.NayaxRRN,
      }),
    });
  } else if (method === "TransactionNotify") {
    const parsed = TransactionNotify.safeParse(raw);
    if (!parsed.success) return;
    const m = parsed.data;
    simulator.registerAuthorization({
      nayaxTransactionId: m.NayaxTransactionId,
      sparkTransactionId: m.SparkTransactionId,
      siteId: m.SiteId,
      amount: m.Amount,
      machineAuTime: formatDeviceTime(m.MachineAuTime),
      cardLast4: m.CardLast4Digits,
    });
  }
}

/** Drops null/undefined entries, so optional inputs fall back to the simulator's defaults. */
function defined<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: NonNullable<T[K]> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: NonNullable<T[K]> };
}

/**
 * Checks a gateway's StartSession answer as Nayax would (spark-api.md §2.6, CONTRACT.md §4):
 * Verdict Approved, `SparkTransactionId` a GUID, and `Cipher` opening under the tenant's token to
 * that id, the Random sent, and a timestamp no older than 5 minutes.
 * @returns null when all holds, else what is wrong.
 */
export function checkStartSessionAnswer(answer: unknown, expected: { random: string; secretToken: string; now?: Date }): string | null {
  if (typeof answer !== "object" || answer === null) return "answer is not a JSON object";
  const { Cipher, SparkTransactionId, Status } = answer as Record<string, unknown>;
  const verdict = typeof Status === "object" && Status !== null ? (Status as Record<string, unknown>)["Verdict"] : undefined;
  if (typeof verdict !== "string" || verdict.trim() !== "Approved") return `Status.Verdict is ${JSON.stringify(verdict)}, not "Approved"`;
  if (typeof SparkTransactionId !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(SparkTransactionId)) {
    return "SparkTransactionId is not a GUID";
  }
  if (typeof Cipher !== "string") return "Cipher is missing";
  const opened = openCipher(Cipher, expected.secretToken);
  if (opened === null) return "Cipher does not decrypt to id=random[timestamp] under the tenant's secret token";
  if (opened.sparkTransactionId !== SparkTransactionId) return "Cipher holds another SparkTransactionId";
  if (opened.random !== expected.random) return "Cipher holds another Random";
  if (opened.timestamp === null) return "Cipher has no timestamp";
  const stamp = cipherTimestampToDate(opened.timestamp);
  if (stamp === null) return "Cipher timestamp is not a UTC yyMMddHHmm";
  const age = (expected.now ?? new Date()).getTime() - stamp.getTime();
  if (age > CIPHER_MAX_AGE_MS || age < -CIPHER_MAX_AGE_MS) return `Cipher timestamp ${opened.timestamp} is more than 5 minutes off`;
  return null;
}
