// PostgreSQL restarts (fast, then immediate) while a writer commits and the node streams: the node
// reconnects with backoff, records no gap, and its chain equals a fresh recomputation.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveTable } from "../../src/catalog/index.js";
import type { WitnzConfig } from "../../src/config/index.js";
import { chainHash, dataHash, encodeRow, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { type RunningNode, startNode } from "../../src/node/index.js";
import {
  connectSession,
  copyTableText,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import { verifyTable } from "../../src/verify/index.js";
import { freePort, nodeConfig, type RecordingLogger, recordingLogger, until } from "./helpers.js";

const TABLE = "public.ledger";
const TRANSACTIONS = 300;
const ROWS_PER_TRANSACTION = 10;

let server: TestPostgres;
let directory: string;
let config: WitnzConfig;
let node: RunningNode | undefined;
let logger: RecordingLogger;

beforeAll(async () => {
  server = await startTestPostgres();
  const client = await connectSession({ connectionString: server.connectionString });
  await client.query(
    "CREATE TABLE public.ledger (id bigint PRIMARY KEY, amount numeric NOT NULL, at timestamptz DEFAULT now())",
  );
  await client.end();
  directory = await mkdtemp(join(tmpdir(), "witnz-restart-"));
  config = nodeConfig({
    server,
    nodeId: "rnode",
    dataDir: join(directory, "data"),
    httpPort: await freePort(),
    tables: [{ name: "ledger" }],
  });
  const init = await initNode(config);
  expect(init.checks.filter((check) => check.status === "fail")).toEqual([]);
});

afterAll(async () => {
  await node?.stop();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function connectWithRetry(): Promise<pg.Client> {
  return until(async () => {
    try {
      return await connectSession({ connectionString: server.connectionString });
    } catch {
      return undefined;
    }
  }, "PostgreSQL to accept connections");
}

/**
 * Commits TRANSACTIONS inserts in order, reconnecting when the server goes away. A statement
 * whose outcome is unknown is retried; ON CONFLICT makes a retry of a committed one a no-op.
 */
async function write(progress: { transactions: number }): Promise<void> {
  let client = await connectWithRetry();
  try {
    while (progress.transactions < TRANSACTIONS) {
      const first = progress.transactions * ROWS_PER_TRANSACTION + 1;
      try {
        await client.query(
          "INSERT INTO public.ledger (id, amount) SELECT g, g * 1.25 FROM generate_series($1::bigint, $2::bigint) g ON CONFLICT DO NOTHING",
          [first, first + ROWS_PER_TRANSACTION - 1],
        );
        progress.transactions += 1;
      } catch {
        await client.end().catch(() => undefined);
        client = await connectWithRetry();
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

const interruptions = () =>
  logger.lines.filter((line) => line.message === "replication interrupted; reconnecting");

describe("PostgreSQL restart during streaming", () => {
  test("fast and immediate restarts: the node reconnects and loses nothing", async () => {
    logger = recordingLogger();
    node = await startNode(config, { logger });
    const running = node;
    await until(() => running.readiness().ready, "the node to stream");
    const progress = { transactions: 0 };
    const writing = write(progress);
    for (const mode of ["fast", "immediate"] as const) {
      const target = progress.transactions + 60;
      await until(() => progress.transactions >= target, "the writer to get going");
      const noticed = interruptions().length;
      await server.restart(mode);
      await until(() => interruptions().length > noticed, `the node to notice the ${mode} restart`);
      await until(() => running.readiness().ready, `the node to stream again after ${mode}`);
    }
    await writing;

    const rows = TRANSACTIONS * ROWS_PER_TRANSACTION;
    await until(() => running.store.chainHead(TABLE)?.size === rows, `capture of ${rows} rows`);
    expect(interruptions().length).toBeGreaterThanOrEqual(2);
    expect(running.store.violationHead(TABLE)).toBeUndefined();

    // Nothing lost or doubled: the chain equals a recomputation from the table, in commit order
    // (one writer, ascending ids), and verification is clean.
    const client = await connectWithRetry();
    try {
      const layout = await resolveTable(client, "ledger");
      const byId = new Map<number, (Uint8Array | null)[]>();
      for await (const row of copyTableText(client, layout.schema, layout.table, layout.columns)) {
        byId.set(Number(Buffer.from(row[0]!).toString()), row);
      }
      expect(byId.size).toBe(rows);
      let expected: Uint8Array = GENESIS_CHAIN_HASH;
      for (let id = 1; id <= rows; id++) {
        const values = byId.get(id)!;
        const row = { schema: "public", table: "ledger", columns: layout.columns, values };
        expected = chainHash(expected, id, dataHash(encodeRow(row)));
      }
      const head = running.store.chainHead(TABLE)!;
      expect(Buffer.from(head.chainHash).equals(expected)).toBe(true);
      const verification = await verifyTable(running.store, client, layout);
      expect(verification.ok).toBe(true);
      expect(verification.rowsChecked).toBe(rows);
    } finally {
      await client.end();
    }
    // Two PostgreSQL restarts, the immediate one with crash recovery: slow on a loaded machine.
  }, 180_000);
});
