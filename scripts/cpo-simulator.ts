/**
 * The CPO simulator as a local HTTP server, for running the gateway against a fake OCPI CPO:
 *
 *   npx tsx scripts/cpo-simulator.ts
 *
 * OCPI: `{base}/versions`, `{base}/{2.2.1|2.1.1}` details, `…/credentials`, `…/commands/{command}`,
 * `…/locations` and `…/tariffs` (paginated), with `{base}` = `http://{CPO_SIM_HOST}:{CPO_SIM_PORT}/ocpi`.
 *
 * Environment:
 * - `CPO_SIM_PORT` (default 8792), `CPO_SIM_HOST` (default 127.0.0.1).
 * - `CPO_SIM_VERSIONS`: offered versions, highest first (default `2.2.1,2.1.1`).
 * - `CPO_SIM_PARTIES_JSON`: `[{"countryCode", "partyId", "name"}, …]` (default NL/EXA).
 * - `CPO_SIM_TOKEN_PREFIX`: the prefix the gateway's token uids must have (default `NYX-`).
 *
 * Control endpoints (JSON):
 * - `POST /_sim/token-a` → `{token, versionsUrl}`: Token A for `POST /v1/ocpi/connection`.
 * - `POST /_sim/register` `{versionsUrl, token, version?}`: registers with the gateway using an invitation.
 * - `POST /_sim/update-credentials` `{version?}`, `POST /_sim/unregister`.
 * - `PUT /_sim/locations`, `PUT /_sim/tariffs` `[…objects]`: what the senders serve.
 * - `POST /_sim/sessions` `{"id"}`: a CPO Session id STOP_SESSION may name.
 * - `POST /_sim/next-command` / `PUT /_sim/default-command` `{response?, result?, httpStatus?,
 *   statusCode?, garbage?, hang?, dropAnswer?}`: what commands get.
 * - `PUT /_sim/down` `{"down": true}`: drop every connection until turned off.
 * - `POST /_sim/push` `{method, path, body}`: sends `body` to the gateway's `{module}/{…}` as the CPO
 *   (e.g. `{"method": "PUT", "path": "sessions/NL/EXA/101", "body": {…}}`); answers the gateway's answer.
 * - `POST /_sim/result` `{responseUrl, body}`: posts a command result.
 * - `GET /_sim/commands`, `GET /_sim/requests` (each with the simulator's answer), `GET /_sim/violations`,
 *   `DELETE /_sim/requests`, `GET /_sim/health`.
 *
 * Node 20 only exposes JSON.rawJSON and JSON.parse source text behind a V8 flag, which the
 * simulator needs to keep numbers exact; on such a Node this script re-runs itself with the flag.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isOcpiVersion } from "../src/ocpi/model";
import type { OcpiVersion } from "../src/ocpi/model";
import { CpoSimulator, SimulatedConnectionRefused } from "../sim/cpo-simulator";
import type { CommandBehaviour, SimParty } from "../sim/cpo-simulator";
import { forward, listen, readBody, runWithJsonSource, sendJson } from "./sim-server";

/** The port beside the gateway's (8787) and the Spark simulator's (8790). */
const DEFAULT_PORT = 8792;
/** Largest request body accepted: a page of Locations is far smaller. */
const MAX_BODY = 4 * 1024 * 1024;

runWithJsonSource(main);

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

function options() {
  const versions = (process.env["CPO_SIM_VERSIONS"] ?? "2.2.1,2.1.1").split(",").map((v) => v.trim());
  if (!versions.every(isOcpiVersion)) fail("CPO_SIM_VERSIONS: must list 2.2.1 and/or 2.1.1");
  let parties: SimParty[] | undefined;
  const partiesText = process.env["CPO_SIM_PARTIES_JSON"];
  if (partiesText) {
    try {
      parties = JSON.parse(partiesText) as SimParty[];
      if (!Array.isArray(parties) || parties.some((p) => !/^[A-Z]{2}$/.test(p.countryCode) || !/^[A-Z0-9]{3}$/.test(p.partyId) || typeof p.name !== "string")) throw new Error("bad");
    } catch {
      fail('CPO_SIM_PARTIES_JSON: must be [{"countryCode": "NL", "partyId": "EXA", "name": "…"}, …]');
    }
  }
  return { versions: versions as OcpiVersion[], parties, tokenPrefix: process.env["CPO_SIM_TOKEN_PREFIX"] };
}

function main(): void {
  const port = Number(process.env["CPO_SIM_PORT"] ?? DEFAULT_PORT);
  const host = process.env["CPO_SIM_HOST"] ?? "127.0.0.1";
  const { versions, parties, tokenPrefix } = options();
  const sim = new CpoSimulator({
    baseUrl: `http://${host}:${port}/ocpi`,
    gatewayFetch: (request) => fetch(request),
    versions,
    ...(parties ? { parties } : {}),
    ...(tokenPrefix ? { tokenPrefix } : {}),
  });

  listen({
    host,
    port,
    name: "cpo simulator",
    serve: (req, res) => serve(sim, `http://${host}:${port}`, req, res),
    dropsConnection: (error) => error instanceof SimulatedConnectionRefused,
    banner: () => `CPO simulator on http://${host}:${port}/ocpi/versions (OCPI ${versions.join(", ")})`,
  });
}

/** Answers one request; `origin` is where the simulator listens, so logged URLs are whole. */
async function serve(sim: CpoSimulator, origin: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", origin);
  const body = await readBody(req, MAX_BODY);
  if (url.pathname.startsWith("/_sim/")) return control(sim, url, req.method ?? "GET", body.toString("utf8"), res);
  return forward((request) => sim.handle(request), url, req, body, res);
}

async function answerOf(response: Response) {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: passed on as text
  }
  return { status: response.status, headers: Object.fromEntries(response.headers), body };
}

async function control(sim: CpoSimulator, url: URL, method: string, text: string, res: ServerResponse): Promise<void> {
  const route = `${method} ${url.pathname}`;
  let input: Record<string, unknown> = {};
  if (text.trim() !== "") {
    try {
      input = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return sendJson(res, 400, { error: "body must be JSON" });
    }
  }
  switch (route) {
    case "GET /_sim/health":
      return sendJson(res, 200, { ok: true, version: sim.version, registered: sim.gatewayToken !== null });
    case "POST /_sim/token-a":
      return sendJson(res, 200, sim.offerTokenA());
    case "POST /_sim/register":
      return sendJson(res, 200, await sim.register(String(input.versionsUrl), String(input.token), input.version as OcpiVersion | undefined));
    case "POST /_sim/update-credentials":
      return sendJson(res, 200, await sim.updateCredentials(input.version as OcpiVersion | undefined));
    case "POST /_sim/unregister":
      return sendJson(res, 200, await sim.unregister());
    case "PUT /_sim/locations":
    case "PUT /_sim/tariffs":
      if (!Array.isArray(input)) return sendJson(res, 400, { error: "body must be a list of objects" });
      if (route.endsWith("locations")) sim.locations = input as Record<string, unknown>[];
      else sim.tariffs = input as Record<string, unknown>[];
      return sendJson(res, 204, null);
    case "POST /_sim/sessions":
      sim.sessions.add(String(input.id).toUpperCase());
      return sendJson(res, 204, null);
    case "POST /_sim/next-command":
      sim.nextCommand(input as CommandBehaviour);
      return sendJson(res, 204, null);
    case "PUT /_sim/default-command":
      sim.setDefaultCommand(input as CommandBehaviour);
      return sendJson(res, 204, null);
    case "PUT /_sim/down":
      sim.down = input.down === true;
      return sendJson(res, 204, null);
    case "POST /_sim/push": {
      // The body is forwarded as the exact text it was given in, numbers included.
      const bodyText = /"body"\s*:/.test(text) ? JSON.stringify((JSON.parse(text, (_k, v, c?: { source?: string }) => (typeof v === "number" && c?.source ? JSON.rawJSON(c.source) : v)) as { body: unknown }).body) : undefined;
      return sendJson(res, 200, await answerOf(await sim.push(input.method as "PUT", String(input.path), bodyText)));
    }
    case "POST /_sim/result":
      return sendJson(res, 200, await answerOf(await sim.sendResult(String(input.responseUrl), input.body)));
    case "GET /_sim/commands":
      return sendJson(res, 200, sim.commands);
    case "GET /_sim/requests":
      return sendJson(res, 200, sim.requests);
    case "GET /_sim/violations":
      return sendJson(res, 200, sim.violations);
    case "DELETE /_sim/requests":
      sim.clearLog();
      return sendJson(res, 204, null);
    default:
      return sendJson(res, 404, { error: `no route ${route}` });
  }
}
