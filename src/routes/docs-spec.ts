/**
 * The parts of `/openapi.json` that no tenant or operator route declares: Spark's callbacks,
 * described from the same zod schemas that validate them (`src/spark/messages.ts`), and the
 * webhook events under OpenAPI 3.1 `webhooks`, with their payloads, an example each, and how to
 * verify their signatures.
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
import { Session } from "./schemas";

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
const CALLBACKS: Record<InboundMethod, { summary: string; description: string; answer: ZodType; routing: string }> = {
  TransactionNotify: {
    summary: "A card was authorized (Device Start)",
    description:
      "Creates or finds the session and records the authorization. `Declined` when the station is busy or out of service (or the decision endpoint says so), else `Approved`. Emits `session.authorized` or `session.declined`.",
    answer: TransactionNotifyAnswer,
    routing: "(SiteId, MachineId)",
  },
  StopCallback: {
    summary: "A card was presented to stop (Spark matched it)",
    description:
      "Finds the session by SparkTransactionId, else NayaxTransactionId, else the card hash among the open sessions on that machine; the card must match. Moves it to `stop_requested` and emits `session.stop_requested`. A repeat is `Approved` again; an ended session is `Declined`.",
    answer: StopCallbackAnswer,
    routing: "the named session when held, else (StopSiteId, MachineId)",
  },
  StopNotify: {
    summary: "A card was presented to stop (the gateway matches it)",
    description: "As StopCallback, but the gateway matches the card hash among the tenant's open sessions and answers with the session's identifiers.",
    answer: StopNotifyAnswer,
    routing: "(StopSiteId, MachineId)",
  },
  TransactionCallback: {
    summary: "Remote Start authorization result",
    description: "`AuthStatus.Verdict` Approved → `session.authorized`, otherwise `session.declined`. Its `Amount` is in minor units (1500 = 15.00).",
    answer: AckAnswer,
    routing: "the session held for SparkTransactionId",
  },
  DeclineCallback: {
    summary: "Remote Start ended before authorization",
    description: "Codes 44 (timeout), 45 (cancelled), 38 (callback failed): `session.declined` with the code.",
    answer: AckAnswer,
    routing: "the session held for SparkTransactionId",
  },
  TimeoutCallback: {
    summary: "A pre-authorization expired at Spark",
    description: "The session ends `timed_out` (`session.timed_out`) and can no longer be settled.",
    answer: AckAnswer,
    routing: "the session held for SparkTransactionId",
  },
  StartSession: {
    summary: "Device Start handshake",
    description:
      "The gateway creates a session in `awaiting_card` (`session.created`) with a new SparkTransactionId and answers the cipher: Base64(AES-256-ECB(GUID + \"=\" + Random + UTC yyMMddHHmm)) under the tenant's secret token. A repeat with the same TokenId and Random answers the same.",
    answer: StartSessionAnswer,
    routing: "TokenId (the tenant's Spark credentials)",
  },
  InfoQuery: {
    summary: "Station availability, display text and pre-authorization amount",
    description: "Answered from the station state the tenant pushed (`PUT /v1/stations/…`), defaulting to available and the tenant's default pre-authorization amount. Also accepted as GET with a body.",
    answer: InfoQueryAnswer,
    routing: "(SiteId, MachineId)",
  },
  AvailabilityCheck: {
    summary: "Station availability before a payment",
    description: "As InfoQuery, with the estimated amount.",
    answer: InfoQueryAnswer,
    routing: "(SiteId, MachineId)",
  },
};

const SPARK_REFUSALS = {
  400: refusal("Malformed JSON, a missing required field or a wrong type (named in ErrorDescription). Nothing is stored."),
  401: refusal("No or unknown `X-Spark-Secret`, or the secret of a tenant other than the one routed to."),
  404: refusal("Unroutable: no tenant claims the site, machine, token or session."),
  409: refusal("A conflicting repeat: same SparkTransactionId, another NayaxTransactionId or amount."),
  413: refusal("Body over 64 KiB."),
};

function registerSparkCallbacks(registry: OpenAPIRegistry): void {
  registry.registerComponent("securitySchemes", "SparkSecret", {
    type: "apiKey",
    in: "header",
    name: "X-Spark-Secret",
    description: "The tenant's `sparkCallbackSecret`, configured at Nayax as a static header of the integration.",
  });
  for (const method of Object.keys(inboundSchemas) as InboundMethod[]) {
    const doc = CALLBACKS[method];
    registry.registerPath({
      method: "post",
      path: `/spark/${method}`,
      tags: ["Spark callbacks"],
      summary: doc.summary,
      description: `${doc.description}\n\nRouted by ${doc.routing}. Unknown extra fields are accepted and ignored. Refusals are Spark-shaped, checked in this order: 401, 400, 413, 404, 401 (another tenant's secret), 409. Business refusals are 200 with \`Status.Verdict\` \`Declined\`.`,
      security: [{ SparkSecret: [] }],
      request: { body: { required: true, content: { "application/json": { schema: jsonSchemaOf(inboundSchemas[method]) } } } },
      responses: { 200: { description: "Spark's answer", content: { "application/json": { schema: jsonSchemaOf(doc.answer) } } }, ...SPARK_REFUSALS },
    });
  }
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
  overdue: false,
  createdAt: "2024-02-05T19:41:22.912Z",
  updatedAt: "2024-02-05T19:41:22.912Z",
};

/** What the session looks like in each event type's example. */
const EXAMPLES: Partial<Record<EventType, { description: string; sequence: number; session: Record<string, unknown> }>> = {
  "session.created": { description: "The gateway created a session before any authorization (StartSession, Remote Start).", sequence: 1, session: { status: "awaiting_card", nayaxTransactionId: null, authorizedAmount: null, card: null, verdict: null } },
  "session.authorized": { description: "A card was authorized for the session; it can now be settled or cancelled.", sequence: 1, session: {} },
  "session.declined": { description: "The authorization was declined (busy station, decision endpoint, Spark's decline).", sequence: 1, session: { status: "declined", verdict: { approved: false, message: "Station 5 is busy" } } },
  "session.stop_requested": { description: "A card was presented to stop: end the charge and settle.", sequence: 2, session: { status: "stop_requested", stopSiteId: 2 } },
  "session.settled": {
    description: "Spark settled the final amount.",
    sequence: 3,
    session: { status: "settled", settledAmount: "7.50", currency: "EUR", settlement: { amount: "7.50", currency: "EUR", currencyNumeric: "978", authCode: "A1B2C3", nayaxRrn: "123456789012", fiscalRrn: null, settledAt: "2024-02-05T20:12:03Z" } },
  },
  "session.settlement_failed": { description: "Spark refused or could not be reached for a settlement; the session stays settleable.", sequence: 3, session: { status: "stop_requested" } },
  "session.cancelled": { description: "The hold was released (or a pre-selection voided).", sequence: 3, session: { status: "cancelled" } },
  "session.timed_out": { description: "The session timed out (Spark's TimeoutCallback, or no card in time); it can no longer be settled.", sequence: 2, session: { status: "timed_out" } },
  "session.settlement_overdue": { description: "An authorized session waited past the settlement window without being settled.", sequence: 2, session: { overdue: true } },
};

const EventEnvelope = (type: string, data: z.ZodType) =>
  z.object({
    id: z.string().openapi({ example: "evt_3kq2Zx…" }),
    type: z.literal(type),
    timestamp: z.string().openapi({ description: "When the event happened (ISO 8601, UTC)." }),
    data,
  });

const SessionEventData = z.object({
  sequence: z.number().int().openapi({ description: "Counts this session's events from 1, without gaps." }),
  session: Session,
});

function registerWebhooks(registry: OpenAPIRegistry): void {
  for (const type of EVENT_TYPES) {
    const isTest = type === "webhook.test";
    const example = EXAMPLES[type as EventType];
    const body = {
      id: "evt_3kq2ZxVw9bW1tq0cJ2yY4A",
      type,
      timestamp: "2024-02-05T19:41:23.004Z",
      data: isTest ? { endpointId: "we_9xJ…" } : { sequence: example?.sequence ?? 1, session: { ...EXAMPLE_SESSION, ...(example?.session ?? {}) } },
    };
    registry.registerWebhook({
      method: "post",
      path: type,
      tags: ["Webhooks"],
      summary: isTest ? "A test event (POST /v1/webhook-endpoints/{id}/test)" : (example?.description ?? `The session event ${type}`),
      description: `${isTest ? "Sent once, on request, to one endpoint; not retried." : `${example?.description ?? ""} \`data.session\` is the session as \`GET /v1/sessions/{id}\` shows it at that moment.`}\n\n${SIGNATURE_HELP}`,
      request: {
        headers: WebhookHeaders,
        body: {
          required: true,
          content: { "application/json": { schema: EventEnvelope(type, isTest ? z.object({ endpointId: z.string() }) : SessionEventData), example: body } },
        },
      },
      responses: {
        200: { description: "Any 2xx within 15 s acknowledges the event." },
        410: { description: "Gone: the gateway disables the endpoint." },
      },
    });
  }
}

/** Registers the Spark callbacks and the webhooks in the app's OpenAPI document. */
export function registerReference(registry: OpenAPIRegistry): void {
  registerSparkCallbacks(registry);
  registerWebhooks(registry);
}
