import { MerkleError } from "./errors.js";
import { checkHashLength, MERKLE_HASH_BYTES } from "./hashing.js";
import { LEVEL_MAX } from "./tree-math.js";

/**
 * Read access to the hashes of complete aligned subtrees. Node (level, index) covers leaves
 * [index * 2^level, (index + 1) * 2^level); level 0 holds the leaf hashes.
 */
export interface TreeNodeReader {
  /**
   * The 32-byte hash of node (level, index), or undefined if it was never written. The returned
   * bytes may be a view that is only valid until the next call on the store (as a memory-mapped
   * store may hand out); callers copy what they keep.
   */
  get(level: number, index: number): Uint8Array | undefined;
}

/**
 * Where a MerkleTree keeps its nodes. The tree writes each complete subtree once, in order: on a
 * level, index i is written only after index i - 1. It may write an index again after it was
 * reopened at a smaller size; the new hash replaces the old one. `set` copies the bytes.
 */
export interface TreeNodeStore extends TreeNodeReader {
  set(level: number, index: number, hash: Uint8Array): void;
}

/** 2^15 nodes of 32 bytes: 1 MiB pages, so growth never copies more than one page. */
const PAGE_NODES = 32_768;
const PAGE_BYTES = PAGE_NODES * MERKLE_HASH_BYTES;
/** A level's first page starts this small and doubles up to PAGE_NODES, so small trees stay small. */
const FIRST_PAGE_NODES_MIN = 16;

interface StoredLevel {
  readonly pages: Uint8Array[];
  count: number;
}

/**
 * A TreeNodeStore in memory: per level, the hashes packed 32 bytes apart in 1 MiB pages. A tree
 * of n leaves holds 2n - popcount(n) nodes, about 64 bytes per leaf, plus under one page per
 * level of slack.
 */
export class MemoryTreeNodeStore implements TreeNodeStore {
  readonly #levels: StoredLevel[] = [];
  #allocatedBytes = 0;

  /** Bytes of page memory held, slack included. */
  get allocatedBytes(): number {
    return this.#allocatedBytes;
  }

  /** How many nodes level `level` holds (indices 0 to count - 1). */
  nodeCount(level: number): number {
    return this.#levels[level]?.count ?? 0;
  }

  get(level: number, index: number): Uint8Array | undefined {
    const stored = this.#levels[level];
    if (stored === undefined || !(index >= 0 && index < stored.count)) return undefined;
    const page = stored.pages[Math.floor(index / PAGE_NODES)]!;
    const offset = (index % PAGE_NODES) * MERKLE_HASH_BYTES;
    return page.subarray(offset, offset + MERKLE_HASH_BYTES);
  }

  set(level: number, index: number, hash: Uint8Array): void {
    checkHashLength(hash, `node hash at level ${level}, index ${index}`);
    if (!(Number.isInteger(level) && level >= 0 && level <= LEVEL_MAX)) {
      throw new MerkleError(
        "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
        `node level ${level} is not an integer from 0 to ${LEVEL_MAX}`,
      );
    }
    let stored = this.#levels[level];
    if (stored === undefined) {
      for (let l = this.#levels.length; l <= level; l++) this.#levels.push({ pages: [], count: 0 });
      stored = this.#levels[level]!;
    }
    if (!(Number.isSafeInteger(index) && index >= 0 && index <= stored.count)) {
      throw new MerkleError(
        "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
        `level ${level} holds ${stored.count} nodes and is written in order: cannot write index ${index}`,
      );
    }
    const pageNumber = Math.floor(index / PAGE_NODES);
    const offset = (index % PAGE_NODES) * MERKLE_HASH_BYTES;
    let page = stored.pages[pageNumber];
    if (page === undefined) {
      page = new Uint8Array(
        pageNumber === 0 ? FIRST_PAGE_NODES_MIN * MERKLE_HASH_BYTES : PAGE_BYTES,
      );
      stored.pages.push(page);
      this.#allocatedBytes += page.length;
    } else if (offset === page.length) {
      // Only a first page can be short: double it, up to a full page.
      const grown = new Uint8Array(Math.min(page.length * 2, PAGE_BYTES));
      grown.set(page);
      this.#allocatedBytes += grown.length - page.length;
      stored.pages[pageNumber] = grown;
      page = grown;
    }
    page.set(hash, offset);
    if (index === stored.count) stored.count += 1;
  }
}
