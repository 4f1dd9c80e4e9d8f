// A real LMDB store in a temp directory holding what capture writes: chain entries with their
// primary key index, Merkle tree nodes and a signed checkpoint, plus violations and a
// verification record, written through the store's own batch API.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signCheckpoint, tableOrigin, witnzExtensions } from "../../src/checkpoint/index.js";
import { generateEd25519KeyPair, sha256 } from "../../src/crypto/index.js";
import { chainHash, encodePrimaryKey, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { MerkleTree } from "../../src/merkle/index.js";
import { formatLsn, toLsn } from "../../src/postgres/index.js";
import { openStore, type WitnzStore } from "../../src/store/index.js";

export const CLUSTER_ORIGIN = "witnz/dashboard-test";
export const signer = { name: `${CLUSTER_ORIGIN}/node/n1`, ...generateEd25519KeyPair() };

export interface StoreFixture {
  readonly store: WitnzStore;
  close(): Promise<void>;
}

export async function openTemporaryStore(): Promise<StoreFixture> {
  const directory = await mkdtemp(join(tmpdir(), "witnz-dashboard-"));
  const store = await openStore(directory);
  return {
    store,
    close: async () => {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export function rowHash(table: string, key: string): Uint8Array {
  return sha256(Buffer.from(`${table}|${key}`, "utf8"));
}

/**
 * Appends one entry per key (data hash from rowHash), extends the tree and, when `checkpoint`,
 * signs a checkpoint at the new size, all in one commit. Returns the Merkle root.
 */
export async function appendRows(
  store: WitnzStore,
  table: string,
  keys: readonly string[],
  options: { checkpoint: boolean; timeMicroseconds?: bigint } = { checkpoint: true },
): Promise<Uint8Array> {
  const batch = store.batch();
  let head = store.chainHead(table) ?? { size: 0, chainHash: GENESIS_CHAIN_HASH };
  const tree = MerkleTree.open(store.treeNodes(table, batch), head.size);
  for (const key of keys) {
    const data = rowHash(table, key);
    const seq = head.size + 1;
    head = { size: seq, chainHash: chainHash(head.chainHash, seq, data) };
    batch.appendChainEntry(table, {
      seq,
      dataHash: data,
      chainHash: head.chainHash,
      lsn: BigInt(seq * 100),
      primaryKey: encodePrimaryKey([key]),
    });
    tree.append(data);
  }
  if (options.checkpoint) {
    const note = signCheckpoint(
      {
        origin: tableOrigin(CLUSTER_ORIGIN, table),
        size: head.size,
        rootHash: tree.root(),
        extensions: witnzExtensions({
          table,
          chainHash: head.chainHash,
          lsn: formatLsn(toLsn(BigInt(head.size * 100))),
          timeMicroseconds: options.timeMicroseconds ?? 1_767_268_800_000_000n,
        }),
      },
      signer,
    );
    batch.putCheckpoint(table, head.size, note);
  }
  await store.commit(batch);
  return tree.root();
}
