import { lt } from "drizzle-orm";
import { database } from "./db/client";
import { deliveryAttempts } from "./db/schema";
import { log } from "./lib/log";
import { ATTEMPT_RETENTION_DAYS } from "./routes/events";
import { createApp } from "./routes/app";
import { runRetention } from "./sessions/retention";

export { SessionObject } from "./sessions/session-object";
export { HistoryWriter } from "./db/history-writer";
export { MachineIndex } from "./sessions/machine-index";
export { RecoveryJob } from "./webhooks/recovery";

const app = createApp();

export default {
  fetch: app.fetch,

  /**
   * Housekeeping on the cron of wrangler.toml: delivery attempts past their retention, then a
   * bounded run of session retention (ended sessions past RETENTION_SECONDS, oldest first).
   */
  async scheduled(_controller, env) {
    const cutoff = Date.now() - ATTEMPT_RETENTION_DAYS * 24 * 60 * 60 * 1000;
    const deleted = await database(env.DB).delete(deliveryAttempts).where(lt(deliveryAttempts.attemptedAt, cutoff)).returning({ id: deliveryAttempts.id });
    log.info("attempt retention", { deleted: deleted.length });
    await runRetention(env);
  },
} satisfies ExportedHandler<Env>;
