import { describe, expect, test } from "vitest";
import { MemoryTreeNodeStore, MerkleTree } from "../../src/merkle/index.js";
import { testLeaf } from "./reference.js";
import { describeTreeNodeStoreContract } from "./tree-node-store-contract.js";

describeTreeNodeStoreContract("MemoryTreeNodeStore", () => new MemoryTreeNodeStore());

describe("MemoryTreeNodeStore", () => {
  test("holds 2n - popcount(n) nodes for a tree of n leaves", () => {
    const store = new MemoryTreeNodeStore();
    const tree = MerkleTree.create(store);
    const size = 100_003;
    for (let index = 0; index < size; index++) tree.append(testLeaf(5, index));
    let nodes = 0;
    for (let level = 0; store.nodeCount(level) > 0; level++) {
      expect(store.nodeCount(level)).toBe(Math.floor(size / 2 ** level));
      nodes += store.nodeCount(level);
    }
    const popcount = size.toString(2).replaceAll("0", "").length;
    expect(nodes).toBe(2 * size - popcount);
  });

  test("stays compact: a small tree takes under a kilobyte per level, a large one ~64 B/leaf", () => {
    const small = new MemoryTreeNodeStore();
    const smallTree = MerkleTree.create(small);
    for (let index = 0; index < 5; index++) smallTree.append(testLeaf(6, index));
    expect(small.allocatedBytes).toBeLessThanOrEqual(3 * 16 * 32);

    const large = new MemoryTreeNodeStore();
    const largeTree = MerkleTree.create(large);
    const size = 1 << 18;
    for (let index = 0; index < size; index++) largeTree.append(testLeaf(6, index));
    // 64 bytes per leaf of nodes, plus at most one part-filled 1 MiB page on each level.
    expect(large.allocatedBytes).toBeGreaterThanOrEqual(64 * size - 64);
    expect(large.allocatedBytes).toBeLessThanOrEqual(64 * size + 3 * 2 ** 20);
  });
});
