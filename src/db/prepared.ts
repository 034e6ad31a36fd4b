/**
 * Statements that drizzle builds once, with placeholders, and that are then filled per call:
 * the webhook rows are written for every attempt of every event, and building a drizzle query
 * (walking the table, mapping each value) costs more than filling in its parameters.
 */
import { Param, Placeholder, is, sql } from "drizzle-orm";
import type { Database } from "./client";
import type { SqlQuery } from "../sessions/d1-outbox";

type Placeholders = (name: string) => Placeholder;
type Slot = (values: Record<string, unknown>) => unknown;

/** `build` names each value with `p(name)`; the result turns those values into a statement. */
export function prepared(build: (db: Database, p: Placeholders) => SqlQuery): (db: Database, values: Record<string, unknown>) => SqlQuery {
  let shape: { text: string; slots: Slot[] } | undefined;
  return (db, values) => {
    if (!shape) {
      const { sql: text, params } = build(db, (name) => sql.placeholder(name)).toSQL();
      shape = { text, slots: params.map(slotOf) };
    }
    const { text, slots } = shape;
    const params = slots.map((slot) => slot(values));
    return { toSQL: () => ({ sql: text, params }) };
  };
}

/** Where one parameter comes from: a named value (through its column's encoder), or a constant of the statement. */
function slotOf(param: unknown): Slot {
  if (is(param, Placeholder)) return named(param.name);
  if (is(param, Param) && is(param.value, Placeholder)) {
    const take = named(param.value.name);
    const encoder = param.encoder;
    return encoder ? (values) => encoder.mapToDriverValue(take(values)) : take;
  }
  return () => param;
}

function named(name: string): Slot {
  return (values) => {
    if (!(name in values)) throw new Error(`no value for "${name}"`);
    return values[name];
  };
}
