/** @jsxImportSource hono/jsx */
/**
 * `/portal`: the tenant's web console. Pages are rendered on the server from the tenant API,
 * called in-process as the signed-in tenant (see {@link PortalApi}); forms post here and go
 * through the same API. Sign-in is a one-time link from the operator or the tenant's API key.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Child } from "hono/jsx";
import { database } from "../db/client";
import { tenantByCredential, tenantById } from "../tenants/lookup";
import { PortalApi, errorMessage, withQuery } from "./api";
import type { ApiAnswer, Dispatch } from "./api";
import { PORTAL_HEADERS, SESSION_COOKIE, isSameOrigin, loginFormToken, loginFormTokenValid, sessionCookieOptions, tokenMatches } from "./guard";
import { Layout } from "./layout";
import type { Frame } from "./layout";
import { EndpointPage, EndpointsPage } from "./pages-endpoints";
import { EventPage, EventsPage } from "./pages-events";
import type { EventFilters } from "./pages-events";
import { SessionPage, SessionsPage } from "./pages-sessions";
import type { SessionFilters } from "./pages-sessions";
import { ContinuePage, DecisionPage, LoginPage, NotFoundPage, OcpiPage } from "./pages-settings";
import { closeSession, csrfTokenOf, openSession, redeemLink, sessionTenant } from "./store";
import { PORTAL_CSS } from "./style";
import type { Attempt, DecisionEndpoint, Endpoint, EventBody, OcpiConnection, Page, SessionView } from "./types";

/** Portal forms are a few fields; anything larger is refused. */
const PORTAL_BODY_LIMIT_BYTES = 64 * 1024;
/** The most endpoints a tenant is shown at once (the API's largest page). */
const ENDPOINT_PAGE = 200;

interface Signed {
  api: PortalApi;
  frame: Frame;
  sessionToken: string;
}
type PortalEnv = { Bindings: Env; Variables: { signed: Signed } };
type PortalContext = Context<PortalEnv>;

/** Fixed texts for `?done=…` after a redirect, so nothing the URL carries is shown as a message. */
const NOTICES: Record<string, string> = {
  redelivered: "Queued for redelivery, with the same webhook-id.",
  endpoint_saved: "Endpoint saved.",
  endpoint_enabled: "Endpoint enabled. Use Recover to send what it missed while disabled.",
  endpoint_disabled: "Endpoint disabled: events for it are skipped until it is enabled again.",
  endpoint_deleted: "Endpoint deleted.",
  decision_saved: "Decision endpoint saved.",
  decision_deleted: "Decision endpoint removed.",
  ocpi_sync: "Pull of Locations and Tariffs started.",
  signed_out: "Signed out.",
};

const noticeOf = (c: PortalContext): string | null => NOTICES[c.req.query("done") ?? ""] ?? null;

async function render(c: Context, node: Child, status = 200): Promise<Response> {
  return c.html(`<!DOCTYPE html>${await Promise.resolve(String(node))}`, status as 200);
}

/** An API failure shown on a page: the API's own status for a 4xx, 502 for anything else. */
function statusOf(answer: ApiAnswer<unknown>): number {
  return answer.status >= 400 && answer.status < 500 ? answer.status : 502;
}

function forbidden(c: Context, why: string): Promise<Response> {
  return render(
    c,
    <Layout title="Forbidden" error={`Forbidden: ${why}`}>
      <p>
        <a href="/portal">Back to the portal</a>
      </p>
    </Layout>,
    403,
  );
}

/** A form's fields; repeated names (checkboxes) become arrays. Anything but a form is empty. */
async function formOf(c: Context): Promise<Record<string, string | string[]>> {
  const type = c.req.header("Content-Type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return {};
  const body = await c.req.parseBody({ all: true });
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(body)) {
    if (typeof value === "string") out[name] = value;
    else if (Array.isArray(value)) out[name] = value.filter((v): v is string => typeof v === "string");
  }
  return out;
}

const text = (value: string | string[] | undefined): string => (Array.isArray(value) ? (value[0] ?? "") : (value ?? "")).trim();
const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]).filter(Boolean);

async function endpointsOf(api: PortalApi): Promise<Endpoint[]> {
  const answer = await api.get<Page<Endpoint>>(`/v1/webhook-endpoints?limit=${ENDPOINT_PAGE}`);
  return answer.ok ? answer.body.data : [];
}

/** Opens a browser session and sends the browser into the portal. */
async function signIn(c: PortalContext, tenantId: string): Promise<Response> {
  const session = await openSession(database(c.env.DB), tenantId);
  setCookie(c, SESSION_COOKIE, session.token, sessionCookieOptions(c.req.url, (session.expiresAt - Date.now()) / 1000));
  return c.redirect("/portal", 303);
}

/** The portal under `/portal`; `dispatch` is the app's own fetch, for its in-process API calls. */
export function portalRoutes(dispatch: (request: Request, env: Env, ctx: ExecutionContext | undefined) => Promise<Response>) {
  const portal = new Hono<PortalEnv>();

  portal.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(PORTAL_HEADERS)) if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  });
  portal.use(
    "*",
    bodyLimit({ maxSize: PORTAL_BODY_LIMIT_BYTES, onError: (c) => c.text(`Payload too large: at most ${PORTAL_BODY_LIMIT_BYTES} bytes`, 413) }),
  );

  portal.get("/assets/portal.css", (c) => {
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(PORTAL_CSS, 200, { "Content-Type": "text/css; charset=utf-8" });
  });

  // ---------------------------------------------------------------- sign-in and sign-out

  portal.get("/login", async (c) => {
    const token = c.req.query("token");
    const db = database(c.env.DB);
    if (token !== undefined) {
      const tenantId = await redeemLink(db, token);
      const tenant = tenantId ? await tenantById(db, tenantId) : null;
      if (tenant && tenant.status === "active") return signIn(c, tenant.id);
      return render(c, <LoginPage csrf={await loginFormToken(c.env)} error="This sign-in link is not valid: it has expired or was used already. Ask your operator for a new one, or sign in with your API key." />, 401);
    }
    return render(c, <LoginPage csrf={await loginFormToken(c.env)} notice={noticeOf(c)} />);
  });

  portal.post("/login", async (c) => {
    if (!isSameOrigin(c)) return forbidden(c, "this form was sent from another site.");
    const form = await formOf(c);
    if (!(await loginFormTokenValid(c.env, form["_csrf"]))) return forbidden(c, "the form's anti-forgery token is missing or has expired; reload the sign-in page.");
    const apiKey = text(form["apiKey"]);
    const tenant = apiKey ? await tenantByCredential(database(c.env.DB), "api_key", apiKey) : null;
    if (!tenant) return render(c, <LoginPage csrf={await loginFormToken(c.env)} error="That API key is not valid." />, 401);
    return signIn(c, tenant.id);
  });

  // ---------------------------------------------------------------- everything else needs a signed-in browser

  portal.use("*", async (c, next) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    const db = database(c.env.DB);
    const tenantId = cookie ? await sessionTenant(db, cookie) : null;
    const tenant = tenantId ? await tenantById(db, tenantId) : null;
    if (!cookie || !tenant || tenant.status !== "active") {
      if (cookie) deleteCookie(c, SESSION_COOKIE, { path: "/portal" });
      // Arriving from another site (a link in a web mail), a SameSite=Strict cookie stays home:
      // one same-site hop brings it along before deciding the browser is signed out.
      if (!cookie && c.req.method === "GET" && c.req.header("Sec-Fetch-Site") === "cross-site") {
        return render(c, <ContinuePage to={new URL(c.req.url).pathname} />);
      }
      if (c.req.method !== "GET" && c.req.method !== "HEAD") return forbidden(c, "you are not signed in.");
      return c.redirect("/portal/login", 303);
    }
    let ctx: ExecutionContext | undefined;
    try {
      ctx = c.executionCtx as ExecutionContext;
    } catch {
      ctx = undefined;
    }
    const send: Dispatch = (request) => dispatch(request, c.env, ctx);
    c.set("signed", { api: new PortalApi(send, new URL(c.req.url).origin, tenant.id), frame: { tenantId: tenant.id, csrf: await csrfTokenOf(cookie) }, sessionToken: cookie });
    await next();
  });

  // Every state-changing request: from this gateway's own pages, with the page's token.
  portal.use("*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    if (!isSameOrigin(c)) return forbidden(c, "this form was sent from another site.");
    const form = await formOf(c);
    if (!tokenMatches(form["_csrf"], c.get("signed").frame.csrf)) return forbidden(c, "the form's anti-forgery token is missing or wrong; reload the page and try again.");
    await next();
  });

  portal.post("/logout", async (c) => {
    await closeSession(database(c.env.DB), c.get("signed").sessionToken);
    deleteCookie(c, SESSION_COOKIE, { path: "/portal", secure: sessionCookieOptions(c.req.url, 0).secure });
    return c.redirect("/portal/login?done=signed_out", 303);
  });

  // ---------------------------------------------------------------- sessions

  const sessionsPage = async (c: PortalContext) => {
    const { api, frame } = c.get("signed");
    const filters: SessionFilters = { status: c.req.query("status"), siteId: c.req.query("siteId"), from: c.req.query("from"), to: c.req.query("to") };
    const answer = await api.get<Page<SessionView>>(withQuery("/v1/sessions", { ...filters, cursor: c.req.query("cursor"), limit: c.req.query("limit") }));
    const nextHref = (cursor: string) => withQuery("/portal/sessions", { ...filters, cursor });
    return render(
      c,
      <SessionsPage frame={frame} filters={filters} page={answer.ok ? answer.body : null} error={answer.ok ? null : errorMessage(answer)} nextHref={nextHref} />,
      answer.ok ? 200 : statusOf(answer),
    );
  };
  portal.get("/", sessionsPage);
  portal.get("/sessions", sessionsPage);

  const sessionPage = async (c: PortalContext, id: string, notice: string | null, error: string | null, status = 200) => {
    const { api, frame } = c.get("signed");
    const answer = await api.get<SessionView>(`/v1/sessions/${encodeURIComponent(id)}`);
    if (answer.status === 404) return render(c, <NotFoundPage frame={frame} what="Session" />, 404);
    if (!answer.ok) return render(c, <Layout title="Session" frame={frame} section="sessions" error={errorMessage(answer)} />, statusOf(answer));
    const [endpoints, attempts] = await Promise.all([
      endpointsOf(api),
      Promise.all(
        (answer.body.events ?? []).map(async (event) => {
          const found = await api.get<Page<Attempt>>(`/v1/events/${encodeURIComponent(event.id)}/attempts`);
          return [event.id, found.ok ? found.body.data : null] as const;
        }),
      ),
    ]);
    return render(
      c,
      <SessionPage frame={frame} session={answer.body} attempts={new Map(attempts)} endpoints={new Map(endpoints.map((e) => [e.id, e]))} notice={notice} error={error} />,
      status,
    );
  };
  portal.get("/sessions/:id", (c) => sessionPage(c, c.req.param("id"), noticeOf(c), null));

  // ---------------------------------------------------------------- events

  portal.get("/events", async (c) => {
    const { api, frame } = c.get("signed");
    const filters: EventFilters = {
      type: c.req.query("type"),
      sessionId: c.req.query("sessionId"),
      endpointId: c.req.query("endpointId"),
      deliveryStatus: c.req.query("deliveryStatus"),
    };
    const [answer, endpoints] = await Promise.all([
      api.get<Page<EventBody>>(withQuery("/v1/events", { ...filters, cursor: c.req.query("cursor"), limit: c.req.query("limit") })),
      endpointsOf(api),
    ]);
    const nextHref = (cursor: string) => withQuery("/portal/events", { ...filters, cursor });
    return render(
      c,
      <EventsPage frame={frame} filters={filters} endpoints={endpoints} page={answer.ok ? answer.body : null} error={answer.ok ? null : errorMessage(answer)} nextHref={nextHref} />,
      answer.ok ? 200 : statusOf(answer),
    );
  });

  const eventPage = async (c: PortalContext, id: string, notice: string | null, error: string | null, status = 200) => {
    const { api, frame } = c.get("signed");
    const path = `/v1/events/${encodeURIComponent(id)}`;
    const [answer, attempts, endpoints] = await Promise.all([api.get<EventBody>(path), api.get<Page<Attempt>>(`${path}/attempts`), endpointsOf(api)]);
    if (answer.status === 404) return render(c, <NotFoundPage frame={frame} what="Event" />, 404);
    if (!answer.ok) return render(c, <Layout title="Event" frame={frame} section="events" error={errorMessage(answer)} />, statusOf(answer));
    return render(c, <EventPage frame={frame} event={answer.body} attempts={attempts.ok ? attempts.body.data : null} endpoints={endpoints} notice={notice} error={error} />, status);
  };
  portal.get("/events/:id", (c) => eventPage(c, c.req.param("id"), noticeOf(c), null));

  portal.post("/events/:id/redeliver", async (c) => {
    const { api } = c.get("signed");
    const id = c.req.param("id");
    const form = await formOf(c);
    const endpointId = text(form["endpointId"]);
    const answer = await api.send<{ eventId: string }>("POST", `/v1/events/${encodeURIComponent(id)}/redeliver`, endpointId ? { endpointId } : undefined);
    if (!answer.ok) return eventPage(c, id, null, `Not redelivered: ${errorMessage(answer)}`, statusOf(answer));
    const sessionId = text(form["back"]) === "session" ? await sessionOfEvent(api, id) : null;
    return c.redirect(sessionId ? `/portal/sessions/${encodeURIComponent(sessionId)}?done=redelivered` : `/portal/events/${encodeURIComponent(id)}?done=redelivered`, 303);
  });

  // ---------------------------------------------------------------- webhook endpoints

  const endpointsPage = async (c: PortalContext, extra: { notice?: string | null; error?: string | null; created?: { endpoint: Endpoint; secret: string } | null; url?: string } = {}, status = 200) => {
    const { api, frame } = c.get("signed");
    const endpoints = await endpointsOf(api);
    return render(
      c,
      <EndpointsPage frame={frame} endpoints={endpoints} notice={extra.notice ?? null} error={extra.error ?? null} created={extra.created ?? null} form={{ url: extra.url ?? "" }} />,
      status,
    );
  };
  portal.get("/endpoints", (c) => endpointsPage(c, { notice: noticeOf(c) }));

  portal.post("/endpoints", async (c) => {
    const { api } = c.get("signed");
    const form = await formOf(c);
    const url = text(form["url"]);
    const eventTypes = list(form["eventTypes"]);
    const answer = await api.send<Endpoint & { secret: string }>("POST", "/v1/webhook-endpoints", { url, ...(eventTypes.length > 0 ? { eventTypes } : {}) });
    if (!answer.ok) return endpointsPage(c, { error: `Not added: ${errorMessage(answer)}`, url }, statusOf(answer));
    const { secret, ...endpoint } = answer.body;
    return endpointsPage(c, { notice: "Endpoint added.", created: { endpoint, secret } });
  });

  const endpointPage = async (c: PortalContext, id: string, extra: { notice?: string | null; error?: string | null; secret?: string | null } = {}, status = 200) => {
    const { api, frame } = c.get("signed");
    const answer = await api.get<Endpoint>(`/v1/webhook-endpoints/${encodeURIComponent(id)}`);
    if (answer.status === 404) return render(c, <NotFoundPage frame={frame} what="Webhook endpoint" />, 404);
    if (!answer.ok) return render(c, <Layout title="Endpoint" frame={frame} section="endpoints" error={errorMessage(answer)} />, statusOf(answer));
    return render(c, <EndpointPage frame={frame} endpoint={answer.body} notice={extra.notice ?? null} error={extra.error ?? null} secret={extra.secret ?? null} />, status);
  };
  portal.get("/endpoints/:id", (c) => endpointPage(c, c.req.param("id"), { notice: noticeOf(c) }));

  const endpointPath = (id: string) => `/v1/webhook-endpoints/${encodeURIComponent(id)}`;
  const backToEndpoint = (c: PortalContext, id: string, done: string) => c.redirect(`/portal/endpoints/${encodeURIComponent(id)}?done=${done}`, 303);

  portal.post("/endpoints/:id", async (c) => {
    const id = c.req.param("id");
    const form = await formOf(c);
    const eventTypes = list(form["eventTypes"]);
    const answer = await c.get("signed").api.send("PATCH", endpointPath(id), { url: text(form["url"]), eventTypes: eventTypes.length > 0 ? eventTypes : null });
    if (!answer.ok) return endpointPage(c, id, { error: `Not saved: ${errorMessage(answer)}` }, statusOf(answer));
    return backToEndpoint(c, id, "endpoint_saved");
  });

  for (const [action, enabled] of [["enable", true], ["disable", false]] as const) {
    portal.post(`/endpoints/:id/${action}`, async (c) => {
      const id = c.req.param("id");
      const answer = await c.get("signed").api.send("PATCH", endpointPath(id), { enabled });
      if (!answer.ok) return endpointPage(c, id, { error: errorMessage(answer) }, statusOf(answer));
      return backToEndpoint(c, id, enabled ? "endpoint_enabled" : "endpoint_disabled");
    });
  }

  portal.post("/endpoints/:id/rotate-secret", async (c) => {
    const id = c.req.param("id");
    const answer = await c.get("signed").api.send<{ secret: string }>("POST", `${endpointPath(id)}/rotate-secret`);
    if (!answer.ok) return endpointPage(c, id, { error: `Not rotated: ${errorMessage(answer)}` }, statusOf(answer));
    return endpointPage(c, id, { notice: "Secret rotated.", secret: answer.body.secret });
  });

  portal.post("/endpoints/:id/test", async (c) => {
    const id = c.req.param("id");
    const answer = await c.get("signed").api.send<{ eventId: string; delivered: boolean; status: number | null; error: string | null; durationMs: number }>("POST", `${endpointPath(id)}/test`);
    if (!answer.ok) return endpointPage(c, id, { error: `Not sent: ${errorMessage(answer)}` }, statusOf(answer));
    const t = answer.body;
    const result = `${t.status === null ? (t.error ?? "no answer") : `HTTP ${t.status}`}${t.status !== null && t.error ? ` (${t.error})` : ""}, ${t.durationMs} ms`;
    return t.delivered
      ? endpointPage(c, id, { notice: `Test event ${t.eventId} delivered: ${result}.` })
      : endpointPage(c, id, { error: `Test event ${t.eventId} was not delivered: ${result}.` });
  });

  portal.post("/endpoints/:id/recover", async (c) => {
    const id = c.req.param("id");
    const since = text((await formOf(c))["since"]);
    const answer = await c.get("signed").api.send<{ events: number; sessions: number }>("POST", `${endpointPath(id)}/recover`, { since });
    if (!answer.ok) return endpointPage(c, id, { error: `Not recovered: ${errorMessage(answer)}` }, statusOf(answer));
    return endpointPage(c, id, { notice: `Recovery queued: ${answer.body.events} event(s) of ${answer.body.sessions} session(s) will be sent again, in order.` });
  });

  portal.post("/endpoints/:id/delete", async (c) => {
    const id = c.req.param("id");
    const answer = await c.get("signed").api.send("DELETE", endpointPath(id));
    if (!answer.ok) return endpointPage(c, id, { error: `Not deleted: ${errorMessage(answer)}` }, statusOf(answer));
    return c.redirect("/portal/endpoints?done=endpoint_deleted", 303);
  });

  // ---------------------------------------------------------------- decision endpoint

  const decisionPage = async (c: PortalContext, extra: { notice?: string | null; error?: string | null; secret?: string | null } = {}, status = 200) => {
    const { api, frame } = c.get("signed");
    const answer = await api.get<DecisionEndpoint>("/v1/decision-endpoint");
    // 404: none configured (or a gateway without the feature): the page says so.
    const error = extra.error ?? (answer.ok || answer.status === 404 ? null : errorMessage(answer));
    return render(c, <DecisionPage frame={frame} decision={answer.ok ? answer.body : null} notice={extra.notice ?? null} error={error} secret={extra.secret ?? null} />, status);
  };
  portal.get("/decision-endpoint", (c) => decisionPage(c, { notice: noticeOf(c) }));

  portal.post("/decision-endpoint", async (c) => {
    const form = await formOf(c);
    const answer = await c.get("signed").api.send<DecisionEndpoint & { secret?: string }>("PUT", "/v1/decision-endpoint", { url: text(form["url"]), fallback: text(form["fallback"]) || "approve" });
    if (!answer.ok) return decisionPage(c, { error: `Not saved: ${errorMessage(answer)}` }, statusOf(answer));
    if (answer.body.secret) return decisionPage(c, { notice: "Decision endpoint saved.", secret: answer.body.secret });
    return c.redirect("/portal/decision-endpoint?done=decision_saved", 303);
  });

  portal.post("/decision-endpoint/rotate-secret", async (c) => {
    const answer = await c.get("signed").api.send<{ secret: string }>("POST", "/v1/decision-endpoint/rotate-secret");
    if (!answer.ok) return decisionPage(c, { error: `Not rotated: ${errorMessage(answer)}` }, statusOf(answer));
    return decisionPage(c, { notice: "Secret rotated; the previous one keeps signing beside it for 24 hours.", secret: answer.body.secret });
  });

  portal.post("/decision-endpoint/delete", async (c) => {
    const answer = await c.get("signed").api.send("DELETE", "/v1/decision-endpoint");
    if (!answer.ok) return decisionPage(c, { error: `Not removed: ${errorMessage(answer)}` }, statusOf(answer));
    return c.redirect("/portal/decision-endpoint?done=decision_deleted", 303);
  });

  // ---------------------------------------------------------------- OCPI connection

  const ocpiPage = async (c: PortalContext, extra: { notice?: string | null; error?: string | null } = {}, status = 200) => {
    const { api, frame } = c.get("signed");
    const answer = await api.get<OcpiConnection>("/v1/ocpi/connection");
    const error = extra.error ?? (answer.ok || answer.status === 404 ? null : errorMessage(answer));
    return render(c, <OcpiPage frame={frame} connection={answer.ok ? answer.body : null} notice={extra.notice ?? null} error={error} />, status);
  };
  portal.get("/ocpi", (c) => ocpiPage(c, { notice: noticeOf(c) }));

  portal.post("/ocpi/sync", async (c) => {
    const answer = await c.get("signed").api.send("POST", "/v1/ocpi/connection/sync");
    if (!answer.ok) return ocpiPage(c, { error: `Not started: ${errorMessage(answer)}` }, statusOf(answer));
    return c.redirect("/portal/ocpi?done=ocpi_sync", 303);
  });

  portal.all("*", (c) => render(c, <NotFoundPage frame={c.get("signed").frame} what="Page" />, 404));

  return portal;
}

/** The session an event is about, for going back to it after a redelivery. */
async function sessionOfEvent(api: PortalApi, eventId: string): Promise<string | null> {
  const answer = await api.get<EventBody>(`/v1/events/${encodeURIComponent(eventId)}`);
  return answer.ok ? (answer.body.data?.session?.id ?? null) : null;
}
