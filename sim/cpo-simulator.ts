/**
 * An in-memory OCPI CPO (think Flux) for the gateway to talk to, strict about what the gateway
 * sends: versions, version details and credentials of 2.2.1 and 2.1.1 in both registration
 * directions, a commands receiver that checks token encoding, headers, bodies, ids and every
 * `response_url`, paginated Locations and Tariffs senders, and pushes of Sessions, CDRs,
 * Locations and command results to the gateway. Behaviour can be set: answer ACCEPTED or
 * REJECTED, post a result (ACCEPTED, FAILED, …) or none, time out, refuse the connection.
 *
 * Runs wherever `Request`/`Response` and JSON source-text access exist: the Workers runtime
 * (tests, behind a `fetch` spy) and Node (`scripts/cpo-simulator.ts`).
 */
import { codecFor } from "../src/ocpi/codecs";
import { formatOcpiDateTime, isOcpiDateTime } from "../src/ocpi/datetime";
import { isJsonObject, parseExactJson } from "../src/ocpi/json";
import { isOcpiVersion } from "../src/ocpi/model";
import type { OcpiVersion, Party } from "../src/ocpi/model";
import { authorizationHeader } from "../src/ocpi/token";
import type { TokenEncoding } from "../src/ocpi/token";

/** A CPO party of the simulated platform. */
export interface SimParty extends Party {
  name: string;
}

/** What the commands receiver does with the next valid command. */
export interface CommandBehaviour {
  /** The immediate `result` (default ACCEPTED). */
  response?: "ACCEPTED" | "REJECTED" | "NOT_SUPPORTED" | "UNKNOWN_SESSION" | "TIMEOUT";
  /** Answer this HTTP status and OCPI status code instead (e.g. 500, or 200 with 3000). */
  httpStatus?: number;
  statusCode?: number;
  /** Answer a body that is not an envelope. */
  garbage?: boolean;
  /** Never answer (until the caller gives up). */
  hang?: boolean;
  /** Take the command, then drop the connection before answering (the request reached the CPO). */
  dropAnswer?: boolean;
  /** The result POSTed to the `response_url` after an ACCEPTED answer; null: none. */
  result?: string | null;
}

/** A command the receiver accepted as valid (whatever it then answered). */
export interface ReceivedCommand {
  kind: "START_SESSION" | "STOP_SESSION";
  version: OcpiVersion;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  responseUrl: string;
}

/** A request as the simulator received it (header names lower case). */
export interface SimRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyText: string;
  status: number;
  statusCode: number | null;
  /** The simulator's answer as sent. */
  responseText: string;
}

export interface CpoSimulatorOptions {
  /** Where the simulator lives, e.g. `https://cpo-sim.test/ocpi`. */
  baseUrl: string;
  /** Reaches the gateway (in tests: the Worker's own fetch; in Node: global fetch). */
  gatewayFetch: (request: Request) => Promise<Response>;
  /** Versions offered, highest first; default both. */
  versions?: OcpiVersion[];
  /** The platform's CPO parties; on 2.1.1 only the first is used. */
  parties?: SimParty[];
  /** Modules the simulator leaves out of its version details (to test 3003 and missing senders). */
  omitEndpoints?: string[];
  /** How it wants the gateway's token on 2.2.1 (default Base64); 2.1.1 always as is. */
  inboundEncoding221?: TokenEncoding;
  /** How it writes its own token to the gateway (default: by version). */
  outboundEncoding?: TokenEncoding;
  /** The prefix the gateway's token uids must start with (default `NYX-`). */
  tokenPrefix?: string;
  /** Objects per page of the Locations and Tariffs senders. */
  pageSize?: number;
  /** A wrong `X-Total-Count` on every page (clients must not rely on it). */
  misleadingTotalCount?: boolean;
  /** How long a `hang` command waits before giving up on its own. */
  hangMs?: number;
}

/** What a failed connection looks like to `fetch` callers in workerd, whatever the cause. */
export class SimulatedConnectionRefused extends TypeError {
  constructor() {
    super("Network connection lost.");
  }
}

const TOKEN_UID = /^([A-Z0-9]{3}[!-/:-@[-`{-~])([0-9A-F]{16})$/;
const DEFAULT_PARTIES: SimParty[] = [{ countryCode: "NL", partyId: "EXA", name: "Example Operator" }];
const DEFAULT_HANG_MS = 30_000;

function randomToken(prefix: string): string {
  return prefix + [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const same = (a: unknown, b: string) => typeof a === "string" && a.toUpperCase() === b.toUpperCase();

function envelopeResponse(httpStatus: number, statusCode: number, message: string, data?: unknown, headers: Record<string, string> = {}): Response {
  const body = { ...(data === undefined ? {} : { data }), status_code: statusCode, status_message: message, timestamp: formatOcpiDateTime(Date.now()) };
  return new Response(JSON.stringify(body), { status: httpStatus, headers: { "Content-Type": "application/json", ...headers } });
}

class Refused extends Error {
  constructor(
    readonly httpStatus: number,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The simulated CPO. */
export class CpoSimulator {
  readonly baseUrl: string;
  readonly requests: SimRequest[] = [];
  readonly commands: ReceivedCommand[] = [];
  /** Problems found in what the gateway sent (also answered as refusals). */
  readonly violations: string[] = [];
  /** Objects served by the senders and used to check command ids; set them freely. */
  locations: Record<string, unknown>[] = [];
  tariffs: Record<string, unknown>[] = [];
  /** CPO Session ids the commands receiver knows (for STOP_SESSION). */
  readonly sessions = new Set<string>();

  readonly #options: Required<Omit<CpoSimulatorOptions, "gatewayFetch" | "baseUrl" | "outboundEncoding">>;
  readonly #outboundOverride: TokenEncoding | null;
  readonly #gatewayFetch: (request: Request) => Promise<Response>;
  #behaviours: CommandBehaviour[] = [];
  /** One-shot refusals of the next credentials POST or PUT: `{httpStatus, statusCode}`. */
  readonly credentialsFailures: Array<{ httpStatus: number; statusCode: number }> = [];
  /** One-shot refusals of the next list page served: `{httpStatus, statusCode}`. */
  readonly pageFailures: Array<{ httpStatus: number; statusCode: number }> = [];
  #defaultBehaviour: CommandBehaviour = { response: "ACCEPTED", result: "ACCEPTED" };
  readonly #pending = new Set<Promise<unknown>>();
  readonly #usedUids = new Set<string>();
  readonly #usedResponseUrls = new Set<string>();

  /** While true nothing listens: every request fails as a network error before reaching the simulator. */
  down = false;

  /** Token A offered for a gateway-initiated registration. */
  tokenA: string | null = null;
  /** The token the simulator accepts from the gateway once registered (Token C). */
  acceptedToken: string | null = null;
  /** The gateway's token, for calls to the gateway (Token B). */
  gatewayToken: string | null = null;
  gatewayVersionsUrl: string | null = null;
  gatewayEndpoints: Array<{ identifier: string; role: string | null; url: string }> = [];
  /** The gateway's party, from its credentials. */
  gatewayParty: Party | null = null;
  version: OcpiVersion | null = null;

  constructor(options: CpoSimulatorOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#gatewayFetch = options.gatewayFetch;
    this.#outboundOverride = options.outboundEncoding ?? null;
    this.#options = {
      versions: options.versions ?? ["2.2.1", "2.1.1"],
      parties: options.parties ?? DEFAULT_PARTIES,
      omitEndpoints: options.omitEndpoints ?? [],
      inboundEncoding221: options.inboundEncoding221 ?? "base64",
      tokenPrefix: options.tokenPrefix ?? "NYX-",
      pageSize: options.pageSize ?? 2,
      misleadingTotalCount: options.misleadingTotalCount ?? false,
      hangMs: options.hangMs ?? DEFAULT_HANG_MS,
    };
  }

  get parties(): SimParty[] {
    return this.version === "2.1.1" ? this.#options.parties.slice(0, 1) : this.#options.parties;
  }

  /** Offers a new Token A (gateway-initiated registration) and returns it with the versions URL. */
  offerTokenA(): { token: string; versionsUrl: string } {
    this.tokenA = randomToken("token-a-");
    return { token: this.tokenA, versionsUrl: `${this.baseUrl}/versions` };
  }

  /** What the next command does; without a queue entry the default applies. */
  nextCommand(behaviour: CommandBehaviour): void {
    this.#behaviours.push(behaviour);
  }

  /** The default for every command without a queued behaviour. */
  setDefaultCommand(behaviour: CommandBehaviour): void {
    this.#defaultBehaviour = behaviour;
  }

  /** Waits until every result and push the simulator started by itself has been delivered. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Forgets recorded requests, commands and violations. */
  clearLog(): void {
    this.requests.length = 0;
    this.commands.length = 0;
    this.violations.length = 0;
  }

  // ---------------------------------------------------------------- serving

  /** Answers one request addressed to the simulator. Throws {@link SimulatedConnectionRefused} to play a refused connection. */
  async handle(request: Request): Promise<Response> {
    if (this.down) throw new SimulatedConnectionRefused();
    const url = new URL(request.url);
    const bodyText = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
    let response: Response;
    try {
      response = await this.#route(request, url, headers, bodyText);
    } catch (error) {
      if (error instanceof SimulatedConnectionRefused) throw error;
      if (!(error instanceof Refused)) throw error;
      this.violations.push(`${request.method} ${url.pathname}: ${error.message}`);
      response = envelopeResponse(error.httpStatus, error.statusCode, error.message);
    }
    const responseText = await response.clone().text();
    let statusCode: number | null = null;
    try {
      statusCode = (JSON.parse(responseText) as { status_code?: number }).status_code ?? null;
    } catch {
      statusCode = null;
    }
    this.requests.push({ method: request.method, url: request.url, headers, bodyText, status: response.status, statusCode, responseText });
    return response;
  }

  #path(url: URL): string[] {
    const base = new URL(this.baseUrl).pathname.replace(/\/+$/, "");
    if (!url.pathname.startsWith(base + "/")) return [];
    return url.pathname.slice(base.length + 1).split("/").filter(Boolean);
  }

  /**
   * The token a request carries, checked for the form this version expects: Base64 (or as the
   * simulator is told) on 2.2.1, as is on 2.1.1. The versions list goes by the highest version offered.
   */
  #token(headers: Record<string, string>, version: OcpiVersion, allowed: Array<string | null>): string {
    const header = headers["authorization"] ?? "";
    const raw = /^Token (\S+)$/.exec(header)?.[1];
    if (!raw) throw new Refused(401, 2000, "Authorization: Token … is required");
    const valid = allowed.filter((t): t is string => t !== null);
    const expected: TokenEncoding = version === "2.2.1" ? this.#options.inboundEncoding221 : "plain";
    const token = valid.find((t) => (expected === "base64" ? btoa(t) === raw : t === raw));
    if (!token) throw new Refused(401, 2000, `unknown token, or not ${expected === "base64" ? "Base64-encoded" : "sent as is"} as OCPI ${version} requires here`);
    return token;
  }

  #checkIds(headers: Record<string, string>, version: OcpiVersion, functional: boolean, to: Party | null): void {
    if (version === "2.2.1") {
      if (!headers["x-request-id"]) throw new Refused(400, 2001, "X-Request-ID is required on 2.2.1");
      if (!headers["x-correlation-id"]) throw new Refused(400, 2001, "X-Correlation-ID is required on 2.2.1");
    }
    const routing = ["ocpi-from-country-code", "ocpi-from-party-id", "ocpi-to-country-code", "ocpi-to-party-id"];
    if (version === "2.1.1" || !functional) {
      const present = routing.filter((h) => headers[h] !== undefined);
      if (present.length > 0) throw new Refused(400, 2001, `routing headers (${present.join(", ")}) are not sent ${version === "2.1.1" ? "on 2.1.1" : "to versions or credentials"}`);
      return;
    }
    const gateway = this.gatewayParty;
    if (gateway && (!same(headers["ocpi-from-country-code"], gateway.countryCode) || !same(headers["ocpi-from-party-id"], gateway.partyId))) {
      throw new Refused(400, 2001, `OCPI-from-* must name the gateway (${gateway.countryCode}/${gateway.partyId})`);
    }
    if (to && (!same(headers["ocpi-to-country-code"], to.countryCode) || !same(headers["ocpi-to-party-id"], to.partyId))) {
      throw new Refused(400, 2001, `OCPI-to-* must name ${to.countryCode}/${to.partyId}`);
    }
    if (!to && !this.parties.some((p) => same(headers["ocpi-to-country-code"], p.countryCode) && same(headers["ocpi-to-party-id"], p.partyId))) {
      throw new Refused(400, 2001, "OCPI-to-* must name one of the CPO's parties");
    }
  }

  async #route(request: Request, url: URL, headers: Record<string, string>, bodyText: string): Promise<Response> {
    const path = this.#path(url);
    const method = request.method;
    if (path.length === 1 && path[0] === "versions" && method === "GET") {
      this.#token(headers, this.#options.versions[0]!, [this.tokenA, this.acceptedToken]);
      return envelopeResponse(200, 1000, "Success", this.#options.versions.map((v) => ({ version: v, url: `${this.baseUrl}/${v}` })));
    }
    const version = path[0];
    if (!version || !isOcpiVersion(version) || !this.#options.versions.includes(version)) throw new Refused(404, 2000, `no such endpoint ${url.pathname}`);
    if (path.length === 1 && method === "GET") {
      this.#token(headers, version, [this.tokenA, this.acceptedToken]);
      return envelopeResponse(200, 1000, "Success", this.#details(version));
    }
    const module = path[1];
    if (module === "credentials" && path.length === 2) return this.#credentials(method, version, headers, bodyText);
    if (module === "commands" && path.length === 3 && method === "POST") return this.#command(path[2]!, version, headers, bodyText, request.signal);
    if ((module === "locations" || module === "tariffs") && path.length === 2 && method === "GET") return this.#list(module, version, url, headers);
    throw new Refused(404, 2000, `no such endpoint ${method} ${url.pathname}`);
  }

  #details(version: OcpiVersion) {
    const base = `${this.baseUrl}/${version}`;
    const modules: Array<[string, string]> = [
      ["credentials", "SENDER"],
      ["commands", "RECEIVER"],
      ["locations", "SENDER"],
      ["tariffs", "SENDER"],
      ["sessions", "SENDER"],
      ["cdrs", "SENDER"],
    ];
    const endpoints = modules
      .filter(([identifier]) => !this.#options.omitEndpoints.includes(identifier))
      .map(([identifier, role]) => (version === "2.2.1" ? { identifier, role, url: `${base}/${identifier}` } : { identifier, url: `${base}/${identifier}` }));
    return { version, endpoints };
  }

  #ownCredentials(version: OcpiVersion, token: string) {
    const url = `${this.baseUrl}/versions`;
    if (version === "2.1.1") {
      const p = this.#options.parties[0]!;
      return { token, url, business_details: { name: p.name }, party_id: p.partyId, country_code: p.countryCode };
    }
    return { token, url, roles: this.#options.parties.map((p) => ({ role: "CPO", party_id: p.partyId, country_code: p.countryCode, business_details: { name: p.name } })) };
  }

  /** Reads the gateway's credentials body strictly (exactly what CONTRACT §7.3 says it sends). */
  #readGatewayCredentials(version: OcpiVersion, bodyText: string): { token: string; url: string; party: Party } {
    let body: unknown;
    try {
      body = parseExactJson(bodyText);
    } catch {
      throw new Refused(400, 2001, "credentials: malformed JSON");
    }
    const parsed = codecFor(version).outbound.credentials.safeParse(body);
    if (!parsed.success) throw new Refused(400, 2001, `credentials: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const b = body as Record<string, unknown>;
    const token = b.token as string;
    if (token.length < 32 || token.length > 64) throw new Refused(400, 2001, "credentials: the token must be 32 to 64 characters");
    const role = version === "2.2.1" ? (b.roles as Array<Record<string, string>>)[0]! : (b as Record<string, string>);
    return { token, url: b.url as string, party: { countryCode: role.country_code!, partyId: role.party_id! } };
  }

  /** Reads the gateway's versions and details with its token, as a receiver of credentials must. */
  async #readGateway(version: OcpiVersion, versionsUrl: string, token: string): Promise<void> {
    const encoding = this.#outboundEncoding(version);
    const versions = await this.#callGateway("GET", versionsUrl, token, encoding, undefined, false, version);
    const list = (await versions.json()) as { data?: Array<{ version: string; url: string }> };
    const entry = list.data?.find((v) => v.version === version);
    if (!entry) throw new Refused(200, 3002, `the gateway does not offer ${version}`);
    const details = await this.#callGateway("GET", entry.url, token, encoding, undefined, false, version);
    const detailsBody = (await details.json()) as { status_code: number; data?: { endpoints: Array<{ identifier: string; role?: string; url: string }> } };
    if (detailsBody.status_code !== 1000 || !detailsBody.data) throw new Refused(200, 3001, "could not read the gateway's version details");
    this.gatewayEndpoints = detailsBody.data.endpoints.map((e) => ({ identifier: e.identifier, role: e.role ?? null, url: e.url }));
    this.gatewayVersionsUrl = versionsUrl;
  }

  async #credentials(method: string, version: OcpiVersion, headers: Record<string, string>, bodyText: string): Promise<Response> {
    const registered = this.acceptedToken !== null && this.version !== null;
    if (method === "GET") {
      const token = this.#token(headers, version, [this.acceptedToken, this.tokenA]);
      this.#checkIds(headers, version, false, null);
      return envelopeResponse(200, 1000, "Success", this.#ownCredentials(version, token));
    }
    const failure = method === "POST" || method === "PUT" ? this.credentialsFailures.shift() : undefined;
    if (failure) return envelopeResponse(failure.httpStatus, failure.statusCode, "simulated refusal");
    if (method === "POST") {
      if (registered) {
        this.#token(headers, version, [this.acceptedToken]);
        throw new Refused(405, 2000, "already registered");
      }
      this.#token(headers, version, [this.tokenA]);
      this.#checkIds(headers, version, false, null);
      const gateway = this.#readGatewayCredentials(version, bodyText);
      this.gatewayToken = gateway.token;
      this.gatewayParty = gateway.party;
      this.version = version;
      await this.#readGateway(version, gateway.url, gateway.token);
      this.acceptedToken = randomToken("token-c-");
      this.tokenA = null;
      return envelopeResponse(200, 1000, "Success", this.#ownCredentials(version, this.acceptedToken));
    }
    if (method === "PUT") {
      if (!registered) throw new Refused(405, 2000, "not registered");
      this.#token(headers, version, [this.acceptedToken]);
      this.#checkIds(headers, version, false, null);
      const gateway = this.#readGatewayCredentials(version, bodyText);
      await this.#readGateway(version, gateway.url, gateway.token);
      this.gatewayToken = gateway.token;
      this.gatewayParty = gateway.party;
      this.version = version;
      this.acceptedToken = randomToken("token-c-");
      return envelopeResponse(200, 1000, "Success", this.#ownCredentials(version, this.acceptedToken));
    }
    if (method === "DELETE") {
      if (!registered) throw new Refused(405, 2000, "not registered");
      this.#token(headers, version, [this.acceptedToken]);
      this.#checkIds(headers, version, false, null);
      this.acceptedToken = null;
      this.gatewayToken = null;
      this.version = null;
      return envelopeResponse(200, 1000, "Success");
    }
    throw new Refused(405, 2000, `${method} is not supported on credentials`);
  }

  #ownerOfLocation(version: OcpiVersion, locationId: string): { location: Record<string, unknown>; owner: Party } | null {
    for (const location of this.locations) {
      if (!same(location.id, locationId)) continue;
      const owner = version === "2.2.1" ? { countryCode: location.country_code as string, partyId: location.party_id as string } : this.parties[0]!;
      return { location, owner };
    }
    return null;
  }

  #checkResponseUrl(version: OcpiVersion, responseUrl: string): void {
    if (!this.gatewayVersionsUrl) throw new Refused(400, 2001, "not registered with a gateway");
    const base = this.gatewayVersionsUrl.replace(/\/versions$/, "");
    if (!URL.canParse(responseUrl) || !responseUrl.startsWith(`${base}/${version}/`)) throw new Refused(400, 2001, `response_url must lie under ${base}/${version}/`);
    if (this.#usedResponseUrls.has(responseUrl)) throw new Refused(400, 2001, "response_url was already used by another command");
    this.#usedResponseUrls.add(responseUrl);
  }

  async #command(kind: string, version: OcpiVersion, headers: Record<string, string>, bodyText: string, signal: AbortSignal): Promise<Response> {
    if (!this.acceptedToken || this.version !== version) throw new Refused(404, 2000, `not registered on ${version}`);
    this.#token(headers, version, [this.acceptedToken]);
    if (kind !== "START_SESSION" && kind !== "STOP_SESSION") throw new Refused(404, 2000, `command ${kind} is not supported by this simulator`);
    if (!(headers["content-type"] ?? "").startsWith("application/json")) throw new Refused(400, 2001, "Content-Type: application/json is required");
    let body: unknown;
    try {
      body = parseExactJson(bodyText);
    } catch {
      throw new Refused(400, 2001, "malformed JSON");
    }
    const codec = codecFor(version);
    const schema = kind === "START_SESSION" ? codec.outbound.startSession : codec.outbound.stopSession;
    const parsed = schema.safeParse(body);
    if (!parsed.success || !isJsonObject(body)) {
      const detail = parsed.success ? "body" : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      throw new Refused(400, 2001, `${kind}: ${detail}`);
    }
    let to: Party | null = null;
    if (kind === "START_SESSION") {
      const token = body.token as Record<string, unknown>;
      const uid = token.uid as string;
      const match = TOKEN_UID.exec(uid);
      if (!match || match[1] !== this.#options.tokenPrefix) throw new Refused(400, 2001, `token.uid must be ${this.#options.tokenPrefix} and 16 upper-case hexadecimal digits`);
      const alias = version === "2.2.1" ? token.contract_id : token.auth_id;
      if (alias !== uid) throw new Refused(400, 2001, `token.${version === "2.2.1" ? "contract_id" : "auth_id"} must equal token.uid`);
      if (this.#usedUids.has(uid)) throw new Refused(400, 2001, "token.uid was already used for another session");
      if (version === "2.2.1" && this.gatewayParty && (!same(token.country_code, this.gatewayParty.countryCode) || !same(token.party_id, this.gatewayParty.partyId))) {
        throw new Refused(400, 2001, "token country_code/party_id must be the gateway's");
      }
      if (!isOcpiDateTime(token.last_updated as string) || !(token.last_updated as string).endsWith("Z")) throw new Refused(400, 2001, "token.last_updated must be a UTC DateTime with Z");
      this.#checkResponseUrl(version, body.response_url as string);
      const found = this.#ownerOfLocation(version, body.location_id as string);
      if (!found) {
        this.#checkIds(headers, version, true, null);
        return envelopeResponse(200, 2003, "Unknown location");
      }
      to = found.owner;
      this.#checkIds(headers, version, true, to);
      const evses = Array.isArray(found.location.evses) ? (found.location.evses as Array<Record<string, unknown>>) : [];
      const evse = evses.find((e) => same(e.uid, body.evse_uid as string));
      if (!evse) throw new Refused(400, 2001, `evse_uid ${String(body.evse_uid)} is not an EVSE of ${String(body.location_id)}`);
      if (body.connector_id !== undefined) {
        const connectors = Array.isArray(evse.connectors) ? (evse.connectors as Array<Record<string, unknown>>) : [];
        if (!connectors.some((c) => same(c.id, body.connector_id as string))) throw new Refused(400, 2001, `connector_id ${String(body.connector_id)} is not a connector of ${String(body.evse_uid)}`);
      }
      this.#usedUids.add(uid);
    } else {
      this.#checkResponseUrl(version, body.response_url as string);
      this.#checkIds(headers, version, true, null);
    }
    const behaviour = this.#behaviours.shift() ?? this.#defaultBehaviour;
    const responseUrl = body.response_url as string;
    this.commands.push({ kind, version, body, headers, responseUrl });
    if (behaviour.dropAnswer) throw new SimulatedConnectionRefused();
    if (behaviour.hang) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.hangMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      return envelopeResponse(200, 3000, "gave up");
    }
    if (behaviour.garbage) return new Response("<html>gateway timeout</html>", { status: 200, headers: { "Content-Type": "text/html" } });
    if (behaviour.httpStatus !== undefined || behaviour.statusCode !== undefined) {
      return envelopeResponse(behaviour.httpStatus ?? 200, behaviour.statusCode ?? 3000, "simulated failure");
    }
    let response = behaviour.response ?? "ACCEPTED";
    if (kind === "STOP_SESSION" && !this.sessions.has(String(body.session_id).toUpperCase())) response = "UNKNOWN_SESSION";
    if (version === "2.2.1" && response === "TIMEOUT") response = "REJECTED";
    if (response === "ACCEPTED" && behaviour.result !== undefined && behaviour.result !== null) {
      const result = behaviour.result;
      this.#track(
        (async () => {
          await Promise.resolve();
          await this.sendResult(responseUrl, version === "2.2.1" ? { result } : { result });
        })(),
      );
    }
    const data = version === "2.2.1" ? { result: response, timeout: 30 } : { result: response };
    return envelopeResponse(200, 1000, "Success", data);
  }

  #list(module: "locations" | "tariffs", version: OcpiVersion, url: URL, headers: Record<string, string>): Response {
    if (!this.acceptedToken || this.version !== version) throw new Refused(404, 2000, `not registered on ${version}`);
    this.#token(headers, version, [this.acceptedToken]);
    this.#checkIds(headers, version, true, this.parties[0]!);
    const failure = this.pageFailures.shift();
    if (failure) return envelopeResponse(failure.httpStatus, failure.statusCode, "simulated refusal");
    const offset = Number(url.searchParams.get("offset") ?? "0");
    const limit = Math.min(Number(url.searchParams.get("limit") ?? String(this.#options.pageSize)), this.#options.pageSize);
    if (!Number.isInteger(offset) || offset < 0) throw new Refused(400, 2001, "offset must be a non-negative integer");
    const all = module === "locations" ? this.locations : this.tariffs;
    const page = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? `${this.baseUrl}/${version}/${module}?offset=${offset + limit}&limit=${limit}` : null;
    return envelopeResponse(200, 1000, "Success", page, {
      "X-Total-Count": String(this.#options.misleadingTotalCount ? 1 : all.length),
      "X-Limit": String(this.#options.pageSize),
      ...(next ? { Link: `<${next}>; rel="next"` } : {}),
    });
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  // ---------------------------------------------------------------- calling the gateway

  #outboundEncoding(version: OcpiVersion): TokenEncoding {
    return this.#outboundOverride ?? (version === "2.2.1" ? "base64" : "plain");
  }

  async #callGateway(method: string, url: string, token: string, encoding: TokenEncoding, body: unknown, functional: boolean, version: OcpiVersion, from?: Party): Promise<Response> {
    const headers: Record<string, string> = {
      Authorization: authorizationHeader(token, encoding),
      "X-Request-ID": crypto.randomUUID(),
      "X-Correlation-ID": crypto.randomUUID(),
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (functional && version === "2.2.1") {
      const party = from ?? this.parties[0]!;
      headers["OCPI-from-country-code"] = party.countryCode;
      headers["OCPI-from-party-id"] = party.partyId;
      if (this.gatewayParty) {
        headers["OCPI-to-country-code"] = this.gatewayParty.countryCode;
        headers["OCPI-to-party-id"] = this.gatewayParty.partyId;
      }
    }
    return this.#gatewayFetch(new Request(url, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) }));
  }

  /** The gateway's endpoint URL of a module (from its version details). */
  gatewayEndpoint(identifier: string): string {
    const endpoint = this.gatewayEndpoints.find((e) => e.identifier === identifier);
    if (!endpoint) throw new Error(`the gateway lists no ${identifier} endpoint`);
    return endpoint.url;
  }

  /** Sends a request to one of the gateway's module endpoints with the gateway's token. `body` may be raw JSON text. */
  async push(method: "GET" | "PUT" | "PATCH" | "POST" | "DELETE", path: string, body?: unknown, options: { from?: Party; encoding?: TokenEncoding; token?: string } = {}): Promise<Response> {
    if (!this.gatewayToken || !this.version) throw new Error("not registered with the gateway");
    const [module, ...rest] = path.split("/");
    const url = [this.gatewayEndpoint(module!).replace(/\/+$/, ""), ...rest].join("/");
    return this.#callGateway(method, url, options.token ?? this.gatewayToken, options.encoding ?? this.#outboundEncoding(this.version), body, true, this.version, options.from);
  }

  /** POSTs a command result (bare object, no envelope) to a `response_url`. */
  async sendResult(responseUrl: string, body: unknown): Promise<Response> {
    if (!this.gatewayToken || !this.version) throw new Error("not registered with the gateway");
    return this.#callGateway("POST", responseUrl, this.gatewayToken, this.#outboundEncoding(this.version), body, true, this.version);
  }

  /**
   * The CPO's credentials update: PUTs new credentials (a new token for the gateway to present) to
   * the gateway's credentials endpoint of `version` (default: the current one) and keeps the
   * gateway's new token from the answer.
   */
  async updateCredentials(version?: OcpiVersion): Promise<{ status: number; body: Record<string, unknown> }> {
    if (!this.gatewayToken || !this.version || !this.gatewayVersionsUrl) throw new Error("not registered with the gateway");
    const target = version ?? this.version;
    const versions = (await (await this.#callGateway("GET", this.gatewayVersionsUrl, this.gatewayToken, this.#outboundEncoding(this.version), undefined, false, this.version)).json()) as { data: Array<{ version: string; url: string }> };
    const entry = versions.data.find((d) => d.version === target)!;
    const details = (await (await this.#callGateway("GET", entry.url, this.gatewayToken, this.#outboundEncoding(this.version), undefined, false, this.version)).json()) as { data: { endpoints: Array<{ identifier: string; role?: string; url: string }> } };
    const credentialsUrl = details.data.endpoints.find((e) => e.identifier === "credentials")!.url;
    const previous = { accepted: this.acceptedToken, version: this.version };
    this.acceptedToken = randomToken("token-b-");
    this.version = target;
    const answer = await this.#callGateway("PUT", credentialsUrl, this.gatewayToken, this.#outboundEncoding(previous.version), this.#ownCredentials(target, this.acceptedToken), false, previous.version);
    const body = (await answer.json()) as Record<string, unknown>;
    if (answer.status === 200 && body.status_code === 1000) {
      this.gatewayToken = (body.data as Record<string, unknown>).token as string;
      this.gatewayEndpoints = details.data.endpoints.map((e) => ({ identifier: e.identifier, role: e.role ?? null, url: e.url }));
    } else {
      this.acceptedToken = previous.accepted;
      this.version = previous.version;
    }
    return { status: answer.status, body };
  }

  /** The CPO's unregistration: DELETE on the gateway's credentials endpoint. */
  async unregister(): Promise<{ status: number; body: Record<string, unknown> }> {
    if (!this.gatewayToken || !this.version) throw new Error("not registered with the gateway");
    const answer = await this.#callGateway("DELETE", this.gatewayEndpoint("credentials"), this.gatewayToken, this.#outboundEncoding(this.version), undefined, false, this.version);
    const body = (await answer.json()) as Record<string, unknown>;
    if (answer.status === 200) {
      this.acceptedToken = null;
      this.version = null;
    }
    return { status: answer.status, body };
  }

  /**
   * CPO-initiated registration: reads the gateway's versions and details with Token A, picks a
   * version (the highest in common, or the one given) and POSTs its credentials with a new Token B.
   * Returns the gateway's answer.
   */
  async register(versionsUrl: string, tokenA: string, version?: OcpiVersion): Promise<{ status: number; body: Record<string, unknown> }> {
    const plain: TokenEncoding = "plain";
    const encodingFor = (v: OcpiVersion) => this.#outboundOverride ?? (v === "2.2.1" ? "base64" : plain);
    const firstEncoding = encodingFor(version ?? this.#options.versions[0]!);
    const versions = (await (await this.#callGateway("GET", versionsUrl, tokenA, firstEncoding, undefined, false, "2.2.1")).json()) as { data: Array<{ version: string; url: string }> };
    const chosen = version ?? this.#options.versions.find((v) => versions.data.some((d) => d.version === v));
    const entry = versions.data.find((d) => d.version === chosen);
    if (!chosen || !entry) throw new Error("no version in common with the gateway");
    const encoding = encodingFor(chosen);
    const details = (await (await this.#callGateway("GET", entry.url, tokenA, encoding, undefined, false, chosen)).json()) as { data: { endpoints: Array<{ identifier: string; role?: string; url: string }> } };
    const credentialsUrl = details.data.endpoints.find((e) => e.identifier === "credentials")!.url;
    this.acceptedToken = randomToken("token-b-");
    this.version = chosen;
    const answer = await this.#callGateway("POST", credentialsUrl, tokenA, encoding, this.#ownCredentials(chosen, this.acceptedToken), false, chosen);
    const body = (await answer.json()) as Record<string, unknown>;
    if (answer.status === 200 && body.status_code === 1000) {
      const data = body.data as Record<string, unknown>;
      this.gatewayToken = data.token as string;
      const role = chosen === "2.2.1" ? (data.roles as Array<Record<string, string>>)[0]! : (data as Record<string, string>);
      this.gatewayParty = { countryCode: role.country_code!, partyId: role.party_id! };
      this.gatewayEndpoints = details.data.endpoints.map((e) => ({ identifier: e.identifier, role: e.role ?? null, url: e.url }));
      this.gatewayVersionsUrl = versionsUrl;
    } else {
      this.acceptedToken = null;
      this.version = null;
    }
    return { status: answer.status, body };
  }
}
