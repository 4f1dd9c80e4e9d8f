// Proof verification exactly as RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency).
// A proof's length is fixed by its sizes and index, so a proof of any other length is malformed
// and throws; a proof of the right shape that does not lead to the given roots returns false.

import { MerkleError } from "./errors.js";
import { checkHashLength, EMPTY_ROOT_BYTES, equalHashes, nodeHashUnchecked } from "./hashing.js";
import {
  checkLeafIndex,
  consistencyStartNode,
  isPowerOfTwo,
  pathLength,
  toTreeSize,
} from "./tree-math.js";

function hashCount(count: number): string {
  return count === 1 ? "1 hash" : `${count} hashes`;
}

function checkSizePair(size1: number, size2: number): void {
  toTreeSize(size1, "first tree size");
  toTreeSize(size2, "second tree size");
  if (size1 > size2) {
    throw new MerkleError(
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      `first tree size ${size1} is larger than second tree size ${size2}`,
    );
  }
}

/** How many hashes an inclusion proof for leaf `index` in a tree of `size` leaves holds. */
export function inclusionProofLength(index: number, size: number): number {
  toTreeSize(size);
  checkLeafIndex(index, size);
  return pathLength(0, index, size);
}

/** How many hashes a consistency proof from `size1` to `size2` leaves holds. */
export function consistencyProofLength(size1: number, size2: number): number {
  checkSizePair(size1, size2);
  if (size1 === 0 || size1 === size2) return 0;
  const start = consistencyStartNode(size1);
  // When size1 is a power of two the start node is the old root itself, which the verifier has.
  return (start.index === 0 ? 0 : 1) + pathLength(start.level, start.index, size2);
}

function checkProofHashes(proof: readonly Uint8Array[], kind: string): void {
  for (let position = 0; position < proof.length; position++) {
    checkHashLength(proof[position]!, `${kind} proof hash ${position}`);
  }
}

/**
 * True if `proof` shows that the leaf with hash `leafHash` is leaf `index` of the tree of `size`
 * leaves whose root is `root`. Throws MerkleError if the index is outside the tree, a hash is
 * not 32 bytes, or the proof does not have the length the index and size require.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  toTreeSize(size);
  checkLeafIndex(index, size);
  checkHashLength(leafHash, "leaf hash");
  checkHashLength(root, `root of size ${size}`);
  checkProofHashes(proof, "inclusion");
  const expected = pathLength(0, index, size);
  if (proof.length !== expected) {
    throw new MerkleError(
      "WITNZ_MERKLE_PROOF_LENGTH",
      `inclusion proof has ${hashCount(proof.length)}, expected ${expected} for index ${index} ` +
        `in a tree of size ${size}`,
    );
  }
  // RFC 9162 2.1.3.2, steps 2 to 5; fn and sn are shifted by exact halving (see tree-math.ts).
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHashUnchecked(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHashUnchecked(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalHashes(r, root);
}

/**
 * True if `proof` shows that the tree of `size1` leaves with root `root1` is a prefix of the
 * tree of `size2` leaves with root `root2`. For size1 = size2 the proof is empty and the roots
 * must be equal; for size1 = 0 the proof is empty and root1 must be the empty tree's root.
 * Throws MerkleError if size1 > size2, a hash is not 32 bytes, or the proof has the wrong length.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  checkSizePair(size1, size2);
  checkHashLength(root1, `root of size ${size1}`);
  checkHashLength(root2, `root of size ${size2}`);
  checkProofHashes(proof, "consistency");
  const expected = consistencyProofLength(size1, size2);
  if (proof.length !== expected) {
    throw new MerkleError(
      "WITNZ_MERKLE_PROOF_LENGTH",
      `consistency proof has ${hashCount(proof.length)}, expected ${expected} from size ${size1} ` +
        `to size ${size2}`,
    );
  }
  if (size1 === 0) {
    // Every tree extends the empty tree; only the claimed empty root can be wrong.
    return equalHashes(root1, EMPTY_ROOT_BYTES) && (size2 > 0 || equalHashes(root2, root1));
  }
  if (size1 === size2) return equalHashes(root1, root2);
  // RFC 9162 2.1.4.2, steps 1 to 7.
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let position = 1; position < path.length; position++) {
    const c = path[position]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHashUnchecked(c, fr);
      sr = nodeHashUnchecked(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHashUnchecked(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalHashes(fr, root1) && equalHashes(sr, root2);
}
