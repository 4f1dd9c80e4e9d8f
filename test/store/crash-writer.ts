// A child process for the crash and write-failure tests. It appends seeded batches to one
// table and prints "acked <size>" after each `await store.commit(...)` resolves: a printed
// size is one the store has promised is durable.
//
//   node crash-writer.js <directory> <seed> append   appends until killed
//   node crash-writer.js <directory> <seed> fill     appends until a commit fails, prints
//                                                    "failed <json>", retries twice, exits 0
//   node crash-writer.js <directory> <ms> exit       commits one batch of EXIT_BATCH_ENTRIES
//                                                    and calls process.exit <ms> after handing
//                                                    it to the store, most likely mid-write
//   node crash-writer.js <directory> 0 inspect       prints "journal yes|no": whether LMDB
//                                                    holds a torn write's journal, read raw

import { createHash } from "node:crypto";
import { open } from "lmdb";
import { openStore, StoreError, TREE_STORED_LEVEL_MIN } from "../../src/store/index.js";

export const CRASH_TABLE = "public.events";
/** The most entries one seeded batch holds. */
export const BATCH_ENTRIES_MAX = 40;
/** Bytes of primary key per entry; large keys fill the data file quickly in "fill" mode. */
const FILL_PRIMARY_KEY_BYTES = 1000;
/** In "fill" mode, commits tried after the disk is full, the first failure included. */
const FILL_ATTEMPTS_AFTER_FAILURE = 3;
/** Entries of the one batch "exit" mode commits: about 3 operations each, one write. */
export const EXIT_BATCH_ENTRIES = 5_000;

export function rowDataHash(seq: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`row ${seq}`).digest());
}

export function rowChainHash(previous: Uint8Array, seq: number, dataHash: Uint8Array): Uint8Array {
  const sequenceBytes = new Uint8Array(8);
  new DataView(sequenceBytes.buffer).setBigUint64(0, BigInt(seq));
  return new Uint8Array(
    createHash("sha256").update(previous).update(sequenceBytes).update(dataHash).digest(),
  );
}

export function rowPrimaryKey(seq: number, padBytes: number): Uint8Array {
  const key = new TextEncoder().encode(`pk-${seq}`);
  if (padBytes <= key.length) return key;
  const padded = new Uint8Array(padBytes).fill(0x2e);
  padded.set(key, 0);
  return padded;
}

/** The sizes of the seeded batches, so a parent can tell batch boundaries from partial ones. */
export function batchSizes(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return 1 + (state % BATCH_ENTRIES_MAX);
  };
}

async function main(): Promise<void> {
  const [directory, seedText, mode] = process.argv.slice(2);
  if (
    directory === undefined ||
    seedText === undefined ||
    (mode !== "append" && mode !== "fill" && mode !== "exit" && mode !== "inspect")
  ) {
    throw new Error("usage: crash-writer <directory> <seed> append|fill|exit|inspect");
  }
  if (mode === "inspect") {
    // Raw, before any store opens it (and completes what it finds).
    const database = open<Uint8Array, Uint8Array>({
      path: directory,
      keyEncoding: "binary",
      encoding: "binary",
      maxDbs: 1,
    });
    const journal = database.get(Uint8Array.of(0xff, 0xff)) !== undefined;
    process.stdout.write(`journal ${journal ? "yes" : "no"}\n`);
    await database.close();
    return;
  }
  const padBytes = mode === "fill" ? FILL_PRIMARY_KEY_BYTES : 0;
  const nextBatchSize = mode === "exit" ? () => EXIT_BATCH_ENTRIES : batchSizes(Number(seedText));
  const store = await openStore(directory);
  let failures = 0;
  for (;;) {
    // Staged from the committed head each time, so a failed batch is simply staged again.
    const head = store.chainHead(CRASH_TABLE);
    let size = head?.size ?? 0;
    let chainHash: Uint8Array = head?.chainHash ?? new Uint8Array(32);
    const batch = store.batch();
    const nodes = store.treeNodes(CRASH_TABLE, batch);
    const entries = nextBatchSize();
    for (let count = 0; count < entries; count++) {
      const seq = size + 1;
      const dataHash = rowDataHash(seq);
      chainHash = rowChainHash(chainHash, seq, dataHash);
      batch.appendChainEntry(CRASH_TABLE, {
        seq,
        dataHash,
        chainHash,
        lsn: BigInt(seq) * 16n,
        primaryKey: rowPrimaryKey(seq, padBytes),
      });
      // A stand-in tree: one stored node per entry, to check it commits with the entry.
      nodes.set(TREE_STORED_LEVEL_MIN, seq - 1, dataHash);
      size = seq;
    }
    batch.putCheckpoint(CRASH_TABLE, size, `checkpoint ${size}\n`);
    if (mode === "exit") {
      // The process ends while the writer thread applies the batch, as it would on an uncaught
      // exception anywhere in a node: nothing waits for the write.
      const exitAfterMs = Number(seedText);
      await store.commit(batch, {
        onApplied: () => setTimeout(() => process.exit(0), exitAfterMs),
      });
      process.stdout.write(`acked ${size}\n`);
      await new Promise(() => undefined);
    }
    try {
      await store.commit(batch);
    } catch (error) {
      if (mode === "fill" && error instanceof StoreError) {
        const report = { code: error.code, message: error.message };
        process.stdout.write(`failed ${JSON.stringify(report)}\n`);
        // A real ingest loop retries; the retries must fail cleanly too.
        failures += 1;
        if (failures < FILL_ATTEMPTS_AFTER_FAILURE) continue;
        await store.close();
        return;
      }
      throw error;
    }
    process.stdout.write(`acked ${size}\n`);
  }
}

if (process.argv[1]?.endsWith("crash-writer.js")) {
  await main();
}
