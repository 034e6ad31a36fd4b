/** Spark fields that carry major-unit money as JSON numbers. */
const MONEY_KEYS = new Set(["Amount", "CancelAmount"]);

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/**
 * Parses a Spark body keeping every money number as the exact text Spark wrote
 * (`10.00` stays `"10.00"`), so no amount ever passes through a binary float.
 * Throws `SyntaxError` on malformed JSON.
 */
export function parseSparkJson(text: string): unknown {
  const keepMoneyText: Reviver = (key, value, context) =>
    MONEY_KEYS.has(key) && typeof value === "number" && context?.source !== undefined ? context.source : value;
  return JSON.parse(text, keepMoneyText as (key: string, value: unknown) => unknown);
}

/** Serializes a Spark body; money fields must already be {@link JSON.rawJSON} literals. */
export function sparkJson(body: object): string {
  return JSON.stringify(body);
}
