import { describe, expect, test } from "vitest";
import {
  createMemoryKeyValueStore,
  decodeChainEntryKey,
  decodeChainHeadKey,
  decodeCheckpointKey,
  decodeMetaKey,
  decodePrimaryKeyIndexKey,
  decodeTreeNodeKey,
  encodeAlertDueKey,
  encodeAlertRecordKey,
  encodeChainEntryKey,
  encodeChainHeadKey,
  encodeCheckpointKey,
  encodeMetaKey,
  encodePrimaryKeyIndexKey,
  encodeTreeNodeKey,
  encodeViolationEntryKey,
  encodeViolationHeadKey,
  encodeViolationRecord,
  KEY_BYTES_MAX,
  KeyTag,
  openStoreOnKeyValueStore,
  PRIMARY_KEY_BYTES_MAX,
  prefixEnd,
  StoreError,
  TABLE_NAME_BYTES_MAX,
  tableKeyRange,
} from "../../src/store/index.js";

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function compare(left: Uint8Array, right: Uint8Array): number {
  return Buffer.compare(Buffer.from(left), Buffer.from(right));
}

describe("key layout", () => {
  // Vectors written out by hand from the table at the top of keys.ts.
  test("each family encodes as documented", () => {
    expect(hex(encodeMetaKey("schema-version"))).toBe(
      `01000e${Buffer.from("schema-version").toString("hex")}`,
    );
    expect(hex(encodeChainHeadKey("t"))).toBe("02000174");
    expect(hex(encodeChainEntryKey("t", 258))).toBe("030001740000000000000102");
    expect(hex(encodePrimaryKeyIndexKey("t", Uint8Array.of(0xaa, 0xbb)))).toBe("04000174aabb");
    expect(hex(encodeTreeNodeKey("t", 3, 2 ** 40))).toBe("0500017403" + "0000010000000000");
    expect(hex(encodeCheckpointKey("t", 7))).toBe("060001740000000000000007");
    expect(hex(encodeChainEntryKey("é", 1))).toBe("030002c3a90000000000000001");
  });

  test("every family decodes what it encodes", () => {
    const table = "public.événements ✓";
    expect(decodeMetaKey(encodeMetaKey("node-id"))).toBe("node-id");
    expect(decodeChainHeadKey(encodeChainHeadKey(table))).toBe(table);
    expect(decodeChainEntryKey(encodeChainEntryKey(table, 2 ** 53 - 1))).toEqual({
      table,
      seq: 2 ** 53 - 1,
    });
    expect(decodePrimaryKeyIndexKey(encodePrimaryKeyIndexKey(table, Uint8Array.of(0, 1)))).toEqual({
      table,
      primaryKey: Uint8Array.of(0, 1),
    });
    expect(decodeTreeNodeKey(encodeTreeNodeKey(table, 63, 12345))).toEqual({
      table,
      level: 63,
      index: 12345,
    });
    expect(decodeCheckpointKey(encodeCheckpointKey(table, 0))).toEqual({ table, size: 0 });
  });

  test("a decoder refuses another family's key and a truncated key", () => {
    expect(() => decodeChainEntryKey(encodeCheckpointKey("t", 1))).toThrow(StoreError);
    expect(() => decodeChainEntryKey(encodeChainEntryKey("t", 1).subarray(0, 8))).toThrow(
      /malformed chain entry key length/,
    );
  });

  test("sequence numbers and sizes sort numerically", () => {
    const seqs = [1, 2, 255, 256, 65_535, 65_536, 2 ** 32, 2 ** 53 - 1];
    const keys = seqs.map((seq) => encodeChainEntryKey("t", seq));
    expect([...keys].sort(compare)).toEqual(keys);
  });

  test("a table's range holds its keys and no other table's", () => {
    const range = tableKeyRange(KeyTag.chainEntry, "a");
    const inside = encodeChainEntryKey("a", 2 ** 53 - 1);
    const outside = [
      encodeChainEntryKey("ab", 1),
      encodeChainEntryKey("b", 1),
      encodeChainHeadKey("a"),
    ];
    expect(compare(range.start, inside) <= 0 && compare(inside, range.end) < 0).toBe(true);
    for (const key of outside) {
      expect(compare(range.start, key) <= 0 && compare(key, range.end) < 0).toBe(false);
    }
  });

  test("prefixEnd carries past 0xff bytes", () => {
    expect(hex(prefixEnd(Uint8Array.of(1, 2, 0xff, 0xff)))).toBe("0103");
    expect(() => prefixEnd(Uint8Array.of(0xff))).toThrow(StoreError);
  });

  test("tags are distinct and leave 0x00 and 0xff unused", () => {
    const tags = Object.values(KeyTag);
    expect(new Set(tags).size).toBe(tags.length);
    expect(tags).not.toContain(0x00);
    expect(tags).not.toContain(0xff);
  });

  test("names and keys are bounded", () => {
    const longest = encodePrimaryKeyIndexKey(
      "t".repeat(TABLE_NAME_BYTES_MAX),
      new Uint8Array(PRIMARY_KEY_BYTES_MAX),
    );
    expect(longest.length).toBeLessThanOrEqual(KEY_BYTES_MAX);
    expect(() => encodeChainHeadKey("t".repeat(TABLE_NAME_BYTES_MAX + 1))).toThrow(
      /513 UTF-8 bytes; the limit is 512/,
    );
    expect(() => encodePrimaryKeyIndexKey("t", new Uint8Array(PRIMARY_KEY_BYTES_MAX + 1))).toThrow(
      /limit is 1024/,
    );
    expect(() => encodeChainHeadKey("")).toThrow(/must not be empty/);
    expect(() => encodeChainHeadKey("bad \ud800 name")).toThrow(/unpaired surrogate/);
    expect(() => encodeChainEntryKey("t", 0)).toThrow(/from 1 to 2\^53 - 1/);
    expect(() => encodeChainEntryKey("t", 1.5)).toThrow(StoreError);
  });
});

describe("value layout", () => {
  // The vectors of docs/design/storage.md, read back raw from the key-value layer.
  test("chain entry, head, index, tree node and checkpoint values are as documented", async () => {
    const keyValueStore = createMemoryKeyValueStore();
    const store = await openStoreOnKeyValueStore(keyValueStore);
    const batch = store.batch();
    batch.appendChainEntry("t", {
      seq: 1,
      dataHash: new Uint8Array(32).fill(0x11),
      chainHash: new Uint8Array(32).fill(0x22),
      lsn: 0x16b43d28n,
      primaryKey: Uint8Array.of(0xaa, 0xbb),
    });
    store.treeNodes("t", batch).set(4, 0, new Uint8Array(32).fill(0x33));
    batch.putCheckpoint("t", 1, "é\n");
    await store.commit(batch);
    const raw = (key: Uint8Array) => hex(keyValueStore.get(key)!);
    expect(raw(encodeChainEntryKey("t", 1))).toBe(
      `${"11".repeat(32)}${"22".repeat(32)}0000000016b43d28aabb`,
    );
    expect(raw(encodeChainHeadKey("t"))).toBe(`0000000000000001${"22".repeat(32)}`);
    expect(raw(encodePrimaryKeyIndexKey("t", Uint8Array.of(0xaa, 0xbb)))).toBe("0000000000000001");
    expect(raw(encodeTreeNodeKey("t", 4, 0))).toBe("33".repeat(32));
    // Below level 4 nothing is stored: the leaf is derived from the entry.
    expect(keyValueStore.get(encodeTreeNodeKey("t", 0, 0))).toBeUndefined();
    expect(raw(encodeCheckpointKey("t", 1))).toBe("c3a90a");
    expect(raw(encodeMetaKey("schema-version"))).toBe("00000002");
    await store.close();
  });
});

describe("violation and alert outbox keys", () => {
  test("match the documented vectors", () => {
    const hex = (value: Uint8Array) => Buffer.from(value).toString("hex");
    expect(hex(encodeViolationEntryKey("t", 1))).toBe("070001740000000000000001");
    expect(hex(encodeViolationHeadKey("t"))).toBe("08000174");
    expect(hex(encodeAlertRecordKey("a"))).toBe("0900000161");
    expect(hex(encodeAlertDueKey(1_714_564_800_000, "a"))).toBe("09010000018f34069e00000161");
    expect(
      hex(
        encodeViolationRecord({
          kind: "update",
          lsn: 0x16b43d28n,
          commitTimeUnixMicroseconds: 1_714_564_800_000_000n,
          xid: 7,
          primaryKey: Uint8Array.of(0xaa, 0xbb),
          oldDataHash: new Uint8Array(32).fill(0x11),
          newDataHash: new Uint8Array(32).fill(0x22),
          detail: "{}",
        }),
      ),
    ).toBe(
      `0101070000000016b43d280006176339d93000000000070002aabb${"11".repeat(32)}${"22".repeat(32)}000000027b7d`,
    );
  });
});
