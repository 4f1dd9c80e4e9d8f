import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  chainHash,
  dataHash,
  decodePrimaryKey,
  decodeRow,
  encodePrimaryKey,
  encodeRow,
  extendChain,
  GENESIS_CHAIN_HASH,
  PRIMARY_KEY_DIGEST_TAG,
  PRIMARY_KEY_INLINE_BYTES_MAX,
  RowEncodingError,
  type RowImage,
  reportedDigestForm,
} from "../../src/hash/index.js";

// The vectors of docs/design/row-encoding.md, computed by an independent implementation of the
// layout (not by this code).
const vectors: Array<{ row: RowImage; encoded: string; data: string; chain: string }> = [
  {
    row: {
      schema: "public",
      table: "audit_log",
      columns: ["id", "actor", "note"],
      values: ["1", "alice", "hello"],
    },
    encoded:
      "01000000067075626c69630000000961756469745f6c6f6700000003000000026964010000000131000000056163746f720100000005616c696365000000046e6f7465010000000568656c6c6f",
    data: "6c9a2ad6db5a4ce54ccfc1165161865f49eab2899f9ffcbfa1ea2f59f6ac2422",
    chain: "d1fa50a5b3deb62ffd8b383ea1349be3f567d1015fd8248cae9ac294412da57a",
  },
  {
    row: {
      schema: "public",
      table: "audit_log",
      columns: ["id", "actor", "note"],
      values: ["2", "bob", null],
    },
    encoded:
      "01000000067075626c69630000000961756469745f6c6f6700000003000000026964010000000132000000056163746f720100000003626f62000000046e6f746500",
    data: "974e420c0c116bc8025f1b9adf7e3725230696c605c0a34aeee59382136a544f",
    chain: "cca2a1114a998a849d271cfaec7733b1cd28d6f2808b59bee009ab0c89eafc6e",
  },
  {
    row: {
      schema: "Billing",
      table: "Audit Log",
      columns: ["Id", "amount", "at", "payload"],
      values: ["3", "12.50", "2026-11-23 10:00:00+00", '{"a": "é日"}'],
    },
    encoded:
      "010000000742696c6c696e67000000094175646974204c6f670000000400000002496401000000013300000006616d6f756e74010000000531322e35300000000261740100000016323032362d31312d32332031303a30303a30302b3030000000077061796c6f6164010000000e7b2261223a2022c3a9e697a5227d",
    data: "6b2915cd982389d34104913708dc502ec74cf4272461800b4f149d93f5be2df3",
    chain: "6f639e06b5f8a9ea72e0a56d985b571906afbbb242e850a3ee3cdad6b2646573",
  },
  {
    row: { schema: "public", table: "empty_row", columns: [], values: [] },
    encoded: "01000000067075626c696300000009656d7074795f726f7700000000",
    data: "949c6fab19d7af2799e6342cafbdb361e5f110a1de63fdb0d1940a0da8ae86b5",
    chain: "b9f46da8188013091eb5cd7330c24fb34bce595d5b83365a1502f7b0b5df2c04",
  },
];

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

describe("row encoding v1", () => {
  test("matches the documented vectors byte for byte", () => {
    for (const vector of vectors) {
      expect(hex(encodeRow(vector.row))).toBe(vector.encoded);
      expect(hex(dataHash(vector.row))).toBe(vector.data);
      expect(hex(dataHash(encodeRow(vector.row)))).toBe(vector.data);
    }
  });

  test("a string value and its UTF-8 bytes encode the same", () => {
    const row = vectors[2]!.row;
    const asBytes = { ...row, values: row.values.map((v) => (v === null ? v : Buffer.from(v))) };
    expect(hex(encodeRow(asBytes))).toBe(vectors[2]!.encoded);
  });

  test("NULL, the empty string and the text 'NULL' are three different rows", () => {
    const base = { schema: "s", table: "t", columns: ["c"] };
    const encodings = [null, "", "NULL", "\\N"].map((value) =>
      hex(encodeRow({ ...base, values: [value] })),
    );
    expect(new Set(encodings).size).toBe(4);
  });

  test("moving bytes between fields, table or schema changes the encoding", () => {
    const a = encodeRow({ schema: "a.b", table: "c", columns: ["x"], values: ["1"] });
    const b = encodeRow({ schema: "a", table: "b.c", columns: ["x"], values: ["1"] });
    const c = encodeRow({ schema: "s", table: "t", columns: ["ab", "c"], values: ["1", "2"] });
    const d = encodeRow({ schema: "s", table: "t", columns: ["a", "bc"], values: ["1", "2"] });
    expect(hex(a)).not.toBe(hex(b));
    expect(hex(c)).not.toBe(hex(d));
  });

  test("decodeRow inverts encodeRow for any row (property)", () => {
    const value = fc.option(fc.string({ unit: "grapheme" }), { nil: null });
    const row = fc
      .record({
        schema: fc.string({ unit: "grapheme", minLength: 1 }),
        table: fc.string({ unit: "grapheme", minLength: 1 }),
        columns: fc.array(fc.string({ unit: "grapheme", minLength: 1 }), { maxLength: 12 }),
      })
      .chain((shape) =>
        fc
          .array(value, { minLength: shape.columns.length, maxLength: shape.columns.length })
          .map((values) => ({ ...shape, values })),
      );
    fc.assert(
      fc.property(row, (image) => {
        expect(decodeRow(encodeRow(image))).toEqual(image);
      }),
    );
  });

  test("bad input is refused with a reason", () => {
    expect(() =>
      encodeRow({ schema: "s", table: "t", columns: ["a", "b"], values: ["1"] }),
    ).toThrow(new RowEncodingError("row of s.t has 2 columns but 1 values"));
    const encoded = Buffer.from(vectors[0]!.encoded, "hex");
    expect(() => decodeRow(encoded.subarray(0, encoded.length - 2))).toThrow(
      /^truncated row encoding: value at byte \d+$/,
    );
    const otherVersion = Buffer.from(encoded);
    otherVersion[0] = 2;
    expect(() => decodeRow(otherVersion)).toThrow("unknown row encoding version 2");
    expect(() => decodeRow(Buffer.concat([encoded, Buffer.from([0])]))).toThrow(
      "1 trailing bytes after the row encoding",
    );
  });
});

describe("hash chain", () => {
  test("c_i = SHA-256(c_{i-1} || u64be(i) || d_i) from 32 zero bytes, per the vectors", () => {
    let previous: Uint8Array = GENESIS_CHAIN_HASH;
    vectors.forEach((vector, index) => {
      previous = chainHash(previous, index + 1, Buffer.from(vector.data, "hex"));
      expect(hex(previous)).toBe(vector.chain);
    });
    const head = extendChain(
      { size: 0, chainHash: GENESIS_CHAIN_HASH },
      vectors.map((vector) => Buffer.from(vector.data, "hex")),
    );
    expect(head.size).toBe(4);
    expect(hex(head.chainHash)).toBe(vectors[3]!.chain);
  });

  test("the chain commits to order and position", () => {
    const [d1, d2] = vectors.map((vector) => Buffer.from(vector.data, "hex"));
    const inOrder = chainHash(chainHash(GENESIS_CHAIN_HASH, 1, d1!), 2, d2!);
    const swapped = chainHash(chainHash(GENESIS_CHAIN_HASH, 1, d2!), 2, d1!);
    expect(hex(inOrder)).not.toBe(hex(swapped));
    expect(hex(chainHash(GENESIS_CHAIN_HASH, 1, d1!))).not.toBe(
      hex(chainHash(GENESIS_CHAIN_HASH, 2, d1!)),
    );
  });

  test("bad input is refused", () => {
    const zero = new Uint8Array(32);
    expect(() => chainHash(zero, 0, zero)).toThrow(
      "chain sequence numbers run from 1 to 2^64 - 1, got 0",
    );
    expect(() => chainHash(zero, 1, new Uint8Array(31))).toThrow("two 32-byte hashes");
  });
});

describe("primary key bytes", () => {
  test("round-trip, and distinct keys never share bytes", () => {
    const keys: Array<(string | null)[]> = [
      ["1"],
      ["12"],
      ["1", "2"],
      ["12", null],
      [""],
      [null],
      ["a\u0000b"],
    ];
    const encoded = keys.map((key) => Buffer.from(encodePrimaryKey(key)).toString("hex"));
    expect(new Set(encoded).size).toBe(keys.length);
    for (const key of keys) expect(decodePrimaryKey(encodePrimaryKey(key))).toEqual(key);
    expect(Buffer.from(encodePrimaryKey(["42"])).toString("hex")).toBe("0100010100000002" + "3432");
    expect(() => encodePrimaryKey([])).toThrow("a primary key has 1 to 65535 columns, got 0");
    expect(() => decodePrimaryKey(Buffer.from("0100010100000009", "hex"))).toThrow(
      "truncated primary key",
    );
  });

  test("a key whose encoding is over 1024 bytes is kept in its digest form, reported by digest", () => {
    // 3 header bytes + 1 tag + 4 length + the text: 1016 characters encode in exactly 1024 bytes.
    const longest = ["x".repeat(1016)];
    expect(encodePrimaryKey(longest)).toHaveLength(PRIMARY_KEY_INLINE_BYTES_MAX);
    expect(decodePrimaryKey(encodePrimaryKey(longest))).toEqual(longest);
    for (const key of [["x".repeat(1017)], ["a".repeat(600), "b".repeat(600)], ["é".repeat(600)]]) {
      const full = Buffer.concat([
        Buffer.of(1, 0, key.length),
        ...key.map((value) => {
          const text = Buffer.from(value, "utf8");
          const length = Buffer.alloc(4);
          length.writeUInt32BE(text.length);
          return Buffer.concat([Buffer.of(1), length, text]);
        }),
      ]);
      const digest = createHash("sha256").update(full).digest();
      const encoded = encodePrimaryKey(key);
      expect(Buffer.from(encoded)).toEqual(
        Buffer.concat([Buffer.of(PRIMARY_KEY_DIGEST_TAG), digest]),
      );
      expect(decodePrimaryKey(encoded)).toEqual([`sha256:${digest.toString("hex")}`]);
      // The report stands for the digest form, and nothing else does.
      expect(reportedDigestForm(decodePrimaryKey(encoded))).toEqual(encoded);
    }
    for (const other of [["sha256:00"], [`sha256:${"0".repeat(64)}`, "x"], [null], ["x"]]) {
      expect(reportedDigestForm(other)).toBeUndefined();
    }
    // Two long keys that differ in their last byte have different digest forms.
    expect(encodePrimaryKey([`${"x".repeat(2000)}a`])).not.toEqual(
      encodePrimaryKey([`${"x".repeat(2000)}b`]),
    );
  });
});
