/**
 * The gateway's calls to Nayax Spark: StartAuthentication, TriggerTransaction, Settlement and
 * CancelTransaction (spark-api.md §2.1, §2.2, §2.9, §2.10), signed per authentication v2.
 *
 * PascalCase stays in here; callers get camelCase results and {@link SparkError}s. Money goes in
 * as `Minor` and on the wire as an exact JSON literal (30n → `0.3`), never through a float.
 */
import type { z } from "zod";
import { log } from "../lib/log";
import { moneyLiteral } from "../lib/money";
import type { Minor } from "../lib/money";
import { buildCipher, generateRandom } from "./cipher";
import { describeSparkCode } from "./codes";
import { parseSparkJson, sparkJson } from "./json";
import {
  CancelTransactionResponse,
  ExternalCancelResponse,
  ExternalSettlementResponse,
  SettlementResponse,
  StartAuthenticationResponse,
  Status,
  TerminalIdType,
  TriggerTransactionResponse,
  describeIssues,
} from "./messages";
import type {
  CancelTransactionRequest,
  ExternalCancelRequest,
  ExternalSettlementRequest,
  SettlementRequest,
  StartAuthenticationRequest,
  TriggerTransactionRequest,
} from "./messages";
import { hashSparkTransactionId, timingSafeEqualHex, transactionSignature } from "./signature";
import { parseDeviceTime } from "./time";

/**
 * Default deadline of one Spark call. Spark answers in well under a second when healthy; 10 s
 * stays inside Spark's own handling window and leaves the tenant API (which waits on us for
 * Remote Start and settle) an answer before typical 15–30 s client timeouts.
 */
export const SPARK_TIMEOUT_MS = 10_000;

/** TransactionTimeout is an int16 number of seconds in Spark's schema. */
export const MAX_TRANSACTION_TIMEOUT_SECONDS = 32_767;

/** How much of an unexpected answer body goes into an error description; enough to recognise it, small enough to log. */
const MAX_QUOTED_BODY = 200;

/** Connection failures after which the request surely never reached Spark: it can be sent again, or another one. */
const NOT_SENT = /^(DNS lookup failed for|connection refused by|TLS handshake with)/;

/** How long the TCP probe that tells DNS from TLS and refused from reset may take; it runs only after a failure. */
const PROBE_TIMEOUT_MS = 2_000;

/** The Spark methods this client calls. */
export type SparkMethod = "StartAuthentication" | "TriggerTransaction" | "Settlement" | "CancelTransaction" | "ExternalSettlement" | "ExternalCancel";

/** One tenant's Spark credentials (spark-api.md §1.5). */
export interface SparkCredentials {
  /** `https://{domain}/api`; with or without a trailing slash. */
  baseUrl: string;
  tokenId: number;
  /** At least 32 characters; its last 32 are the AES key. */
  secretToken: string;
  /** Sign Key ID, sent as the `IntegratorId` header. */
  integratorId: string;
  signKey: string;
}

/** The terminal a call addresses: by hardware serial (TerminalIdType 1) or Nayax machine id (2). */
export type Terminal = { hwSerial: string } | { machineId: number };

/** Why a Spark call failed. */
export type SparkErrorKind = "declined" | "unreachable" | "timeout" | "unauthorized" | "bad_response";

/** A failed Spark call. `declined` is Spark's business answer; the others mean the outcome is unknown or broken. */
export class SparkError extends Error {
  override readonly name = "SparkError";
  readonly kind: SparkErrorKind;
  readonly method: SparkMethod;
  /** Spark's `Status.ErrorCode`, when it gave one. */
  readonly code: number | null;
  /** Spark's `ErrorDescription`, or what went wrong. */
  readonly description: string;
  /** HTTP status of Spark's answer, when there was one. */
  readonly httpStatus: number | null;
  /** The request surely never reached Spark (the name did not resolve, the connection was refused, TLS failed). */
  readonly notSent: boolean;

  constructor(args: {
    kind: SparkErrorKind;
    method: SparkMethod;
    description: string;
    code?: number | null;
    httpStatus?: number | null;
    cause?: unknown;
    notSent?: boolean;
  }) {
    const code = args.code ?? null;
    super(`Spark ${args.method} ${args.kind}${code === null ? "" : ` (code ${code})`}: ${args.description}`, { cause: args.cause });
    this.kind = args.kind;
    this.method = args.method;
    this.code = code;
    this.description = args.description;
    this.httpStatus = args.httpStatus ?? null;
    this.notSent = args.notSent ?? false;
  }
}

/** Options of {@link SparkClient}. */
export interface SparkClientOptions {
  /** Defaults to the global `fetch`, looked up at call time (so tests can spy on it). */
  fetcher?: typeof fetch;
  /** Deadline of each call, in milliseconds; defaults to {@link SPARK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Clock for the cipher timestamp. */
  now?: () => Date;
  /**
   * After a failed connection: can a TCP connection to host:port be opened (true), not (false),
   * or is there no way to tell (null)? Tells DNS from TLS and refused from reset, which workerd
   * reports alike. Defaults to a probe with `cloudflare:sockets` unless a `fetcher` is given;
   * `null` turns it off.
   */
  probe?: ((hostname: string, port: number) => Promise<boolean | null>) | null;
}

/** Input of {@link SparkClient.startAuthentication}. */
export interface StartAuthenticationArgs {
  /** A fresh GUID chosen by the gateway. */
  sparkTransactionId: string;
  terminal: Terminal;
}

/** Input of {@link SparkClient.triggerTransaction}. */
export interface TriggerTransactionArgs {
  sparkTransactionId: string;
  terminal: Terminal;
  /** Amount to pre-authorize (or charge, in pre-selection). */
  amount: Minor;
  /** How long the terminal waits for a card, 1–32767 s. */
  timeoutSeconds: number;
  /** PosDisplay text (spark-api.md §2.16). */
  display?: string;
}

/** The authorized transaction a call that moves its money names. */
export interface TransactionArgs {
  sparkTransactionId: string;
  nayaxTransactionId: number;
  /** Echo of the SiteId of the authorization. */
  siteId: number;
  terminal: Terminal;
}

/** What Spark reports about the card and the receipt of a settlement or cancellation. */
export interface CardReceipt {
  currencyCode: string | null;
  currencyNumeric: string | null;
  authCode: string | null;
  nayaxRrn: string | null;
  fiscalRrn: string | null;
  cardBrand: string | null;
  cardLast4: string | null;
}

/** Input of {@link SparkClient.settle}. */
export interface SettleArgs extends TransactionArgs {
  /** Final amount; must not exceed the authorized one. */
  amount: Minor;
  /** Extra eReceipt lines (spark-api.md §2.17), sent as a JSON string. */
  receipt?: Record<string, unknown> | null;
}

/** What Spark reports about a settlement. */
export interface SettlementResult extends CardReceipt {
  /** Amount Spark says the provider settled; compare with what was asked. */
  amount: Minor | null;
  /** SeTime as ISO 8601, read as UTC (Spark's server times appear to be UTC), or null. */
  settledAt: string | null;
}

/** Input of {@link SparkClient.cancel}. */
export interface CancelArgs extends TransactionArgs {
  /** `yyyyMMddHHmmssSSS`: the MachineAuTime received with the authorization. */
  machineAuTime: string;
  /** 1 = pre-authorization cancel, 2 = pre-selection void. */
  type: 1 | 2;
  amount: Minor;
  /** The integrator's own reason code, e.g. 101. */
  reasonCode: number;
  reasonText?: string;
}

/** What Spark reports about a cancellation. */
export interface CancelResult extends CardReceipt {
  /** CancelTime as ISO 8601, read as UTC, or null. */
  cancelledAt: string | null;
}

/** One product line of an external settlement; `unitPrice` and `quantity` are exact decimals, sent as written. */
export interface ProductLine {
  code: string;
  unitPrice: string;
  quantity: string;
}

/** What a call about a transaction authorized outside Spark's flows names. */
export interface ExternalArgs extends TransactionArgs {
  /** `yyyyMMddHHmmssSSS`, the device's local time of the authorization. */
  machineAuTime: string;
  amount: Minor;
}

/** Input of {@link SparkClient.externalSettle}. */
export interface ExternalSettleArgs extends ExternalArgs {
  receipt?: Record<string, unknown> | null;
  products: ProductLine[];
}

/** Input of {@link SparkClient.externalCancel}. */
export interface ExternalCancelArgs extends ExternalArgs {
  reasonCode: string | null;
  reasonText: string | null;
}

/** What Spark reports about an external settlement or cancellation. */
export interface ExternalResult {
  authCode: string | null;
  amount: Minor | null;
}

/** Text fields of Spark answers that a .NET server might well serialize as numbers (e.g. CurrencyNumeric 978). */
const TEXT_FIELDS = ["CardBrand", "CardLast4Digits", "AuthCode", "MachineAuTime", "AuTime", "SeTime", "CancelTime", "CurrencyCode", "CurrencyNumeric", "FiscalRrn", "NayaxRRN", "HashedSparkTransactionId", "SparkTransactionId"];

/** The card and receipt fields of a Settlement or CancelTransaction answer. */
function cardReceipt(answer: z.output<typeof CancelTransactionResponse> | z.output<typeof SettlementResponse>): CardReceipt {
  return {
    currencyCode: answer.CurrencyCode ?? null,
    currencyNumeric: answer.CurrencyNumeric ?? null,
    authCode: answer.AuthCode ?? null,
    nayaxRrn: answer.NayaxRRN ?? null,
    fiscalRrn: answer.FiscalRrn ?? null,
    cardBrand: answer.CardBrand ?? null,
    cardLast4: answer.CardLast4Digits ?? null,
  };
}

/** A client for one tenant's Spark credentials. Stateless: safe to create per request. */
export class SparkClient {
  readonly #credentials: SparkCredentials;
  readonly #baseUrl: string;
  readonly #fetcher: typeof fetch;
  readonly #timeoutMs: number;
  readonly #now: () => Date;
  readonly #probe: ((hostname: string, port: number) => Promise<boolean | null>) | null;

  constructor(credentials: SparkCredentials, options: SparkClientOptions = {}) {
    this.#credentials = credentials;
    this.#baseUrl = credentials.baseUrl.replace(/\/+$/, "");
    this.#fetcher = options.fetcher ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? SPARK_TIMEOUT_MS;
    this.#now = options.now ?? (() => new Date());
    this.#probe = options.probe !== undefined ? options.probe : options.fetcher ? null : tcpProbe;
  }

  /**
   * StartAuthentication: binds a new SparkTransactionId to the terminal, proving possession of
   * the secret token with a fresh cipher, and authenticates Spark's answer by its
   * `HashedSparkTransactionId`.
   * @throws {SparkError} on any failure, including kind "bad_response" when the hash is wrong.
   */
  async startAuthentication({ sparkTransactionId, terminal }: StartAuthenticationArgs): Promise<void> {
    const random = generateRandom();
    const body: StartAuthenticationRequest = {
      TokenId: this.#credentials.tokenId,
      ...terminalFields(terminal),
      Random: random,
      Cipher: buildCipher({ sparkTransactionId, random, secretToken: this.#credentials.secretToken, now: this.#now() }),
      SparkTransactionId: sparkTransactionId,
    };
    const answer = await this.#call("StartAuthentication", body, StartAuthenticationResponse);
    const expected = await hashSparkTransactionId(sparkTransactionId);
    const received = answer.HashedSparkTransactionId?.trim() ?? "";
    if (!timingSafeEqualHex(received, expected)) {
      throw new SparkError({ kind: "bad_response", method: "StartAuthentication", description: "HashedSparkTransactionId does not match" });
    }
  }

  /**
   * TriggerTransaction: wakes the terminal to ask for a card, for `amount`. Approved means the
   * device was woken, not that anything was paid.
   * @throws {SparkError} on any failure.
   */
  async triggerTransaction({ sparkTransactionId, terminal, amount, timeoutSeconds, display }: TriggerTransactionArgs): Promise<void> {
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > MAX_TRANSACTION_TIMEOUT_SECONDS) {
      throw new RangeError(`timeoutSeconds must be an integer from 1 to ${MAX_TRANSACTION_TIMEOUT_SECONDS}`);
    }
    const body: TriggerTransactionRequest = {
      SparkTransactionId: sparkTransactionId,
      ...terminalFields(terminal),
      Amount: moneyOnWire(amount),
      ...(display === undefined ? {} : { PosDisplay: display }),
      TransactionTimeout: timeoutSeconds,
    };
    await this.#call("TriggerTransaction", body, TriggerTransactionResponse);
  }

  /**
   * Settlement: charges the final `amount` of an authorized pre-authorization.
   * Not idempotent on Spark's side: after a "timeout"/"unreachable" the outcome is unknown.
   * @throws {SparkError} on any failure.
   */
  async settle({ sparkTransactionId, nayaxTransactionId, siteId, terminal, amount, receipt }: SettleArgs): Promise<SettlementResult> {
    const body: SettlementRequest = {
      NayaxTransactionId: nayaxTransactionId,
      SparkTransactionId: sparkTransactionId,
      SiteId: siteId,
      ...terminalFields(terminal),
      Amount: moneyOnWire(amount),
      ...(receipt === undefined || receipt === null ? {} : { EReceiptData: JSON.stringify(receipt) }),
    };
    const answer = await this.#call("Settlement", body, SettlementResponse);
    return { amount: answer.Amount ?? null, ...cardReceipt(answer), settledAt: serverTimeToIso(answer.SeTime) };
  }

  /**
   * CancelTransaction: releases a pre-authorization (type 1) or voids a pre-selection sale (type 2).
   * A repeat is declined with code 28 "Already Cancelled".
   * @throws {SparkError} on any failure.
   */
  async cancel(args: CancelArgs): Promise<CancelResult> {
    if (parseDeviceTime(args.machineAuTime) === null) throw new RangeError("machineAuTime must be yyyyMMddHHmmssSSS");
    const body: CancelTransactionRequest = {
      NayaxTransactionId: args.nayaxTransactionId,
      SparkTransactionId: args.sparkTransactionId,
      SiteId: args.siteId,
      MachineAuTime: args.machineAuTime,
      ...terminalFields(args.terminal),
      CancellationType: args.type,
      CancelAmount: moneyOnWire(args.amount),
      ReasonCode: args.reasonCode,
      ...(args.reasonText === undefined ? {} : { ReasonText: args.reasonText }),
    };
    const answer = await this.#call("CancelTransaction", body, CancelTransactionResponse);
    return { ...cardReceipt(answer), cancelledAt: serverTimeToIso(answer.CancelTime) };
  }

  /**
   * ExternalSettlement: settles a transaction authorized on the terminal outside Spark's flows,
   * after StartAuthentication bound `sparkTransactionId` to it. Not idempotent on Spark's side.
   * @throws {SparkError} on any failure.
   */
  async externalSettle(args: ExternalSettleArgs): Promise<ExternalResult> {
    if (!/^\d{17}$/.test(args.machineAuTime)) throw new RangeError("machineAuTime must be yyyyMMddHHmmssSSS");
    const body: ExternalSettlementRequest = {
      NayaxTransactionId: args.nayaxTransactionId,
      SparkTransactionId: args.sparkTransactionId,
      MachineAuTime: args.machineAuTime,
      SiteId: args.siteId,
      ...terminalFields(args.terminal),
      Amount: moneyOnWire(args.amount),
      ...(args.receipt ? { EReceiptData: JSON.stringify(args.receipt) } : {}),
      ...(args.products.length > 0
        ? { ProductInfo: args.products.map((p) => ({ Value: decimalOnWire(p.unitPrice), Code: p.code, Quantity: decimalOnWire(p.quantity) })) }
        : {}),
    };
    const answer = await this.#call("ExternalSettlement", body, ExternalSettlementResponse);
    return { authCode: answer.AuthCode ?? null, amount: answer.Amount ?? null };
  }

  /**
   * ExternalCancel: releases a transaction authorized outside Spark's flows. `CancelAmount` must
   * not exceed the authorized amount; `ReasonCode` is a string here (e.g. "01").
   * @throws {SparkError} on any failure.
   */
  async externalCancel(args: ExternalCancelArgs): Promise<ExternalResult> {
    if (!/^\d{17}$/.test(args.machineAuTime)) throw new RangeError("machineAuTime must be yyyyMMddHHmmssSSS");
    if (args.reasonCode === null && args.reasonText === null) throw new RangeError("ExternalCancel needs a reasonCode or a reasonText");
    const body: ExternalCancelRequest = {
      NayaxTransactionId: args.nayaxTransactionId,
      SparkTransactionId: args.sparkTransactionId,
      SiteId: args.siteId,
      MachineAuTime: args.machineAuTime,
      ...terminalFields(args.terminal),
      CancelAmount: moneyOnWire(args.amount),
      ...(args.reasonCode !== null ? { ReasonCode: args.reasonCode } : {}),
      ...(args.reasonText !== null ? { ReasonText: args.reasonText } : {}),
    };
    const answer = await this.#call("ExternalCancel", body, ExternalCancelResponse);
    return { authCode: answer.AuthCode ?? null, amount: null };
  }

  /** One signed call; a failure is logged once, as one line, and thrown as a {@link SparkError}. */
  async #call<S extends z.ZodType<{ Status: Status; SparkTransactionId?: string | null | undefined }>>(
    method: SparkMethod,
    body: { SparkTransactionId: string },
    schema: S,
  ): Promise<z.output<S>> {
    try {
      return await this.#send(method, body, schema);
    } catch (error) {
      if (error instanceof SparkError) {
        // A decline is Spark's business answer; anything else is worth an operator's look.
        (error.kind === "declined" ? log.info : log.warn)(error.kind === "declined" ? "spark call declined" : "spark call failed", {
          method,
          sparkTransactionId: body.SparkTransactionId,
          kind: error.kind,
          code: error.code,
          httpStatus: error.httpStatus,
          description: error.description,
        });
      }
      throw error;
    }
  }

  /** POSTs one signed call and returns Spark's answer if it is well-formed and Approved. */
  async #send<S extends z.ZodType<{ Status: Status; SparkTransactionId?: string | null | undefined }>>(
    method: SparkMethod,
    body: { SparkTransactionId: string },
    schema: S,
  ): Promise<z.output<S>> {
    const headers = {
      "Content-Type": "application/json",
      IntegratorId: this.#credentials.integratorId,
      TransactionSignature: await transactionSignature(body.SparkTransactionId, this.#credentials.signKey),
    };
    const { status, text } = await this.#exchange(method, `${this.#baseUrl}/${method}`, { method: "POST", headers, body: sparkJson(body) });

    let raw: unknown;
    try {
      raw = text.trim() === "" ? null : parseSparkJson(text);
    } catch {
      raw = undefined;
    }
    const statusParse = Status.safeParse(isObject(raw) ? raw["Status"] : undefined);
    const sparkStatus = statusParse.success ? statusParse.data : null;

    if (status === 401) {
      throw new SparkError({
        kind: "unauthorized",
        method,
        httpStatus: status,
        code: sparkStatus?.ErrorCode ?? null,
        description: sparkStatus?.ErrorDescription || `HTTP 401: Spark refused the IntegratorId/TransactionSignature${quote(text)}`,
      });
    }
    if (status < 200 || status > 299) {
      const edge = edgeFailure(status, text, this.#baseUrl);
      throw new SparkError({
        kind: "bad_response",
        method,
        httpStatus: status,
        code: sparkStatus?.ErrorCode ?? null,
        description: sparkStatus?.ErrorDescription || `HTTP ${status}${edge}${quote(text)}`,
        // Cloudflare could not reach Spark at all: the request never got there.
        notSent: edge !== "",
      });
    }
    if (raw === undefined) {
      throw new SparkError({ kind: "bad_response", method, httpStatus: status, description: `answer is not JSON${quote(text)}` });
    }
    // A decline is reported as such even when the rest of the answer is odd.
    if (sparkStatus !== null && sparkStatus.Verdict.trim() !== "Approved") {
      const code = sparkStatus.ErrorCode ?? null;
      throw new SparkError({
        kind: "declined",
        method,
        httpStatus: status,
        code,
        description: sparkStatus.ErrorDescription || sparkStatus.StatusMessage?.trim() || describeSparkCode(code, method),
      });
    }
    const parsed = schema.safeParse(coerceTextFields(raw));
    if (!parsed.success) {
      throw new SparkError({ kind: "bad_response", method, httpStatus: status, description: `unexpected answer: ${describeIssues(parsed.error)}` });
    }
    const echo = parsed.data.SparkTransactionId?.trim();
    if (echo && echo.toLowerCase() !== body.SparkTransactionId.toLowerCase()) {
      throw new SparkError({ kind: "bad_response", method, httpStatus: status, description: `answer is for another SparkTransactionId (${echo})` });
    }
    return parsed.data;
  }

  /** Sends the request and reads the whole answer within the deadline. */
  async #exchange(method: SparkMethod, url: string, init: RequestInit): Promise<{ status: number; text: string }> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new SparkError({ kind: "timeout", method, description: `no answer within ${this.#timeoutMs} ms` }));
        controller.abort();
      }, this.#timeoutMs);
    });
    const exchange = (async () => {
      let response: Response;
      try {
        response = await this.#fetcher(url, { ...init, signal: controller.signal });
      } catch (error) {
        const failure = await this.#connectionFailure(error, url);
        throw new SparkError({ kind: "unreachable", method, description: `request failed: ${failure}`, cause: error, notSent: NOT_SENT.test(failure) });
      }
      try {
        return { status: response.status, text: await response.text() };
      } catch (error) {
        throw new SparkError({ kind: "unreachable", method, httpStatus: response.status, description: `reading the answer failed: ${errorText(error)}`, cause: error });
      }
    })();
    // Whichever loses the race must not surface as an unhandled rejection.
    exchange.catch(() => undefined);
    try {
      return await Promise.race([exchange, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * What went wrong with the connection, in words: DNS, refused, reset or TLS. workerd reports a
   * name that does not resolve and a failed TLS handshake alike ("internal error; reference = …",
   * with the real cause only in its own log), and a refused connection like a dropped one
   * ("Network connection lost."), so a TCP probe of the host tells them apart where it can.
   */
  async #connectionFailure(error: unknown, url: string): Promise<string> {
    const { hostname, port, tls } = endpointOf(url);
    const raw = errorText(error).replace(/^Error: /, "");
    const where = `${hostname}:${port}`;
    const opaque = /internal error; reference = /i.test(raw);
    const detail = opaque ? "" : ` (${raw})`;
    const code = String((error as { cause?: { code?: unknown } })?.cause?.code ?? "");
    if (/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/.test(code)) return `DNS lookup failed for ${hostname}${detail}`;
    if (code === "ECONNREFUSED") return `connection refused by ${where}${detail}`;
    if (/^(ECONNRESET|EPIPE|UND_ERR_SOCKET)$/.test(code)) return `connection to ${where} was reset before Spark answered${detail}`;
    if (/CERT|SSL|TLS|SELF_SIGNED/.test(code)) return `TLS handshake with ${where} failed${detail}`;
    if (opaque) {
      if (!tls) return `DNS lookup failed for ${hostname}`;
      if (isIpLiteral(hostname) || hostname === "localhost") return `TLS handshake with ${where} failed`;
      const reachable = await this.#probeOf(hostname, port);
      if (reachable === true) return `TLS handshake with ${where} failed`;
      if (reachable === false) return `DNS lookup failed for ${hostname}`;
      return `DNS lookup or TLS handshake failed for ${where}`;
    }
    if (/network connection lost/i.test(raw)) {
      const reachable = await this.#probeOf(hostname, port);
      if (reachable === true) return `connection to ${where} was reset before Spark answered${detail}`;
      if (reachable === false) return `connection refused by ${where}${detail}`;
      return `connection to ${where} refused or reset${detail}`;
    }
    return errorText(error);
  }

  async #probeOf(hostname: string, port: number): Promise<boolean | null> {
    if (!this.#probe) return null;
    try {
      return await this.#probe(hostname, port);
    } catch {
      return null;
    }
  }
}

/** Host, port and scheme of a Spark URL. */
function endpointOf(url: string): { hostname: string; port: number; tls: boolean } {
  const parsed = new URL(url);
  const tls = parsed.protocol === "https:";
  return { hostname: parsed.hostname.replace(/^\[|\]$/g, ""), port: parsed.port ? Number(parsed.port) : tls ? 443 : 80, tls };
}

function isIpLiteral(hostname: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.includes(":");
}

/** Whether a TCP connection to host:port opens within {@link PROBE_TIMEOUT_MS}; null where sockets are not available. */
async function tcpProbe(hostname: string, port: number): Promise<boolean | null> {
  let sockets: typeof import("cloudflare:sockets");
  try {
    sockets = await import("cloudflare:sockets");
  } catch {
    return null;
  }
  const socket = sockets.connect({ hostname, port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      socket.opened.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((done) => (timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS))),
    ]);
  } finally {
    clearTimeout(timer);
    socket.close().catch(() => undefined);
  }
}

/** Cloudflare's own answers when it cannot reach the origin at all (in production, Workers' fetch answers these instead of throwing). */
function edgeFailure(status: number, text: string, baseUrl: string): string {
  const { hostname, port } = endpointOf(baseUrl);
  if (status === 530 && /1016/.test(text)) return `: DNS lookup failed for ${hostname} (Cloudflare error 1016)`;
  if (status === 525 || status === 526) return `: TLS handshake with ${hostname}:${port} failed`;
  return "";
}

/** TerminalId/TerminalIdType of a {@link Terminal}. */
function terminalFields(terminal: Terminal): { TerminalId: string; TerminalIdType: 1 | 2 } {
  if ("hwSerial" in terminal) {
    if (typeof terminal.hwSerial !== "string" || terminal.hwSerial === "") throw new RangeError("terminal.hwSerial must be a non-empty string");
    return { TerminalId: terminal.hwSerial, TerminalIdType: TerminalIdType.HwSerial };
  }
  if (!Number.isSafeInteger(terminal.machineId) || terminal.machineId < 0) throw new RangeError("terminal.machineId must be a non-negative integer");
  return { TerminalId: String(terminal.machineId), TerminalIdType: TerminalIdType.MachineId };
}

/** A `Minor` amount as an exact JSON number literal in major units (1225n → `12.25`). */
function moneyOnWire(amount: Minor): unknown {
  if (typeof amount !== "bigint" || amount < 0n) throw new RangeError("amount must be a non-negative bigint of minor units");
  return JSON.rawJSON(moneyLiteral(amount));
}

/** A non-negative decimal text (a unit price, a quantity) as the exact JSON number it spells. */
function decimalOnWire(text: string): unknown {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new RangeError(`${JSON.stringify(text)} is not a non-negative decimal`);
  return JSON.rawJSON(text);
}

/** Spark server time `yyyyMMddHHmmssSSS` → ISO 8601 in UTC, or null when absent or malformed. */
function serverTimeToIso(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  const local = parseDeviceTime(text.trim());
  return local === null ? null : `${local}Z`;
}

/** Numbers in known text fields become their decimal text, so a numeric CurrencyNumeric does not fail an approved answer. */
function coerceTextFields(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const copy: Record<string, unknown> = { ...raw };
  for (const field of TEXT_FIELDS) {
    if (typeof copy[field] === "number") copy[field] = String(copy[field]);
  }
  return copy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `: "<start of body>"` for error descriptions, or nothing for an empty body. */
function quote(text: string): string {
  const trimmed = text.trim();
  if (trimmed === "") return "";
  return `: ${JSON.stringify(trimmed.length > MAX_QUOTED_BODY ? `${trimmed.slice(0, MAX_QUOTED_BODY)}…` : trimmed)}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
