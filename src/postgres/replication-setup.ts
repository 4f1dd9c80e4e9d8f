// The publication (which tables are streamed) and each node's own slot (where it is in the
// WAL). Both are created idempotently on an ordinary session.

import type pg from "pg";
import { asPostgresError, PostgresError } from "./errors.js";
import { qualifiedTableName, quoteIdentifier } from "./identifiers.js";
import { type Lsn, parseLsn } from "./lsn.js";

/** Tables in one publication; each becomes one entry in every Relation cache. */
export const PUBLICATION_TABLES_MAX = 10_000;

export interface TableName {
  readonly schema: string;
  readonly table: string;
}

export interface PublicationResult {
  readonly created: boolean;
  /** True when an existing publication's table list was replaced by the one asked for. */
  readonly changed: boolean;
}

/**
 * Creates `name` over exactly `tables` (all four operations published), or makes an existing
 * publication of that name list exactly those tables.
 */
export async function ensurePublication(
  client: pg.Client,
  name: string,
  tables: readonly TableName[],
): Promise<PublicationResult> {
  if (tables.length === 0 || tables.length > PUBLICATION_TABLES_MAX) {
    throw new PostgresError(
      "WITNZ_POSTGRES_INVALID",
      `a publication needs 1 to ${PUBLICATION_TABLES_MAX} tables, got ${tables.length}`,
    );
  }
  // ONLY: a table's inheritance children are other tables, not published under its name.
  const list = tables
    .map((entry) => `ONLY ${qualifiedTableName(entry.schema, entry.table)}`)
    .join(", ");
  try {
    const existing = await client.query<{ schema: string; table: string }>(
      "SELECT schemaname AS schema, tablename AS table FROM pg_catalog.pg_publication_tables " +
        "WHERE pubname = $1",
      [name],
    );
    const known = await client.query("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1", [
      name,
    ]);
    if (known.rowCount === 0) {
      await client.query(
        `CREATE PUBLICATION ${quoteIdentifier(name)} FOR TABLE ${list} ` +
          "WITH (publish = 'insert, update, delete, truncate')",
      );
      return { created: true, changed: false };
    }
    const want = new Set(tables.map((entry) => JSON.stringify([entry.schema, entry.table])));
    const have = new Set(existing.rows.map((row) => JSON.stringify([row.schema, row.table])));
    const same = want.size === have.size && [...want].every((key) => have.has(key));
    if (same) return { created: false, changed: false };
    await client.query(`ALTER PUBLICATION ${quoteIdentifier(name)} SET TABLE ${list}`);
    return { created: false, changed: true };
  } catch (error) {
    throw asPostgresError(error, "WITNZ_POSTGRES_QUERY", `creating publication ${name}`);
  }
}

/** The tables a publication lists; undefined when there is no such publication. */
export async function readPublicationTables(
  client: pg.Client,
  name: string,
): Promise<TableName[] | undefined> {
  try {
    const known = await client.query("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1", [
      name,
    ]);
    if (known.rowCount === 0) return undefined;
    const listed = await client.query<{ schema: string; table: string }>(
      "SELECT schemaname AS schema, tablename AS table FROM pg_catalog.pg_publication_tables " +
        "WHERE pubname = $1",
      [name],
    );
    return listed.rows;
  } catch (error) {
    throw asPostgresError(error, "WITNZ_POSTGRES_QUERY", `reading publication ${name}`);
  }
}

export async function dropPublication(client: pg.Client, name: string): Promise<void> {
  try {
    await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdentifier(name)}`);
  } catch (error) {
    throw asPostgresError(error, "WITNZ_POSTGRES_QUERY", `dropping publication ${name}`);
  }
}

export interface ReplicationSlotState {
  readonly slotName: string;
  readonly plugin: string | null;
  readonly slotType: string;
  readonly database: string | null;
  /** Whether a WAL sender is streaming from it now, and which. */
  readonly active: boolean;
  readonly activeProcessId: number | null;
  /** WAL kept from here on for this slot. */
  readonly restartLsn: Lsn | null;
  /** What the last reader confirmed as durable; streaming resumes after it. */
  readonly confirmedFlushLsn: Lsn | null;
}

interface SlotRow {
  slot_name: string;
  plugin: string | null;
  slot_type: string;
  database: string | null;
  active: boolean;
  active_pid: number | null;
  restart_lsn: string | null;
  confirmed_flush_lsn: string | null;
}

export async function readReplicationSlot(
  client: pg.Client,
  slotName: string,
): Promise<ReplicationSlotState | undefined> {
  let result: pg.QueryResult<SlotRow>;
  try {
    result = await client.query<SlotRow>(
      "SELECT slot_name, plugin, slot_type, database, active, active_pid, " +
        "restart_lsn::text, confirmed_flush_lsn::text " +
        "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
      [slotName],
    );
  } catch (error) {
    throw asPostgresError(error, "WITNZ_POSTGRES_QUERY", `reading slot ${slotName}`);
  }
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return {
    slotName: row.slot_name,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    active: row.active,
    activeProcessId: row.active_pid,
    restartLsn: row.restart_lsn === null ? null : parseLsn(row.restart_lsn),
    confirmedFlushLsn: row.confirmed_flush_lsn === null ? null : parseLsn(row.confirmed_flush_lsn),
  };
}

export interface SlotResult {
  readonly created: boolean;
  readonly slot: ReplicationSlotState;
}

/**
 * Creates the logical slot `slotName` with pgoutput in the session's database, or checks that
 * the existing one is exactly that. Streaming from a new slot starts at its creation point.
 */
export async function ensureReplicationSlot(
  client: pg.Client,
  slotName: string,
): Promise<SlotResult> {
  const database = await currentDatabase(client);
  let existing = await readReplicationSlot(client, slotName);
  let created = false;
  if (existing === undefined) {
    try {
      await client.query("SELECT pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')", [
        slotName,
      ]);
      created = true;
    } catch (error) {
      // 42710 duplicate_object: another process created it a moment ago; check it below.
      if ((error as { code?: string }).code !== "42710") {
        throw asPostgresError(error, "WITNZ_POSTGRES_QUERY", `creating slot ${slotName}`);
      }
    }
    existing = await readReplicationSlot(client, slotName);
  }
  if (existing === undefined) {
    throw new PostgresError("WITNZ_POSTGRES_QUERY", `slot ${slotName} vanished after creation`);
  }
  if (existing.slotType !== "logical" || existing.plugin !== "pgoutput") {
    throw new PostgresError(
      "WITNZ_POSTGRES_SERVER_CONFIG",
      `slot ${slotName} exists but is ${existing.slotType} with plugin ${existing.plugin}; ` +
        "it must be a logical slot with pgoutput",
    );
  }
  if (existing.database !== database) {
    throw new PostgresError(
      "WITNZ_POSTGRES_SERVER_CONFIG",
      `slot ${slotName} belongs to database ${existing.database}, not ${database}`,
    );
  }
  return { created, slot: existing };
}

export async function dropReplicationSlot(client: pg.Client, slotName: string): Promise<boolean> {
  try {
    const result = await client.query(
      "SELECT pg_catalog.pg_drop_replication_slot(slot_name) " +
        "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
      [slotName],
    );
    return (result.rowCount ?? 0) > 0;
  } catch (error) {
    throw asPostgresError(error, "WITNZ_POSTGRES_QUERY", `dropping slot ${slotName}`);
  }
}

async function currentDatabase(client: pg.Client): Promise<string> {
  const result = await client.query<{ name: string }>(
    "SELECT pg_catalog.current_database() AS name",
  );
  return result.rows[0]!.name;
}
