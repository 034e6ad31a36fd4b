/** The Worker's HTTP surface: Spark callbacks, the tenant API, the operator API, health and docs. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { ApiError } from "../lib/errors";
import { setLogLevel } from "../lib/log";
import { portalRoutes } from "../portal/routes";
import { adminRoutes } from "./admin";
import { docsRoutes } from "./docs";
import { registerReference } from "./docs-spec";
import { captureInProcess } from "./auth";
import { logUnhandled } from "./context";
import type { AppEnv } from "./context";
import { sessionRoutes } from "./sessions";
import { sparkRoutes } from "./spark";
import { stationRoutes } from "./stations";
import { decisionRoutes } from "./decision";
import { externalRoutes } from "./external";
import { eventRoutes } from "./events";
import { exactJsonBodies } from "./json-body";
import { webhookRoutes } from "./webhooks";
import { ocpiRoutes } from "./ocpi";
import { ocpiTenantRoutes } from "./ocpi-tenant";

/** Bodies of the tenant and operator APIs are small JSON documents; larger ones are refused with 413. */
export const API_BODY_LIMIT_BYTES = 64 * 1024;

const apiBodyLimit = bodyLimit({
  maxSize: API_BODY_LIMIT_BYTES,
  onError: () => {
    throw new ApiError(413, "payload_too_large", `body exceeds ${API_BODY_LIMIT_BYTES} bytes`);
  },
});

export function createApp() {
  const app = new OpenAPIHono<AppEnv>();
  // First of all: the portal's in-process API calls are recognised before anything can wrap the request.
  app.use("*", captureInProcess);
  app.use("*", async (c, next) => {
    setLogLevel(c.env.LOG_LEVEL);
    await next();
  });
  app.use("*", requestId({ headerName: "X-Request-Id" }));

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.route("/spark", sparkRoutes);

  app.use("/v1/*", apiBodyLimit);
  app.use("/admin/*", apiBodyLimit);
  app.use("/v1/*", exactJsonBodies);
  app.use("/admin/*", exactJsonBodies);
  app.route("/v1", sessionRoutes);
  app.route("/v1", stationRoutes);
  app.route("/v1", webhookRoutes);
  app.route("/v1", eventRoutes);
  app.route("/v1", decisionRoutes);
  app.route("/v1", externalRoutes);
  app.route("/admin", adminRoutes);
  app.route("/v1", ocpiTenantRoutes);
  app.route("/ocpi", ocpiRoutes);
  app.route("/portal", portalRoutes(async (request, env, ctx) => app.fetch(request, env, ctx)));

  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", { type: "http", scheme: "bearer", description: "The tenant's API key." });
  app.openAPIRegistry.registerComponent("securitySchemes", "AdminToken", { type: "http", scheme: "bearer", description: "The operator's ADMIN_TOKEN." });
  registerReference(app.openAPIRegistry);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "spark-gateway",
      version: "1.0.0",
      description:
        "Spark callbacks (`/spark`), tenant (`/v1`) and operator (`/admin`) APIs of the Nayax Spark gateway, and the signed webhook events it sends (under Webhooks, with how to verify them). Money is a decimal string in major units. The tenant's web console is at `/portal`.",
    },
  });
  app.route("/docs", docsRoutes);

  app.notFound((c) => c.json(new ApiError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`).toJSON(), 404));
  app.onError((error, c) => {
    if (error instanceof ApiError) return c.json(error.toJSON(), error.status);
    if (error instanceof HTTPException) {
      // Hono's own 4xx (malformed JSON body and the like) in our error shape.
      const code = error.status === 400 ? "invalid_json" : "http_error";
      return c.json(new ApiError(error.status, code, error.message || "bad request").toJSON(), error.status);
    }
    logUnhandled(c, error);
    return c.json(new ApiError(500, "internal_error", "internal error").toJSON(), 500);
  });
  return app;
}
