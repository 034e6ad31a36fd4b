/** zod schemas shared by the tenant and operator APIs; they validate requests and generate /openapi.json. */
import { z } from "@hono/zod-openapi";
import { formatMoney, parseMoney } from "../lib/money";
import { EVENT_TYPES, FLOWS, OPERATION_KINDS, SESSION_STATUSES } from "../sessions/model";

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

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.array(z.object({ field: z.string(), message: z.string() })),
    }),
  })
  .openapi("Error");

export const errorResponses = {
  400: { description: "Invalid request", content: { "application/json": { schema: ErrorBody } } },
  401: { description: "Missing or invalid credentials", content: { "application/json": { schema: ErrorBody } } },
  404: { description: "Not found", content: { "application/json": { schema: ErrorBody } } },
} as const;

export const Card = z.object({ last4: z.string().nullable(), hash: z.string().nullable(), uid: z.string().nullable() });

export const Session = z
  .object({
    id: z.string().openapi({ example: "12c7cec2-c690-4425-9a1f-db0db60e2d8c" }),
    flow: z.enum(FLOWS),
    status: z.enum(SESSION_STATUSES),
    nayaxTransactionId: z.number().int().nullable(),
    siteId: z.number().int().nullable(),
    stopSiteId: z.number().int().nullable(),
    machineId: z.number().int().nullable(),
    hwSerial: z.string().nullable(),
    serviceStationNumber: z.string().nullable(),
    authorizedAmount: Money.nullable(),
    settledAmount: Money.nullable(),
    currency: z.string().nullable(),
    card: Card.nullable(),
    deviceTime: z.string().nullable().openapi({ description: "Terminal's local time of authorization, ISO 8601 without zone." }),
    verdict: z.object({ approved: z.boolean(), message: z.string().nullable() }).nullable(),
    decline: z.object({ code: z.number().int().nullable(), description: z.string().nullable() }).nullable(),
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
      .nullable(),
    overdue: z.boolean(),
    operation: z
      .object({
        kind: z.enum(OPERATION_KINDS),
        amount: Money.nullable(),
        state: z.enum(["pending", "unknown"]),
        since: z.string(),
        attempts: z.number().int(),
        lastError: z.object({ code: z.number().int().nullable(), description: z.string() }).nullable(),
      })
      .nullable()
      .openapi({ description: "A call to Spark whose outcome is pending or unknown; the gateway re-sends it identically until Spark answers. Null when nothing is pending." }),
    decision: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The decision endpoint's verdict, when one was asked." }),
    ocpi: z.record(z.string(), z.unknown()).nullable().openapi({ description: "The OCPI side of the session; null when it is not OCPI-driven." }),
    resolvedBy: z.enum(["tenant"]).nullable(),
    resolutionNote: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Session");

export const Event = z
  .object({
    id: z.string().openapi({ example: "evt_9c1b…" }),
    type: z.enum(EVENT_TYPES),
    timestamp: z.string(),
    data: z.record(z.string(), z.unknown()).openapi({ description: "`{sequence, session}` for session events." }),
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
