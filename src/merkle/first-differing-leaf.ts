import { MerkleError } from "./errors.js";
import { equalHashes } from "./hashing.js";
import type { TreeNodeReader } from "./node-store.js";
import { MerkleTree, readNode } from "./tree.js";
import { powerOfTwo, toTreeSize } from "./tree-math.js";

function readerOf(tree: TreeNodeReader | MerkleTree, size: number, name: string): TreeNodeReader {
  if (!(tree instanceof MerkleTree)) return tree;
  if (tree.size < size) {
    throw new MerkleError(
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      `tree ${name} holds ${tree.size} leaves, fewer than the ${size} to compare`,
    );
  }
  return tree.store;
}

/** Whether node (level, index) holds the same hash in both readers. */
function sameNode(a: TreeNodeReader, b: TreeNodeReader, level: number, index: number): boolean {
  // Copy the first read: a and b may be one store whose next read reuses the same bytes.
  const hashA = new Uint8Array(readNode(a, level, index));
  return equalHashes(hashA, readNode(b, level, index));
}

/**
 * The index of the first of the first `size` leaves whose hash differs between two trees, or
 * undefined if those leaves all agree. Compares the complete subtrees that make up [0, size)
 * left to right, then descends into the first that differs: left child equal, go right.
 * At most popcount(size) + 2 log2(size) node comparisons.
 *
 * Throws MerkleError if a tree is smaller than `size`, a node is missing, or a store holds an
 * interior hash that disagrees while both of its children agree (the store contradicts itself).
 */
export function firstDifferingLeaf(
  a: TreeNodeReader | MerkleTree,
  b: TreeNodeReader | MerkleTree,
  size: number,
): number | undefined {
  toTreeSize(size);
  const readerA = readerOf(a, size, "a");
  const readerB = readerOf(b, size, "b");
  let remaining = size;
  let position = 0;
  let level = 0;
  while (powerOfTwo(level) * 2 <= remaining) level += 1;
  for (; remaining > 0; level--) {
    const width = powerOfTwo(level);
    if (width > remaining) continue;
    const index = position / width;
    if (!sameNode(readerA, readerB, level, index)) return descend(readerA, readerB, level, index);
    position += width;
    remaining -= width;
  }
  return undefined;
}

function descend(a: TreeNodeReader, b: TreeNodeReader, level: number, index: number): number {
  let nodeIndex = index;
  for (let l = level; l > 0; l--) {
    const leftIndex = nodeIndex * 2;
    if (!sameNode(a, b, l - 1, leftIndex)) {
      nodeIndex = leftIndex;
    } else if (!sameNode(a, b, l - 1, leftIndex + 1)) {
      nodeIndex = leftIndex + 1;
    } else {
      throw new MerkleError(
        "WITNZ_MERKLE_STORE_INCONSISTENT",
        `node at level ${l}, index ${nodeIndex} differs between the trees but both of its ` +
          "children agree: a store holds an interior hash that does not match its children",
      );
    }
  }
  return nodeIndex;
}
