/** The gateway's eMSP identity as it appears in credentials and tokens (CONTRACT §7.1). */
import { ocpiConfig, publicBaseUrl } from "./config";
import type { EmspIdentity } from "./model";

/** The identity, with the versions URL under the gateway's public base. */
export function emspIdentity(env: Env, requestUrl?: string): EmspIdentity {
  const config = ocpiConfig(env);
  return {
    countryCode: config.countryCode,
    partyId: config.partyId,
    businessName: config.businessName,
    versionsUrl: `${publicBaseUrl(env, requestUrl)}/ocpi/versions`,
  };
}
