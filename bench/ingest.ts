// Capture's staging path alone: decoded pgoutput messages through the TransactionAssembler and
// the Ingester into a real LMDB store, with no PostgreSQL, so that its cost can be measured
// without a server sharing the CPU.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/ingest.js [--quick] [--rows=N]
//
// N rows (1 000 000 by default, 100 000 with --quick) of the capture benchmark's table shape, in
// transactions of 1000 rows, are generated one transaction at a time and fed as CaptureRunner
// feeds them to a node that is behind its stream: a full batch is committed before the next
// changes, a transaction's commit joins its batch. Every commit is durable, as in `witnz start`.
// The same messages are generated once more without ingesting them; that time is reported
// beside and taken out of the staging figures. Main-thread CPU is read from /proc (Linux; null
// elsewhere): unlike wall time it hardly moves when other work shares the machine, and the
// main thread is where capture's time goes.

import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ingester, TransactionAssembler } from "../src/capture/index.js";
import { tableDisplayName } from "../src/catalog/index.js";
import { generateEd25519KeyPair } from "../src/crypto/index.js";
import { LSN_ZERO, type PgoutputMessage, type Relation, toLsn } from "../src/postgres/index.js";
import { openStore } from "../src/store/index.js";
import { benchArguments, round, runWhenMain } from "./stats.js";

export interface BenchIngestOptions {
  readonly rows?: number;
}

export interface BenchIngestResult {
  readonly benchmark: "ingest";
  readonly node: string;
  readonly platform: string;
  readonly rows: number;
  readonly transactionRows: number;
  readonly commits: number;
  /** Generating the messages alone (taken out of the figures below). */
  readonly generateMs: number;
  readonly stagingMs: number;
  readonly rowsPerSecond: number;
  /** Of stagingMs: awaiting durable commits (the puts run on the main thread inside them). */
  readonly commitWaitMs: number;
  /** Main-thread CPU per row, generation taken out; null without /proc. */
  readonly mainThreadCpuMicrosecondsPerRow: number | null;
}

const ROWS_DEFAULT = 1_000_000;
const ROWS_QUICK = 100_000;
const TRANSACTION_ROWS = 1000;
const LSN_STEP = 1_000_000n;
/** Clock ticks per second of /proc/<pid>/task/<tid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

const RELATION: Relation = {
  oid: 16_400,
  schema: "public",
  table: "bench_capture",
  replicaIdentity: "default",
  columns: ["id", "actor", "amount", "at", "payload"].map((name, index) => ({
    name,
    typeOid: 25,
    typeModifier: -1,
    partOfKey: index === 0,
    flags: index === 0 ? 1 : 0,
  })),
};
const TIME_BASE_MS = Date.UTC(2026, 0, 1);

export async function benchIngest(options: BenchIngestOptions = {}): Promise<BenchIngestResult> {
  const rows = options.rows ?? ROWS_DEFAULT;
  if (rows % TRANSACTION_ROWS !== 0 || rows <= 0) {
    throw new Error(`rows must be a positive multiple of ${TRANSACTION_ROWS}`);
  }
  const transactions = rows / TRANSACTION_ROWS;
  const directory = await mkdtemp(join(tmpdir(), "witnz-bench-ingest-"));
  const store = await openStore(join(directory, "store"));
  try {
    const generateCpuStart = mainThreadCpuMs();
    const generateStart = performance.now();
    for (let transaction = 0; transaction < transactions; transaction++) {
      transactionMessages(transaction);
    }
    const generateMs = performance.now() - generateStart;
    const generateCpuMs = difference(mainThreadCpuMs(), generateCpuStart);

    const keys = generateEd25519KeyPair();
    let clock = 1_763_891_200_000_000n;
    const ingester = new Ingester({
      store,
      signer: { name: "bench/node", privateKey: keys.privateKey },
      clusterOrigin: "bench/cluster",
      nowUnixMicroseconds: () => {
        clock += 1n;
        return clock;
      },
      stageViolation: () => {
        throw new Error("the benchmark inserts only");
      },
    });
    const assembler = new TransactionAssembler({
      tableName: (relation) => tableDisplayName(relation.schema, relation.table),
      knownLayout: (table) => ingester.layout(table),
    });
    let commits = 0;
    let commitWaitMs = 0;
    // As CaptureRunner commits while it catches up: a full batch's commit is started, and staging
    // goes on once its writes are applied, while it is flushed; the commit before it is awaited
    // first, so at most one is being flushed.
    let inflight: Promise<unknown> | undefined;
    const commit = async (wait: boolean): Promise<void> => {
      const start = performance.now();
      if (inflight !== undefined) await inflight;
      const started = ingester.startCommit();
      inflight = started.durable;
      await (wait ? started.durable : started.applied);
      if (wait) inflight = undefined;
      commitWaitMs += performance.now() - start;
      commits += 1;
    };
    const cpuStart = mainThreadCpuMs();
    const start = performance.now();
    for (let transaction = 0; transaction < transactions; transaction++) {
      for (const message of transactionMessages(transaction)) {
        const event = assembler.push(message);
        if (event === undefined) continue;
        if (event.kind !== "commit" && ingester.full) await commit(false);
        if (ingester.stage(event)) await commit(true);
      }
    }
    await commit(true);
    const totalMs = performance.now() - start;
    const cpuMs = difference(mainThreadCpuMs(), cpuStart);
    const size = store.chainHead(tableDisplayName(RELATION.schema, RELATION.table))?.size;
    if (size !== rows) throw new Error(`the chain holds ${size} entries, not ${rows}`);
    const stagingMs = totalMs - generateMs;
    return {
      benchmark: "ingest",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      rows,
      transactionRows: TRANSACTION_ROWS,
      commits,
      generateMs: round(generateMs),
      stagingMs: round(stagingMs),
      rowsPerSecond: Math.round(rows / (stagingMs / 1000)),
      commitWaitMs: round(commitWaitMs),
      mainThreadCpuMicrosecondsPerRow:
        cpuMs === null || generateCpuMs === null
          ? null
          : round(((cpuMs - generateCpuMs) * 1000) / rows, 2),
    };
  } finally {
    await store.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** Begin, (Relation before the first row), 1000 inserts, Commit: what pgoutput decodes to. */
function transactionMessages(transaction: number): PgoutputMessage[] {
  const commitLsn = toLsn(LSN_ZERO + LSN_STEP * BigInt(transaction + 1));
  const commitTimeUnixMicroseconds = 1_763_891_200_000_000n + BigInt(transaction);
  const messages: PgoutputMessage[] = [
    { kind: "begin", commitLsn, commitTimeUnixMicroseconds, xid: transaction + 1 },
  ];
  if (transaction === 0) messages.push({ kind: "relation", relation: RELATION });
  const first = transaction * TRANSACTION_ROWS + 1;
  for (let id = first; id < first + TRANSACTION_ROWS; id++) {
    const at = new Date(TIME_BASE_MS + id * 1000).toISOString();
    messages.push({
      kind: "insert",
      relation: RELATION,
      newTuple: [
        utf8(String(id)),
        utf8(`user-${id % 1000}`),
        utf8((id * 1.25).toFixed(2)),
        utf8(`${at.slice(0, 10)} ${at.slice(11, 19)}+00`),
        utf8(`{"i": ${id}, "kind": "event"}`),
      ],
    });
  }
  messages.push({
    kind: "commit",
    flags: 0,
    commitLsn,
    endLsn: toLsn(commitLsn + 1n),
    commitTimeUnixMicroseconds,
  });
  return messages;
}

const encoder = new TextEncoder();
function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** utime + stime of this process's main thread, in milliseconds; null without /proc. */
function mainThreadCpuMs(): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the command name, which ends with the last ")": state is field 3, utime 14.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

function difference(end: number | null, start: number | null): number | null {
  return end === null || start === null ? null : end - start;
}

await runWhenMain(import.meta.url, (argv) =>
  benchIngest(benchArguments(argv, { rows: "rows" }, { rows: ROWS_QUICK })),
);
