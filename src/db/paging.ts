/** Newest-first keyset pagination over `(created_at, id)`, shared by every list. */
import { and, eq, lt, or } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/** A position in a newest-first list: the last row's time and id. */
export interface Cursor {
  createdAt: number;
  id: string;
}

/** The condition for rows that come after `cursor` (none when there is no cursor). */
export function after(cursor: Cursor | null, createdAt: SQLiteColumn, id: SQLiteColumn): SQL | undefined {
  return cursor ? or(lt(createdAt, cursor.createdAt), and(eq(createdAt, cursor.createdAt), lt(id, cursor.id))) : undefined;
}

/** Splits the `limit + 1` rows a query fetched into this page and the cursor of the next one. */
export function paginate<T extends Cursor>(rows: T[], limit: number): { page: T[]; next: Cursor | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null };
}
