/** OCPI 2.2.1 on the wire (tag `2.2.1` of the specification), read into and written from the model. */
import { z } from "zod";
import type { CommandAnswer, VersionCodec, WireSchema } from "./codec";
import { dateTime, decimalText, firstText, writeStopSession } from "./codec";
import { formatOcpiDateTime } from "./datetime";
import type { RawNumber } from "./json";
import type { CdrInfo, CommandResult, Cost, Endpoint, Party, PeerCredentials, SessionInfo } from "./model";
import {
  AnyObject,
  BusinessDetails,
  ChargingPeriods,
  CountryCode,
  DateTime,
  Evse,
  Id,
  Int,
  NestedEvse,
  Num,
  OutboundStopSession,
  PartyId,
  Price,
  TokenText,
  opt,
} from "./schemas";

export const AuthMethod = z.enum(["AUTH_REQUEST", "COMMAND", "WHITELIST"]);
export const SessionStatus = z.enum(["ACTIVE", "COMPLETED", "INVALID", "PENDING", "RESERVATION"]);
export const ConnectorType = z.enum([
  "CHADEMO", "CHAOJI", "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D", "DOMESTIC_E", "DOMESTIC_F", "DOMESTIC_G", "DOMESTIC_H",
  "DOMESTIC_I", "DOMESTIC_J", "DOMESTIC_K", "DOMESTIC_L", "DOMESTIC_M", "DOMESTIC_N", "DOMESTIC_O", "GBT_AC", "GBT_DC", "IEC_62196_T1",
  "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C", "NEMA_5_20", "NEMA_6_30", "NEMA_6_50",
  "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50", "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S",
]);
export const ConnectorFormat = z.enum(["SOCKET", "CABLE"]);
export const PowerType = z.enum(["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"]);
export const Role = z.enum(["CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"]);
export const CommandResponseType = z.enum(["NOT_SUPPORTED", "REJECTED", "ACCEPTED", "UNKNOWN_SESSION"]);
export const CommandResultType = z.enum([
  "ACCEPTED", "CANCELED_RESERVATION", "EVSE_OCCUPIED", "EVSE_INOPERATIVE", "FAILED", "NOT_SUPPORTED", "REJECTED", "TIMEOUT", "UNKNOWN_RESERVATION",
]);

/** Inside a Session or CDR only `uid` is used. */
const CdrToken = z.looseObject({ uid: Id });

const Location = z.looseObject({
  country_code: CountryCode,
  party_id: PartyId,
  id: Id,
  publish: z.boolean(),
  address: z.string(),
  city: z.string(),
  country: z.string(),
  coordinates: AnyObject,
  time_zone: z.string(),
  evses: opt(z.array(NestedEvse)),
  last_updated: DateTime,
});
const Connector = z.looseObject({
  id: Id,
  standard: ConnectorType,
  format: ConnectorFormat,
  power_type: PowerType,
  max_voltage: Int,
  max_amperage: Int,
  last_updated: DateTime,
});
const Tariff = z.looseObject({
  country_code: CountryCode,
  party_id: PartyId,
  id: Id,
  currency: z.string(),
  min_price: opt(Price),
  max_price: opt(Price),
  elements: z.array(AnyObject).min(1, "must list at least one element"),
  last_updated: DateTime,
});
const Session = z.looseObject({
  country_code: CountryCode,
  party_id: PartyId,
  id: Id,
  start_date_time: DateTime,
  end_date_time: opt(DateTime),
  kwh: Num,
  cdr_token: CdrToken,
  auth_method: AuthMethod,
  authorization_reference: opt(Id),
  location_id: Id,
  evse_uid: Id,
  connector_id: Id,
  currency: z.string(),
  charging_periods: opt(ChargingPeriods),
  total_cost: opt(Price),
  status: SessionStatus,
  last_updated: DateTime,
});
const Cdr = z.looseObject({
  country_code: CountryCode,
  party_id: PartyId,
  id: Id,
  start_date_time: DateTime,
  end_date_time: DateTime,
  session_id: opt(Id),
  cdr_token: CdrToken,
  auth_method: AuthMethod,
  authorization_reference: opt(Id),
  cdr_location: AnyObject,
  currency: z.string(),
  charging_periods: z.array(AnyObject).min(1, "must list at least one charging period"),
  total_cost: Price,
  total_fixed_cost: opt(Price),
  total_energy_cost: opt(Price),
  total_time_cost: opt(Price),
  total_parking_cost: opt(Price),
  total_reservation_cost: opt(Price),
  total_energy: Num,
  total_time: Num,
  total_parking_time: opt(Num),
  credit: opt(z.boolean()),
  credit_reference_id: opt(Id),
  last_updated: DateTime,
});
const Credentials = z.looseObject({
  token: TokenText,
  url: z.string(),
  roles: z
    .array(z.looseObject({ role: Role, business_details: BusinessDetails, party_id: PartyId, country_code: CountryCode }))
    .min(1, "must list at least one role"),
});
const VersionDetails = z.looseObject({
  version: z.string(),
  endpoints: z.array(z.looseObject({ identifier: z.string(), role: z.enum(["SENDER", "RECEIVER"]), url: z.string() })),
});
const CommandResponse = z.looseObject({ result: CommandResponseType, timeout: opt(Int), message: opt(z.array(AnyObject)) });
const CommandResult = z.looseObject({ result: CommandResultType, message: opt(z.array(AnyObject)) });

/** A PATCH: any subset of the fields, typed as in a PUT, with `last_updated` required. */
const patch = <S extends z.ZodObject>(schema: S) => schema.partial().extend({ last_updated: DateTime });

// What the gateway sends: exactly these fields (CONTRACT §7.3, §7.6).
const OutboundToken = z.strictObject({
  country_code: CountryCode,
  party_id: PartyId,
  uid: z.string(),
  type: z.literal("AD_HOC_USER"),
  contract_id: z.string(),
  issuer: z.string(),
  valid: z.literal(true),
  whitelist: z.literal("NEVER"),
  last_updated: DateTime,
});
const OutboundStartSession = z.strictObject({
  response_url: z.string(),
  token: OutboundToken,
  location_id: Id,
  evse_uid: Id,
  connector_id: Id.optional(),
  authorization_reference: Id,
});
const OutboundCredentials = z.strictObject({
  token: TokenText,
  url: z.string(),
  roles: z.array(z.strictObject({ role: z.literal("EMSP"), country_code: CountryCode, party_id: PartyId, business_details: z.strictObject({ name: z.string() }) })).length(1),
});

function cost(price: { excl_vat: RawNumber; incl_vat?: RawNumber | null } | null | undefined): Cost | null {
  if (!price) return null;
  return { exclVat: decimalText(price.excl_vat), inclVat: price.incl_vat ? decimalText(price.incl_vat) : null };
}

function readSession(object: Record<string, unknown>): SessionInfo {
  const s = Session.parse(object);
  return {
    id: s.id,
    party: { countryCode: s.country_code, partyId: s.party_id },
    status: s.status,
    kwh: decimalText(s.kwh),
    cost: cost(s.total_cost),
    currency: s.currency,
    startedAt: dateTime(s.start_date_time),
    endedAt: s.end_date_time ? dateTime(s.end_date_time) : null,
    tokenUid: s.cdr_token.uid,
    authorizationReference: s.authorization_reference ?? null,
  };
}

function readCdr(object: Record<string, unknown>): CdrInfo {
  const c = Cdr.parse(object);
  return {
    id: c.id,
    party: { countryCode: c.country_code, partyId: c.party_id },
    sessionId: c.session_id ?? null,
    totalCost: cost(c.total_cost)!,
    currency: c.currency,
    kwh: decimalText(c.total_energy),
    startedAt: dateTime(c.start_date_time),
    endedAt: dateTime(c.end_date_time),
    credit: c.credit === true,
    creditReferenceId: c.credit_reference_id ?? null,
    tokenUid: c.cdr_token.uid,
    authorizationReference: c.authorization_reference ?? null,
  };
}

function readCredentials(object: Record<string, unknown>): PeerCredentials {
  const c = Credentials.parse(object);
  return {
    token: c.token,
    url: c.url,
    parties: c.roles.map((r) => ({ countryCode: r.country_code, partyId: r.party_id, role: r.role, name: r.business_details.name })),
  };
}

function commandAnswer(data: unknown): CommandAnswer | null {
  const parsed = CommandResponse.safeParse(data);
  if (!parsed.success) return null;
  return { response: parsed.data.result, timeoutSeconds: parsed.data.timeout ? Number(parsed.data.timeout.rawJSON) : null, message: firstText(parsed.data.message) };
}

/** The 2.2.1 codec. */
export const v221: VersionCodec = {
  version: "2.2.1",
  ownerInBody: true,
  location: { put: Location as WireSchema, patch: patch(Location) as WireSchema },
  evse: { put: Evse as WireSchema, patch: patch(Evse) as WireSchema },
  connector: { put: Connector as WireSchema, patch: patch(Connector) as WireSchema },
  tariff: { put: Tariff as WireSchema, patch: null },
  session: { put: Session as WireSchema, patch: patch(Session) as WireSchema, read: (object: Record<string, unknown>, _party: Party) => readSession(object) },
  cdr: { post: Cdr as WireSchema, read: (object: Record<string, unknown>, _party: Party) => readCdr(object) },
  credentials: {
    schema: Credentials as WireSchema,
    read: readCredentials,
    write: (identity, token) => ({
      token,
      url: identity.versionsUrl,
      roles: [{ role: "EMSP", country_code: identity.countryCode, party_id: identity.partyId, business_details: { name: identity.businessName } }],
    }),
  },
  versionDetails: {
    schema: VersionDetails as WireSchema,
    endpoints: (object): Endpoint[] => VersionDetails.parse(object).endpoints.map((e) => ({ identifier: e.identifier, role: e.role, url: e.url })),
  },
  commandAnswer,
  commandResult: {
    schema: CommandResult as WireSchema,
    read: (object) => {
      const r = CommandResult.parse(object);
      return { result: r.result as CommandResult, message: firstText(r.message) };
    },
  },
  startSession: (input) => ({
    response_url: input.responseUrl,
    token: {
      country_code: input.identity.countryCode,
      party_id: input.identity.partyId,
      uid: input.tokenUid,
      type: "AD_HOC_USER",
      contract_id: input.tokenUid,
      issuer: input.identity.businessName,
      valid: true,
      whitelist: "NEVER",
      last_updated: formatOcpiDateTime(input.issuedAt),
    },
    location_id: input.locationId,
    evse_uid: input.evseUid,
    ...(input.connectorId !== null ? { connector_id: input.connectorId } : {}),
    authorization_reference: input.authorizationReference,
  }),
  stopSession: writeStopSession,
  outbound: { startSession: OutboundStartSession as WireSchema, stopSession: OutboundStopSession as WireSchema, credentials: OutboundCredentials as WireSchema },
};
