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
import { ErrorBody, ListQuery, MoneyInput, Session, SessionWithTimeline, errorResponses, page } from "./schemas";
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
const sparkFailure = {
  202: json(Session, "Spark's answer is unknown (a timeout, a lost connection): `operation.state` is `unknown` and the gateway re-sends the identical request until Spark answers"),
  409: json(ErrorBody, "The session is not in a state that allows this, or another call to Spark for it is in doubt (`operation_in_doubt`)"),
  502: json(ErrorBody, "Spark declined; `error.spark` carries Spark's code and description"),
};

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

const routes = {
  create: createRoute({
    method: "post",
    path: "/sessions",
    tags: ["Sessions"],
    security,
    request: body(RemoteStartInput),
    responses: { 201: json(Session, "Remote Start: the terminal is waiting for a card"), ...errorResponses, ...sparkFailure },
  }),
  settle: createRoute({
    method: "post",
    path: "/sessions/{id}/settle",
    tags: ["Sessions"],
    security,
    request: { params: IdParam, headers: IdempotencyHeader, ...body(SettleInput) },
    responses: {
      200: json(Session, "Settled: amount, currency, auth code, RRNs and time from Spark's answer"),
      ...errorResponses,
      ...sparkFailure,
      422: json(ErrorBody, "Zero, or above the authorized amount"),
    },
  }),
  cancel: createRoute({
    method: "post",
    path: "/sessions/{id}/cancel",
    tags: ["Sessions"],
    security,
    request: { params: IdParam, headers: IdempotencyHeader, ...body(CancelInput, false) },
    responses: { 200: json(Session, "Cancelled: the hold is released (or the pre-selection voided)"), ...errorResponses, ...sparkFailure },
  }),
  resolve: createRoute({
    method: "post",
    path: "/sessions/{id}/resolve",
    tags: ["Sessions"],
    summary: "Close a review",
    description:
      "Closes a `review_required` session after you checked with Nayax whether money moved: `settled` marks it settled for the recorded amount (`session.settled`; a cancel in review becomes `cancelled`), `not_settled` returns it to `authorized`, settleable again. `409 not_in_review` on any other session.",
    security,
    request: { params: IdParam, ...body(ResolveInput) },
    responses: { 200: json(Session, "The session, closed"), ...errorResponses, 409: json(ErrorBody, "The session is not in review (`not_in_review`)") },
  }),
  list: createRoute({
    method: "get",
    path: "/sessions",
    tags: ["Sessions"],
    security,
    request: { query: SessionListQuery },
    responses: { 200: json(page(Session, "SessionList"), "Sessions, newest first"), ...errorResponses },
  }),
  read: createRoute({
    method: "get",
    path: "/sessions/{id}",
    tags: ["Sessions"],
    security,
    request: { params: IdParam },
    responses: { 200: json(SessionWithTimeline, "The session with its event timeline"), ...errorResponses },
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
