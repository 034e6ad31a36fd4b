/** zod schemas shared by the tenant and operator APIs; they validate requests and generate /openapi.json. */
import { z } from "@hono/zod-openapi";
import { formatMoney, parseMoney } from "../lib/money";
import { ERROR_CODES } from "../lib/errors";
import type { ErrorCode } from "../lib/errors";
import { EVENT_TYPES, FLOWS, OPERATION_KINDS, SESSION_STATUSES } from "../sessions/model";
import type { SessionView } from "../sessions/model";

/** Money in: a decimal string ("12.25") or a JSON number, at most two decimals, not negative. Out: "12.25". */
export const MoneyInput = z
  .union([z.string(), z.number()])
  .transform((value, ctx) => {
    // "1.000" is refused like "1.005": the contract allows at most two decimals as written.
    if (typeof value === "string" && /\.\d{3,}$/.test(value.trim())) {
      ctx.addIssue({ code: "custom", message: "must have at most 2 decimals" });
      return z.NEVER;
    }
    const parsed = parseMoney(String(value));
    if (!parsed.ok) {
      const message = { not_a_decimal: "must be a decimal amount", negative: "must not be negative", too_many_decimals: "must have at most 2 decimals" }[parsed.problem];
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    }
    return formatMoney(parsed.value);
  })
  .openapi({ type: "string", example: "12.25", description: "Decimal amount in major units, as a string (a JSON number is accepted)." });

export const Money = z.string().openapi({ example: "12.25", description: "Decimal amount in major units." });

/** The enumerated codes, one line each, for the `code` field's description. */
const CODE_LIST = Object.entries(ERROR_CODES)
  .map(([code, meaning]) => `- \`${code}\` — ${meaning}`)
  .join("\n");

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).openapi({ description: `What went wrong, for programs; with its status:\n\n${CODE_LIST}` }),
      message: z.string().openapi({ description: "What went wrong, for people: names the field or the state at fault." }),
      details: z
        .array(z.object({ field: z.string().openapi({ example: "amount" }), message: z.string().openapi({ example: "must have at most 2 decimals" }) }))
        .openapi({ description: "One entry per field at fault (mostly on 400); empty otherwise." }),
      spark: z
        .object({
          code: z.number().int().nullable().openapi({ description: "Spark's ErrorCode or ResponseCode; null when Spark gave none (an unreadable answer, a wrong hash).", example: 1 }),
          description: z.string().openapi({ example: "General Error" }),
        })
        .optional()
        .openapi({ description: "Only when Spark is why the request failed (`spark_error`, 502): Spark's own code and description." }),
    }),
  })
  .openapi("Error", {
    description: "Every error of the tenant and operator APIs. Every answer, error or not, carries `X-Request-Id`.",
    example: { error: { code: "invalid_request", message: "amount: must have at most 2 decimals", details: [{ field: "amount", message: "must have at most 2 decimals" }] } },
  });

/** An error answer with the Error schema. */
export const errorResponse = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

/** What the statuses every route of its kind may answer mean, the same on every route. */
const STANDARD_ERRORS = {
  400: "Invalid request (`invalid_request`, `invalid_json`, `invalid_cursor`): `details` names each field or query parameter at fault. Nothing is stored.",
  401: "Missing, unknown or expired credentials, or a disabled tenant (`unauthorized`).",
  404: "Not found (`not_found`); another tenant's object is not found either.",
  413: "The body exceeds 64 KiB (`payload_too_large`); nothing is read or stored.",
  415: "The body is not sent as `application/json` (`unsupported_media_type`).",
  429: "Too many requests for this tenant (`rate_limited`): about 300 per 10 s. Retry after `Retry-After` seconds.",
  500: "A bug (`internal_error`), logged with the answer's `X-Request-Id`; nothing internal is shown.",
} as const;
type StandardStatus = keyof typeof STANDARD_ERRORS;
type ErrorResponse = ReturnType<typeof errorResponse>;

/** Seconds to wait before the next request, on a 429. */
const RETRY_AFTER = { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer" as const, example: 10 } } };

/** The standard error answers `statuses`, each with the Error schema and its usual meaning. */
export function errors<const S extends StandardStatus>(...statuses: S[]): { [K in S]: ErrorResponse } {
  return Object.fromEntries(
    statuses.map((status) => [status, status === 429 ? { ...errorResponse(STANDARD_ERRORS[status]), headers: RETRY_AFTER } : errorResponse(STANDARD_ERRORS[status])]),
  ) as { [K in S]: ErrorResponse };
}

/** What every tenant route may answer: its key is checked, the tenant's rate limited, and a bug is a 500. */
export const tenantErrors = <const S extends StandardStatus>(...statuses: S[]) => errors<401 | 429 | 500 | S>(401, 429, 500, ...statuses);
/** What every operator route may answer. */
export const operatorErrors = <const S extends StandardStatus>(...statuses: S[]) => errors<401 | 500 | S>(401, 500, ...statuses);

/** 400, 401 and 404 with the Error schema. */
export const errorResponses = errors(400, 401, 404);

export const Card = z
  .object({
    last4: z.string().nullable().openapi({ example: "1234" }),
    hash: z.string().nullable().openapi({ description: "Spark's CardHash: how a stop card is matched to its session.", example: "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6" }),
    uid: z.string().nullable().openapi({ description: "The card's UID, when Spark sent one (closed-loop cards).", example: "1288528281124927" }),
  })
  .openapi("Card");

const Decision = z
  .object({
    source: z.enum(["tenant", "fallback"]).openapi({ description: "`tenant`: the decision endpoint answered; `fallback`: it did not in time (or not clearly), so its fallback decided." }),
    approved: z.boolean(),
    message: z.string().nullable().openapi({ description: "The endpoint's `message`, shown on the terminal." }),
    error: z.string().nullable().openapi({ description: "Why the fallback decided: `timeout`, `http 503`, `invalid answer`, `unreachable: …`; null when the tenant answered." }),
    durationMs: z.number().int().openapi({ description: "How long the gateway waited (at most about 2000)." }),
  })
  .openapi("Decision", { description: "How the decision endpoint decided this Device Start authorization; null when none was asked." });

const OcpiCommand = z
  .object({
    sentAt: z.string().nullable(),
    reason: z.enum(["card", "cost_cap", "late_session"]).optional().openapi({ description: "STOP_SESSION only: a stop card, the cost reaching the authorized amount, or a Session that came after the payment ended." }),
    response: z.string().nullable().openapi({ description: "The CPO's `result` in its answer (`ACCEPTED`, `REJECTED`, …), or `ERROR` when its answer was not a 1000 envelope; null until it answered.", example: "ACCEPTED" }),
    result: z.string().nullable().openapi({ description: "The command result the CPO posted later to `response_url`; null until it came.", example: "ACCEPTED" }),
    resultAt: z.string().nullable(),
  })
  .openapi("OcpiCommand");

const SessionOcpi = z
  .object({
    version: z.enum(["2.1.1", "2.2.1"]),
    countryCode: z.string().nullable().openapi({ example: "BE" }),
    partyId: z.string().nullable().openapi({ example: "BEC" }),
    locationId: z.string().openapi({ example: "LOC1" }),
    evseUid: z.string().openapi({ example: "3256" }),
    connectorId: z.string().nullable().openapi({ example: "1" }),
    tokenUid: z.string().nullable().openapi({ description: "The token uid minted for this session (`OCPI_TOKEN_PREFIX` and 16 hex digits), never used again; null until START_SESSION is about to be sent.", example: "NYX-6F1C0B2E9A1D44C7" }),
    start: OcpiCommand.nullable().openapi({ description: "START_SESSION." }),
    stop: OcpiCommand.nullable().openapi({ description: "STOP_SESSION; null until it was sent." }),
    sessionId: z.string().nullable().openapi({ description: "The CPO's Session id, once its first Session arrived.", example: "101" }),
    status: z.string().nullable().openapi({ description: "The CPO's Session status: `PENDING`, `ACTIVE`, `COMPLETED`, `INVALID`, `RESERVATION`.", example: "ACTIVE" }),
    kwh: z.number().nullable().openapi({ description: "The CPO's number, as it sent it.", example: 15 }),
    cost: z
      .object({ exclVat: z.string().openapi({ example: "0.8" }), inclVat: z.string().nullable().openapi({ example: "0.88" }) })
      .nullable()
      .openapi({ description: "The CPO's latest `total_cost`, exact decimal strings as written (`inclVat` null when not given; on 2.1.1 only `exclVat`)." }),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    cdrId: z.string().nullable().openapi({ description: "The first CDR's id; null until it came." }),
    charge: Money.nullable().openapi({ description: "The amount settled or cancelled for from the CDR (2 decimals); null until the CDR." }),
    cancelReason: z
      .enum(["start_rejected", "start_failed", "no_session", "session_invalid", "zero_amount"])
      .nullable()
      .openapi({ description: "Why the card was released: `start_rejected`, `start_failed`, `no_session`, `session_invalid`, `zero_amount`; null otherwise." }),
    reviewReasons: z
      .array(z.enum(["late_session", "cdr_above_authorized", "extra_cdr", "credit_cdr", "cdr_missing", "currency_mismatch"]))
      .openapi({ description: "Why the session needs review, once each: `late_session`, `cdr_above_authorized`, `extra_cdr`, `credit_cdr`, `cdr_missing`, `currency_mismatch`." }),
  })
  .openapi("SessionOcpi", { description: "The OCPI side of an OCPI-driven session (a mapped station of a connected tenant); null otherwise." });

const Operation = z
  .object({
    kind: z.enum(OPERATION_KINDS),
    amount: Money.nullable(),
    state: z.enum(["pending", "unknown"]).openapi({ description: "`pending` while the first request is in flight; `unknown` once its outcome could not be known." }),
    since: z.string(),
    attempts: z.number().int().openapi({ description: "Requests sent for it, the first included." }),
    lastError: z.object({ code: z.number().int().nullable(), description: z.string() }).nullable().openapi({ description: "Spark's code and description, or what went wrong (`timeout`), of the last attempt." }),
  })
  .openapi("Operation", {
    description:
      "A call to Spark whose outcome is pending or unknown (a timeout, a lost connection, a 5xx without Spark's verdict). The gateway re-sends the identical request until Spark answers; null when nothing is pending.",
  });

export const Session = z
  .object({
    id: z.string().openapi({ description: "Spark's SparkTransactionId (a GUID).", example: "12c7cec2-c690-4425-9a1f-db0db60e2d8c" }),
    flow: z.enum(FLOWS).openapi({ description: "`device_start` (the card starts at the terminal), `remote_start` (`POST /v1/sessions`) or `external` (`/v1/external-transactions`)." }),
    status: z.enum(SESSION_STATUSES).openapi({ description: "`review_required`: money in doubt; see `POST /v1/sessions/{id}/resolve`." }),
    nayaxTransactionId: z.number().int().nullable().openapi({ example: 2004545072 }),
    siteId: z.number().int().nullable().openapi({ example: 2 }),
    stopSiteId: z.number().int().nullable().openapi({ description: "The site the stop card was presented at." }),
    machineId: z.number().int().nullable().openapi({ example: 71234996 }),
    hwSerial: z.string().nullable().openapi({ example: "0434334921100366" }),
    serviceStationNumber: z.string().nullable().openapi({ example: "5" }),
    authorizedAmount: Money.nullable(),
    settledAmount: Money.nullable(),
    currency: z.string().nullable().openapi({ description: "From Spark's settlement answer.", example: "EUR" }),
    card: Card.nullable(),
    deviceTime: z.string().nullable().openapi({ description: "Terminal's local time of authorization, ISO 8601 without zone.", example: "2024-02-05T19:41:22.328" }),
    verdict: z.object({ approved: z.boolean(), message: z.string().nullable() }).nullable().openapi({ description: "What Spark was answered for the authorization." }),
    decline: z.object({ code: z.number().int().nullable(), description: z.string().nullable() }).nullable().openapi({ description: "Why Spark declined it (DeclineCallback's code: 44, 45, 38)." }),
    settlement: z
      .object({
        amount: Money.nullable(),
        currency: z.string().nullable(),
        currencyNumeric: z.string().nullable(),
        authCode: z.string().nullable(),
        nayaxRrn: z.string().nullable(),
        fiscalRrn: z.string().nullable(),
        settledAt: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: "What Spark's Settlement answered." }),
    paymentMode: z.enum(["pre_authorization", "pre_selection"]).openapi({ description: "Remote Start: `pre_authorization` (settle later) or `pre_selection` (charged at authorization); Device Start is always `pre_authorization`." }),
    lastSparkError: z
      .object({ method: z.string().openapi({ example: "Settlement" }), code: z.number().int().nullable(), description: z.string(), at: z.string() })
      .nullable()
      .openapi({ description: "The last call to Spark that failed for this session, so you can see why." }),
    overdue: z.boolean().openapi({ description: "Authorized and not settled within `SETTLEMENT_WINDOW_SECONDS`." }),
    operation: Operation.nullable(),
    decision: Decision.nullable(),
    ocpi: SessionOcpi.nullable(),
    resolvedBy: z.enum(["tenant"]).nullable().openapi({ description: "Who closed a review with `resolve`; null when none was." }),
    resolutionNote: z.string().nullable().openapi({ description: "The `note` given to `resolve`." }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Session");

/** Compile-time identity of two types (no field missing, none extra, the same types). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// The schema describes exactly the session the API and the webhooks send.
void (true satisfies Same<z.infer<typeof Session>, SessionView>);

/** `data` of a session event. */
export const SessionEventData = z
  .object({
    sequence: z.number().int().min(1).openapi({ description: "Counts this session's events from 1, without gaps." }),
    session: Session.openapi({ description: "The session as `GET /v1/sessions/{id}` showed it when the event happened." }),
  })
  .openapi("SessionEventData");

/** `data` of `webhook.test`. */
export const TestEventData = z.object({ endpointId: z.string().openapi({ example: "we_…" }) }).openapi("TestEventData");

export const Event = z
  .object({
    id: z.string().openapi({ description: "Also the `webhook-id` of every delivery of it.", example: "evt_9c1b…" }),
    type: z.enum(EVENT_TYPES),
    timestamp: z.string().openapi({ description: "When the event happened (ISO 8601, UTC)." }),
    data: z.union([SessionEventData, TestEventData]).openapi({ description: "`{sequence, session}` for session events; `{endpointId}` for `webhook.test`." }),
  })
  .openapi("Event");

export const DELIVERY_STATUSES = ["pending", "delivered", "failed", "skipped"] as const;

export const Delivery = z
  .object({
    endpointId: z.string(),
    status: z.enum(DELIVERY_STATUSES).openapi({
      description: "`pending` until it went through or was given up (retrying, or waiting for the session's earlier events); `failed`: given up; `skipped`: the endpoint was disabled.",
    }),
    attempts: z.number().int(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable().openapi({ description: "When the next attempt is due; null when none is scheduled." }),
  })
  .openapi("Delivery");

export const EventWithDeliveries = Event.extend({
  deliveries: z.array(Delivery).openapi({
    description: "One per endpoint the event is meant for: the endpoints that existed when it was created and whose `eventTypes` took it (an endpoint disabled then shows `skipped`).",
  }),
}).openapi("EventWithDeliveries");

export const SessionWithTimeline = Session.extend({ events: z.array(EventWithDeliveries) }).openapi("SessionWithTimeline");

/** `{data, nextCursor}` around a list. */
export function page<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}

/** Any query parameter a list does not declare: refused and named, so a misspelt filter never silently lists everything. */
const UnknownParameter = z.unknown().refine(() => false, { message: "is not a query parameter of this list" });

/** The query of every list; routes `extend` it with their filters, and any other parameter is a 400 naming it. */
export const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: "At most 200; default 50." }),
    cursor: z.string().optional().openapi({ description: "`nextCursor` of the previous page." }),
  })
  .catchall(UnknownParameter);
