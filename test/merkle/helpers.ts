import { expect } from "vitest";
import {
  MemoryTreeNodeStore,
  MerkleError,
  MerkleTree,
  type TreeNodeStore,
} from "../../src/merkle/index.js";
import { referenceLeafHash, testLeaf } from "./reference.js";

export interface BuiltTree {
  readonly tree: MerkleTree;
  readonly store: MemoryTreeNodeStore;
  readonly leaves: Uint8Array[];
  readonly leafHashes: Uint8Array[];
}

/** A tree of `size` deterministic leaves derived from `seed`. */
export function buildTree(seed: number, size: number): BuiltTree {
  const store = new MemoryTreeNodeStore();
  const tree = MerkleTree.create(store);
  const leaves: Uint8Array[] = [];
  for (let index = 0; index < size; index++) {
    const leaf = testLeaf(seed, index);
    leaves.push(leaf);
    tree.append(leaf);
  }
  return { tree, store, leaves, leafHashes: leaves.map(referenceLeafHash) };
}

/**
 * A store that hands out the same buffer from every get, overwritten by the next get, as a
 * memory-mapped store may. A tree that keeps a hash across two reads without copying it breaks.
 */
export class ReusedBufferStore implements TreeNodeStore {
  readonly #inner: TreeNodeStore;
  readonly #buffer: Uint8Array;
  /** Stores given one `buffer` share it, as databases in one memory-mapped environment may. */
  constructor(inner: TreeNodeStore, buffer: Uint8Array = new Uint8Array(32)) {
    this.#inner = inner;
    this.#buffer = buffer;
  }
  get(level: number, index: number): Uint8Array | undefined {
    const hash = this.#inner.get(level, index);
    if (hash === undefined) return undefined;
    this.#buffer.set(hash);
    return this.#buffer;
  }
  set(level: number, index: number, hash: Uint8Array): void {
    this.#inner.set(level, index, hash);
  }
}

/** A verification that is refused: it returns false or throws a MerkleError, never true. */
export function expectRejected(verification: () => boolean): void {
  let result: boolean;
  try {
    result = verification();
  } catch (error) {
    expect(error).toBeInstanceOf(MerkleError);
    return;
  }
  expect(result).toBe(false);
}

/** A copy of `hash` with one bit flipped. */
export function flipBit(hash: Uint8Array, bit: number): Uint8Array {
  const altered = new Uint8Array(hash);
  const position = Math.floor(bit / 8) % altered.length;
  altered[position] = altered[position]! ^ (1 << (bit % 8));
  return altered;
}
