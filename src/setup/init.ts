// `witnz init`: check that PostgreSQL can feed this node, then create the publication and the
// node's own slot and record each protected table's layout and the slot's position (the capture
// baseline). Every check runs and reports; nothing is created unless all of them pass. A second
// run finds everything in place and changes nothing.

import type pg from "pg";
import { stageCaptureBaseline } from "../capture/index.js";
import {
  CatalogError,
  decodeTableLayout,
  encodeTableLayout,
  replicationCheck,
  resolveTable,
  type TableLayout,
  tableLayoutMetaName,
} from "../catalog/index.js";
import type { DatabaseConfig, WitnzConfig } from "../config/index.js";
import {
  ensurePublication,
  ensureReplicationSlot,
  formatLsn,
  type Lsn,
  publicationNameForNode,
  qualifiedTableName,
  type SlotResult,
  slotNameForNode,
} from "../postgres/index.js";
import { isStoreError, openStore, type WitnzStore } from "../store/index.js";
import { openDatabaseSession, serverAddress } from "./connection.js";
import { SetupError } from "./errors.js";

/** A warning lets init go on; any failure stops it before anything is created. */
export type CheckStatus = "ok" | "warn" | "fail";

export interface InitCheck {
  readonly status: CheckStatus;
  /** One line, without the status: `wal_level = logical`. */
  readonly text: string;
}

export interface InitResult {
  /** Every check passed and everything was created or already in place. */
  readonly ok: boolean;
  readonly checks: readonly InitCheck[];
  /** Something was created or changed (publication, slot, a recorded layout). */
  readonly changed: boolean;
  /** The protected tables as the catalog describes them (those that resolved). */
  readonly layouts: readonly TableLayout[];
}

export interface InitOptions {
  /** Receives each check as soon as it is known, already formatted (`ok   wal_level = logical`). */
  readonly out?: (line: string) => void;
}

/** `ok   text`, `WARN text` or `FAIL text`: the status column is four characters wide. */
export function formatCheck(check: InitCheck): string {
  const label = { ok: "ok  ", warn: "WARN", fail: "FAIL" }[check.status];
  return `${label} ${check.text}`;
}

/**
 * Commits the layouts not yet recorded and the slot's position as the capture baseline (when the
 * store knows no position). A node's first start that records its own position meanwhile makes
 * the commit conflict: staged again, the store's position is kept. Undefined after a second
 * conflict.
 */
async function recordLayoutsAndBaseline(
  store: WitnzStore,
  unrecorded: readonly TableLayout[],
  baseline: Lsn | null,
): Promise<{ baselineRecorded: boolean } | undefined> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    const batch = store.batch();
    for (const layout of unrecorded) {
      batch.setMeta(tableLayoutMetaName(layout.name), encodeTableLayout(layout));
    }
    const baselineRecorded = baseline !== null && stageCaptureBaseline(store, batch, baseline);
    try {
      // A batch with nothing staged writes nothing.
      await store.commit(batch);
      return { baselineRecorded };
    } catch (error) {
      if (!isStoreError(error, "WITNZ_STORE_CONFLICT")) throw error;
    }
  }
  return undefined;
}

/**
 * Runs every check against the configured database and, when all pass, creates what is missing.
 * An unreachable database or an unusable configuration throws a SetupError; failed checks are
 * data in the result.
 */
export async function initNode(
  config: WitnzConfig,
  options: InitOptions = {},
): Promise<InitResult> {
  const database = requireDatabase(config);
  const checks: InitCheck[] = [];
  const report = (status: CheckStatus, text: string): void => {
    const check = { status, text };
    checks.push(check);
    options.out?.(formatCheck(check));
  };
  const slotName = slotNameForNode(config.node.id);
  const client = await openDatabaseSession(database);
  let changed = false;
  const layouts: TableLayout[] = [];
  try {
    report("ok", await describeServer(client, database));
    await checkWalLevel(client, report);
    await checkSlots(client, slotName, report);
    await checkWalSenders(client, slotName, report);
    const role = await checkRole(client, report);
    layouts.push(...(await checkTables(client, config, role, report)));
    if (checks.some((check) => check.status === "fail")) {
      return { ok: false, checks, changed, layouts };
    }

    let store: WitnzStore;
    try {
      store = await openStore(config.node.dataDir);
    } catch (error) {
      report("fail", `store ${config.node.dataDir}: ${(error as Error).message}`);
      return { ok: false, checks, changed, layouts };
    }
    try {
      const unrecorded = checkRecordedLayouts(store, layouts, report);
      if (checks.some((check) => check.status === "fail")) {
        return { ok: false, checks, changed, layouts };
      }
      await warnOfRowsBeforeProtection(client, unrecorded, report);
      const publication = publicationNameForNode(config.node.id);
      changed = (await createPublication(client, publication, layouts, report)) || changed;
      if (checks.some((check) => check.status === "fail")) {
        return { ok: false, checks, changed, layouts };
      }
      const slot = await createSlot(client, slotName, report);
      if (slot === undefined || checks.some((check) => check.status === "fail")) {
        return { ok: false, checks, changed, layouts };
      }
      changed = slot.created || changed;
      // From here on a dropped or advanced slot is a gap, even before the node first starts.
      // A slot someone else is still creating has no position yet: the node takes it then.
      const baseline = slot.slot.confirmedFlushLsn;
      const recorded = await recordLayoutsAndBaseline(store, unrecorded, baseline);
      if (recorded === undefined) {
        report(
          "fail",
          `store ${config.node.dataDir}: its capture position changed twice while init recorded the layouts and baseline; nothing was recorded, and running witnz init again is safe`,
        );
        return { ok: false, checks, changed, layouts };
      }
      for (const layout of unrecorded) {
        report("ok", `layout of ${layout.name} recorded in ${config.node.dataDir}`);
      }
      if (recorded.baselineRecorded && baseline !== null) {
        report("ok", `capture baseline ${formatLsn(baseline)} (the slot's position) recorded`);
      }
      changed = changed || unrecorded.length > 0 || recorded.baselineRecorded;
      if (baseline === null) {
        report(
          "ok",
          `slot ${slotName} is still being created elsewhere (no position yet): the node records its capture baseline when it first starts`,
        );
      }
    } finally {
      await store.close();
    }
    return { ok: true, checks, changed, layouts };
  } finally {
    await client.end().catch(() => {});
  }
}

function requireDatabase(config: WitnzConfig): DatabaseConfig {
  if (config.database === undefined) {
    throw new SetupError(
      "WITNZ_SETUP_CONFIG",
      `node ${config.node.id} is a ${config.node.role} node with no database; init runs on raft nodes`,
    );
  }
  if (config.protectedTables.length === 0) {
    throw new SetupError(
      "WITNZ_SETUP_CONFIG",
      "no protected_tables in the configuration: list the tables this node protects",
    );
  }
  return config.database;
}

type Report = (status: CheckStatus, text: string) => void;

async function setting(client: pg.Client, name: string): Promise<string> {
  const result = await client.query<{ value: string }>(
    "SELECT pg_catalog.current_setting($1) AS value",
    [name],
  );
  return result.rows[0]!.value;
}

async function describeServer(client: pg.Client, database: DatabaseConfig): Promise<string> {
  const version = await setting(client, "server_version");
  return `connected to ${serverAddress(database)}, database ${database.database}, as ${database.user} (PostgreSQL ${version})`;
}

async function checkWalLevel(client: pg.Client, report: Report): Promise<void> {
  const walLevel = await setting(client, "wal_level");
  if (walLevel === "logical") {
    report("ok", "wal_level = logical");
  } else {
    report(
      "fail",
      `wal_level = ${walLevel}, must be logical: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL`,
    );
  }
}

async function checkSlots(client: pg.Client, slotName: string, report: Report): Promise<void> {
  const result = await client.query<{ max: number; used: number; ours: boolean }>(
    `SELECT pg_catalog.current_setting('max_replication_slots')::int AS max,
            (SELECT count(*) FROM pg_catalog.pg_replication_slots)::int AS used,
            EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1) AS ours`,
    [slotName],
  );
  const { max, used, ours } = result.rows[0]!;
  if (ours) {
    report("ok", `max_replication_slots = ${max} (${used} in use, ${slotName} among them)`);
  } else if (used < max) {
    report("ok", `max_replication_slots = ${max} (${used} in use, one free for ${slotName})`);
  } else {
    report(
      "fail",
      `max_replication_slots = ${max}, all ${used} in use: raise it (ALTER SYSTEM SET max_replication_slots = ${max + 1}) and restart PostgreSQL, or drop an unused slot`,
    );
  }
}

async function checkWalSenders(client: pg.Client, slotName: string, report: Report): Promise<void> {
  const result = await client.query<{ max: number; used: number; ours: boolean }>(
    `SELECT pg_catalog.current_setting('max_wal_senders')::int AS max,
            (SELECT count(*) FROM pg_catalog.pg_stat_activity
              WHERE backend_type = 'walsender')::int AS used,
            EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots
                     WHERE slot_name = $1 AND active) AS ours`,
    [slotName],
  );
  const { max, used, ours } = result.rows[0]!;
  if (ours || used < max) {
    report("ok", `max_wal_senders = ${max} (${used} in use)`);
  } else {
    report(
      "fail",
      `max_wal_senders = ${max}, all ${used} in use: raise it (ALTER SYSTEM SET max_wal_senders = ${max + 1}) and restart PostgreSQL`,
    );
  }
}

async function checkRole(client: pg.Client, report: Report): Promise<string> {
  const result = await client.query<{ name: string; replication: boolean; superuser: boolean }>(
    `SELECT rolname AS name, rolreplication AS replication, rolsuper AS superuser
       FROM pg_catalog.pg_roles WHERE rolname = current_user`,
  );
  const role = result.rows[0]!;
  if (role.superuser) {
    report("ok", `role ${role.name} is a superuser (replication allowed)`);
  } else if (role.replication) {
    report("ok", `role ${role.name} has REPLICATION`);
  } else {
    report(
      "fail",
      `role ${role.name} has neither REPLICATION nor superuser: run ALTER ROLE ${quoteRole(role.name)} WITH REPLICATION`,
    );
  }
  return role.name;
}

function quoteRole(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`;
}

async function checkTables(
  client: pg.Client,
  config: WitnzConfig,
  role: string,
  report: Report,
): Promise<TableLayout[]> {
  const layouts: TableLayout[] = [];
  const configuredAs = new Map<string, string>();
  for (const table of config.protectedTables) {
    let layout: TableLayout;
    try {
      layout = await resolveTable(client, table.name);
    } catch (error) {
      if (error instanceof CatalogError) {
        report("fail", error.message);
        continue;
      }
      throw error;
    }
    const earlier = configuredAs.get(layout.name);
    if (earlier !== undefined) {
      report(
        "fail",
        `protected tables ${earlier} and ${table.name} are the same table ${layout.name}`,
      );
      continue;
    }
    configuredAs.set(layout.name, table.name);
    const privilege = await client.query<{ allowed: boolean }>(
      "SELECT pg_catalog.has_table_privilege($1::oid, 'SELECT') AS allowed",
      [layout.relationId],
    );
    if (!privilege.rows[0]!.allowed) {
      report(
        "fail",
        `table ${layout.name}: role ${role} cannot SELECT it, which verification needs: run GRANT SELECT ON ${layout.name} TO ${quoteRole(role)}`,
      );
      continue;
    }
    const { problem, warning } = await replicationCheck(client, layout);
    if (problem !== undefined) {
      report("fail", problem);
      continue;
    }
    report(
      "ok",
      `table ${layout.name}: ${layout.columns.length} ${layout.columns.length === 1 ? "column" : "columns"}, primary key (${layout.primaryKey.join(", ")}), readable`,
    );
    if (warning !== undefined) report("warn", warning);
    layouts.push(layout);
  }
  return layouts;
}

/**
 * Rows a table holds when it is first protected were written before any slot saw them: no chain
 * holds them, and verify reports each one as phantom. Init goes on (the table may be meant to
 * start that way), but says so.
 */
async function warnOfRowsBeforeProtection(
  client: pg.Client,
  layouts: readonly TableLayout[],
  report: Report,
): Promise<void> {
  for (const layout of layouts) {
    const result = await client.query<{ any: boolean }>(
      // ONLY: rows of inheritance children are theirs, as the publication and verify see it.
      `SELECT EXISTS (SELECT 1 FROM ONLY ${qualifiedTableName(layout.schema, layout.table)}) AS any`,
    );
    if (result.rows[0]!.any) {
      report(
        "warn",
        `table ${layout.name} already holds rows: they were written before protection began, no chain holds them, and witnz verify will report each as phantom (protect a table before writing to it)`,
      );
    }
  }
}

/**
 * A layout already in the store must match the catalog: rewriting it would hide a schema change
 * from verification. Returns the layouts not recorded yet.
 */
function checkRecordedLayouts(
  store: WitnzStore,
  layouts: readonly TableLayout[],
  report: Report,
): TableLayout[] {
  const unrecorded: TableLayout[] = [];
  for (const layout of layouts) {
    const bytes = store.meta(tableLayoutMetaName(layout.name));
    if (bytes === undefined) {
      unrecorded.push(layout);
      continue;
    }
    const recorded = decodeTableLayout(bytes);
    const describe = (shape: TableLayout): string =>
      `columns (${shape.columns.join(", ")}), primary key (${shape.primaryKey.join(", ")})`;
    if (describe(recorded) === describe(layout)) {
      report("ok", `layout of ${layout.name} already recorded (unchanged)`);
    } else {
      report(
        "fail",
        `table ${layout.name} changed since it was first protected: recorded ${describe(recorded)}, now ${describe(layout)}; run witnz verify to see what changed`,
      );
    }
  }
  return unrecorded;
}

async function createPublication(
  client: pg.Client,
  name: string,
  layouts: readonly TableLayout[],
  report: Report,
): Promise<boolean> {
  const count = `${layouts.length} ${layouts.length === 1 ? "table" : "tables"}`;
  try {
    const result = await ensurePublication(client, name, layouts);
    if (result.created) report("ok", `publication ${name} created over ${count}`);
    else if (result.changed) report("ok", `publication ${name} changed to list exactly ${count}`);
    else report("ok", `publication ${name} already lists exactly ${count} (unchanged)`);
    return result.created || result.changed;
  } catch (error) {
    report("fail", `publication ${name}: ${(error as Error).message}`);
    return false;
  }
}

async function createSlot(
  client: pg.Client,
  slotName: string,
  report: Report,
): Promise<SlotResult | undefined> {
  try {
    const result = await ensureReplicationSlot(client, slotName);
    report(
      "ok",
      result.created ? `slot ${slotName} created` : `slot ${slotName} already exists (unchanged)`,
    );
    return result;
  } catch (error) {
    report("fail", `slot ${slotName}: ${(error as Error).message}`);
    return undefined;
  }
}
