/**
 * What the gateway does with the objects a CPO pushes (CONTRACT §7.4): Locations (with EVSEs and
 * connectors), Tariffs, Sessions and CDRs, each checked (§7.2 refusals), ordered by
 * `last_updated`, stored as sent, and — for Sessions and CDRs — resolved to the gateway session
 * they belong to and handed on as a fact. Nothing refused is stored.
 */
import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { ocpiCdrs } from "../db/schema";
import { log } from "../lib/log";
import { forgetStations } from "../tenants/lookup";
import type { VersionCodec, WireSchema } from "./codec";
import type { Connection } from "./connection";
import { firstCpoParty, isDeclared } from "./connection";
import { dateTimeOrderKey } from "./datetime";
import { OcpiError, OcpiStatus, invalidParameters } from "./envelope";
import { forwardFact } from "./facts";
import type { CdrFact, OcpiFact, SessionFact } from "./facts";
import { idKey, sameId } from "./ids";
import { exactJson, isJsonObject, parseExactJson } from "./json";
import type { OcpiVersion, Party } from "./model";
import { resolveCdr, resolveSession } from "./resolve";
import { describeIssues } from "./schemas";

/** Who is pushing, over which version, and where the gateway can be reached. */
export interface ReceiverContext {
  db: Database;
  env: Env;
  tenantId: string;
  connection: Connection;
  version: OcpiVersion;
  codec: VersionCodec;
  /** The CPO request's correlation id, carried into any request the gateway makes in answer. */
  correlationId: string;
  /** The gateway's public base URL. */
  baseUrl: string;
}

/** A receiver's answer: `data` undefined for acknowledgements; `location` for a CDR. */
export interface ReceiveOutcome {
  httpStatus: 200 | 201;
  data?: unknown;
  location?: string;
  /** The party the object belongs to, for the answer's routing headers. */
  party?: Party;
}

type Json = Record<string, unknown>;

const ok = (party?: Party): ReceiveOutcome => ({ httpStatus: 200, ...(party ? { party } : {}) });

const notHeld = (what: string, statusCode: number) => new OcpiError(404, statusCode, `${what} is not known to the gateway`);
const LOCATION = OcpiStatus.unknownLocation;
const OTHER = OcpiStatus.invalidParameters;

/** Validates a body against a schema: its data, or 2001 naming the fields. */
function validate(schema: WireSchema, body: unknown, what: string): Json {
  if (!isJsonObject(body)) throw invalidParameters(`body: must be a JSON object (${what})`);
  const result = schema.safeParse(body);
  if (!result.success) throw invalidParameters(describeIssues(result.error, body));
  return body;
}

/** The URL's party must be one the connection declared (CONTRACT §7.3). */
export function assertDeclared(connection: Connection, party: Party): void {
  if (!isDeclared(connection, party)) throw invalidParameters(`country_code/party_id: ${party.countryCode}/${party.partyId} is not a party of this OCPI connection`);
}

/** A field of the body that names the object must agree with the URL. */
function assertSame(body: Json, field: string, expected: string): void {
  const value = body[field];
  if (value !== undefined && value !== null && (typeof value !== "string" || !sameId(value, expected))) {
    throw invalidParameters(`${field}: ${JSON.stringify(value)} differs from the URL (${expected})`);
  }
}

/** On 2.2.1 the owner is in the body too. */
function assertOwner(ctx: ReceiverContext, body: Json, party: Party): void {
  if (!ctx.codec.ownerInBody) return;
  assertSame(body, "country_code", party.countryCode);
  assertSame(body, "party_id", party.partyId);
}

/** Whether `incoming` is later than `held` (either may be absent: an absent one is earliest). */
function isLater(incoming: unknown, held: unknown): boolean {
  const next = typeof incoming === "string" ? dateTimeOrderKey(incoming) : null;
  const prev = typeof held === "string" ? dateTimeOrderKey(held) : null;
  if (next === null) return prev === null;
  return prev === null || next > prev;
}

/** The later of two DateTimes, as written. */
function later(a: unknown, b: unknown): unknown {
  return isLater(b, a) ? b : a;
}

const orderKey = (object: Json) => (typeof object.last_updated === "string" ? dateTimeOrderKey(object.last_updated) : null);

const partyKeys = (ctx: ReceiverContext, party: Party) => ({ tenantId: ctx.tenantId, countryCode: idKey(party.countryCode), partyId: idKey(party.partyId) });

// ---------------------------------------------------------------- storage

/** The tables of objects a CPO pushes and PATCHes, and the column holding each one's id key. */
const STORES = {
  location: { table: "ocpi_locations", key: "location_key" },
  tariff: { table: "ocpi_tariffs", key: "tariff_key" },
  session: { table: "ocpi_sessions", key: "session_key" },
} as const;
type Kind = keyof typeof STORES;

/** How often a write that lost a race with another write of the same object is tried again. */
const WRITE_ATTEMPTS = 8;

/** An object as held: what the CPO sent (PATCHes merged), its revision, and (Sessions) its link. */
interface Held {
  object: Json;
  revision: string;
  gatewaySessionId: string | null;
}

const newRevision = () => crypto.randomUUID();

async function load(ctx: ReceiverContext, kind: Kind, party: Party, id: string): Promise<Held | null> {
  const { table, key } = STORES[kind];
  const keys = partyKeys(ctx, party);
  const row = await ctx.env.DB.prepare(
    `SELECT object, revision${kind === "session" ? ", gateway_session_id" : ""} FROM ${table} WHERE tenant_id = ? AND country_code = ? AND party_id = ? AND ${key} = ?`,
  )
    .bind(keys.tenantId, keys.countryCode, keys.partyId, idKey(id))
    .first<{ object: string; revision: string; gateway_session_id?: string | null }>();
  return row ? { object: parseExactJson(row.object) as Json, revision: row.revision, gatewaySessionId: row.gateway_session_id ?? null } : null;
}

/**
 * The statement writing an object: an insert when none was held (nothing if another write got
 * there first), else an update only if the object is still at the revision it was read at.
 */
function writeStatement(ctx: ReceiverContext, kind: Kind, party: Party, id: string, object: Json, held: Held | null, revision: string, gatewaySessionId: string | null): D1PreparedStatement {
  const { table, key } = STORES[kind];
  const keys = partyKeys(ctx, party);
  const lastUpdated = kind === "session" ? orderKey(object) : (orderKey(object) ?? "");
  const linked = kind === "session";
  if (!held) {
    return ctx.env.DB.prepare(
      `INSERT INTO ${table} (tenant_id, country_code, party_id, ${key}, version, object, last_updated, revision, updated_at${linked ? ", gateway_session_id" : ""}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?${linked ? ", ?" : ""}) ON CONFLICT DO NOTHING`,
    ).bind(keys.tenantId, keys.countryCode, keys.partyId, idKey(id), ctx.version, exactJson(object), lastUpdated, revision, Date.now(), ...(linked ? [gatewaySessionId] : []));
  }
  return ctx.env.DB.prepare(
    `UPDATE ${table} SET version = ?, object = ?, last_updated = ?, revision = ?, updated_at = ?${linked ? ", gateway_session_id = ?" : ""} WHERE tenant_id = ? AND country_code = ? AND party_id = ? AND ${key} = ? AND revision = ?`,
  ).bind(ctx.version, exactJson(object), lastUpdated, revision, Date.now(), ...(linked ? [gatewaySessionId] : []), keys.tenantId, keys.countryCode, keys.partyId, idKey(id), held.revision);
}

/** Each EVSE's status beside its Location, written only when the Location write in the same batch took. */
function evseStatements(ctx: ReceiverContext, party: Party, locationId: string, object: Json, revision: string): D1PreparedStatement[] {
  const keys = partyKeys(ctx, party);
  const locationKey = idKey(locationId);
  const statuses = new Map<string, string>();
  for (const evse of listOf(object.evses)) if (typeof evse.uid === "string" && typeof evse.status === "string") statuses.set(idKey(evse.uid), evse.status);
  const took = "(SELECT revision FROM ocpi_locations WHERE tenant_id = ? AND country_code = ? AND party_id = ? AND location_key = ?) = ?";
  const scope = [keys.tenantId, keys.countryCode, keys.partyId, locationKey];
  const now = Date.now();
  return [
    ctx.env.DB.prepare(`DELETE FROM ocpi_evses WHERE tenant_id = ? AND country_code = ? AND party_id = ? AND location_key = ? AND ${took}`).bind(...scope, ...scope, revision),
    ...[...statuses].map(([evseKey, status]) =>
      ctx.env.DB.prepare(`INSERT INTO ocpi_evses (tenant_id, country_code, party_id, location_key, evse_key, status, updated_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE ${took}`).bind(...scope, evseKey, status, now, ...scope, revision),
    ),
  ];
}

/** What a change decides from what is held: nothing to do, or the object to write and the answer's status. */
type Decision = { noop: true } | { noop: false; object: Json; status: 200 | 201 };

/**
 * Reads the object, decides, and writes it unless another write of the same object came in
 * between (then all again, from the new state). Answers the written object, or null for no change.
 */
async function change(ctx: ReceiverContext, kind: Kind, party: Party, id: string, decide: (held: Held | null) => Decision | Promise<Decision>, link?: (object: Json, held: Held | null) => Promise<string | null>) {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const held = await load(ctx, kind, party, id);
    const decision = await decide(held);
    if (decision.noop) return null;
    const revision = newRevision();
    const gatewaySessionId = link ? await link(decision.object, held) : null;
    const statements = [writeStatement(ctx, kind, party, id, decision.object, held, revision, gatewaySessionId)];
    if (kind === "location") statements.push(...evseStatements(ctx, party, id, decision.object, revision));
    const results = await ctx.env.DB.batch(statements);
    if (results[0]?.meta.changes === 1) {
      if (kind === "location") forgetStations(ctx.tenantId);
      return { object: decision.object, status: decision.status, gatewaySessionId };
    }
  }
  throw new OcpiError(200, OcpiStatus.serverError, "the object changed under too many concurrent updates; send it again");
}

const answered = (result: { status: 200 | 201 } | null, party: Party): ReceiveOutcome => (result ? { httpStatus: result.status, party } : ok(party));

const listOf = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isJsonObject) : []);

function findIndex(list: Json[], field: string, id: string): number {
  return list.findIndex((item) => typeof item[field] === "string" && sameId(item[field] as string, id));
}

// ---------------------------------------------------------------- Locations

/** `PUT {locations}/{cc}/{pid}/{location_id}`: a new Location, or a replacement. */
export async function putLocation(ctx: ReceiverContext, party: Party, locationId: string, body: unknown): Promise<ReceiveOutcome> {
  const object = validate(ctx.codec.location.put, body, "a Location");
  assertOwner(ctx, object, party);
  assertSame(object, "id", locationId);
  const result = await change(ctx, "location", party, locationId, (held) =>
    held && !isLater(object.last_updated, held.object.last_updated) ? { noop: true } : { noop: false, object, status: held ? 200 : 201 },
  );
  return answered(result, party);
}

/** `PATCH {locations}/{cc}/{pid}/{location_id}`: fields merged into the Location. */
export async function patchLocation(ctx: ReceiverContext, party: Party, locationId: string, body: unknown): Promise<ReceiveOutcome> {
  const patch = validate(ctx.codec.location.patch, body, "a Location PATCH");
  assertOwner(ctx, patch, party);
  assertSame(patch, "id", locationId);
  const result = await change(ctx, "location", party, locationId, (held) => {
    if (!held) throw notHeld(`Location ${locationId}`, LOCATION);
    if (patch.last_updated !== undefined && !isLater(patch.last_updated, held.object.last_updated)) return { noop: true };
    const merged = { ...held.object, ...patch };
    return exactJson(merged) === exactJson(held.object) ? { noop: true } : { noop: false, object: merged, status: 200 };
  });
  return answered(result, party);
}

/** `PUT …/{location_id}/{evse_uid}`: a new EVSE of a held Location, or a replacement. */
export async function putEvse(ctx: ReceiverContext, party: Party, locationId: string, evseUid: string, body: unknown): Promise<ReceiveOutcome> {
  const evse = validate(ctx.codec.evse.put, body, "an EVSE");
  assertSame(evse, "uid", evseUid);
  const result = await change(ctx, "location", party, locationId, (held) => {
    if (!held) throw notHeld(`Location ${locationId}`, LOCATION);
    const evses = listOf(held.object.evses);
    const index = findIndex(evses, "uid", evseUid);
    if (index >= 0 && !isLater(evse.last_updated, evses[index]!.last_updated)) return { noop: true };
    if (index >= 0) evses[index] = evse;
    else evses.push(evse);
    return { noop: false, object: { ...held.object, evses, last_updated: later(held.object.last_updated, evse.last_updated) }, status: index >= 0 ? 200 : 201 };
  });
  return answered(result, party);
}

/** `PATCH …/{location_id}/{evse_uid}`: fields merged into a held EVSE (most often its status). */
export async function patchEvse(ctx: ReceiverContext, party: Party, locationId: string, evseUid: string, body: unknown): Promise<ReceiveOutcome> {
  const patch = validate(ctx.codec.evse.patch, body, "an EVSE PATCH");
  assertSame(patch, "uid", evseUid);
  const result = await change(ctx, "location", party, locationId, (held) => {
    if (!held) throw notHeld(`Location ${locationId}`, LOCATION);
    const evses = listOf(held.object.evses);
    const index = findIndex(evses, "uid", evseUid);
    if (index < 0) throw notHeld(`EVSE ${evseUid} of Location ${locationId}`, LOCATION);
    if (patch.last_updated !== undefined && !isLater(patch.last_updated, evses[index]!.last_updated)) return { noop: true };
    const merged = { ...evses[index]!, ...patch };
    if (exactJson(merged) === exactJson(evses[index])) return { noop: true };
    evses[index] = merged;
    return { noop: false, object: { ...held.object, evses, last_updated: later(held.object.last_updated, patch.last_updated) }, status: 200 };
  });
  return answered(result, party);
}

/** `PUT`/`PATCH …/{location_id}/{evse_uid}/{connector_id}`. */
export async function putOrPatchConnector(
  ctx: ReceiverContext,
  method: "PUT" | "PATCH",
  party: Party,
  ids: { locationId: string; evseUid: string; connectorId: string },
  body: unknown,
): Promise<ReceiveOutcome> {
  const schema = method === "PUT" ? ctx.codec.connector.put : ctx.codec.connector.patch;
  const connector = validate(schema, body, method === "PUT" ? "a Connector" : "a Connector PATCH");
  assertSame(connector, "id", ids.connectorId);
  const result = await change(ctx, "location", party, ids.locationId, (held) => {
    if (!held) throw notHeld(`Location ${ids.locationId}`, LOCATION);
    const evses = listOf(held.object.evses);
    const evseIndex = findIndex(evses, "uid", ids.evseUid);
    if (evseIndex < 0) throw notHeld(`EVSE ${ids.evseUid} of Location ${ids.locationId}`, LOCATION);
    const evse = evses[evseIndex]!;
    const connectors = listOf(evse.connectors);
    const index = findIndex(connectors, "id", ids.connectorId);
    if (method === "PATCH" && index < 0) throw notHeld(`Connector ${ids.connectorId} of EVSE ${ids.evseUid}`, LOCATION);
    const heldConnector = index >= 0 ? connectors[index]! : null;
    if (heldConnector && connector.last_updated !== undefined && !isLater(connector.last_updated, heldConnector.last_updated)) return { noop: true };
    const next = method === "PUT" ? connector : { ...heldConnector!, ...connector };
    if (heldConnector && exactJson(next) === exactJson(heldConnector)) return { noop: true };
    if (index >= 0) connectors[index] = next;
    else connectors.push(next);
    evses[evseIndex] = { ...evse, connectors, last_updated: later(evse.last_updated, connector.last_updated) };
    return { noop: false, object: { ...held.object, evses, last_updated: later(held.object.last_updated, connector.last_updated) }, status: index >= 0 ? 200 : 201 };
  });
  return answered(result, party);
}

/** `GET` of a Location, EVSE or connector as the gateway holds it. */
export async function getLocation(ctx: ReceiverContext, party: Party, ids: { locationId: string; evseUid?: string; connectorId?: string }): Promise<ReceiveOutcome> {
  const held = (await load(ctx, "location", party, ids.locationId))?.object;
  if (!held) throw notHeld(`Location ${ids.locationId}`, LOCATION);
  if (ids.evseUid === undefined) return { httpStatus: 200, data: held, party };
  const evse = listOf(held.evses).find((e) => typeof e.uid === "string" && sameId(e.uid, ids.evseUid!));
  if (!evse) throw notHeld(`EVSE ${ids.evseUid} of Location ${ids.locationId}`, LOCATION);
  if (ids.connectorId === undefined) return { httpStatus: 200, data: evse, party };
  const connector = listOf(evse.connectors).find((c) => typeof c.id === "string" && sameId(c.id, ids.connectorId!));
  if (!connector) throw notHeld(`Connector ${ids.connectorId} of EVSE ${ids.evseUid}`, LOCATION);
  return { httpStatus: 200, data: connector, party };
}

// ---------------------------------------------------------------- Tariffs

/** `PUT {tariffs}/{cc}/{pid}/{tariff_id}`. */
export async function putTariff(ctx: ReceiverContext, party: Party, tariffId: string, body: unknown): Promise<ReceiveOutcome> {
  const object = validate(ctx.codec.tariff.put, body, "a Tariff");
  assertOwner(ctx, object, party);
  assertSame(object, "id", tariffId);
  const result = await change(ctx, "tariff", party, tariffId, (held) =>
    held && !isLater(object.last_updated, held.object.last_updated) ? { noop: true } : { noop: false, object, status: held ? 200 : 201 },
  );
  return answered(result, party);
}

/** `PATCH {tariffs}/{cc}/{pid}/{tariff_id}` (2.1.1 only; the router refuses it on 2.2.1). */
export async function patchTariff(ctx: ReceiverContext, party: Party, tariffId: string, body: unknown, schema: WireSchema): Promise<ReceiveOutcome> {
  const patch = validate(schema, body, "a Tariff PATCH");
  assertSame(patch, "id", tariffId);
  const result = await change(ctx, "tariff", party, tariffId, (held) => {
    if (!held) throw notHeld(`Tariff ${tariffId}`, OTHER);
    if (patch.last_updated !== undefined && !isLater(patch.last_updated, held.object.last_updated)) return { noop: true };
    const merged = { ...held.object, ...patch };
    return exactJson(merged) === exactJson(held.object) ? { noop: true } : { noop: false, object: merged, status: 200 };
  });
  return answered(result, party);
}

/** `DELETE {tariffs}/{cc}/{pid}/{tariff_id}`. */
export async function deleteTariff(ctx: ReceiverContext, party: Party, tariffId: string): Promise<ReceiveOutcome> {
  const keys = partyKeys(ctx, party);
  const deleted = await ctx.env.DB.prepare("DELETE FROM ocpi_tariffs WHERE tenant_id = ? AND country_code = ? AND party_id = ? AND tariff_key = ?")
    .bind(keys.tenantId, keys.countryCode, keys.partyId, idKey(tariffId))
    .run();
  if (deleted.meta.changes === 0) throw notHeld(`Tariff ${tariffId}`, OTHER);
  return ok(party);
}

/** `GET {tariffs}/{cc}/{pid}/{tariff_id}`. */
export async function getTariff(ctx: ReceiverContext, party: Party, tariffId: string): Promise<ReceiveOutcome> {
  const held = await load(ctx, "tariff", party, tariffId);
  if (!held) throw notHeld(`Tariff ${tariffId}`, OTHER);
  return { httpStatus: 200, data: held.object, party };
}

// ---------------------------------------------------------------- Sessions

/** Hands a fact on; a failure to hand it on is logged, never answered to the CPO as a 5xx. */
async function forward(ctx: ReceiverContext, gatewaySessionId: string, fact: OcpiFact): Promise<void> {
  try {
    await forwardFact(ctx.env, gatewaySessionId, fact);
  } catch (error) {
    log.error("ocpi fact not forwarded", { tenantId: ctx.tenantId, sessionId: gatewaySessionId, kind: fact.kind, error: String(error) });
  }
}

/** Stores a Session decided by `decide`, links it to its gateway session (§7.6) and hands the fact on. */
async function changeSession(ctx: ReceiverContext, party: Party, sessionId: string, decide: (held: Held | null) => Decision): Promise<ReceiveOutcome> {
  const result = await change(ctx, "session", party, sessionId, decide, async (object, held) => {
    const info = ctx.codec.session.read(object, party);
    return (await resolveSession(ctx.db, ctx.tenantId, info)) ?? held?.gatewaySessionId ?? null;
  });
  if (result?.gatewaySessionId) {
    const { id, ...rest } = ctx.codec.session.read(result.object, party);
    const fact: SessionFact = { kind: "session", version: ctx.version, sessionId: id, ...rest, correlationId: ctx.correlationId };
    await forward(ctx, result.gatewaySessionId, fact);
  }
  return answered(result, party);
}

/** `PUT {sessions}/{cc}/{pid}/{session_id}`. */
export async function putSession(ctx: ReceiverContext, party: Party, sessionId: string, body: unknown): Promise<ReceiveOutcome> {
  const object = validate(ctx.codec.session.put, body, "a Session");
  assertOwner(ctx, object, party);
  assertSame(object, "id", sessionId);
  return changeSession(ctx, party, sessionId, (held) =>
    held && !isLater(object.last_updated, held.object.last_updated) ? { noop: true } : { noop: false, object, status: held ? 200 : 201 },
  );
}

/** `PATCH {sessions}/{cc}/{pid}/{session_id}`; on 2.2.1 `charging_periods` are appended. */
export async function patchSession(ctx: ReceiverContext, party: Party, sessionId: string, body: unknown): Promise<ReceiveOutcome> {
  const patch = validate(ctx.codec.session.patch, body, "a Session PATCH");
  assertOwner(ctx, patch, party);
  assertSame(patch, "id", sessionId);
  return changeSession(ctx, party, sessionId, (held) => {
    if (!held) throw notHeld(`Session ${sessionId}`, OTHER);
    if (patch.last_updated !== undefined && !isLater(patch.last_updated, held.object.last_updated)) return { noop: true };
    const merged = { ...held.object, ...patch };
    if (ctx.version === "2.2.1") {
      const added = Array.isArray(patch.charging_periods) ? patch.charging_periods : [];
      merged.charging_periods = added.length > 0 ? [...listOf(held.object.charging_periods), ...added] : held.object.charging_periods;
      if (merged.charging_periods === undefined) delete merged.charging_periods;
    }
    return exactJson(merged) === exactJson(held.object) ? { noop: true } : { noop: false, object: merged, status: 200 };
  });
}

/** `GET {sessions}/{cc}/{pid}/{session_id}`. */
export async function getSession(ctx: ReceiverContext, party: Party, sessionId: string): Promise<ReceiveOutcome> {
  const held = await load(ctx, "session", party, sessionId);
  if (!held) throw notHeld(`Session ${sessionId}`, OTHER);
  return { httpStatus: 200, data: held.object, party };
}

// ---------------------------------------------------------------- CDRs

/** Random bytes of the opaque id in a CDR's URL. */
const CDR_REF_BYTES = 16;

function newCdrRef(): string {
  return [...crypto.getRandomValues(new Uint8Array(CDR_REF_BYTES))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const cdrUrl = (ctx: ReceiverContext, ref: string) => `${ctx.baseUrl}/ocpi/${ctx.version}/cdrs/${ref}`;

/** The party a CDR belongs to: its own on 2.2.1, the CPO's on 2.1.1 (whose CDR names none). */
function cdrParty(ctx: ReceiverContext, object: Json): Party {
  if (ctx.codec.ownerInBody) return { countryCode: object.country_code as string, partyId: object.party_id as string };
  const party = firstCpoParty(ctx.connection);
  if (!party) throw invalidParameters("this OCPI connection declares no CPO party to own the CDR");
  return party;
}

async function findCdr(ctx: ReceiverContext, party: Party, cdrId: string) {
  const keys = partyKeys(ctx, party);
  return ctx.db
    .select({ ref: ocpiCdrs.ref })
    .from(ocpiCdrs)
    .where(and(eq(ocpiCdrs.tenantId, keys.tenantId), eq(ocpiCdrs.countryCode, keys.countryCode), eq(ocpiCdrs.partyId, keys.partyId), eq(ocpiCdrs.cdrKey, idKey(cdrId))))
    .get();
}

/** `POST {cdrs}`: 201 with the copy's `Location`; a repeat (same owner and id) answers 200 with the same one. */
export async function postCdr(ctx: ReceiverContext, body: unknown): Promise<ReceiveOutcome> {
  const object = validate(ctx.codec.cdr.post, body, "a CDR");
  const party = cdrParty(ctx, object);
  assertDeclared(ctx.connection, party);
  const cdrId = object.id as string;
  const held = await findCdr(ctx, party, cdrId);
  if (held) return { httpStatus: 200, location: cdrUrl(ctx, held.ref), party };
  const info = ctx.codec.cdr.read(object, party);
  const gatewaySessionId = await resolveCdr(ctx.db, ctx.tenantId, info);
  const ref = newCdrRef();
  const inserted = await ctx.db
    .insert(ocpiCdrs)
    .values({ ref, ...partyKeys(ctx, party), version: ctx.version, cdrKey: idKey(cdrId), object: exactJson(object), gatewaySessionId, receivedAt: Date.now() })
    .onConflictDoNothing()
    .returning({ ref: ocpiCdrs.ref });
  if (inserted.length === 0) {
    // The same CDR arrived twice at once; the other request stored it.
    const other = await findCdr(ctx, party, cdrId);
    return { httpStatus: 200, location: cdrUrl(ctx, other?.ref ?? ref), party };
  }
  if (gatewaySessionId) {
    const { id, totalCost, ...rest } = info;
    const fact: CdrFact = { kind: "cdr", version: ctx.version, cdrId: id, totalCost, ...rest, cdrUrl: cdrUrl(ctx, ref), correlationId: ctx.correlationId };
    await forward(ctx, gatewaySessionId, fact);
  }
  return { httpStatus: 201, location: cdrUrl(ctx, ref), party };
}

/** `GET` of the gateway's copy of a CDR, by the opaque id of its URL, for the tenant that sent it. */
export async function getCdr(ctx: ReceiverContext, ref: string): Promise<ReceiveOutcome> {
  const row = await ctx.db
    .select({ object: ocpiCdrs.object, countryCode: ocpiCdrs.countryCode, partyId: ocpiCdrs.partyId })
    .from(ocpiCdrs)
    .where(and(eq(ocpiCdrs.ref, ref), eq(ocpiCdrs.tenantId, ctx.tenantId)))
    .get();
  if (!row) throw notHeld("CDR", OTHER);
  return { httpStatus: 200, data: parseExactJson(row.object), party: { countryCode: row.countryCode, partyId: row.partyId } };
}
