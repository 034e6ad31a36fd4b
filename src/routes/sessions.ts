/** Tenant API: sessions. Reads of one session come from its object (authoritative); lists from D1. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lte } from "drizzle-orm";
import { database } from "../db/client";
import { after, paginate } from "../db/paging";
import { sessions } from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import { SESSION_STATUSES } from "../sessions/model";
import type { SessionRead } from "../sessions/session-object";
import { sessionStub } from "../sessions/stub";
import { requireTenant } from "./auth";
import { decodeCursor, encodeCursor } from "./cursor";
import { openApiRouter } from "./openapi";
import { ListQuery, MoneyInput, Session, SessionWithTimeline, errorResponse, page, tenantErrors } from "./schemas";
import type { OperationResult } from "../sessions/session-object";
import { DEFAULT_CANCEL_REASON_CODE } from "../sessions/session-object";
import { MAX_TRANSACTION_TIMEOUT_SECONDS } from "../spark/client";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const security = [{ ApiKey: [] }];
const IdParam = z.object({ id: z.string().min(1).max(64).openapi({ param: { name: "id", in: "path" }, example: "12c7cec2-c690-4425-9a1f-db0db60e2d8c" }) });

const isoTime = (field: string) =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      const ms = Date.parse(text);
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: "custom", message: `${field} must be an ISO 8601 time` });
        return z.NEVER;
      }
      return ms;
    })
    .openapi({ type: "string", format: "date-time" });

const SessionListQuery = ListQuery.extend({
  status: z.enum(SESSION_STATUSES).optional(),
  siteId: z.coerce.number().int().optional(),
  overdue: z.enum(["true", "false"]).optional().openapi({ description: "Only sessions flagged (or not) as overdue for settlement." }),
  from: isoTime("from").openapi({ description: "Created at or after this time." }),
  to: isoTime("to").openapi({ description: "Created at or before this time." }),
});

const body = <T extends z.ZodType>(schema: T, required = true) => ({ body: { content: { "application/json": { schema } }, required } });
const IdempotencyHeader = z.object({
  "idempotency-key": z.string().min(1).max(255).optional().openapi({
    // The registry wants the schema key as the name; header names are case-insensitive anyway.
    param: { name: "idempotency-key", in: "header" },
    description: "`Idempotency-Key`: repeats with the same key return the first answer.",
  }),
});
const inDoubt = json(Session, "Spark's answer is unknown (a timeout, a lost connection, a 5xx without Spark's verdict): `operation.state` is `unknown` and the gateway re-sends the identical request until Spark answers");
const sparkRefused = errorResponse("Spark refused (`spark_error`); `error.spark` carries Spark's code and description, and the session stays as it was");
/** Why a settle or cancel is refused for the session's state (CONTRACT §5, §8). */
const stateConflict = (what: string) =>
  errorResponse(
    `The session cannot be ${what} now: \`operation_in_doubt\` (another call to Spark for it is pending or unknown; only the same request may be repeated), \`review_required\`, \`not_settleable\` / \`not_cancellable\` (not \`authorized\` or \`stop_requested\`), \`already_settled\` (for another amount), \`idempotency_key_reused\` (the same \`Idempotency-Key\` with another body), \`resolved_not_settled\`.`,
  );

const SettleInput = z
  .object({
    amount: MoneyInput,
    receipt: z.record(z.string(), z.unknown()).nullable().optional().openapi({ description: "EReceiptData sections, e.g. {\"General\": [{\"Station\": \"B12\"}]}; sent to Spark as a JSON string." }),
  })
  .openapi("SettleInput");

const CancelInput = z
  .object({
    reasonCode: z.number().int().min(0).max(2_147_483_647).optional().openapi({ description: `Your reason code for Spark; default ${DEFAULT_CANCEL_REASON_CODE}.` }),
    reasonText: z.string().max(255).optional(),
  })
  .openapi("CancelInput");

const ResolveInput = z
  .object({
    outcome: z.enum(["settled", "not_settled"]).openapi({ description: "What Nayax says happened: `settled` closes the session as settled (a cancel in review as cancelled); `not_settled` returns it to `authorized`." }),
    note: z.string().max(1000).optional().openapi({ description: "Why, for the record (kept as `resolutionNote`)." }),
  })
  .strict()
  .openapi("ResolveInput");

const Terminal = z.union([
  z.object({ hwSerial: z.string().min(1).max(255) }).strict(),
  z.object({ machineId: z.number().int().min(0) }).strict(),
]);
const RemoteStartInput = z
  .object({
    terminal: Terminal.openapi({ description: "The terminal by its hardware serial or its Nayax machine id." }),
    amount: MoneyInput.refine((amount) => amount !== "0.00", "must be above zero"),
    timeoutSeconds: z.number().int().min(1).max(MAX_TRANSACTION_TIMEOUT_SECONDS).default(60),
    display: z.string().max(512).optional().openapi({ description: "PosDisplay text shown on the terminal." }),
    mode: z.enum(["pre_authorization", "pre_selection"]).default("pre_authorization"),
    serviceStationNumber: z
      .string()
      .min(1)
      .max(32)
      .optional()
      .openapi({ description: "The station (service point) to charge at. When it is mapped to an EVSE of your OCPI connection, charging starts over OCPI once the card is authorized." }),
  })
  .openapi("RemoteStartInput");

const ONE_AT_A_TIME =
  "Calls to Spark for one session run one at a time, in arrival order; each request sees the state the one before it left. Every call is recorded on the session before it is sent.";

const routes = {
  create: createRoute({
    method: "post",
    path: "/sessions",
    tags: ["Sessions"],
    summary: "Remote Start",
    description:
      "Starts a payment from your side: the gateway runs Spark's StartAuthentication (a new SparkTransactionId and its cipher; Spark's `HashedSparkTransactionId` must match) and then TriggerTransaction (`Amount`, `TransactionTimeout` = `timeoutSeconds`, `PosDisplay` = `display`, the terminal by HW serial (TerminalIdType 1) or machine id (2)), and answers `201` with the session in `awaiting_card`. " +
      "Spark's TransactionCallback, DeclineCallback or TimeoutCallback then move it on (`session.authorized`, `session.declined`, `session.timed_out`); without any within `timeoutSeconds` + 60 s it ends `timed_out`. " +
      "Spark refusing, or a wrong hash, is `502` and nothing further is sent. When TriggerTransaction's outcome is unknown the answer is `202` with `operation.kind` `remote_start`; it is never re-sent (it would wake the terminal twice).",
    security,
    request: body(RemoteStartInput),
    responses: { 201: json(Session, "Remote Start: the terminal is waiting for a card"), 202: inDoubt, ...tenantErrors(400, 413), 502: sparkRefused },
  }),
  settle: createRoute({
    method: "post",
    path: "/sessions/{id}/settle",
    tags: ["Sessions"],
    summary: "Settle a session",
    description:
      "Charges the final amount: the gateway calls Spark's Settlement with the session's SparkTransactionId, NayaxTransactionId and SiteId, `TerminalId` = HW serial (TerminalIdType 1), the amount, and `receipt` as `EReceiptData` (a JSON string), signed with your integrator credentials. `200` → the settled session (amount, currency, auth code, RRNs, time from Spark). " +
      "A malformed amount is `400`; zero or above the authorized amount is `422` (to release a hold without charging, cancel). A session not `authorized` or `stop_requested` is `409`. " +
      "A repeat with the same amount answers the first result without calling Spark again; another amount after success is `409`; the same `Idempotency-Key` answers the first answer, and with another body is `409`. " +
      "Spark declining is `502` with Spark's code, `session.settlement_failed` is emitted and the session stays settleable. An unknown outcome is `202` (see `operation`): the identical request is re-sent on `SPARK_RESEND_SCHEDULE`, and after `SPARK_RESEND_HORIZON_SECONDS`, or a refusal of a re-send, the session goes to `review_required`. " +
      ONE_AT_A_TIME,
    security,
    request: { params: IdParam, headers: IdempotencyHeader, ...body(SettleInput) },
    responses: {
      200: json(Session, "Settled: amount, currency, auth code, RRNs and time from Spark's answer"),
      202: inDoubt,
      ...tenantErrors(400, 404, 413),
      409: stateConflict("settled"),
      422: errorResponse("Zero (`zero_amount`: cancel instead), or above the authorized amount (`above_authorized`)"),
      502: sparkRefused,
    },
  }),
  cancel: createRoute({
    method: "post",
    path: "/sessions/{id}/cancel",
    tags: ["Sessions"],
    summary: "Cancel a session",
    description:
      "Releases the hold without charging: Spark's CancelTransaction (type 1, the authorized amount; a pre-selection is voided with type 2), with your optional reason. The body is optional. `200` → the session, `cancelled` (`session.cancelled`); a repeat on a cancelled session answers it again. " +
      "A session not `authorized` or `stop_requested` is `409`; so is a cancel while a settle is in doubt. Spark declining is `502`. An unknown outcome is `202` and the identical request is re-sent (Spark's 28 \"Already Cancelled\" counts as success). " +
      ONE_AT_A_TIME,
    security,
    request: { params: IdParam, headers: IdempotencyHeader, ...body(CancelInput, false) },
    responses: { 200: json(Session, "Cancelled: the hold is released (or the pre-selection voided)"), 202: inDoubt, ...tenantErrors(400, 404, 413), 409: stateConflict("cancelled"), 502: sparkRefused },
  }),
  resolve: createRoute({
    method: "post",
    path: "/sessions/{id}/resolve",
    tags: ["Sessions"],
    summary: "Close a review",
    description:
      "Closes a `review_required` session after you checked with Nayax whether money moved: `settled` marks it settled for the recorded amount (`session.settled`, with `resolvedBy` `tenant` and your note; a cancel in review becomes `cancelled`), `not_settled` returns it to `authorized`, settleable again. `409 not_in_review` on any other session; another `outcome` is `400`.",
    security,
    request: { params: IdParam, ...body(ResolveInput) },
    responses: { 200: json(Session, "The session, closed"), ...tenantErrors(400, 404, 413), 409: errorResponse("The session is not in review (`not_in_review`)") },
  }),
  list: createRoute({
    method: "get",
    path: "/sessions",
    tags: ["Sessions"],
    summary: "List sessions",
    description:
      "Your sessions, newest first, filtered by `status`, `siteId`, `overdue` and creation time (`from`, `to`), a page at a time (`limit`, `cursor` → `nextCursor`). Read from the history, which trails each session by one write batch (milliseconds); `GET /v1/sessions/{id}` is never behind. Unknown query parameters are refused (400).",
    security,
    request: { query: SessionListQuery },
    responses: { 200: json(page(Session, "SessionList"), "Sessions, newest first"), ...tenantErrors(400) },
  }),
  read: createRoute({
    method: "get",
    path: "/sessions/{id}",
    tags: ["Sessions"],
    summary: "Read a session",
    description:
      "The session by its id (Spark's SparkTransactionId), with its event timeline (`events`, oldest first, each with its deliveries). Read from the session itself, so it is never behind. Another tenant's session, or one deleted by retention, is `404`.",
    security,
    request: { params: IdParam },
    responses: { 200: json(SessionWithTimeline, "The session with its event timeline"), ...tenantErrors(400, 404) },
  }),
};

export const sessionRoutes = openApiRouter();
sessionRoutes.use("/sessions", requireTenant);
sessionRoutes.use("/sessions/*", requireTenant);

sessionRoutes
  .openapi(routes.list, async (c) => {
    const q = c.req.valid("query");
    const tenant = c.get("tenant");
    const cursor = decodeCursor(q.cursor);
    if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw new ApiError(400, "invalid_request", "from must not be after to");
    const rows = await database(c.env.DB)
      .select({ snapshot: sessions.snapshot, createdAt: sessions.createdAt, id: sessions.id })
      .from(sessions)
      .where(
        and(
          eq(sessions.tenantId, tenant.id),
          q.status ? eq(sessions.status, q.status) : undefined,
          q.siteId !== undefined ? eq(sessions.siteId, q.siteId) : undefined,
          q.overdue !== undefined ? eq(sessions.overdue, q.overdue === "true") : undefined,
          q.from !== undefined ? gte(sessions.createdAt, q.from) : undefined,
          q.to !== undefined ? lte(sessions.createdAt, q.to) : undefined,
          after(cursor, sessions.createdAt, sessions.id),
        ),
      )
      .orderBy(desc(sessions.createdAt), desc(sessions.id))
      .limit(q.limit + 1);
    const { page: found, next } = paginate(rows, q.limit);
    return c.json({ data: found.map((r) => JSON.parse(r.snapshot) as z.infer<typeof Session>), nextCursor: encodeCursor(next) }, 200);
  })
  .openapi(routes.read, async (c) => {
    const id = c.req.valid("param").id.toLowerCase();
    const found = (await sessionStub(c.env, id).read(c.get("tenant").id)) as SessionRead | null;
    // Another tenant's session is indistinguishable from a missing one.
    if (!found) throw notFound("session");
    return c.json({ ...found.session, events: found.events } as z.infer<typeof SessionWithTimeline>, 200);
  });

/** A session object's answer to a tenant operation, as HTTP. */
function answer(result: OperationResult) {
  if (result.kind === "ok") return { status: result.status, body: result.session as z.infer<typeof Session> };
  const error = new ApiError(result.status, result.code, result.message);
  throw result.spark ? Object.assign(error, { spark: result.spark }) : error;
}

/** `…/resolve` and the operations answer the status the session object chose (200, 201, 202). */
type Answered = 200 | 201 | 202;

sessionRoutes
  .openapi(routes.create, async (c) => {
    const input = c.req.valid("json");
    const sessionId = crypto.randomUUID();
    const result = await sessionStub(c.env, sessionId).remoteStart({
      tenantId: c.get("tenant").id,
      sessionId,
      terminal: input.terminal,
      amount: input.amount,
      timeoutSeconds: input.timeoutSeconds,
      display: input.display ?? null,
      paymentMode: input.mode,
      serviceStationNumber: input.serviceStationNumber ?? null,
    });
    const { status, body } = answer(result as unknown as OperationResult);
    return c.json(body, status as Answered as 201);
  })
  .openapi(routes.settle, async (c) => {
    const input = c.req.valid("json");
    const result = await sessionStub(c.env, c.req.valid("param").id.toLowerCase()).settle({
      tenantId: c.get("tenant").id,
      amount: input.amount,
      receiptJson: input.receipt ? JSON.stringify(input.receipt) : null,
      idempotencyKey: c.req.valid("header")["idempotency-key"] ?? null,
    });
    const { status, body } = answer(result as unknown as OperationResult);
    return c.json(body, status as Answered as 200);
  })
  .openapi(routes.cancel, async (c) => {
    const text = await c.req.text();
    let input: z.infer<typeof CancelInput> = {};
    if (text.trim()) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw new ApiError(400, "invalid_json", "body is not valid JSON");
      }
      const parsed = CancelInput.safeParse(raw);
      if (!parsed.success) throw new ApiError(400, "invalid_request", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
      input = parsed.data;
    }
    const result = await sessionStub(c.env, c.req.valid("param").id.toLowerCase()).cancel({
      tenantId: c.get("tenant").id,
      reasonCode: input.reasonCode ?? DEFAULT_CANCEL_REASON_CODE,
      reasonText: input.reasonText ?? null,
      idempotencyKey: c.req.valid("header")["idempotency-key"] ?? null,
    });
    const { status, body } = answer(result as unknown as OperationResult);
    return c.json(body, status as Answered as 200);
  })
  .openapi(routes.resolve, async (c) => {
    const input = c.req.valid("json");
    const stub = sessionStub(c.env, c.req.valid("param").id.toLowerCase());
    const result: unknown = await stub.resolve({ tenantId: c.get("tenant").id, outcome: input.outcome, note: input.note ?? null });
    return c.json(answer(result as unknown as OperationResult).body, 200);
  });
