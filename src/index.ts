import { lt } from "drizzle-orm";
import { database } from "./db/client";
import { deliveryAttempts } from "./db/schema";
import { log } from "./lib/log";
import { ATTEMPT_RETENTION_DAYS } from "./routes/events";
import { createApp } from "./routes/app";

export { SessionObject } from "./sessions/session-object";
export { HistoryWriter } from "./db/history-writer";
export { MachineIndex } from "./sessions/machine-index";
export { RecoveryJob } from "./webhooks/recovery";

const app = createApp();

export default {
  fetch: app.fetch,

  /** Daily housekeeping: delivery attempts older than the documented retention are deleted. */
  async scheduled(_controller, env) {
    const cutoff = Date.now() - ATTEMPT_RETENTION_DAYS * 24 * 60 * 60 * 1000;
    const deleted = await database(env.DB).delete(deliveryAttempts).where(lt(deliveryAttempts.attemptedAt, cutoff)).returning({ id: deliveryAttempts.id });
    log.info("attempt retention", { deleted: deleted.length });
  },
} satisfies ExportedHandler<Env>;
