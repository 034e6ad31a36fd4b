/// <reference types="vite/client" />
/**
 * What the gateway receives over OCPI (CONTRACT §7.2, §7.4): Locations, EVSEs, connectors,
 * Tariffs, Sessions and CDRs of both versions, fed with the specification's own examples
 * (`test/fixtures/ocpi/`), plus refusals, ordering, exact numbers, routing headers and isolation.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { GATEWAY, api, connectedTenant, envelopeOf, gateway, location221, ocpiState } from "./ocpi-support";
import type { Connected } from "./ocpi-support";
import type { CpoSimulator } from "../sim/cpo-simulator";

const fixtures221 = import.meta.glob("./fixtures/ocpi/2.2.1/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
const fixtures211 = import.meta.glob("./fixtures/ocpi/2.1.1/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
const fixture = (version: "2.1.1" | "2.2.1", name: string): string => {
  const text = (version === "2.2.1" ? fixtures221 : fixtures211)[`./fixtures/ocpi/${version}/${name}.json`];
  if (!text) throw new Error(`no fixture ${version}/${name}`);
  return text;
};
const json = (version: "2.1.1" | "2.2.1", name: string) => JSON.parse(fixture(version, name)) as Record<string, unknown>;

/** Sends raw JSON text to a module endpoint as the CPO. */
async function push(sim: CpoSimulator, method: "PUT" | "PATCH" | "POST" | "DELETE" | "GET", path: string, body?: string | object) {
  return envelopeOf(await sim.push(method, path, body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body)));
}

async function expectRefused(answer: Promise<Awaited<ReturnType<typeof envelopeOf>>>, status: number, statusCode: number, mentions?: RegExp) {
  const a = await answer;
  expect(a.status, a.text).toBe(status);
  expect(a.body.status_code, a.text).toBe(statusCode);
  expect(a.body.data).toBeUndefined();
  if (mentions) expect(String(a.body.status_message)).toMatch(mentions);
}

const PARTIES_221 = [
  { countryCode: "BE", partyId: "BEC" },
  { countryCode: "NL", partyId: "STK" },
  { countryCode: "SE", partyId: "EVC" },
  { countryCode: "NL", partyId: "ALF" },
  { countryCode: "NL", partyId: "ALL" },
  { countryCode: "DE", partyId: "ALL" },
];

describe("OCPI 2.2.1 receivers", () => {
  let c: Connected;

  beforeAll(async () => {
    c = await connectedTenant("2.2.1", "gateway", { parties: [{ countryCode: "BE", partyId: "BEC", name: "Be Charging" }] });
    const patched = await api(c.tenant.apiKey, "/v1/ocpi/connection", { method: "PATCH", json: { additionalParties: PARTIES_221.slice(1) } });
    expect(patched.status).toBe(200);
  });

  it("keeps every Location example of the specification and answers it back as received", async () => {
    for (const name of [
      "location_example",
      "location_example_parking_garage_opening_hours",
      "location_example_uc2_destination_charger",
      "location_example_uc4_limited_visibility",
      "location_example_uc5_home_charge_point",
    ]) {
      const location = json("2.2.1", name);
      const path = `locations/${location.country_code}/${location.party_id}/${location.id}`;
      const put = await push(c.sim, "PUT", path, fixture("2.2.1", name));
      expect(put.status, `${name}: ${put.text}`).toBe(201);
      expect(put.body).toMatchObject({ status_code: 1000 });
      expect(put.body.data).toBeUndefined();
      const got = await push(c.sim, "GET", path);
      expect(got.status).toBe(200);
      expect(got.body.data, name).toEqual(location);
    }
    // uc3 is uc2 again (same id, same last_updated): acknowledged, changes nothing.
    const again = await push(c.sim, "PUT", "locations/NL/ALF/3e7b39c2-10d0-4138-a8b3-8509a25f9920", fixture("2.2.1", "location_example_uc3_destination_charger_not_published"));
    expect(again.status).toBe(200);
    expect((await push(c.sim, "GET", "locations/NL/ALF/3e7b39c2-10d0-4138-a8b3-8509a25f9920")).body.data).toEqual(json("2.2.1", "location_example_uc2_destination_charger"));
  });

  it("applies the EVSE PUT and the PATCH examples at the level the URL addresses", async () => {
    await push(c.sim, "PUT", "locations/BE/BEC/LOC10", location221({ countryCode: "BE", partyId: "BEC" }, "LOC10", [["3255", "AVAILABLE", ["1", "2"]]], "2015-06-29T20:39:09Z"));
    const added = await push(c.sim, "PUT", "locations/BE/BEC/LOC10/3256", fixture("2.2.1", "location_put_example_add_evse"));
    expect(added.status, added.text).toBe(201);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10/3256")).body.data).toEqual(json("2.2.1", "location_put_example_add_evse"));
    // The parent Location takes the EVSE's last_updated.
    expect(((await push(c.sim, "GET", "locations/BE/BEC/LOC10")).body.data as { last_updated: string }).last_updated).toBe("2019-06-24T12:39:09Z");

    expect((await push(c.sim, "PATCH", "locations/BE/BEC/LOC10/3255", fixture("2.2.1", "location_patch_example_status"))).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10/3255")).body.data).toMatchObject({ uid: "3255", status: "CHARGING", last_updated: "2019-06-24T12:39:09Z" });
    // The name PATCH example shares its last_updated with the EVSE just added, which the Location took: not later, so no change.
    expect((await push(c.sim, "PATCH", "locations/BE/BEC/LOC10", fixture("2.2.1", "location_patch_example_location"))).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10")).body.data).not.toMatchObject({ name: "Interparking Gent Zuid" });
    const rename = { ...json("2.2.1", "location_patch_example_location"), last_updated: "2019-06-24T12:40:00Z" };
    expect((await push(c.sim, "PATCH", "locations/BE/BEC/LOC10", rename)).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10")).body.data).toMatchObject({ name: "Interparking Gent Zuid" });
    const tariff = JSON.parse(fixture("2.2.1", "location_patch_example_tariff")) as Record<string, unknown>;
    expect((await push(c.sim, "PATCH", "locations/BE/BEC/LOC10/3255/2", { ...tariff, last_updated: "2019-06-25T00:00:00Z" })).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10/3255/2")).body.data).toMatchObject({ id: "2", tariff_ids: ["15"] });
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10/3255")).body.data).toMatchObject({ last_updated: "2019-06-25T00:00:00Z" });
    const removed = JSON.parse(fixture("2.2.1", "location_patch_example_remove_evse")) as Record<string, unknown>;
    expect((await push(c.sim, "PATCH", "locations/BE/BEC/LOC10/3256", { ...removed, last_updated: "2019-06-26T00:00:00Z" })).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10/3256")).body.data).toMatchObject({ status: "REMOVED" });

    // A connector PUT: new (201), then replaced (200).
    const connector = { id: "3", standard: "CHADEMO", format: "CABLE", power_type: "DC", max_voltage: 500, max_amperage: 125, last_updated: "2019-07-01T00:00:00Z" };
    expect((await push(c.sim, "PUT", "locations/BE/BEC/LOC10/3255/3", connector)).status).toBe(201);
    expect((await push(c.sim, "PUT", "locations/BE/BEC/LOC10/3255/3", { ...connector, max_amperage: 200, last_updated: "2019-07-02T00:00:00Z" })).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC10/3255/3")).body.data).toMatchObject({ max_amperage: 200 });
  });

  it("answers 404 with 2003 for Locations, EVSEs and connectors it does not hold", async () => {
    const evse = json("2.2.1", "location_put_example_add_evse");
    await expectRefused(push(c.sim, "GET", "locations/BE/BEC/NOPE"), 404, 2003);
    await expectRefused(push(c.sim, "PATCH", "locations/BE/BEC/NOPE", { name: "x", last_updated: "2030-01-01T00:00:00Z" }), 404, 2003);
    await expectRefused(push(c.sim, "PUT", "locations/BE/BEC/NOPE/3256", evse), 404, 2003);
    await expectRefused(push(c.sim, "PATCH", "locations/BE/BEC/NOPE/3256", { status: "CHARGING", last_updated: "2030-01-01T00:00:00Z" }), 404, 2003);
    await push(c.sim, "PUT", "locations/BE/BEC/LOC11", location221({ countryCode: "BE", partyId: "BEC" }, "LOC11", [["E1", "AVAILABLE", ["1"]]]));
    await expectRefused(push(c.sim, "GET", "locations/BE/BEC/LOC11/E9"), 404, 2003);
    await expectRefused(push(c.sim, "PATCH", "locations/BE/BEC/LOC11/E9", { status: "CHARGING", last_updated: "2030-01-01T00:00:00Z" }), 404, 2003);
    await expectRefused(push(c.sim, "PUT", "locations/BE/BEC/LOC11/E9/1", { id: "1", standard: "CHADEMO", format: "CABLE", power_type: "DC", max_voltage: 1, max_amperage: 1, last_updated: "2030-01-01T00:00:00Z" }), 404, 2003);
    await expectRefused(push(c.sim, "GET", "locations/BE/BEC/LOC11/E1/9"), 404, 2003);
    await expectRefused(push(c.sim, "PATCH", "locations/BE/BEC/LOC11/E1/9", { max_voltage: 1, last_updated: "2030-01-01T00:00:00Z" }), 404, 2003);
  });

  it("matches ids case-insensitively and returns them as received", async () => {
    await push(c.sim, "PUT", "locations/BE/BEC/MixedCase", location221({ countryCode: "BE", partyId: "BEC" }, "MixedCase", [["Evse-A", "AVAILABLE", ["c1"]]]));
    const got = await push(c.sim, "GET", "locations/be/bec/MIXEDCASE/evse-a/C1");
    expect(got.status).toBe(200);
    expect(got.body.data).toMatchObject({ id: "c1" });
    expect((await push(c.sim, "PATCH", "locations/BE/BEC/mixedcase/EVSE-A", { status: "BLOCKED", last_updated: "2030-01-01T00:00:00Z" })).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/MixedCase")).body.data).toMatchObject({ id: "MixedCase", evses: [{ uid: "Evse-A", status: "BLOCKED" }] });
  });

  it("acknowledges a repeat or an older update without changing anything", async () => {
    const newer = location221({ countryCode: "BE", partyId: "BEC" }, "LOC12", [["E1", "CHARGING", ["1"]]], "2024-05-01T12:00:00.500Z");
    const older = location221({ countryCode: "BE", partyId: "BEC" }, "LOC12", [["E1", "AVAILABLE", ["1"]]], "2024-05-01T12:00:00.499");
    expect((await push(c.sim, "PUT", "locations/BE/BEC/LOC12", newer)).status).toBe(201);
    const before = await ocpiState();
    const repeat = await push(c.sim, "PUT", "locations/BE/BEC/LOC12", newer);
    expect(repeat).toMatchObject({ status: 200, body: { status_code: 1000 } });
    expect((await push(c.sim, "PUT", "locations/BE/BEC/LOC12", older)).status).toBe(200);
    expect((await push(c.sim, "PATCH", "locations/BE/BEC/LOC12/E1", { status: "AVAILABLE", last_updated: "2024-05-01T12:00:00.5" })).status).toBe(200);
    expect(await ocpiState()).toBe(before);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC12/E1")).body.data).toMatchObject({ status: "CHARGING" });
  });

  it("refuses with 400 / 2001, naming the field, and stores nothing", async () => {
    const good = location221({ countryCode: "BE", partyId: "BEC" }, "LOC13", [["E1", "AVAILABLE", ["1"]]]);
    const omit = (object: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(object).filter(([k]) => k !== key));
    const before = await ocpiState();
    const cases: Array<[string, string, string | object, RegExp]> = [
      ["PUT", "locations/BE/BEC/LOC13", "{not json", /malformed JSON/],
      ["PUT", "locations/BE/BEC/LOC13", "[]", /body/],
      ["PUT", "locations/BE/BEC/LOC13", "null", /body/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, extra: JSON.parse("[".repeat(40) + "]".repeat(40)) }, /nested deeper/],
      ["PUT", "locations/BE/BEC/LOC13", JSON.stringify(good).replace(/}$/, `,"extra":${"[".repeat(200000)}${"]".repeat(200000)}}`), /body/],
      ["PUT", "locations/BE/BEC/LOC13", omit(good, "publish"), /publish: is required/],
      ["PUT", "locations/BE/BEC/LOC13", omit(good, "time_zone"), /time_zone: is required/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, publish: "yes" }, /publish/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, evses: [{ uid: "E1", connectors: [] }] }, /evses\.0\.status: is required/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, evses: [{ uid: "E1", status: "FREE" }] }, /evses\.0\.status/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, evses: [{ status: "AVAILABLE" }] }, /evses\.0\.uid: is required/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, evses: [{ uid: "E1", status: "AVAILABLE", connectors: [{ standard: "CHADEMO" }] }] }, /evses\.0\.connectors\.0\.id: is required/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, id: "OTHER" }, /id: "OTHER" differs from the URL/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, country_code: "NL" }, /country_code/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, party_id: "STK" }, /party_id/],
      ["PUT", "locations/FR/XYZ/LOC13", { ...good, country_code: "FR", party_id: "XYZ" }, /FR\/XYZ is not a party/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, last_updated: "2024-05-01T10:00:00+00:00" }, /last_updated: must be a DateTime/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, last_updated: "2024-05-01 10:00:00" }, /last_updated/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, last_updated: "2024-02-30T10:00:00Z" }, /last_updated/],
      ["PUT", "locations/BE/BEC/LOC13", { ...good, last_updated: 1714557600 }, /last_updated/],
      ["PUT", "locations/BE/BEC/LOC13/E1", { uid: "E1", status: "AVAILABLE", connectors: [], last_updated: "2024-05-01T10:00:00Z" }, /connectors/],
      ["PUT", "locations/BE/BEC/LOC13/E1/1", { id: "1", standard: "SCHUKO", format: "SOCKET", power_type: "AC_1_PHASE", max_voltage: 230, max_amperage: 16, last_updated: "2024-05-01T10:00:00Z" }, /standard/],
      ["PUT", "locations/BE/BEC/LOC13/E1/1", { id: "1", standard: "CHADEMO", format: "SOCKET", power_type: "AC_1_PHASE", max_voltage: 230.5, max_amperage: 16, last_updated: "2024-05-01T10:00:00Z" }, /max_voltage/],
      ["PATCH", "locations/BE/BEC/LOC13", { name: "no last_updated" }, /last_updated: is required/],
      ["PATCH", "locations/BE/BEC/LOC13/E1", { status: "CHARGING" }, /last_updated: is required/],
    ];
    for (const [method, path, body, message] of cases) {
      const answer = await push(c.sim, method as "PUT", path, body);
      expect(answer.status, `${method} ${path} ${JSON.stringify(body)}: ${answer.text}`).toBe(400);
      expect(answer.body.status_code).toBe(2001);
      expect(answer.body.data).toBeUndefined();
      expect(String(answer.body.status_message), JSON.stringify(body)).toMatch(message);
    }
    expect(await ocpiState()).toBe(before);
  });

  it("accepts DateTimes with fractions and without Z, as UTC", async () => {
    const location = location221({ countryCode: "BE", partyId: "BEC" }, "LOC14", [["E1", "AVAILABLE", ["1"]]], "2024-05-01T10:00:00.123456");
    expect((await push(c.sim, "PUT", "locations/BE/BEC/LOC14", location)).status).toBe(201);
    expect((await push(c.sim, "PATCH", "locations/BE/BEC/LOC14/E1", { status: "CHARGING", last_updated: "2024-05-01T10:00:00.1235Z" })).status).toBe(200);
    expect((await push(c.sim, "GET", "locations/BE/BEC/LOC14/E1")).body.data).toMatchObject({ status: "CHARGING" });
  });

  it("keeps every Tariff example; DELETE and GET; no PATCH on 2.2.1", async () => {
    const names = Object.keys(fixtures221).map((k) => k.replace(/^.*\//, "").replace(/\.json$/, "")).filter((n) => /^tariff_\d+_/.test(n));
    expect(names.length).toBe(18);
    for (const name of names.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))) {
      const tariff = json("2.2.1", name);
      const put = await push(c.sim, "PUT", `tariffs/DE/ALL/${tariff.id}`, fixture("2.2.1", name));
      expect([200, 201], `${name}: ${put.text}`).toContain(put.status);
    }
    expect((await push(c.sim, "GET", "tariffs/DE/ALL/52")).body.data).toEqual(json("2.2.1", "tariff_7_first_hour_kwh_free"));
    // Tariff 20 was pushed four times; the newest last_updated holds.
    expect(((await push(c.sim, "GET", "tariffs/DE/ALL/20")).body.data as { last_updated: string }).last_updated).toBe("2019-02-03T17:00:11Z");
    // The specification's PUT example leaves out the required last_updated.
    await expectRefused(push(c.sim, "PUT", "tariffs/DE/ALL/12", fixture("2.2.1", "tariff_put_example")), 400, 2001, /last_updated: is required/);
    await expectRefused(push(c.sim, "PUT", "tariffs/DE/ALL/99", { ...json("2.2.1", "tariff_1_simple_2hour"), id: "99", max_price: { incl_vat: 1 } }), 400, 2001, /max_price\.excl_vat: is required/);
    await expectRefused(push(c.sim, "PATCH", "tariffs/DE/ALL/12", { currency: "USD", last_updated: "2030-01-01T00:00:00Z" }), 405, 2000);
    expect((await push(c.sim, "DELETE", "tariffs/DE/ALL/12")).status).toBe(200);
    await expectRefused(push(c.sim, "GET", "tariffs/DE/ALL/12"), 404, 2001);
    await expectRefused(push(c.sim, "DELETE", "tariffs/DE/ALL/12"), 404, 2001);
  });

  it("keeps Sessions; a PATCH appends charging periods; PUT replaces them", async () => {
    expect((await push(c.sim, "PUT", "sessions/NL/STK/101", fixture("2.2.1", "session_example_1_simple_start"))).status).toBe(201);
    expect((await push(c.sim, "GET", "sessions/NL/STK/101")).body.data).toEqual(json("2.2.1", "session_example_1_simple_start"));

    const finished = json("2.2.1", "session_example_2_short_finished");
    expect((await push(c.sim, "PUT", "sessions/BE/BEC/101", fixture("2.2.1", "session_example_2_short_finished"))).status).toBe(201);
    expect((await push(c.sim, "PATCH", "sessions/BE/BEC/101", fixture("2.2.1", "session_patch_example_total_cost"))).status).toBe(200);
    expect((await push(c.sim, "PATCH", "sessions/BE/BEC/101", fixture("2.2.1", "session_patch_example_charging_period"))).status).toBe(200);
    const got = await push(c.sim, "GET", "sessions/BE/BEC/101");
    const periods = (got.body.data as Record<string, unknown>).charging_periods as unknown[];
    expect(periods).toEqual([...(finished.charging_periods as unknown[]), ...(json("2.2.1", "session_patch_example_charging_period").charging_periods as unknown[])]);
    expect(got.body.data).toMatchObject({ kwh: 15, total_cost: { excl_vat: 0.8, incl_vat: 0.88 }, last_updated: "2019-06-23T08:16:02Z", status: "COMPLETED" });
    // Numbers come back exactly as written.
    expect(got.text).toContain('"kwh":15.00');
    expect(got.text).toContain('"excl_vat":0.80');
    // The same PATCH again: acknowledged, nothing appended.
    expect((await push(c.sim, "PATCH", "sessions/BE/BEC/101", fixture("2.2.1", "session_patch_example_charging_period"))).status).toBe(200);
    expect(((await push(c.sim, "GET", "sessions/BE/BEC/101")).body.data as { charging_periods: unknown[] }).charging_periods).toHaveLength(4);
    // A PUT replaces the list; one without charging periods removes it.
    const replaced = { ...finished, charging_periods: undefined, last_updated: "2030-01-01T00:00:00Z" };
    expect((await push(c.sim, "PUT", "sessions/BE/BEC/101", replaced)).status).toBe(200);
    expect((await push(c.sim, "GET", "sessions/BE/BEC/101")).body.data).not.toHaveProperty("charging_periods");

    await expectRefused(push(c.sim, "PATCH", "sessions/BE/BEC/999", fixture("2.2.1", "session_patch_example_total_cost")), 404, 2001);
    await expectRefused(push(c.sim, "GET", "sessions/BE/BEC/999"), 404, 2001);
    await expectRefused(push(c.sim, "PATCH", "sessions/BE/BEC/101", { kwh: 1 }), 400, 2001, /last_updated/);
    await expectRefused(push(c.sim, "PUT", "sessions/BE/BEC/102", { ...finished, id: "102", cdr_token: { type: "RFID" } }), 400, 2001, /cdr_token\.uid: is required/);
    await expectRefused(push(c.sim, "PUT", "sessions/BE/BEC/102", { ...finished, id: "102", kwh: "41.00" }), 400, 2001, /kwh: must be a number/);
    await expectRefused(push(c.sim, "PUT", "sessions/BE/BEC/102", { ...finished, id: "102", status: "STOPPED" }), 400, 2001, /status/);
    await expectRefused(push(c.sim, "PUT", "sessions/BE/BEC/102", { ...finished, id: "102", total_cost: { incl_vat: 1 } }), 400, 2001, /total_cost\.excl_vat: is required/);
    await expectRefused(push(c.sim, "PUT", "sessions/BE/BEC/102", { ...finished, id: "102", end_date_time: "2015-06-29T23:50:16+02:00" }), 400, 2001, /end_date_time/);
  });

  it("keeps exact numbers: 0.30000000000000004 stays exactly that", async () => {
    const session = { ...json("2.2.1", "session_example_2_short_finished"), id: "exact" };
    const text = JSON.stringify(session).replace('"excl_vat":8.5', '"excl_vat":0.30000000000000004').replace('"incl_vat":9.35', '"incl_vat":4.3240');
    expect((await push(c.sim, "PUT", "sessions/BE/BEC/exact", text)).status).toBe(201);
    const got = await push(c.sim, "GET", "sessions/BE/BEC/exact");
    expect(got.text).toContain('"total_cost":{"excl_vat":0.30000000000000004,"incl_vat":4.3240}');
  });

  it("receives a CDR: 201 with Location, GET answers it as received, a repeat answers the same Location", async () => {
    const post = await push(c.sim, "POST", "cdrs", fixture("2.2.1", "cdr_example"));
    expect(post.status, post.text).toBe(201);
    expect(post.body).toMatchObject({ status_code: 1000 });
    expect(post.body.data).toBeUndefined();
    const location = post.headers.get("Location")!;
    expect(location.startsWith(`${GATEWAY}/ocpi/2.2.1/cdrs/`)).toBe(true);
    const got = await envelopeOf(await gateway(location.slice(GATEWAY.length), { headers: { Authorization: `Token ${btoa(c.sim.gatewayToken!)}` } }));
    expect(got.status).toBe(200);
    expect(got.body.data).toEqual(json("2.2.1", "cdr_example"));
    expect(got.text).toContain('"total_cost":{"excl_vat":4.00,"incl_vat":4.40}');
    const repeat = await push(c.sim, "POST", "cdrs", fixture("2.2.1", "cdr_example"));
    expect(repeat.status).toBe(200);
    expect(repeat.headers.get("Location")).toBe(location);
    // Same id, another owner: another CDR.
    const other = { ...json("2.2.1", "cdr_example"), country_code: "NL", party_id: "STK" };
    const second = await push(c.sim, "POST", "cdrs", other);
    expect(second.status).toBe(201);
    expect(second.headers.get("Location")).not.toBe(location);
    await expectRefused(push(c.sim, "POST", "cdrs", { ...other, id: "x2", country_code: "FR", party_id: "XYZ" }), 400, 2001, /not a party/);
    await expectRefused(push(c.sim, "POST", "cdrs", { ...other, id: "x3", total_cost: { incl_vat: 4 } }), 400, 2001, /total_cost\.excl_vat/);
    await expectRefused(push(c.sim, "POST", "cdrs", { ...other, id: "x4", charging_periods: [] }), 400, 2001, /charging_periods/);
    await expectRefused(push(c.sim, "GET", "cdrs/0000"), 404, 2001);
  });

  it("loses no update when PATCHes of one Location or Session arrive at once", async () => {
    const uids = Array.from({ length: 8 }, (_, i) => `P${i}`);
    await push(c.sim, "PUT", "locations/BE/BEC/BUSY", location221({ countryCode: "BE", partyId: "BEC" }, "BUSY", uids.map((u) => [u, "AVAILABLE", ["1"]] as [string, string, string[]]), "2024-05-01T10:00:00Z"));
    const patched = await Promise.all(uids.map((u, i) => push(c.sim, "PATCH", `locations/BE/BEC/BUSY/${u}`, { status: "CHARGING", last_updated: `2024-05-01T10:0${i}:30Z` })));
    for (const answer of patched) expect(answer.status, answer.text).toBe(200);
    const evses = ((await push(c.sim, "GET", "locations/BE/BEC/BUSY")).body.data as { evses: Array<{ status: string }> }).evses;
    expect(evses.map((e) => e.status)).toEqual(uids.map(() => "CHARGING"));

    const session = { ...json("2.2.1", "session_example_2_short_finished"), id: "BUSY", charging_periods: [] };
    await push(c.sim, "PUT", "sessions/BE/BEC/BUSY", session);
    const periods = await Promise.all(
      Array.from({ length: 6 }, (_, i) => push(c.sim, "PATCH", "sessions/BE/BEC/BUSY", { charging_periods: [{ start_date_time: `2015-06-29T23:0${i}:00Z`, dimensions: [{ type: "ENERGY", volume: i }] }], last_updated: `2015-06-30T00:0${i}:00Z` })),
    );
    for (const answer of periods) expect(answer.status, answer.text).toBe(200);
    const held = (await push(c.sim, "GET", "sessions/BE/BEC/BUSY")).body.data as { charging_periods: unknown[]; last_updated: string };
    // Every PATCH either appended or, arriving after a later one, was dropped as older: never half of one.
    expect(held.last_updated).toBe("2015-06-30T00:05:00Z");
    expect(held.charging_periods.length).toBeGreaterThanOrEqual(1);
  });

  it("answers with the routing headers reversed on functional modules", async () => {
    const location = location221({ countryCode: "BE", partyId: "BEC" }, "LOC15", [["E1", "AVAILABLE", ["1"]]]);
    const res = await c.sim.push("PUT", "locations/BE/BEC/LOC15", location, { from: { countryCode: "BE", partyId: "BEC" } });
    expect(res.headers.get("OCPI-from-country-code")).toBe("IL");
    expect(res.headers.get("OCPI-from-party-id")).toBe("NYX");
    expect(res.headers.get("OCPI-to-country-code")).toBe("BE");
    expect(res.headers.get("OCPI-to-party-id")).toBe("BEC");
    // Without the request's OCPI-from-*, the party in the URL.
    const bare = await gateway("/ocpi/2.2.1/locations/NL/STK/unknown", { headers: { Authorization: `Token ${btoa(c.sim.gatewayToken!)}` } });
    expect(bare.status).toBe(404);
    expect(bare.headers.get("OCPI-to-country-code")).toBe("NL");
    expect(bare.headers.get("OCPI-to-party-id")).toBe("STK");
    expect(bare.headers.get("X-Request-ID")).toBeTruthy();
  });
});

describe("OCPI 2.1.1 receivers", () => {
  let c: Connected;
  let party: string;

  beforeAll(async () => {
    c = await connectedTenant("2.1.1", "cpo");
    party = `${c.sim.parties[0]!.countryCode}/${c.sim.parties[0]!.partyId}`;
  });

  it("keeps the Location example and applies the PATCH examples, which carry no last_updated", async () => {
    expect((await push(c.sim, "PUT", `locations/${party}/LOC1`, fixture("2.1.1", "location_example"))).status).toBe(201);
    expect((await push(c.sim, "GET", `locations/${party}/LOC1`)).body.data).toEqual(json("2.1.1", "location_example"));
    const status = await push(c.sim, "PATCH", `locations/${party}/LOC1/3256`, fixture("2.1.1", "location_patch_example_status"));
    expect(status.status).toBe(200);
    expect(status.headers.get("OCPI-to-party-id")).toBeNull();
    expect(status.headers.get("OCPI-from-party-id")).toBeNull();
    expect((await push(c.sim, "GET", `locations/${party}/LOC1/3256`)).body.data).toMatchObject({ status: "CHARGING" });
    expect((await push(c.sim, "PATCH", `locations/${party}/LOC1`, fixture("2.1.1", "location_patch_example_location"))).status).toBe(200);
    expect((await push(c.sim, "PATCH", `locations/${party}/LOC1/3256/2`, fixture("2.1.1", "location_patch_example_tariff"))).status).toBe(200);
    expect((await push(c.sim, "GET", `locations/${party}/LOC1/3256/2`)).body.data).toMatchObject({ tariff_id: "15" });
    expect((await push(c.sim, "PATCH", `locations/${party}/LOC1/3256`, fixture("2.1.1", "location_patch_example_remove_evse"))).status).toBe(200);
    const before = await ocpiState();
    expect((await push(c.sim, "PATCH", `locations/${party}/LOC1/3256`, fixture("2.1.1", "location_patch_example_remove_evse"))).status).toBe(200);
    expect(await ocpiState()).toBe(before);
    expect((await push(c.sim, "GET", `locations/${party}/LOC1`)).body.data).toMatchObject({ name: "Interparking Gent Zuid", evses: [{ uid: "3256", status: "REMOVED" }, { uid: "3257" }] });
  });

  it("refuses the specification's EVSE PUT example, which lacks the required last_updated", async () => {
    await expectRefused(push(c.sim, "PUT", `locations/${party}/LOC1/3258`, fixture("2.1.1", "location_put_example_add_evse")), 400, 2001, /last_updated: is required/);
    const evse = { ...json("2.1.1", "location_put_example_add_evse"), uid: "3258", last_updated: "2015-07-01T00:00:00Z" };
    expect((await push(c.sim, "PUT", `locations/${party}/LOC1/3258`, evse)).status).toBe(201);
    await expectRefused(push(c.sim, "PUT", `locations/${party}/LOC2`, { ...json("2.1.1", "location_example"), id: "LOC2", type: "on_street" }), 400, 2001, /type/);
    await expectRefused(push(c.sim, "PUT", `locations/${party}/LOC2`, { ...json("2.1.1", "location_example"), id: "LOC2", postal_code: undefined }), 400, 2001, /postal_code: is required/);
  });

  it("keeps Sessions and merges a PATCH without last_updated", async () => {
    expect((await push(c.sim, "PUT", `sessions/${party}/101`, fixture("2.1.1", "session_example_1_simple_start"))).status).toBe(201);
    expect((await push(c.sim, "PUT", `sessions/${party}/101`, fixture("2.1.1", "session_example_2_short_finished"))).status).toBe(200);
    expect((await push(c.sim, "PATCH", `sessions/${party}/101`, fixture("2.1.1", "session_patch_example_total_cost"))).status).toBe(200);
    const got = await push(c.sim, "GET", `sessions/${party}/101`);
    expect(got.body.data).toMatchObject({ status: "COMPLETED", kwh: 41, total_cost: 0.6 });
    expect(got.text).toContain('"total_cost":0.60');
    // A 2.1.1 PATCH replaces charging_periods as given (no append rule).
    expect((await push(c.sim, "PATCH", `sessions/${party}/101`, { charging_periods: [{ start_date_time: "2015-06-29T22:39:09Z", dimensions: [{ type: "ENERGY", volume: 1 }] }] })).status).toBe(200);
    expect(((await push(c.sim, "GET", `sessions/${party}/101`)).body.data as { charging_periods: unknown[] }).charging_periods).toHaveLength(1);
    await expectRefused(push(c.sim, "PUT", `sessions/${party}/102`, { ...json("2.1.1", "session_example_1_simple_start"), id: "102", auth_id: undefined }), 400, 2001, /auth_id: is required/);
    await expectRefused(push(c.sim, "PUT", `sessions/${party}/102`, { ...json("2.1.1", "session_example_1_simple_start"), id: "102", auth_method: "COMMAND" }), 400, 2001, /auth_method/);
    await expectRefused(push(c.sim, "PUT", `sessions/${party}/102`, { ...json("2.1.1", "session_example_1_simple_start"), id: "102", status: "RESERVATION" }), 400, 2001, /status/);
  });

  it("receives the CDR example (owned by the CPO's party) and answers it back", async () => {
    const post = await push(c.sim, "POST", "cdrs", fixture("2.1.1", "cdr_example"));
    expect(post.status, post.text).toBe(201);
    const location = post.headers.get("Location")!;
    expect(location.startsWith(`${GATEWAY}/ocpi/2.1.1/cdrs/`)).toBe(true);
    const got = await envelopeOf(await gateway(location.slice(GATEWAY.length), { headers: { Authorization: `Token ${c.sim.gatewayToken!}` } }));
    expect(got.body.data).toEqual(json("2.1.1", "cdr_example"));
    expect(got.text).toContain('"total_cost":4.00');
    expect((await push(c.sim, "POST", "cdrs", fixture("2.1.1", "cdr_example"))).headers.get("Location")).toBe(location);
    await expectRefused(push(c.sim, "POST", "cdrs", { ...json("2.1.1", "cdr_example"), id: "x", total_cost: { excl_vat: 4 } }), 400, 2001, /total_cost: must be a number/);
  });

  it("keeps the Tariff examples and applies the 2.1.1 Tariff PATCH", async () => {
    // The PUT example of the specification leaves out the required last_updated.
    await expectRefused(push(c.sim, "PUT", `tariffs/${party}/12`, fixture("2.1.1", "tariff_put_example_2_euro_per_hour")), 400, 2001, /last_updated: is required/);
    for (const name of ["tariff_example_alt_text", "tariff_example_alt_url", "tariff_example_complex", "tariff_example_free_of_charge"]) {
      const tariff = json("2.1.1", name);
      const put = await push(c.sim, "PUT", `tariffs/${party}/${tariff.id}`, fixture("2.1.1", name));
      expect([200, 201], `${name}: ${put.text}`).toContain(put.status);
    }
    expect((await push(c.sim, "PUT", `tariffs/${party}/12`, fixture("2.1.1", "tariff_example_simple_2_euro_per_hour"))).status).toBe(200);
    expect((await push(c.sim, "PATCH", `tariffs/${party}/12`, fixture("2.1.1", "tariff_patch_example_2_50_per_hour"))).status).toBe(200);
    const got = await push(c.sim, "GET", `tariffs/${party}/12`);
    expect(got.text).toContain('"price":2.50');
    await expectRefused(push(c.sim, "PATCH", `tariffs/${party}/404`, fixture("2.1.1", "tariff_patch_example_2_50_per_hour")), 404, 2001);
  });
});

describe("isolation between tenants", () => {
  it("never lets one tenant's CPO read or change another tenant's objects", async () => {
    const a = await connectedTenant("2.2.1", "gateway", { parties: [{ countryCode: "BE", partyId: "BEC", name: "A" }] });
    const b = await connectedTenant("2.2.1", "cpo", { parties: [{ countryCode: "BE", partyId: "BEC", name: "B" }] });
    const location = location221({ countryCode: "BE", partyId: "BEC" }, "SHARED", [["E1", "AVAILABLE", ["1"]]], "2024-01-01T00:00:00Z");
    expect((await push(a.sim, "PUT", "locations/BE/BEC/SHARED", location)).status).toBe(201);
    // B holds no such Location: 404 for B, and B's PATCH cannot reach A's.
    await expectRefused(push(b.sim, "GET", "locations/BE/BEC/SHARED"), 404, 2003);
    await expectRefused(push(b.sim, "PATCH", "locations/BE/BEC/SHARED/E1", { status: "OUTOFORDER", last_updated: "2030-01-01T00:00:00Z" }), 404, 2003);
    expect((await push(b.sim, "PUT", "locations/BE/BEC/SHARED", { ...location, name: "B's", last_updated: "2030-01-01T00:00:00Z" })).status).toBe(201);
    expect((await push(a.sim, "GET", "locations/BE/BEC/SHARED")).body.data).toEqual(location);
    // A CDR URL of A is not readable with B's token.
    const post = await push(a.sim, "POST", "cdrs", fixture("2.2.1", "cdr_example"));
    const path = post.headers.get("Location")!.slice(GATEWAY.length);
    expect((await gateway(path, { headers: { Authorization: `Token ${btoa(b.sim.gatewayToken!)}` } })).status).toBe(404);
    expect((await gateway(path, { headers: { Authorization: `Token ${btoa(a.sim.gatewayToken!)}` } })).status).toBe(200);
    // And B's copy of the same CDR is B's own (201, not a repeat of A's).
    expect((await push(b.sim, "POST", "cdrs", fixture("2.2.1", "cdr_example"))).status).toBe(201);
  });
});
