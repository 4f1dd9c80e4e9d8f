// Canonical row bytes, version 1. The one definition of what a row hashes to; the byte layout is
// documented with test vectors in docs/design/row-encoding.md. Never change it without a new
// version byte: every stored chain depends on it.

export const ROW_ENCODING_VERSION = 1;

const TAG_NULL = 0x00;
const TAG_TEXT = 0x01;
const LENGTH_BYTES = 4;
/** PostgreSQL caps a field at 1 GB; the encoding caps a whole row at 2^32 - 1 bytes per part. */
const PART_BYTES_MAX = 0xffff_ffff;

/**
 * A value as PostgreSQL's text output function renders it (what pgoutput sends in a 't' column
 * and what COPY ... TO STDOUT prints), as UTF-8 bytes or a string; `null` is SQL NULL.
 */
export type TextValue = Uint8Array | string | null;

export interface RowImage {
  /** Schema name, unquoted, exactly as in pg_namespace (e.g. `public`). */
  readonly schema: string;
  /** Table name, unquoted, exactly as in pg_class (e.g. `Audit Log`). */
  readonly table: string;
  /** Column names in attnum order, dropped and generated columns excluded. */
  readonly columns: readonly string[];
  /** One value per column, in the same order. */
  readonly values: readonly TextValue[];
}

export class RowEncodingError extends Error {
  readonly code = "WITNZ_ROW_ENCODING";
  constructor(message: string) {
    super(message);
    this.name = "RowEncodingError";
  }
}

function byteLength(value: Uint8Array | string): number {
  return typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length;
}

/**
 * Encodes a row as:
 *   u8 version (0x01)
 *   part(schema) part(table) u32be(columnCount)
 *   columnCount x ( part(columnName) ( u8 0x00 | u8 0x01 part(textValue) ) )
 * where part(x) = u32be(byteLength(x)) || utf8(x). All lengths are in bytes.
 */
export function encodeRow(row: RowImage): Buffer {
  const { columns, values } = row;
  if (columns.length !== values.length) {
    throw new RowEncodingError(
      `row of ${row.schema}.${row.table} has ${columns.length} columns but ${values.length} values`,
    );
  }
  let total = 1 + LENGTH_BYTES * 3 + byteLength(row.schema) + byteLength(row.table);
  for (let column = 0; column < columns.length; column++) {
    total += LENGTH_BYTES + byteLength(columns[column]!) + 1;
    const value = values[column];
    if (value !== null && value !== undefined) total += LENGTH_BYTES + byteLength(value);
    else if (value === undefined) {
      throw new RowEncodingError(`value of column ${columns[column]} is missing (undefined)`);
    }
  }
  const out = Buffer.allocUnsafe(total);
  let offset = out.writeUInt8(ROW_ENCODING_VERSION, 0);
  offset = writePart(out, offset, row.schema);
  offset = writePart(out, offset, row.table);
  offset = out.writeUInt32BE(columns.length, offset);
  for (let column = 0; column < columns.length; column++) {
    offset = writePart(out, offset, columns[column]!);
    const value = values[column]!;
    if (value === null) {
      offset = out.writeUInt8(TAG_NULL, offset);
    } else {
      offset = out.writeUInt8(TAG_TEXT, offset);
      offset = writePart(out, offset, value);
    }
  }
  if (offset !== total) throw new Error(`encodeRow wrote ${offset} of ${total} bytes`);
  return out;
}

function writePart(out: Buffer, offset: number, part: Uint8Array | string): number {
  const lengthOffset = offset;
  const start = offset + LENGTH_BYTES;
  let length: number;
  if (typeof part === "string") {
    length = out.write(part, start, "utf8");
  } else {
    out.set(part, start);
    length = part.length;
  }
  if (length > PART_BYTES_MAX) throw new RowEncodingError(`a field of ${length} bytes is too long`);
  out.writeUInt32BE(length, lengthOffset);
  return start + length;
}

/** Decodes canonical row bytes back into a row image (values as UTF-8 strings). */
export function decodeRow(bytes: Uint8Array): RowImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  const need = (count: number, what: string): void => {
    if (offset + count > buffer.length) {
      throw new RowEncodingError(`truncated row encoding: ${what} at byte ${offset}`);
    }
  };
  const readPart = (what: string): string => {
    need(LENGTH_BYTES, `${what} length`);
    const length = buffer.readUInt32BE(offset);
    offset += LENGTH_BYTES;
    need(length, what);
    const text = buffer.toString("utf8", offset, offset + length);
    offset += length;
    return text;
  };
  need(1, "version");
  const version = buffer.readUInt8(offset);
  offset += 1;
  if (version !== ROW_ENCODING_VERSION) {
    throw new RowEncodingError(`unknown row encoding version ${version}`);
  }
  const schema = readPart("schema");
  const table = readPart("table");
  need(LENGTH_BYTES, "column count");
  const count = buffer.readUInt32BE(offset);
  offset += LENGTH_BYTES;
  const columns: string[] = [];
  const values: (string | null)[] = [];
  for (let column = 0; column < count; column++) {
    columns.push(readPart("column name"));
    need(1, "value tag");
    const tag = buffer.readUInt8(offset);
    offset += 1;
    if (tag === TAG_NULL) values.push(null);
    else if (tag === TAG_TEXT) values.push(readPart("value"));
    else
      throw new RowEncodingError(`unknown value tag 0x${tag.toString(16)} at byte ${offset - 1}`);
  }
  if (offset !== buffer.length) {
    throw new RowEncodingError(`${buffer.length - offset} trailing bytes after the row encoding`);
  }
  return { schema, table, columns, values };
}
