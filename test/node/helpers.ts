// Shared by the node tests: a configuration for a real test server, polling, a quiet logger.
import type pg from "pg";
import { parseConfig, type WitnzConfig } from "../../src/config/index.js";
import { localNodeConfigYaml } from "../../src/local/index.js";
import type { NodeLogger } from "../../src/node/index.js";
import { dropReplicationSlot, type TestPostgres } from "../../src/postgres/index.js";

export { freePort } from "../../src/local/index.js";

import { until } from "../support/until.js";

export { until };

export interface NodeConfigOptions {
  readonly server: TestPostgres;
  readonly nodeId: string;
  readonly dataDir: string;
  readonly httpPort: number;
  readonly tables: readonly { readonly name: string; readonly verifyInterval?: string }[];
}

export function nodeConfigYaml(options: NodeConfigOptions): string {
  return localNodeConfigYaml({ ...options, database: options.server });
}

export function nodeConfig(options: NodeConfigOptions): WitnzConfig {
  return parseConfig(nodeConfigYaml(options)).config;
}

/** Log lines kept in memory, by level, for assertions. */
export interface RecordingLogger extends NodeLogger {
  readonly lines: { level: string; fields: object; message: string }[];
}

export function recordingLogger(): RecordingLogger {
  const lines: { level: string; fields: object; message: string }[] = [];
  const record = (level: string) => (fields: object, message: string) => {
    lines.push({ level, fields, message });
  };
  return { lines, info: record("info"), warn: record("warn"), error: record("error") };
}

/** Drops a slot, waiting for its WAL sender to let go of it after the node stopped. */
export async function dropSlotWhenFree(client: pg.Client, slotName: string): Promise<void> {
  await until(async () => {
    try {
      return await dropReplicationSlot(client, slotName);
    } catch {
      return undefined;
    }
  }, `slot ${slotName} to be dropped`);
}

export async function currentWalLsn(client: pg.Client): Promise<string> {
  const result = await client.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
  return result.rows[0]!.lsn;
}
