/** Tenant API: the decision endpoint that decides each Device Start authorization (CONTRACT §5). */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../db/client";
import { DECISION_DEADLINE_MS } from "../decisions/ask";
import { deleteDecisionEndpoint, getDecisionEndpoint, putDecisionEndpoint, rotateDecisionSecret } from "../decisions/endpoint";
import { sealerFor } from "../lib/crypto";
import { notFound } from "../lib/errors";
import { httpsUrlSchema } from "../webhooks/url-policy";
import { requireTenant } from "./auth";
import { openApiRouter } from "./openapi";
import { tenantErrors } from "./schemas";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
const security = [{ ApiKey: [] }];

const DecisionEndpointInput = z
  .object({
    url: httpsUrlSchema.openapi({ example: "https://csms.example/spark/decide" }),
    fallback: z.enum(["approve", "decline"]).openapi({ description: "The verdict when the endpoint does not answer a clear `{approve}` within 2 s." }),
  })
  .strict()
  .openapi("DecisionEndpointInput");

const DecisionEndpoint = z
  .object({
    url: z.string(),
    fallback: z.enum(["approve", "decline"]),
    secret: z.string().optional().openapi({ description: "`whsec_…`: only in the answer that created the endpoint." }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("DecisionEndpoint");

const how = `For every TransactionNotify that its station does not already decline, the gateway POSTs
\`{"id": "dec_…", "type": "authorization.requested", "timestamp", "data": {"authorization": {sessionId, flow, siteId,
machineId, hwSerial, serviceStationNumber, nayaxTransactionId, amount, card, deviceTime}}}\`, signed like a webhook
(Standard Webhooks, \`webhook-id\` = the \`id\`) with this endpoint's secret. Answer \`2xx\` with
\`{"approve": true | false, "message": "…"}\` (\`message\` optional, at most 100 characters, shown on the terminal)
within ${DECISION_DEADLINE_MS / 1000} s; anything else (no answer, a non-2xx status, a network error, no boolean
\`approve\`) gets the fallback. There are no retries. The verdict and how it was reached are recorded on the
session as \`decision\`, and a repeated TransactionNotify is answered from it. This is also where Self-Managed
Cards are validated: Spark approves every SMC tap and sends its \`CardUid\`.`;

const routes = {
  put: createRoute({
    method: "put",
    path: "/decision-endpoint",
    tags: ["Decision endpoint"],
    summary: "Configure the decision endpoint",
    description: `Creates the tenant's decision endpoint (its secret is answered once) or changes its URL and fallback (the secret stays). ${how}`,
    security,
    request: { body: { content: { "application/json": { schema: DecisionEndpointInput } }, required: true } },
    responses: { 200: json(DecisionEndpoint, "The decision endpoint; `secret` only when it was created now"), ...tenantErrors(400, 413) },
  }),
  get: createRoute({
    method: "get",
    path: "/decision-endpoint",
    tags: ["Decision endpoint"],
    summary: "Read the decision endpoint",
    description: "The decision endpoint without its secret; `404` when none is configured (every authorization the station allows is then approved).",
    security,
    responses: { 200: json(DecisionEndpoint, "The decision endpoint"), ...tenantErrors(404) },
  }),
  delete: createRoute({
    method: "delete",
    path: "/decision-endpoint",
    tags: ["Decision endpoint"],
    summary: "Remove the decision endpoint",
    description: "Stops asking: from the next callback on, authorizations the station allows are approved. `404` when none is configured.",
    security,
    responses: { 204: { description: "Removed" }, ...tenantErrors(404, 413) },
  }),
  rotate: createRoute({
    method: "post",
    path: "/decision-endpoint/rotate-secret",
    tags: ["Decision endpoint"],
    summary: "Rotate the decision endpoint's secret",
    description: "Answers a new secret once; for 24 h the previous one keeps signing beside it, so requests carry both signatures. `404` when none is configured.",
    security,
    responses: { 200: json(z.object({ secret: z.string() }).openapi("DecisionSecret"), "The new secret, shown once"), ...tenantErrors(404, 413) },
  }),
};

export const decisionRoutes = openApiRouter();
decisionRoutes.use("/decision-endpoint", requireTenant);
decisionRoutes.use("/decision-endpoint/*", requireTenant);

decisionRoutes
  .openapi(routes.put, async (c) => {
    const saved = await putDecisionEndpoint(database(c.env.DB), sealerFor(c.env.ENCRYPTION_KEY), c.get("tenant").id, c.req.valid("json"));
    return c.json(saved, 200);
  })
  .openapi(routes.get, async (c) => {
    const found = await getDecisionEndpoint(database(c.env.DB), c.get("tenant").id);
    if (!found) throw notFound("decision endpoint");
    return c.json(found, 200);
  })
  .openapi(routes.delete, async (c) => {
    if (!(await deleteDecisionEndpoint(database(c.env.DB), c.get("tenant").id))) throw notFound("decision endpoint");
    return c.body(null, 204);
  })
  .openapi(routes.rotate, async (c) => {
    const secret = await rotateDecisionSecret(database(c.env.DB), sealerFor(c.env.ENCRYPTION_KEY), c.get("tenant").id);
    if (secret === null) throw notFound("decision endpoint");
    return c.json({ secret }, 200);
  });
