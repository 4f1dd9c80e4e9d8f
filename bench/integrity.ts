// Start-up self-check of a store: chain entries checked per second on a real LMDB store.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/integrity.js [--entries=200000]
//
// The store is built as capture builds it (entry, primary-key index, tree nodes, a signed
// checkpoint per 1000-entry commit), closed, reopened, then checked several times; each run
// reads every entry, every tree node and every index entry.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { checkStore } from "../src/integrity/index.js";
import { openStore } from "../src/store/index.js";
import { populateStore } from "../test/integrity/fixture.js";

export interface BenchIntegrityOptions {
  readonly entries?: number;
  readonly runs?: number;
}

export interface BenchIntegrityResult {
  readonly entries: number;
  readonly runs: number;
  readonly treeNodesChecked: number;
  readonly secondsEach: readonly number[];
  readonly entriesPerSecondBest: number;
  readonly entriesPerSecondMedian: number;
  readonly ok: boolean;
}

const ENTRIES_DEFAULT = 200_000;
const RUNS_DEFAULT = 5;
const BATCH_ENTRIES = 1000;

export async function benchIntegrity(
  options: BenchIntegrityOptions = {},
): Promise<BenchIntegrityResult> {
  const entries = options.entries ?? ENTRIES_DEFAULT;
  const runs = options.runs ?? RUNS_DEFAULT;
  const directory = await mkdtemp(join(tmpdir(), "witnz-bench-integrity-"));
  try {
    const writer = await openStore(directory);
    await populateStore(writer, { table: "public.bench", entries, batchEntries: BATCH_ENTRIES });
    await writer.close();
    const store = await openStore(directory);
    try {
      const secondsEach: number[] = [];
      let ok = true;
      let treeNodesChecked = 0;
      for (let run = 0; run < runs; run++) {
        const startedAt = process.hrtime.bigint();
        const report = checkStore(store);
        secondsEach.push(Number(process.hrtime.bigint() - startedAt) / 1e9);
        ok &&= report.ok && report.entriesChecked === entries;
        treeNodesChecked = report.tables[0]?.treeNodesChecked ?? 0;
      }
      const sorted = [...secondsEach].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
      return {
        entries,
        runs,
        treeNodesChecked,
        secondsEach,
        entriesPerSecondBest: Math.round(entries / (sorted[0] ?? Number.NaN)),
        entriesPerSecondMedian: Math.round(entries / median),
        ok,
      };
    } finally {
      await store.close();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const entriesArgument = process.argv.find((argument) => argument.startsWith("--entries="));
  const entries = entriesArgument === undefined ? undefined : Number(entriesArgument.split("=")[1]);
  const result = await benchIntegrity(entries === undefined ? {} : { entries });
  console.log(JSON.stringify({ node: process.version, integrity: result }, null, 2));
}
