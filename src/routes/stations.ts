/** Tenant API: what a station can do, answered to Spark's InfoQuery and used for TransactionNotify verdicts. */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../db/client";
import { stations } from "../db/schema";
import { forgetStations } from "../tenants/lookup";
import { requireTenant } from "./auth";
import { openApiRouter } from "./openapi";
import { Money, MoneyInput, errorResponses } from "./schemas";

const Availability = z.enum(["available", "busy", "out_of_service"]);
const StationInput = z
  .object({
    availability: Availability,
    display: z.string().max(512).nullable().optional().openapi({ description: "PosDisplay text for the terminal (`label:value;` pairs)." }),
    preAuthAmount: MoneyInput.nullable().optional(),
  })
  .openapi("StationInput");
const Station = z
  .object({
    machineId: z.number().int(),
    serviceStationNumber: z.string(),
    availability: Availability,
    display: z.string().nullable(),
    preAuthAmount: Money.nullable(),
    updatedAt: z.string(),
  })
  .openapi("Station");

const route = createRoute({
  method: "put",
  path: "/stations/{machineId}/{serviceStationNumber}",
  tags: ["Stations"],
  security: [{ ApiKey: [] }],
  request: {
    params: z.object({
      machineId: z.coerce.number().int().min(0).openapi({ param: { name: "machineId", in: "path" }, example: 71234996 }),
      serviceStationNumber: z.string().min(1).max(32).openapi({ param: { name: "serviceStationNumber", in: "path" }, example: "5" }),
    }),
    body: { content: { "application/json": { schema: StationInput } }, required: true },
  },
  responses: { 200: { content: { "application/json": { schema: Station } }, description: "The station as stored" }, ...errorResponses },
});

export const stationRoutes = openApiRouter();
stationRoutes.use("/stations/*", requireTenant);
stationRoutes.openapi(route, async (c) => {
  const { machineId, serviceStationNumber } = c.req.valid("param");
  const input = c.req.valid("json");
  const tenantId = c.get("tenant").id;
  const row = {
    tenantId,
    machineId,
    serviceStationNumber,
    availability: input.availability,
    display: input.display ?? null,
    preAuthAmount: input.preAuthAmount ?? null,
    updatedAt: Date.now(),
  };
  await database(c.env.DB)
    .insert(stations)
    .values(row)
    .onConflictDoUpdate({
      target: [stations.tenantId, stations.machineId, stations.serviceStationNumber],
      set: { availability: row.availability, display: row.display, preAuthAmount: row.preAuthAmount, updatedAt: row.updatedAt },
    });
  forgetStations(tenantId);
  const { tenantId: _t, ...station } = row;
  return c.json({ ...station, updatedAt: new Date(row.updatedAt).toISOString() }, 200);
});
