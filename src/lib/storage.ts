/** Helpers for a Durable Object's SQLite storage. */

/** Whether a table exists yet: tables a session rarely needs are created on their first use. */
export function tableExists(sql: SqlStorage, name: string): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
}
