/**
 * The demo tenants' Spark credentials, shared by the local simulator (`scripts/simulator.ts`) and
 * any script that seeds the gateway for local play. CONTRACT.md §2 reserves TokenId and SiteId
 * 9000 for the first and 9001 for the second (connected over OCPI to the CPO simulator), so they
 * never collide with real onboarding.
 */

/** TokenId reserved for the demo tenant (CONTRACT.md §2). */
export const DEMO_TOKEN_ID = 9000;

/** Demo secret token: long enough (≥ 32 characters) for its last 32 to be the AES key. */
export const DEMO_SECRET_TOKEN = "demo-secret-token-0000000000000000000000000000000000000000000000000";

/** Demo Sign Key ID, sent as the `IntegratorId` header. */
export const DEMO_INTEGRATOR_ID = "9000";

/** Demo Sign Key: 16 characters, like Nayax's. */
export const DEMO_SIGN_KEY = "demo-sign-key-00";

/** SiteId reserved for the demo tenant (CONTRACT.md §2). */
export const DEMO_SITE_ID = 9000;

/** Port of the local simulator unless `SIM_PORT` says otherwise; next to the gateway's 8787. */
export const SIM_DEFAULT_PORT = 8790;

/** The demo tenant as the simulator takes it. */
export const DEMO_TENANT = {
  tokenId: DEMO_TOKEN_ID,
  secretToken: DEMO_SECRET_TOKEN,
  integratorId: DEMO_INTEGRATOR_ID,
  signKey: DEMO_SIGN_KEY,
} as const;

/** TokenId reserved for the OCPI demo tenant (CONTRACT.md §2). */
export const DEMO_OCPI_TOKEN_ID = 9001;

/** SiteId reserved for the OCPI demo tenant (CONTRACT.md §2). */
export const DEMO_OCPI_SITE_ID = 9001;

/** The OCPI demo tenant's Spark account in the simulator (another integrator than the first demo tenant's). */
export const DEMO_OCPI_TENANT = {
  tokenId: DEMO_OCPI_TOKEN_ID,
  secretToken: "demo-ocpi-secret-token-1111111111111111111111111111111111111111111111",
  integratorId: "9001",
  signKey: "demo-sign-key-01",
} as const;

/** Base URL of a simulator on `port`, in the `https://{domain}/api` shape Spark uses. */
export function simulatorBaseUrl(port: number = SIM_DEFAULT_PORT, host = "127.0.0.1"): string {
  return `http://${host}:${port}/api`;
}
