/**
 * Tenant API: what a station can do, answered to Spark's InfoQuery and used for TransactionNotify
 * verdicts (CONTRACT §5), optionally mapped to an OCPI EVSE whose status then counts too (§7.5),
 * and the state of a single-point machine as a whole (§10).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../db/client";
import { stations } from "../db/schema";
import { notFound } from "../lib/errors";
import { effectiveAvailability } from "../ocpi/availability";
import { forgetStations, stationRecord } from "../tenants/lookup";
import type { StationRecord } from "../tenants/lookup";
import { requireTenant } from "./auth";
import { openApiRouter } from "./openapi";
import { Money, MoneyInput, tenantErrors } from "./schemas";

const Availability = z.enum(["available", "busy", "out_of_service"]);
/** OCPI ids are CiString(36) on 2.2.1 and string(39) on 2.1.1: ASCII, the longer limit. */
const OcpiId = z.string().trim().min(1).max(39).regex(/^[\x20-\x7e]+$/, "must be printable ASCII");
const OcpiMappingInput = z
  .object({
    locationId: OcpiId.openapi({ example: "LOC1" }),
    evseUid: OcpiId.openapi({ example: "3256" }),
    connectorId: OcpiId.nullable().optional().openapi({ example: "1", description: "Sent in START_SESSION on 2.2.1 when given." }),
    countryCode: z.string().regex(/^[A-Za-z]{2}$/, "must be two letters").nullable().optional().openapi({ example: "BE", description: "Default: the CPO party that holds the Location." }),
    partyId: z.string().regex(/^[A-Za-z0-9]{3}$/, "must be three letters or digits").nullable().optional().openapi({ example: "BEC" }),
  })
  .openapi("StationOcpiMappingInput");
const StationInput = z
  .object({
    availability: Availability.optional().openapi({ description: "Required unless `ocpi` is given (then it defaults to available)." }),
    display: z.string().max(512).nullable().optional().openapi({ description: "PosDisplay text for the terminal (`label:value;` pairs)." }),
    preAuthAmount: MoneyInput.nullable().optional(),
    ocpi: OcpiMappingInput.nullable().optional().openapi({ description: "Maps the station to an OCPI EVSE (CONTRACT §7.5); null removes the mapping." }),
  })
  .superRefine((input, ctx) => {
    if (input.availability === undefined && input.ocpi === undefined) ctx.addIssue({ code: "custom", path: ["availability"], message: "is required (unless ocpi is given)" });
  })
  .openapi("StationInput");
const Station = z
  .object({
    machineId: z.number().int(),
    serviceStationNumber: z.string().nullable().openapi({ description: "Null for the machine as a whole (single-point devices)." }),
    availability: Availability,
    display: z.string().nullable(),
    preAuthAmount: Money.nullable(),
    ocpi: z
      .object({
        locationId: z.string(),
        evseUid: z.string(),
        connectorId: z.string().nullable(),
        countryCode: z.string().nullable(),
        partyId: z.string().nullable(),
        evseStatus: z.string().nullable().openapi({ example: "CHARGING", description: "The EVSE's status as the CPO last pushed or the gateway last pulled it; null while none is held." }),
      })
      .nullable(),
    effectiveAvailability: Availability.openapi({ description: "What Spark is told: the more restrictive of `availability` and the EVSE's status." }),
    updatedAt: z.string(),
  })
  .openapi("Station");

// A coerced number reads as optional and nullable to the generator; a path parameter is neither.
const MachineId = z.coerce.number().int().min(0).openapi({ param: { name: "machineId", in: "path", required: true }, type: "integer", example: 71234996 });
const StationNumber = z.string().min(1).max(32).openapi({ param: { name: "serviceStationNumber", in: "path" }, example: "5" });
const security = [{ ApiKey: [] }];
const tags = ["Stations"];
const body = { body: { content: { "application/json": { schema: StationInput } }, required: true } };
const stored = { content: { "application/json": { schema: Station } }, description: "The station as stored, with the EVSE status and the effective availability" };
/** A PUT answers what it stored; a malformed machine id, station number or body is 400. */
const putAnswer = { 200: stored, ...tenantErrors(400, 413) };
/** A GET answers what is stored, or 404 when nothing was ever set there. */
const getAnswer = { 200: stored, ...tenantErrors(400, 404) };

const routes = {
  put: createRoute({
    method: "put",
    path: "/stations/{machineId}/{serviceStationNumber}",
    tags,
    security,
    summary: "Set a station's state",
    description:
      "Replaces what InfoQuery, AvailabilityCheck and TransactionNotify use for this service station: availability, display text, pre-authorization amount, and optionally the OCPI EVSE it is mapped to. A mapped station is as available as the more restrictive of `availability` and the EVSE's status (`AVAILABLE` → available; `CHARGING`, `BLOCKED`, `RESERVED` → busy; anything else → out of service). `availability` is required unless `ocpi` is given (then it means available); `ocpi: null` removes the mapping. A station never set answers Spark as available, with your default pre-authorization amount. Counts from the next question Spark asks.",
    request: { params: z.object({ machineId: MachineId, serviceStationNumber: StationNumber }), ...body },
    responses: putAnswer,
  }),
  get: createRoute({
    method: "get",
    path: "/stations/{machineId}/{serviceStationNumber}",
    tags,
    security,
    summary: "Read a station's state",
    description: "The station as stored, with its EVSE's current status and the availability Spark is told. 404 when never set.",
    request: { params: z.object({ machineId: MachineId, serviceStationNumber: StationNumber }) },
    responses: getAnswer,
  }),
  putMachine: createRoute({
    method: "put",
    path: "/stations/{machineId}",
    tags,
    security,
    summary: "Set a single-point machine's state",
    description:
      "For devices with one service point, whose callbacks carry no ServiceStationNumber: their state. A callback naming a station number uses that station's state when set, else this one, else the defaults.",
    request: { params: z.object({ machineId: MachineId }), ...body },
    responses: putAnswer,
  }),
  getMachine: createRoute({
    method: "get",
    path: "/stations/{machineId}",
    tags,
    security,
    summary: "Read a single-point machine's state",
    description: "The machine's own state as stored, with its EVSE's status and the effective availability. 404 when never set.",
    request: { params: z.object({ machineId: MachineId }) },
    responses: getAnswer,
  }),
};

function view(record: StationRecord) {
  return {
    machineId: record.machineId,
    serviceStationNumber: record.serviceStationNumber,
    availability: record.availability,
    display: record.display,
    preAuthAmount: record.preAuthAmount,
    ocpi: record.mapping ? { ...record.mapping, evseStatus: record.evse?.status ?? null } : null,
    effectiveAvailability: effectiveAvailability(record.availability, record.evse?.status ?? null),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}

async function put(env: Env, tenantId: string, machineId: number, serviceStationNumber: string | null, input: z.output<typeof StationInput>) {
  const mapping = input.ocpi ?? null;
  const state = {
    availability: input.availability ?? "available",
    display: input.display ?? null,
    preAuthAmount: input.preAuthAmount ?? null,
    ocpiLocationId: mapping?.locationId ?? null,
    ocpiEvseUid: mapping?.evseUid ?? null,
    ocpiConnectorId: mapping?.connectorId ?? null,
    ocpiCountryCode: mapping?.countryCode ?? null,
    ocpiPartyId: mapping?.partyId ?? null,
    updatedAt: Date.now(),
  };
  const db = database(env.DB);
  await db
    .insert(stations)
    .values({ tenantId, machineId, serviceStationNumber: serviceStationNumber ?? "", ...state })
    .onConflictDoUpdate({ target: [stations.tenantId, stations.machineId, stations.serviceStationNumber], set: state });
  forgetStations(tenantId);
  const record = await stationRecord(db, tenantId, machineId, serviceStationNumber);
  if (!record) throw new Error("station vanished right after it was written");
  return view(record);
}

async function get(env: Env, tenantId: string, machineId: number, serviceStationNumber: string | null) {
  const record = await stationRecord(database(env.DB), tenantId, machineId, serviceStationNumber);
  if (!record) throw notFound(serviceStationNumber === null ? "machine state" : "station");
  return view(record);
}

export const stationRoutes = openApiRouter();
stationRoutes.use("/stations/*", requireTenant);
stationRoutes
  .openapi(routes.put, async (c) => {
    const { machineId, serviceStationNumber } = c.req.valid("param");
    return c.json(await put(c.env, c.get("tenant").id, machineId, serviceStationNumber, c.req.valid("json")), 200);
  })
  .openapi(routes.get, async (c) => {
    const { machineId, serviceStationNumber } = c.req.valid("param");
    return c.json(await get(c.env, c.get("tenant").id, machineId, serviceStationNumber), 200);
  })
  .openapi(routes.putMachine, async (c) => c.json(await put(c.env, c.get("tenant").id, c.req.valid("param").machineId, null, c.req.valid("json")), 200))
  .openapi(routes.getMachine, async (c) => c.json(await get(c.env, c.get("tenant").id, c.req.valid("param").machineId, null), 200));
