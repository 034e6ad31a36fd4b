/**
 * An in-memory Nayax Spark: the four methods the gateway calls (StartAuthentication,
 * TriggerTransaction, Settlement, CancelTransaction), checked as spark-api.md describes them,
 * with failure injection. Runs wherever `Request`/`Response`, WebCrypto and JSON source-text
 * access exist: the Workers runtime (tests) and Node (`scripts/simulator.ts`).
 *
 * Where Spark's behaviour is undocumented the simulator picks the strict, plausible reading and
 * says so in a comment; the choice of codes follows spark-api.md §2.1, §2.2, §2.9, §2.10, §2.15.
 */
import { parseMoney } from "../src/lib/money";
import type { Minor } from "../src/lib/money";
import { cipherTimestampToDate, openCipher } from "../src/spark/cipher";
import { SparkCode, StartAuthenticationCode, describeSparkCode } from "../src/spark/codes";
import { parseSparkJson, sparkJson } from "../src/spark/json";
import { hashSparkTransactionId, timingSafeEqualHex, transactionSignature } from "../src/spark/signature";
import { deviceTimeOf, parseDeviceTime } from "../src/spark/time";

/** Spark's `CipherExpMinutes`: a StartAuthentication cipher older than this is refused (§2.1). */
export const CIPHER_MAX_AGE_MS = 5 * 60_000;

/** TransactionTimeout is an int16 in Spark's schema. */
const MAX_TRANSACTION_TIMEOUT = 32_767;

/** Spark's ErrorDescription on success, padded exactly as in the documented examples so clients must trim. */
const NO_ERRORS_PADDED = " No Errors ";

/** The body ASP.NET Web API gives with a 401; Spark's own 401 body is undocumented. */
const UNAUTHORIZED_BODY = { Message: "Authorization has been denied for this request." };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The Spark methods the simulator serves. */
export const SIM_METHODS = ["StartAuthentication", "TriggerTransaction", "Settlement", "CancelTransaction", "ExternalSettlement", "ExternalCancel"] as const;
export type SimMethod = (typeof SIM_METHODS)[number];

/** One integrator account known to the simulator (spark-api.md §1.5). */
export interface SimTenant {
  tokenId: number;
  secretToken: string;
  integratorId: string;
  signKey: string;
}

/** Options of {@link SparkSimulator}. */
export interface SparkSimulatorOptions {
  tenants: SimTenant[];
  /** The simulator's clock (cipher freshness, server times). */
  now?: () => Date;
}

/**
 * A one-shot failure for the next call of a method. With only `delayMs` the call is then handled
 * normally; `lostAnswer` handles it (state changes) and then drops the connection, the ambiguous
 * case a client must reconcile.
 */
export interface SimFailure {
  /** Answer with this HTTP status instead of handling the call. */
  httpStatus?: number;
  /** Answer `Declined` with this ErrorCode (HTTP 200 unless `httpStatus` is given). */
  errorCode?: number;
  /** ErrorDescription of the injected answer; defaults to the code's meaning. */
  description?: string;
  /** Wait this long first (on top of {@link SparkSimulator.setLatency}). */
  delayMs?: number;
  /** Fail the request as a network error without handling it. */
  networkError?: boolean;
  /** Handle the call, then fail as a network error (the answer is lost). */
  lostAnswer?: boolean;
}

/** A request as the simulator received it. Header names are lower case (as `Headers` gives them). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  bodyText: string;
  /** The body parsed with `parseSparkJson` (money as exact source text), or undefined when it is not JSON. */
  body: unknown;
  receivedAt: string;
}

/** An authorization Spark has played to the gateway (TransactionCallback / TransactionNotify). */
export interface SimAuthorizationInput {
  nayaxTransactionId: number;
  sparkTransactionId: string;
  siteId: number;
  /** Authorized amount. */
  amount: Minor;
  /** `yyyyMMddHHmmssSSS`; defaults to the registration time. */
  machineAuTime?: string;
  /** Restricts Settlement/Cancel to this integrator; any known integrator when absent. */
  integratorId?: string;
  cardBrand?: string;
  cardLast4?: string;
  authCode?: string;
  currencyCode?: string;
  currencyNumeric?: string;
  fiscalRrn?: string;
  nayaxRrn?: string;
}

/** What the simulator holds about an authorization. */
export interface SimAuthorization extends Required<Omit<SimAuthorizationInput, "integratorId">> {
  integratorId: string | null;
  /** Authorization server time `yyyyMMddHHmmssSSS` (UTC). */
  auTime: string;
  /** The settled amount, once settled. */
  settledAmount: Minor | null;
  /** The exact Amount literal the Settlement carried. */
  settledAmountText: string | null;
  settledAt: string | null;
  /** The EReceiptData string the Settlement carried. */
  eReceiptData: string | null;
  cancelled: boolean;
  cancelledAt: string | null;
  cancellationType: 1 | 2 | null;
  cancelAmount: Minor | null;
}

/**
 * An authorization taken on a terminal outside Spark's flows (spark-api.md §2.13, §3.10): the
 * device authorized a card but, with "External Settlement" enabled, does not settle it itself.
 */
export interface SimExternalInput {
  nayaxTransactionId: number;
  siteId: number;
  /** The terminal it was taken on, by HW serial or machine id. */
  terminalId: string;
  /** Authorized amount; ExternalSettlement and ExternalCancel must not exceed it. */
  amount: Minor;
  /** `yyyyMMddHHmmssSSS`, the device's local time of the authorization; Spark matches it. */
  machineAuTime: string;
  /** When it was authorized (server time); a settlement more than 48 h later is refused. Defaults to now. */
  authorizedAt?: Date;
  /** Whether Nayax enabled External Settlement on that device; 52 when not. Default true. */
  enabled?: boolean;
  authCode?: string;
}

export interface SimExternal extends Required<Omit<SimExternalInput, "authorizedAt">> {
  authorizedAt: string;
  settledAmount: Minor | null;
  settledRequest: string | null;
  products: unknown[] | null;
  cancelledAmount: Minor | null;
  cancelledRequest: string | null;
}

/** Spark refuses an external settlement this long after the authorization (spark-api.md §2.13). */
export const EXTERNAL_SETTLEMENT_WINDOW_MS = 48 * 60 * 60 * 1000;

/** A transaction opened by StartAuthentication. */
export interface SimTransaction {
  sparkTransactionId: string;
  integratorId: string;
  tokenId: number;
  terminalId: string;
  terminalIdType: 1 | 2;
  random: string;
  authenticatedAt: string;
  /** Every accepted TriggerTransaction, oldest first. */
  triggers: Array<{ amount: Minor; amountText: string; timeoutSeconds: number; display: string | null; terminalId: string; terminalIdType: 1 | 2 }>;
}

/** A business refusal: HTTP 200 with `Status.Verdict` "Declined". */
class Refusal {
  constructor(
    readonly code: number,
    readonly description: string,
  ) {}
}

/** The value of a simulated network failure (what `fetch` rejects with when a connection drops). */
export class SimulatedNetworkError extends TypeError {
  override readonly name = "SimulatedNetworkError";
}

/** The in-memory Spark. */
export class SparkSimulator {
  /** Every request received, in order, including refused ones. */
  readonly requests: RecordedRequest[] = [];

  readonly #tenantsByIntegrator = new Map<string, SimTenant>();
  readonly #tenantsByToken = new Map<number, SimTenant>();
  readonly #now: () => Date;
  readonly #transactions = new Map<string, SimTransaction>();
  readonly #authorizations = new Map<number, SimAuthorization>();
  readonly #externals = new Map<number, SimExternal>();
  readonly #failures = new Map<SimMethod, SimFailure[]>();
  #latencyMs = 0;
  #rrnCounter = 0;

  constructor(options: SparkSimulatorOptions) {
    assertJsonSourceText();
    for (const tenant of options.tenants) this.addTenant(tenant);
    this.#now = options.now ?? (() => new Date());
  }

  /** Opens an integrator account, as Nayax does during onboarding. */
  addTenant(tenant: SimTenant): void {
    if (tenant.secretToken.length < 32) throw new Error(`tenant ${tenant.integratorId}: secretToken must be at least 32 characters`);
    this.#tenantsByIntegrator.set(tenant.integratorId, tenant);
    this.#tenantsByToken.set(tenant.tokenId, tenant);
  }

  /** Fails the next call of `method` as described (one-shot; several queue up in order). */
  failNext(method: SimMethod, failure: SimFailure): void {
    const queue = this.#failures.get(method) ?? [];
    queue.push(failure);
    this.#failures.set(method, queue);
  }

  /** Delays every answer by `ms` from now on (0 to stop). */
  setLatency(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  /** Records an authorization as if Spark had played it, so Settlement/Cancel can refer to it. First registration wins. */
  registerAuthorization(input: SimAuthorizationInput): SimAuthorization {
    const existing = this.#authorizations.get(input.nayaxTransactionId);
    if (existing) return existing;
    const auTime = deviceTimeOf(this.#now());
    this.#rrnCounter += 1;
    const authorization: SimAuthorization = {
      nayaxTransactionId: input.nayaxTransactionId,
      sparkTransactionId: input.sparkTransactionId.toLowerCase(),
      siteId: input.siteId,
      amount: input.amount,
      machineAuTime: input.machineAuTime ?? auTime,
      integratorId: input.integratorId ?? null,
      // Defaults are the seed 003 values.
      cardBrand: input.cardBrand ?? "Visa",
      cardLast4: input.cardLast4 ?? "1234",
      authCode: input.authCode ?? "333333",
      currencyCode: input.currencyCode ?? "EUR",
      currencyNumeric: input.currencyNumeric ?? "978",
      fiscalRrn: input.fiscalRrn ?? "1A2b3C4d5E6f7g8H9i",
      nayaxRrn: input.nayaxRrn ?? String(111_111_000_000 + this.#rrnCounter),
      auTime,
      settledAmount: null,
      settledAmountText: null,
      settledAt: null,
      eReceiptData: null,
      cancelled: false,
      cancelledAt: null,
      cancellationType: null,
      cancelAmount: null,
    };
    this.#authorizations.set(input.nayaxTransactionId, authorization);
    return authorization;
  }

  /** Records an authorization taken outside Spark's flows, so ExternalSettlement/ExternalCancel can refer to it. */
  registerExternal(input: SimExternalInput): SimExternal {
    const external: SimExternal = {
      nayaxTransactionId: input.nayaxTransactionId,
      siteId: input.siteId,
      terminalId: input.terminalId,
      amount: input.amount,
      machineAuTime: input.machineAuTime,
      authorizedAt: (input.authorizedAt ?? this.#now()).toISOString(),
      enabled: input.enabled ?? true,
      authCode: input.authCode ?? "654321",
      settledAmount: null,
      settledRequest: null,
      products: null,
      cancelledAmount: null,
      cancelledRequest: null,
    };
    this.#externals.set(input.nayaxTransactionId, external);
    return external;
  }

  /** The external authorization with this NayaxTransactionId, if any (live object: read, don't mutate). */
  external(nayaxTransactionId: number): SimExternal | undefined {
    return this.#externals.get(nayaxTransactionId);
  }

  /** The authorization with this NayaxTransactionId, if any (live object: read, don't mutate). */
  authorization(nayaxTransactionId: number): SimAuthorization | undefined {
    return this.#authorizations.get(nayaxTransactionId);
  }

  /** The transaction StartAuthentication opened with this id, if any (live object: read, don't mutate). */
  transaction(sparkTransactionId: string): SimTransaction | undefined {
    return this.#transactions.get(sparkTransactionId.toLowerCase());
  }

  /** The recorded requests of one method. */
  requestsFor(method: SimMethod): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  /** Forgets recorded requests (state stays). */
  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Forgets everything except the tenants. */
  reset(): void {
    this.clearRequests();
    this.#transactions.clear();
    this.#authorizations.clear();
    this.#externals.clear();
    this.#failures.clear();
    this.#latencyMs = 0;
  }

  /**
   * Serves one request; the method is the last path segment (`…/api/Settlement`).
   * Rejects (like `fetch`) on an injected network failure.
   */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const method = url.pathname.split("/").filter(Boolean).pop() ?? "";
    const bodyText = await request.text();
    let exact: unknown;
    let plain: unknown;
    try {
      exact = parseSparkJson(bodyText);
      plain = JSON.parse(bodyText);
    } catch {
      exact = undefined;
      plain = undefined;
    }
    this.requests.push({
      method,
      path: url.pathname,
      headers: Object.fromEntries(request.headers),
      bodyText,
      body: exact,
      receivedAt: this.#now().toISOString(),
    });

    if (!isSimMethod(method)) return json(404, { Message: `No HTTP resource was found that matches ${url.pathname}` });
    if (request.method !== "POST") return json(405, { Message: `The requested resource does not support http method '${request.method}'.` });

    const failure = this.#failures.get(method)?.shift();
    await sleep(this.#latencyMs + (failure?.delayMs ?? 0), request.signal);
    if (failure?.networkError) throw new SimulatedNetworkError("simulated network failure");
    if (failure && (failure.httpStatus !== undefined || failure.errorCode !== undefined || failure.description !== undefined)) {
      return injected(method, failure, exact);
    }

    const response = await this.#serve(method, request, exact, plain);
    if (failure?.lostAnswer) throw new SimulatedNetworkError("simulated network failure after handling");
    return response;
  }

  async #serve(method: SimMethod, request: Request, exact: unknown, plain: unknown): Promise<Response> {
    if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
      return json(415, { Message: "The request entity's media type is not supported for this resource." });
    }
    if (!isObject(exact) || !isObject(plain)) {
      return json(400, { Status: declinedStatus(SparkCode.NayaxValidationError, "Nayax Validation Error: body is not a JSON object") });
    }

    // Authentication v2 (§1.6): IntegratorId + sha256(SparkTransactionId ";" SignKey), else 401.
    const tenant = this.#tenantsByIntegrator.get(request.headers.get("IntegratorId") ?? "");
    const id = exact["SparkTransactionId"];
    const signature = request.headers.get("TransactionSignature") ?? "";
    if (!tenant || typeof id !== "string" || !timingSafeEqualHex(signature, await transactionSignature(id, tenant.signKey))) {
      return json(401, UNAUTHORIZED_BODY);
    }

    try {
      switch (method) {
        case "StartAuthentication":
          return json(200, await this.#startAuthentication(tenant, exact, plain));
        case "TriggerTransaction":
          return json(200, this.#triggerTransaction(tenant, exact, plain));
        case "Settlement":
          return json(200, this.#settlement(tenant, exact, plain));
        case "CancelTransaction":
          return json(200, this.#cancelTransaction(tenant, exact, plain));
        case "ExternalSettlement":
          return json(200, this.#externalSettlement(tenant, exact, plain));
        case "ExternalCancel":
          return json(200, this.#externalCancel(tenant, exact, plain));
      }
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      const answer: Record<string, unknown> = { Status: declinedStatus(error.code, error.description) };
      // StartAuthentication answers carry no SparkTransactionId; the others echo it.
      if (method !== "StartAuthentication") answer["SparkTransactionId"] = id;
      return json(200, answer);
    }
  }

  async #startAuthentication(tenant: SimTenant, body: Record<string, unknown>, plain: Record<string, unknown>): Promise<object> {
    const id = guid(body);
    // The TokenId must be this integrator's own: another account's token is as invalid as an unknown one.
    const byToken = isInt(plain["TokenId"]) ? this.#tenantsByToken.get(plain["TokenId"]) : undefined;
    if (byToken !== tenant) throw new Refusal(StartAuthenticationCode.InvalidToken, "Invalid Token");
    const terminal = terminalOf(plain);
    const random = requireString(plain, "Random");
    const cipherText = requireString(plain, "Cipher");

    const opened = openCipher(cipherText, tenant.secretToken);
    // A cipher without the timestamp is refused as malformed: the prose makes it mandatory (64 characters).
    if (opened === null || opened.timestamp === null) throw new Refusal(StartAuthenticationCode.DecryptionFailure, "Decryption Failure");
    if (opened.sparkTransactionId !== body["SparkTransactionId"] || opened.random !== random) {
      throw new Refusal(StartAuthenticationCode.ValidationFailed, "Validation Failed");
    }
    const stamp = cipherTimestampToDate(opened.timestamp);
    if (stamp === null) throw new Refusal(StartAuthenticationCode.DecryptionFailure, "Decryption Failure");
    // Only age is checked, as "older than CipherExpMinutes" says; a clock ahead of ours passes.
    if (this.#now().getTime() - stamp.getTime() > CIPHER_MAX_AGE_MS) {
      throw new Refusal(StartAuthenticationCode.ExpiredRequest, "Expired Request");
    }

    const existing = this.#transactions.get(id);
    // Reuse of an id is undocumented: a repeat by the same integrator is taken as a retry, another's is refused.
    if (existing && existing.integratorId !== tenant.integratorId) {
      throw new Refusal(StartAuthenticationCode.ValidationFailed, "Validation Failed");
    }
    if (!existing) {
      this.#transactions.set(id, {
        sparkTransactionId: id,
        integratorId: tenant.integratorId,
        tokenId: tenant.tokenId,
        terminalId: terminal.terminalId,
        terminalIdType: terminal.terminalIdType,
        random,
        authenticatedAt: this.#now().toISOString(),
        triggers: [],
      });
    }
    return {
      HashedSparkTransactionId: await hashSparkTransactionId(body["SparkTransactionId"] as string),
      Status: { Verdict: "Approved", ErrorDescription: NO_ERRORS_PADDED },
    };
  }

  #triggerTransaction(tenant: SimTenant, body: Record<string, unknown>, plain: Record<string, unknown>): object {
    const id = guid(body);
    const transaction = this.#transactions.get(id);
    if (!transaction || transaction.integratorId !== tenant.integratorId) {
      throw new Refusal(SparkCode.UnknownTransactionId, "Unknown Transaction ID");
    }
    const terminal = terminalOf(plain);
    const amount = amountOf(body, plain, "Amount", SparkCode.MissingAmount);
    const timeout = plain["TransactionTimeout"];
    if (!isInt(timeout) || timeout <= 0 || timeout > MAX_TRANSACTION_TIMEOUT) {
      throw validation(`TransactionTimeout must be an integer from 1 to ${MAX_TRANSACTION_TIMEOUT}`);
    }
    const rawDisplay = plain["PosDisplay"];
    if (rawDisplay !== undefined && rawDisplay !== null && typeof rawDisplay !== "string") throw validation("PosDisplay must be a string");
    const display = typeof rawDisplay === "string" ? rawDisplay : null;
    transaction.triggers.push({
      amount: amount.value,
      amountText: amount.text,
      timeoutSeconds: timeout,
      display,
      ...terminal,
    });
    return { SparkTransactionId: body["SparkTransactionId"], Status: { Verdict: "Approved", ErrorDescription: NO_ERRORS_PADDED } };
  }

  #settlement(tenant: SimTenant, body: Record<string, unknown>, plain: Record<string, unknown>): object {
    const id = guid(body);
    const nayaxId = requireInt(plain, "NayaxTransactionId");
    const siteId = requireInt(plain, "SiteId");
    terminalOf(plain);
    const amount = amountOf(body, plain, "Amount", SparkCode.MissingAmount);
    const receipt = plain["EReceiptData"];
    if (receipt !== undefined && receipt !== null && !isJsonObjectText(receipt)) {
      throw validation("EReceiptData must be a string holding a JSON object");
    }

    const authorization = this.#authorizationFor(tenant, nayaxId, id, siteId);
    if (authorization.cancelled) throw new Refusal(SparkCode.SettlementFailed, "Settlement Failed: the transaction was cancelled");
    // The identical request again (a client that lost the answer) gets the first answer; anything else is refused.
    const sameAgain = authorization.settledAmount === amount.value && authorization.eReceiptData === (typeof receipt === "string" ? receipt : null);
    if (authorization.settledAmount !== null && !sameAgain) throw new Refusal(SparkCode.SettlementFailed, "Settlement Failed: the transaction is already settled");
    // Settling above the authorization is refused: every related Nayax document forbids it (§5).
    if (amount.value > authorization.amount) throw new Refusal(SparkCode.SettlementFailed, "Settlement Failed: amount exceeds the authorized amount");

    const now = sameAgain && authorization.settledAt ? new Date(authorization.settledAt) : this.#now();
    authorization.settledAmount = amount.value;
    authorization.settledAmountText = amount.text;
    authorization.settledAt = now.toISOString();
    authorization.eReceiptData = typeof receipt === "string" ? receipt : null;
    return {
      SparkTransactionId: body["SparkTransactionId"],
      Status: { Verdict: "Approved", ErrorDescription: "No Errors" },
      CardBrand: authorization.cardBrand,
      CardLast4Digits: authorization.cardLast4,
      AuthCode: authorization.authCode,
      MachineAuTime: authorization.machineAuTime,
      AuTime: authorization.auTime,
      SeTime: deviceTimeOf(now),
      CurrencyCode: authorization.currencyCode,
      CurrencyNumeric: authorization.currencyNumeric,
      FiscalRrn: authorization.fiscalRrn,
      NayaxRRN: authorization.nayaxRrn,
      // Echoed exactly as sent ("12.25" stays 12.25, "0.30" stays 0.30).
      Amount: JSON.rawJSON(amount.text),
    };
  }

  #cancelTransaction(tenant: SimTenant, body: Record<string, unknown>, plain: Record<string, unknown>): object {
    const id = guid(body);
    const nayaxId = requireInt(plain, "NayaxTransactionId");
    const siteId = requireInt(plain, "SiteId");
    const machineAuTime = requireString(plain, "MachineAuTime");
    if (parseDeviceTime(machineAuTime) === null) throw validation("MachineAuTime must be yyyyMMddHHmmssSSS");
    terminalOf(plain);
    const type = plain["CancellationType"];
    if (type !== 1 && type !== 2) throw validation("CancellationType must be 1 or 2");
    // CancelTransaction's code list has no "Missing Amount"; a bad amount is a failed cancellation.
    const amount = amountOf(body, plain, "CancelAmount", SparkCode.CancellationFailed);
    requireInt(plain, "ReasonCode");
    const reasonText = plain["ReasonText"];
    if (reasonText !== undefined && reasonText !== null && typeof reasonText !== "string") throw validation("ReasonText must be a string");

    const authorization = this.#authorizationFor(tenant, nayaxId, id, siteId);
    if (authorization.cancelled) throw new Refusal(SparkCode.AlreadyCancelled, "Already Cancelled");
    if (authorization.settledAmount !== null) throw new Refusal(SparkCode.CancellationFailed, "Cancellation Failed: the transaction is already settled");
    if (amount.value > authorization.amount) throw new Refusal(SparkCode.CancellationFailed, "Cancellation Failed: amount exceeds the authorized amount");

    const now = this.#now();
    authorization.cancelled = true;
    authorization.cancelledAt = now.toISOString();
    authorization.cancellationType = type;
    authorization.cancelAmount = amount.value;
    return {
      SparkTransactionId: body["SparkTransactionId"],
      Status: { Verdict: "Approved", ErrorDescription: "No Errors" },
      CardBrand: authorization.cardBrand,
      CardLast4Digits: authorization.cardLast4,
      AuthCode: authorization.authCode,
      MachineAuTime: authorization.machineAuTime,
      AuTime: authorization.auTime,
      CancelTime: deviceTimeOf(now),
      CurrencyCode: authorization.currencyCode,
      CurrencyNumeric: authorization.currencyNumeric,
      FiscalRrn: authorization.fiscalRrn,
      NayaxRRN: authorization.nayaxRrn,
    };
  }

  #externalSettlement(tenant: SimTenant, body: Record<string, unknown>, plain: Record<string, unknown>): object {
    const FAILED = SparkCode.DeferredSettlementFailed;
    const id = this.#boundTransaction(tenant, body);
    const amount = amountOf(body, plain, "Amount", SparkCode.MissingAmount);
    const receipt = plain["EReceiptData"];
    if (receipt !== undefined && receipt !== null && !isJsonObjectText(receipt)) throw validation("EReceiptData must be a string holding a JSON object");
    const products = plain["ProductInfo"];
    if (products !== undefined && products !== null) {
      if (!Array.isArray(products)) throw validation("ProductInfo must be an array");
      for (const [i, p] of products.entries()) {
        if (!isObject(p) || typeof p["Value"] !== "number" || typeof p["Code"] !== "string" || p["Code"] === "" || typeof p["Quantity"] !== "number") {
          throw validation(`ProductInfo[${i}] must be {Value: number, Code: string, Quantity: number}`);
        }
      }
    }
    const external = this.#externalFor(plain, FAILED, "Deferred Settlement Failed");
    // The identical request again (a client that lost the answer) gets the first answer.
    const request = JSON.stringify({ amount: amount.text, receipt: receipt ?? null, products: products ?? null });
    if (external.settledAmount !== null && external.settledRequest !== request) throw new Refusal(FAILED, "Deferred Settlement Failed: the transaction is already settled");
    if (external.cancelledAmount !== null) throw new Refusal(FAILED, "Deferred Settlement Failed: the transaction was cancelled");
    if (amount.value > external.amount) throw new Refusal(FAILED, "Deferred Settlement Failed: amount exceeds the authorized amount");
    if (this.#now().getTime() - Date.parse(external.authorizedAt) > EXTERNAL_SETTLEMENT_WINDOW_MS) {
      throw new Refusal(FAILED, "Deferred Settlement Failed: the authorization is older than 48 hours");
    }
    external.settledAmount = amount.value;
    external.settledRequest = request;
    external.products = Array.isArray(((body as Record<string, unknown>)["ProductInfo"])) ? ((body as Record<string, unknown>)["ProductInfo"] as unknown[]) : null;
    return { SparkTransactionId: id, Status: { Verdict: "Approved", ErrorDescription: "No Errors" }, AuthCode: external.authCode, MachineAuTime: external.machineAuTime, Amount: JSON.rawJSON(amount.text) };
  }

  #externalCancel(tenant: SimTenant, body: Record<string, unknown>, plain: Record<string, unknown>): object {
    const FAILED = SparkCode.DeferredCancelFailed;
    const id = this.#boundTransaction(tenant, body);
    const amount = amountOf(body, plain, "CancelAmount", FAILED);
    const reasonCode = plain["ReasonCode"];
    const reasonText = plain["ReasonText"];
    if (reasonCode !== undefined && reasonCode !== null && typeof reasonCode !== "string") throw validation("ReasonCode must be a string");
    if (reasonText !== undefined && reasonText !== null && typeof reasonText !== "string") throw validation("ReasonText must be a string");
    if ((reasonCode ?? null) === null && (reasonText ?? null) === null) throw validation("ReasonCode or ReasonText is required");
    const external = this.#externalFor(plain, FAILED, "Deferred Cancel Failed");
    const request = JSON.stringify({ amount: amount.text, reasonCode: reasonCode ?? null, reasonText: reasonText ?? null });
    if (external.cancelledAmount !== null && external.cancelledRequest !== request) throw new Refusal(FAILED, "Deferred Cancel Failed: the transaction is already cancelled");
    if (external.settledAmount !== null) throw new Refusal(FAILED, "Deferred Cancel Failed: the transaction is already settled");
    if (amount.value > external.amount) throw new Refusal(FAILED, "Deferred Cancel Failed: amount exceeds the authorized amount");
    external.cancelledAmount = amount.value;
    external.cancelledRequest = request;
    return { SparkTransactionId: id, Status: { Verdict: "Approved", ErrorDescription: "No Errors" }, AuthCode: external.authCode, MachineAuTime: external.machineAuTime };
  }

  /** The transaction StartAuthentication bound for this integrator (27 otherwise), with the terminal the body names. */
  #boundTransaction(tenant: SimTenant, body: Record<string, unknown>): string {
    const id = guid(body);
    const transaction = this.#transactions.get(id);
    if (!transaction || transaction.integratorId !== tenant.integratorId) throw new Refusal(SparkCode.UnknownTransactionId, "Unknown Transaction ID");
    return body["SparkTransactionId"] as string;
  }

  /** The external authorization a request names: refused with `code` when unknown or when its details differ; 52 when not enabled. */
  #externalFor(plain: Record<string, unknown>, code: number, what: string): SimExternal {
    const nayaxId = requireInt(plain, "NayaxTransactionId");
    const siteId = requireInt(plain, "SiteId");
    const machineAuTime = requireString(plain, "MachineAuTime");
    if (parseDeviceTime(machineAuTime) === null) throw validation("MachineAuTime must be yyyyMMddHHmmssSSS");
    const terminal = terminalOf(plain);
    const external = this.#externals.get(nayaxId);
    if (!external) throw new Refusal(code, `${what}: transaction not found`);
    if (!external.enabled) throw new Refusal(SparkCode.NoSupportForDeferredSettlementOrCancel, "No Support for Deferred Settlement/Cancel");
    if (external.siteId !== siteId || external.terminalId !== terminal.terminalId || external.machineAuTime !== machineAuTime) {
      throw new Refusal(code, `${what}: SiteId, terminal or MachineAuTime do not match the transaction`);
    }
    return external;
  }

  /** The authorization a Settlement/Cancel names: 32 unknown (or another integrator's), 27 wrong session, 36 wrong site. */
  #authorizationFor(tenant: SimTenant, nayaxId: number, sparkTransactionId: string, siteId: number): SimAuthorization {
    const authorization = this.#authorizations.get(nayaxId);
    if (!authorization || (authorization.integratorId !== null && authorization.integratorId !== tenant.integratorId)) {
      throw new Refusal(SparkCode.TransactionNotFoundOrOld, "Transaction Not Found or Old");
    }
    if (authorization.sparkTransactionId !== sparkTransactionId) throw new Refusal(SparkCode.UnknownTransactionId, "Unknown Transaction ID");
    if (authorization.siteId !== siteId) throw new Refusal(SparkCode.SiteIdNotFound, "Site ID Not Found");
    return authorization;
  }
}

/** Throws unless the runtime keeps JSON number source text (Workers; Node ≥ 21, or 20 with `--harmony-json-parse-with-source`). */
export function assertJsonSourceText(): void {
  let source: unknown;
  JSON.parse("1.0", (_key: string, value: unknown, context?: { source?: string }) => {
    source = context?.source;
    return value;
  });
  if (typeof (JSON as { rawJSON?: unknown }).rawJSON !== "function" || source !== "1.0") {
    throw new Error("the Spark simulator needs JSON.rawJSON and JSON.parse source text: use Workers, Node ≥ 21, or node --harmony-json-parse-with-source");
  }
}

function isSimMethod(method: string): method is SimMethod {
  return (SIM_METHODS as readonly string[]).includes(method);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}

function isJsonObjectText(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    return isObject(JSON.parse(value));
  } catch {
    return false;
  }
}

/** Spark's catch-all for malformed fields (997, "all methods"). */
function validation(detail: string): Refusal {
  return new Refusal(SparkCode.NayaxValidationError, `Nayax Validation Error: ${detail}`);
}

/** The body's SparkTransactionId, lower-cased; it must be a GUID. */
function guid(body: Record<string, unknown>): string {
  const id = body["SparkTransactionId"];
  if (typeof id !== "string" || !GUID.test(id)) throw validation("SparkTransactionId must be a 36-character GUID");
  return id.toLowerCase();
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== "string" || value === "") throw validation(`${field} is required (string)`);
  return value;
}

function requireInt(body: Record<string, unknown>, field: string): number {
  const value = body[field];
  if (!isInt(value) || value < 0) throw validation(`${field} is required (integer)`);
  return value;
}

function terminalOf(body: Record<string, unknown>): { terminalId: string; terminalIdType: 1 | 2 } {
  const terminalId = requireString(body, "TerminalId");
  const terminalIdType = body["TerminalIdType"];
  if (terminalIdType !== 1 && terminalIdType !== 2) throw validation("TerminalIdType must be 1 or 2");
  if (terminalIdType === 2 && !/^\d+$/.test(terminalId)) throw validation("TerminalId must be a machine id when TerminalIdType is 2");
  return { terminalId, terminalIdType };
}

/** A major-unit amount: must be a JSON number (not a string) with at most 2 decimals. */
function amountOf(exact: Record<string, unknown>, plain: Record<string, unknown>, field: string, missingCode: number): { value: Minor; text: string } {
  const value = plain[field];
  if (value === undefined || value === null) throw new Refusal(missingCode, missingCode === SparkCode.MissingAmount ? "Missing Amount" : `${field} is required`);
  if (typeof value !== "number") throw validation(`${field} must be a JSON number`);
  const text = String(exact[field]);
  const parsed = parseMoney(text);
  if (!parsed.ok) throw validation(`${field} must be a non-negative amount with at most 2 decimals (got ${text})`);
  return { value: parsed.value, text };
}

function declinedStatus(code: number, description: string): object {
  return { Verdict: "Declined", ErrorCode: code, ErrorDescription: description };
}

/** The answer an injected failure gives. */
function injected(method: SimMethod, failure: SimFailure, body: unknown): Response {
  const status = failure.httpStatus ?? 200;
  if (failure.errorCode === undefined && failure.description === undefined) {
    return json(status, status === 401 ? UNAUTHORIZED_BODY : { Message: "An error has occurred." });
  }
  const code = failure.errorCode ?? SparkCode.NayaxGeneralError;
  const answer: Record<string, unknown> = { Status: declinedStatus(code, failure.description ?? describeSparkCode(code, method)) };
  if (method !== "StartAuthentication" && isObject(body)) answer["SparkTransactionId"] = body["SparkTransactionId"] ?? null;
  return json(status, answer);
}

function json(status: number, body: object): Response {
  return new Response(sparkJson(body), { status, headers: { "Content-Type": "application/json; charset=utf-8" } });
}

/** Waits `ms`, or rejects when the caller gives up (aborted fetch). */
function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new DOMException("aborted", "AbortError"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
