// Streams a table's rows as the text COPY prints, on a pinned session, with bounded memory:
// pg-copy-streams hands over chunks as the socket delivers them and stops reading the socket
// while the consumer is busy.

import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import {
  COPY_ROW_BYTES_MAX,
  type CopyRow,
  type CopyRowView,
  CopyTextParser,
} from "./copy-text-parser.js";
import { asPostgresError, PostgresError } from "./errors.js";
import { qualifiedTableName, quoteIdentifier } from "./identifiers.js";
import { isPinnedSession } from "./session.js";

export interface CopyTableOptions {
  readonly rowBytesMax?: number;
}

/**
 * Yields every row of `schema.table` as the values of `columns`, in that order, each as the
 * bytes of the type's text output or null. `client` must come from connectSession, so that
 * TimeZone, DateStyle and the rest are what the capture side uses. Leaving the loop early
 * leaves the session inside COPY: end it.
 */
export async function* copyTableText(
  client: pg.Client,
  schema: string,
  table: string,
  columns: readonly string[],
  options: CopyTableOptions = {},
): AsyncGenerator<CopyRow, void, undefined> {
  const statement = copyStatement(client, schema, table, columns, "copyTableText");
  const parser = new CopyTextParser(columns.length, options.rowBytesMax ?? COPY_ROW_BYTES_MAX);
  const stream = client.query(copyTo(statement));
  const ready: CopyRow[] = [];
  const collect = (row: CopyRow): void => {
    ready.push(row);
  };
  let finished = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // Values come out as plain Uint8Array views, the same type the replication stream yields.
      parser.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), collect);
      for (const row of ready) yield row;
      ready.length = 0;
    }
    parser.end();
    finished = true;
  } catch (error) {
    throw asPostgresError(error, "WITNZ_POSTGRES_COPY", `COPY of ${schema}.${table}`);
  } finally {
    if (!finished) stream.destroy();
  }
}

/**
 * Calls `visit` for every row of `schema.table`, as copyTableText yields them, but as a reused
 * view of offsets (CopyRowView) valid only during the call: no allocation per row and no
 * promise per row. Resolves with the number of rows once COPY has ended. `client` must come
 * from connectSession; a `visit` that throws ends COPY and rejects with its error.
 */
export async function copyTableRows(
  client: pg.Client,
  schema: string,
  table: string,
  columns: readonly string[],
  visit: (row: CopyRowView) => void,
  options: CopyTableOptions = {},
): Promise<number> {
  const statement = copyStatement(client, schema, table, columns, "copyTableRows");
  const parser = new CopyTextParser(columns.length, options.rowBytesMax ?? COPY_ROW_BYTES_MAX);
  const stream = client.query(copyTo(statement));
  let finished = false;
  // The parser's and the visitor's errors pass through as they are; the stream's are COPY's.
  let ownError: unknown;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      try {
        parser.pushRows(chunk, visit);
      } catch (error) {
        ownError = error;
        throw error;
      }
    }
    const rows = parser.end();
    finished = true;
    return rows;
  } catch (error) {
    if (ownError !== undefined && error === ownError) throw error;
    throw asPostgresError(error, "WITNZ_POSTGRES_COPY", `COPY of ${schema}.${table}`);
  } finally {
    if (!finished) stream.destroy();
  }
}

function copyStatement(
  client: pg.Client,
  schema: string,
  table: string,
  columns: readonly string[],
  caller: string,
): string {
  if (!isPinnedSession(client)) {
    throw new PostgresError(
      "WITNZ_POSTGRES_INVALID",
      `${caller} needs a session from connectSession: only it pins the text output settings`,
    );
  }
  const columnList = columns.length === 0 ? "" : ` (${columns.map(quoteIdentifier).join(", ")})`;
  return `COPY ${qualifiedTableName(schema, table)}${columnList} TO STDOUT (FORMAT text)`;
}
