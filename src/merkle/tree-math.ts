// Index arithmetic for trees of up to 2^53 - 1 leaves. JavaScript's bitwise operators work on 32
// bits, so shifts are written as exact divisions by powers of two (exact for safe integers).

import { MerkleError } from "./errors.js";

declare const treeSizeBrand: unique symbol;

/** A number of leaves: an integer from 0 to TREE_SIZE_MAX. */
export type TreeSize = number & { readonly [treeSizeBrand]: true };

/** The largest tree size whose leaf indices stay exact in a JavaScript number. */
export const TREE_SIZE_MAX = Number.MAX_SAFE_INTEGER;

/** Levels run from 0 (leaves) to 53 (the root of a 2^53-leaf tree). */
export const LEVEL_MAX = 53;

const POWERS_OF_TWO: readonly number[] = Array.from({ length: LEVEL_MAX + 1 }, (_, l) => 2 ** l);

/** 2^level, exact for every level a tree can have. */
export function powerOfTwo(level: number): number {
  return POWERS_OF_TWO[level]!;
}

export function isTreeSize(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Checks and brands a tree size. */
export function toTreeSize(value: number, what = "tree size"): TreeSize {
  if (!isTreeSize(value)) {
    throw new MerkleError(
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      `${what} ${value} is not an integer from 0 to 2^53 - 1`,
    );
  }
  return value as TreeSize;
}

export function checkLeafIndex(index: number, size: number): void {
  if (!isTreeSize(index)) {
    throw new MerkleError(
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      `leaf index ${index} is not an integer from 0 to 2^53 - 1`,
    );
  }
  if (index >= size) {
    throw new MerkleError(
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      `leaf index ${index} is outside a tree of size ${size}`,
    );
  }
}

/** Number of trailing zero bits of a positive integer. */
export function trailingZeroBits(value: number): number {
  let bits = 0;
  let rest = value;
  while (rest % 2 === 0) {
    rest /= 2;
    bits += 1;
  }
  return bits;
}

export function isPowerOfTwo(value: number): boolean {
  return value > 0 && powerOfTwo(trailingZeroBits(value)) === value;
}

/**
 * Number of hashes on the path from node (level, index) up to the root of a tree of `size`
 * leaves: one per level below the root at which the node's sibling holds at least one leaf.
 * The proof builder and both verifiers use this one definition.
 */
export function pathLength(level: number, index: number, size: number): number {
  let length = 0;
  let nodeIndex = index;
  for (let l = level; ; l++) {
    const lastIndex = Math.floor((size - 1) / powerOfTwo(l));
    if (lastIndex === 0) return length;
    const siblingIndex = nodeIndex % 2 === 0 ? nodeIndex + 1 : nodeIndex - 1;
    if (siblingIndex <= lastIndex) length += 1;
    nodeIndex = Math.floor(nodeIndex / 2);
  }
}

/**
 * The node a consistency proof from `size1` starts at: the largest complete aligned subtree that
 * ends at leaf size1 - 1 (level = trailing zero bits of size1).
 */
export function consistencyStartNode(size1: number): { level: number; index: number } {
  const level = trailingZeroBits(size1);
  return { level, index: size1 / powerOfTwo(level) - 1 };
}
