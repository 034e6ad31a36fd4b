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

/** The reference's introduction: what every route has in common. */
const API_DESCRIPTION = `The Nayax Spark gateway: Spark's callbacks (\`/spark\`), the tenant API (\`/v1\`, \`Authorization: Bearer <apiKey>\`), the operator API (\`/admin\`, \`Authorization: Bearer <ADMIN_TOKEN>\`), the OCPI eMSP endpoints (\`/ocpi\`), and the signed webhook events the gateway sends (under Webhooks, with how to verify them).

- **Money** is a decimal string in major units (\`"12.25"\`) in everything the gateway sends; a JSON number is accepted too, read exactly as written.
- **Errors** of the tenant and operator APIs are \`{"error": {"code", "message", "details": [{"field", "message"}]}}\` (the \`Error\` schema enumerates every code); a \`502\` from Spark adds \`"spark": {"code", "description"}\`. Spark's callbacks are refused in Spark's own shape, OCPI requests in the OCPI envelope.
- **Every answer** carries \`X-Request-Id\`; an unexpected error is a \`500\` logged under it.
- **Limits:** bodies up to 64 KiB (\`413\`; 1 MiB on \`/ocpi\`); the tenant API about 300 requests per 10 s per tenant (\`429\` with \`Retry-After\`); lists \`limit\` 1–200 (default 50), and an unknown query parameter on a list is \`400\` naming it.

The tenant's web console, over the same tenant API, is at \`/portal\`.`;

/** The reference's groups, in reading order. */
const API_TAGS = [
  { name: "Sessions", description: "One charging payment per SparkTransactionId: read and list them, start one remotely, settle, cancel, and close a review." },
  { name: "Stations", description: "What Spark is told about each station (availability, display, pre-authorization amount), and its mapping to an OCPI EVSE." },
  { name: "Webhooks", description: "Endpoints that receive the signed events. The events themselves, their payloads and how to verify a signature are under Webhooks at the end." },
  { name: "Events", description: "Every event as it was signed and sent, where it stands for each endpoint, every delivery attempt, and redelivery." },
  { name: "Decision endpoint", description: "Deciding each Device Start authorization yourself, synchronously, within 2 s." },
  { name: "External transactions", description: "Settling or cancelling card authorizations taken outside Spark's flows (ExternalSettlement, ExternalCancel)." },
  {
    name: "OCPI",
    description:
      "The OCPI channel: under `/v1/ocpi/` the tenant connects its CPO (either side registering) and sets how amounts are computed; under `/ocpi/` the gateway serves that CPO as its eMSP, both OCPI 2.2.1 and 2.1.1, one base for all tenants, the credentials token telling whose connection a request belongs to. " +
      "Every answer under `/ocpi/` is the OCPI envelope (`data`, `status_code`, `status_message`, `timestamp`); a refusal is HTTP 400 with status_code 2001 naming the field, and nothing refused is stored. " +
      "`Authorization: Token <token>` is accepted Base64-encoded or as is. DateTimes are UTC, `YYYY-MM-DDTHH:MM:SS` with optional fraction and `Z`; numbers are read as exact decimals. " +
      "Where the contract (§7.2 transport, §7.3 registration, §7.4 what the gateway receives) is silent, the OCPI specification decides: tag `2.2.1`, or `2.1.1-d2` for 2.1.1.",
    externalDocs: { description: "The OCPI specification, tag 2.2.1 (2.1.1: tag 2.1.1-d2)", url: "https://github.com/ocpi/ocpi/tree/2.2.1" },
  },
  { name: "Operator", description: "Onboarding and managing tenants: claims, credentials, secrets, portal sign-in links, and a tenant's endpoints and events as it sees them." },
  { name: "Spark callbacks", description: "What Nayax Spark sends the gateway, authenticated by the tenant's `X-Spark-Secret` header, and what it answers; PascalCase as Spark writes it." },
  { name: "Gateway", description: "Health, and this reference." },
];

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
      description: API_DESCRIPTION,
    },
    tags: API_TAGS,
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
