/**
 * Registering, updating and ending a tenant's OCPI connection, in both directions (CONTRACT
 * §7.3). Each runs under the tenant's connection lease, so two never interleave. The gateway's
 * tokens are stored hashed and shown only to whoever they were minted for; the CPO's token is
 * sealed; none is logged.
 */
import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { database } from "../db/client";
import type { Database } from "../db/client";
import { ocpiConnections, ocpiEvses, ocpiLocations, ocpiTariffs, ocpiTokens } from "../db/schema";
import { sealerFor } from "../lib/crypto";
import { ApiError, conflict } from "../lib/errors";
import { log } from "../lib/log";
import { forgetStations } from "../tenants/lookup";
import { checkWebhookUrl } from "../webhooks/url-policy";
import { callOcpi, describeResult, isSuccess } from "./client";
import { codecFor } from "./codecs";
import { connectionView, credentialsEndpoint, gatewayTokenHash, getConnection, tokenInsert, deleteToken, newGatewayToken, onlyTokenStatements, retireAllTokens, withLock } from "./connection";
import type { Connection, OcpiCaller } from "./connection";
import { discover } from "./discovery";
import type { Discovery } from "./discovery";
import { OcpiError, OcpiStatus, invalidParameters } from "./envelope";
import { emspIdentity } from "./identity";
import { isJsonObject } from "./json";
import type { OcpiVersion, Party, PeerCredentials } from "./model";
import { syncFromCpo } from "./pull";
import { describeIssues } from "./schemas";
import { encodingFor } from "./token";
import type { TokenEncoding } from "./token";

/** What the OCPI router answers a CPO: an envelope's status and, when successful, data. */
export interface CpoAnswer {
  httpStatus: 200 | 405;
  statusCode: number;
  message: string;
  data?: unknown;
}

const registrationFailed = (message: string) => new ApiError(502, "ocpi_registration_failed", message);
const busy = () => conflict("another OCPI registration, rotation or unregistration of this tenant is in progress; retry shortly");

type View = ReturnType<typeof connectionView>;

/** The statements that make a connection `connected` with what the registration learnt. */
function connectedStatements(
  db: Database,
  sealedToken: string,
  input: { tenantId: string; discovery: Discovery; peer: PeerCredentials; initiatedBy: "gateway" | "cpo"; tokenEncoding: TokenEncoding | null; additionalParties: Party[] },
) {
  const now = Date.now();
  return db
    .update(ocpiConnections)
    .set({
      status: "connected",
      version: input.discovery.version,
      initiatedBy: input.initiatedBy,
      tokenEncoding: input.tokenEncoding,
      cpoVersionsUrl: input.peer.url,
      cpoToken: sealedToken,
      cpoEndpoints: JSON.stringify(input.discovery.endpoints),
      cpoParties: JSON.stringify(input.peer.parties),
      additionalParties: JSON.stringify(input.additionalParties),
      lastSync: null,
      invitedAt: null,
      registeredAt: now,
      updatedAt: now,
    })
    .where(eq(ocpiConnections.tenantId, input.tenantId));
}

/** Runs a tenant's operation under its connection lease; another operation holding the lease makes it a 409. */
function tenantLease<T>(db: Database, tenantId: string, work: () => Promise<T>): Promise<T> {
  return withLock(db, tenantId, work, () => {
    throw busy();
  });
}

/** As {@link tenantLease}, for what only a tenant that is not connected may do: checked before the lease is taken and again inside it. */
async function whileUnconnected<T>(db: Database, tenantId: string, work: () => Promise<T>): Promise<T> {
  if ((await getConnection(db, tenantId)).status === "connected") throw conflict("the tenant is already connected over OCPI; DELETE /v1/ocpi/connection first");
  return tenantLease(db, tenantId, async () => {
    if ((await getConnection(db, tenantId)).status === "connected") throw conflict("the tenant is already connected over OCPI");
    return work();
  });
}

/** Reads the peer's credentials from a body of this version; `null` with why when unreadable. */
function readPeer(version: OcpiVersion, body: unknown): { peer: PeerCredentials } | { problem: string } {
  const codec = codecFor(version);
  if (!isJsonObject(body)) return { problem: "body: must be a credentials object" };
  const parsed = codec.credentials.schema.safeParse(body);
  if (!parsed.success) return { problem: describeIssues(parsed.error, body) };
  const peer = codec.credentials.read(body);
  const url = checkWebhookUrl(peer.url);
  if (!url.ok) return { problem: `url: ${url.reason}` };
  return { peer };
}

/** Where the pulls that follow a registration are started (ExecutionContext.waitUntil). */
export type Background = (work: Promise<unknown>) => void;

// ---------------------------------------------------------------- gateway-initiated

export interface RegistrationInput {
  versionsUrl: string;
  token: string;
  tokenEncoding: TokenEncoding | null;
  additionalParties: Party[];
}

/**
 * `POST /v1/ocpi/connection`: versions (Token A, Base64 then plain after a 401 unless fixed),
 * version details, then the gateway's credentials POSTed with Token A; the CPO's token from the
 * answer is kept. Any step failing is a 502 naming it, and nothing is kept.
 */
export async function registerWithCpo(env: Env, tenantId: string, input: RegistrationInput, background: Background, requestUrl?: string): Promise<View> {
  const db = database(env.DB);
  const identity = emspIdentity(env, requestUrl);
  return whileUnconnected(
    db,
    tenantId,
    async () => {
      const found = await discover({ versionsUrl: input.versionsUrl, token: input.token, fixedEncoding: input.tokenEncoding, version: "highest", needCredentials: true });
      if (!found.ok) throw registrationFailed(found.message);
      const { discovery } = found;
      const codec = codecFor(discovery.version);
      await offerCredentials(env, db, tenantId, {
        request: { method: "POST", url: credentialsEndpoint(discovery.endpoints)!.url, token: input.token, encoding: discovery.encoding, version: discovery.version },
        body: (token) => {
          const body = codec.credentials.write(identity, token);
          codec.outbound.credentials.parse(body);
          return body;
        },
        failed: registrationFailed,
        record: (peer, sealed) =>
          connectedStatements(db, sealed, { tenantId, discovery, peer, initiatedBy: "gateway", tokenEncoding: input.tokenEncoding, additionalParties: input.additionalParties }),
      });
      log.info("ocpi registered", { tenantId, version: discovery.version, initiatedBy: "gateway" });
      background(syncAfterRegistration(env, tenantId));
      return connectionView(await getConnection(db, tenantId), identity);
    },
  );
}

/** An endpoint of the CPO, with the token and its encoding to call it by. */
interface CpoEndpoint {
  url: string;
  token: string;
  encoding: TokenEncoding;
  version: OcpiVersion;
}

/** The CPO's credentials endpoint of a connected tenant: undefined when the tenant is not connected, null when the CPO offers none. */
async function cpoCredentialsEndpoint(env: Env, connection: Connection): Promise<CpoEndpoint | null | undefined> {
  if (connection.status !== "connected" || !connection.version || !connection.sealedCpoToken) return undefined;
  const endpoint = credentialsEndpoint(connection.endpoints);
  if (!endpoint) return null;
  return {
    url: endpoint.url,
    token: await sealerFor(env.ENCRYPTION_KEY).open(connection.sealedCpoToken),
    encoding: encodingFor(connection.version, connection.tokenEncoding),
    version: connection.version,
  };
}

/** How {@link offerCredentials} sends the gateway's credentials and keeps the CPO's. */
interface CredentialsOffer {
  /** Where and how: POST with Token A to register, PUT with the CPO's token to rotate. */
  request: { method: "POST" | "PUT" } & CpoEndpoint;
  /** The gateway's credentials carrying its new token. */
  body: (token: string) => unknown;
  /** The 502 a failed step becomes. */
  failed: (message: string) => ApiError;
  /** The statement that stores the CPO's credentials from the answer (its token sealed). */
  record: (peer: PeerCredentials, sealedToken: string) => BatchItem<"sqlite">;
}

/**
 * Sends the gateway's credentials with a new token to the CPO's credentials endpoint and reads
 * the CPO's from the answer; they are stored, and the new token becomes the gateway's only one,
 * in one batch. When any step fails the new token is forgotten and nothing else changes.
 */
async function offerCredentials(env: Env, db: Database, tenantId: string, offer: CredentialsOffer): Promise<void> {
  const { method, url, version } = offer.request;
  const token = newGatewayToken();
  await tokenInsert(db, tenantId, await gatewayTokenHash(token), "pending");
  try {
    const body = offer.body(token);
    const answer = await callOcpi({ ...offer.request, target: "credentials", body });
    if (!isSuccess(answer)) throw offer.failed(`${method} ${url} (credentials): ${describeResult(answer)}`);
    const read = readPeer(version, answer.envelope.data);
    if ("problem" in read) throw offer.failed(`${method} ${url} (credentials): the CPO's credentials are unreadable: ${read.problem}`);
    const sealed = await sealerFor(env.ENCRYPTION_KEY).seal(read.peer.token);
    const [retireOthers, activate] = await onlyTokenStatements(db, tenantId, token);
    await db.batch([retireOthers, activate, offer.record(read.peer, sealed)]);
  } catch (error) {
    await deleteToken(db, token);
    throw error;
  }
}

/** The initial pull that follows every successful registration (CONTRACT §7.3). */
function syncAfterRegistration(env: Env, tenantId: string): Promise<void> {
  return syncFromCpo(env, tenantId);
}

// ---------------------------------------------------------------- CPO-initiated

/** `POST /v1/ocpi/invitation`: a new Token A (replacing any open one), shown once. */
export async function invite(env: Env, tenantId: string, requestUrl?: string): Promise<{ token: string; versionsUrl: string; createdAt: string }> {
  const db = database(env.DB);
  const identity = emspIdentity(env, requestUrl);
  return whileUnconnected(
    db,
    tenantId,
    async () => {
      const token = newGatewayToken();
      const now = Date.now();
      await db.batch([
        db.delete(ocpiTokens).where(eq(ocpiTokens.tenantId, tenantId)),
        tokenInsert(db, tenantId, await gatewayTokenHash(token), "invitation"),
        db.update(ocpiConnections).set({ status: "invited", invitedAt: now, updatedAt: now }).where(eq(ocpiConnections.tenantId, tenantId)),
      ]);
      return { token, versionsUrl: identity.versionsUrl, createdAt: new Date(now).toISOString() };
    },
  );
}

const notAllowed = (message: string): CpoAnswer => ({ httpStatus: 405, statusCode: OcpiStatus.clientError, message });
const cannotComplete = (statusCode: number, message: string): CpoAnswer => ({ httpStatus: 200, statusCode, message });

/** How {@link takeCpoCredentials} serves one of the CPO's credentials calls. */
interface CredentialsCall {
  /** Answers instead when the call does not fit the connection as it stands; null to go on. */
  refuse: (db: Database, connection: Connection) => Promise<CpoAnswer | null>;
  /** The statement that stores what was learnt, run with the token swap. */
  record: (db: Database, connection: Connection, sealedToken: string, learnt: { discovery: Discovery; peer: PeerCredentials }) => BatchItem<"sqlite">;
  /** Once stored: the log line and what follows. */
  done: () => void;
  /** Why another operation holding the lease refuses this one. */
  busy: string;
}

/**
 * The CPO's credentials from a `POST` or `PUT {version}/credentials`, under the tenant's lease:
 * reads the CPO's versions and the details of this version with the token in the body
 * (3001/3002/3003 when that fails), mints the gateway's new token in place of every other one,
 * and answers the gateway's credentials. On failure nothing changes.
 */
async function takeCpoCredentials(env: Env, tenantId: string, version: OcpiVersion, body: unknown, correlationId: string, requestUrl: string | undefined, call: CredentialsCall): Promise<CpoAnswer> {
  const read = readPeer(version, body);
  if ("problem" in read) throw invalidParameters(read.problem);
  const db = database(env.DB);
  const identity = emspIdentity(env, requestUrl);
  return withLock(
    db,
    tenantId,
    async () => {
      const connection = await getConnection(db, tenantId);
      const refused = await call.refuse(db, connection);
      if (refused) return refused;
      const found = await discover({ versionsUrl: read.peer.url, token: read.peer.token, fixedEncoding: connection.tokenEncoding, version, needCredentials: false, correlationId });
      if (!found.ok) return cannotComplete(found.statusCode, found.message);
      const token = newGatewayToken();
      const sealed = await sealerFor(env.ENCRYPTION_KEY).seal(read.peer.token);
      await db.batch([
        db.delete(ocpiTokens).where(eq(ocpiTokens.tenantId, tenantId)),
        tokenInsert(db, tenantId, await gatewayTokenHash(token), "connection"),
        call.record(db, connection, sealed, { discovery: found.discovery, peer: read.peer }),
      ]);
      call.done();
      return { httpStatus: 200, statusCode: OcpiStatus.success, message: "Success", data: codecFor(version).credentials.write(identity, token) };
    },
    () => notAllowed(call.busy),
  );
}

/**
 * The CPO's `POST {version}/credentials` with Token A: reads the CPO's versions and the details of
 * this version with the token in the body (3001/3002/3003 when that fails), then answers the
 * gateway's credentials with a new token. Token A then answers 401.
 */
export async function acceptRegistration(env: Env, caller: OcpiCaller, version: OcpiVersion, body: unknown, correlationId: string, background: Background, requestUrl?: string): Promise<CpoAnswer> {
  if (caller.kind !== "invitation") return notAllowed("already registered: use PUT to update the credentials");
  return takeCpoCredentials(env, caller.tenantId, version, body, correlationId, requestUrl, {
    refuse: async (db) => {
      const invitation = await db.select({ kind: ocpiTokens.kind }).from(ocpiTokens).where(eq(ocpiTokens.hash, await gatewayTokenHash(caller.token))).get();
      if (invitation?.kind !== "invitation") throw new OcpiError(401, OcpiStatus.clientError, "the invitation token is no longer valid");
      return null;
    },
    record: (db, connection, sealed, { discovery, peer }) =>
      connectedStatements(db, sealed, { tenantId: caller.tenantId, discovery, peer, initiatedBy: "cpo", tokenEncoding: connection.tokenEncoding, additionalParties: connection.additionalParties }),
    done: () => {
      log.info("ocpi registered", { tenantId: caller.tenantId, version, initiatedBy: "cpo" });
      background(syncAfterRegistration(env, caller.tenantId));
    },
    busy: "a registration of this tenant is in progress",
  });
}

/**
 * The CPO's `PUT {version}/credentials`: new credentials (token, URL or version). The CPO's
 * versions and details are read again with the new token; the gateway mints a new token and
 * answers its credentials; its previous token then answers 401. On failure nothing changes.
 */
export async function updateFromCpo(env: Env, caller: OcpiCaller, version: OcpiVersion, body: unknown, correlationId: string, requestUrl?: string): Promise<CpoAnswer> {
  if (caller.kind !== "connection") return notAllowed("not registered: use POST to register");
  return takeCpoCredentials(env, caller.tenantId, version, body, correlationId, requestUrl, {
    refuse: async (_db, connection) => (connection.status !== "connected" ? notAllowed("not registered") : null),
    record: (db, _connection, sealed, { discovery, peer }) =>
      db
        .update(ocpiConnections)
        .set({
          version: discovery.version,
          cpoVersionsUrl: peer.url,
          cpoToken: sealed,
          cpoEndpoints: JSON.stringify(discovery.endpoints),
          cpoParties: JSON.stringify(peer.parties),
          updatedAt: Date.now(),
        })
        .where(eq(ocpiConnections.tenantId, caller.tenantId)),
    done: () => log.info("ocpi credentials updated by the CPO", { tenantId: caller.tenantId, version }),
    busy: "another credentials operation of this tenant is in progress",
  });
}

/** The statements that end a connection: no tokens, status `none`, and the CPO's Locations and Tariffs forgotten. */
function endStatements(db: Database, tenantId: string, lastUnregister: string | null) {
  const now = Date.now();
  return [
    retireAllTokens(db, tenantId),
    db
      .update(ocpiConnections)
      .set({
        status: "none",
        version: null,
        initiatedBy: null,
        tokenEncoding: null,
        cpoVersionsUrl: null,
        cpoToken: null,
        cpoEndpoints: null,
        cpoParties: null,
        additionalParties: "[]",
        lastSync: null,
        invitedAt: null,
        registeredAt: null,
        lastUnregister,
        updatedAt: now,
      })
      .where(eq(ocpiConnections.tenantId, tenantId)),
    // Statuses of a CPO the tenant no longer talks to must not hold its stations busy.
    db.delete(ocpiEvses).where(eq(ocpiEvses.tenantId, tenantId)),
    db.delete(ocpiLocations).where(eq(ocpiLocations.tenantId, tenantId)),
    db.delete(ocpiTariffs).where(eq(ocpiTariffs.tenantId, tenantId)),
  ] as const;
}

/** The CPO's `DELETE {version}/credentials`: both tokens retired, the connection `none`. */
export async function unregisterByCpo(env: Env, caller: OcpiCaller): Promise<CpoAnswer> {
  if (caller.kind !== "connection") return notAllowed("not registered");
  const db = database(env.DB);
  return withLock<CpoAnswer>(
    db,
    caller.tenantId,
    async () => {
      await db.batch([...endStatements(db, caller.tenantId, JSON.stringify({ at: new Date().toISOString(), by: "cpo" }))]);
      forgetStations(caller.tenantId);
      log.info("ocpi unregistered by the CPO", { tenantId: caller.tenantId });
      return { httpStatus: 200, statusCode: OcpiStatus.success, message: "Success" };
    },
    () => notAllowed("another credentials operation of this tenant is in progress"),
  );
}

// ---------------------------------------------------------------- tenant operations

/**
 * Runs a tenant operation on its connection under the lease, with the CPO's credentials endpoint
 * (see {@link cpoCredentialsEndpoint}), and answers the connection as it then stands.
 */
async function withCpoEndpoint(
  env: Env,
  tenantId: string,
  requestUrl: string | undefined,
  work: (on: { db: Database; identity: ReturnType<typeof emspIdentity>; cpo: CpoEndpoint | null | undefined }) => Promise<void>,
): Promise<View> {
  const db = database(env.DB);
  const identity = emspIdentity(env, requestUrl);
  return tenantLease(db, tenantId, async () => {
    await work({ db, identity, cpo: await cpoCredentialsEndpoint(env, await getConnection(db, tenantId)) });
    return connectionView(await getConnection(db, tenantId), identity);
  });
}

/**
 * `POST /v1/ocpi/connection/rotate`: a new gateway token PUT to the CPO's credentials endpoint.
 * On `1000` the CPO's token from its answer is kept and the previous gateway token answers 401;
 * the CPO failing is a 502 and nothing changes.
 */
export async function rotate(env: Env, tenantId: string, requestUrl?: string): Promise<View> {
  return withCpoEndpoint(env, tenantId, requestUrl, async ({ db, identity, cpo }) => {
    if (cpo === undefined) throw conflict("the tenant is not connected over OCPI");
    if (cpo === null) throw new ApiError(502, "ocpi_rotation_failed", "the CPO offers no credentials endpoint");
    const codec = codecFor(cpo.version);
    await offerCredentials(env, db, tenantId, {
      request: { method: "PUT", ...cpo },
      body: (token) => codec.credentials.write(identity, token),
      failed: (message) => new ApiError(502, "ocpi_rotation_failed", message),
      record: (peer, sealed) =>
        db.update(ocpiConnections).set({ cpoToken: sealed, cpoParties: JSON.stringify(peer.parties), cpoVersionsUrl: peer.url, updatedAt: Date.now() }).where(eq(ocpiConnections.tenantId, tenantId)),
    });
    log.info("ocpi token rotated", { tenantId });
  });
}

/**
 * `DELETE /v1/ocpi/connection`: tells the CPO (`DELETE` on its credentials endpoint; the outcome
 * is recorded, not required), retires both tokens and answers the connection, now `none`.
 */
export async function disconnect(env: Env, tenantId: string, requestUrl?: string): Promise<View> {
  return withCpoEndpoint(env, tenantId, requestUrl, async ({ db, cpo }) => {
    let outcome: string | null = null;
    if (cpo !== undefined) {
      const result = cpo ? await callOcpi({ method: "DELETE", ...cpo, target: "credentials" }) : null;
      outcome = JSON.stringify({ at: new Date().toISOString(), by: "tenant", cpoAnswer: result ? describeResult(result) : "no credentials endpoint", ok: result ? isSuccess(result) : false });
      log.info("ocpi unregistered by the tenant", { tenantId, cpoAnswer: result ? describeResult(result) : null });
    }
    await db.batch([...endStatements(db, tenantId, outcome)]);
    forgetStations(tenantId);
  });
}

/** `PATCH /v1/ocpi/connection`: the token form and the additional parties. */
export async function updateConnection(
  env: Env,
  tenantId: string,
  update: { tokenEncoding?: TokenEncoding | null; additionalParties?: Party[] },
  requestUrl?: string,
): Promise<View> {
  const db = database(env.DB);
  const connection = await getConnection(db, tenantId);
  if (connection.status === "none") throw new ApiError(404, "not_found", "the tenant has no OCPI connection or invitation");
  await db
    .update(ocpiConnections)
    .set({
      ...(update.tokenEncoding !== undefined ? { tokenEncoding: update.tokenEncoding } : {}),
      ...(update.additionalParties !== undefined ? { additionalParties: JSON.stringify(update.additionalParties) } : {}),
      updatedAt: Date.now(),
    })
    .where(eq(ocpiConnections.tenantId, tenantId));
  return connectionView(await getConnection(db, tenantId), emspIdentity(env, requestUrl));
}
