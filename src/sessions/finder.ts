/** Finding a tenant's session from what a stop card tells us, in the D1 projection. */
import { and, desc, eq, inArray } from "drizzle-orm";
import type { Database } from "../db/client";
import { sessions } from "../db/schema";
import { OPEN_STATUSES } from "./model";

export async function sessionByNayaxId(db: Database, tenantId: string, nayaxTransactionId: number): Promise<string | null> {
  const row = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.tenantId, tenantId), eq(sessions.nayaxTransactionId, nayaxTransactionId)))
    .orderBy(desc(sessions.createdAt))
    .get();
  return row?.id ?? null;
}

/** The newest open session of this card on this machine (and station, when given). */
export async function openSessionByCard(
  db: Database,
  tenantId: string,
  machineId: number,
  cardHash: string,
  serviceStationNumber: string | null,
): Promise<string | null> {
  const row = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(
      and(
        eq(sessions.tenantId, tenantId),
        eq(sessions.machineId, machineId),
        eq(sessions.cardHash, cardHash.toLowerCase()),
        inArray(sessions.status, [...OPEN_STATUSES]),
        serviceStationNumber ? eq(sessions.serviceStationNumber, serviceStationNumber) : undefined,
      ),
    )
    .orderBy(desc(sessions.createdAt))
    .get();
  return row?.id ?? null;
}
