/**
 * zod building blocks for OCPI objects in snake_case, shared by both versions. Validation is
 * what CONTRACT §7.2 asks: the fields the specification marks required at the level the URL
 * addresses, with their JSON types and enum values, plus the fields the gateway itself uses
 * wherever they appear; other fields are kept as sent, unchecked. Numbers arrive as raw
 * number leaves (`./json.ts`), never as floats.
 */
import { z } from "zod";
import { isOcpiDateTime } from "./datetime";
import { parseDecimal } from "./decimal";
import { isRawNumber } from "./json";
import type { RawNumber } from "./json";

/** Longest id accepted: OCPI's are at most 39 characters; a little room for lenient peers. */
export const MAX_ID_LENGTH = 255;

/** A CiString id: compared case-insensitively, kept as written. */
export const Id = z.string().min(1, "must not be empty").max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`);
/** `country_code`: two letters (case-insensitive). */
export const CountryCode = z.string().regex(/^[A-Za-z]{2}$/, "must be two letters");
/** `party_id`: three letters or digits (case-insensitive). */
export const PartyId = z.string().regex(/^[A-Za-z0-9]{3}$/, "must be three letters or digits");
/** OCPI DateTime as CONTRACT §7.2 accepts it. */
export const DateTime = z.string().refine(isOcpiDateTime, "must be a DateTime YYYY-MM-DDTHH:MM:SS[.fff][Z] in UTC");
/** A JSON number, kept exact. */
export const Num = z.custom<RawNumber>((value) => isRawNumber(value) && parseDecimal(value.rawJSON) !== null, "must be a number");
/** A JSON integer, kept exact. */
export const Int = z.custom<RawNumber>((value) => isRawNumber(value) && /^-?\d+$/.test(value.rawJSON), "must be an integer");
/** Any JSON object (its fields unchecked). */
export const AnyObject = z.looseObject({});
/** An optional field: absent or null means not given. */
export const opt = <T extends z.ZodType>(schema: T) => schema.nullish();

/** OCPI Price (2.2.1): `excl_vat` required, `incl_vat` optional. */
export const Price = z.looseObject({ excl_vat: Num, incl_vat: opt(Num) });

/** An EVSE status (CONTRACT §7.5); the same values in both versions. */
export const EvseStatus = z.enum(["AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED", "UNKNOWN"]);

/** A connector inside an EVSE: only its id is used. */
export const NestedConnector = z.looseObject({ id: Id });
/** An EVSE inside a Location: its uid, status and connector ids are used. */
export const NestedEvse = z.looseObject({ uid: Id, status: EvseStatus, connectors: opt(z.array(NestedConnector)) });

/** An EVSE PUT or PATCHed on its own: the same fields are checked in both versions. */
export const Evse = z.looseObject({ uid: Id, status: EvseStatus, connectors: z.array(NestedConnector).min(1, "must list at least one connector"), last_updated: DateTime });

/** The STOP_SESSION the gateway sends: the same in both versions. */
export const OutboundStopSession = z.strictObject({ response_url: z.string(), session_id: Id });

/** `{version, url}` entries of a versions list. */
export const VersionsList = z.array(z.looseObject({ version: z.string(), url: z.string() }));

/** A credentials token: printable ASCII without spaces. */
export const TokenText = z.string().regex(/^[\x21-\x7e]{1,255}$/, "must be 1 to 255 printable ASCII characters without spaces");

/** Business details: the name is shown in the connection. */
export const BusinessDetails = z.looseObject({ name: z.string() });

/** A charging period: kept and (2.2.1 PATCH) appended, otherwise unchecked. */
export const ChargingPeriods = z.array(AnyObject);

/** Where a zod issue points, as `evses.0.status`, or `body` for the whole. */
export function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join(".") || "body";
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** A `status_message` naming the offending fields (at most three). */
export function describeIssues(error: z.ZodError, input: unknown): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const missing = issue.path.length > 0 && valueAt(input, issue.path) === undefined && issue.code !== "unrecognized_keys";
      return `${issuePath(issue)}: ${missing ? "is required" : issue.message}`;
    })
    .join("; ");
}
