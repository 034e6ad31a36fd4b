/** Structured JSON logs: one object per line, never a secret in them. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;
export type LogLevel = "info" | "warn" | "error";

const RANK: Record<LogLevel, number> = { info: 0, warn: 1, error: 2 };
let threshold: LogLevel = "info";

/** Drops lines below `level` (from the `LOG_LEVEL` setting); unknown values keep everything. */
export function setLogLevel(level: string | undefined): void {
  threshold = level === "warn" || level === "error" ? level : "info";
}

function emit(level: LogLevel, message: string, fields: LogFields): void {
  if (RANK[level] < RANK[threshold]) return;
  // A field cannot pass itself off as the line's level or message.
  const line = JSON.stringify({ ...{ level, message }, ...fields, level, message });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export const log = {
  info: (message: string, fields: LogFields = {}) => emit("info", message, fields),
  warn: (message: string, fields: LogFields = {}) => emit("warn", message, fields),
  error: (message: string, fields: LogFields = {}) => emit("error", message, fields),
};
