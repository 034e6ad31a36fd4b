/** A simulated Spark behind the gateway's outbound fetch, and a driver that plays Spark's callbacks. */
import { exports } from "cloudflare:workers";
import { vi } from "vitest";
import { SparkDriver } from "../sim/drive";
import { SparkSimulator } from "../sim/spark-simulator";
import type { SimTenant } from "../sim/spark-simulator";
import { onboard } from "./helpers";
import type { Onboarded } from "./helpers";

/** Where the gateway reaches the simulator. */
export const SIM_BASE_URL = "https://spark-sim.test/api";

let nextToken = 700_000;

export interface SimTenantHandle extends Onboarded {
  spark: SimTenant;
  driver: SparkDriver;
}

/** Installs a simulator behind `fetch` for Spark calls, letting every other request through. */
export function installSimulator() {
  const simulator = new SparkSimulator({ tenants: [] });
  const realFetch = globalThis.fetch.bind(globalThis);
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (request.url.startsWith(SIM_BASE_URL)) return simulator.handle(request);
    return realFetch(request);
  });

  /** Onboards a tenant whose Spark account lives in the simulator. */
  async function tenant(overrides: Record<string, unknown> = {}): Promise<SimTenantHandle> {
    const tokenId = nextToken++;
    const spark: SimTenant = {
      tokenId,
      // The AES key is the rightmost 32 characters, so the token id goes last: each tenant its own key.
      secretToken: `sim-secret-token-0000000000000000000000000-${String(tokenId).padStart(12, "0")}`,
      integratorId: String(tokenId),
      signKey: `sign-${tokenId}`,
    };
    simulator.addTenant(spark);
    const created = await onboard({ spark: { baseUrl: SIM_BASE_URL, ...spark }, ...overrides });
    const driver = new SparkDriver({
      gatewayUrl: "http://gateway.test",
      callbackSecret: created.sparkCallbackSecret,
      fetcher: (input, init) => exports.default.fetch(new Request(input, init)),
      simulator,
    });
    return { ...created, spark, driver };
  }

  return { simulator, spy, tenant };
}
