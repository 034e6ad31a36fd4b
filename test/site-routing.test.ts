/**
 * Routing of Spark callbacks by (SiteId, MachineId) (src/tenants/lookup.ts): one cached read per
 * site loads its site claim and all its machine claims; a machine claim wins over the site claim.
 */
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { beforeAll, describe, expect, it } from "vitest";
import { forgetTenantCaches, tenantForMachine } from "../src/tenants/lookup";
import { transactionNotify } from "./fixtures";
import { admin, newSessionId, onboard } from "./helpers";
import type { Onboarded } from "./helpers";
import { expectSparkError, freshMachine, freshSite, readSession, sparkCall, tenantWithSites } from "./support";

type Tenant = Onboarded & { siteIds: number[] };

/** A TransactionNotify for a new session at (site, machine), signed with `tenant`'s callback secret. */
async function notify(tenant: Tenant, site: number, machine: number) {
  const id = newSessionId();
  const answer = await sparkCall("TransactionNotify", transactionNotify({ SiteId: site, MachineId: machine, SparkTransactionId: id }), tenant.sparkCallbackSecret);
  return { id, ...answer };
}

/** Asserts that (site, machine) is `owner`'s: its secret is approved and the session is its own; `other`'s secret is refused. */
async function expectRoutedTo(owner: Tenant, other: Tenant, site: number, machine: number) {
  expectSparkError(await notify(other, site, machine), 401);
  const approved = await notify(owner, site, machine);
  expect(approved.status, JSON.stringify(approved.body)).toBe(200);
  expect(approved.body.Status.Verdict).toBe("Approved");
  expect((await readSession(owner.apiKey, approved.id))!.status).toBe("authorized");
  expect(await readSession(other.apiKey, approved.id)).toBeNull();
}

describe("Spark callbacks routed by site and machine claims", () => {
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    a = await tenantWithSites(2);
    b = await tenantWithSites(1);
  });

  it("routes a machine claimed by B on A's site to B, every other machine there to A, and back to A once the claim is gone", async () => {
    const [site, otherSite] = a.siteIds as [number, number];
    const machine = freshMachine();

    // First the site is A's throughout: this also caches the site's routes in this isolate.
    await expectRoutedTo(a, b, site, machine);

    const claimed = await admin(`/admin/tenants/${b.id}/claims`, { method: "POST", json: { machines: [{ siteId: site, machineId: machine }] } });
    expect(claimed.status, await claimed.clone().text()).toBe(200);

    // The new machine claim wins at once (the cached site routes were dropped).
    await expectRoutedTo(b, a, site, machine);
    // Machines never seen before at that site are still A's.
    for (let i = 0; i < 3; i++) await expectRoutedTo(a, b, site, freshMachine());
    // The claim is for that machine at that site only: the same MachineId on A's other site is A's.
    await expectRoutedTo(a, b, otherSite, machine);

    const removed = await admin(`/admin/tenants/${b.id}/machines/${site}/${machine}`, { method: "DELETE" });
    expect(removed.status, await removed.clone().text()).toBe(200);

    // Without the machine claim, the site claim routes the machine to A again.
    await expectRoutedTo(a, b, site, machine);
  });

  it("routes a claimed machine on an unclaimed site to its tenant and refuses the site's other machines with 404", async () => {
    const site = freshSite();
    const machine = freshMachine();
    const claimed = await admin(`/admin/tenants/${b.id}/claims`, { method: "POST", json: { machines: [{ siteId: site, machineId: machine }] } });
    expect(claimed.status, await claimed.clone().text()).toBe(200);

    await expectRoutedTo(b, a, site, machine);
    expectSparkError(await notify(a, site, freshMachine()), 404);
    expectSparkError(await notify(b, site, freshMachine()), 404);
  });
});

/** D1 calls made through a wrapped binding: each `batch`, and each statement run outside a batch. */
interface RoundTrips {
  batches: number;
  single: number;
  prepared: string[];
}

/**
 * env.DB behind a Proxy that counts D1 round trips: a `batch` is one, and so is each statement
 * run on its own (`all`, `raw`, `first`, `run`). Statements stay real D1 statements underneath.
 */
function countingD1(d1: D1Database): { db: D1Database; trips: RoundTrips } {
  const trips: RoundTrips = { batches: 0, single: 0, prepared: [] };
  const statement = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...params: unknown[]) => statement(target.bind(...params));
        if (prop === "all" || prop === "raw" || prop === "first" || prop === "run") trips.single++;
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    });
  const db = new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare")
        return (sql: string) => {
          trips.prepared.push(sql);
          return statement(target.prepare(sql));
        };
      if (prop === "batch")
        return (statements: D1PreparedStatement[]) => {
          trips.batches++;
          return target.batch(statements);
        };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db, trips };
}

describe("tenantForMachine", () => {
  it("answers every machine of a site from one D1 round trip, machine claims first", async () => {
    const siteOwner = await tenantWithSites(1);
    const site = siteOwner.siteIds[0]!;
    const machines = Array.from({ length: 20 }, freshMachine);
    const claimedMachines = [machines[3]!, machines[11]!];
    const machineOwner = await onboard({ siteIds: [], machines: claimedMachines.map((machineId) => ({ siteId: site, machineId })) });

    // Nothing cached from onboarding or other tests: the first lookup below must read D1.
    forgetTenantCaches();
    const { db: d1, trips } = countingD1(env.DB);
    const db = drizzle(d1);

    const routed: Array<string | null> = [];
    for (const machine of machines) routed.push(await tenantForMachine(db, site, machine));

    expect(routed).toEqual(machines.map((m) => (claimedMachines.includes(m) ? machineOwner.id : siteOwner.id)));
    // One batch carrying both kinds of claim, nothing else.
    expect(trips).toMatchObject({ batches: 1, single: 0 });
    expect(trips.prepared).toHaveLength(2);
    expect(trips.prepared.join("\n")).toMatch(/site_claims/);
    expect(trips.prepared.join("\n")).toMatch(/machine_claims/);

    // The cache is per site: another site costs its own read, an unclaimed one answers null.
    const otherSite = freshSite();
    expect(await tenantForMachine(db, otherSite, machines[0]!)).toBeNull();
    expect(await tenantForMachine(db, otherSite, machines[1]!)).toBeNull();
    expect(trips).toMatchObject({ batches: 2, single: 0 });

    // forgetTenantCaches() drops the site's routes: the next lookup reads again.
    forgetTenantCaches();
    expect(await tenantForMachine(db, site, machines[3]!)).toBe(machineOwner.id);
    expect(await tenantForMachine(db, site, machines[4]!)).toBe(siteOwner.id);
    expect(trips).toMatchObject({ batches: 3, single: 0 });
  });
});
