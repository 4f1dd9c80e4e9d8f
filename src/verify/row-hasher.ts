// The data hash of many rows of one layout, without per-row allocation: the bytes that are the
// same for every row (version, schema, table, column count, each column name) are encoded once,
// and each row is written into one reused buffer. The bytes are exactly encodeRow's
// (docs/design/row-encoding.md); test/verify/row-hasher.test.ts checks them against it.

import { sha256Binary } from "../crypto/index.js";
import { dataHash, encodeRow, type TextValue } from "../hash/index.js";
import type { CopyRowView } from "../postgres/index.js";
import { HASH_BYTES } from "../store/index.js";

const TAG_NULL = 0x00;
const TAG_TEXT = 0x01;
const LENGTH_BYTES = 4;
const INITIAL_BUFFER_BYTES = 64 * 1024;
/** Rows up to this many canonical bytes are hashed through a view cached by length. */
const CACHED_VIEW_BYTES_MAX = 4096;

export class RowHasher {
  /** version | part(schema) | part(table) | u32 count: encodeRow of a row with no columns, minus the count. */
  private readonly header: Buffer;
  /** part(column name) for each column. */
  private readonly columnParts: readonly Buffer[];
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  /** views[n] = buffer[0, n), so hashing a row allocates no view; emptied when buffer grows. */
  private views: (Uint8Array | undefined)[] = [];

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

  /**
   * d of a COPY row (one value per column, in column order) as 32 latin1 characters, one per
   * byte: `sameDigest` compares it with stored bytes. The bytes are encodeRow's, written straight
   * from the row's offsets. A string digest, because producing a Buffer costs SHA-256's one-shot
   * call more than hashing a row does.
   */
  digestRow(row: CopyRowView): string {
    const columnCount = this.columnParts.length;
    const { bytes, starts, ends } = row;
    let total = this.header.length;
    for (let column = 0; column < columnCount; column++) {
      total += this.columnParts[column]!.length + 1;
      if (starts[column]! >= 0) total += LENGTH_BYTES + ends[column]! - starts[column]!;
    }
    if (total > this.buffer.length) {
      this.buffer = Buffer.allocUnsafe(Math.max(total, this.buffer.length * 2));
      this.views = [];
    }
    const out = this.buffer;
    let offset = this.header.copy(out, 0);
    for (let column = 0; column < columnCount; column++) {
      const part = this.columnParts[column]!;
      for (let index = 0; index < part.length; index++) out[offset++] = part[index]!;
      const start = starts[column]!;
      if (start < 0) {
        out[offset++] = TAG_NULL;
        continue;
      }
      const end = ends[column]!;
      const length = end - start;
      out[offset++] = TAG_TEXT;
      out[offset++] = length >>> 24;
      out[offset++] = (length >>> 16) & 0xff;
      out[offset++] = (length >>> 8) & 0xff;
      out[offset++] = length & 0xff;
      for (let index = start; index < end; index++) out[offset++] = bytes[index]!;
    }
    return sha256Binary(this.view(offset));
  }

  private view(length: number): Uint8Array {
    if (length > CACHED_VIEW_BYTES_MAX) return this.buffer.subarray(0, length);
    let view = this.views[length];
    if (view === undefined) {
      view = new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, length);
      this.views[length] = view;
    }
    return view;
  }
}

/** Whether a digestRow digest and stored hash bytes are the same hash. */
/** Whether `digest` (digestRow's) is the HASH_BYTES bytes of `bytes` from `start`. */
export function digestEqualsAt(digest: string, bytes: Uint8Array, start: number): boolean {
  if (digest.length !== HASH_BYTES || start < 0 || start + HASH_BYTES > bytes.length) return false;
  for (let offset = 0; offset < HASH_BYTES; offset++) {
    if (digest.charCodeAt(offset) !== bytes[start + offset]) return false;
  }
  return true;
}

export function sameDigest(digest: string, stored: Uint8Array | undefined): boolean {
  return stored !== undefined && stored.length === HASH_BYTES && digestEqualsAt(digest, stored, 0);
}
