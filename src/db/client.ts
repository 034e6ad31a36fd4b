import { drizzle } from "drizzle-orm/d1";

const instances = new WeakMap<D1Database, ReturnType<typeof drizzle>>();

/** The gateway's D1 database through drizzle; one instance per binding per isolate. */
export function database(d1: D1Database) {
  let db = instances.get(d1);
  if (!db) {
    db = drizzle(d1);
    instances.set(d1, db);
  }
  return db;
}
export type Database = ReturnType<typeof database>;
