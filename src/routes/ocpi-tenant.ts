/**
 * Tenant API of the OCPI channel (CONTRACT §7.3, §7.7): the tenant's one connection to its CPO
 * (either direction of registration, rotation, unregistration, pulls) and its amount settings.
 * Tokens are never shown, except the invitation token in the answer that created it.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../db/client";
import { ApiError, conflict } from "../lib/errors";
import { connectionView, getConnection } from "../ocpi/connection";
import { emspIdentity } from "../ocpi/identity";
import { syncFromCpo } from "../ocpi/pull";
import { disconnect, invite, registerWithCpo, rotate, updateConnection } from "../ocpi/registration";
import { RETAIL_FACTOR_DECIMALS, VAT_PERCENT_DECIMALS, getOcpiSettings, readSettingDecimal, saveOcpiSettings } from "../ocpi/settings";
import { httpsUrlSchema } from "../webhooks/url-policy";
import { requireTenant } from "./auth";
import { requireJsonBody } from "./json-body";
import { openApiRouter } from "./openapi";
import { errorResponse, tenantErrors } from "./schemas";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { "application/json": { schema } }, required: true } });
const security = [{ ApiKey: [] }];
const tags = ["OCPI"];

const TokenEncoding = z.enum(["base64", "plain"]).openapi({ description: "How the gateway writes its token in `Authorization`: Base64 (default on 2.2.1) or as is (default on 2.1.1)." });
const PartyInput = z
  .object({
    countryCode: z.string().regex(/^[A-Za-z]{2}$/, "must be two letters"),
    partyId: z.string().regex(/^[A-Za-z0-9]{3}$/, "must be three letters or digits"),
  })
  .openapi("OcpiParty");
/** More parties than any CPO platform declares. */
const MAX_ADDITIONAL_PARTIES = 50;
const AdditionalParties = z.array(PartyInput).max(MAX_ADDITIONAL_PARTIES).openapi({ description: "Parties whose objects the gateway accepts besides the CPO's own." });

const ConnectionInput = z
  .object({
    versionsUrl: httpsUrlSchema.openapi({ example: "https://cpo.example/ocpi/versions" }),
    token: z.string().regex(/^[\x21-\x7e]{1,255}$/, "must be 1 to 255 printable ASCII characters without spaces").openapi({ description: "Token A, as the CPO gave it." }),
    tokenEncoding: TokenEncoding.optional(),
    additionalParties: AdditionalParties.optional(),
  })
  .openapi("OcpiConnectionInput");

const ConnectionUpdate = z
  .object({ tokenEncoding: TokenEncoding.nullable().optional(), additionalParties: AdditionalParties.optional() })
  .openapi("OcpiConnectionUpdate");

const SyncOutcome = z.object({ at: z.string(), count: z.number().int(), pages: z.number().int(), error: z.string().nullable() }).nullable();
const Connection = z
  .object({
    status: z.enum(["none", "invited", "connected"]),
    version: z.enum(["2.1.1", "2.2.1"]).nullable(),
    initiatedBy: z.enum(["gateway", "cpo"]).nullable(),
    tokenEncoding: TokenEncoding.nullable(),
    emsp: z.object({ countryCode: z.string(), partyId: z.string(), versionsUrl: z.string() }).nullable(),
    cpo: z
      .object({
        versionsUrl: z.string().nullable(),
        parties: z.array(z.object({ countryCode: z.string(), partyId: z.string(), role: z.string().nullable(), name: z.string().nullable() })),
        endpoints: z.array(z.object({ identifier: z.string(), role: z.enum(["SENDER", "RECEIVER"]).nullable(), url: z.string() })),
      })
      .nullable(),
    additionalParties: z.array(z.object({ countryCode: z.string(), partyId: z.string() })),
    lastSync: z.object({ locations: SyncOutcome, tariffs: SyncOutcome }).nullable(),
    invitedAt: z.string().nullable(),
    registeredAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
  })
  .openapi("OcpiConnection");

const Invitation = z.object({ token: z.string(), versionsUrl: z.string(), createdAt: z.string() }).openapi("OcpiInvitation");

const SettingNumber = z.union([z.string(), z.number()]);
const SettingsInput = z
  .object({
    retailFactor: SettingNumber.optional().openapi({ type: "string", example: "1.25", description: "Above 0, at most 4 decimals; turns the CPO's wholesale cost into what the card pays." }),
    vatPercent: SettingNumber.optional().openapi({ type: "string", example: "21", description: "0 to 100, at most 2 decimals; added where the CPO gives a cost without VAT only." }),
    currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code of three upper-case letters").nullable().optional(),
  })
  .superRefine((input, ctx) => {
    if (input.retailFactor !== undefined) {
      const read = readSettingDecimal(input.retailFactor, { decimals: RETAIL_FACTOR_DECIMALS, min: "0", minInclusive: false });
      if (!read.ok) ctx.addIssue({ code: "custom", path: ["retailFactor"], message: read.message });
    }
    if (input.vatPercent !== undefined) {
      const read = readSettingDecimal(input.vatPercent, { decimals: VAT_PERCENT_DECIMALS, min: "0", minInclusive: true, max: "100" });
      if (!read.ok) ctx.addIssue({ code: "custom", path: ["vatPercent"], message: read.message });
    }
  })
  .openapi("OcpiSettingsInput");
const Settings = z
  .object({ retailFactor: z.string().openapi({ example: "1.25" }), vatPercent: z.string().openapi({ example: "21" }), currency: z.string().nullable().openapi({ example: "EUR" }) })
  .openapi("OcpiSettings");

const busy = "another registration, rotation or unregistration of this tenant is in progress (`conflict`)";
const registrationFailed = { 502: errorResponse("A step failed (`ocpi_registration_failed`): the message names the step and what the CPO answered. Nothing was kept.") };

const routes = {
  register: createRoute({
    method: "post",
    path: "/ocpi/connection",
    tags,
    security,
    summary: "Connect to the CPO (gateway-initiated)",
    description:
      "With the CPO's versions URL and Token A the gateway reads the CPO's versions (Token A Base64-encoded, then as is after a 401, unless `tokenEncoding` fixes the form), chooses the highest common version, reads its details (a `commands` endpoint, 2.2.1 role RECEIVER, and a `credentials` endpoint are required), POSTs its own credentials with a new token, and keeps the CPO's token from the answer. A failing step is a 502 naming it; 409 when already connected. The Locations and Tariffs are pulled right after.",
    request: body(ConnectionInput),
    responses: { 201: json(Connection, "The connection, now connected"), ...tenantErrors(400, 413), 409: errorResponse(`Already connected, or ${busy}`), ...registrationFailed },
  }),
  invite: createRoute({
    method: "post",
    path: "/ocpi/invitation",
    tags,
    security,
    summary: "Invite the CPO (CPO-initiated)",
    description:
      "A new Token A and the gateway's versions URL to hand to the CPO, shown once; it replaces any open invitation. The CPO then registers by POSTing its credentials to `/ocpi/{version}/credentials` with it. 409 when already connected.",
    responses: { 201: json(Invitation, "Token A, shown only now"), ...tenantErrors(413), 409: errorResponse(`Already connected, or ${busy}`) },
  }),
  read: createRoute({
    method: "get",
    path: "/ocpi/connection",
    tags,
    security,
    summary: "Read the OCPI connection",
    description: "`none`, `invited` or `connected`, with the CPO's parties and endpoints and the outcome of the last pulls. Never shows a token.",
    responses: { 200: json(Connection, "The connection"), ...tenantErrors() },
  }),
  update: createRoute({
    method: "patch",
    path: "/ocpi/connection",
    tags,
    security,
    summary: "Change the OCPI connection",
    description: "Forces the token form the gateway sends (`tokenEncoding`, null for by version) and sets the parties accepted besides the CPO's own. 404 without a connection or invitation; 415 without a JSON body.",
    middleware: [requireJsonBody] as const,
    request: body(ConnectionUpdate),
    responses: { 200: json(Connection, "The connection"), ...tenantErrors(400, 404, 413, 415) },
  }),
  remove: createRoute({
    method: "delete",
    path: "/ocpi/connection",
    tags,
    security,
    summary: "Disconnect from the CPO",
    description:
      "Sends DELETE to the CPO's credentials endpoint (its outcome is recorded, not required), retires both tokens and forgets the CPO's Locations and Tariffs. Sessions in progress keep what they have; settle or cancel them through the sessions API.",
    responses: { 200: json(Connection, "The connection, now none"), ...tenantErrors(413), 409: errorResponse("Another registration, rotation or unregistration of this tenant is in progress (`conflict`)") },
  }),
  rotate: createRoute({
    method: "post",
    path: "/ocpi/connection/rotate",
    tags,
    security,
    summary: "Rotate the gateway's OCPI token",
    description: "PUTs the gateway's credentials with a new token to the CPO; on success the CPO's token from its answer is kept and the previous gateway token answers 401. The CPO failing is a 502 and nothing changes.",
    responses: {
      200: json(Connection, "The connection"),
      ...tenantErrors(413),
      409: errorResponse(`Not connected, or ${busy}`),
      502: errorResponse("The CPO did not accept the new credentials (`ocpi_rotation_failed`); nothing changed"),
    },
  }),
  sync: createRoute({
    method: "post",
    path: "/ocpi/connection/sync",
    tags,
    security,
    summary: "Pull Locations and Tariffs again",
    description: "Starts a pull of the CPO's Locations and Tariffs (offset 0, then each `Link` rel=next); `lastSync` shows the outcome once it ends. 409 when not connected.",
    responses: { 202: json(Connection, "The pull started; the connection as it stands"), ...tenantErrors(413), 409: errorResponse("Not connected (`conflict`)") },
  }),
  settings: createRoute({
    method: "get",
    path: "/ocpi/settings",
    tags,
    security,
    summary: "Read the OCPI amount settings",
    description: "How the card amount is computed from the CPO's cost (CONTRACT §7.7): retail factor, VAT percent added to costs without VAT, and the expected currency.",
    responses: { 200: json(Settings, "The settings"), ...tenantErrors() },
  }),
  updateSettings: createRoute({
    method: "patch",
    path: "/ocpi/settings",
    tags,
    security,
    summary: "Change the OCPI amount settings",
    description: "Decimal strings or JSON numbers; a change counts for amounts computed after it. Out of range: 400; without a JSON body: 415.",
    middleware: [requireJsonBody] as const,
    request: body(SettingsInput),
    responses: { 200: json(Settings, "The settings"), ...tenantErrors(400, 413, 415) },
  }),
};

export const ocpiTenantRoutes = openApiRouter();
ocpiTenantRoutes.use("/ocpi/*", requireTenant);

ocpiTenantRoutes
  .openapi(routes.register, async (c) => {
    const input = c.req.valid("json");
    const view = await registerWithCpo(
      c.env,
      c.get("tenant").id,
      { versionsUrl: input.versionsUrl, token: input.token, tokenEncoding: input.tokenEncoding ?? null, additionalParties: input.additionalParties ?? [] },
      (work) => c.executionCtx.waitUntil(work),
      c.req.url,
    );
    return c.json(view, 201);
  })
  .openapi(routes.invite, async (c) => c.json(await invite(c.env, c.get("tenant").id, c.req.url), 201))
  .openapi(routes.read, async (c) => c.json(connectionView(await getConnection(database(c.env.DB), c.get("tenant").id), emspIdentity(c.env, c.req.url)), 200))
  .openapi(routes.update, async (c) => {
    const input = c.req.valid("json");
    return c.json(await updateConnection(c.env, c.get("tenant").id, input, c.req.url), 200);
  })
  .openapi(routes.remove, async (c) => c.json(await disconnect(c.env, c.get("tenant").id, c.req.url), 200))
  .openapi(routes.rotate, async (c) => c.json(await rotate(c.env, c.get("tenant").id, c.req.url), 200))
  .openapi(routes.sync, async (c) => {
    const tenantId = c.get("tenant").id;
    const connection = await getConnection(database(c.env.DB), tenantId);
    if (connection.status !== "connected") throw conflict("the tenant is not connected over OCPI");
    c.executionCtx.waitUntil(syncFromCpo(c.env, tenantId));
    return c.json(connectionView(connection, emspIdentity(c.env, c.req.url)), 202);
  })
  .openapi(routes.settings, async (c) => c.json(await getOcpiSettings(database(c.env.DB), c.get("tenant").id), 200))
  .openapi(routes.updateSettings, async (c) => {
    const input = c.req.valid("json");
    const db = database(c.env.DB);
    const tenantId = c.get("tenant").id;
    const current = await getOcpiSettings(db, tenantId);
    const read = (value: string | number | undefined, decimals: number, min: string, minInclusive: boolean, max?: string) => {
      if (value === undefined) return null;
      const result = readSettingDecimal(value, { decimals, min, minInclusive, ...(max ? { max } : {}) });
      if (!result.ok) throw new ApiError(400, "invalid_request", result.message);
      return result.value;
    };
    const next = {
      retailFactor: read(input.retailFactor, RETAIL_FACTOR_DECIMALS, "0", false) ?? current.retailFactor,
      vatPercent: read(input.vatPercent, VAT_PERCENT_DECIMALS, "0", true, "100") ?? current.vatPercent,
      currency: input.currency === undefined ? current.currency : input.currency,
    };
    await saveOcpiSettings(db, tenantId, next);
    return c.json(next, 200);
  });
