// The durable Raft storage contract, run against the core's MemoryStorage (the reference) and
// the LMDB store; plus restart and atomicity properties only a disk has.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import {
  type ConfState,
  type DurableRaftStorage,
  type Entry,
  type HardState,
  LmdbRaftStorage,
  type LogIndex,
  MemoryStorage,
  type NodeId,
  type PersistRequest,
  type Snapshot,
  type Term,
} from "../../src/raft/index.js";

const index = (value: number) => value as LogIndex;
const entry = (i: number, term: number, byte = i): Entry => ({
  index: index(i),
  term: term as Term,
  type: "normal",
  data: new Uint8Array([byte, byte]),
});
const hard = (term: number, vote: string | null, commit: number): HardState => ({
  term: term as Term,
  vote: vote as NodeId | null,
  commit: index(commit),
});
const conf: ConfState = { voters: ["a", "b"] as NodeId[], learners: ["c"] as NodeId[] };

/** MemoryStorage behind the durable interface: the reference the LMDB store must match. */
function memoryDurable(): DurableRaftStorage {
  const memory = new MemoryStorage();
  return Object.assign(Object.create(memory) as MemoryStorage, {
    async persist(request: PersistRequest) {
      if (request.hardState !== undefined) memory.setHardState(request.hardState);
      if (request.snapshot !== undefined) memory.applySnapshot(request.snapshot);
      memory.append(request.entries);
    },
    async createSnapshot(at: LogIndex, state: ConfState, data: Uint8Array) {
      return memory.createSnapshot(at, state, data);
    },
    async compact(at: LogIndex) {
      memory.compact(at);
    },
  }) as unknown as DurableRaftStorage;
}

const directories: string[] = [];
const opened: LmdbRaftStorage[] = [];
function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), "witnz-raft-storage-"));
  directories.push(directory);
  return directory;
}
function lmdbDurable(directory = temporaryDirectory()): LmdbRaftStorage {
  const storage = LmdbRaftStorage.open(directory);
  opened.push(storage);
  return storage;
}
afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close().catch(() => undefined);
  for (const directory of directories.splice(0))
    rmSync(directory, { recursive: true, force: true });
});

const implementations: [string, () => DurableRaftStorage][] = [
  ["MemoryStorage", memoryDurable],
  ["LmdbRaftStorage", () => lmdbDurable()],
];

describe.each(implementations)("durable storage contract: %s", (_name, create) => {
  test("a fresh store is empty: first 1, last 0, term(0) = 0, zero hard state", () => {
    const storage = create();
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(0);
    expect(storage.term(index(0))).toBe(0);
    expect(storage.term(index(1))).toBeUndefined();
    expect(storage.initialState().hardState).toEqual(hard(0, null, 0));
  });

  test("persist writes hard state and entries; entries() honours the byte budget", async () => {
    const storage = create();
    await storage.persist({
      hardState: hard(2, "a", 1),
      entries: [1, 2, 3].map((i) => entry(i, 1)),
    });
    expect(storage.hardState()).toEqual(hard(2, "a", 1));
    expect(storage.lastIndex()).toBe(3);
    expect(storage.entries(index(1), index(4), 1_000_000)).toEqual(
      [1, 2, 3].map((i) => entry(i, 1)),
    );
    // At least one entry even when the first alone exceeds the budget.
    expect(storage.entries(index(2), index(4), 1)).toEqual([entry(2, 1)]);
    expect(storage.term(index(3))).toBe(1);
  });

  test("an append at an existing index truncates the log after it (paper 5.3)", async () => {
    const storage = create();
    await storage.persist({ entries: [1, 2, 3, 4].map((i) => entry(i, 1)) });
    await storage.persist({ entries: [entry(3, 2, 30)] });
    expect(storage.lastIndex()).toBe(3);
    expect(storage.entries(index(1), index(4), 1_000_000)).toEqual([
      entry(1, 1),
      entry(2, 1),
      entry(3, 2, 30),
    ]);
  });

  test("snapshot, then compaction keeps the term at the compaction point", async () => {
    const storage = create();
    await storage.persist({ entries: [1, 2, 3, 4, 5].map((i) => entry(i, i < 3 ? 1 : 2)) });
    const snapshot = await storage.createSnapshot(index(4), conf, Uint8Array.of(9, 9));
    expect(snapshot.metadata).toEqual({ index: 4, term: 2, confState: conf });
    expect(storage.firstIndex()).toBe(1);
    await storage.compact(index(3));
    expect(storage.firstIndex()).toBe(4);
    expect(storage.term(index(3))).toBe(2);
    expect(storage.term(index(2))).toBeUndefined();
    expect(storage.entries(index(4), index(6), 1_000_000)).toEqual([entry(4, 2), entry(5, 2)]);
    expect(storage.snapshot().data).toEqual(Uint8Array.of(9, 9));
    expect(storage.initialState().confState).toEqual(conf);
  });

  test("a snapshot from the leader replaces the whole log", async () => {
    const storage = create();
    await storage.persist({ entries: [1, 2, 3].map((i) => entry(i, 1)) });
    const snapshot: Snapshot = {
      metadata: { index: index(10), term: 3 as Term, confState: conf },
      data: Uint8Array.of(1, 2, 3),
    };
    await storage.persist({ hardState: hard(3, null, 10), snapshot, entries: [entry(11, 3)] });
    expect(storage.firstIndex()).toBe(11);
    expect(storage.lastIndex()).toBe(11);
    expect(storage.term(index(10))).toBe(3);
    expect(storage.term(index(3))).toBeUndefined();
    expect(storage.snapshot()).toEqual(snapshot);
    expect(storage.hardState().commit).toBe(10);
  });
});

describe("LmdbRaftStorage on disk", () => {
  test("restart restores term, vote, commit, log, snapshot and compaction point", async () => {
    const directory = temporaryDirectory();
    const first = LmdbRaftStorage.open(directory);
    await first.initialize({ nodeId: "a", clusterId: "c1" });
    await first.persist({
      hardState: hard(5, "b", 4),
      entries: [1, 2, 3, 4, 5].map((i) => entry(i, 4)),
    });
    const data = Uint8Array.from({ length: 1_100_000 }, (_, i) => i % 251);
    await first.createSnapshot(index(4), conf, data);
    await first.compact(index(2));
    await first.close();

    const second = lmdbDurable(directory);
    expect(second.identity()).toEqual({ nodeId: "a", clusterId: "c1" });
    expect(second.hardState()).toEqual(hard(5, "b", 4));
    expect(second.firstIndex()).toBe(3);
    expect(second.lastIndex()).toBe(5);
    expect(second.term(index(2))).toBe(4);
    expect(second.entries(index(3), index(6), 1_000_000)).toEqual(
      [3, 4, 5].map((i) => entry(i, 4)),
    );
    const snapshot = second.snapshot();
    expect(snapshot.metadata).toEqual({ index: 4, term: 4, confState: conf });
    expect(Buffer.from(snapshot.data).equals(Buffer.from(data))).toBe(true);
  });

  test("a truncating write also deletes the stale tail on disk", async () => {
    const directory = temporaryDirectory();
    const first = LmdbRaftStorage.open(directory);
    await first.persist({ entries: [1, 2, 3, 4].map((i) => entry(i, 1)) });
    await first.persist({ entries: [entry(2, 2)] });
    await first.close();
    const second = lmdbDurable(directory);
    expect(second.lastIndex()).toBe(2);
    expect(second.term(index(2))).toBe(2);
  });

  test("a write the store refuses leaves nothing of the Ready behind (atomic)", async () => {
    const directory = temporaryDirectory();
    const storage = lmdbDurable(directory);
    await storage.persist({ hardState: hard(1, null, 0), entries: [entry(1, 1)] });
    const tooLarge: Entry = {
      index: index(3),
      term: 2 as Term,
      type: "normal",
      data: new Uint8Array(2 * 1024 * 1024),
    };
    await expect(
      storage.persist({ hardState: hard(2, "a", 1), entries: [entry(2, 2), tooLarge] }),
    ).rejects.toThrow();
    expect(storage.hardState()).toEqual(hard(1, null, 0));
    expect(storage.lastIndex()).toBe(1);
  });
});
