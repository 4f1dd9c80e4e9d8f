export { MerkleError, type MerkleErrorCode } from "./errors.js";
export { firstDifferingLeaf } from "./first-differing-leaf.js";
export { emptyRoot, leafHash, MERKLE_HASH_BYTES, nodeHash } from "./hashing.js";
export { MemoryTreeNodeStore, type TreeNodeReader, type TreeNodeStore } from "./node-store.js";
export { MerkleTree } from "./tree.js";
export { TREE_SIZE_MAX, type TreeSize, toTreeSize } from "./tree-math.js";
export {
  consistencyProofLength,
  inclusionProofLength,
  verifyConsistency,
  verifyInclusion,
} from "./verify.js";
