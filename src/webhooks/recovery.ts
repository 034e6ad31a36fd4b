/**
 * Recover, however much there is: the request counts what it will queue and hands the work to a
 * job object, whose alarm pages through D1 and asks the session objects, a bounded number at a
 * time, to send their undelivered events again. Each session object sends them in sequence order,
 * after whatever the endpoint is still owed before them (src/webhooks/dispatcher.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { and, asc, count, countDistinct, eq, gt, gte, isNotNull, lte, or } from "drizzle-orm";
import { database } from "../db/client";
import type { Database } from "../db/client";
import { UNDELIVERED, deliveries } from "../db/schema";
import { log } from "../lib/log";
import { sessionStub } from "../sessions/stub";
import type { ResendTarget } from "./dispatcher";

/**
 * Deliveries read per alarm. A page calls at most this many session objects, so each alarm stays
 * far inside the per-invocation subrequest limit, however long the backlog.
 */
export const RECOVERY_PAGE_ROWS = 200;

/** Session objects called at once while a page is worked through. */
export const RECOVERY_CONCURRENCY = 10;

/** A page that failed (D1 or a session object unreachable) is tried again this much later; queuing twice is harmless. */
const RECOVERY_RETRY_MS = 5_000;

/** What to recover: the endpoint's undelivered events created in `[since, until]`. */
export interface RecoverySpec {
  tenantId: string;
  endpoint: ResendTarget;
  since: number;
  until: number;
}

interface JobState extends RecoverySpec {
  /** The last delivery handed to its session object; the next page starts after it. */
  after: { sessionId: string; sequence: number } | null;
}

const inWindow = (spec: RecoverySpec) =>
  and(
    eq(deliveries.endpointId, spec.endpoint.id),
    UNDELIVERED,
    isNotNull(deliveries.sessionId),
    gte(deliveries.eventCreatedAt, spec.since),
    lte(deliveries.eventCreatedAt, spec.until),
  );

/** How many events (and sessions) a recover of `spec` queues: those failed, skipped or still pending. */
export async function countRecoverable(db: Database, spec: RecoverySpec): Promise<{ events: number; sessions: number }> {
  const row = await db
    .select({ events: count(), sessions: countDistinct(deliveries.sessionId) })
    .from(deliveries)
    .where(inWindow(spec))
    .get();
  return { events: row?.events ?? 0, sessions: row?.sessions ?? 0 };
}

/** Starts a recovery job; it runs from its own alarm, so this returns at once. */
export async function startRecovery(env: Env, spec: RecoverySpec): Promise<void> {
  const ns = env.RECOVERY as unknown as DurableObjectNamespace<RecoveryJob>;
  await ns.get(ns.newUniqueId()).start(spec);
}

/** One recover request, worked through page by page from its alarm; it deletes itself when done. */
export class RecoveryJob extends DurableObject<Env> {
  async start(spec: RecoverySpec): Promise<void> {
    await this.ctx.storage.put<JobState>("job", { ...spec, after: null });
    await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const job = await this.ctx.storage.get<JobState>("job");
    if (!job) return;
    try {
      const rows = await this.page(job);
      await this.resend(job, rows);
      if (rows.length < RECOVERY_PAGE_ROWS) {
        log.info("recover finished", { tenantId: job.tenantId, endpointId: job.endpoint.id });
        await this.ctx.storage.deleteAll();
        return;
      }
      const last = rows[rows.length - 1]!;
      await this.ctx.storage.put<JobState>("job", { ...job, after: { sessionId: last.sessionId, sequence: last.sequence } });
      await this.ctx.storage.setAlarm(Date.now());
    } catch (error) {
      log.warn("recover page failed; retrying", { tenantId: job.tenantId, endpointId: job.endpoint.id, error: String(error) });
      await this.ctx.storage.setAlarm(Date.now() + RECOVERY_RETRY_MS);
    }
  }

  /** The next deliveries to recover, by session then sequence, so a session's events are asked for in order. */
  private async page(job: JobState): Promise<Array<{ sessionId: string; sequence: number }>> {
    const rows = await database(this.env.DB)
      .select({ sessionId: deliveries.sessionId, sequence: deliveries.sequence })
      .from(deliveries)
      .where(
        and(
          inWindow(job),
          job.after
            ? or(gt(deliveries.sessionId, job.after.sessionId), and(eq(deliveries.sessionId, job.after.sessionId), gt(deliveries.sequence, job.after.sequence)))
            : undefined,
        ),
      )
      .orderBy(asc(deliveries.sessionId), asc(deliveries.sequence))
      .limit(RECOVERY_PAGE_ROWS);
    return rows.filter((r): r is { sessionId: string; sequence: number } => r.sessionId !== null && r.sequence !== null);
  }

  /** Hands each session its sequences, {@link RECOVERY_CONCURRENCY} sessions at a time. */
  private async resend(job: JobState, rows: Array<{ sessionId: string; sequence: number }>): Promise<void> {
    const bySession = new Map<string, number[]>();
    for (const row of rows) bySession.set(row.sessionId, [...(bySession.get(row.sessionId) ?? []), row.sequence]);
    const sessions = [...bySession];
    for (let i = 0; i < sessions.length; i += RECOVERY_CONCURRENCY) {
      await Promise.all(
        sessions.slice(i, i + RECOVERY_CONCURRENCY).map(([sessionId, sequences]) =>
          sessionStub(this.env, sessionId).resend(job.tenantId, { endpoints: [job.endpoint], sequences, trigger: "recover", filter: "not_delivered" }),
        ),
      );
    }
  }
}
