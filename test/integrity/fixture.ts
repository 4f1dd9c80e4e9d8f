// Builds real stores for the integrity tests and the benchmark: chains written as the capture
// writes them (entry, primary-key index, tree nodes, a signed checkpoint per batch).
import { signCheckpoint, tableOrigin, witnzExtensions } from "../../src/checkpoint/index.js";
import { ed25519PrivateKeyFromSeed, sha256 } from "../../src/crypto/index.js";
import { chainHash, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { MerkleTree, type TreeNodeStore } from "../../src/merkle/index.js";
import type { StoreBatch, ViolationRecord, WitnzStore } from "../../src/store/index.js";

export const SIGNER = {
  name: "witnz.test/integrity",
  privateKey: ed25519PrivateKeyFromSeed(new Uint8Array(32).fill(7)),
};
export const CLUSTER_ORIGIN = "witnz.test/cluster";

/** d_i of the fixture's row `seq` of `table`. */
export function fixtureDataHash(table: string, seq: number): Uint8Array {
  return sha256(Buffer.from(`${table}/row/${seq}`));
}

/** Every seventh row repeats the key of the row three before it; every row has a key. */
export function fixturePrimaryKey(seq: number): Uint8Array {
  const keySeq = seq % 7 === 0 ? seq - 3 : seq;
  const key = Buffer.alloc(8);
  key.writeUInt32BE(0x706b0000, 0);
  key.writeUInt32BE(keySeq, 4);
  return key;
}

export interface PopulateOptions {
  readonly table: string;
  readonly entries: number;
  /** Entries per commit; each commit also stores a checkpoint at its size. */
  readonly batchEntries: number;
  readonly violations?: readonly ViolationRecord[];
}

export function signedNote(table: string, size: number, rootHash: Uint8Array, chain: Uint8Array) {
  return signCheckpoint(
    {
      origin: tableOrigin(CLUSTER_ORIGIN, table),
      size,
      rootHash,
      extensions: witnzExtensions({
        table,
        chainHash: chain,
        lsn: `0/${size.toString(16).toUpperCase()}`,
        timeMicroseconds: 1_700_000_000_000_000n + BigInt(size),
      }),
    },
    SIGNER,
  );
}

export async function populateStore(store: WitnzStore, options: PopulateOptions): Promise<void> {
  const { table } = options;
  const current: { batch: StoreBatch | undefined } = { batch: undefined };
  const nodes: TreeNodeStore = {
    get: (level, index) => store.treeNodes(table, current.batch).get(level, index),
    set: (level, index, hash) => {
      if (current.batch === undefined) throw new Error("tree node written outside a batch");
      store.treeNodes(table, current.batch).set(level, index, hash);
    },
  };
  const head = store.chainHead(table);
  let size = head?.size ?? 0;
  let previous: Uint8Array = head?.chainHash ?? GENESIS_CHAIN_HASH;
  const tree = MerkleTree.open(nodes, size);
  const target = size + options.entries;
  while (size < target) {
    const batch = store.batch();
    current.batch = batch;
    const end = Math.min(target, size + options.batchEntries);
    for (let seq = size + 1; seq <= end; seq++) {
      const data = fixtureDataHash(table, seq);
      const chain = chainHash(previous, seq, data);
      batch.appendChainEntry(table, {
        seq,
        dataHash: data,
        chainHash: chain,
        lsn: BigInt(seq),
        primaryKey: fixturePrimaryKey(seq),
      });
      tree.append(data);
      previous = chain;
    }
    size = end;
    batch.putCheckpoint(table, size, signedNote(table, size, tree.root(), previous));
    await store.commit(batch);
  }
  current.batch = undefined;
  if (options.violations !== undefined && options.violations.length > 0) {
    const batch = store.batch();
    for (const record of options.violations) batch.appendViolation(table, record);
    await store.commit(batch);
  }
}
