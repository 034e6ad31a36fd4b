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
