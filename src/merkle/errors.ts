export type MerkleErrorCode =
  | "WITNZ_MERKLE_INDEX_OUT_OF_RANGE"
  | "WITNZ_MERKLE_SIZE_OUT_OF_RANGE"
  | "WITNZ_MERKLE_HASH_LENGTH"
  | "WITNZ_MERKLE_PROOF_LENGTH"
  | "WITNZ_MERKLE_NODE_MISSING"
  | "WITNZ_MERKLE_STORE_INCONSISTENT";

/**
 * Every refusal of the Merkle module: malformed input (an index outside the tree, a hash of the
 * wrong length, a proof of the wrong length) or a node store that lacks or contradicts a node.
 * A well-formed proof that does not verify is not an error: verification returns false.
 */
export class MerkleError extends Error {
  readonly code: MerkleErrorCode;
  constructor(code: MerkleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MerkleError";
    this.code = code;
  }
}
