import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { dataHash, encodeRow } from "../../src/hash/index.js";
import { RowHasher } from "../../src/verify/index.js";

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
