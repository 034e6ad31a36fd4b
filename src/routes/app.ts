/** The Worker's HTTP surface: Spark callbacks, the tenant API, the operator API, health and docs. */
import { OpenAPIHono } from "@hono/zod-openapi";
import { swaggerUI } from "@hono/swagger-ui";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { ApiError } from "../lib/errors";
import { setLogLevel } from "../lib/log";
import { adminRoutes } from "./admin";
import { logUnhandled } from "./context";
import type { AppEnv } from "./context";
import { sessionRoutes } from "./sessions";
import { sparkRoutes } from "./spark";
import { stationRoutes } from "./stations";
import { eventRoutes } from "./events";
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
  app.use("*", async (c, next) => {
    setLogLevel(c.env.LOG_LEVEL);
    await next();
  });
  app.use("*", requestId({ headerName: "X-Request-Id" }));

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.route("/spark", sparkRoutes);

  app.use("/v1/*", apiBodyLimit);
  app.use("/admin/*", apiBodyLimit);
  app.route("/v1", sessionRoutes);
  app.route("/v1", stationRoutes);
  app.route("/v1", webhookRoutes);
  app.route("/v1", eventRoutes);
  app.route("/admin", adminRoutes);
  app.route("/v1", ocpiTenantRoutes);
  app.route("/ocpi", ocpiRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "ApiKey", { type: "http", scheme: "bearer", description: "The tenant's API key." });
  app.openAPIRegistry.registerComponent("securitySchemes", "AdminToken", { type: "http", scheme: "bearer", description: "The operator's ADMIN_TOKEN." });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "spark-gateway",
      version: "1.0.0",
      description: "Tenant (`/v1`) and operator (`/admin`) APIs of the Nayax Spark gateway. Money is a decimal string in major units.",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json" }));

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
