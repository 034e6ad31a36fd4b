/**
 * OCPI JSON with exact numbers: every number is kept as the text the sender wrote (a
 * `JSON.rawJSON` leaf), so `4.3240` and `0.30000000000000004` survive parsing, storage and
 * re-serialization unchanged, and no amount ever passes through a binary float.
 */

/** A JSON number as written: `JSON.rawJSON(source)`; `rawJSON` holds the source text. */
export interface RawNumber {
  readonly rawJSON: string;
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const keepNumbers: Reviver = (_key, value, context) =>
  typeof value === "number" && context?.source !== undefined ? JSON.rawJSON(context.source) : value;

/** Parses JSON keeping numbers exact; throws `SyntaxError` on malformed JSON. */
export function parseExactJson(text: string): unknown {
  return JSON.parse(text, keepNumbers as (key: string, value: unknown) => unknown);
}

/** Serializes a value parsed by {@link parseExactJson} (raw numbers come out as written). */
export function exactJson(value: unknown): string {
  return JSON.stringify(value);
}

/** Whether a value is a number leaf produced by {@link parseExactJson}. */
export function isRawNumber(value: unknown): value is RawNumber {
  return JSON.isRawJSON(value) && typeof (value as RawNumber).rawJSON === "string" && /^-?\d/.test((value as RawNumber).rawJSON);
}

/** A number leaf for a decimal literal the gateway writes itself. */
export function rawNumber(literal: string): RawNumber {
  return JSON.rawJSON(literal) as RawNumber;
}

/** A plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !JSON.isRawJSON(value);
}

/** Deepest nesting accepted in a received body: OCPI objects nest a handful of levels. */
export const MAX_JSON_DEPTH = 32;

/** How deeply a parsed value nests (objects and arrays), walked without recursion. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null || JSON.isRawJSON(node)) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}
