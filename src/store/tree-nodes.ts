// A table's Merkle tree nodes as the store keeps them: levels from TREE_STORED_LEVEL_MIN up are
// stored (tag 0x05); the levels below are derived on read from the chain entries' data hashes,
// since leaf i is by definition leafHash(d_{i+1}) and a node there covers at most 8 leaves.
// Appends then write about 2^-3 tree nodes per row instead of 2, and no stored leaf can
// disagree with its entry.
import { leafHash, nodeHash } from "../merkle/index.js";
import { storeAssert } from "./errors.js";
import { encodeTreeNodeKey, TREE_STORED_LEVEL_MIN } from "./keys.js";
import { assertHash, decodeTreeNodeValue } from "./values.js";

/** Storage for a Merkle tree's interior and leaf hashes, addressed by (level, index). */
export interface TreeNodeStorage {
  get(level: number, index: number): Uint8Array | undefined;
  /** Stages a node; a node below TREE_STORED_LEVEL_MIN is derived, so setting one does nothing. */
  set(level: number, index: number, hash: Uint8Array): void;
}

/** Where a table's tree nodes come from: a batch's view or the committed store. */
export interface TreeNodeSource {
  /** The stored node at a level from TREE_STORED_LEVEL_MIN up. */
  stored(key: Uint8Array): Uint8Array | undefined;
  /** The data hashes of entries firstSeq .. firstSeq + count - 1, or undefined if any is absent. */
  dataHashes(firstSeq: number, count: number): Uint8Array[] | undefined;
  /** Stages a node; undefined for read-only storage. */
  readonly stage: ((key: Uint8Array, hash: Uint8Array) => void) | undefined;
}

export function treeNodeStorage(table: string, source: TreeNodeSource): TreeNodeStorage {
  return {
    get(level: number, index: number): Uint8Array | undefined {
      const key = encodeTreeNodeKey(table, level, index);
      if (level >= TREE_STORED_LEVEL_MIN) {
        const value = source.stored(key);
        return value === undefined ? undefined : new Uint8Array(decodeTreeNodeValue(value));
      }
      const width = 2 ** level;
      const hashes = source.dataHashes(index * width + 1, width);
      return hashes === undefined ? undefined : foldLeaves(hashes);
    },
    set(level: number, index: number, hash: Uint8Array): void {
      const stored = level >= TREE_STORED_LEVEL_MIN;
      // A derived node is checked but never encoded: appends set about two of them per row.
      const key = stored ? encodeTreeNodeKey(table, level, index) : undefined;
      storeAssert(
        stored ||
          (Number.isInteger(level) && level >= 0 && Number.isSafeInteger(index) && index >= 0),
        "WITNZ_STORE_INVALID",
        () => `there is no tree node at level ${level}, index ${index}`,
      );
      assertHash(hash, "a tree node hash");
      const stage = source.stage;
      storeAssert(
        stage !== undefined,
        "WITNZ_STORE_INVALID",
        () => "tree nodes were opened without a batch, so they are read-only",
      );
      if (key !== undefined) stage(key, hash.slice());
    },
  };
}

/** MTH over a power-of-two run of leaves given by their data hashes. */
function foldLeaves(dataHashes: readonly Uint8Array[]): Uint8Array {
  let level = dataHashes.map((dataHash) => leafHash(dataHash));
  while (level.length > 1) {
    const parents: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) parents.push(nodeHash(level[i]!, level[i + 1]!));
    level = parents;
  }
  return new Uint8Array(level[0]!);
}
