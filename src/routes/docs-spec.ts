/**
 * The parts of `/openapi.json` that no zod-openapi route declares: Spark's callbacks, described
 * from the same zod schemas that validate them (`src/spark/messages.ts`); the gateway's own
 * health, document and reference page; and the webhook events under OpenAPI 3.1 `webhooks`,
 * with their payloads, an example each, and how to verify their signatures.
 */
import { z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { SchemaObject } from "openapi3-ts/oas31";
import type { ZodType } from "zod";
import { EVENT_TYPES } from "../sessions/model";
import type { EventType } from "../sessions/model";
import {
  AckAnswer,
  InfoQueryAnswer,
  StartSessionAnswer,
  StopCallbackAnswer,
  StopNotifyAnswer,
  TransactionNotifyAnswer,
  inboundSchemas,
} from "../spark/messages";
import type { InboundMethod } from "../spark/messages";
import { Event, SessionEventData, TestEventData } from "./schemas";

type OpenAPIRegistry = OpenAPIHono["openAPIRegistry"];

/**
 * A Spark message schema as JSON Schema (2020-12, which OpenAPI 3.1 uses): the input form, what
 * Spark sends. Money literals are "any JSON number or decimal string".
 */
function jsonSchemaOf(schema: ZodType): SchemaObject {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest as SchemaObject;
}

const SparkError = z
  .object({
    Status: z.object({ Verdict: z.literal("Declined"), ErrorDescription: z.string().openapi({ description: "What is wrong, naming the field." }) }),
  })
  .openapi("SparkError", { example: { Status: { Verdict: "Declined", ErrorDescription: "SiteId: is required" } } });

const refusal = (description: string) => ({ description, content: { "application/json": { schema: SparkError } } });

/** What each callback is, and how the gateway answers it (CONTRACT §4). */
/** Spark's answers, each registered once under this name. */
const ANSWERS = {
  SparkTransactionNotifyAnswer: TransactionNotifyAnswer,
  SparkStopCallbackAnswer: StopCallbackAnswer,
  SparkStopNotifyAnswer: StopNotifyAnswer,
  SparkAck: AckAnswer,
  SparkStartSessionAnswer: StartSessionAnswer,
  SparkInfoQueryAnswer: InfoQueryAnswer,
} satisfies Record<string, ZodType>;
type AnswerName = keyof typeof ANSWERS;

const CALLBACKS: Record<InboundMethod, { summary: string; description: string; answer: AnswerName; routing: string }> = {
  TransactionNotify: {
    summary: "A card was authorized (Device Start)",
    description:
      "Creates or finds the session and records the authorization. `Declined` when the station is busy or out of service (or the decision endpoint says so), else `Approved`. Emits `session.authorized` or `session.declined`.",
    answer: "SparkTransactionNotifyAnswer",
    routing: "(SiteId, MachineId)",
  },
  StopCallback: {
    summary: "A card was presented to stop (Spark matched it)",
    description:
      "Finds the session by SparkTransactionId, else NayaxTransactionId, else the card hash among the open sessions on that machine; the card must match. Moves it to `stop_requested` and emits `session.stop_requested`. A repeat is `Approved` again; an ended session is `Declined`.",
    answer: "SparkStopCallbackAnswer",
    routing: "the named session when held, else (StopSiteId, MachineId)",
  },
  StopNotify: {
    summary: "A card was presented to stop (the gateway matches it)",
    description: "As StopCallback, but the gateway matches the card hash among the tenant's open sessions and answers with the session's identifiers.",
    answer: "SparkStopNotifyAnswer",
    routing: "(StopSiteId, MachineId)",
  },
  TransactionCallback: {
    summary: "Remote Start authorization result",
    description: "`AuthStatus.Verdict` Approved → `session.authorized`, otherwise `session.declined`. Its `Amount` is in minor units (1500 = 15.00).",
    answer: "SparkAck",
    routing: "the session held for SparkTransactionId",
  },
  DeclineCallback: {
    summary: "Remote Start ended before authorization",
    description: "Codes 44 (timeout), 45 (cancelled), 38 (callback failed): `session.declined` with the code.",
    answer: "SparkAck",
    routing: "the session held for SparkTransactionId",
  },
  TimeoutCallback: {
    summary: "A pre-authorization expired at Spark",
    description: "The session ends `timed_out` (`session.timed_out`) and can no longer be settled.",
    answer: "SparkAck",
    routing: "the session held for SparkTransactionId",
  },
  StartSession: {
    summary: "Device Start handshake",
    description:
      "The gateway creates a session in `awaiting_card` (`session.created`) with a new SparkTransactionId and answers the cipher: Base64(AES-256-ECB(GUID + \"=\" + Random + UTC yyMMddHHmm)) under the tenant's secret token. A repeat with the same TokenId and Random answers the same.",
    answer: "SparkStartSessionAnswer",
    routing: "TokenId (the tenant's Spark credentials)",
  },
  InfoQuery: {
    summary: "Station availability, display text and pre-authorization amount",
    description: "Answered from the station state the tenant pushed (`PUT /v1/stations/…`), defaulting to available and the tenant's default pre-authorization amount. Also accepted as GET with a body.",
    answer: "SparkInfoQueryAnswer",
    routing: "(SiteId, MachineId)",
  },
  AvailabilityCheck: {
    summary: "Station availability before a payment",
    description: "As InfoQuery, with the estimated amount.",
    answer: "SparkInfoQueryAnswer",
    routing: "(SiteId, MachineId)",
  },
};

const SPARK_REFUSALS = {
  400: refusal("Malformed JSON, a body that is not an object, a missing required field or a wrong type (named in ErrorDescription). Nothing is stored."),
  401: refusal("No or unknown `X-Spark-Secret`, or the secret of a tenant other than the one routed to. Nothing is stored."),
  404: refusal("Unroutable: no tenant claims the site, machine or token, or no session is held for the SparkTransactionId; or no such method. Nothing is stored."),
  409: refusal("A conflicting repeat: the same SparkTransactionId with another NayaxTransactionId or amount, or a callback the session's state cannot take. Nothing changes."),
  413: refusal("Body over 64 KiB. Nothing is stored."),
  500: refusal("A bug, logged with the request's `X-Request-Id`; still Spark-shaped (`Internal error`)."),
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const requestName = (method: InboundMethod) => `Spark${method}`;

function registerSparkCallbacks(registry: OpenAPIRegistry): void {
  registry.registerComponent("securitySchemes", "SparkSecret", {
    type: "apiKey",
    in: "header",
    name: "X-Spark-Secret",
    description: "The tenant's `sparkCallbackSecret`, configured at Nayax as a static header of the integration.",
  });
  for (const [name, schema] of Object.entries(ANSWERS)) registry.registerComponent("schemas", name, jsonSchemaOf(schema));
  const methods = Object.keys(inboundSchemas) as InboundMethod[];
  for (const method of methods) {
    const doc = CALLBACKS[method];
    registry.registerComponent("schemas", requestName(method), { ...jsonSchemaOf(inboundSchemas[method]), description: `What Spark sends to \`/spark/${method}\`.` });
    registry.registerPath({
      method: "post",
      path: `/spark/${method}`,
      tags: ["Spark callbacks"],
      summary: doc.summary,
      description: `${doc.description}\n\nRouted by ${doc.routing}. Unknown extra fields are accepted and ignored. Refusals are Spark-shaped, checked in this order: 401, 400, 413, 404, 401 (another tenant's secret), 409. Business refusals are 200 with \`Status.Verdict\` \`Declined\`. Spark is never rate-limited.`,
      security: [{ SparkSecret: [] }],
      request: { body: { required: true, content: { "application/json": { schema: ref(requestName(method)) } } } },
      responses: { 200: { description: "Spark's answer", content: { "application/json": { schema: ref(doc.answer) } } }, ...SPARK_REFUSALS },
    });
  }
  registry.registerPath({
    method: "get",
    path: "/spark/{method}",
    tags: ["Spark callbacks"],
    summary: "Any callback, sent as GET with a JSON body",
    description:
      "Spark's documentation shows InfoQuery both as POST and as GET with a JSON body, so every callback is accepted either way and answered exactly as its POST (above): the same body, routing, checks and answer.",
    security: [{ SparkSecret: [] }],
    request: {
      params: z.object({ method: z.enum(methods as [InboundMethod, ...InboundMethod[]]).openapi({ param: { name: "method", in: "path" }, example: "InfoQuery" }) }),
      body: { required: true, content: { "application/json": { schema: { anyOf: methods.map((m) => ref(requestName(m))) } } } },
    },
    responses: {
      200: { description: "Spark's answer, as for the POST of that method", content: { "application/json": { schema: { anyOf: Object.keys(ANSWERS).map(ref) } } } },
      ...SPARK_REFUSALS,
    },
  });
}

// ---------------------------------------------------------------- the gateway itself

function registerGateway(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: "get",
    path: "/health",
    tags: ["Gateway"],
    security: [],
    summary: "Liveness",
    description: "Answers `200` `{\"status\": \"ok\"}` once the gateway can serve. No credentials; reads nothing.",
    responses: {
      200: { description: "The gateway serves", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } },
    },
  });
  registry.registerPath({
    method: "get",
    path: "/openapi.json",
    tags: ["Gateway"],
    security: [],
    summary: "This API reference, as OpenAPI 3.1",
    description: "The OpenAPI 3.1 document of every route the gateway serves and of the webhooks it sends, generated from the zod schemas that validate the requests. No credentials.",
    responses: { 200: { description: "The OpenAPI 3.1 document", content: { "application/json": { schema: { type: "object", description: "An OpenAPI 3.1 document." } } } } },
  });
  registry.registerPath({
    method: "get",
    path: "/docs",
    tags: ["Gateway"],
    security: [],
    summary: "This API reference, rendered",
    description: "Swagger UI over `/openapi.json`. Its script, styles and icon are served by the gateway itself (`/docs/assets/…`), so the page makes no request to any other host. No credentials.",
    responses: { 200: { description: "An HTML page", content: { "text/html": { schema: { type: "string" } } } } },
  });
}

// ---------------------------------------------------------------- webhooks

/** How a receiver verifies a webhook; shown on every event. */
export const SIGNATURE_HELP = `Signed per [Standard Webhooks](https://www.standardwebhooks.com/) v1; any Standard Webhooks library verifies it.

To verify by hand: take the secret after \`whsec_\` and base64-decode it; compute HMAC-SHA256 over \`{webhook-id}.{webhook-timestamp}.{raw body}\`; base64-encode the result; it must equal one of the space-separated \`v1,<signature>\` entries of \`webhook-signature\` (compare in constant time). Refuse a \`webhook-timestamp\` more than 5 minutes from now. For 24 h after a rotation two signatures are sent, one per live secret.

\`\`\`js
import { Webhook } from "standardwebhooks";
const event = new Webhook(process.env.WEBHOOK_SECRET).verify(rawBody, headers); // throws when it does not verify
\`\`\`

Answer any 2xx within 15 s. Otherwise the event is retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (±20 %), honouring \`Retry-After\`; \`410 Gone\` disables the endpoint. \`webhook-id\` is the event id and stays the same on every retry: use it to drop duplicates. For one session, event n+1 is sent only after event n was delivered or given up.`;

const WebhookHeaders = z.object({
  "webhook-id": z.string().openapi({ description: "The event id (`evt_…`), the same on every retry.", example: "evt_3kq2Zx…" }),
  "webhook-timestamp": z.string().openapi({ description: "Unix seconds of this attempt.", example: "1767225600" }),
  "webhook-signature": z.string().openapi({ description: "`v1,<base64 HMAC-SHA256>`, space-separated when two secrets are live.", example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=" }),
});

const EXAMPLE_SESSION = {
  id: "12c7cec2-c690-4425-9a1f-db0db60e2d8c",
  flow: "device_start",
  status: "authorized",
  nayaxTransactionId: 2004545072,
  siteId: 2,
  stopSiteId: null,
  machineId: 71234996,
  hwSerial: "0434334921100366",
  serviceStationNumber: "5",
  authorizedAmount: "10.00",
  settledAmount: null,
  currency: null,
  card: { last4: "1234", hash: "7f2082ba5dbccf706b6987e75b62083f65b5695bc2d8c827c3e46769d007a9e6", uid: "1288528281124927" },
  deviceTime: "2024-02-05T19:41:22.328",
  verdict: { approved: true, message: "Session will begin immediately." },
  decline: null,
  settlement: null,
  paymentMode: "pre_authorization",
  lastSparkError: null,
  overdue: false,
  operation: null,
  decision: null,
  ocpi: null,
  resolvedBy: null,
  resolutionNote: null,
  createdAt: "2024-02-05T19:41:22.912Z",
  updatedAt: "2024-02-05T19:41:22.912Z",
};

/** The OCPI side of a session just started at a mapped station (CONTRACT §7.8). */
const EXAMPLE_OCPI = {
  version: "2.2.1",
  countryCode: "BE",
  partyId: "BEC",
  locationId: "LOC1",
  evseUid: "3256",
  connectorId: "1",
  tokenUid: "NYX-6F1C0B2E9A1D44C7",
  start: { sentAt: "2024-02-05T19:41:23Z", response: "ACCEPTED", result: "ACCEPTED", resultAt: "2024-02-05T19:41:25Z" },
  stop: null,
  sessionId: null,
  status: null,
  kwh: null,
  cost: null,
  startedAt: null,
  endedAt: null,
  cdrId: null,
  charge: null,
  cancelReason: null,
  reviewReasons: [],
};

type SessionEventType = Exclude<EventType, "webhook.test">;

/** Each session event: what it means, and the session in its example (over {@link EXAMPLE_SESSION}). */
const SESSION_EVENTS: Record<SessionEventType, { summary: string; description: string; sequence: number; session: Record<string, unknown> }> = {
  "session.created": {
    summary: "A session was created, before any authorization",
    description: "The gateway created a session before any card was authorized: Device Start's StartSession, or Remote Start. A session first seen in TransactionNotify starts with `session.authorized` instead.",
    sequence: 1,
    session: { status: "awaiting_card", nayaxTransactionId: null, authorizedAmount: null, card: null, verdict: null },
  },
  "session.authorized": {
    summary: "A card was authorized",
    description: "A card was authorized for the session (TransactionNotify, or an approved TransactionCallback); it can now be settled or cancelled.",
    sequence: 1,
    session: {},
  },
  "session.declined": {
    summary: "The authorization was declined",
    description: "Declined: a busy or out-of-service station, the decision endpoint, or Spark (DeclineCallback's code in `decline`).",
    sequence: 1,
    session: { status: "declined", verdict: { approved: false, message: "Station 5 is busy" } },
  },
  "session.stop_requested": {
    summary: "A card was presented to stop",
    description: "A card was presented to stop (StopCallback, StopNotify), or an OCPI session reached its cost cap: end the charge and settle.",
    sequence: 2,
    session: { status: "stop_requested", stopSiteId: 2 },
  },
  "session.settled": {
    summary: "Spark settled the final amount",
    description: "Spark approved the Settlement (or ExternalSettlement), or a review was resolved as settled; `settlement` holds what Spark answered.",
    sequence: 3,
    session: { status: "settled", settledAmount: "7.50", currency: "EUR", settlement: { amount: "7.50", currency: "EUR", currencyNumeric: "978", authCode: "A1B2C3", nayaxRrn: "123456789012", fiscalRrn: null, settledAt: "2024-02-05T20:12:03Z" } },
  },
  "session.settlement_failed": {
    summary: "Spark refused a settlement",
    description: "Spark refused the Settlement; `lastSparkError` says why. The session stays settleable.",
    sequence: 3,
    session: { status: "stop_requested", lastSparkError: { method: "Settlement", code: 1, description: "General Error", at: "2024-02-05T20:12:03Z" } },
  },
  "session.cancelled": {
    summary: "The hold was released",
    description: "Spark approved the CancelTransaction (or ExternalCancel): the hold is released, or a pre-selection voided.",
    sequence: 3,
    session: { status: "cancelled" },
  },
  "session.timed_out": {
    summary: "The session timed out",
    description: "Spark's TimeoutCallback, or no card in time (Device Start after `AWAITING_CARD_TTL_SECONDS`, Remote Start after `timeoutSeconds` + 60 s). It can no longer be settled.",
    sequence: 2,
    session: { status: "timed_out" },
  },
  "session.settlement_overdue": {
    summary: "An authorization waits too long to be settled",
    description: "An authorized session was not settled within `SETTLEMENT_WINDOW_SECONDS`; `overdue` is now true (also `GET /v1/sessions?overdue=true`).",
    sequence: 2,
    session: { overdue: true },
  },
  "session.review_required": {
    summary: "The session needs a person",
    description:
      "Money is in doubt (a re-sent call to Spark was refused, or Spark never answered within the horizon: `operation.lastError` says which), or an OCPI-driven session needs a person (`ocpi.reviewReasons`). Check with Nayax, then `POST /v1/sessions/{id}/resolve`. Emitted once per reason.",
    sequence: 3,
    session: {
      status: "review_required",
      operation: { kind: "settle", amount: "7.50", state: "unknown", since: "2024-02-05T20:12:03.000Z", attempts: 9, lastError: { code: null, description: "no answer within the re-send horizon" } },
    },
  },
  "session.charging": {
    summary: "Charging started (OCPI)",
    description: "OCPI-driven sessions: the CPO's Session for it is `ACTIVE` for the first time.",
    sequence: 2,
    session: { ocpi: { ...EXAMPLE_OCPI, sessionId: "101", status: "ACTIVE", startedAt: "2024-02-05T19:41:40Z" } },
  },
  "session.charging_completed": {
    summary: "Charging ended (OCPI)",
    description: "OCPI-driven sessions: the CPO's Session is `COMPLETED` for the first time; the CDR, and with it the settlement, follows.",
    sequence: 4,
    session: {
      status: "stop_requested",
      stopSiteId: 2,
      ocpi: {
        ...EXAMPLE_OCPI,
        stop: { sentAt: "2024-02-05T20:10:00Z", reason: "card", response: "ACCEPTED", result: "ACCEPTED", resultAt: "2024-02-05T20:10:01Z" },
        sessionId: "101",
        status: "COMPLETED",
        kwh: 15,
        cost: { exclVat: "5.00", inclVat: "6.05" },
        startedAt: "2024-02-05T19:41:40Z",
        endedAt: "2024-02-05T20:10:02Z",
      },
    },
  },
};

/** The body of one event type: the `Event` schema with its `type` and `data` made exact. */
const EventEnvelope = (type: string, data: z.ZodType) => z.object({ id: Event.shape.id, type: z.literal(type), timestamp: Event.shape.timestamp, data });

/** One webhook: its payload schema, an example, and how to verify and answer it. */
function registerWebhook(registry: OpenAPIRegistry, type: EventType, doc: { summary: string; description: string; data: z.ZodType; example: unknown }): void {
  registry.registerWebhook({
    method: "post",
    path: type,
    tags: ["Webhooks"],
    summary: doc.summary,
    description: `${doc.description}\n\n${SIGNATURE_HELP}`,
    request: {
      headers: WebhookHeaders,
      body: {
        required: true,
        content: { "application/json": { schema: EventEnvelope(type, doc.data), example: { id: "evt_3kq2ZxVw9bW1tq0cJ2yY4A", type, timestamp: "2024-02-05T19:41:23.004Z", data: doc.example } } },
      },
    },
    responses: {
      200: { description: "Any 2xx within 15 s acknowledges the event." },
      410: { description: "Gone: the gateway disables the endpoint." },
    },
  });
}

function registerWebhooks(registry: OpenAPIRegistry): void {
  for (const type of EVENT_TYPES) {
    if (type === "webhook.test") {
      registerWebhook(registry, type, {
        summary: "A test event (POST /v1/webhook-endpoints/{id}/test)",
        description: "Sent once, on request, to one endpoint; not retried, and not part of any session. `data.endpointId` is the endpoint it was sent to.",
        data: TestEventData,
        example: { endpointId: "we_9xJ…" },
      });
      continue;
    }
    const event = SESSION_EVENTS[type];
    registerWebhook(registry, type, {
      summary: event.summary,
      description: `${event.description} \`data.session\` is the session as \`GET /v1/sessions/{id}\` showed it at that moment; \`data.sequence\` counts the session's events from 1.`,
      data: SessionEventData,
      example: { sequence: event.sequence, session: { ...EXAMPLE_SESSION, ...event.session } },
    });
  }
}

/** Registers the Spark callbacks, the gateway's own routes and the webhooks in the app's OpenAPI document. */
export function registerReference(registry: OpenAPIRegistry): void {
  registerSparkCallbacks(registry);
  registerGateway(registry);
  registerWebhooks(registry);
}
