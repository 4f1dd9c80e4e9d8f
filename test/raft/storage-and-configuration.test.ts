// The formats in docs/design/raft.md, and MemoryStorage's contract.
import { describe, expect, test } from "vitest";
import {
  applyConfChange,
  bootstrapEntries,
  decodeConfChange,
  encodeConfChange,
  type LogIndex,
  MemoryStorage,
  type Term,
  toNodeId,
} from "../../src/raft/index.js";

const hex = (data: Uint8Array) => Buffer.from(data).toString("hex");
const index = (value: number) => value as LogIndex;
const entry = (i: number, term: number) => ({
  index: index(i),
  term: term as Term,
  type: "normal" as const,
  data: new Uint8Array([i]),
});

describe("formats", () => {
  test("conf change entry data (test vector)", () => {
    const change = { type: "add-voter", nodeId: toNodeId("n4") } as const;
    const encoded = encodeConfChange(change);
    expect(hex(encoded)).toBe(
      "7b2274797065223a226164642d766f746572222c226e6f64654964223a226e34227d",
    );
    expect(decodeConfChange(encoded)).toEqual(change);
  });

  test("bootstrap entries: one committed add-voter per founder, ids sorted, term 1", () => {
    const { entries, hardState } = bootstrapEntries([toNodeId("n2"), toNodeId("n1")]);
    expect(entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, "conf-change"],
      [2, 1, "conf-change"],
    ]);
    expect(entries.map((e) => decodeConfChange(e.data).nodeId)).toEqual(["n1", "n2"]);
    expect(hardState).toEqual({ term: 1, vote: null, commit: 2 });
  });

  test("membership changes are total: nonsense leaves the configuration unchanged", () => {
    const a = toNodeId("a");
    const b = toNodeId("b");
    const start = { voters: [a], learners: [b] };
    expect(applyConfChange(start, { type: "add-voter", nodeId: a })).toBe(start);
    expect(applyConfChange(start, { type: "remove-node", nodeId: a })).toBe(start); // last voter
    expect(applyConfChange(start, { type: "add-learner", nodeId: a })).toBe(start); // no demotion
    expect(applyConfChange(start, { type: "add-voter", nodeId: b })).toEqual({
      voters: [a, b],
      learners: [],
    });
  });
});

describe("MemoryStorage", () => {
  test("append overwrites a conflicting suffix; compaction moves the first index", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    storage.append([entry(2, 2)]);
    expect(storage.lastIndex()).toBe(2);
    expect(storage.term(index(2))).toBe(2);
    storage.append([entry(3, 2), entry(4, 2)]);
    storage.createSnapshot(index(3), { voters: [], learners: [] }, new Uint8Array([9]));
    storage.compact(index(3));
    expect(storage.firstIndex()).toBe(4);
    expect(storage.term(index(3))).toBe(2);
    expect(storage.term(index(2))).toBeUndefined();
    expect(storage.entries(index(4), index(5), 0).map((e) => e.index)).toEqual([4]);
    expect(() => storage.entries(index(3), index(5), 100)).toThrow(/below first/);
  });

  test("entries are limited by bytes but always include one", () => {
    const storage = new MemoryStorage();
    storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    expect(storage.entries(index(1), index(4), 1)).toHaveLength(1);
    expect(storage.entries(index(1), index(4), 1_000)).toHaveLength(3);
  });
});
