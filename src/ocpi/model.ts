/**
 * The gateway's one camelCase model of OCPI, whatever the version on the wire. The codecs of
 * each version (`v211/`, `v221/`) translate into and out of it; nothing outside `src/ocpi/`
 * sees OCPI's snake_case.
 */

/** The OCPI versions the gateway serves, highest first. */
export const OCPI_VERSIONS = ["2.2.1", "2.1.1"] as const;
export type OcpiVersion = (typeof OCPI_VERSIONS)[number];

export function isOcpiVersion(value: string): value is OcpiVersion {
  return (OCPI_VERSIONS as readonly string[]).includes(value);
}

/** A party: ISO 3166 country code and party id, as written by whoever named it. */
export interface Party {
  countryCode: string;
  partyId: string;
}

/** A party of the CPO's platform, from its credentials. `role` is null on 2.1.1. */
export interface CpoParty extends Party {
  role: string | null;
  name: string | null;
}

/** One endpoint of a version's details. `role` is null on 2.1.1. */
export interface Endpoint {
  identifier: string;
  role: "SENDER" | "RECEIVER" | null;
  url: string;
}

/** `{version, url}` from a versions list. */
export interface VersionEntry {
  version: string;
  url: string;
}

/** The peer's credentials: its token for the gateway to present, its versions URL and its parties. */
export interface PeerCredentials {
  token: string;
  url: string;
  /** Every role the peer declared (2.2.1), or its one party (2.1.1). */
  parties: CpoParty[];
}

/** The gateway's own identity as it writes it into credentials and tokens (CONTRACT §7.1). */
export interface EmspIdentity extends Party {
  businessName: string;
  versionsUrl: string;
}

/** A cost as exact decimal strings; `inclVat` null when not given (always on 2.1.1). */
export interface Cost {
  exclVat: string;
  inclVat: string | null;
}

/** EVSE status values (CONTRACT §7.5). */
export const EVSE_STATUSES = ["AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED", "UNKNOWN"] as const;
export type EvseStatus = (typeof EVSE_STATUSES)[number];

/** What the gateway reads from a CPO Session. Times are ISO strings in UTC. */
export interface SessionInfo {
  id: string;
  party: Party;
  status: "ACTIVE" | "COMPLETED" | "INVALID" | "PENDING" | "RESERVATION";
  /** kWh as an exact decimal string. */
  kwh: string;
  cost: Cost | null;
  currency: string;
  startedAt: string;
  endedAt: string | null;
  /** `cdr_token.uid` (2.2.1) or `auth_id` (2.1.1). */
  tokenUid: string;
  /** 2.2.1 only; null on 2.1.1. */
  authorizationReference: string | null;
}

/** What the gateway reads from a CDR. */
export interface CdrInfo {
  id: string;
  party: Party;
  /** The CPO's Session id (2.2.1); null when not given and always on 2.1.1. */
  sessionId: string | null;
  totalCost: Cost;
  currency: string;
  /** `total_energy` in kWh, exact. */
  kwh: string;
  startedAt: string;
  endedAt: string;
  /** A 2.2.1 Credit CDR. */
  credit: boolean;
  creditReferenceId: string | null;
  tokenUid: string;
  authorizationReference: string | null;
}

/** The commands the gateway sends. */
export type CommandKind = "START_SESSION" | "STOP_SESSION";

/** The CPO's immediate answer to a command, as the gateway records it. */
export type CommandResponse = "ACCEPTED" | "REJECTED" | "UNKNOWN_SESSION" | "NOT_SUPPORTED" | "TIMEOUT" | "ERROR";

/** Results a CPO may POST to a `response_url` (2.2.1 CommandResultType and 2.1.1 CommandResponseType). */
export const COMMAND_RESULTS = [
  "ACCEPTED",
  "CANCELED_RESERVATION",
  "EVSE_OCCUPIED",
  "EVSE_INOPERATIVE",
  "FAILED",
  "NOT_SUPPORTED",
  "REJECTED",
  "TIMEOUT",
  "UNKNOWN_RESERVATION",
  "UNKNOWN_SESSION",
] as const;
export type CommandResult = (typeof COMMAND_RESULTS)[number];

/** A station's mapping to an EVSE (CONTRACT §7.5); country and party null when the tenant left them out. */
export interface EvseMapping {
  locationId: string;
  evseUid: string;
  connectorId: string | null;
  countryCode: string | null;
  partyId: string | null;
}
