/**
 * Tenant API: external transactions (CONTRACT §9) — settling or cancelling a card authorization
 * taken on a terminal outside Spark's flows (ExternalSettlement / ExternalCancel).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../lib/errors";
import { formatMoney } from "../lib/money";
import type { ExternalRequest, ProductLine } from "../sessions/model";
import { externalSessionId } from "../sessions/ids";
import type { OperationResult } from "../sessions/session-object";
import { sessionStub } from "../sessions/stub";
import { requireTenant } from "./auth";
import { openApiRouter } from "./openapi";
import { MoneyInput, Session, errorResponse, tenantErrors } from "./schemas";

/** Spark refuses an external settlement this long after the authorization (spark-api.md §2.13): refused here before any call. */
export const EXTERNAL_WINDOW_MS = 48 * 60 * 60 * 1000;
/** Product lines per settlement: a receipt, not a catalogue. */
const MAX_PRODUCTS = 100;

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const security = [{ ApiKey: [] }];

/** `2024-02-05T19:41:22.328`, with an optional UTC offset (`+02:00`, `Z`): the device's local time. */
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})?$/;

const MachineAuTime = z
  .string()
  .transform((text, ctx) => {
    const m = LOCAL_TIME.exec(text);
    const instant = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${(m[7] ?? "0").padEnd(3, "0")}${m[8] ?? "Z"}`) : NaN;
    if (!m || Number.isNaN(instant)) {
      ctx.addIssue({ code: "custom", message: "must be a local time such as 2024-02-05T19:41:22.328, with an optional offset (+02:00)" });
      return z.NEVER;
    }
    const ms = (m[7] ?? "0").padEnd(3, "0");
    return { instant, wire: `${m[1]}${m[2]}${m[3]}${m[4]}${m[5]}${m[6]}${ms}`, local: `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${ms}` };
  })
  .openapi({ type: "string", example: "2024-02-05T19:41:22.328", description: "When the card was authorized, in the device's local time; an offset (`+02:00`) is optional, without one it is read as UTC." });

/** A non-negative decimal as written (a JSON number is read from its source text): `"2.45"`, `2.450`. */
const ExactDecimal = (what: string) =>
  z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const text = String(value).trim();
      const m = /^(\d+)(?:\.(\d{1,6}))?$/.exec(text);
      if (!m) {
        ctx.addIssue({ code: "custom", message: `${what} must be a non-negative decimal with at most 6 decimals` });
        return z.NEVER;
      }
      return `${BigInt(m[1]!).toString()}${m[2] !== undefined ? `.${m[2]}` : ""}`;
    })
    .openapi({ type: "string", example: "2.45" });

const Terminal = z.union([z.object({ hwSerial: z.string().min(1).max(255) }).strict(), z.object({ machineId: z.number().int().min(0) }).strict()]);

const Common = {
  nayaxTransactionId: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({ example: 2004545072 }),
  siteId: z.number().int().min(0).openapi({ example: 2 }),
  terminal: Terminal.openapi({ description: "The terminal the card was authorized on, by HW serial or Nayax machine id." }),
  machineAuTime: MachineAuTime,
  amount: MoneyInput,
};

const ExternalSettleInput = z
  .object({
    ...Common,
    receipt: z.record(z.string(), z.unknown()).nullable().optional().openapi({ description: "EReceiptData sections; sent to Spark as a JSON string." }),
    products: z
      .array(z.object({ code: z.string().min(1).max(64), unitPrice: ExactDecimal("unitPrice"), quantity: ExactDecimal("quantity") }).strict())
      .max(MAX_PRODUCTS)
      .optional()
      .openapi({ description: "Sent as `ProductInfo` as given (`Value` the unit price, an exact decimal); their sum need not equal `amount`." }),
  })
  .strict()
  .openapi("ExternalSettleInput");

const ExternalCancelInput = z
  .object({
    ...Common,
    reasonCode: z.string().min(1).max(16).optional().openapi({ example: "01", description: "Sent as `ReasonCode` (a string for ExternalCancel)." }),
    reasonText: z.string().min(1).max(255).optional(),
  })
  .strict()
  .refine((input) => input.reasonCode !== undefined || input.reasonText !== undefined, { message: "reasonCode or reasonText is required", path: ["reasonCode"] })
  .openapi("ExternalCancelInput");

const IdempotencyHeader = z.object({
  "idempotency-key": z.string().min(1).max(255).optional().openapi({ param: { name: "idempotency-key", in: "header" }, description: "`Idempotency-Key`: the same key and body answer the first answer again." }),
});

const how = `The gateway runs StartAuthentication (a SparkTransactionId derived from your tenant and the NayaxTransactionId, and a
fresh cipher), then the call, recorded first and one at a time like every call that moves money. \`machineAuTime\`
more than 48 h ago is \`422\` (Spark refuses those). A NayaxTransactionId already settled or cancelled through this API
is \`409\`, or the first answer again for the same \`Idempotency-Key\` and body; after a refusal (\`502\`) it may be tried
again. Spark refusing (50 Deferred Settlement Failed, 51 Deferred Cancel Failed, 52 No Support for Deferred
Settlement/Cancel, and the general codes) is \`502\` with \`error.spark\`. An unknown outcome is \`202\` with the session
and its \`operation\`: the identical request is re-sent until Spark answers.`;

const outcomes = (done: string) => ({
  201: json(Session, done),
  202: json(Session, "Spark's answer is unknown: `operation.state` is `unknown` and the gateway re-sends the identical request"),
  ...tenantErrors(400, 413),
  409: errorResponse(
    "Already settled or cancelled through this API (`already_settled`, `already_cancelled`, `already_authorized`), another request for it is in doubt (`operation_in_doubt`), it awaits review (`review_required`), or the same `Idempotency-Key` came with another body (`idempotency_key_reused`)",
  ),
  422: errorResponse("Zero amount (`zero_amount`), or `machineAuTime` more than 48 h ago (`authorization_too_old`)"),
  502: errorResponse("Spark refused (`spark_error`: 50, 51, 52 or a general code); `error.spark` carries its code and description. Nothing was settled; it may be tried again."),
});

const routes = {
  settle: createRoute({
    method: "post",
    path: "/external-transactions/settle",
    tags: ["External transactions"],
    summary: "Settle a transaction authorized outside Spark's flows",
    description: `ExternalSettlement of a card authorization taken on the terminal itself (Nayax enables "External Settlement" on the device). ${how}`,
    security,
    request: { headers: IdempotencyHeader, body: { content: { "application/json": { schema: ExternalSettleInput } }, required: true } },
    responses: outcomes("Settled: a session with `flow` `external` and status `settled`"),
  }),
  cancel: createRoute({
    method: "post",
    path: "/external-transactions/cancel",
    tags: ["External transactions"],
    summary: "Cancel a transaction authorized outside Spark's flows",
    description: `ExternalCancel: releases the authorization (\`CancelAmount\` = \`amount\`, which must not exceed what was authorized). ${how}`,
    security,
    request: { headers: IdempotencyHeader, body: { content: { "application/json": { schema: ExternalCancelInput } }, required: true } },
    responses: outcomes("Cancelled: a session with `flow` `external` and status `cancelled`"),
  }),
};

export const externalRoutes = openApiRouter();
externalRoutes.use("/external-transactions/*", requireTenant);

type SettleInput = z.infer<typeof ExternalSettleInput>;
type CancelInput = z.infer<typeof ExternalCancelInput>;

/** The checks that need no call to Spark, then the request as the session keeps it. */
function externalRequest(input: SettleInput | CancelInput, extra: { receiptJson: string | null; products: ProductLine[]; reasonCode: string | null; reasonText: string | null }): ExternalRequest {
  if (input.amount === formatMoney(0n)) throw new ApiError(422, "zero_amount", "amount must be above zero", [{ field: "amount", message: "must be above zero" }]);
  if (Date.now() - input.machineAuTime.instant > EXTERNAL_WINDOW_MS) {
    throw new ApiError(422, "authorization_too_old", "machineAuTime is more than 48 hours ago; Spark no longer settles or cancels it", [{ field: "machineAuTime", message: "is more than 48 hours ago" }]);
  }
  const request: Omit<ExternalRequest, "fingerprint"> = {
    nayaxTransactionId: input.nayaxTransactionId,
    siteId: input.siteId,
    terminal: input.terminal,
    machineAuTime: input.machineAuTime.wire,
    deviceTime: input.machineAuTime.local,
    amount: input.amount,
    ...extra,
  };
  return { ...request, fingerprint: JSON.stringify(request) };
}

async function run(env: Env, tenantId: string, kind: "external_settle" | "external_cancel", request: ExternalRequest, idempotencyKey: string | null) {
  const sessionId = await externalSessionId(env.ENCRYPTION_KEY, tenantId, request.nayaxTransactionId);
  const result = (await sessionStub(env, sessionId).external({ tenantId, sessionId, kind, request, idempotencyKey })) as unknown as OperationResult;
  if (result.kind === "ok") return { status: result.status as 201, body: result.session as z.infer<typeof Session> };
  const error = new ApiError(result.status, result.code, result.message);
  throw result.spark ? Object.assign(error, { spark: result.spark }) : error;
}

externalRoutes
  .openapi(routes.settle, async (c) => {
    const input = c.req.valid("json");
    const request = externalRequest(input, {
      receiptJson: input.receipt ? JSON.stringify(input.receipt) : null,
      products: (input.products ?? []).map((p) => ({ code: p.code, unitPrice: p.unitPrice, quantity: p.quantity })),
      reasonCode: null,
      reasonText: null,
    });
    const { status, body } = await run(c.env, c.get("tenant").id, "external_settle", request, c.req.valid("header")["idempotency-key"] ?? null);
    return c.json(body, status);
  })
  .openapi(routes.cancel, async (c) => {
    const input = c.req.valid("json");
    const request = externalRequest(input, { receiptJson: null, products: [], reasonCode: input.reasonCode ?? null, reasonText: input.reasonText ?? null });
    const { status, body } = await run(c.env, c.get("tenant").id, "external_cancel", request, c.req.valid("header")["idempotency-key"] ?? null);
    return c.json(body, status);
  });
