import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { MemoryTreeNodeStore, MerkleTree } from "../../src/merkle/index.js";
import {
  ChainEntryWindow,
  DATA_HASH_BLOCK_ENTRIES,
  decodeTreeNodeKey,
  encodeDataHashBlockKey,
  encodeMetaKey,
  encodeTreeNodeKey,
  KEY_BYTES_MAX,
  KeyTag,
  type KeyValueStore,
  openStoreOnKeyValueStore,
  SCHEMA_VERSION_META_NAME,
  STORE_SCHEMA_VERSION,
  StoreError,
  TREE_STORED_LEVEL_MIN,
  type WitnzStore,
  WRITE_OPERATIONS_MAX,
  type WriteOperation,
} from "../../src/store/index.js";
import {
  bytes,
  GENESIS,
  makeEntries,
  openFreshStore,
  type StoreHarness,
  sha256,
  utf8,
} from "./harness.js";

function referenceCompare(left: Uint8Array, right: Uint8Array): number {
  return Buffer.compare(Buffer.from(left), Buffer.from(right));
}

function keysOf(entries: Iterable<[Uint8Array, Uint8Array]>): number[][] {
  return [...entries].map(([key]) => [...key]);
}

async function expectStoreError(
  action: () => unknown,
  code: string,
  messagePattern?: RegExp,
): Promise<StoreError> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(StoreError);
  const storeError = caught as StoreError;
  expect(storeError.code).toBe(code);
  if (messagePattern !== undefined) expect(storeError.message).toMatch(messagePattern);
  return storeError;
}

/** The contract every KeyValueStore and every WitnzStore on it must keep. */
export function defineStoreContract(makeHarness: () => StoreHarness): void {
  let harness: StoreHarness;
  beforeEach(() => {
    harness = makeHarness();
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  describe("key-value store", () => {
    let store: KeyValueStore;
    beforeEach(async () => {
      store = await harness.openKeyValueStore();
    });

    test("get returns what put stored, overwrites replace, deletes remove", async () => {
      expect(store.get(bytes(1))).toBeUndefined();
      await store.write([{ type: "put", key: bytes(1), value: bytes(10) }]);
      expect(store.get(bytes(1))).toEqual(bytes(10));
      await store.write([{ type: "put", key: bytes(1), value: bytes(11, 12) }]);
      expect(store.get(bytes(1))).toEqual(bytes(11, 12));
      await store.write([{ type: "delete", key: bytes(1) }]);
      expect(store.get(bytes(1))).toBeUndefined();
    });

    test("an empty value is a value, not an absence", async () => {
      await store.write([{ type: "put", key: bytes(7), value: new Uint8Array(0) }]);
      expect(store.get(bytes(7))).toEqual(new Uint8Array(0));
    });

    test("deleting an absent key is not an error", async () => {
      await store.write([{ type: "delete", key: bytes(9) }]);
      expect(store.get(bytes(9))).toBeUndefined();
    });

    test("returned arrays belong to the caller", async () => {
      await store.write([{ type: "put", key: bytes(1, 2), value: bytes(3, 4) }]);
      const value = store.get(bytes(1, 2))!;
      value[0] = 99;
      const [entry] = [...store.range({ start: bytes(0), end: bytes(255) })];
      entry![0][0] = 99;
      entry![1][0] = 99;
      expect(store.get(bytes(1, 2))).toEqual(bytes(3, 4));
      expect(keysOf(store.range({ start: bytes(0), end: bytes(255) }))).toEqual([[1, 2]]);
    });

    describe("range", () => {
      const keys = [
        bytes(2),
        bytes(1, 0),
        bytes(1),
        bytes(1, 0, 0),
        bytes(1, 255),
        bytes(3),
        bytes(1, 1),
        bytes(254, 1),
        bytes(0, 5),
      ];
      const sorted = [...keys].sort(referenceCompare).map((key) => [...key]);

      beforeEach(async () => {
        await store.write(keys.map((key) => ({ type: "put" as const, key, value: sha256(key) })));
      });

      test("walks keys in lexicographic byte order, a prefix before its extensions", () => {
        expect(keysOf(store.range({ start: bytes(0), end: bytes(255) }))).toEqual(sorted);
        expect(sorted.slice(1, 6)).toEqual([[1], [1, 0], [1, 0, 0], [1, 1], [1, 255]]);
      });

      test("returns each key with its own value", () => {
        for (const [key, value] of store.range({ start: bytes(0), end: bytes(255) })) {
          expect(value).toEqual(sha256(key));
        }
      });

      test("includes start and excludes end", () => {
        expect(keysOf(store.range({ start: bytes(1, 0), end: bytes(2) }))).toEqual([
          [1, 0],
          [1, 0, 0],
          [1, 1],
          [1, 255],
        ]);
      });

      test("reverse walks the same range backwards, still [start, end)", () => {
        expect(keysOf(store.range({ start: bytes(1, 0), end: bytes(2), reverse: true }))).toEqual([
          [1, 255],
          [1, 1],
          [1, 0, 0],
          [1, 0],
        ]);
        expect(keysOf(store.range({ start: bytes(0), end: bytes(255), reverse: true }))).toEqual(
          [...sorted].reverse(),
        );
      });

      test("reverse with an end that is not a stored key", () => {
        expect(keysOf(store.range({ start: bytes(1), end: bytes(1, 5), reverse: true }))).toEqual([
          [1, 1],
          [1, 0, 0],
          [1, 0],
          [1],
        ]);
      });

      test("limit counts from the walk's first key in either direction", () => {
        expect(keysOf(store.range({ start: bytes(1), end: bytes(255), limit: 2 }))).toEqual([
          [1],
          [1, 0],
        ]);
        expect(
          keysOf(store.range({ start: bytes(1), end: bytes(255), reverse: true, limit: 2 })),
        ).toEqual([[254, 1], [3]]);
        expect(keysOf(store.range({ start: bytes(1), end: bytes(255), limit: 0 }))).toEqual([]);
        expect(
          keysOf(store.range({ start: bytes(1), end: bytes(255), reverse: true, limit: 0 })),
        ).toEqual([]);
      });

      test("an empty or inverted range yields nothing", () => {
        expect(keysOf(store.range({ start: bytes(1, 2), end: bytes(1, 3) }))).toEqual([]);
        expect(keysOf(store.range({ start: bytes(3), end: bytes(1) }))).toEqual([]);
        expect(keysOf(store.range({ start: bytes(3), end: bytes(1), reverse: true }))).toEqual([]);
      });
    });

    test("the lowest possible key, the single byte 0x00, is seen in both directions", async () => {
      await store.write([
        { type: "put", key: bytes(0), value: bytes(1) },
        { type: "put", key: bytes(0, 0), value: bytes(2) },
      ]);
      const forward = keysOf(store.range({ start: bytes(0), end: bytes(1) }));
      const backward = keysOf(store.range({ start: bytes(0), end: bytes(1), reverse: true }));
      expect(forward).toEqual([[0], [0, 0]]);
      expect(backward).toEqual([[0, 0], [0]]);
      expect(
        keysOf(store.range({ start: bytes(0), end: bytes(1), reverse: true, limit: 1 })),
      ).toEqual([[0, 0]]);
    });

    test("a write applies all its operations, in order", async () => {
      await store.write([
        { type: "put", key: bytes(1), value: bytes(1) },
        { type: "put", key: bytes(2), value: bytes(2) },
        { type: "put", key: bytes(3), value: bytes(3) },
      ]);
      await store.write([
        { type: "put", key: bytes(4), value: bytes(4) },
        { type: "delete", key: bytes(2) },
        { type: "put", key: bytes(1), value: bytes(10) },
        { type: "put", key: bytes(3), value: bytes(30) },
        { type: "delete", key: bytes(3) },
        { type: "delete", key: bytes(5) },
        { type: "put", key: bytes(5), value: bytes(50) },
      ]);
      expect(keysOf(store.range({ start: bytes(0), end: bytes(255) }))).toEqual([[1], [4], [5]]);
      expect(store.get(bytes(1))).toEqual(bytes(10));
      expect(store.get(bytes(5))).toEqual(bytes(50));
    });

    test("a write whose condition fails applies nothing", async () => {
      await store.write([{ type: "put", key: bytes(1), value: bytes(1) }]);
      await expectStoreError(
        () =>
          store.write(
            [
              { type: "put", key: bytes(2), value: bytes(2) },
              { type: "delete", key: bytes(1) },
            ],
            [{ key: bytes(1), value: bytes(9) }],
          ),
        "WITNZ_STORE_CONFLICT",
      );
      expect(store.get(bytes(1))).toEqual(bytes(1));
      expect(store.get(bytes(2))).toBeUndefined();
    });

    test("conditions compare exact bytes, and absence with undefined", async () => {
      await store.write([{ type: "put", key: bytes(1), value: bytes(1, 2) }]);
      await store.write(
        [{ type: "put", key: bytes(2), value: bytes(2) }],
        [
          { key: bytes(1), value: bytes(1, 2) },
          { key: bytes(3), value: undefined },
        ],
      );
      expect(store.get(bytes(2))).toEqual(bytes(2));
      await expectStoreError(
        () =>
          store.write(
            [{ type: "put", key: bytes(3), value: bytes(3) }],
            [{ key: bytes(1), value: bytes(1) }],
          ),
        "WITNZ_STORE_CONFLICT",
      );
      await expectStoreError(
        () =>
          store.write(
            [{ type: "put", key: bytes(3), value: bytes(3) }],
            [{ key: bytes(2), value: undefined }],
          ),
        "WITNZ_STORE_CONFLICT",
      );
      expect(store.get(bytes(3))).toBeUndefined();
    });

    test("a write with an over-limit key is refused whole", async () => {
      await expectStoreError(
        () =>
          store.write([
            { type: "put", key: bytes(1), value: bytes(1) },
            { type: "put", key: new Uint8Array(KEY_BYTES_MAX + 1).fill(7), value: bytes(2) },
          ]),
        "WITNZ_STORE_LIMIT",
        new RegExp(`${KEY_BYTES_MAX + 1} bytes; the limit is ${KEY_BYTES_MAX}`),
      );
      expect(store.get(bytes(1))).toBeUndefined();
    });

    test("an empty key is refused", async () => {
      await expectStoreError(() => store.get(new Uint8Array(0)), "WITNZ_STORE_INVALID");
      await expectStoreError(
        () => store.write([{ type: "put", key: new Uint8Array(0), value: bytes(1) }]),
        "WITNZ_STORE_INVALID",
      );
    });

    test("a closed store refuses reads and writes", async () => {
      await store.write([{ type: "put", key: bytes(1), value: bytes(1) }]);
      await store.close();
      await expectStoreError(() => store.get(bytes(1)), "WITNZ_STORE_CLOSED");
      await expectStoreError(
        () => store.range({ start: bytes(0), end: bytes(255) }),
        "WITNZ_STORE_CLOSED",
      );
      await expectStoreError(
        () => store.write([{ type: "put", key: bytes(2), value: bytes(2) }]),
        "WITNZ_STORE_CLOSED",
      );
    });

    test("random writes and ranges agree with a sorted-map model (seeded)", async () => {
      const key = fc.uint8Array({ minLength: 1, maxLength: 3, max: 4 });
      const operation = fc.oneof(
        fc.record({
          type: fc.constant("put" as const),
          key,
          value: fc.uint8Array({ maxLength: 4 }),
        }),
        fc.record({ type: fc.constant("delete" as const), key }),
      );
      const query = fc.record({ start: key, end: key, reverse: fc.boolean(), limit: fc.nat(6) });
      const model = new Map<string, Uint8Array>();
      const modelKey = (bytesKey: Uint8Array) => Buffer.from(bytesKey).toString("hex");
      await fc.assert(
        fc.asyncProperty(
          fc.array(operation, { minLength: 1, maxLength: 8 }),
          query,
          async (operations, rangeQuery) => {
            await store.write(operations);
            for (const op of operations) {
              if (op.type === "put") model.set(modelKey(op.key), op.value);
              else model.delete(modelKey(op.key));
            }
            const inRange = [...model.keys()]
              .map((hex) => Buffer.from(hex, "hex"))
              .filter(
                (candidate) =>
                  referenceCompare(candidate, rangeQuery.start) >= 0 &&
                  referenceCompare(candidate, rangeQuery.end) < 0,
              )
              .sort(referenceCompare);
            if (rangeQuery.reverse) inRange.reverse();
            const expected = inRange
              .slice(0, rangeQuery.limit)
              .map((candidate) => [[...candidate], [...model.get(modelKey(candidate))!]]);
            const actual = [...store.range(rangeQuery)].map(([k, v]) => [[...k], [...v]]);
            expect(actual).toEqual(expected);
          },
        ),
        { seed: 20_240_611, numRuns: 60 },
      );
    });
  });

  describe("witnz store", () => {
    let store: WitnzStore;
    const table = "public.orders";
    beforeEach(async () => {
      store = await openFreshStore(harness);
    });

    test("a new table has no head, no entries and is not listed", () => {
      expect(store.chainHead(table)).toBeUndefined();
      expect(store.chainEntry(table, 1)).toBeUndefined();
      expect([...store.chainEntries(table, 1, 10)]).toEqual([]);
      expect(store.tables()).toEqual([]);
      expect(store.latestCheckpoint(table)).toBeUndefined();
    });

    test("appended entries come back field for field, and the head follows", async () => {
      const entries = makeEntries(1, 5, GENESIS);
      const batch = store.batch();
      for (const entry of entries) batch.appendChainEntry(table, entry);
      expect(store.chainHead(table)).toBeUndefined();
      await store.commit(batch);
      expect(store.chainHead(table)).toEqual({ size: 5, chainHash: entries[4]!.chainHash });
      expect(store.chainEntry(table, 3)).toEqual(entries[2]);
      expect(store.chainEntry(table, 6)).toBeUndefined();
      expect([...store.chainEntries(table, 2, 4)]).toEqual(entries.slice(1, 4));
      expect([...store.chainEntries(table, 4, 100)]).toEqual(entries.slice(3));
      expect([...store.chainEntries(table, 6, 9)]).toEqual([]);
      expect(store.tables()).toEqual([table]);
    });

    test("window reads across several windows equal chainEntry, and stop at the chain's end", async () => {
      const entries = makeEntries(1, 23, GENESIS);
      const batch = store.batch();
      for (const entry of entries) batch.appendChainEntry(table, entry);
      await store.commit(batch);
      const window = new ChainEntryWindow(5);
      for (let from = 1; from <= 23; from += 5) {
        store.readChainWindow(table, from, Math.min(from + 4, 30), window);
        expect(window.firstSeq).toBe(from);
        expect(window.count).toBe(Math.min(5, 24 - from));
        for (let index = 0; index < window.count; index++) {
          const entry = store.chainEntry(table, from + index)!;
          const hash = window.dataHashes.subarray(index * 32, (index + 1) * 32);
          expect(Buffer.from(hash).equals(Buffer.from(entry.dataHash))).toBe(true);
          const key = window.primaryKeys.subarray(
            window.primaryKeyStarts[index]!,
            window.primaryKeyStarts[index + 1]!,
          );
          expect(Buffer.from(key).equals(Buffer.from(entry.primaryKey))).toBe(true);
        }
      }
      store.readChainWindow(table, 24, 28, window);
      expect(window.count).toBe(0);
    });

    test("data hash blocks hold every entry's data hash, 1024 per block, across batches", async () => {
      // Batches of 700 cross block boundaries in their middle.
      const entries = makeEntries(1, 3000, GENESIS);
      for (let from = 0; from < entries.length; from += 700) {
        const batch = store.batch();
        for (const entry of entries.slice(from, from + 700)) batch.appendChainEntry(table, entry);
        await store.commit(batch);
      }
      const expected = (first: number, last: number) =>
        Buffer.concat(entries.slice(first - 1, last).map((entry) => Buffer.from(entry.dataHash)));
      expect(DATA_HASH_BLOCK_ENTRIES).toBe(1024);
      expect(Buffer.from(store.dataHashBlock(table, 0)!).equals(expected(1, 1024))).toBe(true);
      expect(Buffer.from(store.dataHashBlock(table, 1)!).equals(expected(1025, 2048))).toBe(true);
      expect(Buffer.from(store.dataHashBlock(table, 2)!).equals(expected(2049, 3000))).toBe(true);
      expect(store.dataHashBlock(table, 3)).toBeUndefined();
      expect(store.dataHashBlock("public.other", 0)).toBeUndefined();
    });

    test("a block the store lacks or holds short is rebuilt from the entries", async () => {
      const keyValueStore = await harness.openKeyValueStore();
      const store = await openStoreOnKeyValueStore(keyValueStore);
      try {
        const entries = makeEntries(1, 1030, GENESIS);
        const append = async (from: number, to: number) => {
          const batch = store.batch();
          for (const entry of entries.slice(from - 1, to)) batch.appendChainEntry(table, entry);
          await store.commit(batch);
        };
        await append(1, 10);
        // As in a store from before blocks, or one restored from a peer: block 0 is absent.
        await keyValueStore.write([{ type: "delete", key: encodeDataHashBlockKey(table, 0) }]);
        await append(11, 20);
        const firstTwenty = Buffer.concat(entries.slice(0, 20).map((e) => Buffer.from(e.dataHash)));
        expect(Buffer.from(store.dataHashBlock(table, 0)!).equals(firstTwenty)).toBe(true);
        // A block that ends early (written by a build that did not keep it up) is rebuilt too.
        await keyValueStore.write([
          {
            type: "put",
            key: encodeDataHashBlockKey(table, 0),
            value: firstTwenty.subarray(0, 64),
          },
        ]);
        await append(21, 1030);
        const all = (first: number, last: number) =>
          Buffer.concat(entries.slice(first - 1, last).map((e) => Buffer.from(e.dataHash)));
        expect(Buffer.from(store.dataHashBlock(table, 0)!).equals(all(1, 1024))).toBe(true);
        expect(Buffer.from(store.dataHashBlock(table, 1)!).equals(all(1025, 1030))).toBe(true);
      } finally {
        await store.close();
      }
    });

    test("a refused append leaves the batch as it was, block included", async () => {
      const batch = store.batch();
      const [entry] = makeEntries(1, 1, GENESIS);
      // Fill the batch to one operation short of what the entry, its index entry and its block need.
      for (let i = 0; i < WRITE_OPERATIONS_MAX - 2; i++) {
        batch.setMeta(`m${i}`, Uint8Array.of(1));
      }
      expect(() => batch.appendChainEntry(table, entry!)).toThrow(/at most/);
      expect(batch.chainHead(table)).toBeUndefined();
      await store.commit(batch);
      expect(store.chainEntry(table, 1)).toBeUndefined();
      expect(store.dataHashBlock(table, 0)).toBeUndefined();
    });

    test("an LSN keeps all 64 bits", async () => {
      const [entry] = makeEntries(1, 1, GENESIS);
      const batch = store.batch();
      batch.appendChainEntry(table, { ...entry!, lsn: (1n << 64n) - 2n });
      await store.commit(batch);
      expect(store.chainEntry(table, 1)?.lsn).toBe((1n << 64n) - 2n);
    });

    test("a later batch extends the committed chain", async () => {
      const first = makeEntries(1, 3, GENESIS);
      const second = makeEntries(4, 6, first[2]!.chainHash);
      const batch = store.batch();
      for (const entry of first) batch.appendChainEntry(table, entry);
      await store.commit(batch);
      const next = store.batch();
      expect(next.chainHead(table)).toEqual({ size: 3, chainHash: first[2]!.chainHash });
      for (const entry of second) next.appendChainEntry(table, entry);
      expect(next.chainHead(table)).toEqual({ size: 6, chainHash: second[2]!.chainHash });
      await store.commit(next);
      expect(store.chainHead(table)?.size).toBe(6);
      expect([...store.chainEntries(table, 1, 6)].map((entry) => entry.seq)).toEqual([
        1, 2, 3, 4, 5, 6,
      ]);
    });

    test("sequence numbers order numerically across byte boundaries", async () => {
      const entries = makeEntries(1, 300, GENESIS);
      const batch = store.batch();
      for (const entry of entries) batch.appendChainEntry(table, entry);
      await store.commit(batch);
      const seqs = [...store.chainEntries(table, 250, 260)].map((entry) => entry.seq);
      expect(seqs).toEqual([250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260]);
    });

    test("a gap is refused, in a fresh table and after a commit", async () => {
      const entries = makeEntries(1, 3, GENESIS);
      await expectStoreError(
        () => store.batch().appendChainEntry(table, entries[1]!),
        "WITNZ_STORE_SEQUENCE",
        /next chain entry is seq 1, got seq 2/,
      );
      const batch = store.batch();
      batch.appendChainEntry(table, entries[0]!);
      await store.commit(batch);
      await expectStoreError(
        () => store.batch().appendChainEntry(table, entries[2]!),
        "WITNZ_STORE_SEQUENCE",
        /next chain entry is seq 2, got seq 3/,
      );
    });

    test("a repeat is refused, counting entries staged in the same batch", async () => {
      const entries = makeEntries(1, 3, GENESIS);
      const batch = store.batch();
      batch.appendChainEntry(table, entries[0]!);
      batch.appendChainEntry(table, entries[1]!);
      await expectStoreError(
        () => batch.appendChainEntry(table, entries[1]!),
        "WITNZ_STORE_SEQUENCE",
        /next chain entry is seq 3, got seq 2/,
      );
      await store.commit(batch);
      await expectStoreError(
        () => store.batch().appendChainEntry(table, entries[0]!),
        "WITNZ_STORE_SEQUENCE",
      );
      expect(store.chainHead(table)?.size).toBe(2);
    });

    test("malformed entries are refused before staging", async () => {
      const [entry] = makeEntries(1, 1, GENESIS);
      const batch = store.batch();
      await expectStoreError(
        () => batch.appendChainEntry(table, { ...entry!, dataHash: new Uint8Array(31) }),
        "WITNZ_STORE_INVALID",
        /32 bytes/,
      );
      await expectStoreError(
        () => batch.appendChainEntry(table, { ...entry!, lsn: -1n }),
        "WITNZ_STORE_INVALID",
      );
      await expectStoreError(() => batch.appendChainEntry("", entry!), "WITNZ_STORE_INVALID");
      expect(batch.operationCount).toBe(0);
    });

    test("the primary-key index maps each key to its latest seq", async () => {
      const entries = makeEntries(1, 4, GENESIS, (seq) =>
        seq === 3 ? new Uint8Array(0) : seq === 4 ? utf8("pk-1") : utf8(`pk-${seq}`),
      );
      const batch = store.batch();
      for (const entry of entries) batch.appendChainEntry(table, entry);
      await store.commit(batch);
      expect(store.sequenceForPrimaryKey(table, utf8("pk-2"))).toBe(2);
      expect(store.sequenceForPrimaryKey(table, utf8("pk-1"))).toBe(4);
      expect(store.sequenceForPrimaryKey(table, utf8("pk-3"))).toBeUndefined();
      expect(store.sequenceForPrimaryKey("public.other", utf8("pk-2"))).toBeUndefined();
      expect(store.chainEntry(table, 3)?.primaryKey).toEqual(new Uint8Array(0));
    });

    test("tree nodes staged in a batch are seen through that batch only, until commit", async () => {
      const hashA = sha256(utf8("a"));
      const hashB = sha256(utf8("b"));
      const first = store.batch();
      const staged = store.treeNodes(table, first);
      staged.set(4, 0, hashA);
      staged.set(7, 5, hashB);
      expect(staged.get(4, 0)).toEqual(hashA);
      expect(staged.get(7, 5)).toEqual(hashB);
      expect(staged.get(7, 4)).toBeUndefined();
      expect(store.treeNodes(table).get(4, 0)).toBeUndefined();
      expect(store.treeNodes(table, store.batch()).get(4, 0)).toBeUndefined();
      expect(store.treeNodes("public.other", first).get(4, 0)).toBeUndefined();
      await store.commit(first);
      expect(store.treeNodes(table).get(7, 5)).toEqual(hashB);

      const second = store.batch();
      store.treeNodes(table, second).set(4, 0, hashB);
      expect(store.treeNodes(table, second).get(4, 0)).toEqual(hashB);
      expect(store.treeNodes(table).get(4, 0)).toEqual(hashA);
      await store.commit(second);
      expect(store.treeNodes(table).get(4, 0)).toEqual(hashB);
    });

    test(`nodes below level ${TREE_STORED_LEVEL_MIN} are derived from the entries' data hashes, not stored`, async () => {
      const entries = makeEntries(1, 20, GENESIS);
      const referenceNodes = new MemoryTreeNodeStore();
      const reference = MerkleTree.create(referenceNodes);
      for (const entry of entries) reference.append(entry.dataHash);
      const batch = store.batch();
      for (const entry of entries) batch.appendChainEntry(table, entry);
      const staged = store.treeNodes(table, batch);
      const tree = MerkleTree.create(staged);
      for (const entry of entries) tree.append(entry.dataHash);
      // Setting one is accepted and changes nothing: the node is what the entries say.
      staged.set(0, 3, sha256(utf8("not the leaf")));
      const expectDerived = (nodes: ReturnType<WitnzStore["treeNodes"]>) => {
        for (let index = 0; index < 20; index++) {
          expect(nodes.get(0, index)).toEqual(reference.leafHash(index));
        }
        expect(nodes.get(3, 1)).toEqual(referenceNodes.get(3, 1));
        expect(nodes.get(2, 4)).toEqual(referenceNodes.get(2, 4));
        // Past the chain's end: leaf 20, and node (3, 2) whose leaves 16-23 are not all there.
        expect(nodes.get(0, 20)).toBeUndefined();
        expect(nodes.get(3, 2)).toBeUndefined();
      };
      expectDerived(staged);
      expect(store.treeNodes(table).get(0, 0)).toBeUndefined();
      await store.commit(batch);
      expectDerived(store.treeNodes(table));
      const reopened = MerkleTree.open(store.treeNodes(table), 20);
      expect(reopened.root()).toEqual(reference.root());
      expect(reopened.inclusionProof(5, 20)).toEqual(reference.inclusionProof(5, 20));
    });

    test("tree nodes without a batch are read-only, and hashes must be 32 bytes", async () => {
      await expectStoreError(
        () => store.treeNodes(table).set(0, 0, sha256(utf8("a"))),
        "WITNZ_STORE_INVALID",
        /read-only/,
      );
      await expectStoreError(
        () => store.treeNodes(table, store.batch()).set(0, 0, new Uint8Array(33)),
        "WITNZ_STORE_INVALID",
      );
      await expectStoreError(
        () => store.treeNodes(table).get(64, 0),
        "WITNZ_STORE_INVALID",
        /tree level/,
      );
    });

    test("the latest checkpoint is the one with the largest size", async () => {
      const batch = store.batch();
      batch.putCheckpoint(table, 10, "origin\n10\nroot-10\n");
      batch.putCheckpoint(table, 2, "origin\n2\nroot-2\n");
      batch.putCheckpoint(table, 256, "origin\n256\nroot-256\n\n— sig ✓\n");
      batch.putCheckpoint(`${table}s`, 1000, "another table");
      await store.commit(batch);
      expect(store.latestCheckpoint(table)).toEqual({
        size: 256,
        noteText: "origin\n256\nroot-256\n\n— sig ✓\n",
      });
      expect(store.checkpoint(table, 2)).toBe("origin\n2\nroot-2\n");
      expect(store.checkpoint(table, 3)).toBeUndefined();
      expect(store.latestCheckpoint("public.order")).toBeUndefined();
      expect(store.latestCheckpoint(`${table}s`)?.size).toBe(1000);
    });

    test("tables sharing a name prefix stay apart", async () => {
      const short = "a";
      const long = "ab";
      const batch = store.batch();
      for (const entry of makeEntries(1, 2, GENESIS)) batch.appendChainEntry(short, entry);
      for (const entry of makeEntries(1, 3, GENESIS)) batch.appendChainEntry(long, entry);
      batch.appendChainEntry("schéma.tâble ✓", makeEntries(1, 1, GENESIS)[0]!);
      await store.commit(batch);
      expect([...store.chainEntries(short, 1, 10)]).toHaveLength(2);
      expect([...store.chainEntries(long, 1, 10)]).toHaveLength(3);
      expect(store.tables().sort()).toEqual(["a", "ab", "schéma.tâble ✓"]);
    });

    test("meta entries round-trip; the schema version entry is the store's own", async () => {
      expect(store.meta("node-id")).toBeUndefined();
      const batch = store.batch();
      batch.setMeta("node-id", bytes(1, 2, 3));
      await store.commit(batch);
      expect(store.meta("node-id")).toEqual(bytes(1, 2, 3));
      expect(store.meta(SCHEMA_VERSION_META_NAME)).toEqual(bytes(0, 0, 0, STORE_SCHEMA_VERSION));
      await expectStoreError(
        () => store.batch().setMeta(SCHEMA_VERSION_META_NAME, bytes(0, 0, 0, 9)),
        "WITNZ_STORE_INVALID",
      );
    });

    test("a commit is all or nothing: a conflicting batch leaves no trace", async () => {
      const entries = makeEntries(1, 4, GENESIS);
      const winner = store.batch();
      const loser = store.batch();
      winner.appendChainEntry(table, entries[0]!);
      loser.appendChainEntry(table, { ...entries[0]!, primaryKey: utf8("loser-pk") });
      loser.putCheckpoint(table, 1, "loser checkpoint");
      loser.setMeta("loser", bytes(1));
      store.treeNodes(table, loser).set(4, 0, sha256(utf8("loser")));
      await store.commit(winner);
      await expectStoreError(
        () => store.commit(loser),
        "WITNZ_STORE_CONFLICT",
        /chain this batch appends to \("public.orders"\) moved after the batch read its head/,
      );
      expect(store.chainHead(table)?.size).toBe(1);
      expect(store.chainEntry(table, 1)?.primaryKey).toEqual(utf8("pk-1"));
      expect(store.sequenceForPrimaryKey(table, utf8("loser-pk"))).toBeUndefined();
      expect(store.checkpoint(table, 1)).toBeUndefined();
      expect(store.meta("loser")).toBeUndefined();
      expect(store.treeNodes(table).get(4, 0)).toBeUndefined();
    });

    test("a batch that requires a meta value commits only while the entry holds it", async () => {
      const first = store.batch();
      first.requireMeta("position", undefined);
      first.setMeta("position", bytes(1));
      const rival = store.batch();
      rival.requireMeta("position", undefined);
      rival.setMeta("position", bytes(2));
      rival.setMeta("rival", bytes(2));
      await store.commit(first);
      await expectStoreError(
        () => store.commit(rival),
        "WITNZ_STORE_CONFLICT",
        /a meta entry this batch requires \("position"\) holds another value/,
      );
      expect(store.meta("position")).toEqual(bytes(1));
      expect(store.meta("rival")).toBeUndefined();

      const next = store.batch();
      next.requireMeta("position", bytes(1));
      next.setMeta("position", bytes(3));
      await store.commit(next);
      expect(store.meta("position")).toEqual(bytes(3));
      // A batch of conditions alone is checked too.
      const stale = store.batch();
      stale.requireMeta("position", bytes(1));
      await expectStoreError(() => store.commit(stale), "WITNZ_STORE_CONFLICT");
    });

    test("two commits in flight on one table: one wins, the other conflicts", async () => {
      const entries = makeEntries(1, 2, GENESIS);
      const first = store.batch();
      const second = store.batch();
      first.appendChainEntry(table, entries[0]!);
      second.appendChainEntry(table, entries[0]!);
      const outcomes = await Promise.allSettled([store.commit(first), store.commit(second)]);
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
      const rejected = outcomes.find((outcome) => outcome.status === "rejected");
      expect((rejected as PromiseRejectedResult).reason.code).toBe("WITNZ_STORE_CONFLICT");
      expect(store.chainHead(table)?.size).toBe(1);
    });

    test("a batch staged while a commit is in flight builds on it: its head, its block", async () => {
      const entries = makeEntries(1, 1030, GENESIS);
      const first = store.batch();
      for (const entry of entries.slice(0, 1020)) first.appendChainEntry(table, entry);
      const events: string[] = [];
      const committing = store
        .commit(first, { onApplied: () => events.push("applied") })
        .then(() => events.push("durable"));
      // Staged before the first is durable: seq 1021 follows it, and crosses into block 1.
      const second = store.batch();
      expect(second.chainHead(table)).toEqual({ size: 1020, chainHash: entries[1019]!.chainHash });
      for (const entry of entries.slice(1020)) second.appendChainEntry(table, entry);
      await Promise.all([committing, store.commit(second)]);
      expect(events).toEqual(["applied", "durable"]);
      expect(store.chainHead(table)).toEqual({ size: 1030, chainHash: entries[1029]!.chainHash });
      const blocks = [store.dataHashBlock(table, 0), store.dataHashBlock(table, 1)];
      expect(blocks.map((block) => (block?.length ?? 0) / 32)).toEqual([1024, 6]);
      expect(blocks[0]!.subarray(1023 * 32)).toEqual(new Uint8Array(entries[1023]!.dataHash));
      expect(blocks[1]!.subarray(5 * 32)).toEqual(new Uint8Array(entries[1029]!.dataHash));
    });

    test("a batch built on a commit that fails fails too", async () => {
      const entries = makeEntries(1, 2, GENESIS);
      const winner = store.batch();
      const loser = store.batch();
      winner.appendChainEntry(table, entries[0]!);
      loser.appendChainEntry(table, { ...entries[0]!, chainHash: sha256(utf8("other")) });
      await store.commit(winner);
      // onApplied may be called when the write is handed to the store's writer, before its
      // condition is checked (LMDB), so whether it is called here is not part of the contract:
      // the failure is the promise's.
      const losing = store.commit(loser);
      // Built on the loser's head (size 1, its own chain hash), which never lands.
      const follower = store.batch();
      follower.appendChainEntry(table, entries[1]!);
      const outcomes = await Promise.allSettled([losing, store.commit(follower)]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
      for (const outcome of outcomes) {
        expect((outcome as PromiseRejectedResult).reason.code).toBe("WITNZ_STORE_CONFLICT");
      }
      expect(store.chainHead(table)).toEqual({ size: 1, chainHash: entries[0]!.chainHash });
      // Nothing is left in flight: a new batch reads the committed head again.
      const next = store.batch();
      next.appendChainEntry(table, entries[1]!);
      await store.commit(next);
      expect(store.chainHead(table)?.size).toBe(2);
    });

    test("a seed rebuilds a blank store; tree nodes its layout derives are not written", async () => {
      const entries = makeEntries(1, 40, GENESIS);
      const batch = store.batch();
      const tree = MerkleTree.create(store.treeNodes(table, batch));
      for (const entry of entries) {
        batch.appendChainEntry(table, entry);
        tree.append(entry.dataHash);
      }
      await store.commit(batch);
      const seed = [...store.seedEntries(() => false)];
      // As a peer on the layout that stored every level would send it.
      seed.push([encodeTreeNodeKey(table, 0, 0), new Uint8Array(tree.leafHash(0))]);
      const blank = await openFreshStore(harness);
      async function* chunks() {
        yield seed;
      }
      expect(await blank.importSeed(chunks(), () => false)).toBe(seed.length);
      expect(blank.chainHead(table)).toEqual(store.chainHead(table));
      const restored = MerkleTree.open(blank.treeNodes(table), 40);
      expect(restored.root()).toEqual(tree.root());
      expect(restored.inclusionProof(33, 40)).toEqual(tree.inclusionProof(33, 40));
      expect(blank.treeNodes(table).get(0, 0)).toEqual(tree.leafHash(0));
      // Stored: (4, 0), (4, 1) and (5, 0); the stray leaf was not written.
      const treeKeys = (entries: Iterable<[Uint8Array, Uint8Array]>) =>
        [...entries].filter(([key]) => key[0] === KeyTag.treeNode).length;
      expect(treeKeys(seed)).toBe(4);
      expect(treeKeys(blank.seedEntries(() => false))).toBe(3);
    });

    test("a batch commits once, and only in its own store", async () => {
      const batch = store.batch();
      batch.setMeta("x", bytes(1));
      await store.commit(batch);
      await expectStoreError(() => store.commit(batch), "WITNZ_STORE_INVALID", /already committed/);
      await expectStoreError(() => batch.setMeta("y", bytes(2)), "WITNZ_STORE_INVALID");
      const other = await openFreshStore(harness);
      await expectStoreError(() => other.commit(store.batch()), "WITNZ_STORE_INVALID", /another/);
    });

    test("a full batch refuses the entry that does not fit, whole", async () => {
      const batch = store.batch();
      let head = { size: 0, chainHash: GENESIS as Uint8Array };
      let refused: unknown;
      for (let seq = 1; refused === undefined; seq++) {
        const [entry] = makeEntries(seq, seq, head.chainHash);
        try {
          batch.appendChainEntry(table, entry!);
          head = { size: seq, chainHash: entry!.chainHash };
        } catch (error) {
          refused = error;
        }
      }
      expect((refused as StoreError).code).toBe("WITNZ_STORE_LIMIT");
      expect(batch.operationCount).toBeLessThanOrEqual(WRITE_OPERATIONS_MAX);
      expect(batch.chainHead(table)).toEqual(head);
      await store.commit(batch);
      expect(store.chainHead(table)).toEqual(head);
      let count = 0;
      for (const _entry of store.chainEntries(table, 1, Number.MAX_SAFE_INTEGER)) count += 1;
      expect(count).toBe(head.size);
      expect(store.sequenceForPrimaryKey(table, utf8(`pk-${head.size + 1}`))).toBeUndefined();
    });

    test("an empty batch commits as a no-op", async () => {
      await store.commit(store.batch());
      expect(store.tables()).toEqual([]);
    });
  });

  describe("schema version", () => {
    test("a new store records the current schema version", async () => {
      const keyValueStore = await harness.openKeyValueStore();
      await openStoreOnKeyValueStore(keyValueStore);
      expect(keyValueStore.get(encodeMetaKey(SCHEMA_VERSION_META_NAME))).toEqual(
        bytes(0, 0, 0, STORE_SCHEMA_VERSION),
      );
    });

    test("a newer schema version is refused, naming both versions", async () => {
      const keyValueStore = await harness.openKeyValueStore();
      await keyValueStore.write([
        { type: "put", key: encodeMetaKey(SCHEMA_VERSION_META_NAME), value: bytes(0, 0, 0, 3) },
      ]);
      await expectStoreError(
        () => openStoreOnKeyValueStore(keyValueStore),
        "WITNZ_STORE_SCHEMA",
        / has schema version 3; this build reads schema version 2 only/,
      );
    });

    test("a version 1 store, which stored every tree level, opens migrated: the levels it no longer keeps are deleted", async () => {
      const keyValueStore = await harness.openKeyValueStore();
      const table = "public.orders";
      // 9000 leaves have 16 875 nodes below level 4: more than one migration write deletes.
      const tables = [
        { name: table, leaves: 9000 },
        { name: "public.other", leaves: 40 },
      ];
      const node = (level: number, index: number) => sha256(utf8(`node ${level} ${index}`));
      const operations: WriteOperation[] = [
        { type: "put", key: encodeMetaKey(SCHEMA_VERSION_META_NAME), value: bytes(0, 0, 0, 1) },
        { type: "put", key: encodeMetaKey("kept"), value: bytes(7) },
      ];
      let kept = 0;
      for (const { name, leaves } of tables) {
        for (let level = 0; 2 ** level <= leaves; level++) {
          const count = Math.floor(leaves / 2 ** level);
          if (level >= TREE_STORED_LEVEL_MIN) kept += count;
          for (let index = 0; index < count; index++) {
            operations.push({
              type: "put",
              key: encodeTreeNodeKey(name, level, index),
              value: node(level, index),
            });
          }
        }
      }
      await keyValueStore.write(operations);
      const migrated = await openStoreOnKeyValueStore(keyValueStore);
      expect(keyValueStore.get(encodeMetaKey(SCHEMA_VERSION_META_NAME))).toEqual(
        bytes(0, 0, 0, STORE_SCHEMA_VERSION),
      );
      const treeNodeKeys = [
        ...keyValueStore.range({
          start: Uint8Array.of(KeyTag.treeNode),
          end: Uint8Array.of(KeyTag.treeNode + 1),
        }),
      ].map(([key]) => decodeTreeNodeKey(key));
      expect(treeNodeKeys.every((key) => key.level >= TREE_STORED_LEVEL_MIN)).toBe(true);
      expect(treeNodeKeys.length).toBe(kept);
      expect(migrated.treeNodes(table).get(5, 3)).toEqual(node(5, 3));
      expect(migrated.meta("kept")).toEqual(bytes(7));
      expect(migrated.meta("schema-migration-cleanup")).toBeUndefined();
    });

    test("a migration interrupted after its version was written goes on at the next open", async () => {
      const keyValueStore = await harness.openKeyValueStore();
      const table = "public.orders";
      await keyValueStore.write([
        { type: "put", key: encodeMetaKey(SCHEMA_VERSION_META_NAME), value: bytes(0, 0, 0, 2) },
        { type: "put", key: encodeMetaKey("schema-migration-cleanup"), value: bytes() },
        { type: "put", key: encodeTreeNodeKey(table, 0, 0), value: sha256(utf8("leaf")) },
        { type: "put", key: encodeTreeNodeKey(table, 4, 0), value: sha256(utf8("node")) },
      ]);
      const store = await openStoreOnKeyValueStore(keyValueStore);
      expect(keyValueStore.get(encodeTreeNodeKey(table, 0, 0))).toBeUndefined();
      expect(store.treeNodes(table).get(4, 0)).toEqual(sha256(utf8("node")));
      expect(store.meta("schema-migration-cleanup")).toBeUndefined();
      await expectStoreError(
        async () => store.batch().setMeta("schema-migration-cleanup", bytes(1)),
        "WITNZ_STORE_INVALID",
        /belongs to the store itself/,
      );
    });

    test("an unreadable schema version is refused", async () => {
      const keyValueStore = await harness.openKeyValueStore();
      await keyValueStore.write([
        { type: "put", key: encodeMetaKey(SCHEMA_VERSION_META_NAME), value: utf8("one") },
      ]);
      await expectStoreError(
        () => openStoreOnKeyValueStore(keyValueStore),
        "WITNZ_STORE_SCHEMA",
        /unreadable schema version \(3 bytes\); this build reads schema version 2/,
      );
    });

    test("data without a schema version is refused", async () => {
      const keyValueStore = await harness.openKeyValueStore();
      await keyValueStore.write([{ type: "put", key: bytes(3, 0, 1, 97), value: bytes(1) }]);
      await expectStoreError(
        () => openStoreOnKeyValueStore(keyValueStore),
        "WITNZ_STORE_SCHEMA",
        /holds data but no schema version/,
      );
    });
  });
}
