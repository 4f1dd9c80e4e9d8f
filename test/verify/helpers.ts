// Shared by the init and verify tests: configuration files, the real binary, and a stand-in for
// capture that records a table's rows into the store the way capture will.

import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type pg from "pg";
import type { TableLayout } from "../../src/catalog/index.js";
import {
  chainHash,
  dataHash,
  encodePrimaryKey,
  encodeRow,
  GENESIS_CHAIN_HASH,
} from "../../src/hash/index.js";
import { copyTableText, type TestPostgres } from "../../src/postgres/index.js";
import type { WitnzStore } from "../../src/store/index.js";

/**
 * Stand-in for capture until it lands: appends one chain entry per row, read once with COPY,
 * following the contract capture writes to (data hash over the recorded layout's columns in
 * attnum order, primary key bytes from the key columns in key order, PK index to seq). Rows
 * already in the chain are appended again, so call it once per table, or with `rows` to
 * record just those (as capture would record an INSERT).
 */
export async function recordRowsAsCapture(
  store: WitnzStore,
  client: pg.Client,
  layout: TableLayout,
  filter?: (primaryKey: (string | null)[]) => boolean,
): Promise<number> {
  const keyPositions = layout.primaryKey.map((column) => layout.columns.indexOf(column));
  let batch = store.batch();
  let head = store.chainHead(layout.name) ?? { size: 0, chainHash: GENESIS_CHAIN_HASH };
  let appended = 0;
  for await (const row of copyTableText(client, layout.schema, layout.table, layout.columns)) {
    const keyValues = keyPositions.map((position) => row[position]!);
    if (filter !== undefined) {
      const text = keyValues.map((value) =>
        value === null ? null : Buffer.from(value).toString("utf8"),
      );
      if (!filter(text)) continue;
    }
    const hash = dataHash(
      encodeRow({
        schema: layout.schema,
        table: layout.table,
        columns: layout.columns,
        values: row,
      }),
    );
    const seq = head.size + 1;
    head = { size: seq, chainHash: chainHash(head.chainHash, seq, hash) };
    batch.appendChainEntry(layout.name, {
      seq,
      dataHash: hash,
      chainHash: head.chainHash,
      lsn: BigInt(seq),
      primaryKey: encodePrimaryKey(keyValues),
    });
    appended += 1;
    if (appended % 5000 === 0) {
      await store.commit(batch);
      batch = store.batch();
    }
  }
  await store.commit(batch);
  return appended;
}

export interface ConfigFileOptions {
  readonly directory: string;
  readonly server: Pick<TestPostgres, "host" | "port" | "database" | "user" | "password">;
  readonly tables: readonly string[];
  readonly nodeId?: string;
  readonly user?: string;
  readonly password?: string;
  readonly port?: number;
}

/** Writes a raft node's configuration file; returns its path. */
export async function writeConfigFile(options: ConfigFileOptions): Promise<string> {
  const nodeId = options.nodeId ?? "node1";
  const path = join(options.directory, `${nodeId}.yaml`);
  const yaml = [
    "database:",
    `  host: ${JSON.stringify(options.server.host)}`,
    `  port: ${options.port ?? options.server.port}`,
    `  database: ${JSON.stringify(options.server.database)}`,
    `  user: ${JSON.stringify(options.user ?? options.server.user)}`,
    `  password: ${JSON.stringify(options.password ?? options.server.password)}`,
    "  sslmode: disable",
    "node:",
    `  id: ${nodeId}`,
    "  bind_addr: 127.0.0.1:7001",
    `  data_dir: ${JSON.stringify(join(options.directory, `${nodeId}-data`))}`,
    "protected_tables:",
    ...options.tables.map((table) => `  - name: ${JSON.stringify(table)}`),
    "",
  ].join("\n");
  await writeFile(path, yaml);
  return path;
}

// The real binary as installed: `npm test` builds dist/ first.
const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const run = promisify(execFile);

export async function witnz(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, WITNZ_CONFIG: "" },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}
