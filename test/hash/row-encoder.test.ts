import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encodeRow, RowEncoder, RowEncodingError, type TextValue } from "../../src/hash/index.js";

const textValue: fc.Arbitrary<TextValue> = fc.oneof(
  fc.constant(null),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }),
);

describe("RowEncoder", () => {
  test("writes encodeRow's bytes for every row, reusing one buffer as rows grow and shrink", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
        fc.array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 5 }),
        fc.infiniteStream(textValue),
        (schema, table, columns, longValueBytes, values) => {
          const encoder = new RowEncoder(schema, table, columns);
          for (const bytes of longValueBytes) {
            // Some rows past the starting buffer, to make it grow, and short ones after them.
            const row = columns.map((_, index) =>
              index === 0 ? new Uint8Array(bytes).fill(0x61) : values.next().value,
            );
            const expected = encodeRow({ schema, table, columns, values: row });
            expect(Buffer.from(encoder.encode(row))).toEqual(expected);
          }
        },
      ),
      { seed: 3, numRuns: 50 },
    );
  });

  test("refuses a row with the wrong number of values or a missing value, as encodeRow does", () => {
    const encoder = new RowEncoder("public", "t", ["a", "b"]);
    expect(() => encoder.encode(["1"])).toThrow(RowEncodingError);
    expect(() => encoder.encode(["1", undefined as unknown as null])).toThrow(
      /value of column b is missing/,
    );
  });
});
