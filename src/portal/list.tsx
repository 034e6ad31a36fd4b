/** @jsxImportSource hono/jsx */
/** The pieces of the portal's list pages: tables, the filter form and its fields, and a page of results. */
import type { Child } from "hono/jsx";
import { Pager } from "./layout";
import type { Page } from "./types";

/** A column heading; `[label, "num"]` right-aligns a column of numbers. */
export type Column = string | readonly [label: string, kind: "num"];

/** A table with one heading row and a row per item. */
export function Table<T>(props: { columns: readonly Column[]; items: readonly T[]; row: (item: T) => Child; testId?: string }) {
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>{props.columns.map((c) => (typeof c === "string" ? <th>{c}</th> : <th class={c[1]}>{c[0]}</th>))}</tr>
      </thead>
      <tbody>{props.items.map((item) => props.row(item))}</tbody>
    </table>
  );
}

/** One page of a list: `empty` when nothing matches, else the table; then "Next page" when there is one. Nothing while `page` is null (the API failed). */
export function PagedTable<T>(props: { page: Page<T> | null; empty: string; columns: readonly Column[]; row: (item: T) => Child; testId: string; nextHref: (cursor: string) => string }) {
  const items = props.page?.data ?? [];
  return (
    <>
      {props.page && items.length === 0 ? <p class="empty">{props.empty}</p> : null}
      {items.length > 0 ? <Table columns={props.columns} items={items} row={props.row} testId={props.testId} /> : null}
      <Pager next={props.page?.nextCursor} href={props.nextHref} />
    </>
  );
}

/** The filter form of a list page: a GET to `action` with its fields and a Filter button. */
export function FilterForm(props: { action: string; children?: Child }) {
  return (
    <form class="filters" method="get" action={props.action}>
      {props.children}
      <button type="submit">Filter</button>
    </form>
  );
}

/** A filter that picks one of `choices` (each a value, or `[value, label]`), or "any". */
export function ChoiceFilter(props: { label: string; name: string; selected: string | undefined; choices: ReadonlyArray<string | readonly [value: string, label: string]> }) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">any</option>
        {props.choices.map((choice) => {
          const [value, label] = typeof choice === "string" ? [choice, choice] : choice;
          return (
            <option value={value} selected={props.selected === value}>
              {label}
            </option>
          );
        })}
      </select>
    </label>
  );
}

/** A free-text filter. */
export function TextFilter(props: { label: string; name: string; value: string | undefined; placeholder?: string; numeric?: boolean }) {
  return (
    <label>
      {props.label}
      <input name={props.name} value={props.value ?? ""} inputmode={props.numeric ? "numeric" : undefined} placeholder={props.placeholder} />
    </label>
  );
}
