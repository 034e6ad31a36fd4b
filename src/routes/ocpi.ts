/**
 * `/ocpi/…`: the gateway as the OCPI eMSP of every connected tenant (CONTRACT §7.2–§7.4). One
 * base for all tenants; the credentials token of a request tells whose connection it is. Every
 * answer is the OCPI envelope; the 2.2.1 request and correlation ids are echoed and, on the
 * functional modules, the routing headers reversed. Nothing a CPO sends causes a 5xx, and nothing
 * refused is stored.
 */
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { database } from "../db/client";
import { log } from "../lib/log";
import { codecFor } from "../ocpi/codecs";
import { publicBaseUrl } from "../ocpi/config";
import { authenticate } from "../ocpi/connection";
import type { OcpiCaller, TokenKind } from "../ocpi/connection";
import { commandResultFact, findCommand, recordCommandResult } from "../ocpi/commands";
import { OcpiError, OcpiStatus, envelope, invalidParameters, unauthorized } from "../ocpi/envelope";
import { forwardFact } from "../ocpi/facts";
import { emspIdentity } from "../ocpi/identity";
import { MAX_JSON_DEPTH, isJsonObject, jsonDepth, parseExactJson } from "../ocpi/json";
import { isOcpiVersion } from "../ocpi/model";
import type { OcpiVersion, Party } from "../ocpi/model";
import {
  assertDeclared,
  deleteTariff,
  getCdr,
  getLocation,
  getSession,
  getTariff,
  patchEvse,
  patchLocation,
  patchSession,
  patchTariff,
  postCdr,
  putEvse,
  putLocation,
  putOrPatchConnector,
  putSession,
  putTariff,
} from "../ocpi/receivers";
import type { ReceiveOutcome, ReceiverContext } from "../ocpi/receivers";
import { acceptRegistration, unregisterByCpo, updateFromCpo } from "../ocpi/registration";
import type { CpoAnswer } from "../ocpi/registration";
import { describeIssues } from "../ocpi/schemas";
import type { AppEnv } from "./context";

/** OCPI bodies carry whole Locations; far larger than any real one is refused (413). */
export const OCPI_BODY_LIMIT_BYTES = 1024 * 1024;
/** Longest request or correlation id echoed as given; a longer one is replaced by a new UUID. */
const MAX_ECHOED_ID = 255;

/** The functional modules: answers on 2.2.1 carry routing headers (CONTRACT §7.2). */
const FUNCTIONAL = new Set(["locations", "tariffs", "sessions", "cdrs", "commands"]);

type OcpiEnv = { Bindings: Env; Variables: AppEnv["Variables"] & { ocpiParty?: Party; correlationId: string } };
type Ctx = Context<OcpiEnv>;

// ---------------------------------------------------------------- answers

/** An envelope answer. Raw number leaves in `data` are serialized as written. */
function answer(c: Ctx, httpStatus: number, statusCode: number, message: string, data?: unknown) {
  // The declared statuses are documentation; any of the OCPI statuses may be answered.
  return c.json(envelope(statusCode, message, data), httpStatus as 200);
}

const success = (c: Ctx, outcome: ReceiveOutcome) => {
  if (outcome.party) c.set("ocpiParty", outcome.party);
  if (outcome.location) c.header("Location", outcome.location);
  return answer(c, outcome.httpStatus, OcpiStatus.success, "Success", outcome.data);
};

const cpoAnswer = (c: Ctx, result: CpoAnswer) => answer(c, result.httpStatus, result.statusCode, result.message, result.data);

/** An id header worth echoing: printable ASCII, not too long. */
function echoable(value: string | undefined): string | null {
  return value && value.length <= MAX_ECHOED_ID && /^[\x21-\x7e]+$/.test(value) ? value : null;
}

/** The path's version and module (`/ocpi/2.2.1/locations/…` → 2.2.1, locations). */
function pathParts(c: Ctx): { version: string | null; module: string | null; rest: string[] } {
  const segments = c.req.path.split("/").filter(Boolean).slice(1);
  return { version: segments[0] ?? null, module: segments[1] ?? null, rest: segments.slice(2) };
}

// ---------------------------------------------------------------- request context

/** The caller, if its token may use this kind of endpoint; else 401 with the envelope. */
async function caller(c: Ctx, allowed: TokenKind[], moduleVersion?: OcpiVersion): Promise<OcpiCaller> {
  const found = await authenticate(database(c.env.DB), c.req.header("Authorization"));
  if (!found) throw unauthorized("Authorization: Token <credentials token> is missing or not known");
  if (!allowed.includes(found.kind)) {
    throw unauthorized(found.kind === "invitation" ? "the invitation token opens versions, version details and credentials only" : "this token is not registered yet");
  }
  if (moduleVersion && found.connection.version !== moduleVersion) {
    throw unauthorized(`this connection uses OCPI ${found.connection.version ?? "(none)"}, not ${moduleVersion}`);
  }
  return found;
}

function versionOf(c: Ctx): OcpiVersion {
  const version = c.req.param("version") ?? "";
  if (!isOcpiVersion(version)) throw new OcpiError(404, OcpiStatus.clientError, `OCPI version ${version} is not served; see /ocpi/versions`);
  return version;
}

/** Authenticates a module request and builds the receivers' context. */
async function moduleContext(c: Ctx): Promise<ReceiverContext> {
  const version = versionOf(c);
  const found = await caller(c, ["connection"], version);
  return {
    db: database(c.env.DB),
    env: c.env,
    tenantId: found.tenantId,
    connection: found.connection,
    version,
    codec: codecFor(version),
    correlationId: c.get("correlationId"),
    baseUrl: publicBaseUrl(c.env, c.req.url),
  };
}

/** A path parameter (always present on the routes that read it). */
const p = (c: Ctx, name: string): string => c.req.param(name) ?? "";

/** The URL's party, which must be one the connection declared. */
function urlParty(c: Ctx, context: ReceiverContext): Party {
  const party = { countryCode: c.req.param("countryCode") ?? "", partyId: c.req.param("partyId") ?? "" };
  c.set("ocpiParty", party);
  assertDeclared(context.connection, party);
  return party;
}

/** The body as JSON with exact numbers; 2001 when it is not JSON. */
async function jsonBody(c: Ctx): Promise<unknown> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = parseExactJson(text);
  } catch {
    throw invalidParameters("body: malformed JSON");
  }
  if (jsonDepth(body) > MAX_JSON_DEPTH) throw invalidParameters(`body: nested deeper than ${MAX_JSON_DEPTH} levels`);
  return body;
}

// ---------------------------------------------------------------- the router

export const ocpiRoutes = new OpenAPIHono<OcpiEnv>({
  defaultHook: (result) => {
    if (!result.success) throw invalidParameters(describeIssues(result.error as z.ZodError, undefined));
  },
});

ocpiRoutes.use("*", async (c, next) => {
  const started = Date.now();
  const requestId = echoable(c.req.header("X-Request-ID")) ?? c.get("requestId") ?? crypto.randomUUID();
  const correlationId = echoable(c.req.header("X-Correlation-ID")) ?? crypto.randomUUID();
  c.set("correlationId", correlationId);
  await next();
  c.header("X-Request-ID", requestId);
  c.header("X-Correlation-ID", correlationId);
  const { version, module } = pathParts(c);
  if (version === "2.2.1" && module !== null && FUNCTIONAL.has(module)) {
    const identity = emspIdentity(c.env, c.req.url);
    c.header("OCPI-from-country-code", identity.countryCode);
    c.header("OCPI-from-party-id", identity.partyId);
    const fromCountry = c.req.header("OCPI-from-country-code");
    const fromParty = c.req.header("OCPI-from-party-id");
    const to = fromCountry && fromParty ? { countryCode: fromCountry, partyId: fromParty } : c.get("ocpiParty");
    if (to && echoable(to.countryCode) && echoable(to.partyId)) {
      c.header("OCPI-to-country-code", to.countryCode);
      c.header("OCPI-to-party-id", to.partyId);
    }
  }
  log.info("ocpi request", { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - started });
});

ocpiRoutes.use(
  "*",
  bodyLimit({
    maxSize: OCPI_BODY_LIMIT_BYTES,
    onError: () => {
      throw new OcpiError(413, OcpiStatus.clientError, `body exceeds ${OCPI_BODY_LIMIT_BYTES} bytes`);
    },
  }),
);

ocpiRoutes.onError((error, c) => {
  if (error instanceof OcpiError) return answer(c, error.httpStatus, error.statusCode, error.message);
  log.error("unhandled error", { requestId: c.get("requestId"), path: c.req.path, error: String(error), stack: (error as Error)?.stack ?? null });
  return answer(c, 500, OcpiStatus.serverError, "internal error");
});

const param = (name: string, example: string) => z.string().openapi({ param: { name, in: "path" }, example });
const VersionParam = param("version", "2.2.1");
const PartyParams = { version: VersionParam, countryCode: param("countryCode", "BE"), partyId: param("partyId", "BEC") };
const Envelope = z
  .object({ data: z.any().optional(), status_code: z.number().int(), status_message: z.string(), timestamp: z.string() })
  .openapi("OcpiEnvelope", {
    description: "The OCPI response envelope: `status_code` 1000 is success, 2xxx a refusal of the request, 3xxx a failure reaching the CPO. `data` is left out of acknowledgements and errors.",
    example: { data: { version: "2.2.1" }, status_code: 1000, status_message: "Success", timestamp: "2024-05-01T10:00:00Z" },
  });
const enveloped = (description: string) => ({ description, content: { "application/json": { schema: Envelope } } });
const security = [{ OcpiToken: [] }];

/** Where the contract describes a route, and what the specification adds. */
function specPointer(path: string): string {
  const module = path.split("/")[2];
  const section = module === undefined ? "§7.2 (transport)" : module === "credentials" ? "§7.3 (connecting a tenant)" : "§7.4 (what the gateway receives)";
  return `CONTRACT ${section}, with §7.2 for tokens, envelope, headers and refusals. Where it is silent, the OCPI specification of the connection's version decides: tag \`2.2.1\` or \`2.1.1-d2\` of github.com/ocpi/ocpi.`;
}

/** What the CPO sends in the body of a module request. */
const BODIES: Record<string, string> = {
  credentials: "The CPO's credentials object of that version.",
  locations: "The Location, EVSE or connector the URL addresses (PUT: whole; PATCH: the fields that changed, with `last_updated`).",
  tariffs: "The Tariff (PUT: whole; PATCH on 2.1.1: the fields that changed).",
  sessions: "The Session (PUT: whole; PATCH: the fields that changed, `last_updated` required on 2.2.1).",
  cdrs: "The CDR.",
  commands: "The bare CommandResult (2.2.1) or CommandResponse (2.1.1), without an envelope.",
};

/**
 * An OCPI route as the reference shows it: its statuses follow from the method and the module
 * (201 for new objects, 405 where a method depends on the registration state or the version, 413
 * for bodies). The body is documented, not validated here: each receiver reads it exactly.
 */
function route(method: "get" | "post" | "put" | "patch" | "delete", path: string, params: Record<string, z.ZodString>, summary: string, description: string) {
  const module = path.split("/")[2];
  const hasBody = ["post", "put", "patch"].includes(method);
  const notAllowed = module === "credentials" ? method !== "get" : module === "tariffs" && method === "patch";
  const partyInPath = "countryCode" in params;
  return createRoute({
    method,
    path,
    tags: ["OCPI"],
    security,
    summary,
    description: `${description}\n\n${specPointer(path)}`,
    request: {
      params: z.object(params),
      ...(hasBody && module !== undefined
        ? { body: { required: true, content: { "application/json": { schema: { type: "object" as const, description: BODIES[module] ?? "The OCPI object." } } } } }
        : {}),
    },
    responses: {
      200: enveloped(module === "credentials" && hasBody ? `${summary}: status_code 1000, or 3001 (the CPO's versions or details could not be read with its token), 3002 (no version in common), 3003 (no commands endpoint)` : summary),
      ...((method === "put" && module !== "credentials") || (method === "post" && module === "cdrs") ? { 201: enveloped("A new object (status_code 1000)") } : {}),
      ...(hasBody || partyInPath ? { 400: enveloped("Refused (status_code 2001, naming the field): malformed JSON, a body that is not the expected object, a missing required field, a wrong type or enum value, ids or party that differ from the URL, an undeclared party, a DateTime not in the accepted form") } : {}),
      401: enveloped("A missing, unknown or retired token, or one not allowed here: an invitation token beyond versions, details and credentials, or a connection's token on the other version's modules (status_code 2000)"),
      ...(path !== "/versions" ? { 404: enveloped("An OCPI version the gateway does not serve (status_code 2000), or an object it does not hold (2003 for Locations, 2001 otherwise)") } : {}),
      ...(notAllowed ? { 405: enveloped(module === "credentials" ? "Not in this registration state: POST once registered, PUT or DELETE with an invitation token (status_code 2000)" : "OCPI 2.2.1 has no Tariff PATCH (status_code 2000)") } : {}),
      ...(hasBody ? { 413: enveloped("A body over 1 MiB (status_code 2000)") } : {}),
      500: enveloped("A bug, logged with the request's `X-Request-ID` (status_code 3000); nothing the CPO sends is meant to cause one"),
    },
  });
}

const LOCATION = { ...PartyParams, locationId: param("locationId", "LOC1") };
const EVSE = { ...LOCATION, evseUid: param("evseUid", "3256") };
const CONNECTOR = { ...EVSE, connectorId: param("connectorId", "1") };
const TARIFF = { ...PartyParams, tariffId: param("tariffId", "12") };
const SESSION = { ...PartyParams, sessionId: param("sessionId", "101") };

ocpiRoutes.openAPIRegistry.registerComponent("securitySchemes", "OcpiToken", {
  type: "apiKey",
  in: "header",
  name: "Authorization",
  description: "`Token <credentials token>`: Base64-encoded on 2.2.1, as is on 2.1.1; either form is accepted.",
});

// Versions and version details.
ocpiRoutes.openapi(route("get", "/versions", {}, "OCPI versions", "The versions the gateway serves, each with its details URL. Open to invitation, registration and connection tokens."), async (c) => {
  await caller(c, ["invitation", "pending", "connection"]);
  const base = publicBaseUrl(c.env, c.req.url);
  return answer(c, 200, OcpiStatus.success, "Success", [
    { version: "2.1.1", url: `${base}/ocpi/2.1.1` },
    { version: "2.2.1", url: `${base}/ocpi/2.2.1` },
  ]);
});

ocpiRoutes.openapi(
  route("get", "/{version}", { version: VersionParam }, "OCPI version details", "The gateway's endpoints of one version: the receivers of credentials, locations, tariffs, sessions and cdrs, and the commands sender."),
  async (c) => {
    const version = versionOf(c);
    await caller(c, ["invitation", "pending", "connection"]);
    const base = `${publicBaseUrl(c.env, c.req.url)}/ocpi/${version}`;
    const modules: Array<[string, "RECEIVER" | "SENDER"]> = [
      ["credentials", "RECEIVER"],
      ["locations", "RECEIVER"],
      ["tariffs", "RECEIVER"],
      ["sessions", "RECEIVER"],
      ["cdrs", "RECEIVER"],
      ["commands", "SENDER"],
    ];
    const endpoints = modules.map(([identifier, role]) => (version === "2.2.1" ? { identifier, role, url: `${base}/${identifier}` } : { identifier, url: `${base}/${identifier}` }));
    return answer(c, 200, OcpiStatus.success, "Success", { version, endpoints });
  },
);

// Credentials.
ocpiRoutes.openapi(route("get", "/{version}/credentials", { version: VersionParam }, "The gateway's credentials", "The gateway's credentials for the calling CPO, with the token it called with."), async (c) => {
  const version = versionOf(c);
  // A token minted while a registration or rotation is open may read them too: some CPOs check them before answering.
  const found = await caller(c, ["invitation", "pending", "connection"]);
  return answer(c, 200, OcpiStatus.success, "Success", codecFor(version).credentials.write(emspIdentity(c.env, c.req.url), found.token));
});

ocpiRoutes.openapi(
  route("post", "/{version}/credentials", { version: VersionParam }, "Register (CPO-initiated)", "With the invitation token (Token A): the gateway reads the CPO's versions and details with the token in the body (3001, 3002 or 3003 when that fails), then answers its own credentials with a new token. 405 when already registered."),
  async (c) => {
    const version = versionOf(c);
    const found = await caller(c, ["invitation", "connection"]);
    if (found.kind !== "invitation") return answer(c, 405, OcpiStatus.clientError, "already registered: use PUT to update the credentials");
    const body = await jsonBody(c);
    return cpoAnswer(c, await acceptRegistration(c.env, found, version, body, c.get("correlationId"), (work) => c.executionCtx.waitUntil(work), c.req.url));
  },
);

ocpiRoutes.openapi(
  route("put", "/{version}/credentials", { version: VersionParam }, "Update the credentials", "The CPO's new credentials (token, URL or version): its versions and details are read again, and the gateway answers with a new token of its own; the previous one then answers 401. 405 with an invitation token."),
  async (c) => {
    const version = versionOf(c);
    const found = await caller(c, ["invitation", "connection"]);
    if (found.kind !== "connection") return answer(c, 405, OcpiStatus.clientError, "not registered: use POST to register");
    const body = await jsonBody(c);
    return cpoAnswer(c, await updateFromCpo(c.env, found, version, body, c.get("correlationId"), c.req.url));
  },
);

ocpiRoutes.openapi(
  route("delete", "/{version}/credentials", { version: VersionParam }, "Unregister", "Both tokens are retired and the tenant's connection is `none`. 405 with an invitation token."),
  async (c) => {
    versionOf(c);
    const found = await caller(c, ["invitation", "connection"]);
    if (found.kind !== "connection") return answer(c, 405, OcpiStatus.clientError, "not registered");
    return cpoAnswer(c, await unregisterByCpo(c.env, found));
  },
);

// Locations.
const locationPath = "/{version}/locations/{countryCode}/{partyId}/{locationId}";
ocpiRoutes.openapi(route("get", locationPath, LOCATION, "Read a Location", "The Location as the gateway holds it."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await getLocation(context, urlParty(c, context), { locationId: p(c, "locationId") }));
});
ocpiRoutes.openapi(route("put", locationPath, LOCATION, "Push a Location", "A new Location (201) or a replacement (200), with its EVSEs; one not later than the held one changes nothing."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await putLocation(context, party, p(c, "locationId"), await jsonBody(c)));
});
ocpiRoutes.openapi(route("patch", locationPath, LOCATION, "Update a Location", "Fields merged into a held Location (404, 2003 when not held)."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await patchLocation(context, party, p(c, "locationId"), await jsonBody(c)));
});

const evsePath = `${locationPath}/{evseUid}`;
ocpiRoutes.openapi(route("get", evsePath, EVSE, "Read an EVSE", "The EVSE as the gateway holds it."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await getLocation(context, urlParty(c, context), { locationId: p(c, "locationId"), evseUid: p(c, "evseUid") }));
});
ocpiRoutes.openapi(route("put", evsePath, EVSE, "Push an EVSE", "A new or replaced EVSE of a held Location; its status counts for mapped stations from the next question Spark asks."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await putEvse(context, party, p(c, "locationId"), p(c, "evseUid"), await jsonBody(c)));
});
ocpiRoutes.openapi(route("patch", evsePath, EVSE, "Update an EVSE", "Fields merged into a held EVSE, most often its status."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await patchEvse(context, party, p(c, "locationId"), p(c, "evseUid"), await jsonBody(c)));
});

const connectorPath = `${evsePath}/{connectorId}`;
const connectorIds = (c: Ctx) => ({ locationId: c.req.param("locationId") ?? "", evseUid: c.req.param("evseUid") ?? "", connectorId: c.req.param("connectorId") ?? "" });
ocpiRoutes.openapi(route("get", connectorPath, CONNECTOR, "Read a connector", "The connector as the gateway holds it."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await getLocation(context, urlParty(c, context), connectorIds(c)));
});
ocpiRoutes.openapi(route("put", connectorPath, CONNECTOR, "Push a connector", "A new or replaced connector of a held EVSE."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await putOrPatchConnector(context, "PUT", party, connectorIds(c), await jsonBody(c)));
});
ocpiRoutes.openapi(route("patch", connectorPath, CONNECTOR, "Update a connector", "Fields merged into a held connector."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await putOrPatchConnector(context, "PATCH", party, connectorIds(c), await jsonBody(c)));
});

// Tariffs.
const tariffPath = "/{version}/tariffs/{countryCode}/{partyId}/{tariffId}";
ocpiRoutes.openapi(route("get", tariffPath, TARIFF, "Read a Tariff", "The Tariff as the gateway holds it. Tariffs change no amount; the CDR does."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await getTariff(context, urlParty(c, context), p(c, "tariffId")));
});
ocpiRoutes.openapi(route("put", tariffPath, TARIFF, "Push a Tariff", "A new Tariff (201) or a replacement (200)."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await putTariff(context, party, p(c, "tariffId"), await jsonBody(c)));
});
ocpiRoutes.openapi(route("patch", tariffPath, TARIFF, "Update a Tariff (2.1.1)", "Fields merged into a held Tariff; 2.2.1 has no Tariff PATCH (405)."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  const schema = context.codec.tariff.patch;
  if (!schema) return answer(c, 405, OcpiStatus.clientError, "OCPI 2.2.1 has no Tariff PATCH; PUT the Tariff");
  return success(c, await patchTariff(context, party, p(c, "tariffId"), await jsonBody(c), schema));
});
ocpiRoutes.openapi(route("delete", tariffPath, TARIFF, "Delete a Tariff", "The Tariff is no longer kept."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await deleteTariff(context, urlParty(c, context), p(c, "tariffId")));
});

// Sessions.
const sessionPath = "/{version}/sessions/{countryCode}/{partyId}/{sessionId}";
ocpiRoutes.openapi(route("get", sessionPath, SESSION, "Read a Session", "The Session as the gateway holds it."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await getSession(context, urlParty(c, context), p(c, "sessionId")));
});
ocpiRoutes.openapi(route("put", sessionPath, SESSION, "Push a Session", "A new Session (201) or a replacement (200); it moves the payment session it belongs to (CONTRACT §7.6)."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await putSession(context, party, p(c, "sessionId"), await jsonBody(c)));
});
ocpiRoutes.openapi(route("patch", sessionPath, SESSION, "Update a Session", "Fields merged into a held Session; on 2.2.1 `last_updated` is required and `charging_periods` are appended."), async (c) => {
  const context = await moduleContext(c);
  const party = urlParty(c, context);
  return success(c, await patchSession(context, party, p(c, "sessionId"), await jsonBody(c)));
});

// CDRs.
ocpiRoutes.openapi(route("post", "/{version}/cdrs", { version: VersionParam }, "Push a CDR", "201 with `Location`, the URL of the gateway's copy; a repeat answers 200 with the same `Location`. The first CDR of a session settles it (CONTRACT §7.6)."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await postCdr(context, await jsonBody(c)));
});
ocpiRoutes.openapi(route("get", "/{version}/cdrs/{cdrRef}", { version: VersionParam, cdrRef: param("cdrRef", "9f2c…") }, "Read a CDR", "The gateway's copy of a CDR, as received, at the URL its POST answered."), async (c) => {
  const context = await moduleContext(c);
  return success(c, await getCdr(context, p(c, "cdrRef")));
});

// Command results, POSTed to the response_url of each command.
ocpiRoutes.openapi(
  route(
    "post",
    "/{version}/commands/{command}/{commandId}",
    { version: VersionParam, command: param("command", "START_SESSION"), commandId: param("commandId", "5d1e…") },
    "Command result",
    "The CPO's result of a command, as the bare CommandResult (2.2.1) or CommandResponse (2.1.1). Answered 1000; a result for an unknown or already answered command changes nothing.",
  ),
  async (c) => {
    const context = await moduleContext(c);
    const body = await jsonBody(c);
    if (!isJsonObject(body)) throw invalidParameters("body: must be a JSON object (a command result)");
    const parsed = context.codec.commandResult.schema.safeParse(body);
    if (!parsed.success) throw invalidParameters(describeIssues(parsed.error, body));
    const command = await findCommand(context.db, context.tenantId, p(c, "commandId"));
    if (!command || command.kind !== p(c, "command")) return answer(c, 200, OcpiStatus.success, "Success");
    if (command.to) c.set("ocpiParty", command.to);
    const { result, message } = context.codec.commandResult.read(body);
    if (await recordCommandResult(context.db, command, result, message)) {
      try {
        await forwardFact(c.env, command.gatewaySessionId, commandResultFact(command, context.version, result, message, context.correlationId));
      } catch (error) {
        log.error("ocpi fact not forwarded", { tenantId: context.tenantId, sessionId: command.gatewaySessionId, kind: "command_result", error: String(error) });
      }
    }
    return answer(c, 200, OcpiStatus.success, "Success");
  },
);

// Anything else under a module the gateway serves: 405 once the caller is known; elsewhere 404.
async function unsupported(c: Ctx) {
  const version = versionOf(c);
  if (pathParts(c).module === "credentials") await caller(c, ["invitation", "pending", "connection"]);
  else await caller(c, ["connection"], version);
  return answer(c, 405, OcpiStatus.clientError, `${c.req.method} is not supported here`);
}
ocpiRoutes.all("/:version/:module{locations|tariffs|sessions|cdrs|commands|credentials}/*", unsupported);
ocpiRoutes.all("/:version/:module{locations|tariffs|sessions|cdrs|commands|credentials}", unsupported);
ocpiRoutes.all("*", (c) => answer(c, 404, OcpiStatus.clientError, `no OCPI endpoint at ${c.req.method} ${c.req.path}`));
