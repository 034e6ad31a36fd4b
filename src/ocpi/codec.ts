/**
 * What each version's codec offers: the schemas of what the gateway receives, readers into the
 * camelCase model, and writers of what it sends. `v221.ts` and `v211.ts` implement it.
 */
import type { z } from "zod";
import { normalizeOcpiDateTime } from "./datetime";
import { normalizeDecimal } from "./decimal";
import type { RawNumber } from "./json";
import type { CdrInfo, CommandResponse, CommandResult, EmspIdentity, Endpoint, OcpiVersion, Party, PeerCredentials, SessionInfo } from "./model";

/** A schema of a received object (snake_case, loose: unknown fields are kept). */
export type WireSchema = z.ZodType<Record<string, unknown>>;

/** The START_SESSION a codec writes, in model terms (CONTRACT §7.6). */
export interface StartSessionInput {
  responseUrl: string;
  tokenUid: string;
  identity: EmspIdentity;
  locationId: string;
  evseUid: string;
  /** Sent on 2.2.1 only, and only when mapped. */
  connectorId: string | null;
  /** The gateway session id; sent as `authorization_reference` on 2.2.1. */
  authorizationReference: string;
  /** The token's `last_updated` (ms). */
  issuedAt: number;
}

/** The CPO's immediate answer to a command, read from the envelope's `data`. */
export interface CommandAnswer {
  response: CommandResponse;
  timeoutSeconds: number | null;
  message: string | null;
}

export interface VersionCodec {
  version: OcpiVersion;
  /** Whether Locations, Sessions, Tariffs and CDRs name their owner (`country_code`, `party_id`) in the body. */
  ownerInBody: boolean;
  location: { put: WireSchema; patch: WireSchema };
  evse: { put: WireSchema; patch: WireSchema };
  connector: { put: WireSchema; patch: WireSchema };
  /** `patch` is null where the version has no Tariff PATCH (2.2.1). */
  tariff: { put: WireSchema; patch: WireSchema | null };
  session: { put: WireSchema; patch: WireSchema; read(object: Record<string, unknown>, party: Party): SessionInfo };
  cdr: { post: WireSchema; read(object: Record<string, unknown>, party: Party): CdrInfo };
  credentials: { schema: WireSchema; read(object: Record<string, unknown>): PeerCredentials; write(identity: EmspIdentity, token: string): Record<string, unknown> };
  versionDetails: { schema: WireSchema; endpoints(object: Record<string, unknown>): Endpoint[] };
  /** Reads the `data` of an answer to a command; null when it is not a readable answer. */
  commandAnswer(data: unknown): CommandAnswer | null;
  commandResult: { schema: WireSchema; read(object: Record<string, unknown>): { result: CommandResult; message: string | null } };
  startSession(input: StartSessionInput): Record<string, unknown>;
  stopSession(input: { responseUrl: string; sessionId: string }): Record<string, unknown>;
  /** Outbound bodies, checked before they leave (and by the CPO simulator). */
  outbound: { startSession: WireSchema; stopSession: WireSchema; credentials: WireSchema };
}

/** The first `text` of a DisplayText list, for logs and views. */
export function firstText(messages: unknown): string | null {
  if (!Array.isArray(messages)) return null;
  for (const m of messages) {
    if (typeof m === "object" && m !== null && typeof (m as { text?: unknown }).text === "string") return (m as { text: string }).text;
  }
  return null;
}

/** A number a schema has checked, as its normalised decimal text. */
export const decimalText = (value: RawNumber): string => normalizeDecimal(value.rawJSON)!;

/** A DateTime a schema has checked, normalised. */
export const dateTime = (value: string): string => normalizeOcpiDateTime(value)!;

/** The STOP_SESSION body: the same in both versions. */
export const writeStopSession = ({ responseUrl, sessionId }: { responseUrl: string; sessionId: string }): Record<string, unknown> => ({ response_url: responseUrl, session_id: sessionId });
