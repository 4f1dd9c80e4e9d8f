// Full verification of one table: stream it with COPY on a pinned session, recompute each row's
// data hash with the recorded layout, and compare it with the chain entry its primary key points
// to. The algorithm and its memory bounds: docs/design/verification.md.

import type pg from "pg";
import { CatalogError, resolveTable, type TableLayout } from "../catalog/index.js";
import { decodePrimaryKey } from "../hash/index.js";
import { type CopyRowView, copyTableRows } from "../postgres/index.js";
import type { WitnzStore } from "../store/index.js";
import { ChainCursor } from "./chain-cursor.js";
import { PrimaryKeyWriter } from "./primary-key-writer.js";
import { RowHasher, sameDigest } from "./row-hasher.js";
import { compareLayouts, type SchemaChange } from "./schema-change.js";
import { SeenBitmap } from "./seen-bitmap.js";

/** A primary key as its text values in key order, always an array (`["42"]`, `["eu", "7"]`). */
export type PrimaryKeyValues = (string | null)[];

export interface TableVerification {
  readonly table: string;
  /** True when no row differs and the layout is unchanged. */
  readonly ok: boolean;
  /** Rows read from the table. */
  readonly rowsChecked: number;
  /** Rows whose primary key is in the chain but whose data hash differs. In scan order. */
  readonly modified: PrimaryKeyValues[];
  /** Chain entries with no row left in the table. In sequence order. */
  readonly deleted: PrimaryKeyValues[];
  /** Rows in the table that the chain never recorded. In scan order. */
  readonly phantom: PrimaryKeyValues[];
  /** Present only when the catalog's layout differs from the recorded one. */
  readonly schemaChange?: SchemaChange;
}

export interface VerifyProgress {
  readonly table: string;
  readonly rowsChecked: number;
  /** The chain's length when the scan began: what a clean table holds (plus later inserts). */
  readonly rowsExpected: number;
  /** True on the last call for this table, when the scan is over. */
  readonly done: boolean;
}

export interface VerifyTableOptions {
  /** Called every `progressIntervalRows` rows and once at the end of the scan. */
  readonly onProgress?: (progress: VerifyProgress) => void;
  readonly progressIntervalRows?: number;
}

export const PROGRESS_INTERVAL_ROWS = 10_000;

/** What the scan can compare, given how the layout changed. */
type ScanMode =
  /** Every recorded column still exists: data hashes are compared. */
  | "rows"
  /** A recorded column is gone but the key columns remain: presence only (deleted, phantom). */
  | "keys"
  /** The key columns (or the table) are gone: nothing to scan. */
  | "none";

/**
 * Verifies `layout` (the layout recorded in the store, not the catalog's) against the table's
 * rows. `client` must come from connectSession. The store is read, never written.
 */
export async function verifyTable(
  store: WitnzStore,
  client: pg.Client,
  layout: TableLayout,
  options: VerifyTableOptions = {},
): Promise<TableVerification> {
  const schemaChange = compareLayouts(layout, await currentShape(client, layout));
  const mode = scanModeFor(layout, schemaChange);
  // The head is read before COPY takes its snapshot: every entry up to it was committed before
  // the snapshot, so a missing row at or below it was really removed.
  const size = store.chainHead(layout.name)?.size ?? 0;
  // When the index holds as many keys as the chain has entries, no key was appended twice, so
  // the index maps every entry's key to that entry: a row whose key is the next entry's key
  // needs no lookup. The head is read again so that no append slipped between the two reads.
  const inOrderSafe =
    store.primaryKeyIndexSize(layout.name) === size &&
    (store.chainHead(layout.name)?.size ?? 0) === size;
  const seen = new SeenBitmap(size);
  const modified: PrimaryKeyValues[] = [];
  const phantomCandidates: { primaryKey: Uint8Array; dataHash: Uint8Array | undefined }[] = [];
  let rowsChecked = 0;

  if (mode !== "none") {
    const scanColumns = mode === "rows" ? layout.columns : layout.primaryKey;
    const primaryKey = new PrimaryKeyWriter(
      layout.primaryKey.map((column) => scanColumns.indexOf(column)),
    );
    const progressIntervalRows = options.progressIntervalRows ?? PROGRESS_INTERVAL_ROWS;
    const hasher = new RowHasher(layout.schema, layout.table, layout.columns);
    const cursor = new ChainCursor(store, layout.name, inOrderSafe ? size : 0);
    const visit = (row: CopyRowView): void => {
      rowsChecked += 1;
      const digest = mode === "rows" ? hasher.digestRow(row) : undefined;
      if (rowsChecked % progressIntervalRows === 0) {
        options.onProgress?.({ table: layout.name, rowsChecked, rowsExpected: size, done: false });
      }
      // The common case: the row is the next entry, found by its data hash alone.
      if (digest !== undefined && cursor.nextDataHashMatches(digest)) {
        const seq = cursor.expectedSeq;
        cursor.advance();
        // A second row identical to one already matched (the key constraint was dropped).
        if (seen.mark(seq)) {
          primaryKey.write(row);
          phantomCandidates.push({
            primaryKey: primaryKey.bytes(),
            dataHash: Buffer.from(digest, "latin1"),
          });
        }
        return;
      }
      primaryKey.write(row);
      let seq = cursor.peek();
      // Whether the row's data hash is the entry's; only read when seq is set and digest is.
      let hashMatches = false;
      if (seq !== undefined && cursor.primaryKeyMatches(primaryKey)) {
        if (digest !== undefined) hashMatches = cursor.dataHashMatches(digest);
        cursor.advance();
      } else {
        seq = store.sequenceForPrimaryKey(layout.name, primaryKey.bytes());
        if (seq !== undefined && seq <= size) cursor.resumeAfter(seq);
        if (seq !== undefined && digest !== undefined) {
          hashMatches = sameDigest(digest, store.chainEntry(layout.name, seq)?.dataHash);
        }
      }
      // Not in the chain, or a second row with a key already matched (the key constraint was
      // dropped): a row the chain never recorded.
      if (seq === undefined || (seq <= size && seen.mark(seq))) {
        phantomCandidates.push({
          primaryKey: primaryKey.bytes(),
          dataHash: digest === undefined ? undefined : Buffer.from(digest, "latin1"),
        });
      } else if (digest !== undefined && !hashMatches) {
        modified.push(decodePrimaryKey(primaryKey.bytes()));
      }
    };
    await copyTableRows(client, layout.schema, layout.table, scanColumns, visit);
  }
  options.onProgress?.({ table: layout.name, rowsChecked, rowsExpected: size, done: true });

  // A candidate may be a row committed before the snapshot that capture had not yet recorded when
  // the head was read; look again now that the scan is over.
  const phantom: PrimaryKeyValues[] = [];
  for (const candidate of phantomCandidates) {
    const seq = store.sequenceForPrimaryKey(layout.name, candidate.primaryKey);
    const caughtUp =
      seq !== undefined &&
      seq > size &&
      (candidate.dataHash === undefined ||
        sameHash(store.chainEntry(layout.name, seq)?.dataHash, candidate.dataHash));
    if (!caughtUp) phantom.push(decodePrimaryKey(candidate.primaryKey));
  }

  const deleted: PrimaryKeyValues[] = [];
  if (mode !== "none") {
    for (const seq of seen.unmarked()) {
      const entry = store.chainEntry(layout.name, seq);
      if (entry === undefined) continue;
      // Under append-only, a key deleted and inserted again has a newer entry, which the index
      // points to; the older one is superseded (capture logged the DELETE as a violation), not a
      // deleted row. Only the entry the index names can be deleted.
      if (store.sequenceForPrimaryKey(layout.name, entry.primaryKey) !== seq) continue;
      deleted.push(decodePrimaryKey(entry.primaryKey));
    }
  }

  const ok =
    schemaChange === undefined &&
    modified.length === 0 &&
    deleted.length === 0 &&
    phantom.length === 0;
  return {
    table: layout.name,
    ok,
    rowsChecked,
    modified,
    deleted,
    phantom,
    ...(schemaChange === undefined ? {} : { schemaChange }),
  };
}

function scanModeFor(layout: TableLayout, change: SchemaChange | undefined): ScanMode {
  if (change === undefined) return "rows";
  if (change.tableMissing) return "none";
  if (layout.primaryKey.some((column) => change.columnsDropped.includes(column))) return "none";
  return change.columnsDropped.length === 0 ? "rows" : "keys";
}

/** The table's columns and primary key in the catalog now; undefined when it is gone. */
async function currentShape(
  client: pg.Client,
  layout: TableLayout,
): Promise<{ columns: readonly string[]; primaryKey: readonly string[] | null } | undefined> {
  try {
    const current = await resolveTable(client, layout.name);
    return { columns: current.columns, primaryKey: current.primaryKey };
  } catch (error) {
    if (!(error instanceof CatalogError)) throw error;
    // Gone, or replaced by something that is no table (a view of the same name): either way the
    // recorded table is missing, and every recorded row with it.
    if (error.code === "WITNZ_TABLE_NOT_FOUND" || error.code === "WITNZ_TABLE_UNSUPPORTED") {
      return undefined;
    }
    if (error.code !== "WITNZ_TABLE_NO_PRIMARY_KEY") throw error;
    const columns = await client.query<{ attname: string }>(
      `SELECT a.attname FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = (SELECT c.oid FROM pg_catalog.pg_class c
                              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = $1 AND c.relname = $2)
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        ORDER BY a.attnum`,
      [layout.schema, layout.table],
    );
    return { columns: columns.rows.map((row) => row.attname), primaryKey: null };
  }
}

function sameHash(left: Uint8Array | undefined, right: Uint8Array): boolean {
  if (left === undefined || left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  return true;
}
