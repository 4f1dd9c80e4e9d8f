// From a decoded row to the input of the canonical row encoding.

import type { RowImage } from "../hash/index.js";
import { PostgresError } from "./errors.js";
import { type Relation, type Tuple, UNCHANGED_TOAST } from "./pgoutput.js";

/** True when an UPDATE left a TOASTed column out: the row is not complete without it. */
export function hasUnchangedToast(tuple: Tuple): boolean {
  return tuple.includes(UNCHANGED_TOAST);
}

/**
 * The row image of a streamed row: the Relation's schema, table and column names with the
 * tuple's text values. A tuple with an unchanged-TOAST marker has no complete image.
 */
export function tupleRowImage(relation: Relation, tuple: Tuple): RowImage {
  const values = tuple.map((value, index) => {
    if (value === UNCHANGED_TOAST) {
      throw new PostgresError(
        "WITNZ_POSTGRES_INVALID",
        `column ${relation.columns[index]?.name} of ${relation.schema}.${relation.table} is an ` +
          "unchanged TOAST value that pgoutput did not send; the row image is incomplete",
      );
    }
    return value;
  });
  return {
    schema: relation.schema,
    table: relation.table,
    columns: relation.columns.map((column) => column.name),
    values,
  };
}
