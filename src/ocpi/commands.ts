/**
 * Commands to the CPO (CONTRACT §7.6): the token uid minted for each session, the `response_url`
 * of each command and its record, the START_SESSION / STOP_SESSION bodies of each version, and
 * the call itself. The payment flow in the session object decides when to call these.
 */
import { and, eq, isNull } from "drizzle-orm";
import { database } from "../db/client";
import type { Database } from "../db/client";
import { ocpiCommands, ocpiTokenUids } from "../db/schema";
import { sealerFor } from "../lib/crypto";
import { callOcpi, describeResult, isSuccess } from "./client";
import { codecFor } from "./codecs";
import { ocpiConfig, publicBaseUrl } from "./config";
import { endpointOf, firstCpoParty, getConnection } from "./connection";
import type { CommandResultFact } from "./facts";
import { emspIdentity } from "./identity";
import { idKey } from "./ids";
import type { CommandKind, CommandResponse, CommandResult, EvseMapping, OcpiVersion, Party } from "./model";
import { encodingFor } from "./token";

/** Hexadecimal digits after the prefix of a token uid: prefix (4) + 16 = 20, the OCPP 1.6 idTag limit. */
export const TOKEN_UID_HEX_DIGITS = 16;
/** Random bytes in a command id (in its `response_url`). */
const COMMAND_ID_BYTES = 16;
/** Minting retries on the (astronomically unlikely) collision with an earlier uid or command id. */
const MINT_ATTEMPTS = 5;

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Mints a new token uid for a gateway session: `OCPI_TOKEN_PREFIX` followed by 16 upper-case
 * hexadecimal digits, never used before, and records which session it belongs to so that the
 * CPO's Sessions and CDRs carrying it find the session.
 */
export async function mintTokenUid(env: Env, tenantId: string, gatewaySessionId: string): Promise<string> {
  const db = database(env.DB);
  const prefix = ocpiConfig(env).tokenPrefix;
  for (let attempt = 0; attempt < MINT_ATTEMPTS; attempt++) {
    const uid = prefix + randomHex(TOKEN_UID_HEX_DIGITS / 2).toUpperCase();
    const inserted = await db
      .insert(ocpiTokenUids)
      .values({ uid: idKey(uid), tenantId, gatewaySessionId: gatewaySessionId.toLowerCase(), createdAt: Date.now() })
      .onConflictDoNothing()
      .returning({ uid: ocpiTokenUids.uid });
    if (inserted.length === 1) return uid;
  }
  throw new Error("could not mint a unique token uid");
}

/** A command ready to send: its id and its `response_url`. */
export interface PreparedCommand {
  commandId: string;
  responseUrl: string;
}

/**
 * Records a command about to be sent and mints its `response_url`, unique per command, under
 * `{PUBLIC_URL}/ocpi/{version}/commands/{kind}/{id}`. The CPO's result POSTed there is matched
 * to this record (and to `gatewaySessionId`) by the command-result receiver.
 */
export async function prepareCommand(
  env: Env,
  tenantId: string,
  input: { kind: CommandKind; version: OcpiVersion; gatewaySessionId: string; to: Party | null },
): Promise<PreparedCommand> {
  const db = database(env.DB);
  for (let attempt = 0; attempt < MINT_ATTEMPTS; attempt++) {
    const commandId = randomHex(COMMAND_ID_BYTES);
    const inserted = await db
      .insert(ocpiCommands)
      .values({
        id: commandId,
        tenantId,
        version: input.version,
        kind: input.kind,
        gatewaySessionId: input.gatewaySessionId.toLowerCase(),
        toCountryCode: input.to?.countryCode ?? null,
        toPartyId: input.to?.partyId ?? null,
        createdAt: Date.now(),
      })
      .onConflictDoNothing()
      .returning({ id: ocpiCommands.id });
    if (inserted.length === 1) return { commandId, responseUrl: `${publicBaseUrl(env)}/ocpi/${input.version}/commands/${input.kind}/${commandId}` };
  }
  throw new Error("could not mint a unique command id");
}

/**
 * The START_SESSION body of CONTRACT §7.6 for a version, and nothing else: on 2.2.1 an
 * `AD_HOC_USER` token with `contract_id`, `connector_id` when mapped and `authorization_reference`
 * = the session id; on 2.1.1 an `OTHER` token with `auth_id`, no connector and no reference.
 */
export function buildStartSessionBody(
  env: Env,
  input: { version: OcpiVersion; responseUrl: string; tokenUid: string; mapping: Pick<EvseMapping, "locationId" | "evseUid" | "connectorId">; gatewaySessionId: string; now?: number },
): Record<string, unknown> {
  const codec = codecFor(input.version);
  const body = codec.startSession({
    responseUrl: input.responseUrl,
    tokenUid: input.tokenUid,
    identity: emspIdentity(env),
    locationId: input.mapping.locationId,
    evseUid: input.mapping.evseUid,
    connectorId: input.mapping.connectorId,
    authorizationReference: input.gatewaySessionId,
    issuedAt: input.now ?? Date.now(),
  });
  codec.outbound.startSession.parse(body);
  return body;
}

/** The STOP_SESSION body: `{response_url, session_id}` (the CPO's Session id). */
export function buildStopSessionBody(input: { version: OcpiVersion; responseUrl: string; sessionId: string }): Record<string, unknown> {
  const codec = codecFor(input.version);
  const body = codec.stopSession({ responseUrl: input.responseUrl, sessionId: input.sessionId });
  codec.outbound.stopSession.parse(body);
  return body;
}

/** What became of a command sent to the CPO. */
export interface CommandOutcome {
  /** False only when the request surely did not reach the CPO (connection refused, name not resolved, not connected). */
  reached: boolean;
  /** The CPO's `result`, or `ERROR` when its answer was not a `1000` envelope with a readable result. */
  response: CommandResponse;
  /** The 2.2.1 `timeout` the CPO gave, in seconds. */
  timeoutSeconds: number | null;
  message: string | null;
}

/**
 * Sends START_SESSION or STOP_SESSION to the tenant's CPO (`{commands}/{kind}`) and reads its
 * immediate answer. On 2.2.1 the request carries `X-Request-ID`, `X-Correlation-ID` (the given
 * one, e.g. of the CPO request being answered) and the routing headers, to `to` (the party that
 * owns the Location or Session) or else the CPO's first party. Never throws for the CPO's
 * behaviour; a request without an answer within 10 s counts as reached.
 */
export async function sendCommand(
  env: Env,
  tenantId: string,
  command: { kind: CommandKind; body: Record<string, unknown>; correlationId?: string; to?: Party | null },
): Promise<CommandOutcome> {
  const db = database(env.DB);
  const connection = await getConnection(db, tenantId);
  if (connection.status !== "connected" || !connection.version || !connection.sealedCpoToken) {
    return { reached: false, response: "ERROR", timeoutSeconds: null, message: "the tenant has no OCPI connection" };
  }
  const endpoint = endpointOf(connection, "commands", "RECEIVER");
  if (!endpoint) return { reached: false, response: "ERROR", timeoutSeconds: null, message: "the CPO offers no commands endpoint" };
  const identity = emspIdentity(env);
  const result = await callOcpi({
    method: "POST",
    url: `${endpoint.url.replace(/\/+$/, "")}/${command.kind}`,
    token: await sealerFor(env.ENCRYPTION_KEY).open(connection.sealedCpoToken),
    encoding: encodingFor(connection.version, connection.tokenEncoding),
    version: connection.version,
    target: "functional",
    from: { countryCode: identity.countryCode, partyId: identity.partyId },
    to: command.to ?? firstCpoParty(connection),
    ...(command.correlationId ? { correlationId: command.correlationId } : {}),
    body: command.body,
    ...(connection.cpoVersionsUrl ? { probeUrl: connection.cpoVersionsUrl } : {}),
  });
  if (result.kind === "network") return { reached: result.reached, response: "ERROR", timeoutSeconds: null, message: describeResult(result) };
  if (!isSuccess(result)) return { reached: true, response: "ERROR", timeoutSeconds: null, message: describeResult(result) };
  const answer = codecFor(connection.version).commandAnswer(result.envelope.data);
  if (!answer) return { reached: true, response: "ERROR", timeoutSeconds: null, message: "the answer's data is not a command response" };
  return { reached: true, ...answer };
}

/** A pending command as the result receiver finds it. */
export interface CommandRecord {
  id: string;
  tenantId: string;
  version: OcpiVersion;
  kind: CommandKind;
  gatewaySessionId: string;
  to: Party | null;
  result: string | null;
}

/** The command with this id, for this tenant only; null when unknown. */
export async function findCommand(db: Database, tenantId: string, commandId: string): Promise<CommandRecord | null> {
  const row = await db.select().from(ocpiCommands).where(and(eq(ocpiCommands.id, commandId), eq(ocpiCommands.tenantId, tenantId))).get();
  if (!row) return null;
  return {
    id: row.id,
    tenantId: row.tenantId,
    version: row.version as OcpiVersion,
    kind: row.kind,
    gatewaySessionId: row.gatewaySessionId,
    to: row.toCountryCode && row.toPartyId ? { countryCode: row.toCountryCode, partyId: row.toPartyId } : null,
    result: row.result,
  };
}

/** Records a command's first result; false when it already had one (the repeat changes nothing). */
export async function recordCommandResult(db: Database, command: CommandRecord, result: CommandResult, message: string | null): Promise<boolean> {
  const updated = await db
    .update(ocpiCommands)
    .set({ result, message, resultAt: Date.now() })
    .where(and(eq(ocpiCommands.id, command.id), eq(ocpiCommands.tenantId, command.tenantId), isNull(ocpiCommands.result)))
    .run();
  return updated.meta.changes === 1;
}

/** The fact of a first command result, for the session object. */
export function commandResultFact(command: CommandRecord, version: OcpiVersion, result: CommandResult, message: string | null, correlationId: string): CommandResultFact {
  return { kind: "command_result", version, commandId: command.id, command: command.kind, result, message, correlationId };
}
