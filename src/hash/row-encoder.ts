// encodeRow for many rows of one layout: the bytes every row shares (version, schema, table,
// column count, each column name) are encoded once, and each row is written into one reused
// buffer. The bytes are exactly encodeRow's (docs/design/row-encoding.md);
// test/hash/row-encoder.test.ts checks them against it.
import { encodeRow, RowEncodingError, type TextValue } from "./row-encoding.js";

const TAG_NULL = 0x00;
const TAG_TEXT = 0x01;
const LENGTH_BYTES = 4;
const INITIAL_BUFFER_BYTES = 4 * 1024;

export class RowEncoder {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly string[];
  /** version | part(schema) | part(table) | u32 count: encodeRow's first bytes, taken from it. */
  readonly header: Buffer;
  /** part(column name) for each column. */
  readonly columnParts: readonly Buffer[];
  #buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);

  constructor(schema: string, table: string, columns: readonly string[]) {
    this.schema = schema;
    this.table = table;
    this.columns = columns;
    const header = Buffer.from(encodeRow({ schema, table, columns: [], values: [] }));
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

  /**
   * The canonical bytes of the row with these values (one per column, in column order): what
   * encodeRow returns. A view of a reused buffer, valid until the next call.
   */
  encode(values: readonly TextValue[]): Buffer {
    const parts = this.columnParts;
    if (values.length !== parts.length) {
      throw new RowEncodingError(
        `row of ${this.schema}.${this.table} has ${parts.length} columns but ${values.length} values`,
      );
    }
    let total = this.header.length;
    for (let column = 0; column < values.length; column++) {
      const value = values[column];
      total += parts[column]!.length + 1;
      if (value === undefined) {
        throw new RowEncodingError(
          `value of column ${this.columns[column]} is missing (undefined)`,
        );
      }
      if (value !== null) {
        total +=
          LENGTH_BYTES +
          (typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length);
      }
    }
    if (total > this.#buffer.length) {
      this.#buffer = Buffer.allocUnsafe(Math.max(total, this.#buffer.length * 2));
    }
    // TypedArray set rather than Buffer's copy, which allocates a view on every call.
    const out = this.#buffer;
    out.set(this.header, 0);
    let offset = this.header.length;
    for (let column = 0; column < values.length; column++) {
      const part = parts[column]!;
      out.set(part, offset);
      offset += part.length;
      const value = values[column]!;
      if (value === null) {
        out[offset++] = TAG_NULL;
        continue;
      }
      out[offset++] = TAG_TEXT;
      if (typeof value === "string") {
        const length = out.write(value, offset + LENGTH_BYTES, "utf8");
        out.writeUInt32BE(length, offset);
        offset += LENGTH_BYTES + length;
      } else {
        out.writeUInt32BE(value.length, offset);
        out.set(value, offset + LENGTH_BYTES);
        offset += LENGTH_BYTES + value.length;
      }
    }
    return out.subarray(0, offset);
  }
}
