/** Tenant API: sessions. Reads of one session come from its object (authoritative); lists from D1. */
import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, lte, or } from "drizzle-orm";
import { database } from "../db/client";
import { sessions } from "../db/schema";
import { ApiError, notFound } from "../lib/errors";
import { SESSION_STATUSES } from "../sessions/model";
import type { SessionRead } from "../sessions/session-object";
import { sessionStub } from "../sessions/stub";
import { requireTenant } from "./auth";
import { decodeCursor, encodeCursor } from "./cursor";
import { openApiRouter } from "./openapi";
import { ListQuery, Session, SessionWithTimeline, errorResponses, page } from "./schemas";

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
  to: isoTime("to").openapi({ description: "Created before this time." }),
});

const routes = {
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
          cursor ? or(lt(sessions.createdAt, cursor.createdAt), and(eq(sessions.createdAt, cursor.createdAt), lt(sessions.id, cursor.id))) : undefined,
        ),
      )
      .orderBy(desc(sessions.createdAt), desc(sessions.id))
      .limit(q.limit + 1);
    const pageRows = rows.slice(0, q.limit);
    const last = pageRows[pageRows.length - 1];
    return c.json(
      {
        data: pageRows.map((r) => JSON.parse(r.snapshot) as z.infer<typeof Session>),
        nextCursor: encodeCursor(rows.length > q.limit && last ? { createdAt: last.createdAt, id: last.id } : null),
      },
      200,
    );
  })
  .openapi(routes.read, async (c) => {
    const id = c.req.valid("param").id.toLowerCase();
    const found = (await sessionStub(c.env, id).read(c.get("tenant").id)) as SessionRead | null;
    // Another tenant's session is indistinguishable from a missing one.
    if (!found) throw notFound("session");
    return c.json({ ...found.session, events: found.events } as z.infer<typeof SessionWithTimeline>, 200);
  });
