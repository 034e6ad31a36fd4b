/**
 * The gateway's OCPI identity and timing settings (CONTRACT §7.1), read from the environment
 * with named defaults. Pure: `scripts/start.ts` uses the same checks to refuse a malformed value
 * before the Worker starts.
 */

declare global {
  namespace Cloudflare {
    interface Env {
      /** The gateway's OCPI `country_code`. */
      OCPI_COUNTRY_CODE?: string;
      /** The gateway's OCPI `party_id`. */
      OCPI_PARTY_ID?: string;
      /** Begins every token uid the gateway mints. */
      OCPI_TOKEN_PREFIX?: string;
      /** `business_details.name` and token `issuer`. */
      OCPI_BUSINESS_NAME?: string;
      /** The gateway's base URL as a CPO reaches it. */
      PUBLIC_URL?: string;
      OCPI_START_WINDOW_SECONDS?: string;
      OCPI_RESULT_GRACE_SECONDS?: string;
      OCPI_CDR_WAIT_SECONDS?: string;
    }
  }
}

/** Defaults of §7.1. */
export const OCPI_DEFAULTS = {
  /** Nayax's home country until a deployment names its own. */
  OCPI_COUNTRY_CODE: "IL",
  OCPI_PARTY_ID: "NYX",
  /** Flux asks for three characters and a separator. */
  OCPI_TOKEN_PREFIX: "NYX-",
  OCPI_BUSINESS_NAME: "Nayax",
  /** A charger can take minutes between a remote start and the car drawing current. */
  OCPI_START_WINDOW_SECONDS: "180",
  /** A late Session after a failed result is rare; a short wait catches it. */
  OCPI_RESULT_GRACE_SECONDS: "15",
  /** CPOs usually send the CDR within minutes of the end; an hour leaves room. */
  OCPI_CDR_WAIT_SECONDS: "3600",
} as const;

/** Port `npm start` and `wrangler dev` use unless told otherwise; the PUBLIC_URL default is built on it. */
export const DEFAULT_LOCAL_PORT = 8787;
/** Longest timing setting accepted: a week. */
const MAX_SECONDS = 7 * 24 * 3600;
/** `business_details.name` is string(100) in OCPI. */
const MAX_BUSINESS_NAME = 100;

/** The settings as the gateway uses them. */
export interface OcpiConfig {
  countryCode: string;
  partyId: string;
  tokenPrefix: string;
  businessName: string;
  /** Without a trailing slash; null when unset (the request's own origin is used then). */
  publicUrl: string | null;
  startWindowSeconds: number;
  resultGraceSeconds: number;
  cdrWaitSeconds: number;
}

type Check = (value: string) => string | null;

const seconds: Check = (value) => (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_SECONDS ? null : `must be a whole number of seconds from 1 to ${MAX_SECONDS}`);

const CHECKS: Record<string, Check> = {
  OCPI_COUNTRY_CODE: (v) => (/^[A-Z]{2}$/.test(v) ? null : "must be two upper-case letters (ISO 3166 alpha-2), like IL"),
  OCPI_PARTY_ID: (v) => (/^[A-Z0-9]{3}$/.test(v) ? null : "must be three upper-case letters or digits, like NYX"),
  OCPI_TOKEN_PREFIX: (v) =>
    /^[A-Z0-9]{3}[!-/:-@[-`{-~]$/.test(v) ? null : "must be three upper-case letters or digits and one separator (printable ASCII, not a letter, digit or space), like NYX-",
  OCPI_BUSINESS_NAME: (v) => (v.trim() !== "" && v.length <= MAX_BUSINESS_NAME && /^[^\x00-\x1f\x7f]+$/.test(v) ? null : `must be 1 to ${MAX_BUSINESS_NAME} printable characters`),
  PUBLIC_URL: (v) => checkPublicUrl(v),
  OCPI_START_WINDOW_SECONDS: seconds,
  OCPI_RESULT_GRACE_SECONDS: seconds,
  OCPI_CDR_WAIT_SECONDS: seconds,
};

/** Names of every OCPI setting, for pass-through lists. */
export const OCPI_SETTING_NAMES = Object.keys(CHECKS);

function checkPublicUrl(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute http:// or https:// URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an absolute http:// or https:// URL";
  if (url.username || url.password) return "must not contain a username or password";
  if (url.search || url.hash) return "must not contain a query or fragment";
  return null;
}

/** Problems with the given settings, one `NAME: why` each; unset or empty values are fine (defaults). */
export function ocpiSettingProblems(vars: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  for (const [name, check] of Object.entries(CHECKS)) {
    const value = vars[name];
    if (value === undefined || value === "") continue;
    const problem = check(value);
    if (problem) problems.push(`${name}: ${problem}`);
  }
  return problems;
}

/**
 * For `npm start`: the OCPI settings to pass to the Worker (given ones, and PUBLIC_URL's default
 * `http://127.0.0.1:{port}`). Throws an Error naming each malformed variable.
 */
export function ocpiStartVars(vars: Record<string, string | undefined>, port: number): Record<string, string> {
  const problems = ocpiSettingProblems(vars);
  if (problems.length > 0) throw new Error(`invalid OCPI setting: ${problems.join("; ")}`);
  const out: Record<string, string> = {};
  for (const name of OCPI_SETTING_NAMES) if (vars[name]) out[name] = vars[name]!;
  out.PUBLIC_URL ??= `http://127.0.0.1:${port}`;
  return out;
}

const cache = new Map<string, OcpiConfig>();

/**
 * The settings from the Worker's environment. A malformed value (which `npm start` refuses) falls
 * back to its default here rather than failing every request.
 */
export function ocpiConfig(env: Env): OcpiConfig {
  const vars: Record<string, string | undefined> = {};
  for (const name of OCPI_SETTING_NAMES) vars[name] = (env as unknown as Record<string, string | undefined>)[name];
  const key = JSON.stringify(vars);
  const hit = cache.get(key);
  if (hit) return hit;
  const pick = (name: keyof typeof OCPI_DEFAULTS) => {
    const value = vars[name];
    return value && CHECKS[name]!(value) === null ? value : OCPI_DEFAULTS[name];
  };
  const publicUrl = vars.PUBLIC_URL && checkPublicUrl(vars.PUBLIC_URL) === null ? vars.PUBLIC_URL.replace(/\/+$/, "") : null;
  const config: OcpiConfig = {
    countryCode: pick("OCPI_COUNTRY_CODE"),
    partyId: pick("OCPI_PARTY_ID"),
    tokenPrefix: pick("OCPI_TOKEN_PREFIX"),
    businessName: pick("OCPI_BUSINESS_NAME"),
    publicUrl,
    startWindowSeconds: Number(pick("OCPI_START_WINDOW_SECONDS")),
    resultGraceSeconds: Number(pick("OCPI_RESULT_GRACE_SECONDS")),
    cdrWaitSeconds: Number(pick("OCPI_CDR_WAIT_SECONDS")),
  };
  cache.set(key, config);
  return config;
}

/** The gateway's base URL: PUBLIC_URL, else the origin the request came to, else the local default. */
export function publicBaseUrl(env: Env, requestUrl?: string): string {
  const configured = ocpiConfig(env).publicUrl;
  if (configured) return configured;
  return requestUrl ? new URL(requestUrl).origin : `http://127.0.0.1:${DEFAULT_LOCAL_PORT}`;
}
