/**
 * The demo tenant's Spark credentials, shared by the local simulator (`scripts/simulator.ts`) and
 * any script that seeds the gateway for local play. CONTRACT.md §2 reserves TokenId and SiteId
 * 9000 for it, so it never collides with real onboarding.
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

/** Base URL of a simulator on `port`, in the `https://{domain}/api` shape Spark uses. */
export function simulatorBaseUrl(port: number = SIM_DEFAULT_PORT, host = "127.0.0.1"): string {
  return `http://${host}:${port}/api`;
}
