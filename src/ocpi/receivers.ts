/**
 * What the gateway does with the objects a CPO pushes (CONTRACT §7.4): Locations (with EVSEs and
 * connectors), Tariffs, Sessions and CDRs, each checked (§7.2 refusals), ordered by
 * `last_updated`, stored as sent, and — for Sessions and CDRs — resolved to the gateway session
 * they belong to and handed on as a fact. Nothing refused is stored.
 */
import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { ocpiCdrs, ocpiEvses, ocpiLocations, ocpiSessions, ocpiTariffs } from "../db/schema";
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
const created = (party?: Party): ReceiveOutcome => ({ httpStatus: 201, ...(party ? { party } : {}) });

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

// ---------------------------------------------------------------- Locations

async function loadLocation(ctx: ReceiverContext, party: Party, locationId: string): Promise<Json | null> {
  const keys = partyKeys(ctx, party);
  const row = await ctx.db
    .select({ object: ocpiLocations.object })
    .from(ocpiLocations)
    .where(and(eq(ocpiLocations.tenantId, keys.tenantId), eq(ocpiLocations.countryCode, keys.countryCode), eq(ocpiLocations.partyId, keys.partyId), eq(ocpiLocations.locationKey, idKey(locationId))))
    .get();
  return row ? (parseExactJson(row.object) as Json) : null;
}

/** Stores a Location and the status of each of its EVSEs, then forgets this tenant's cached station states. */
async function saveLocation(ctx: ReceiverContext, party: Party, locationId: string, object: Json): Promise<void> {
  const keys = partyKeys(ctx, party);
  const locationKey = idKey(locationId);
  const now = Date.now();
  const evses = (Array.isArray(object.evses) ? object.evses : []).filter(isJsonObject);
  const statuses = new Map<string, string>();
  for (const evse of evses) if (typeof evse.uid === "string" && typeof evse.status === "string") statuses.set(idKey(evse.uid), evse.status);
  const row = { ...keys, locationKey, version: ctx.version, object: exactJson(object), lastUpdated: orderKey(object) ?? "", updatedAt: now };
  const scope = and(eq(ocpiEvses.tenantId, keys.tenantId), eq(ocpiEvses.countryCode, keys.countryCode), eq(ocpiEvses.partyId, keys.partyId), eq(ocpiEvses.locationKey, locationKey));
  await ctx.db.batch([
    ctx.db
      .insert(ocpiLocations)
      .values(row)
      .onConflictDoUpdate({ target: [ocpiLocations.tenantId, ocpiLocations.countryCode, ocpiLocations.partyId, ocpiLocations.locationKey], set: { version: row.version, object: row.object, lastUpdated: row.lastUpdated, updatedAt: now } }),
    ctx.db.delete(ocpiEvses).where(scope),
    ...[...statuses].map(([evseKey, status]) => ctx.db.insert(ocpiEvses).values({ ...keys, locationKey, evseKey, status, updatedAt: now })),
  ]);
  forgetStations(ctx.tenantId);
}

const listOf = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isJsonObject) : []);

function findIndex(list: Json[], field: string, id: string): number {
  return list.findIndex((item) => typeof item[field] === "string" && sameId(item[field] as string, id));
}

/** `PUT {locations}/{cc}/{pid}/{location_id}`: a new Location, or a replacement. */
export async function putLocation(ctx: ReceiverContext, party: Party, locationId: string, body: unknown): Promise<ReceiveOutcome> {
  const object = validate(ctx.codec.location.put, body, "a Location");
  assertOwner(ctx, object, party);
  assertSame(object, "id", locationId);
  const held = await loadLocation(ctx, party, locationId);
  if (held && !isLater(object.last_updated, held.last_updated)) return ok(party);
  await saveLocation(ctx, party, locationId, object);
  return held ? ok(party) : created(party);
}

/** `PATCH {locations}/{cc}/{pid}/{location_id}`: fields merged into the Location. */
export async function patchLocation(ctx: ReceiverContext, party: Party, locationId: string, body: unknown): Promise<ReceiveOutcome> {
  const patch = validate(ctx.codec.location.patch, body, "a Location PATCH");
  assertOwner(ctx, patch, party);
  assertSame(patch, "id", locationId);
  const held = await loadLocation(ctx, party, locationId);
  if (!held) throw notHeld(`Location ${locationId}`, LOCATION);
  if (patch.last_updated !== undefined && !isLater(patch.last_updated, held.last_updated)) return ok(party);
  const merged = { ...held, ...patch };
  if (exactJson(merged) === exactJson(held)) return ok(party);
  await saveLocation(ctx, party, locationId, merged);
  return ok(party);
}

/** `PUT …/{location_id}/{evse_uid}`: a new EVSE of a held Location, or a replacement. */
export async function putEvse(ctx: ReceiverContext, party: Party, locationId: string, evseUid: string, body: unknown): Promise<ReceiveOutcome> {
  const evse = validate(ctx.codec.evse.put, body, "an EVSE");
  assertSame(evse, "uid", evseUid);
  const held = await loadLocation(ctx, party, locationId);
  if (!held) throw notHeld(`Location ${locationId}`, LOCATION);
  const evses = listOf(held.evses);
  const index = findIndex(evses, "uid", evseUid);
  if (index >= 0 && !isLater(evse.last_updated, evses[index]!.last_updated)) return ok(party);
  if (index >= 0) evses[index] = evse;
  else evses.push(evse);
  await saveLocation(ctx, party, locationId, { ...held, evses, last_updated: later(held.last_updated, evse.last_updated) });
  return index >= 0 ? ok(party) : created(party);
}

/** `PATCH …/{location_id}/{evse_uid}`: fields merged into a held EVSE (most often its status). */
export async function patchEvse(ctx: ReceiverContext, party: Party, locationId: string, evseUid: string, body: unknown): Promise<ReceiveOutcome> {
  const patch = validate(ctx.codec.evse.patch, body, "an EVSE PATCH");
  assertSame(patch, "uid", evseUid);
  const held = await loadLocation(ctx, party, locationId);
  if (!held) throw notHeld(`Location ${locationId}`, LOCATION);
  const evses = listOf(held.evses);
  const index = findIndex(evses, "uid", evseUid);
  if (index < 0) throw notHeld(`EVSE ${evseUid} of Location ${locationId}`, LOCATION);
  if (patch.last_updated !== undefined && !isLater(patch.last_updated, evses[index]!.last_updated)) return ok(party);
  const merged = { ...evses[index]!, ...patch };
  if (exactJson(merged) === exactJson(evses[index])) return ok(party);
  evses[index] = merged;
  await saveLocation(ctx, party, locationId, { ...held, evses, last_updated: later(held.last_updated, patch.last_updated) });
  return ok(party);
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
  const held = await loadLocation(ctx, party, ids.locationId);
  if (!held) throw notHeld(`Location ${ids.locationId}`, LOCATION);
  const evses = listOf(held.evses);
  const evseIndex = findIndex(evses, "uid", ids.evseUid);
  if (evseIndex < 0) throw notHeld(`EVSE ${ids.evseUid} of Location ${ids.locationId}`, LOCATION);
  const evse = evses[evseIndex]!;
  const connectors = listOf(evse.connectors);
  const index = findIndex(connectors, "id", ids.connectorId);
  if (method === "PATCH" && index < 0) throw notHeld(`Connector ${ids.connectorId} of EVSE ${ids.evseUid}`, LOCATION);
  const heldConnector = index >= 0 ? connectors[index]! : null;
  if (heldConnector && connector.last_updated !== undefined && !isLater(connector.last_updated, heldConnector.last_updated)) return ok(party);
  const next = method === "PUT" ? connector : { ...heldConnector!, ...connector };
  if (heldConnector && exactJson(next) === exactJson(heldConnector)) return ok(party);
  if (index >= 0) connectors[index] = next;
  else connectors.push(next);
  evses[evseIndex] = { ...evse, connectors, last_updated: later(evse.last_updated, connector.last_updated) };
  await saveLocation(ctx, party, ids.locationId, { ...held, evses, last_updated: later(held.last_updated, connector.last_updated) });
  return index >= 0 ? ok(party) : created(party);
}

/** `GET` of a Location, EVSE or connector as the gateway holds it. */
export async function getLocation(ctx: ReceiverContext, party: Party, ids: { locationId: string; evseUid?: string; connectorId?: string }): Promise<ReceiveOutcome> {
  const held = await loadLocation(ctx, party, ids.locationId);
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

const tariffWhere = (ctx: ReceiverContext, party: Party, tariffId: string) => {
  const keys = partyKeys(ctx, party);
  return and(eq(ocpiTariffs.tenantId, keys.tenantId), eq(ocpiTariffs.countryCode, keys.countryCode), eq(ocpiTariffs.partyId, keys.partyId), eq(ocpiTariffs.tariffKey, idKey(tariffId)));
};

async function loadTariff(ctx: ReceiverContext, party: Party, tariffId: string): Promise<Json | null> {
  const row = await ctx.db.select({ object: ocpiTariffs.object }).from(ocpiTariffs).where(tariffWhere(ctx, party, tariffId)).get();
  return row ? (parseExactJson(row.object) as Json) : null;
}

async function saveTariff(ctx: ReceiverContext, party: Party, tariffId: string, object: Json): Promise<void> {
  const row = { ...partyKeys(ctx, party), tariffKey: idKey(tariffId), version: ctx.version, object: exactJson(object), lastUpdated: orderKey(object) ?? "", updatedAt: Date.now() };
  await ctx.db
    .insert(ocpiTariffs)
    .values(row)
    .onConflictDoUpdate({ target: [ocpiTariffs.tenantId, ocpiTariffs.countryCode, ocpiTariffs.partyId, ocpiTariffs.tariffKey], set: { version: row.version, object: row.object, lastUpdated: row.lastUpdated, updatedAt: row.updatedAt } });
}

/** `PUT {tariffs}/{cc}/{pid}/{tariff_id}`. */
export async function putTariff(ctx: ReceiverContext, party: Party, tariffId: string, body: unknown): Promise<ReceiveOutcome> {
  const object = validate(ctx.codec.tariff.put, body, "a Tariff");
  assertOwner(ctx, object, party);
  assertSame(object, "id", tariffId);
  const held = await loadTariff(ctx, party, tariffId);
  if (held && !isLater(object.last_updated, held.last_updated)) return ok(party);
  await saveTariff(ctx, party, tariffId, object);
  return held ? ok(party) : created(party);
}

/** `PATCH {tariffs}/{cc}/{pid}/{tariff_id}` (2.1.1 only; the router refuses it on 2.2.1). */
export async function patchTariff(ctx: ReceiverContext, party: Party, tariffId: string, body: unknown, schema: WireSchema): Promise<ReceiveOutcome> {
  const patch = validate(schema, body, "a Tariff PATCH");
  assertSame(patch, "id", tariffId);
  const held = await loadTariff(ctx, party, tariffId);
  if (!held) throw notHeld(`Tariff ${tariffId}`, OTHER);
  if (patch.last_updated !== undefined && !isLater(patch.last_updated, held.last_updated)) return ok(party);
  const merged = { ...held, ...patch };
  if (exactJson(merged) === exactJson(held)) return ok(party);
  await saveTariff(ctx, party, tariffId, merged);
  return ok(party);
}

/** `DELETE {tariffs}/{cc}/{pid}/{tariff_id}`. */
export async function deleteTariff(ctx: ReceiverContext, party: Party, tariffId: string): Promise<ReceiveOutcome> {
  const deleted = await ctx.db.delete(ocpiTariffs).where(tariffWhere(ctx, party, tariffId)).returning({ key: ocpiTariffs.tariffKey });
  if (deleted.length === 0) throw notHeld(`Tariff ${tariffId}`, OTHER);
  return ok(party);
}

/** `GET {tariffs}/{cc}/{pid}/{tariff_id}`. */
export async function getTariff(ctx: ReceiverContext, party: Party, tariffId: string): Promise<ReceiveOutcome> {
  const held = await loadTariff(ctx, party, tariffId);
  if (!held) throw notHeld(`Tariff ${tariffId}`, OTHER);
  return { httpStatus: 200, data: held, party };
}

// ---------------------------------------------------------------- Sessions

const sessionWhere = (ctx: ReceiverContext, party: Party, sessionId: string) => {
  const keys = partyKeys(ctx, party);
  return and(eq(ocpiSessions.tenantId, keys.tenantId), eq(ocpiSessions.countryCode, keys.countryCode), eq(ocpiSessions.partyId, keys.partyId), eq(ocpiSessions.sessionKey, idKey(sessionId)));
};

async function loadSession(ctx: ReceiverContext, party: Party, sessionId: string) {
  const row = await ctx.db.select({ object: ocpiSessions.object, gatewaySessionId: ocpiSessions.gatewaySessionId }).from(ocpiSessions).where(sessionWhere(ctx, party, sessionId)).get();
  return row ? { object: parseExactJson(row.object) as Json, gatewaySessionId: row.gatewaySessionId } : null;
}

/** Hands a fact on; a failure to hand it on is logged, never answered to the CPO as a 5xx. */
async function forward(ctx: ReceiverContext, gatewaySessionId: string, fact: OcpiFact): Promise<void> {
  try {
    await forwardFact(ctx.env, gatewaySessionId, fact);
  } catch (error) {
    log.error("ocpi fact not forwarded", { tenantId: ctx.tenantId, sessionId: gatewaySessionId, kind: fact.kind, error: String(error) });
  }
}

/** Stores a Session, links it to its gateway session (§7.6) and hands the fact on. */
async function saveSession(ctx: ReceiverContext, party: Party, sessionId: string, object: Json, linked: string | null): Promise<void> {
  const info = ctx.codec.session.read(object, party);
  const gatewaySessionId = (await resolveSession(ctx.db, ctx.tenantId, info)) ?? linked;
  const row = { ...partyKeys(ctx, party), sessionKey: idKey(sessionId), version: ctx.version, object: exactJson(object), lastUpdated: orderKey(object), gatewaySessionId, updatedAt: Date.now() };
  await ctx.db
    .insert(ocpiSessions)
    .values(row)
    .onConflictDoUpdate({
      target: [ocpiSessions.tenantId, ocpiSessions.countryCode, ocpiSessions.partyId, ocpiSessions.sessionKey],
      set: { version: row.version, object: row.object, lastUpdated: row.lastUpdated, gatewaySessionId: row.gatewaySessionId, updatedAt: row.updatedAt },
    });
  if (gatewaySessionId) {
    const { id, ...rest } = info;
    const fact: SessionFact = { kind: "session", version: ctx.version, sessionId: id, ...rest, correlationId: ctx.correlationId };
    await forward(ctx, gatewaySessionId, fact);
  }
}

/** `PUT {sessions}/{cc}/{pid}/{session_id}`. */
export async function putSession(ctx: ReceiverContext, party: Party, sessionId: string, body: unknown): Promise<ReceiveOutcome> {
  const object = validate(ctx.codec.session.put, body, "a Session");
  assertOwner(ctx, object, party);
  assertSame(object, "id", sessionId);
  const held = await loadSession(ctx, party, sessionId);
  if (held && !isLater(object.last_updated, held.object.last_updated)) return ok(party);
  await saveSession(ctx, party, sessionId, object, held?.gatewaySessionId ?? null);
  return held ? ok(party) : created(party);
}

/** `PATCH {sessions}/{cc}/{pid}/{session_id}`; on 2.2.1 `charging_periods` are appended. */
export async function patchSession(ctx: ReceiverContext, party: Party, sessionId: string, body: unknown): Promise<ReceiveOutcome> {
  const patch = validate(ctx.codec.session.patch, body, "a Session PATCH");
  assertOwner(ctx, patch, party);
  assertSame(patch, "id", sessionId);
  const held = await loadSession(ctx, party, sessionId);
  if (!held) throw notHeld(`Session ${sessionId}`, OTHER);
  if (patch.last_updated !== undefined && !isLater(patch.last_updated, held.object.last_updated)) return ok(party);
  const merged = { ...held.object, ...patch };
  if (ctx.version === "2.2.1") {
    const added = Array.isArray(patch.charging_periods) ? patch.charging_periods : [];
    merged.charging_periods = added.length > 0 ? [...listOf(held.object.charging_periods), ...added] : held.object.charging_periods;
    if (merged.charging_periods === undefined) delete merged.charging_periods;
  }
  if (exactJson(merged) === exactJson(held.object)) return ok(party);
  await saveSession(ctx, party, sessionId, merged, held.gatewaySessionId);
  return ok(party);
}

/** `GET {sessions}/{cc}/{pid}/{session_id}`. */
export async function getSession(ctx: ReceiverContext, party: Party, sessionId: string): Promise<ReceiveOutcome> {
  const held = await loadSession(ctx, party, sessionId);
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
