/** The codec of each OCPI version. */
import type { VersionCodec } from "./codec";
import type { OcpiVersion } from "./model";
import { v211 } from "./v211";
import { v221 } from "./v221";

export const CODECS: Record<OcpiVersion, VersionCodec> = { "2.2.1": v221, "2.1.1": v211 };

export function codecFor(version: OcpiVersion): VersionCodec {
  return CODECS[version];
}
