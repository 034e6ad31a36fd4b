/**
 * OCPI DateTime (CONTRACT §7.2): accepted as `YYYY-MM-DDTHH:MM:SS`, optional fractional seconds,
 * optional `Z` (no designator means UTC); anything else, offsets included, is refused. Written
 * as UTC with `Z` and at most three fractional digits.
 */

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$/;

/** Fractional digits kept for ordering; finer differences than a nanosecond are not ordered. */
const ORDER_DIGITS = 9;

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  fraction: string;
}

function parts(text: string): Parts | null {
  const match = DATE_TIME.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null;
  return { year, month, day, hour, minute, second, fraction: match[7] ?? "" };
}

/** Whether `text` is a DateTime the gateway accepts. */
export function isOcpiDateTime(text: string): boolean {
  return parts(text) !== null;
}

/** A key that sorts like the instants it names (for `last_updated` comparisons); null when invalid. */
export function dateTimeOrderKey(text: string): string | null {
  const p = parts(text);
  if (!p) return null;
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const fraction = p.fraction.padEnd(ORDER_DIGITS, "0").slice(0, ORDER_DIGITS);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}.${fraction}`;
}

/** Milliseconds since the epoch of an accepted DateTime (sub-millisecond digits dropped); null when invalid. */
export function dateTimeMillis(text: string): number | null {
  const p = parts(text);
  if (!p) return null;
  // setUTCFullYear, because Date.UTC reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(p.year, p.month - 1, p.day);
  date.setUTCHours(p.hour, p.minute, p.second, Number(p.fraction.padEnd(3, "0").slice(0, 3)));
  return date.getTime();
}

/** Writes an instant as OCPI DateTime: UTC, `Z`, milliseconds only when not zero (`2024-05-01T10:00:00Z`). */
export function formatOcpiDateTime(millis: number): string {
  return new Date(millis).toISOString().replace(".000Z", "Z");
}

/** An accepted DateTime rewritten in the gateway's form; null when invalid. */
export function normalizeOcpiDateTime(text: string): string | null {
  const millis = dateTimeMillis(text);
  return millis === null ? null : formatOcpiDateTime(millis);
}
