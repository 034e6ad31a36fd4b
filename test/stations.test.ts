/**
 * Stations (CONTRACT §5, §7.5, §10): the OCPI mapping, EVSE statuses pushed over OCPI deciding
 * InfoQuery / AvailabilityCheck / TransactionNotify, and single-point machines — all driven
 * through `fetch` as the tenant, the CPO and Spark would.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as drive from "../sim/drive";
import { newSessionId, spark } from "./helpers";
import { api, connectedTenant, envelopeOf, location221, tableDigest } from "./ocpi-support";
import type { Connected } from "./ocpi-support";

const AVAILABILITY = { 1: "available", 2: "busy", 3: "out_of_service" } as const;

let machine = 81_000_000;
const freshMachine = () => machine++;

interface StationBody {
  machineId: number;
  serviceStationNumber: string | null;
  availability: string;
  ocpi: { locationId: string; evseUid: string; connectorId: string | null; countryCode: string | null; partyId: string | null; evseStatus: string | null } | null;
  effectiveAvailability: string;
}

async function putStation(apiKey: string, path: string, json: unknown) {
  return api<StationBody>(apiKey, `/v1/stations/${path}`, { method: "PUT", json });
}

/** What InfoQuery says about a station: "available" | "busy" | "out_of_service". */
async function infoQuery(tenant: Connected["tenant"], siteId: number, machineId: number, station: string | undefined, method: "InfoQuery" | "AvailabilityCheck" = "InfoQuery") {
  const body = method === "InfoQuery" ? drive.infoQuery({ SiteId: siteId, MachineId: machineId, ServiceStationNumber: station, SparkTransactionId: null }) : drive.availabilityCheck({ SiteId: siteId, MachineId: machineId, ServiceStationNumber: station, SparkTransactionId: null });
  const res = await spark(method, body, tenant.sparkCallbackSecret);
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { ServiceStationAvailability: 1 | 2 | 3 };
  return AVAILABILITY[answer.ServiceStationAvailability];
}

/** The TransactionNotify verdict for a fresh session on a station. */
async function notifyVerdict(tenant: Connected["tenant"], siteId: number, machineId: number, station: string | undefined) {
  const res = await spark("TransactionNotify", drive.transactionNotify({ SiteId: siteId, MachineId: machineId, ServiceStationNumber: station, SparkTransactionId: newSessionId(), NayaxTransactionId: Math.floor(Math.random() * 1e9) }), tenant.sparkCallbackSecret);
  expect(res.status).toBe(200);
  return ((await res.json()) as { Status: { Verdict: string } }).Status.Verdict;
}

describe("stations mapped to OCPI EVSEs (2.2.1)", () => {
  let c: Connected & { siteId: number };
  const party = { countryCode: "BE", partyId: "BEC" };

  beforeAll(async () => {
    c = await connectedTenant("2.2.1", "gateway", { parties: [{ ...party, name: "Be Charging" }] });
  });

  async function pushStatus(locationId: string, evseUid: string, status: string, at: string) {
    const res = await c.sim.push("PATCH", `locations/BE/BEC/${locationId}/${evseUid}`, { status, last_updated: at });
    expect(res.status, await res.clone().text()).toBe(200);
  }

  it("maps a station without availability (it means available) and shows the EVSE status once one is held", async () => {
    const m = freshMachine();
    const put = await putStation(c.tenant.apiKey, `${m}/5`, { ocpi: { locationId: "LOC1", evseUid: "3256", connectorId: "1" } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({
      machineId: m,
      serviceStationNumber: "5",
      availability: "available",
      ocpi: { locationId: "LOC1", evseUid: "3256", connectorId: "1", countryCode: null, partyId: null, evseStatus: null },
      effectiveAvailability: "available",
    });
    expect(await infoQuery(c.tenant, c.siteId, m, "5")).toBe("available");

    const pushed = await c.sim.push("PUT", "locations/BE/BEC/LOC1", location221(party, "LOC1", [["3256", "CHARGING", ["1"]]], "2024-05-01T10:00:00Z"));
    expect(pushed.status).toBe(201);
    const read = await api<StationBody>(c.tenant.apiKey, `/v1/stations/${m}/5`);
    expect(read.body.ocpi?.evseStatus).toBe("CHARGING");
    expect(read.body.effectiveAvailability).toBe("busy");
    expect(read.body.availability).toBe("available");
  });

  it("answers InfoQuery, AvailabilityCheck and TransactionNotify from the EVSE status as pushed, from the next question on", async () => {
    const m = freshMachine();
    await c.sim.push("PUT", "locations/BE/BEC/LOC2", location221(party, "LOC2", [["E1", "AVAILABLE", ["1"]]], "2024-05-01T10:00:00Z"));
    expect((await putStation(c.tenant.apiKey, `${m}/1`, { availability: "available", ocpi: { locationId: "loc2", evseUid: "e1", countryCode: "be", partyId: "bec" } })).status).toBe(200);
    expect(await infoQuery(c.tenant, c.siteId, m, "1")).toBe("available");
    expect(await notifyVerdict(c.tenant, c.siteId, m, "1")).toBe("Approved");

    for (const [status, expected, verdict, at] of [
      ["CHARGING", "busy", "Declined", "2024-05-01T10:01:00Z"],
      ["BLOCKED", "busy", "Declined", "2024-05-01T10:02:00Z"],
      ["RESERVED", "busy", "Declined", "2024-05-01T10:03:00Z"],
      ["OUTOFORDER", "out_of_service", "Declined", "2024-05-01T10:04:00Z"],
      ["INOPERATIVE", "out_of_service", "Declined", "2024-05-01T10:05:00Z"],
      ["REMOVED", "out_of_service", "Declined", "2024-05-01T10:06:00Z"],
      ["PLANNED", "out_of_service", "Declined", "2024-05-01T10:07:00Z"],
      ["UNKNOWN", "out_of_service", "Declined", "2024-05-01T10:08:00Z"],
      ["AVAILABLE", "available", "Approved", "2024-05-01T10:09:00Z"],
    ] as const) {
      await pushStatus("LOC2", "E1", status, at);
      expect(await infoQuery(c.tenant, c.siteId, m, "1"), status).toBe(expected);
      expect(await infoQuery(c.tenant, c.siteId, m, "1", "AvailabilityCheck"), status).toBe(expected);
      expect(await notifyVerdict(c.tenant, c.siteId, m, "1"), status).toBe(verdict);
    }
  });

  it("uses the more restrictive of the tenant's availability and the EVSE's", async () => {
    const m = freshMachine();
    await c.sim.push("PUT", "locations/BE/BEC/LOC3", location221(party, "LOC3", [["E1", "AVAILABLE", ["1"]]]));
    await putStation(c.tenant.apiKey, `${m}/2`, { availability: "busy", ocpi: { locationId: "LOC3", evseUid: "E1" } });
    expect(await infoQuery(c.tenant, c.siteId, m, "2")).toBe("busy");
    await pushStatus("LOC3", "E1", "OUTOFORDER", "2024-05-01T11:00:00Z");
    expect(await infoQuery(c.tenant, c.siteId, m, "2")).toBe("out_of_service");
    await putStation(c.tenant.apiKey, `${m}/2`, { availability: "out_of_service", ocpi: { locationId: "LOC3", evseUid: "E1" } });
    await pushStatus("LOC3", "E1", "AVAILABLE", "2024-05-01T11:01:00Z");
    expect(await infoQuery(c.tenant, c.siteId, m, "2")).toBe("out_of_service");
  });

  it("ignores an older status that arrives after a newer one", async () => {
    const m = freshMachine();
    await c.sim.push("PUT", "locations/BE/BEC/LOC4", location221(party, "LOC4", [["E1", "AVAILABLE", ["1"]]], "2024-05-01T10:00:00Z"));
    await putStation(c.tenant.apiKey, `${m}/1`, { ocpi: { locationId: "LOC4", evseUid: "E1" } });
    await pushStatus("LOC4", "E1", "CHARGING", "2024-05-01T12:00:00Z");
    await pushStatus("LOC4", "E1", "AVAILABLE", "2024-05-01T11:00:00Z");
    expect(await infoQuery(c.tenant, c.siteId, m, "1")).toBe("busy");
  });

  it("does not take the status of an EVSE of another party named in the mapping", async () => {
    const m = freshMachine();
    await c.sim.push("PUT", "locations/BE/BEC/LOC5", location221(party, "LOC5", [["E1", "CHARGING", ["1"]]]));
    await putStation(c.tenant.apiKey, `${m}/1`, { ocpi: { locationId: "LOC5", evseUid: "E1", countryCode: "NL", partyId: "XYZ" } });
    expect(await infoQuery(c.tenant, c.siteId, m, "1")).toBe("available");
    const read = await api<StationBody>(c.tenant.apiKey, `/v1/stations/${m}/1`);
    expect(read.body.ocpi).toMatchObject({ countryCode: "NL", partyId: "XYZ", evseStatus: null });
  });

  it("removes the mapping with ocpi: null, after which the EVSE no longer counts", async () => {
    const m = freshMachine();
    await c.sim.push("PUT", "locations/BE/BEC/LOC6", location221(party, "LOC6", [["E1", "OUTOFORDER", ["1"]]]));
    await putStation(c.tenant.apiKey, `${m}/1`, { ocpi: { locationId: "LOC6", evseUid: "E1" } });
    expect(await infoQuery(c.tenant, c.siteId, m, "1")).toBe("out_of_service");
    const removed = await putStation(c.tenant.apiKey, `${m}/1`, { availability: "available", ocpi: null });
    expect(removed.status).toBe(200);
    expect(removed.body.ocpi).toBeNull();
    expect(removed.body.effectiveAvailability).toBe("available");
    expect(await infoQuery(c.tenant, c.siteId, m, "1")).toBe("available");
  });

  it("forgets EVSE statuses when the connection ends, so they no longer hold stations", async () => {
    const other = await connectedTenant("2.2.1", "cpo", { parties: [{ ...party, name: "Be Charging" }] });
    const m = freshMachine();
    await other.sim.push("PUT", "locations/BE/BEC/LOC1", location221(party, "LOC1", [["3256", "CHARGING", ["1"]]]));
    await putStation(other.tenant.apiKey, `${m}/5`, { ocpi: { locationId: "LOC1", evseUid: "3256" } });
    expect(await infoQuery(other.tenant, other.siteId, m, "5")).toBe("busy");
    expect((await api(other.tenant.apiKey, "/v1/ocpi/connection", { method: "DELETE" })).status).toBe(200);
    expect(await infoQuery(other.tenant, other.siteId, m, "5")).toBe("available");
  });

  it("keeps each tenant's EVSE statuses to itself", async () => {
    const other = await connectedTenant("2.2.1", "gateway", { parties: [{ ...party, name: "Be Charging" }] });
    const m = freshMachine();
    // Both tenants map a station to BE/BEC LOC7 E1; only the first tenant's CPO says it is charging.
    await c.sim.push("PUT", "locations/BE/BEC/LOC7", location221(party, "LOC7", [["E1", "CHARGING", ["1"]]]));
    await other.sim.push("PUT", "locations/BE/BEC/LOC7", location221(party, "LOC7", [["E1", "AVAILABLE", ["1"]]]));
    await putStation(c.tenant.apiKey, `${m}/1`, { ocpi: { locationId: "LOC7", evseUid: "E1" } });
    await putStation(other.tenant.apiKey, `${m}/1`, { ocpi: { locationId: "LOC7", evseUid: "E1" } });
    expect(await infoQuery(c.tenant, c.siteId, m, "1")).toBe("busy");
    expect(await infoQuery(other.tenant, other.siteId, m, "1")).toBe("available");
    expect((await envelopeOf(await other.sim.push("PATCH", "locations/BE/BEC/LOC7/E1", { status: "OUTOFORDER", last_updated: "2030-01-01T00:00:00Z" }))).status).toBe(200);
    expect(await infoQuery(c.tenant, c.siteId, m, "1")).toBe("busy");
    expect(await infoQuery(other.tenant, other.siteId, m, "1")).toBe("out_of_service");
  });

  it("refuses a malformed mapping with a 400 naming the field, storing nothing", async () => {
    const m = freshMachine();
    const before = await tableDigest("stations", c.tenant.id);
    for (const [json, field] of [
      [{}, "availability"],
      [{ ocpi: { evseUid: "E1" } }, "ocpi.locationId"],
      [{ ocpi: { locationId: "L", evseUid: "" } }, "ocpi.evseUid"],
      [{ ocpi: { locationId: "L", evseUid: "E", countryCode: "BEL" } }, "ocpi.countryCode"],
      [{ ocpi: { locationId: "L", evseUid: "E", partyId: "B-C" } }, "ocpi.partyId"],
      [{ ocpi: "LOC1" }, "ocpi"],
      [{ availability: "closed" }, "availability"],
    ] as const) {
      const res = await api<{ error: { details: Array<{ field: string }> } }>(c.tenant.apiKey, `/v1/stations/${m}/1`, { method: "PUT", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(res.body.error.details.map((d) => d.field), JSON.stringify(json)).toContain(field);
    }
    expect(await tableDigest("stations", c.tenant.id)).toBe(before);
  });

  it("answers 404 for a station never set", async () => {
    expect((await api(c.tenant.apiKey, `/v1/stations/${freshMachine()}/1`)).status).toBe(404);
    expect((await api(c.tenant.apiKey, `/v1/stations/${freshMachine()}`)).status).toBe(404);
  });
});

describe("single-point devices (§10)", () => {
  let c: Connected & { siteId: number };

  beforeAll(async () => {
    c = await connectedTenant("2.1.1", "gateway");
  });

  it("uses the machine's state for callbacks without a station number", async () => {
    const m = freshMachine();
    const put = await putStation(c.tenant.apiKey, `${m}`, { availability: "busy", display: "Busy;" });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ machineId: m, serviceStationNumber: null, availability: "busy", effectiveAvailability: "busy", ocpi: null });
    expect(await infoQuery(c.tenant, c.siteId, m, undefined)).toBe("busy");
    expect(await notifyVerdict(c.tenant, c.siteId, m, undefined)).toBe("Declined");
    expect((await api<StationBody>(c.tenant.apiKey, `/v1/stations/${m}`)).body.availability).toBe("busy");
  });

  it("uses a station's own state when set, else the machine's, else the defaults", async () => {
    const m = freshMachine();
    expect(await infoQuery(c.tenant, c.siteId, m, "3")).toBe("available");
    await putStation(c.tenant.apiKey, `${m}`, { availability: "out_of_service" });
    expect(await infoQuery(c.tenant, c.siteId, m, "3")).toBe("out_of_service");
    expect(await notifyVerdict(c.tenant, c.siteId, m, "3")).toBe("Declined");
    await putStation(c.tenant.apiKey, `${m}/3`, { availability: "available" });
    expect(await infoQuery(c.tenant, c.siteId, m, "3")).toBe("available");
    expect(await notifyVerdict(c.tenant, c.siteId, m, "3")).toBe("Approved");
    expect(await infoQuery(c.tenant, c.siteId, m, "4")).toBe("out_of_service");
  });

  it("maps a single-point machine to an EVSE (2.1.1 Location, owned by the CPO's party)", async () => {
    const m = freshMachine();
    const cpoParty = c.sim.parties[0]!;
    const location = {
      id: "SP1",
      type: "ON_STREET",
      address: "Main 1",
      city: "Gent",
      postal_code: "9000",
      country: "BEL",
      coordinates: { latitude: "51.0", longitude: "3.7" },
      evses: [{ uid: "SP1-1", status: "CHARGING", connectors: [{ id: "1", standard: "IEC_62196_T2", format: "SOCKET", power_type: "AC_3_PHASE", voltage: 230, amperage: 16, last_updated: "2015-06-29T22:39:09Z" }], last_updated: "2015-06-29T22:39:09Z" }],
      last_updated: "2015-06-29T22:39:09Z",
    };
    expect((await c.sim.push("PUT", `locations/${cpoParty.countryCode}/${cpoParty.partyId}/SP1`, location)).status).toBe(201);
    const put = await putStation(c.tenant.apiKey, `${m}`, { ocpi: { locationId: "SP1", evseUid: "SP1-1" } });
    expect(put.body.ocpi?.evseStatus).toBe("CHARGING");
    expect(await notifyVerdict(c.tenant, c.siteId, m, undefined)).toBe("Declined");
    expect(await notifyVerdict(c.tenant, c.siteId, m, "9")).toBe("Declined");
  });
});
