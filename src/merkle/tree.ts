import { MerkleError } from "./errors.js";
import { checkHashLength, EMPTY_ROOT_BYTES, leafHash, nodeHashUnchecked } from "./hashing.js";
import { MemoryTreeNodeStore, type TreeNodeReader, type TreeNodeStore } from "./node-store.js";
import {
  checkLeafIndex,
  consistencyStartNode,
  powerOfTwo,
  TREE_SIZE_MAX,
  type TreeSize,
  toTreeSize,
} from "./tree-math.js";

/** Reads node (level, index) or throws: every node a tree reads lies inside its size. */
export function readNode(reader: TreeNodeReader, level: number, index: number): Uint8Array {
  const hash = reader.get(level, index);
  if (hash === undefined) {
    throw new MerkleError(
      "WITNZ_MERKLE_NODE_MISSING",
      `the node store has no hash at level ${level}, index ${index}`,
    );
  }
  return hash;
}

/**
 * MTH(D[start:end]) for a range whose start is a multiple of the largest power of two not above
 * end - start, as every range in the RFC recursion is. The range splits into the complete
 * subtrees named by the bits of its length, largest first; they fold from the right:
 * node(P1, node(P2, ... Pk)). popcount(end - start) reads. Returns a fresh array.
 */
function rangeHash(reader: TreeNodeReader, start: number, end: number): Uint8Array {
  let accumulated: Uint8Array | undefined;
  let remaining = end - start;
  let position = end;
  for (let level = 0; remaining > 0; level++) {
    if (remaining % 2 === 1) {
      const width = powerOfTwo(level);
      position -= width;
      const node = readNode(reader, level, position / width);
      // The store's bytes may be overwritten by the next read: copy or hash them now.
      accumulated =
        accumulated === undefined ? new Uint8Array(node) : nodeHashUnchecked(node, accumulated);
    }
    remaining = Math.floor(remaining / 2);
  }
  if (accumulated === undefined) throw new Error(`rangeHash of the empty range at ${start}`);
  return accumulated;
}

/** Hash of node (level, index) in a tree of `size` leaves, which may cut the node short. */
function subtreeHash(
  reader: TreeNodeReader,
  level: number,
  index: number,
  size: number,
): Uint8Array {
  const width = powerOfTwo(level);
  const start = index * width;
  const end = Math.min(start + width, size);
  return end - start === width
    ? new Uint8Array(readNode(reader, level, index))
    : rangeHash(reader, start, end);
}

/**
 * Appends to `proof` the sibling hashes from node (level, index) up to the root of the tree of
 * `size` leaves, lowest first. A sibling lying wholly past the last leaf does not exist (its
 * parent is the node itself, promoted) and adds nothing. Only one sibling on the path can be cut
 * short by the tree's right edge, so the reads stay O(log n).
 */
function appendPath(
  reader: TreeNodeReader,
  level: number,
  index: number,
  size: number,
  proof: Uint8Array[],
): void {
  let nodeIndex = index;
  for (let l = level; ; l++) {
    const lastIndex = Math.floor((size - 1) / powerOfTwo(l));
    if (lastIndex === 0) return;
    const siblingIndex = nodeIndex % 2 === 0 ? nodeIndex + 1 : nodeIndex - 1;
    if (siblingIndex <= lastIndex) proof.push(subtreeHash(reader, l, siblingIndex, size));
    nodeIndex = Math.floor(nodeIndex / 2);
  }
}

/**
 * An append-only RFC 9162 Merkle tree over a TreeNodeStore. The tree keeps its compact range
 * (the frontier: one complete subtree per set bit of the size) in memory and writes every
 * complete subtree to the store, which is what proofs and earlier roots are built from.
 */
export class MerkleTree {
  /** The store the tree reads and writes; shared with whoever opened it. */
  readonly store: TreeNodeStore;
  #size: number;
  /** frontier[l] is the hash of the complete subtree of 2^l leaves if bit l of the size is set. */
  readonly #frontier: Uint8Array[];
  #root: Uint8Array | undefined;

  private constructor(store: TreeNodeStore, size: number, frontier: Uint8Array[]) {
    this.store = store;
    this.#size = size;
    this.#frontier = frontier;
    this.#root = undefined;
  }

  /** An empty tree. Appends overwrite whatever the store held. */
  static create(store: TreeNodeStore = new MemoryTreeNodeStore()): MerkleTree {
    return new MerkleTree(store, 0, []);
  }

  /** The tree of the first `size` leaves in `store`, rebuilt from popcount(size) reads. */
  static open(store: TreeNodeStore, size: number): MerkleTree {
    toTreeSize(size);
    const frontier: Uint8Array[] = [];
    let remaining = size;
    for (let level = 0; remaining > 0; level++) {
      if (remaining % 2 === 1) {
        // The subtree for bit `level` is the one just left of the smaller ones: index remaining - 1.
        frontier[level] = new Uint8Array(readNode(store, level, remaining - 1));
      }
      remaining = Math.floor(remaining / 2);
    }
    return new MerkleTree(store, size, frontier);
  }

  get size(): TreeSize {
    return this.#size as TreeSize;
  }

  /** Appends SHA-256(0x00 || leafData) as the next leaf; returns its index. */
  append(leafData: Uint8Array): number {
    return this.#appendLeafHashOwned(leafHash(leafData));
  }

  /** Appends a leaf whose RFC 9162 leaf hash the caller already computed; returns its index. */
  appendLeafHash(hash: Uint8Array): number {
    checkHashLength(hash, "leaf hash");
    return this.#appendLeafHashOwned(new Uint8Array(hash));
  }

  // Writes the leaf and every subtree it completes (one per trailing one bit of the old size:
  // O(log n) worst case, under 2 writes on average), then updates the frontier. Nothing changes
  // in memory until every write succeeded, so a failed write can simply be retried.
  #appendLeafHashOwned(hash: Uint8Array): number {
    const index = this.#size;
    if (index >= TREE_SIZE_MAX) {
      throw new MerkleError(
        "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
        "the tree is full at 2^53 - 1 leaves",
      );
    }
    this.store.set(0, index, hash);
    let current = hash;
    let level = 0;
    let position = index;
    while (position % 2 === 1) {
      current = nodeHashUnchecked(this.#frontier[level]!, current);
      level += 1;
      position = (position - 1) / 2;
      this.store.set(level, position, current);
    }
    this.#frontier[level] = current;
    this.#size = index + 1;
    this.#root = undefined;
    return index;
  }

  /** The root hash: folds the frontier once after an append (O(log n) hashes), then memoized. */
  root(): Uint8Array {
    if (this.#root === undefined) this.#root = this.#foldFrontier();
    return new Uint8Array(this.#root);
  }

  #foldFrontier(): Uint8Array {
    let accumulated: Uint8Array | undefined;
    let remaining = this.#size;
    for (let level = 0; remaining > 0; level++) {
      if (remaining % 2 === 1) {
        const subtree = this.#frontier[level]!;
        accumulated = accumulated === undefined ? subtree : nodeHashUnchecked(subtree, accumulated);
      }
      remaining = Math.floor(remaining / 2);
    }
    return accumulated ?? EMPTY_ROOT_BYTES;
  }

  /** The root the tree had when it held `size` leaves: popcount(size) reads. */
  rootAt(size: number): Uint8Array {
    this.#checkSize(size, "tree size");
    if (size === this.#size) return this.root();
    if (size === 0) return new Uint8Array(EMPTY_ROOT_BYTES);
    return rangeHash(this.store, 0, size);
  }

  /** The RFC 9162 leaf hash of leaf `index`. */
  leafHash(index: number): Uint8Array {
    checkLeafIndex(index, this.#size);
    return new Uint8Array(readNode(this.store, 0, index));
  }

  /**
   * RFC 9162 2.1.3.1 inclusion proof of leaf `index` in the tree of its first `size` leaves
   * (default: all): sibling hashes from the leaf up, O(log n) reads.
   */
  inclusionProof(index: number, size: number = this.#size): Uint8Array[] {
    this.#checkSize(size, "tree size");
    checkLeafIndex(index, size);
    const proof: Uint8Array[] = [];
    appendPath(this.store, 0, index, size, proof);
    return proof;
  }

  /**
   * RFC 9162 2.1.4.1 consistency proof from the tree of `fromSize` leaves to that of `toSize`
   * (default: all): the subtree ending at leaf fromSize - 1 (omitted when fromSize is a power of
   * two, as it is then the old root), then the path from it to the new root. O(log n) reads.
   */
  consistencyProof(fromSize: number, toSize: number = this.#size): Uint8Array[] {
    this.#checkSize(toSize, "second tree size");
    toTreeSize(fromSize, "first tree size");
    if (fromSize > toSize) {
      throw new MerkleError(
        "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
        `first tree size ${fromSize} is larger than second tree size ${toSize}`,
      );
    }
    const proof: Uint8Array[] = [];
    if (fromSize === 0 || fromSize === toSize) return proof;
    const start = consistencyStartNode(fromSize);
    if (start.index !== 0)
      proof.push(new Uint8Array(readNode(this.store, start.level, start.index)));
    appendPath(this.store, start.level, start.index, toSize, proof);
    return proof;
  }

  #checkSize(size: number, what: string): void {
    toTreeSize(size, what);
    if (size > this.#size) {
      throw new MerkleError(
        "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
        `${what} ${size} is beyond the tree, which holds ${this.#size} leaves`,
      );
    }
  }
}
