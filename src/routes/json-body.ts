/**
 * Request bodies of the tenant and operator APIs: money numbers read exactly, and JSON required
 * where a body is always expected but every field is optional (PATCH).
 */
import { createMiddleware } from "hono/factory";
import { ApiError } from "../lib/errors";
import { parseTenantJson } from "../lib/json";
import type { AppEnv } from "./context";

/** The media types Hono's validator reads as JSON (`application/json`, `application/merge-patch+json`, …). */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Whether a `Content-Type` header declares a JSON body (parameters such as `charset` allowed). */
export function isJsonContentType(header: string | undefined): boolean {
  return header !== undefined && JSON_MEDIA_TYPE.test(header.split(";")[0]!.trim());
}

/**
 * Makes `c.req.json()` parse with {@link parseTenantJson} for this request, so every route's
 * validator reads money numbers from their source text; the body is still parsed once.
 */
export const exactJsonBodies = createMiddleware<AppEnv>(async (c, next) => {
  const request = c.req;
  request.json = (() => request.text().then(parseTenantJson)) as typeof request.json;
  await next();
});

/**
 * `415` unless the body is declared as JSON. Without it a validator would see no body at all, and
 * a PATCH (every field optional) would answer `200` having changed nothing. Put it after the
 * route's authentication, so a caller without credentials still gets `401` first.
 */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (!isJsonContentType(c.req.header("Content-Type"))) {
    const message = "must be application/json";
    throw new ApiError(415, "unsupported_media_type", `Content-Type: ${message}`, [{ field: "Content-Type", message }]);
  }
  await next();
});
