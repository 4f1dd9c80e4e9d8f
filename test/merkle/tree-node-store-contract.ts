// The behaviour every TreeNodeStore must have, as a suite any implementation can run:
//   describeTreeNodeStoreContract("LMDB", () => openTestStore());
import { describe, expect, test } from "vitest";
import { MerkleTree, type TreeNodeStore } from "../../src/merkle/index.js";
import { hex, testLeaf } from "./reference.js";

const hashOf = (tag: number): Uint8Array => testLeaf(0xc0ffee, tag);

export function describeTreeNodeStoreContract(name: string, createStore: () => TreeNodeStore) {
  describe(`TreeNodeStore contract: ${name}`, () => {
    test("a node never written reads as undefined", () => {
      const store = createStore();
      expect(store.get(0, 0)).toBeUndefined();
      store.set(0, 0, hashOf(1));
      expect(store.get(0, 1)).toBeUndefined();
      expect(store.get(1, 0)).toBeUndefined();
      expect(store.get(40, 0)).toBeUndefined();
    });

    test("a written node reads back, on every level, each level apart", () => {
      const store = createStore();
      for (let level = 0; level < 20; level++) {
        for (let index = 0; index < 3; index++) store.set(level, index, hashOf(level * 10 + index));
      }
      for (let level = 0; level < 20; level++) {
        for (let index = 0; index < 3; index++) {
          expect(hex(store.get(level, index)!)).toBe(hex(hashOf(level * 10 + index)));
        }
      }
    });

    test("set copies the bytes: changing the caller's array afterwards changes nothing", () => {
      const store = createStore();
      const hash = hashOf(7);
      const expected = hex(hash);
      store.set(0, 0, hash);
      hash.fill(0);
      expect(hex(store.get(0, 0)!)).toBe(expected);
    });

    test("writing an index again replaces its hash", () => {
      const store = createStore();
      store.set(0, 0, hashOf(1));
      store.set(0, 1, hashOf(2));
      store.set(0, 0, hashOf(3));
      expect(hex(store.get(0, 0)!)).toBe(hex(hashOf(3)));
      expect(hex(store.get(0, 1)!)).toBe(hex(hashOf(2)));
    });

    test("a long level reads back everywhere", () => {
      const store = createStore();
      const count = 70_000;
      for (let index = 0; index < count; index++) store.set(0, index, hashOf(index));
      for (const index of [0, 1, 32_767, 32_768, 32_769, 65_535, 65_536, count - 1]) {
        expect(hex(store.get(0, index)!), `index ${index}`).toBe(hex(hashOf(index)));
      }
      expect(store.get(0, count)).toBeUndefined();
    });

    test("a tree written through the store reopens from it with the same root and proofs", () => {
      const store = createStore();
      const tree = MerkleTree.create(store);
      for (let index = 0; index < 1000; index++) tree.append(hashOf(index));
      const reopened = MerkleTree.open(store, 1000);
      expect(hex(reopened.root())).toBe(hex(tree.root()));
      expect(reopened.inclusionProof(777).map(hex)).toEqual(tree.inclusionProof(777).map(hex));
      expect(hex(MerkleTree.open(store, 600).root())).toBe(hex(tree.rootAt(600)));
    });
  });
}
