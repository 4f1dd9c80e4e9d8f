// Known-answer tests from the certificate-transparency reference implementation:
//   google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc
//   (kInputs, kSHA256EmptyTreeHash, kSHA256Roots, kSHA256Paths, kSHA256Proofs).
// That file numbers leaves from 1; the indices below are 0-based (its leaf 6 is our index 5).
// The consistency vector 6 -> 7 and the leaf hashes come from transparency-dev/merkle
// (cmd/proofgen/main.go and testdata/inclusion/*/happy-path.json), which reuse the same tree.
import { describe, expect, test } from "vitest";
import {
  emptyRoot,
  leafHash,
  MerkleTree,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from "../../src/merkle/index.js";
import { expectRejected } from "./helpers.js";
import { fromHex, hex, referenceLeafHash } from "./reference.js";

const EMPTY_TREE_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const INPUTS = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map(fromHex);

/** ROOTS[n - 1] is the root of the tree of the first n inputs. */
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const rootOf = (size: number): Uint8Array => fromHex(ROOTS[size - 1]!);

const INCLUSION_VECTORS = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    index: 2,
    size: 3,
    proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
  },
  {
    index: 1,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];

const CONSISTENCY_VECTORS = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

function treeOf(count: number): MerkleTree {
  const tree = MerkleTree.create();
  for (const input of INPUTS.slice(0, count)) tree.append(input);
  return tree;
}

const WRONG_HASH = fromHex(EMPTY_TREE_ROOT);

describe("RFC 6962 hashing", () => {
  test("the empty tree's root is SHA-256 of the empty string", () => {
    expect(hex(emptyRoot())).toBe(EMPTY_TREE_ROOT);
    expect(hex(MerkleTree.create().root())).toBe(EMPTY_TREE_ROOT);
  });

  test("leaf hashes carry the 0x00 prefix", () => {
    expect(hex(leafHash(INPUTS[0]!))).toBe(ROOTS[0]);
    expect(hex(leafHash(INPUTS[1]!))).toBe(
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    );
    expect(hex(leafHash(INPUTS[2]!))).toBe(
      "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    );
    expect(hex(leafHash(INPUTS[4]!))).toBe(
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    );
    expect(hex(leafHash(INPUTS[5]!))).toBe(
      "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    );
  });

  test("node hashes carry the 0x01 prefix: the two-leaf root", () => {
    expect(hex(nodeHash(leafHash(INPUTS[0]!), leafHash(INPUTS[1]!)))).toBe(ROOTS[1]);
  });

  test("leaf data longer than the reused scratch buffer hashes the same way", () => {
    const long = new Uint8Array(1000).fill(7);
    const tree = MerkleTree.create();
    tree.append(long);
    expect(hex(leafHash(long))).toBe(hex(referenceLeafHash(long)));
    expect(hex(tree.root())).toBe(hex(referenceLeafHash(long)));
    expect(hex(leafHash(long.subarray(0, 999)))).toBe(
      hex(referenceLeafHash(long.subarray(0, 999))),
    );
  });
});

describe("RFC 6962 roots", () => {
  test("appending leaf by leaf gives every reference root, and rootAt every earlier one", () => {
    const tree = MerkleTree.create();
    for (let count = 1; count <= 8; count++) {
      expect(tree.append(INPUTS[count - 1]!)).toBe(count - 1);
      expect(tree.size).toBe(count);
      expect(hex(tree.root())).toBe(ROOTS[count - 1]);
      expect(hex(tree.rootAt(0))).toBe(EMPTY_TREE_ROOT);
      for (let earlier = 1; earlier <= count; earlier++) {
        expect(hex(tree.rootAt(earlier))).toBe(ROOTS[earlier - 1]);
      }
    }
  });

  test("appending in two runs, or by leaf hash, gives the same root", () => {
    const byRuns = treeOf(3);
    expect(hex(byRuns.root())).toBe(ROOTS[2]);
    for (const input of INPUTS.slice(3)) byRuns.append(input);
    expect(hex(byRuns.root())).toBe(ROOTS[7]);

    const byHash = MerkleTree.create();
    for (const input of INPUTS) byHash.appendLeafHash(leafHash(input));
    expect(hex(byHash.root())).toBe(ROOTS[7]);
    expect(hex(byHash.leafHash(5))).toBe(hex(leafHash(INPUTS[5]!)));
  });
});

describe("RFC 6962 inclusion proofs", () => {
  const tree = treeOf(8);
  for (const vector of INCLUSION_VECTORS) {
    const name = `leaf ${vector.index} in a tree of ${vector.size}`;
    const proof = vector.proof.map(fromHex);
    const leaf = leafHash(INPUTS[vector.index]!);
    const root = rootOf(vector.size);

    test(`${name}: the tree builds the reference proof`, () => {
      expect(tree.inclusionProof(vector.index, vector.size).map(hex)).toEqual(vector.proof);
      expect(treeOf(vector.size).inclusionProof(vector.index).map(hex)).toEqual(vector.proof);
    });

    test(`${name}: the reference proof verifies`, () => {
      expect(verifyInclusion(leaf, vector.index, vector.size, proof, root)).toBe(true);
    });

    test(`${name}: every alteration is refused`, () => {
      const { index, size } = vector;
      expectRejected(() => verifyInclusion(leaf, index - 1, size, proof, root));
      expectRejected(() => verifyInclusion(leaf, index + 1, size, proof, root));
      expectRejected(() => verifyInclusion(leaf, index ^ 2, size, proof, root));
      expectRejected(() => verifyInclusion(leaf, index, size * 2, proof, root));
      expectRejected(() => verifyInclusion(leaf, index, Math.floor(size / 2), proof, root));
      expectRejected(() => verifyInclusion(leafHash(fromHex("ff")), index, size, proof, root));
      expectRejected(() => verifyInclusion(leaf, index, size, proof, WRONG_HASH));
      for (let position = 0; position < proof.length; position++) {
        const altered = [...proof];
        altered[position] = WRONG_HASH;
        expectRejected(() => verifyInclusion(leaf, index, size, altered, root));
      }
      expectRejected(() => verifyInclusion(leaf, index, size, [...proof, root], root));
      expectRejected(() => verifyInclusion(leaf, index, size, [root, ...proof], root));
      if (proof.length > 0) {
        expectRejected(() => verifyInclusion(leaf, index, size, proof.slice(0, -1), root));
      }
    });
  }
});

describe("RFC 6962 consistency proofs", () => {
  const tree = treeOf(8);
  for (const vector of CONSISTENCY_VECTORS) {
    const name = `from ${vector.size1} to ${vector.size2}`;
    const proof = vector.proof.map(fromHex);
    const root1 = rootOf(vector.size1);
    const root2 = rootOf(vector.size2);

    test(`${name}: the tree builds the reference proof`, () => {
      expect(tree.consistencyProof(vector.size1, vector.size2).map(hex)).toEqual(vector.proof);
      expect(treeOf(vector.size2).consistencyProof(vector.size1).map(hex)).toEqual(vector.proof);
    });

    test(`${name}: the reference proof verifies`, () => {
      expect(verifyConsistency(vector.size1, vector.size2, proof, root1, root2)).toBe(true);
    });

    test(`${name}: every alteration is refused`, () => {
      const { size1, size2 } = vector;
      expectRejected(() => verifyConsistency(size1, size2, proof, root1, WRONG_HASH));
      expectRejected(() => verifyConsistency(size1, size2, proof, WRONG_HASH, root2));
      if (size1 === size2) return;
      expectRejected(() => verifyConsistency(size1 - 1, size2, proof, root1, root2));
      expectRejected(() => verifyConsistency(size1 + 1, size2, proof, root1, root2));
      expectRejected(() => verifyConsistency(size1 ^ 2, size2, proof, root1, root2));
      expectRejected(() => verifyConsistency(size1, size2 * 2, proof, root1, root2));
      expectRejected(() => verifyConsistency(size1, Math.floor(size2 / 2), proof, root1, root2));
      expectRejected(() => verifyConsistency(size1, size2, proof, root2, root1));
      expectRejected(() => verifyConsistency(size1, size2, [], root1, root2));
      for (let position = 0; position < proof.length; position++) {
        const altered = [...proof];
        altered[position] = WRONG_HASH;
        expectRejected(() => verifyConsistency(size1, size2, altered, root1, root2));
      }
      expectRejected(() =>
        verifyConsistency(size1, size2, [...proof, proof.at(-1)!], root1, root2),
      );
      expectRejected(() => verifyConsistency(size1, size2, proof.slice(0, -1), root1, root2));
      expectRejected(() => verifyConsistency(size1, size2, [proof[0]!, ...proof], root1, root2));
    });
  }

  test("the empty tree is consistent with every tree, by an empty proof", () => {
    expect(verifyConsistency(0, 0, [], emptyRoot(), emptyRoot())).toBe(true);
    expect(verifyConsistency(0, 8, [], emptyRoot(), rootOf(8))).toBe(true);
    expect(verifyConsistency(0, 8, [], rootOf(1), rootOf(8))).toBe(false);
    expect(verifyConsistency(0, 0, [], rootOf(1), rootOf(1))).toBe(false);
    expect(tree.consistencyProof(0, 8)).toEqual([]);
  });
});
