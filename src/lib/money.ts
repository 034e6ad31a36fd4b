/**
 * Money inside the gateway is a whole number of minor units held in a `bigint`;
 * at the edges it is a decimal string ("12.25"). No binary float ever holds an amount.
 */

/** Minor units per major unit: Spark's currencies use two decimals (TransactionCallback sends 1500 for 15.00). */
export const MINOR_DIGITS = 2;
const SCALE = 10n ** BigInt(MINOR_DIGITS);

/** An amount in minor units (cents). */
export type Minor = bigint;

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;
const EXPONENT = /^(-)?(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/;

/** Why a decimal could not be read as money. */
export type MoneyProblem = "not_a_decimal" | "negative" | "too_many_decimals";

/**
 * Reads a decimal literal (a JSON number's source text or a string such as "12.25")
 * into minor units, exactly. Exponent forms that JSON allows ("1.5e1") are accepted.
 */
export function parseMoney(text: string): { ok: true; value: Minor } | { ok: false; problem: MoneyProblem } {
  const literal = text.trim();
  let sign = "";
  let whole: string;
  let fraction: string;
  const plain = DECIMAL.exec(literal);
  if (plain) {
    sign = plain[1] ?? "";
    whole = plain[2]!;
    fraction = plain[3] ?? "";
  } else {
    const exp = EXPONENT.exec(literal);
    if (!exp) return { ok: false, problem: "not_a_decimal" };
    sign = exp[1] ?? "";
    const digits = exp[2]! + (exp[3] ?? "");
    const point = exp[2]!.length + Number(exp[4]);
    if (Math.abs(point) > 40) return { ok: false, problem: "not_a_decimal" };
    const padded = point <= 0 ? "0".repeat(1 - point) + digits : digits.padEnd(point, "0");
    const at = Math.max(point, 1);
    whole = padded.slice(0, at);
    fraction = padded.slice(at);
  }
  fraction = fraction.replace(/0+$/, "");
  if (fraction.length > MINOR_DIGITS) return { ok: false, problem: "too_many_decimals" };
  const value = BigInt(whole) * SCALE + BigInt(fraction.padEnd(MINOR_DIGITS, "0") || "0");
  if (sign === "-" && value !== 0n) return { ok: false, problem: "negative" };
  return { ok: true, value };
}

/** Minor units as the gateway's decimal string, always with two decimals: 1225n → "12.25". */
export function formatMoney(value: Minor): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / SCALE;
  const fraction = (abs % SCALE).toString().padStart(MINOR_DIGITS, "0");
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}

/** Minor units as the shortest exact JSON number literal Spark expects: 30n → "0.3", 1500n → "15". */
export function moneyLiteral(value: Minor): string {
  return formatMoney(value).replace(/\.?0+$/, "");
}

/** Parses a gateway decimal string known to be valid (from storage); throws on corruption. */
export function moneyOf(text: string): Minor {
  const parsed = parseMoney(text);
  if (!parsed.ok) throw new Error(`corrupt stored amount: ${text}`);
  return parsed.value;
}
