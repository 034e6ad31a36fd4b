// Secrets and optional settings, which `wrangler types` cannot see in wrangler.toml.
declare namespace Cloudflare {
  interface Env {
    /** Bearer token of the operator API. */
    ADMIN_TOKEN?: string;
    /** 32 bytes, base64: seals Spark credentials and webhook secrets at rest. */
    ENCRYPTION_KEY: string;
    /** Comma-separated seconds between webhook attempts after the first. */
    WEBHOOK_RETRY_SCHEDULE?: string;
    /** `info` (default), `warn` or `error`: the lowest level of log line written. */
    LOG_LEVEL?: string;
    /** Deadline of each call to Spark, in milliseconds (default 10000). */
    SPARK_TIMEOUT_MS?: string;
    /** How many history writers share the D1 writes (default 1). */
    HISTORY_WRITERS?: string;
    /** Under load, at most one D1 batch per this many ms per history writer (default 200; 0 sends back to back). */
    HISTORY_BATCH_WINDOW_MS?: string;
    /** How long an authorized session may wait for settlement before it is flagged overdue. */
    SETTLEMENT_WINDOW_SECONDS?: string;
    /** A Device Start session still waiting for a card this long ends `timed_out` (default 900). */
    AWAITING_CARD_TTL_SECONDS?: string;
    /** Comma-separated seconds between re-sends of a call to Spark whose outcome is unknown. */
    SPARK_RESEND_SCHEDULE?: string;
    /** Sessions that ended longer ago than this many seconds are deleted by the scheduled job (default 7776000: 90 days). */
    RETENTION_SECONDS?: string;
    /** Set (to anything) to answer each Spark callback with its stages in `Server-Timing`: profiling only. */
    TIMINGS?: string;
    /** How long calls in doubt are re-sent before the session needs review (default 172800). */
    SPARK_RESEND_HORIZON_SECONDS?: string;
  }
}
