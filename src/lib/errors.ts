import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** One problem with one field of a request. */
export interface ErrorDetail {
  field: string;
  message: string;
}

/**
 * The one error type that reaches the wire. Anything else thrown is a bug: it is logged
 * and answered as a bare 500 without internals.
 */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(status, { message });
    this.name = "ApiError";
  }

  /** Spark's own code and description, when Spark is why this failed (502). */
  spark?: { code: number | null; description: string };

  /** The tenant/operator API's error body. */
  toJSON(): { error: { code: string; message: string; details: ErrorDetail[]; spark?: { code: number | null; description: string } } } {
    return { error: { code: this.code, message: this.message, details: this.details, ...(this.spark ? { spark: this.spark } : {}) } };
  }
}

export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);
export const conflict = (message: string) => new ApiError(409, "conflict", message);

/**
 * Every `error.code` the tenant and operator APIs answer, with its status and meaning. The API
 * reference enumerates them from here; a test holds this list to the codes the source answers.
 */
export const ERROR_CODES = {
  invalid_request: "400: a field is missing, mistyped, out of range or unknown, or a query parameter is unknown; `details` names each field.",
  invalid_json: "400: the body is not valid JSON.",
  invalid_cursor: "400: `cursor` is not one this API gave out.",
  unauthorized: "401: no, unknown or expired API key or operator token, or a disabled tenant.",
  not_found: "404: no such object for this caller (another tenant's is not found either), or no such route.",
  conflict: "409: the request conflicts with the current state: a SiteId, machine or `spark.tokenId` claimed by another tenant; a session already in that state, or changed meanwhile; OCPI already (or not) connected, or another OCPI registration in progress.",
  tenant_disabled: "409: the tenant is disabled; enable it first.",
  endpoint_disabled: "409: the webhook endpoint is disabled; enable it before redelivering or recovering to it.",
  operation_in_doubt: "409: a call to Spark for this session is pending or its outcome unknown; only the same request may be repeated until it is resolved.",
  review_required: "409: the session awaits review (`review_required`); resolve it first.",
  not_in_review: "409: `resolve` on a session that is not in `review_required`.",
  not_settleable: "409: the session is not `authorized` or `stop_requested`, or it is a pre-selection (charged at authorization; cancel it to void).",
  not_cancellable: "409: the session is not `authorized` or `stop_requested`.",
  already_settled: "409: already settled, for another amount (or, for an external transaction, through this API).",
  already_cancelled: "409: the external transaction was already cancelled through this API.",
  ocpi_in_progress: "409: the session charges over OCPI (START_SESSION unanswered, or the CPO's Session PENDING or ACTIVE); the gateway settles it from the CPO's CDR.",
  idempotency_key_reused: "409: the `Idempotency-Key` was already used with a different request.",
  resolved_not_settled: "409: the operation this `Idempotency-Key` started was resolved as not settled.",
  payload_too_large: "413: the body exceeds 64 KiB.",
  unsupported_media_type: "415: the body is not sent as `application/json`.",
  zero_amount: "422: the amount is zero (to release a hold without charging, cancel).",
  above_authorized: "422: the amount is above the authorized amount.",
  authorization_too_old: "422: `machineAuTime` is more than 48 h ago; Spark no longer settles or cancels it.",
  rate_limited: "429: too many requests for this tenant; retry after `Retry-After` seconds.",
  http_error: "4xx: a refusal at the HTTP level, before the route (its status says which).",
  internal_error: "500: a bug; it is logged with the answer's `X-Request-Id`.",
  spark_error: "502: Spark refused the call or answered something unusable; `spark` carries its code and description. A refused settlement leaves the session settleable.",
  ocpi_registration_failed: "502: a step of the OCPI registration failed; the message names the step and what the CPO answered. Nothing was kept.",
  ocpi_rotation_failed: "502: the CPO did not accept the new OCPI credentials; nothing changed.",
} as const satisfies Record<string, string>;

/** A code of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;
