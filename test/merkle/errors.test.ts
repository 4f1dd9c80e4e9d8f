// Malformed input throws a MerkleError whose code and message name the problem.
import { describe, expect, test } from "vitest";
import {
  consistencyProofLength,
  firstDifferingLeaf,
  inclusionProofLength,
  MemoryTreeNodeStore,
  MerkleError,
  type MerkleErrorCode,
  MerkleTree,
  nodeHash,
  toTreeSize,
  verifyConsistency,
  verifyInclusion,
} from "../../src/merkle/index.js";
import { buildTree } from "./helpers.js";
import { referenceLeafHash } from "./reference.js";

function expectMerkleError(action: () => unknown, code: MerkleErrorCode, message: string): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(MerkleError);
  expect((thrown as MerkleError).code).toBe(code);
  expect((thrown as MerkleError).message).toBe(message);
  expect((thrown as MerkleError).name).toBe("MerkleError");
}

const { tree: tree12, leafHashes } = buildTree(11, 12);
const root12 = tree12.root();
const leaf5 = leafHashes[5]!;
const proof5 = tree12.inclusionProof(5);
const hash32 = new Uint8Array(32);

describe("verifyInclusion refuses malformed input", () => {
  test("an index outside the tree", () => {
    expectMerkleError(
      () => verifyInclusion(leaf5, 12, 12, proof5, root12),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index 12 is outside a tree of size 12",
    );
    expectMerkleError(
      () => verifyInclusion(leaf5, 0, 0, [], root12),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index 0 is outside a tree of size 0",
    );
  });

  test("an index or size that is not a non-negative integer", () => {
    expectMerkleError(
      () => verifyInclusion(leaf5, -1, 12, proof5, root12),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index -1 is not an integer from 0 to 2^53 - 1",
    );
    expectMerkleError(
      () => verifyInclusion(leaf5, 1.5, 12, proof5, root12),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index 1.5 is not an integer from 0 to 2^53 - 1",
    );
    expectMerkleError(
      () => verifyInclusion(leaf5, 5, Number.NaN, proof5, root12),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "tree size NaN is not an integer from 0 to 2^53 - 1",
    );
    expectMerkleError(
      () => verifyInclusion(leaf5, 5, 2 ** 53, proof5, root12),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "tree size 9007199254740992 is not an integer from 0 to 2^53 - 1",
    );
  });

  test("hashes of the wrong length", () => {
    expectMerkleError(
      () => verifyInclusion(leaf5.subarray(1), 5, 12, proof5, root12),
      "WITNZ_MERKLE_HASH_LENGTH",
      "leaf hash has 31 bytes, expected 32",
    );
    expectMerkleError(
      () => verifyInclusion(leaf5, 5, 12, proof5, new Uint8Array(33)),
      "WITNZ_MERKLE_HASH_LENGTH",
      "root of size 12 has 33 bytes, expected 32",
    );
    const shortened = [...proof5];
    shortened[2] = proof5[2]!.subarray(0, 31);
    expectMerkleError(
      () => verifyInclusion(leaf5, 5, 12, shortened, root12),
      "WITNZ_MERKLE_HASH_LENGTH",
      "inclusion proof hash 2 has 31 bytes, expected 32",
    );
  });

  test("a proof of the wrong length", () => {
    expect(proof5.length).toBe(4);
    expectMerkleError(
      () => verifyInclusion(leaf5, 5, 12, proof5.slice(1), root12),
      "WITNZ_MERKLE_PROOF_LENGTH",
      "inclusion proof has 3 hashes, expected 4 for index 5 in a tree of size 12",
    );
    expectMerkleError(
      () => verifyInclusion(leaf5, 0, 1, [hash32], root12),
      "WITNZ_MERKLE_PROOF_LENGTH",
      "inclusion proof has 1 hash, expected 0 for index 0 in a tree of size 1",
    );
  });
});

describe("verifyConsistency refuses malformed input", () => {
  const { tree: tree8 } = buildTree(12, 8);
  const root6 = tree8.rootAt(6);
  const root8 = tree8.root();
  const proof6to8 = tree8.consistencyProof(6);

  test("a first size larger than the second", () => {
    expectMerkleError(
      () => verifyConsistency(9, 8, [], root8, root8),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "first tree size 9 is larger than second tree size 8",
    );
    expectMerkleError(
      () => verifyConsistency(-2, 8, [], root8, root8),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "first tree size -2 is not an integer from 0 to 2^53 - 1",
    );
  });

  test("hashes of the wrong length", () => {
    expectMerkleError(
      () => verifyConsistency(6, 8, proof6to8, root6.subarray(1), root8),
      "WITNZ_MERKLE_HASH_LENGTH",
      "root of size 6 has 31 bytes, expected 32",
    );
    expectMerkleError(
      () => verifyConsistency(6, 8, proof6to8, root6, new Uint8Array(0)),
      "WITNZ_MERKLE_HASH_LENGTH",
      "root of size 8 has 0 bytes, expected 32",
    );
    expectMerkleError(
      () => verifyConsistency(6, 8, [new Uint8Array(0), ...proof6to8.slice(1)], root6, root8),
      "WITNZ_MERKLE_HASH_LENGTH",
      "consistency proof hash 0 has 0 bytes, expected 32",
    );
  });

  test("a proof of the wrong length", () => {
    expectMerkleError(
      () => verifyConsistency(6, 8, proof6to8.slice(0, 2), root6, root8),
      "WITNZ_MERKLE_PROOF_LENGTH",
      "consistency proof has 2 hashes, expected 3 from size 6 to size 8",
    );
    expectMerkleError(
      () => verifyConsistency(8, 8, [hash32], root8, root8),
      "WITNZ_MERKLE_PROOF_LENGTH",
      "consistency proof has 1 hash, expected 0 from size 8 to size 8",
    );
    expectMerkleError(
      () => verifyConsistency(0, 8, [hash32], root8, root8),
      "WITNZ_MERKLE_PROOF_LENGTH",
      "consistency proof has 1 hash, expected 0 from size 0 to size 8",
    );
  });
});

describe("hashing and proof lengths refuse malformed input", () => {
  test("nodeHash takes two 32-byte hashes", () => {
    expectMerkleError(
      () => nodeHash(hash32.subarray(1), hash32),
      "WITNZ_MERKLE_HASH_LENGTH",
      "left child hash has 31 bytes, expected 32",
    );
    expectMerkleError(
      () => nodeHash(hash32, new Uint8Array(64)),
      "WITNZ_MERKLE_HASH_LENGTH",
      "right child hash has 64 bytes, expected 32",
    );
  });

  test("proof lengths are defined only inside the tree", () => {
    expect(inclusionProofLength(5, 12)).toBe(4);
    expect(consistencyProofLength(6, 8)).toBe(3);
    expectMerkleError(
      () => inclusionProofLength(12, 12),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index 12 is outside a tree of size 12",
    );
    expectMerkleError(
      () => consistencyProofLength(3, 2),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "first tree size 3 is larger than second tree size 2",
    );
    expectMerkleError(
      () => toTreeSize(-1),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "tree size -1 is not an integer from 0 to 2^53 - 1",
    );
  });
});

describe("MerkleTree refuses requests beyond its leaves", () => {
  const { tree: tree8, store } = buildTree(13, 8);

  test("leaf indices and sizes past the tree", () => {
    expectMerkleError(
      () => tree8.inclusionProof(8),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index 8 is outside a tree of size 8",
    );
    expectMerkleError(
      () => tree8.inclusionProof(5, 5),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index 5 is outside a tree of size 5",
    );
    expectMerkleError(
      () => tree8.inclusionProof(0, 9),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "tree size 9 is beyond the tree, which holds 8 leaves",
    );
    expectMerkleError(
      () => tree8.rootAt(9),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "tree size 9 is beyond the tree, which holds 8 leaves",
    );
    expectMerkleError(
      () => tree8.leafHash(8),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "leaf index 8 is outside a tree of size 8",
    );
    expectMerkleError(
      () => tree8.consistencyProof(5, 3),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "first tree size 5 is larger than second tree size 3",
    );
    expectMerkleError(
      () => tree8.consistencyProof(1, 9),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "second tree size 9 is beyond the tree, which holds 8 leaves",
    );
  });

  test("a leaf hash of the wrong length is not appended", () => {
    const tree = MerkleTree.create();
    expectMerkleError(
      () => tree.appendLeafHash(new Uint8Array(31)),
      "WITNZ_MERKLE_HASH_LENGTH",
      "leaf hash has 31 bytes, expected 32",
    );
    expect(tree.size).toBe(0);
  });

  test("opening at a size the store does not hold", () => {
    expectMerkleError(
      () => MerkleTree.open(new MemoryTreeNodeStore(), 5),
      "WITNZ_MERKLE_NODE_MISSING",
      "the node store has no hash at level 0, index 4",
    );
    expectMerkleError(
      () => MerkleTree.open(store, 12),
      "WITNZ_MERKLE_NODE_MISSING",
      "the node store has no hash at level 2, index 2",
    );
    expectMerkleError(
      () => MerkleTree.open(store, -1),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "tree size -1 is not an integer from 0 to 2^53 - 1",
    );
  });
});

describe("firstDifferingLeaf refuses what it cannot compare", () => {
  test("a tree smaller than the size to compare", () => {
    const { tree: tree4 } = buildTree(14, 4);
    const { tree: tree5 } = buildTree(14, 5);
    expectMerkleError(
      () => firstDifferingLeaf(tree5, tree4, 5),
      "WITNZ_MERKLE_SIZE_OUT_OF_RANGE",
      "tree b holds 4 leaves, fewer than the 5 to compare",
    );
    expectMerkleError(
      () => firstDifferingLeaf(tree5.store, tree4.store, 5),
      "WITNZ_MERKLE_NODE_MISSING",
      "the node store has no hash at level 0, index 4",
    );
  });

  test("a store whose interior hash contradicts its children", () => {
    const left = referenceLeafHash(Uint8Array.of(1));
    const right = referenceLeafHash(Uint8Array.of(2));
    const honest = new MemoryTreeNodeStore();
    const corrupt = new MemoryTreeNodeStore();
    for (const store of [honest, corrupt]) {
      store.set(0, 0, left);
      store.set(0, 1, right);
    }
    honest.set(1, 0, nodeHash(left, right));
    corrupt.set(1, 0, nodeHash(right, left));
    expectMerkleError(
      () => firstDifferingLeaf(honest, corrupt, 2),
      "WITNZ_MERKLE_STORE_INCONSISTENT",
      "node at level 1, index 0 differs between the trees but both of its children agree: " +
        "a store holds an interior hash that does not match its children",
    );
  });
});

describe("MemoryTreeNodeStore refuses writes it cannot hold", () => {
  test("out of order, on a level past 53, or of the wrong length", () => {
    const store = new MemoryTreeNodeStore();
    expectMerkleError(
      () => store.set(0, 5, hash32),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "level 0 holds 0 nodes and is written in order: cannot write index 5",
    );
    expectMerkleError(
      () => store.set(54, 0, hash32),
      "WITNZ_MERKLE_INDEX_OUT_OF_RANGE",
      "node level 54 is not an integer from 0 to 53",
    );
    expectMerkleError(
      () => store.set(0, 0, new Uint8Array(31)),
      "WITNZ_MERKLE_HASH_LENGTH",
      "node hash at level 0, index 0 has 31 bytes, expected 32",
    );
    expect(store.get(0, 0)).toBeUndefined();
  });
});
