// RFC 9162 section 2.1.1: the hash of a leaf is SHA-256(0x00 || leaf) and the hash of an interior
// node is SHA-256(0x01 || left || right); the two prefixes keep a leaf from passing as a node.

import { SHA256_BYTES, sha256 } from "../crypto/index.js";
import { MerkleError } from "./errors.js";

/** Every hash the module reads or returns is a SHA-256 digest of this many bytes. */
export const MERKLE_HASH_BYTES = SHA256_BYTES;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
/** Leaves up to this size are hashed from a reused buffer; longer ones from a fresh one. */
const LEAF_SCRATCH_BYTES = 256;

// Reused for every hash: sha256 runs synchronously, so no caller can observe the contents.
const nodeInput = new Uint8Array(1 + 2 * MERKLE_HASH_BYTES);
nodeInput[0] = NODE_PREFIX;
const leafInput = new Uint8Array(1 + LEAF_SCRATCH_BYTES);
leafInput[0] = LEAF_PREFIX;

/** Internal: never handed to callers, who get copies from emptyRoot(). */
export const EMPTY_ROOT_BYTES: Uint8Array = sha256(new Uint8Array(0));

export function checkHashLength(hash: Uint8Array, what: string): void {
  if (hash.length !== MERKLE_HASH_BYTES) {
    throw new MerkleError(
      "WITNZ_MERKLE_HASH_LENGTH",
      `${what} has ${hash.length} bytes, expected ${MERKLE_HASH_BYTES}`,
    );
  }
}

/** The root of the empty tree: SHA-256 of the empty string. */
export function emptyRoot(): Uint8Array {
  return new Uint8Array(EMPTY_ROOT_BYTES);
}

/** SHA-256(0x00 || leafData), for leaf data of any length. */
export function leafHash(leafData: Uint8Array): Uint8Array {
  if (leafData.length <= LEAF_SCRATCH_BYTES) {
    leafInput.set(leafData, 1);
    return sha256(leafInput.subarray(0, 1 + leafData.length));
  }
  const input = new Uint8Array(1 + leafData.length);
  input[0] = LEAF_PREFIX;
  input.set(leafData, 1);
  return sha256(input);
}

/** SHA-256(0x01 || left || right) for two 32-byte child hashes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  checkHashLength(left, "left child hash");
  checkHashLength(right, "right child hash");
  return nodeHashUnchecked(left, right);
}

/** nodeHash for callers that already hold 32-byte hashes. Returns a fresh array. */
export function nodeHashUnchecked(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + MERKLE_HASH_BYTES);
  return sha256(nodeInput);
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let offset = 0; offset < a.length; offset++) {
    if (a[offset] !== b[offset]) return false;
  }
  return true;
}
