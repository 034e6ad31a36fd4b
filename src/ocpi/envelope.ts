/** The OCPI response envelope and status codes (CONTRACT §7.2), both for answering and for reading answers. */
import { formatOcpiDateTime } from "./datetime";
import { exactJson } from "./json";

/** OCPI `status_code` values the gateway uses. */
export const OcpiStatus = {
  success: 1000,
  clientError: 2000,
  invalidParameters: 2001,
  notEnoughInformation: 2002,
  unknownLocation: 2003,
  serverError: 3000,
  unableToUseClientApi: 3001,
  unsupportedVersion: 3002,
  noMatchingEndpoints: 3003,
} as const;
export type OcpiStatusCode = (typeof OcpiStatus)[keyof typeof OcpiStatus];

/** The envelope of an answer. `data` undefined means left out (acknowledgements and errors). */
export interface Envelope {
  data?: unknown;
  status_code: number;
  status_message: string;
  timestamp: string;
}

/** Builds an envelope; `data` is left out when undefined. */
export function envelope(statusCode: number, statusMessage: string, data?: unknown, now = Date.now()): Envelope {
  return {
    ...(data === undefined ? {} : { data }),
    status_code: statusCode,
    status_message: statusMessage,
    timestamp: formatOcpiDateTime(now),
  };
}

/** An envelope as JSON text; raw numbers in `data` come out as written. */
export function envelopeText(statusCode: number, statusMessage: string, data?: unknown): string {
  return exactJson(envelope(statusCode, statusMessage, data));
}

/**
 * A refusal of an OCPI request: its HTTP status, OCPI status code and message. Thrown by the
 * receivers and turned into the envelope by the OCPI router; never reaches the tenant API.
 */
export class OcpiError extends Error {
  constructor(
    readonly httpStatus: 200 | 400 | 401 | 404 | 405 | 413,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = "OcpiError";
  }
}

/** 400 / 2001: the request is malformed or names a field wrongly. */
export const invalidParameters = (message: string) => new OcpiError(400, OcpiStatus.invalidParameters, message);
/** 401 / 2000: no token, or one the gateway does not accept here. */
export const unauthorized = (message: string) => new OcpiError(401, OcpiStatus.clientError, message);
