// How a table's columns in the catalog differ from the layout recorded when it was first
// protected. A changed layout is reported once, as a schema change, rather than as every row
// hashing differently.

import type { TableLayout } from "../catalog/index.js";

export interface SchemaChange {
  /** The table no longer exists (dropped or renamed). */
  readonly tableMissing: boolean;
  /** Columns in the catalog that the recorded layout does not have, in attnum order. */
  readonly columnsAdded: readonly string[];
  /** Recorded columns the catalog no longer has, in recorded order. */
  readonly columnsDropped: readonly string[];
  /** The surviving columns are in a different attnum order. */
  readonly columnsReordered: boolean;
  /** The primary key columns differ (or the table has no primary key any more). */
  readonly primaryKeyChanged: boolean;
  /** One line for people: `column note dropped; column extra added`. */
  readonly message: string;
}

/**
 * Compares the recorded layout with the catalog's (`undefined` when the table is gone, `null`
 * primary key when it has none). Returns undefined when nothing that changes a row's encoding or
 * identity differs. The relation id is not compared: a dump and restore changes it and nothing
 * else.
 */
export function compareLayouts(
  recorded: TableLayout,
  current:
    | { readonly columns: readonly string[]; readonly primaryKey: readonly string[] | null }
    | undefined,
): SchemaChange | undefined {
  if (current === undefined) {
    return {
      tableMissing: true,
      columnsAdded: [],
      columnsDropped: [...recorded.columns],
      columnsReordered: false,
      primaryKeyChanged: true,
      message: `table ${recorded.name} no longer exists`,
    };
  }
  const currentSet = new Set(current.columns);
  const recordedSet = new Set(recorded.columns);
  const columnsAdded = current.columns.filter((column) => !recordedSet.has(column));
  const columnsDropped = recorded.columns.filter((column) => !currentSet.has(column));
  const survivingRecorded = recorded.columns.filter((column) => currentSet.has(column));
  const survivingCurrent = current.columns.filter((column) => recordedSet.has(column));
  const columnsReordered = survivingRecorded.some((column, i) => survivingCurrent[i] !== column);
  const primaryKeyChanged =
    current.primaryKey === null ||
    current.primaryKey.length !== recorded.primaryKey.length ||
    current.primaryKey.some((column, i) => recorded.primaryKey[i] !== column);
  if (
    columnsAdded.length === 0 &&
    columnsDropped.length === 0 &&
    !columnsReordered &&
    !primaryKeyChanged
  ) {
    return undefined;
  }
  const parts: string[] = [];
  if (columnsDropped.length > 0) parts.push(`${plural("column", columnsDropped)} dropped`);
  if (columnsAdded.length > 0) parts.push(`${plural("column", columnsAdded)} added`);
  if (columnsReordered) parts.push("columns reordered");
  if (primaryKeyChanged) {
    const now = current.primaryKey === null ? "none" : `(${current.primaryKey.join(", ")})`;
    parts.push(`primary key changed from (${recorded.primaryKey.join(", ")}) to ${now}`);
  }
  return {
    tableMissing: false,
    columnsAdded,
    columnsDropped,
    columnsReordered,
    primaryKeyChanged,
    message: parts.join("; "),
  };
}

function plural(word: string, names: readonly string[]): string {
  return `${word}${names.length === 1 ? "" : "s"} ${names.join(", ")}`;
}
