// Property tests against the plain RFC 9162 recursion in reference.ts. Seeds are fixed so a run
// replays; fast-check prints the seed and the shrunk counterexample of any failure.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  consistencyProofLength,
  firstDifferingLeaf,
  inclusionProofLength,
  MemoryTreeNodeStore,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
} from "../../src/merkle/index.js";
import { buildTree, expectRejected, flipBit, ReusedBufferStore } from "./helpers.js";
import {
  hex,
  naiveConsistencyProof,
  naiveInclusionProof,
  naiveRoot,
  naiveRootOfLeafHashes,
  testLeaf,
} from "./reference.js";

const SEED = 20_261_123;
const SIZE_MAX = 3000;

/** Random sizes, with the edges around powers of two drawn often. */
const treeSizes = fc.oneof(
  fc.integer({ min: 1, max: SIZE_MAX }),
  fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1023, 1024, 1025, 2048, 2049),
);

describe("roots", () => {
  test("the root after every append equals the RFC recursion", () => {
    const { tree, leaves } = buildTree(1, 0);
    expect(hex(tree.root())).toBe(hex(naiveRoot([])));
    for (let index = 0; index < 300; index++) {
      leaves.push(testLeaf(1, index));
      tree.append(leaves[index]!);
      expect(hex(tree.root()), `size ${index + 1}`).toBe(hex(naiveRoot(leaves)));
    }
  });

  test("the root of a random-size tree equals the RFC recursion", () => {
    fc.assert(
      fc.property(treeSizes, fc.nat(), (size, seed) => {
        const { tree, leaves } = buildTree(seed, size);
        expect(hex(tree.root())).toBe(hex(naiveRoot(leaves)));
        expect(hex(tree.root())).toBe(hex(tree.root()));
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  test("rootAt(m) equals the root of a fresh tree of m leaves", () => {
    fc.assert(
      fc.property(treeSizes, fc.nat(), fc.nat(), (size, seed, pick) => {
        const { tree } = buildTree(seed, size);
        const earlier = pick % (size + 1);
        expect(hex(tree.rootAt(earlier))).toBe(hex(buildTree(seed, earlier).tree.root()));
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});

describe("returned hashes", () => {
  test("belong to the caller: changing them changes nothing in the tree", () => {
    const { tree } = buildTree(4, 13);
    const root = hex(tree.root());
    const earlierRoot = hex(tree.rootAt(8));
    const leaf = hex(tree.leafHash(12));
    const proof = tree.inclusionProof(12).map(hex);
    const consistency = tree.consistencyProof(8).map(hex);
    tree.root().fill(0);
    tree.rootAt(8).fill(0);
    tree.leafHash(12).fill(0);
    for (const hash of tree.inclusionProof(12)) hash.fill(0);
    for (const hash of tree.consistencyProof(8)) hash.fill(0);
    expect(hex(tree.root())).toBe(root);
    expect(hex(tree.rootAt(8))).toBe(earlierRoot);
    expect(hex(tree.leafHash(12))).toBe(leaf);
    expect(tree.inclusionProof(12).map(hex)).toEqual(proof);
    expect(tree.consistencyProof(8).map(hex)).toEqual(consistency);
    const appendedHash = tree.leafHash(0);
    const sameLeaves = MerkleTree.create();
    sameLeaves.appendLeafHash(appendedHash);
    appendedHash.fill(0);
    expect(hex(sameLeaves.leafHash(0))).toBe(hex(tree.leafHash(0)));
    expect(hex(sameLeaves.root())).toBe(hex(tree.leafHash(0)));
  });
});

describe("inclusion proofs", () => {
  test("every leaf's proof verifies, and equals PATH(m, D[n]) where sampled", () => {
    fc.assert(
      fc.property(treeSizes, fc.nat(), fc.nat(), (size, seed, pick) => {
        const { tree, leafHashes } = buildTree(seed, size);
        const root = tree.root();
        for (let index = 0; index < size; index++) {
          const proof = tree.inclusionProof(index);
          expect(proof.length).toBe(inclusionProofLength(index, size));
          expect(verifyInclusion(leafHashes[index]!, index, size, proof, root)).toBe(true);
        }
        const sampled = pick % size;
        expect(tree.inclusionProof(sampled).map(hex)).toEqual(
          naiveInclusionProof(sampled, leafHashes).map(hex),
        );
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  test("a proof in an earlier tree equals PATH(m, D[size]) and verifies against rootAt", () => {
    fc.assert(
      fc.property(treeSizes, fc.nat(), fc.nat(), fc.nat(), (size, seed, pickSize, pickIndex) => {
        const { tree, leafHashes } = buildTree(seed, size);
        const earlier = 1 + (pickSize % size);
        const index = pickIndex % earlier;
        const proof = tree.inclusionProof(index, earlier);
        expect(proof.map(hex)).toEqual(
          naiveInclusionProof(index, leafHashes.slice(0, earlier)).map(hex),
        );
        expect(
          verifyInclusion(leafHashes[index]!, index, earlier, proof, tree.rootAt(earlier)),
        ).toBe(true);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  test("altering any hash, the leaf, the index or the size is refused", () => {
    fc.assert(
      fc.property(treeSizes, fc.nat(), fc.nat(), fc.nat(255), (size, seed, pick, bit) => {
        const { tree, leafHashes } = buildTree(seed, size);
        const root = tree.root();
        const index = pick % size;
        const leaf = leafHashes[index]!;
        const proof = tree.inclusionProof(index);
        for (let position = 0; position < proof.length; position++) {
          const altered = [...proof];
          altered[position] = flipBit(proof[position]!, bit);
          expect(verifyInclusion(leaf, index, size, altered, root)).toBe(false);
        }
        expect(verifyInclusion(flipBit(leaf, bit), index, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, proof, flipBit(root, bit))).toBe(false);
        for (const otherIndex of [index - 1, index + 1, index ^ 2, index ^ 1]) {
          if (otherIndex === index || otherIndex < 0) continue;
          expectRejected(() => verifyInclusion(leaf, otherIndex, size, proof, root));
        }
        // An inclusion proof binds the size only through the levels it climbs, so a size a few
        // leaves off can share the proof (the signed checkpoint binds the size); doubling or
        // halving the size always changes the proof's length, as in the reference tests.
        expectRejected(() => verifyInclusion(leaf, index, size * 2, proof, root));
        expectRejected(() => verifyInclusion(leaf, index, Math.floor(size / 2), proof, root));
        expectRejected(() => verifyInclusion(leaf, index, size, [...proof, root], root));
        if (proof.length > 0) {
          expectRejected(() => verifyInclusion(leaf, index, size, proof.slice(1), root));
        }
        if (proof.length > 1) {
          expectRejected(() => verifyInclusion(leaf, index, size, proof.toReversed(), root));
        }
      }),
      { seed: SEED, numRuns: 80 },
    );
  });
});

describe("consistency proofs", () => {
  const sizePairs = treeSizes.chain((size) =>
    fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size }), fc.nat()),
  );

  test("the proof between random m <= n equals PROOF(m, D[n]) and verifies", () => {
    fc.assert(
      fc.property(sizePairs, ([size, earlier, seed]) => {
        const { tree, leafHashes } = buildTree(seed, size);
        const proof = tree.consistencyProof(earlier);
        expect(proof.length).toBe(consistencyProofLength(earlier, size));
        expect(proof.map(hex)).toEqual(naiveConsistencyProof(earlier, leafHashes).map(hex));
        const root1 = naiveRootOfLeafHashes(leafHashes.slice(0, earlier));
        expect(verifyConsistency(earlier, size, proof, root1, tree.root())).toBe(true);
      }),
      { seed: SEED, numRuns: 80 },
    );
  });

  test("proofs between two earlier sizes verify against rootAt", () => {
    fc.assert(
      fc.property(sizePairs, fc.nat(), ([size, second, seed], pick) => {
        const { tree, leafHashes } = buildTree(seed, size);
        const first = pick % (second + 1);
        const proof = tree.consistencyProof(first, second);
        expect(proof.map(hex)).toEqual(
          naiveConsistencyProof(first, leafHashes.slice(0, second)).map(hex),
        );
        expect(
          verifyConsistency(first, second, proof, tree.rootAt(first), tree.rootAt(second)),
        ).toBe(true);
      }),
      { seed: SEED, numRuns: 80 },
    );
  });

  test("altering any hash, either root or either size is refused", () => {
    fc.assert(
      fc.property(sizePairs, fc.nat(255), ([size, earlier, seed], bit) => {
        fc.pre(earlier > 0 && earlier < size);
        const { tree } = buildTree(seed, size);
        const root1 = tree.rootAt(earlier);
        const root2 = tree.root();
        const proof = tree.consistencyProof(earlier);
        for (let position = 0; position < proof.length; position++) {
          const altered = [...proof];
          altered[position] = flipBit(proof[position]!, bit);
          expect(verifyConsistency(earlier, size, altered, root1, root2)).toBe(false);
        }
        expect(verifyConsistency(earlier, size, proof, flipBit(root1, bit), root2)).toBe(false);
        expect(verifyConsistency(earlier, size, proof, root1, flipBit(root2, bit))).toBe(false);
        expectRejected(() => verifyConsistency(earlier, size, proof, root2, root1));
        for (const otherEarlier of [earlier - 1, earlier + 1, earlier ^ 2]) {
          if (otherEarlier === earlier || otherEarlier < 0) continue;
          expectRejected(() => verifyConsistency(otherEarlier, size, proof, root1, root2));
        }
        // As with inclusion, only doubling or halving the second size is certain to matter.
        expectRejected(() => verifyConsistency(earlier, size * 2, proof, root1, root2));
        expectRejected(() => verifyConsistency(earlier, size >> 1, proof, root1, root2));
        expectRejected(() => verifyConsistency(earlier, size, proof.slice(1), root1, root2));
        expectRejected(() => verifyConsistency(earlier, size, [...proof, root2], root1, root2));
        if (proof.length > 1) {
          expectRejected(() => verifyConsistency(earlier, size, proof.toReversed(), root1, root2));
        }
      }),
      { seed: SEED, numRuns: 80 },
    );
  });
});

describe("opening a stored tree", () => {
  test("open(store, m) reproduces the root and proofs of the tree at m", () => {
    fc.assert(
      fc.property(sizePairsForOpen(), ([size, opened, seed, pick]) => {
        const { tree, store } = buildTree(seed, size);
        const reopened = MerkleTree.open(store, opened);
        expect(reopened.size).toBe(opened);
        expect(hex(reopened.root())).toBe(hex(tree.rootAt(opened)));
        if (opened > 0) {
          const index = pick % opened;
          expect(reopened.inclusionProof(index).map(hex)).toEqual(
            tree.inclusionProof(index, opened).map(hex),
          );
          const earlier = pick % (opened + 1);
          expect(reopened.consistencyProof(earlier).map(hex)).toEqual(
            tree.consistencyProof(earlier, opened).map(hex),
          );
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  test("a tree reopened at m and extended with other leaves equals a fresh tree of those leaves", () => {
    fc.assert(
      fc.property(sizePairsForOpen(), ([size, opened, seed, extra]) => {
        const { store } = buildTree(seed, size);
        const reopened = MerkleTree.open(store, opened);
        const fresh = buildTree(seed, opened).tree;
        const appended = extra % 300;
        for (let index = 0; index < appended; index++) {
          const leaf = testLeaf(seed + 1, index);
          reopened.append(leaf);
          fresh.append(leaf);
        }
        expect(hex(reopened.root())).toBe(hex(fresh.root()));
        const total = opened + appended;
        if (total > 0) {
          const index = extra % total;
          expect(reopened.inclusionProof(index).map(hex)).toEqual(
            fresh.inclusionProof(index).map(hex),
          );
          expect(hex(reopened.rootAt(index + 1))).toBe(hex(fresh.rootAt(index + 1)));
        }
      }),
      { seed: SEED, numRuns: 60 },
    );
  });

  test("a store whose reads reuse one buffer yields the same roots and proofs", () => {
    fc.assert(
      fc.property(sizePairsForOpen(), ([size, opened, seed, pick]) => {
        const { tree, store } = buildTree(seed, size);
        const reused = MerkleTree.open(new ReusedBufferStore(store), size);
        expect(hex(reused.root())).toBe(hex(tree.root()));
        expect(hex(reused.rootAt(opened))).toBe(hex(tree.rootAt(opened)));
        const index = pick % size;
        expect(reused.inclusionProof(index).map(hex)).toEqual(tree.inclusionProof(index).map(hex));
        expect(reused.consistencyProof(opened).map(hex)).toEqual(
          tree.consistencyProof(opened).map(hex),
        );
        const reopened = MerkleTree.open(new ReusedBufferStore(store), opened);
        expect(hex(reopened.root())).toBe(hex(tree.rootAt(opened)));
        expect(firstDifferingLeaf(reused.store, store, size)).toBeUndefined();
      }),
      { seed: SEED, numRuns: 40 },
    );
  });
});

function sizePairsForOpen() {
  return treeSizes.chain((size) =>
    fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size }), fc.nat(), fc.nat()),
  );
}

describe("first differing leaf", () => {
  test("finds the one changed leaf, or the first of two, and nothing in equal trees", () => {
    fc.assert(
      fc.property(treeSizes, fc.nat(), fc.nat(), fc.nat(), (size, seed, pickFirst, pickSecond) => {
        const changed = pickFirst % size;
        const alsoChanged = changed + (pickSecond % (size - changed));
        const original = buildTree(seed, size).tree;
        const same = buildTree(seed, size).tree;
        const store = new MemoryTreeNodeStore();
        const tampered = MerkleTree.create(store);
        for (let index = 0; index < size; index++) {
          const alter = index === changed || index === alsoChanged;
          tampered.append(alter ? testLeaf(seed + 1, index) : testLeaf(seed, index));
        }
        expect(firstDifferingLeaf(original, same, size)).toBeUndefined();
        expect(firstDifferingLeaf(original, tampered, size)).toBe(changed);
        expect(firstDifferingLeaf(tampered.store, original.store, size)).toBe(changed);
        expect(firstDifferingLeaf(original, tampered, changed)).toBeUndefined();
        expect(firstDifferingLeaf(original, tampered, changed + 1)).toBe(changed);
        const sharedBuffer = new Uint8Array(32);
        const sharingA = new ReusedBufferStore(original.store, sharedBuffer);
        const sharingB = new ReusedBufferStore(tampered.store, sharedBuffer);
        expect(firstDifferingLeaf(sharingA, sharingB, size)).toBe(changed);
      }),
      { seed: SEED, numRuns: 80 },
    );
  });

  test("reads O(log n) nodes", () => {
    const size = 1 << 16;
    const original = buildTree(3, size);
    const tampered = buildTree(3, size);
    const changed = 40_000;
    const reopened = MerkleTree.create(new MemoryTreeNodeStore());
    for (let index = 0; index < size; index++) {
      reopened.appendLeafHash(
        index === changed ? tampered.leafHashes[0]! : tampered.leafHashes[index]!,
      );
    }
    let reads = 0;
    const counting = {
      get: (level: number, index: number) => {
        reads += 1;
        return reopened.store.get(level, index);
      },
    };
    expect(firstDifferingLeaf(original.store, counting, size)).toBe(changed);
    // One top-level node and, per level below it, at most the left and the right child.
    expect(reads).toBeLessThanOrEqual(1 + 2 * 16);
  });
});
