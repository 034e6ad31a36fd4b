/**
 * Reading a CPO's versions and version details (CONTRACT §7.3): the first step of every
 * registration and credentials update. A failure says which step failed and what the CPO
 * answered, with the OCPI status code the gateway answers a CPO-initiated request with.
 */
import { callOcpi, describeResult, isSuccess } from "./client";
import type { OcpiCallResult } from "./client";
import { codecFor } from "./codecs";
import { OcpiStatus } from "./envelope";
import { OCPI_VERSIONS, isOcpiVersion } from "./model";
import type { Endpoint, OcpiVersion } from "./model";
import { VersionsList } from "./schemas";
import { encodingFor } from "./token";
import type { TokenEncoding } from "./token";

export interface Discovery {
  version: OcpiVersion;
  endpoints: Endpoint[];
  /** The token form the CPO accepted. */
  encoding: TokenEncoding;
}

export type DiscoveryResult = { ok: true; discovery: Discovery } | { ok: false; statusCode: number; message: string };

export interface DiscoveryInput {
  versionsUrl: string;
  token: string;
  /** A form the tenant fixed; null tries Base64 first and, after a 401, the token as is. */
  fixedEncoding: TokenEncoding | null;
  /** The version to use, or the highest both sides support. */
  version: OcpiVersion | "highest";
  /** Endpoints the registration cannot do without: `commands` always, `credentials` when the gateway must call it. */
  needCredentials: boolean;
  correlationId?: string;
}

const fail = (statusCode: number, message: string): DiscoveryResult => ({ ok: false, statusCode, message });

async function get(url: string, token: string, encoding: TokenEncoding, correlationId?: string): Promise<OcpiCallResult> {
  return callOcpi({ method: "GET", url, token, encoding, version: null, target: "versions", ...(correlationId ? { correlationId } : {}) });
}

/** A GET in the preferred form and, unless the form is fixed, once more in the other after a 401. */
async function getWithFallback(url: string, token: string, preferred: TokenEncoding, fixed: boolean, correlationId?: string): Promise<{ result: OcpiCallResult; encoding: TokenEncoding }> {
  const first = await get(url, token, preferred, correlationId);
  if (fixed || first.kind !== "answer" || first.httpStatus !== 401) return { result: first, encoding: preferred };
  const other: TokenEncoding = preferred === "base64" ? "plain" : "base64";
  return { result: await get(url, token, other, correlationId), encoding: other };
}

/**
 * Reads the CPO's versions and the details of the chosen version, and checks the endpoints the
 * gateway needs. Unless the form is fixed, the versions are read with the token Base64-encoded
 * (in the version's own form when the version is already known) and, after a 401, in the other
 * form; the details in the chosen version's form (as is on 2.1.1) unless the versions needed the
 * other one, again with one retry after a 401.
 */
export async function discover(input: DiscoveryInput): Promise<DiscoveryResult> {
  const fixed = input.fixedEncoding !== null;
  // A known version (the CPO called one version's credentials) reads in that version's form first.
  const first = input.fixedEncoding ?? (input.version === "highest" ? "base64" : encodingFor(input.version, null));
  const read = await getWithFallback(input.versionsUrl, input.token, first, fixed, input.correlationId);
  const versions = read.result;
  if (!isSuccess(versions)) return fail(OcpiStatus.unableToUseClientApi, `GET ${input.versionsUrl} (versions): ${describeResult(versions)}`);
  const list = VersionsList.safeParse(versions.envelope.data);
  if (!list.success) return fail(OcpiStatus.unableToUseClientApi, `GET ${input.versionsUrl} (versions): data is not a list of {version, url}`);
  const offered = new Map(list.data.filter((v) => isOcpiVersion(v.version)).map((v) => [v.version as OcpiVersion, v.url]));
  const version = input.version === "highest" ? OCPI_VERSIONS.find((v) => offered.has(v)) : offered.has(input.version) ? input.version : undefined;
  if (!version) {
    const theirs = list.data.map((v) => v.version).join(", ") || "none";
    return fail(OcpiStatus.unsupportedVersion, `no OCPI version in common (the CPO offers ${theirs}; the gateway ${input.version === "highest" ? OCPI_VERSIONS.join(", ") : input.version})`);
  }
  const detailsUrl = offered.get(version)!;
  const preferred = input.fixedEncoding ?? (read.encoding !== first ? read.encoding : encodingFor(version, null));
  const detailsRead = await getWithFallback(detailsUrl, input.token, preferred, fixed, input.correlationId);
  const details = detailsRead.result;
  const encoding = detailsRead.encoding;
  if (!isSuccess(details)) return fail(OcpiStatus.unableToUseClientApi, `GET ${detailsUrl} (${version} details): ${describeResult(details)}`);
  const codec = codecFor(version);
  const parsed = codec.versionDetails.schema.safeParse(details.envelope.data);
  if (!parsed.success) return fail(OcpiStatus.unableToUseClientApi, `GET ${detailsUrl} (${version} details): data is not a version details object`);
  const endpoints = codec.versionDetails.endpoints(parsed.data);
  const commands = endpoints.find((e) => e.identifier === "commands" && (e.role === null || e.role === "RECEIVER"));
  if (!commands) return fail(OcpiStatus.noMatchingEndpoints, `the CPO's ${version} details list no commands endpoint${version === "2.2.1" ? " with role RECEIVER" : ""}`);
  if (input.needCredentials && !endpoints.some((e) => e.identifier === "credentials")) {
    return fail(OcpiStatus.noMatchingEndpoints, `the CPO's ${version} details list no credentials endpoint`);
  }
  return { ok: true, discovery: { version, endpoints, encoding } };
}
