// What Witnz knows about a protected table: its identity, its columns in attnum order and its
// primary key, read from the PostgreSQL catalog and kept in the store so that capture and
// verification encode rows the same way.
import type pg from "pg";

export type CatalogErrorCode =
  | "WITNZ_TABLE_NOT_FOUND"
  | "WITNZ_TABLE_NO_PRIMARY_KEY"
  | "WITNZ_TABLE_UNSUPPORTED"
  | "WITNZ_TABLE_NAME_INVALID"
  | "WITNZ_TABLE_LAYOUT_INVALID";

export class CatalogError extends Error {
  readonly code: CatalogErrorCode;
  constructor(code: CatalogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CatalogError";
    this.code = code;
  }
}

export interface TableLayout {
  /** How Witnz names the table everywhere (store keys, checkpoints, reports): `schema.table`,
   *  each part quoted only where PostgreSQL would need it (`public.audit_log`, `"Audit"."Log"`). */
  readonly name: string;
  readonly schema: string;
  readonly table: string;
  readonly relationId: number;
  /** Column names in attnum order, dropped and generated columns excluded (what pgoutput sends). */
  readonly columns: readonly string[];
  /** Primary key column names in key order. */
  readonly primaryKey: readonly string[];
}

const SIMPLE_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/** quote_ident: quotes only when the name is not a plain lower-case identifier. */
export function displayIdentifier(name: string): string {
  return SIMPLE_IDENTIFIER.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

export function tableDisplayName(schema: string, table: string): string {
  return `${displayIdentifier(schema)}.${displayIdentifier(table)}`;
}

/**
 * Resolves a configured table name (`audit_log`, `billing.orders`, `"Audit"."Log Entries"`) the
 * way PostgreSQL parses it; an unqualified name lives in `public`.
 */
export async function resolveTable(
  client: pg.Client,
  configuredName: string,
): Promise<TableLayout> {
  let parts: string[];
  try {
    const parsed = await client.query<{ parts: string[] }>("SELECT parse_ident($1) AS parts", [
      configuredName,
    ]);
    parts = parsed.rows[0]!.parts;
  } catch (error) {
    throw new CatalogError(
      "WITNZ_TABLE_NAME_INVALID",
      `${JSON.stringify(configuredName)} is not a table name: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (parts.length > 2) {
    throw new CatalogError(
      "WITNZ_TABLE_NAME_INVALID",
      `${JSON.stringify(configuredName)} has ${parts.length} parts; write table or schema.table`,
    );
  }
  const [schema, table] = parts.length === 2 ? [parts[0]!, parts[1]!] : ["public", parts[0]!];
  const name = tableDisplayName(schema, table);
  const found = await client.query<{ oid: number; relkind: string }>(
    `SELECT c.oid::int8 AS oid, c.relkind FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
  );
  const relation = found.rows[0];
  if (relation === undefined) {
    throw new CatalogError("WITNZ_TABLE_NOT_FOUND", `table ${name} does not exist`);
  }
  const unsupported = unsupportedRelation(name, relation.relkind);
  if (unsupported !== undefined) throw new CatalogError("WITNZ_TABLE_UNSUPPORTED", unsupported);
  const relationId = Number(relation.oid);
  const columns = await client.query<{ attname: string }>(
    `SELECT attname FROM pg_catalog.pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
      ORDER BY attnum`,
    [relationId],
  );
  const primaryKey = await client.query<{ attname: string }>(
    // The key columns only: INCLUDE columns follow them in indkey (indnkeyatts counts the key).
    `SELECT a.attname FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid
        AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
      WHERE i.indrelid = $1 AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [relationId],
  );
  if (primaryKey.rows.length === 0) {
    throw new CatalogError(
      "WITNZ_TABLE_NO_PRIMARY_KEY",
      `table ${name} has no primary key; Witnz identifies rows by primary key (add one, e.g. ALTER TABLE ${name} ADD PRIMARY KEY (id))`,
    );
  }
  return {
    name,
    schema,
    table,
    relationId,
    columns: columns.rows.map((row) => row.attname),
    primaryKey: primaryKey.rows.map((row) => row.attname),
  };
}

const RELATION_KINDS: Record<string, string> = {
  v: "a view",
  m: "a materialized view",
  f: "a foreign table",
  S: "a sequence",
  i: "an index",
  I: "a partitioned index",
  c: "a composite type",
  t: "a TOAST table",
};

/** Why a relation is no table Witnz can read as one; undefined for an ordinary table. */
function unsupportedRelation(name: string, relkind: string): string | undefined {
  if (relkind === "p") {
    return `table ${name} is partitioned: its rows live in its partitions, whose changes logical replication reports under their own names; protect each partition instead`;
  }
  if (relkind !== "r") {
    return `${name} is ${RELATION_KINDS[relkind] ?? `a relation of kind ${relkind}`}, not a table; Witnz protects tables`;
  }
  return undefined;
}

/**
 * What logical replication makes of a table, read in one query: `problem` when it cannot report
 * the table's changes (UNLOGGED, temporary, a system catalog: protecting it would record
 * nothing); `warning` when its replica identity costs protection something (with NOTHING,
 * PostgreSQL refuses its UPDATEs and DELETEs once it is published; with an index that does not
 * cover the primary key, UPDATE and DELETE violations cannot name the row).
 */
export async function replicationCheck(
  client: pg.Client,
  layout: TableLayout,
): Promise<{ readonly problem?: string; readonly warning?: string }> {
  const found = await client.query<{
    persistence: string;
    identity: string;
    columns: string[] | null;
  }>(
    `SELECT c.relpersistence AS persistence, c.relreplident AS identity,
            (SELECT array_agg(a.attname::text) FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid
                AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
              WHERE i.indrelid = c.oid AND i.indisreplident) AS columns
       FROM pg_catalog.pg_class c WHERE c.oid = $1`,
    [layout.relationId],
  );
  const row = found.rows[0];
  const name = layout.name;
  if (row?.persistence === "u") {
    return {
      problem: `table ${name} is UNLOGGED: its changes are not written to the WAL, so logical replication never sees them (ALTER TABLE ${name} SET LOGGED)`,
    };
  }
  if (row?.persistence === "t") {
    return { problem: `table ${name} is temporary: logical replication never sees its changes` };
  }
  if (layout.schema === "pg_catalog" || layout.schema === "information_schema") {
    return { problem: `table ${name} is a system catalog, which cannot be published` };
  }
  if (row?.identity === "n") {
    return {
      warning: `table ${name} has REPLICA IDENTITY NOTHING: once it is published, PostgreSQL refuses its UPDATEs and DELETEs (ALTER TABLE ${name} REPLICA IDENTITY DEFAULT)`,
    };
  }
  if (
    row?.identity === "i" &&
    !layout.primaryKey.every((column) => row.columns?.includes(column))
  ) {
    return {
      warning: `table ${name}: its replica identity index does not cover its primary key, so UPDATE and DELETE violations cannot name the row (ALTER TABLE ${name} REPLICA IDENTITY DEFAULT)`,
    };
  }
  return {};
}

/** Store meta name under which a table's layout is kept. */
export function tableLayoutMetaName(name: string): string {
  return `table-layout:${name}`;
}

export function encodeTableLayout(layout: TableLayout): Uint8Array {
  return Buffer.from(JSON.stringify(layout), "utf8");
}

export function decodeTableLayout(bytes: Uint8Array): TableLayout {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new CatalogError("WITNZ_TABLE_LAYOUT_INVALID", "stored table layout is not JSON", {
      cause: error,
    });
  }
  const layout = value as TableLayout;
  const strings = (list: unknown): boolean =>
    Array.isArray(list) && list.every((item) => typeof item === "string");
  if (
    typeof layout?.name !== "string" ||
    typeof layout.schema !== "string" ||
    typeof layout.table !== "string" ||
    typeof layout.relationId !== "number" ||
    !strings(layout.columns) ||
    !strings(layout.primaryKey)
  ) {
    throw new CatalogError("WITNZ_TABLE_LAYOUT_INVALID", "stored table layout is malformed");
  }
  return layout;
}

/** Positions of the primary key columns within `columns`. */
export function primaryKeyPositions(layout: TableLayout): number[] {
  return layout.primaryKey.map((column) => {
    const position = layout.columns.indexOf(column);
    if (position < 0) {
      throw new CatalogError(
        "WITNZ_TABLE_LAYOUT_INVALID",
        `primary key column ${column} is not a column of ${layout.name}`,
      );
    }
    return position;
  });
}
