/** Spark's device clock format, `yyyyMMddHHmmssSSS`, e.g. `20240205194122328`. */
const DEVICE_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})$/;

/**
 * `20240205194122328` → `2024-02-05T19:41:22.328`: the terminal's local wall-clock time,
 * kept without a zone because Spark does not say which zone the device is in.
 */
export function parseDeviceTime(text: string): string | null {
  const m = DEVICE_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m as unknown as [string, string, string, string, string, string, string, string];
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  // Reject impossible dates (month 13, 31 February) rather than letting Date roll them over.
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return null;
  }
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}`;
}

/** `2024-02-05T19:41:22.328` → `20240205194122328`, the inverse of {@link parseDeviceTime}. */
export function formatDeviceTime(local: string): string {
  return local.replace(/[-T:.]/g, "");
}

/** A UTC instant as `yyyyMMddHHmmssSSS`, the form Spark uses for server times. */
export function deviceTimeOf(date: Date): string {
  return date.toISOString().replace(/[-T:.Z]/g, "");
}

/** The cipher's UTC timestamp, `yyMMddHHmm`. */
export function cipherTime(date: Date): string {
  return date.toISOString().slice(2, 16).replace(/[-T:]/g, "");
}
