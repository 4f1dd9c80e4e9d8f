// The data hash of many rows of one layout, without per-row allocation: the bytes that are the
// same for every row (version, schema, table, column count, each column name) are encoded once,
// and each row is written into one reused buffer. The bytes are exactly encodeRow's
// (docs/design/row-encoding.md); test/verify/row-hasher.test.ts checks them against it.

import { dataHash, encodeRow, type TextValue } from "../hash/index.js";

const TAG_NULL = 0x00;
const TAG_TEXT = 0x01;
const LENGTH_BYTES = 4;
const INITIAL_BUFFER_BYTES = 64 * 1024;

export class RowHasher {
  /** version | part(schema) | part(table) | u32 count: encodeRow of a row with no columns, minus the count. */
  private readonly header: Buffer;
  /** part(column name) for each column. */
  private readonly columnParts: readonly Buffer[];
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);

  constructor(schema: string, table: string, columns: readonly string[]) {
    // encodeRow itself writes the header, so the constant bytes cannot drift from it.
    const empty = encodeRow({ schema, table, columns: [], values: [] });
    const header = Buffer.from(empty);
    header.writeUInt32BE(columns.length, header.length - LENGTH_BYTES);
    this.header = header;
    this.columnParts = columns.map((column) => {
      const name = Buffer.from(column, "utf8");
      const part = Buffer.allocUnsafe(LENGTH_BYTES + name.length);
      part.writeUInt32BE(name.length, 0);
      name.copy(part, LENGTH_BYTES);
      return part;
    });
  }

  /** The canonical row bytes of `values` (one per column); valid until the next call. */
  encode(values: readonly TextValue[]): Buffer {
    if (values.length !== this.columnParts.length) {
      throw new RangeError(`expected ${this.columnParts.length} values, got ${values.length}`);
    }
    let total = this.header.length;
    for (let column = 0; column < values.length; column++) {
      const value = values[column];
      total += this.columnParts[column]!.length + 1;
      if (value !== null && value !== undefined) {
        total +=
          LENGTH_BYTES +
          (typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length);
      }
    }
    if (total > this.buffer.length) {
      this.buffer = Buffer.allocUnsafe(Math.max(total, this.buffer.length * 2));
    }
    const out = this.buffer;
    let offset = this.header.copy(out, 0);
    for (let column = 0; column < values.length; column++) {
      offset += this.columnParts[column]!.copy(out, offset);
      const value = values[column];
      if (value === null || value === undefined) {
        out[offset++] = TAG_NULL;
        continue;
      }
      out[offset++] = TAG_TEXT;
      if (typeof value === "string") {
        const length = Buffer.byteLength(value, "utf8");
        offset = out.writeUInt32BE(length, offset);
        offset += out.write(value, offset, "utf8");
      } else {
        offset = out.writeUInt32BE(value.length, offset);
        out.set(value, offset);
        offset += value.length;
      }
    }
    return out.subarray(0, offset);
  }

  /** d = SHA-256(canonical row bytes). */
  hash(values: readonly TextValue[]): Buffer {
    return dataHash(this.encode(values));
  }
}
