// Full verification speed against a bare COPY of the same table, measured in the same run.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/verify.js [--quick] [--rows=N] [--runs=N]
//
// A real PostgreSQL (startTestPostgres) holds a table of N rows (1 000 000 by default, 100 000
// with --quick); a real LMDB store holds its chain, recorded once the way capture records it.
// The baseline is `COPY ... TO STDOUT (FORMAT text)` on a pinned session with every chunk
// dropped into a sink: what the server and the socket cost with no parsing, hashing or lookups.
// Each measurement is the median of `runs` alternating runs after one warm-up of each.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { resolveTable, type TableLayout } from "../src/catalog/index.js";
import { connectSession, copyTableRows, startTestPostgres } from "../src/postgres/index.js";
import { openStore, type WitnzStore } from "../src/store/index.js";
import { RowHasher, verifyTable } from "../src/verify/index.js";
import { recordRowsAsCapture } from "../test/verify/helpers.js";
import { benchArguments, round, runWhenMain } from "./stats.js";

export interface BenchVerifyOptions {
  readonly rows?: number;
  readonly runs?: number;
}

export interface BenchVerifyResult {
  readonly benchmark: "verify";
  readonly node: string;
  readonly platform: string;
  readonly rows: number;
  readonly runs: number;
  readonly tableBytes: number;
  readonly copyBytes: number;
  readonly baselineCopyMs: number;
  readonly verifyMs: number;
  readonly verifyRowsPerSecond: number;
  /** verifyMs / baselineCopyMs; the goal is at most `ratioGoalMax`. */
  readonly ratio: number;
  readonly ratioGoalMax: number;
  /** Where the time goes: COPY parsed into row views, then also hashed (no store reads). */
  readonly breakdownMs: { readonly copyParsed: number; readonly copyParsedHashed: number };
  readonly setupMs: { readonly fillTable: number; readonly recordChain: number };
}

const ROWS_DEFAULT = 1_000_000;
const ROWS_QUICK = 100_000;
const RUNS_DEFAULT = 3;
const RATIO_GOAL_MAX = 1.5;
/** Chain entries per store commit while recording: two puts each, far below the write limit. */
const TABLE = "bench_events";

export async function benchVerify(options: BenchVerifyOptions = {}): Promise<BenchVerifyResult> {
  const rows = options.rows ?? ROWS_DEFAULT;
  const runs = options.runs ?? RUNS_DEFAULT;
  const server = await startTestPostgres();
  const directory = await mkdtemp(join(tmpdir(), "witnz-bench-verify-"));
  let client: pg.Client | undefined;
  let store: WitnzStore | undefined;
  try {
    client = await connectSession({ connectionString: server.connectionString });
    const fillStart = performance.now();
    await client.query(
      `CREATE TABLE public.${TABLE} (id int8 PRIMARY KEY, actor text, amount numeric,
         at timestamptz, payload jsonb)`,
    );
    await client.query(
      `INSERT INTO public.${TABLE}
         SELECT i, 'user-' || (i % 1000), i * 1.25,
                '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 second',
                jsonb_build_object('i', i, 'kind', 'event')
           FROM generate_series(1, ${rows}) AS i`,
    );
    // Sets hint bits and the visibility map, so no scan pays for that and both see the same heap.
    await client.query(`VACUUM (ANALYZE) public.${TABLE}`);
    const fillTable = performance.now() - fillStart;
    const tableBytes = Number(
      (
        await client.query<{ bytes: string }>(
          `SELECT pg_catalog.pg_table_size('public.${TABLE}') AS bytes`,
        )
      ).rows[0]!.bytes,
    );

    const layout = await resolveTable(client, TABLE);
    store = await openStore(join(directory, "store"));
    const recordStart = performance.now();
    await recordRowsAsCapture(store, client, layout);
    const recordChainMs = performance.now() - recordStart;

    let copyBytes = 0;
    const baseline = async (): Promise<number> => {
      const start = performance.now();
      copyBytes = await bareCopy(client!, layout);
      return performance.now() - start;
    };
    const verify = async (): Promise<number> => {
      const start = performance.now();
      const result = await verifyTable(store!, client!, layout);
      const elapsed = performance.now() - start;
      if (!result.ok || result.rowsChecked !== rows) {
        throw new Error(
          `verification of the benchmark table failed: ${JSON.stringify(result).slice(0, 500)}`,
        );
      }
      return elapsed;
    };
    const parsed = async (hash: boolean): Promise<number> => {
      const start = performance.now();
      await parseCopy(client!, layout, hash);
      return performance.now() - start;
    };
    await baseline();
    await verify();
    const baselineTimes: number[] = [];
    const verifyTimes: number[] = [];
    const parsedTimes: number[] = [];
    const hashedTimes: number[] = [];
    for (let run = 0; run < runs; run++) {
      baselineTimes.push(await baseline());
      verifyTimes.push(await verify());
      parsedTimes.push(await parsed(false));
      hashedTimes.push(await parsed(true));
    }
    const baselineCopyMs = median(baselineTimes);
    const verifyMs = median(verifyTimes);
    return {
      benchmark: "verify",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      rows,
      runs,
      tableBytes,
      copyBytes,
      baselineCopyMs: round(baselineCopyMs),
      verifyMs: round(verifyMs),
      verifyRowsPerSecond: Math.round(rows / (verifyMs / 1000)),
      ratio: round(verifyMs / baselineCopyMs, 2),
      ratioGoalMax: RATIO_GOAL_MAX,
      breakdownMs: {
        copyParsed: round(median(parsedTimes)),
        copyParsedHashed: round(median(hashedTimes)),
      },
      setupMs: { fillTable: round(fillTable), recordChain: round(recordChainMs) },
    };
  } finally {
    await store?.close();
    await client?.end().catch(() => {});
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

/** COPY the same columns to STDOUT and drop every chunk; returns the bytes received. */
async function bareCopy(client: pg.Client, layout: TableLayout): Promise<number> {
  const columns = layout.columns.map((column) => `"${column.replaceAll('"', '""')}"`).join(", ");
  const stream = client.query(
    copyTo(`COPY "${layout.schema}"."${layout.table}" (${columns}) TO STDOUT (FORMAT text)`),
  );
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes;
}

/** COPY parsed into row views as verification reads it, alone or with each row hashed. */
async function parseCopy(client: pg.Client, layout: TableLayout, hash: boolean): Promise<number> {
  const hasher = new RowHasher(layout.schema, layout.table, layout.columns);
  return copyTableRows(client, layout.schema, layout.table, layout.columns, (row) => {
    if (hash) hasher.digestRow(row);
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

await runWhenMain(import.meta.url, (argv) =>
  benchVerify(benchArguments(argv, { rows: "rows", runs: "runs" }, { rows: ROWS_QUICK })),
);
