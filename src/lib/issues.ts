import type { z } from "zod";

/**
 * Whether a zod issue is a missing field rather than a wrong type. zod 4 drops `issue.input`
 * unless asked to report it, but its message still says what it received.
 */
export function isMissing(issue: z.core.$ZodIssue): boolean {
  if (issue.code !== "invalid_type") return false;
  return "input" in issue ? issue.input === undefined : / received undefined$/.test(issue.message);
}
