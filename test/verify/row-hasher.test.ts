import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { dataHash, encodePrimaryKey, encodeRow } from "../../src/hash/index.js";
import { CopyTextParser } from "../../src/postgres/copy-text-parser.js";
import { PrimaryKeyWriter, RowHasher, sameDigest } from "../../src/verify/index.js";

const textValue = fc.oneof(
  fc.constant(null),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.uint8Array({ maxLength: 200 }),
);

describe("RowHasher", () => {
  test("encodes exactly what encodeRow encodes (seeded property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.string({ minLength: 1, maxLength: 20 }),
        fc.array(
          fc.tuple(
            fc.string({ minLength: 1, maxLength: 12 }),
            fc.array(textValue, { minLength: 3, maxLength: 3 }),
          ),
          { maxLength: 8 },
        ),
        (schema, table, columnsWithRows) => {
          const columns = columnsWithRows.map(([name]) => name);
          const hasher = new RowHasher(schema, table, columns);
          for (let row = 0; row < 3; row++) {
            const values = columnsWithRows.map(([, cells]) => cells[row]!);
            const expected = encodeRow({ schema, table, columns, values });
            expect(Buffer.from(hasher.encode(values))).toEqual(expected);
            expect(hasher.hash(values)).toEqual(dataHash(expected));
          }
        },
      ),
      { seed: 20261123, numRuns: 300 },
    );
  });

  test("matches the row-encoding test vector 3 and grows past its first buffer", () => {
    const hasher = new RowHasher("Billing", "Audit Log", ["Id", "amount", "at", "payload"]);
    expect(
      hasher.hash(["3", "12.50", "2026-11-23 10:00:00+00", '{"a": "é日"}']).toString("hex"),
    ).toBe("6b2915cd982389d34104913708dc502ec74cf4272461800b4f149d93f5be2df3");
    const large = "x".repeat(200_000);
    expect(hasher.hash(["1", large, null, ""])).toEqual(
      dataHash(
        encodeRow({
          schema: "Billing",
          table: "Audit Log",
          columns: ["Id", "amount", "at", "payload"],
          values: ["1", large, null, ""],
        }),
      ),
    );
  });
});

/** COPY text for one row: every byte escaped as octal when `octal`, NULL as \\N. */
function copyLine(values: readonly (Uint8Array | null)[], octal: boolean): Uint8Array {
  const parts = values.map((value) => {
    if (value === null) return "\\N";
    if (!octal) return Buffer.from(value).toString("latin1");
    return [...value].map((byte) => `\\${byte.toString(8).padStart(3, "0")}`).join("");
  });
  return Buffer.from(`${parts.join("\t")}\n`, "latin1");
}

describe("digestRow and PrimaryKeyWriter", () => {
  test("hash and key bytes from COPY offsets equal encodeRow's and encodePrimaryKey's (seeded property)", () => {
    const plainValue = fc.option(
      // Printable bytes below the backslash: COPY prints them as they are.
      fc.uint8Array({ maxLength: 60 }).map((bytes) => bytes.map((byte) => (byte % 60) + 32)),
      { nil: null },
    );
    fc.assert(
      fc.property(
        fc.array(plainValue, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.nat(),
        (values, octal, keySeed) => {
          const columns = values.map((_, index) => `c${index}`);
          const keyPositions = [keySeed % values.length, (keySeed >> 3) % values.length];
          const hasher = new RowHasher("public", "t", columns);
          const key = new PrimaryKeyWriter(keyPositions);
          const parser = new CopyTextParser(values.length);
          let rows = 0;
          parser.pushRows(copyLine(values, octal), (row) => {
            rows += 1;
            const expected = dataHash(encodeRow({ schema: "public", table: "t", columns, values }));
            expect(sameDigest(hasher.digestRow(row), expected)).toBe(true);
            key.write(row);
            const expectedKey = encodePrimaryKey(keyPositions.map((position) => values[position]!));
            expect(key.equalsRange(expectedKey, 0, expectedKey.length)).toBe(true);
            expect(Buffer.from(key.bytes())).toEqual(expectedKey);
          });
          expect(rows).toBe(1);
        },
      ),
      { seed: 20261123, numRuns: 300 },
    );
  });

  test("a key too long to keep is written in encodePrimaryKey's digest form", () => {
    const values = ["k".repeat(700), "v", "m".repeat(400)].map((text) => Buffer.from(text));
    const key = new PrimaryKeyWriter([0, 2]);
    const parser = new CopyTextParser(values.length);
    let rows = 0;
    parser.pushRows(copyLine(values, false), (row) => {
      rows += 1;
      key.write(row);
      const expected = encodePrimaryKey([values[0]!, values[2]!]);
      expect(expected).toHaveLength(33);
      expect(Buffer.from(key.bytes())).toEqual(expected);
      expect(key.equalsRange(expected, 0, expected.length)).toBe(true);
    });
    expect(rows).toBe(1);
  });

  test("sameDigest refuses a different or missing hash", () => {
    const hasher = new RowHasher("public", "t", ["a"]);
    const parser = new CopyTextParser(1);
    let digest = "";
    parser.pushRows(Buffer.from("x\n"), (row) => {
      digest = hasher.digestRow(row);
    });
    const right = Buffer.from(digest, "latin1");
    const wrong = Buffer.from(right);
    wrong[31] = wrong[31]! ^ 1;
    expect(sameDigest(digest, right)).toBe(true);
    expect(sameDigest(digest, wrong)).toBe(false);
    expect(sameDigest(digest, undefined)).toBe(false);
  });
});
