import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { chainHash } from "../../src/hash/index.js";
import {
  checkStore,
  formatIntegrityReport,
  type IntegrityProgress,
  type IntegrityReport,
} from "../../src/integrity/index.js";
import { leafHash, MerkleTree } from "../../src/merkle/index.js";
import {
  encodeChainEntryKey,
  encodeChainHeadKey,
  encodeCheckpointKey,
  encodeDataHashBlockKey,
  encodePrimaryKeyIndexKey,
  encodeTreeNodeKey,
  encodeViolationEntryKey,
  openLmdbKeyValueStore,
  openStore,
  TREE_STORED_LEVEL_MIN,
  type ViolationRecord,
  type WriteOperation,
} from "../../src/store/index.js";
import { fixtureDataHash, fixturePrimaryKey, populateStore, signedNote } from "./fixture.js";

const ORDERS = "public.orders";
const EVENTS = "public.events";
const ORDERS_ENTRIES = 100;
const EVENTS_ENTRIES = 10;
const VIOLATIONS: readonly ViolationRecord[] = [
  { kind: "truncate", lsn: 0x16b43d28n, commitTimeUnixMicroseconds: 0n, xid: 7, detail: "{}" },
  {
    kind: "update",
    lsn: 0x16b43d30n,
    commitTimeUnixMicroseconds: 1_700_000_000_123_456n,
    xid: 8,
    primaryKey: Uint8Array.of(0xaa, 0xbb),
    oldDataHash: new Uint8Array(32).fill(0x11),
    newDataHash: new Uint8Array(32).fill(0x22),
    detail: '{"columns":["amount"]}',
  },
  { kind: "gap", lsn: 0x16b43d40n, commitTimeUnixMicroseconds: 0n, xid: 0, detail: "{}" },
];

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "witnz-integrity-"));
  const store = await openStore(directory);
  await populateStore(store, { table: ORDERS, entries: ORDERS_ENTRIES, batchEntries: 30 });
  await populateStore(store, {
    table: EVENTS,
    entries: EVENTS_ENTRIES,
    batchEntries: 4,
    violations: VIOLATIONS,
  });
  await store.close();
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Writes bytes under the typed store, as a disk edit would, with the store closed. */
async function editOnDisk(operations: WriteOperation[]): Promise<void> {
  const keyValueStore = openLmdbKeyValueStore(directory);
  try {
    await keyValueStore.write(operations);
  } finally {
    await keyValueStore.close();
  }
}

async function readOnDisk(key: Uint8Array): Promise<Uint8Array> {
  const keyValueStore = openLmdbKeyValueStore(directory);
  try {
    const value = keyValueStore.get(key);
    if (value === undefined) throw new Error("the fixture lacks a key it should hold");
    return value;
  } finally {
    await keyValueStore.close();
  }
}

/** The value with one byte flipped at `offset`. */
async function flipByte(key: Uint8Array, offset: number): Promise<void> {
  const value = await readOnDisk(key);
  const edited = value.slice();
  edited[offset] = (edited[offset] ?? 0) ^ 0x01;
  await editOnDisk([{ type: "put", key, value: edited }]);
}

async function check(windowEntries?: number): Promise<IntegrityReport> {
  const store = await openStore(directory);
  try {
    return checkStore(store, windowEntries === undefined ? {} : { windowEntries });
  } finally {
    await store.close();
  }
}

/** Every problem as (table, kind, level, position, count). */
function problemsOf(report: IntegrityReport) {
  return report.tables.flatMap((table) =>
    table.problems.map(({ table: name, kind, level, position, count }) => ({
      table: name,
      kind,
      ...(level === undefined ? {} : { level }),
      position,
      count,
    })),
  );
}

/** Complete subtrees of a tree of `size` leaves at the levels the store keeps. */
function storedNodes(size: number): number {
  let nodes = 0;
  for (let width = 2 ** TREE_STORED_LEVEL_MIN; width <= size; width *= 2) {
    nodes += Math.floor(size / width);
  }
  return nodes;
}

describe("checkStore on a clean store", () => {
  test.each([1, 7, 64, 4096])("passes with %i entries per window", async (windowEntries) => {
    const report = await check(windowEntries);
    expect(problemsOf(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.entriesChecked).toBe(ORDERS_ENTRIES + EVENTS_ENTRIES);
    const orders = report.tables.find((table) => table.table === ORDERS);
    expect(orders).toMatchObject({
      chainSize: ORDERS_ENTRIES,
      entriesChecked: ORDERS_ENTRIES,
      // Every complete subtree of the stored levels (4 up): 6 + 3 + 1 for 100 leaves.
      treeNodesChecked: storedNodes(ORDERS_ENTRIES),
      checkpointSize: ORDERS_ENTRIES,
      violationsChecked: 0,
    });
    const events = report.tables.find((table) => table.table === EVENTS);
    expect(events).toMatchObject({ chainSize: EVENTS_ENTRIES, violationsChecked: 3 });
  });

  test("an empty store has nothing to check", async () => {
    await rm(directory, { recursive: true, force: true });
    const store = await openStore(directory);
    try {
      expect(checkStore(store)).toEqual({
        ok: true,
        tables: [],
        entriesChecked: 0,
        problemCount: 0,
      });
    } finally {
      await store.close();
    }
  });

  test("reports progress after each window, up to each log's size", async () => {
    const store = await openStore(directory);
    const progress: IntegrityProgress[] = [];
    try {
      checkStore(store, { windowEntries: 40, onProgress: (step) => progress.push(step) });
    } finally {
      await store.close();
    }
    expect(progress).toEqual([
      { table: EVENTS, part: "chain", checked: 10, total: 10 },
      { table: EVENTS, part: "violations", checked: 3, total: 3 },
      { table: ORDERS, part: "chain", checked: 40, total: 100 },
      { table: ORDERS, part: "chain", checked: 80, total: 100 },
      { table: ORDERS, part: "chain", checked: 100, total: 100 },
    ]);
  });

  test("refuses a window size out of range", async () => {
    const store = await openStore(directory);
    try {
      expect(() => checkStore(store, { windowEntries: 0 })).toThrow(RangeError);
      expect(() => checkStore(store, { windowEntries: 65_537 })).toThrow(RangeError);
    } finally {
      await store.close();
    }
  });
});

describe("checkStore finds each corruption at its position", () => {
  test("a data hash block of a bad length is reported, and the tree is derived from the entries", async () => {
    const block = await readOnDisk(encodeDataHashBlockKey(ORDERS, 0));
    const longer = new Uint8Array(block.length + 1);
    longer.set(block);
    await editOnDisk([{ type: "put", key: encodeDataHashBlockKey(ORDERS, 0), value: longer }]);
    // The checkpoint's root, folded from derived nodes, still matches: the block is read past.
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "data-hash-block-size", position: 1, count: 1 },
    ]);
    const store = await openStore(directory);
    try {
      expect(store.treeNodes(ORDERS).get(0, 3)).toEqual(
        new Uint8Array(leafHash(fixtureDataHash(ORDERS, 4))),
      );
    } finally {
      await store.close();
    }
  });

  test("a chain entry's data hash", async () => {
    await flipByte(encodeChainEntryKey(ORDERS, 37), 5);
    const report = await check(16);
    expect(report.ok).toBe(false);
    // The link at 37 breaks, and the data hash block does not match the edited data hash. The
    // tree above the untrusted leaf is taken as stored, so it adds no second report.
    expect(problemsOf(report)).toEqual([
      { table: ORDERS, kind: "chain-hash-mismatch", position: 37, count: 1 },
      { table: ORDERS, kind: "data-hash-block-mismatch", position: 37, count: 1 },
    ]);
  });

  test("a chain entry's chain hash breaks its own link and the next", async () => {
    await flipByte(encodeChainEntryKey(ORDERS, 50), 32);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "chain-hash-mismatch", position: 50, count: 2 },
    ]);
  });

  test("an interior tree node", async () => {
    // Level 4, index 2 covers leaves 32-47: inside the tree, not on the size-100 frontier.
    await flipByte(encodeTreeNodeKey(ORDERS, 4, 2), 0);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "tree-node-mismatch", level: 4, position: 2, count: 1 },
    ]);
  });

  test("a frontier node also breaks the checkpoint's root", async () => {
    // 100 = 64 + 32 + 4: node (level 5, index 2) is one of the root's subtrees.
    await flipByte(encodeTreeNodeKey(ORDERS, 5, 2), 31);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "tree-node-mismatch", level: 5, position: 2, count: 1 },
      { table: ORDERS, kind: "checkpoint-root-mismatch", position: 100, count: 1 },
    ]);
  });

  test("a chain rewritten with an edited data hash breaks the tree above it", async () => {
    // Entry 37's data hash edited and every later chain hash recomputed over it, as a forger
    // would: the chain verifies, the leaf derived from it does not fit the stored subtree.
    const edits: WriteOperation[] = [];
    let chain: Uint8Array = (await readOnDisk(encodeChainEntryKey(ORDERS, 36))).slice(32, 64);
    for (let seq = 37; seq <= ORDERS_ENTRIES; seq++) {
      const value = (await readOnDisk(encodeChainEntryKey(ORDERS, seq))).slice();
      if (seq === 37) value[5] = (value[5] ?? 0) ^ 0x01;
      chain = chainHash(chain, seq, value.subarray(0, 32));
      value.set(chain, 32);
      edits.push({ type: "put", key: encodeChainEntryKey(ORDERS, seq), value });
    }
    const head = (await readOnDisk(encodeChainHeadKey(ORDERS))).slice();
    head.set(chain, 8);
    edits.push({ type: "put", key: encodeChainHeadKey(ORDERS), value: head });
    await editOnDisk(edits);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "data-hash-block-mismatch", position: 37, count: 1 },
      // Leaf 36 lies under node (4, 2), leaves 32-47, and under (5, 1) and (6, 0) above it.
      { table: ORDERS, kind: "tree-node-mismatch", level: 4, position: 2, count: 3 },
      { table: ORDERS, kind: "checkpoint-chain-hash-mismatch", position: 100, count: 1 },
    ]);
  });

  test("the chain head", async () => {
    await flipByte(encodeChainHeadKey(ORDERS), 8 + 3);
    const report = await check();
    expect(problemsOf(report)).toEqual([
      { table: ORDERS, kind: "chain-head-mismatch", position: 100, count: 1 },
    ]);
  });

  test("a head moved back a step leaves an entry, tree nodes and a checkpoint beyond it", async () => {
    const entry99 = await readOnDisk(encodeChainEntryKey(ORDERS, 99));
    const head = new Uint8Array(40);
    head[7] = 99;
    head.set(entry99.subarray(32, 64), 8);
    await editOnDisk([{ type: "put", key: encodeChainHeadKey(ORDERS), value: head }]);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "chain-entry-beyond-head", position: 100, count: 1 },
      // Entry 100's key is still in the index, but no entry of the chain accounts for it.
      { table: ORDERS, kind: "primary-key-index-extra", position: 0, count: 1 },
      // The data hash block still holds entry 100's hash.
      { table: ORDERS, kind: "data-hash-block-size", position: 99, count: 1 },
      { table: ORDERS, kind: "checkpoint-beyond-head", position: 100, count: 1 },
    ]);
  });

  test("a primary-key index entry pointing elsewhere", async () => {
    const value = new Uint8Array(8);
    value[7] = 21;
    await editOnDisk([
      { type: "put", key: encodePrimaryKeyIndexKey(ORDERS, fixturePrimaryKey(20)), value },
    ]);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "primary-key-index-mismatch", position: 20, count: 1 },
    ]);
  });

  test("a primary-key index entry pointing at an older entry with the same key", async () => {
    // Seq 14 repeats the key of seq 11, so the index must point at 14, not 11.
    const value = new Uint8Array(8);
    value[7] = 11;
    await editOnDisk([
      { type: "put", key: encodePrimaryKeyIndexKey(ORDERS, fixturePrimaryKey(14)), value },
    ]);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "primary-key-index-mismatch", position: 14, count: 1 },
    ]);
  });

  test("a primary-key index entry deleted, and one added", async () => {
    await editOnDisk([
      { type: "delete", key: encodePrimaryKeyIndexKey(ORDERS, fixturePrimaryKey(30)) },
      {
        type: "put",
        key: encodePrimaryKeyIndexKey(ORDERS, Uint8Array.of(0xfe, 0xed)),
        value: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 5),
      },
    ]);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "primary-key-index-missing", position: 30, count: 1 },
      { table: ORDERS, kind: "primary-key-index-extra", position: 0, count: 1 },
    ]);
  });

  test("a chain entry deleted, and one cut short", async () => {
    await editOnDisk([
      { type: "delete", key: encodeChainEntryKey(ORDERS, 10) },
      { type: "put", key: encodeChainEntryKey(ORDERS, 60), value: new Uint8Array(40) },
    ]);
    const problems = problemsOf(await check(16));
    expect(problems).toContainEqual({
      table: ORDERS,
      kind: "chain-entry-missing",
      position: 10,
      count: 1,
    });
    expect(problems).toContainEqual({
      table: ORDERS,
      kind: "chain-entry-unreadable",
      position: 60,
      count: 1,
    });
    // Entries 11 and 61 are not linked (their predecessors are gone); nothing else fails.
    expect(problems.map((problem) => problem.kind).sort()).toEqual([
      "chain-entry-missing",
      "chain-entry-unreadable",
      // The index keys of the two lost entries are no longer accounted for by the chain.
      "primary-key-index-extra",
    ]);
  });

  test("a checkpoint whose chain hash is not the chain's", async () => {
    const store = await openStore(directory);
    const root = MerkleTree.open(store.treeNodes(ORDERS), 100).root();
    await store.close();
    const note = signedNote(ORDERS, 100, root, new Uint8Array(32).fill(0x33));
    await editOnDisk([
      { type: "put", key: encodeCheckpointKey(ORDERS, 100), value: Buffer.from(note, "utf8") },
    ]);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "checkpoint-chain-hash-mismatch", position: 100, count: 1 },
    ]);
  });

  test("a checkpoint that is not a checkpoint", async () => {
    await editOnDisk([
      { type: "put", key: encodeCheckpointKey(ORDERS, 100), value: Buffer.from("hello\n") },
    ]);
    expect(problemsOf(await check())).toEqual([
      { table: ORDERS, kind: "checkpoint-unreadable", position: 100, count: 1 },
    ]);
  });

  test("a violation's record hash", async () => {
    await flipByte(encodeViolationEntryKey(EVENTS, 2), 0);
    expect(problemsOf(await check())).toEqual([
      { table: EVENTS, kind: "violation-record-hash-mismatch", position: 2, count: 1 },
      { table: EVENTS, kind: "violation-chain-hash-mismatch", position: 2, count: 1 },
    ]);
  });

  test("a violation's record", async () => {
    // The record starts after two hashes; its LSN's low byte is at 3 + 7 in the record.
    await flipByte(encodeViolationEntryKey(EVENTS, 3), 64 + 3 + 7);
    expect(problemsOf(await check())).toEqual([
      { table: EVENTS, kind: "violation-record-hash-mismatch", position: 3, count: 1 },
    ]);
  });

  test("a head moved back past a stored subtree leaves that subtree beyond it", async () => {
    const entry95 = await readOnDisk(encodeChainEntryKey(ORDERS, 95));
    const head = new Uint8Array(40);
    head[7] = 95;
    head.set(entry95.subarray(32, 64), 8);
    await editOnDisk([{ type: "put", key: encodeChainHeadKey(ORDERS), value: head }]);
    const problems = problemsOf(await check()).filter((problem) => problem.kind.startsWith("tree"));
    // Nodes (4, 5) (leaves 80-95) and (5, 2) (leaves 64-95) need 96 leaves.
    expect(problems).toEqual([
      { table: ORDERS, kind: "tree-node-beyond-size", level: 4, position: 5, count: 2 },
    ]);
  });

  test("the fixture stores no leaf: the store derives each from its entry's data hash", async () => {
    const store = await openStore(directory);
    try {
      expect(store.treeNodes(ORDERS).get(0, 0)).toEqual(
        new Uint8Array(leafHash(fixtureDataHash(ORDERS, 1))),
      );
    } finally {
      await store.close();
    }
    await expect(readOnDisk(encodeTreeNodeKey(ORDERS, 0, 0))).rejects.toThrow(/lacks a key/);
  });
});

describe("formatIntegrityReport", () => {
  test("names each table and each problem", async () => {
    await flipByte(encodeChainEntryKey(ORDERS, 37), 5);
    const text = formatIntegrityReport(await check());
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      "store integrity: CORRUPT; 2 tables, 110 chain entries checked, 2 problems",
    );
    expect(lines[1]).toBe(
      '  "public.events": ok; 10 entries, 0 tree nodes, checkpoint at 10, 3 violations',
    );
    expect(lines[2]).toBe(
      '  "public.orders": CORRUPT; 100 entries, 10 tree nodes, checkpoint at 100, 0 violations',
    );
    expect(lines[3]).toMatch(
      /^ {4}chain-hash-mismatch at 37: entry 37 stores chain hash [0-9a-f]{64}/,
    );
    expect(lines[4]).toMatch(/^ {4}data-hash-block-mismatch at 37: the data hash block holds/);
    expect(text.endsWith("\n")).toBe(true);
  });

  test("says ok for a clean store", async () => {
    expect(formatIntegrityReport(await check()).split("\n")[0]).toBe(
      "store integrity: ok; 2 tables, 110 chain entries checked, 0 problems",
    );
  });
});
