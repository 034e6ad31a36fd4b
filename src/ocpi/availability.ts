/**
 * What an EVSE's status means for a station mapped to it (CONTRACT §7.5): the status's
 * availability, and the more restrictive of it and the tenant's own.
 */

export type Availability = "available" | "busy" | "out_of_service";

const RANK: Record<Availability, number> = { available: 0, busy: 1, out_of_service: 2 };

/** `AVAILABLE` → available; `CHARGING`, `BLOCKED`, `RESERVED` → busy; anything else → out of service. */
export function availabilityOfEvseStatus(status: string): Availability {
  switch (status) {
    case "AVAILABLE":
      return "available";
    case "CHARGING":
    case "BLOCKED":
    case "RESERVED":
      return "busy";
    default:
      return "out_of_service";
  }
}

/** The tenant's availability, or the EVSE's when more restrictive; the tenant's alone while no status is held. */
export function effectiveAvailability(tenant: Availability, evseStatus: string | null): Availability {
  if (evseStatus === null) return tenant;
  const evse = availabilityOfEvseStatus(evseStatus);
  return RANK[evse] > RANK[tenant] ? evse : tenant;
}
