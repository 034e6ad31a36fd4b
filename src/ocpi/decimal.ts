/**
 * Exact decimal arithmetic on bigints, for numbers read from OCPI JSON text and for the
 * amounts of CONTRACT §7.7. A value is `units × 10^-scale`; nothing here uses a float.
 */

/** An exact decimal: `units / 10^scale`, `scale ≥ 0`. */
export interface Decimal {
  units: bigint;
  scale: number;
}

/**
 * Largest exponent accepted in a JSON number: far beyond any OCPI quantity, small enough that
 * expanding it cannot exhaust memory.
 */
export const MAX_DECIMAL_EXPONENT = 400;

const JSON_NUMBER = /^(-)?(0|[1-9]\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Reads a JSON number literal exactly; null when it is not one or its exponent is absurd. */
export function parseDecimal(text: string): Decimal | null {
  const match = JSON_NUMBER.exec(text);
  if (!match) return null;
  const [, sign, whole, fraction = "", exponentText] = match;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > MAX_DECIMAL_EXPONENT) return null;
  let units = BigInt(whole! + fraction);
  let scale = fraction.length - exponent;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: sign ? -units : units, scale };
}

/** Like {@link parseDecimal} but throws on text that is not a number (for values already validated). */
export function decimalOf(text: string): Decimal {
  const value = parseDecimal(text);
  if (!value) throw new Error(`not a decimal: ${text}`);
  return value;
}

/** The shortest exact decimal text: no exponent, no trailing fractional zeros, no "-0" (`15.00` → "15"). */
export function formatDecimal(value: Decimal): string {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${whole}${fraction ? "." + fraction : ""}`;
}

/** A JSON number literal normalized to its shortest exact decimal text; null when not a number. */
export function normalizeDecimal(text: string): string | null {
  const value = parseDecimal(text);
  return value ? formatDecimal(value) : null;
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function add(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: a.units * 10n ** BigInt(scale - a.scale) + b.units * 10n ** BigInt(scale - b.scale), scale };
}

/** `value / 10^digits`, exactly. */
export function shift(value: Decimal, digits: number): Decimal {
  return { units: value.units, scale: value.scale + digits };
}

/** Rounds once to `places` decimals, half away from zero; the result counts units of 10^-places. */
export function roundHalfAwayFromZero(value: Decimal, places: number): bigint {
  if (value.scale <= places) return value.units * 10n ** BigInt(places - value.scale);
  const divisor = 10n ** BigInt(value.scale - places);
  const negative = value.units < 0n;
  const abs = negative ? -value.units : value.units;
  let quotient = abs / divisor;
  if ((abs % divisor) * 2n >= divisor) quotient += 1n;
  return negative ? -quotient : quotient;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. */
export function compareDecimal(a: Decimal, b: Decimal): number {
  const difference = add(a, { units: -b.units, scale: b.scale }).units;
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
