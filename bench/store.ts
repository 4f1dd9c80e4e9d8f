// Durable write throughput of the LMDB store, against the raw flush rate of the same disk.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/store.js [--duration-ms=3000]
//
// Each chain entry writes what real ingest writes: the entry, its primary-key index entry and
// the Merkle tree nodes it completes (the store keeps those of level 4 and up, one per 8 entries
// on average); each batch adds its checkpoint note, its data hash block and the chain head. Hashes are
// taken from a precomputed pool, so the figures are the store's, not SHA-256's.

import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore } from "../src/store/index.js";
import { benchArguments, percentile, round, runWhenMain } from "./stats.js";

export interface BenchStoreOptions {
  /** Where temporary stores and the flush probe file go; a fresh temporary directory if absent. */
  readonly directory?: string;
  /** How long each case runs. */
  readonly durationMs?: number;
  /** Entries per committed batch, one case each. */
  readonly batchEntries?: readonly number[];
}

export interface StoreCaseResult {
  readonly batchEntries: number;
  readonly commits: number;
  readonly durableCommitsPerSecond: number;
  readonly chainEntriesPerSecond: number;
  readonly commitLatencyMsMedian: number;
  readonly commitLatencyMsP99: number;
}

export interface BenchStoreResult {
  readonly benchmark: "store";
  readonly node: string;
  readonly lmdb: string;
  readonly platform: string;
  readonly durationMsPerCase: number;
  readonly rawDisk: {
    readonly writeFsyncPerSecond: number;
    readonly writeFdatasyncPerSecond: number;
  };
  readonly cases: readonly StoreCaseResult[];
}

const DURATION_MS_DEFAULT = 3000;
const BATCH_ENTRIES_DEFAULT = [1, 100, 1000] as const;
/** Every case commits at least this often, however slow the disk. */
const COMMITS_MIN = 5;
/** Distinct precomputed hashes the entries cycle through. */
const HASH_POOL_SIZE = 4096;
const HASH_BYTES = 32;
/** Bytes written before each flush in the raw disk probe: about one small LMDB meta write. */
const PROBE_WRITE_BYTES = 128;
const TABLE = "public.bench_events";

export async function benchStore(options: BenchStoreOptions = {}): Promise<BenchStoreResult> {
  const durationMs = options.durationMs ?? DURATION_MS_DEFAULT;
  const batchEntries = options.batchEntries ?? BATCH_ENTRIES_DEFAULT;
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "witnz-bench-store-")));
  try {
    const rawDisk = {
      writeFsyncPerSecond: flushRate(directory, durationMs, fsyncSync),
      writeFdatasyncPerSecond: flushRate(directory, durationMs, fdatasyncSync),
    };
    const cases: StoreCaseResult[] = [];
    for (const entries of batchEntries) {
      cases.push(await benchCase(directory, entries, durationMs));
    }
    return {
      benchmark: "store",
      node: process.version,
      lmdb: lmdbVersion(),
      platform: `${process.platform}-${process.arch}`,
      durationMsPerCase: durationMs,
      rawDisk,
      cases,
    };
  } finally {
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
  }
}

/** Writes a few bytes at the start of a small file and flushes it, as often as it can. */
function flushRate(directory: string, durationMs: number, flush: (fd: number) => void): number {
  const path = join(directory, "flush-probe");
  const fd = openSync(path, "w");
  const payload = new Uint8Array(PROBE_WRITE_BYTES).fill(0x5a);
  let flushes = 0;
  const startMs = performance.now();
  try {
    while (performance.now() - startMs < durationMs || flushes < COMMITS_MIN) {
      writeSync(fd, payload, 0, payload.length, 0);
      flush(fd);
      flushes += 1;
    }
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  return round(flushes / ((performance.now() - startMs) / 1000));
}

async function benchCase(
  directory: string,
  batchEntries: number,
  durationMs: number,
): Promise<StoreCaseResult> {
  const storeDirectory = await mkdtemp(join(directory, `store-${batchEntries}-`));
  const store = await openStore(storeDirectory);
  const hashes = hashPool();
  const latenciesMs: number[] = [];
  let size = 0;
  let chainHash: Uint8Array = new Uint8Array(HASH_BYTES);
  const startMs = performance.now();
  try {
    while (performance.now() - startMs < durationMs || latenciesMs.length < COMMITS_MIN) {
      const batch = store.batch();
      const nodes = store.treeNodes(TABLE, batch);
      for (let count = 0; count < batchEntries; count++) {
        const seq = size + 1;
        const dataHash = hashes[seq % HASH_POOL_SIZE]!;
        chainHash = hashes[(seq * 7) % HASH_POOL_SIZE]!;
        batch.appendChainEntry(TABLE, {
          seq,
          dataHash,
          chainHash,
          lsn: BigInt(seq) * 64n,
          primaryKey: primaryKeyOf(seq),
        });
        // The subtree the entry completes; the store drops it below level 4.
        const level = trailingZeroBits(seq);
        nodes.set(level, seq / 2 ** level - 1, dataHash);
        size = seq;
      }
      batch.putCheckpoint(TABLE, size, checkpointNote(size, chainHash));
      const commitStartMs = performance.now();
      await store.commit(batch);
      latenciesMs.push(performance.now() - commitStartMs);
    }
  } finally {
    await store.close();
    await rm(storeDirectory, { recursive: true, force: true });
  }
  const elapsedSeconds = (performance.now() - startMs) / 1000;
  latenciesMs.sort((left, right) => left - right);
  return {
    batchEntries,
    commits: latenciesMs.length,
    durableCommitsPerSecond: round(latenciesMs.length / elapsedSeconds),
    chainEntriesPerSecond: round(size / elapsedSeconds),
    commitLatencyMsMedian: round(percentile(latenciesMs, 0.5), 3),
    commitLatencyMsP99: round(percentile(latenciesMs, 0.99), 3),
  };
}

function hashPool(): Uint8Array[] {
  const pool: Uint8Array[] = [];
  let state = 0x9e3779b9;
  for (let index = 0; index < HASH_POOL_SIZE; index++) {
    const hash = new Uint8Array(HASH_BYTES);
    for (let position = 0; position < HASH_BYTES; position++) {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      hash[position] = state >>> 24;
    }
    pool.push(hash);
  }
  return pool;
}

const textEncoder = new TextEncoder();

/** A primary key as a bigint column would encode it: about 8 to 12 bytes. */
function primaryKeyOf(seq: number): Uint8Array {
  return textEncoder.encode(`id=${seq}`);
}

/** About the size of a signed checkpoint note with one signature. */
function checkpointNote(size: number, chainHash: Uint8Array): string {
  const root = Buffer.from(chainHash).toString("base64");
  return `witnz.example/${TABLE}\n${size}\n${root}\n\n— node-1 ${root}${root}\n`;
}

function trailingZeroBits(value: number): number {
  let bits = 0;
  while (value % 2 ** (bits + 1) === 0) bits += 1;
  return bits;
}

/** The installed lmdb-js version, read beside its entry point (the package exports no manifest). */
function lmdbVersion(): string {
  const entry = fileURLToPath(import.meta.resolve("lmdb"));
  const manifest = JSON.parse(readFileSync(join(dirname(entry), "package.json"), "utf8"));
  return String((manifest as { version: unknown }).version);
}

await runWhenMain(import.meta.url, (argv) =>
  benchStore(benchArguments(argv, { "duration-ms": "durationMs" })),
);
