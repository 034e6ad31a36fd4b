import { ApiError } from "../lib/errors";

import type { Cursor } from "../db/paging";

/** A cursor as clients see it: opaque text. */
export function encodeCursor(cursor: Cursor | null): string | null {
  if (!cursor) return null;
  return btoa(JSON.stringify([cursor.createdAt, cursor.id])).replace(/=+$/, "");
}

export function decodeCursor(text: string | undefined): Cursor | null {
  if (!text) return null;
  try {
    const [createdAt, id] = JSON.parse(atob(text)) as [unknown, unknown];
    if (typeof createdAt === "number" && typeof id === "string") return { createdAt, id };
  } catch {
    // fall through
  }
  throw new ApiError(400, "invalid_cursor", "cursor is not one this API gave out", [{ field: "cursor", message: "invalid" }]);
}
