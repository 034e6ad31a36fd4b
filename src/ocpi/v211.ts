/**
 * OCPI 2.1.1 on the wire (tag `2.1.1-d2` of the specification), read into and written from the
 * model. Differences from 2.2.1 that matter here: no owner in the bodies, `auth_id` instead of
 * `cdr_token`, costs as plain numbers excluding VAT, `start_datetime`/`end_datetime` in Sessions,
 * `stop_date_time` in CDRs, a flat credentials object, and Tariff PATCH.
 */
import { z } from "zod";
import type { CommandAnswer, VersionCodec, WireSchema } from "./codec";
import { dateTime, decimalText, writeStopSession } from "./codec";
import { formatOcpiDateTime } from "./datetime";
import type { CdrInfo, CommandResult, Endpoint, Party, PeerCredentials, SessionInfo } from "./model";
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
  TokenText,
  opt,
} from "./schemas";

export const AuthMethod = z.enum(["AUTH_REQUEST", "WHITELIST"]);
export const SessionStatus = z.enum(["ACTIVE", "COMPLETED", "INVALID", "PENDING"]);
export const LocationType = z.enum(["ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT", "OTHER", "UNKNOWN"]);
export const ConnectorType = z.enum([
  "CHADEMO", "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D", "DOMESTIC_E", "DOMESTIC_F", "DOMESTIC_G", "DOMESTIC_H", "DOMESTIC_I",
  "DOMESTIC_J", "DOMESTIC_K", "DOMESTIC_L", "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A",
  "IEC_62196_T3C", "TESLA_R", "TESLA_S",
]);
export const ConnectorFormat = z.enum(["SOCKET", "CABLE"]);
export const PowerType = z.enum(["AC_1_PHASE", "AC_3_PHASE", "DC"]);
export const CommandResponseType = z.enum(["NOT_SUPPORTED", "REJECTED", "ACCEPTED", "TIMEOUT", "UNKNOWN_SESSION"]);

/** A 2.1.1 Session carries a whole Location; inside it only the EVSEs' used fields are checked. */
const EmbeddedLocation = z.looseObject({ evses: opt(z.array(NestedEvse)) });

const Location = z.looseObject({
  id: Id,
  type: LocationType,
  address: z.string(),
  city: z.string(),
  postal_code: z.string(),
  country: z.string(),
  coordinates: AnyObject,
  evses: opt(z.array(NestedEvse)),
  last_updated: DateTime,
});
const Connector = z.looseObject({
  id: Id,
  standard: ConnectorType,
  format: ConnectorFormat,
  power_type: PowerType,
  voltage: Int,
  amperage: Int,
  last_updated: DateTime,
});
const Tariff = z.looseObject({ id: Id, currency: z.string(), elements: z.array(AnyObject).min(1, "must list at least one element"), last_updated: DateTime });
const Session = z.looseObject({
  id: Id,
  start_datetime: DateTime,
  end_datetime: opt(DateTime),
  kwh: Num,
  auth_id: Id,
  auth_method: AuthMethod,
  location: EmbeddedLocation,
  currency: z.string(),
  charging_periods: opt(ChargingPeriods),
  total_cost: opt(Num),
  status: SessionStatus,
  last_updated: DateTime,
});
const Cdr = z.looseObject({
  id: Id,
  start_date_time: DateTime,
  stop_date_time: DateTime,
  auth_id: Id,
  auth_method: AuthMethod,
  location: EmbeddedLocation,
  currency: z.string(),
  charging_periods: z.array(AnyObject).min(1, "must list at least one charging period"),
  total_cost: Num,
  total_energy: Num,
  total_time: Num,
  total_parking_time: opt(Num),
  last_updated: DateTime,
});
const Credentials = z.looseObject({ token: TokenText, url: z.string(), business_details: BusinessDetails, party_id: PartyId, country_code: CountryCode });
const VersionDetails = z.looseObject({ version: z.string(), endpoints: z.array(z.looseObject({ identifier: z.string(), url: z.string() })) });
/** 2.1.1-d2 answers `{result}`; the 2.1.1 text said a bare enum, which some CPOs still send. */
const CommandAnswerBody = z.union([z.looseObject({ result: CommandResponseType }), CommandResponseType.transform((result) => ({ result }))]);
const CommandResponse = z.looseObject({ result: CommandResponseType });

/** A PATCH: any subset of the fields, typed as in a PUT; `last_updated` is optional on 2.1.1. */
const patch = <S extends z.ZodObject>(schema: S) => schema.partial();

const OutboundToken = z.strictObject({
  uid: z.string(),
  type: z.literal("OTHER"),
  auth_id: z.string(),
  issuer: z.string(),
  valid: z.literal(true),
  whitelist: z.literal("ALWAYS"),
  last_updated: DateTime,
});
const OutboundStartSession = z.strictObject({ response_url: z.string(), token: OutboundToken, location_id: Id, evse_uid: Id });
const OutboundCredentials = z.strictObject({
  token: TokenText,
  url: z.string(),
  business_details: z.strictObject({ name: z.string() }),
  party_id: PartyId,
  country_code: CountryCode,
});

function readSession(object: Record<string, unknown>, party: Party): SessionInfo {
  const s = Session.parse(object);
  return {
    id: s.id,
    party,
    status: s.status,
    kwh: decimalText(s.kwh),
    cost: s.total_cost ? { exclVat: decimalText(s.total_cost), inclVat: null } : null,
    currency: s.currency,
    startedAt: dateTime(s.start_datetime),
    endedAt: s.end_datetime ? dateTime(s.end_datetime) : null,
    tokenUid: s.auth_id,
    authorizationReference: null,
  };
}

function readCdr(object: Record<string, unknown>, party: Party): CdrInfo {
  const c = Cdr.parse(object);
  return {
    id: c.id,
    party,
    sessionId: null,
    totalCost: { exclVat: decimalText(c.total_cost), inclVat: null },
    currency: c.currency,
    kwh: decimalText(c.total_energy),
    startedAt: dateTime(c.start_date_time),
    endedAt: dateTime(c.stop_date_time),
    credit: false,
    creditReferenceId: null,
    tokenUid: c.auth_id,
    authorizationReference: null,
  };
}

function readCredentials(object: Record<string, unknown>): PeerCredentials {
  const c = Credentials.parse(object);
  return { token: c.token, url: c.url, parties: [{ countryCode: c.country_code, partyId: c.party_id, role: null, name: c.business_details.name }] };
}

function commandAnswer(data: unknown): CommandAnswer | null {
  const parsed = CommandAnswerBody.safeParse(data);
  if (!parsed.success) return null;
  return { response: parsed.data.result, timeoutSeconds: null, message: null };
}

/** The 2.1.1 codec. */
export const v211: VersionCodec = {
  version: "2.1.1",
  ownerInBody: false,
  location: { put: Location as WireSchema, patch: patch(Location) as WireSchema },
  evse: { put: Evse as WireSchema, patch: patch(Evse) as WireSchema },
  connector: { put: Connector as WireSchema, patch: patch(Connector) as WireSchema },
  tariff: { put: Tariff as WireSchema, patch: patch(Tariff) as WireSchema },
  session: { put: Session as WireSchema, patch: patch(Session) as WireSchema, read: readSession },
  cdr: { post: Cdr as WireSchema, read: readCdr },
  credentials: {
    schema: Credentials as WireSchema,
    read: readCredentials,
    write: (identity, token) => ({
      token,
      url: identity.versionsUrl,
      business_details: { name: identity.businessName },
      party_id: identity.partyId,
      country_code: identity.countryCode,
    }),
  },
  versionDetails: {
    schema: VersionDetails as WireSchema,
    endpoints: (object): Endpoint[] => VersionDetails.parse(object).endpoints.map((e) => ({ identifier: e.identifier, role: null, url: e.url })),
  },
  commandAnswer,
  commandResult: {
    schema: CommandResponse as WireSchema,
    read: (object) => ({ result: CommandResponse.parse(object).result as CommandResult, message: null }),
  },
  startSession: (input) => ({
    response_url: input.responseUrl,
    token: {
      uid: input.tokenUid,
      type: "OTHER",
      auth_id: input.tokenUid,
      issuer: input.identity.businessName,
      valid: true,
      whitelist: "ALWAYS",
      last_updated: formatOcpiDateTime(input.issuedAt),
    },
    location_id: input.locationId,
    evse_uid: input.evseUid,
  }),
  stopSession: writeStopSession,
  outbound: { startSession: OutboundStartSession as WireSchema, stopSession: OutboundStopSession as WireSchema, credentials: OutboundCredentials as WireSchema },
};
