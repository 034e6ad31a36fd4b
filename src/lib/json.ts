/**
 * JSON bodies of the tenant and operator APIs, parsed so that no decimal a tenant sends passes
 * through a binary float: every money (or decimal setting) number is kept as the exact text the
 * tenant wrote, as `src/spark/json.ts` does for Spark. `9007199254740993` stays
 * `"9007199254740993"` and `0.30000000000000004` keeps its 17 decimals, so the money rules judge
 * what was written instead of a rounded double.
 */

/**
 * Keys whose JSON numbers are decimals read exactly: money in major units and the decimal
 * settings that are accepted "as decimal strings or JSON numbers, like money" (CONTRACT §5, §7.7).
 * Their schemas accept decimal strings, so the kept text goes through the same rules as a string.
 */
export const DECIMAL_KEYS: ReadonlySet<string> = new Set(["amount", "preAuthAmount", "defaultPreAuthAmount", "unitPrice", "quantity", "retailFactor", "vatPercent"]);

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const keepDecimalText: Reviver = (key, value, context) =>
  typeof value === "number" && DECIMAL_KEYS.has(key) && context?.source !== undefined ? context.source : value;

/**
 * Parses a tenant or operator request body, keeping the source text of every number under a
 * {@link DECIMAL_KEYS} key. Throws `SyntaxError` on malformed JSON, like `JSON.parse`.
 */
export function parseTenantJson(text: string): unknown {
  return JSON.parse(text, keepDecimalText as (key: string, value: unknown) => unknown);
}
