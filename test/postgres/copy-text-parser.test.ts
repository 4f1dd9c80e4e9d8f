import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { type CopyRow, CopyTextParser } from "../../src/postgres/copy-text-parser.js";

const utf8 = new TextEncoder();
const text = (value: string): Uint8Array => utf8.encode(value);

/** COPY TO's escapes (CopyAttributeOutText): every other byte is printed as it is. */
const ESCAPES: Readonly<Record<number, string>> = {
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
  92: "\\\\",
};

/** The bytes COPY TO prints for these rows. */
function copyBytes(rows: readonly CopyRow[]): Uint8Array {
  const bytes: number[] = [];
  for (const row of rows) {
    row.forEach((value, index) => {
      if (index > 0) bytes.push(0x09);
      if (value === null) {
        bytes.push(0x5c, 0x4e);
        return;
      }
      for (const byte of value) {
        const sequence = ESCAPES[byte];
        if (sequence === undefined) bytes.push(byte);
        else bytes.push(...text(sequence));
      }
    });
    bytes.push(0x0a);
  }
  return Uint8Array.from(bytes);
}

function parseAll(columnCount: number, chunks: readonly Uint8Array[]): CopyRow[] {
  const parser = new CopyTextParser(columnCount);
  const rows: CopyRow[] = [];
  for (const chunk of chunks)
    parser.push(chunk, (row) =>
      rows.push(row.map((value) => (value === null ? null : value.slice()))),
    );
  expect(parser.end()).toBe(rows.length);
  return rows;
}

function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe("COPY text parser", () => {
  test("tabs, newlines, NULL and the text \\N", () => {
    const input = text("1\t\\N\ta\\tb\\nc\\\\d\n2\t\\\\N\t\n");
    expect(parseAll(3, [input])).toEqual([
      [text("1"), null, text("a\tb\nc\\d")],
      [text("2"), text("\\N"), text("")],
    ]);
  });

  test("every escape COPY FROM accepts", () => {
    const input = text("\\b\\f\\r\\v\\101\\0\\1234\\x41\\x4a5\\xg\\q\\.\\N1\\\t\n");
    const expected = [8, 12, 13, 11, 0x41, 0, 0o123, 0x34, 0x41, 0x4a, 0x35, 0x78, 0x67, 0x71];
    expected.push(0x2e, 0x4e, 0x31, 9);
    expect(parseAll(1, [input])).toEqual([[Uint8Array.from(expected)]]);
  });

  test("an octal or hex escape cut short by the end of the field", () => {
    expect(parseAll(2, [text("\\7\t\\x4\n")])).toEqual([[Uint8Array.of(7), Uint8Array.of(4)]]);
  });

  test("multi-byte UTF-8 split across chunks comes out whole", () => {
    const input = text("é日🙂\tx\n");
    for (let cut = 0; cut <= input.length; cut++) {
      expect(parseAll(2, [input.subarray(0, cut), input.subarray(cut)])).toEqual([
        [text("é日🙂"), text("x")],
      ]);
    }
  });

  test("a table without columns prints empty lines", () => {
    expect(parseAll(0, [text("\n\n")])).toEqual([[], []]);
  });

  test("malformed data is refused with WITNZ_POSTGRES_COPY", () => {
    const refuse = (columns: number, input: string) => () => parseAll(columns, [text(input)]);
    expect(refuse(2, "1\n")).toThrow(expect.objectContaining({ code: "WITNZ_POSTGRES_COPY" }));
    expect(refuse(1, "1\t2\n")).toThrow(/more than 1 values/);
    expect(refuse(1, "1")).toThrow(/ends inside a row/);
    expect(refuse(1, "1\\")).toThrow(/ends inside a row/);
    expect(refuse(1, "a\rb\n")).toThrow(/carriage return/);
  });

  test("a row larger than the limit is refused with WITNZ_POSTGRES_LIMIT", () => {
    const parser = new CopyTextParser(1, 4);
    expect(() => parser.push(text("12345\n"), () => {})).toThrow(
      expect.objectContaining({ code: "WITNZ_POSTGRES_LIMIT" }),
    );
  });

  test("any rows survive escaping and any chunking (property)", () => {
    const value = fc.option(fc.uint8Array({ maxLength: 12 }), { nil: null });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((columns) =>
          fc.tuple(
            fc.constant(columns),
            fc.array(fc.array(value, { minLength: columns, maxLength: columns }), {
              maxLength: 6,
            }),
            fc.array(fc.nat(), { maxLength: 8 }),
          ),
        ),
        ([columns, rows, cuts]) => {
          const bytes = copyBytes(rows);
          expect(parseAll(columns, splitAt(bytes, cuts))).toEqual(rows);
        },
      ),
      { seed: 20261123, numRuns: 500 },
    );
  });
});

test("design note test vector (docs/design/postgres.md)", () => {
  const bytes = Uint8Array.from(Buffer.from("31095c4e0a5c5c4e09615c74625c6e0a", "hex"));
  expect(parseAll(2, [bytes])).toEqual([
    [text("1"), null],
    [text("\\N"), text("a\tb\n")],
  ]);
});
