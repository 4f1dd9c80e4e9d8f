// The data hash of many rows of one layout, without per-row allocation. The bytes that are the
// same for every row (version, schema, table, column count, each column name) are the
// RowEncoder's, encoded once; a COPY row is written from its offsets into one reused buffer. The
// bytes are exactly encodeRow's (docs/design/row-encoding.md); test/verify/row-hasher.test.ts
// checks them against it.

import { sha256Binary } from "../crypto/index.js";
import { dataHash, RowEncoder, type TextValue } from "../hash/index.js";
import type { CopyRowView } from "../postgres/index.js";
import { HASH_BYTES } from "../store/index.js";

const TAG_NULL = 0x00;
const TAG_TEXT = 0x01;
const LENGTH_BYTES = 4;
const INITIAL_BUFFER_BYTES = 64 * 1024;
/** Rows up to this many canonical bytes are hashed through a view cached by length. */
const CACHED_VIEW_BYTES_MAX = 4096;

export class RowHasher {
  private readonly encoder: RowEncoder;
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  /** views[n] = buffer[0, n), so hashing a row allocates no view; emptied when buffer grows. */
  private views: (Uint8Array | undefined)[] = [];

  constructor(schema: string, table: string, columns: readonly string[]) {
    this.encoder = new RowEncoder(schema, table, columns);
  }

  /** The canonical row bytes of `values` (one per column); valid until the next call. */
  encode(values: readonly TextValue[]): Buffer {
    return this.encoder.encode(values);
  }

  /** d = SHA-256(canonical row bytes). */
  hash(values: readonly TextValue[]): Buffer {
    return dataHash(this.encoder.encode(values));
  }

  /**
   * d of a COPY row (one value per column, in column order) as 32 latin1 characters, one per
   * byte: `sameDigest` compares it with stored bytes. The bytes are encodeRow's, written straight
   * from the row's offsets. A string digest, because producing a Buffer costs SHA-256's one-shot
   * call more than hashing a row does.
   */
  digestRow(row: CopyRowView): string {
    const { header, columnParts } = this.encoder;
    const columnCount = columnParts.length;
    const { bytes, starts, ends } = row;
    let total = header.length;
    for (let column = 0; column < columnCount; column++) {
      total += columnParts[column]!.length + 1;
      if (starts[column]! >= 0) total += LENGTH_BYTES + ends[column]! - starts[column]!;
    }
    if (total > this.buffer.length) {
      this.buffer = Buffer.allocUnsafe(Math.max(total, this.buffer.length * 2));
      this.views = [];
    }
    const out = this.buffer;
    let offset = header.copy(out, 0);
    for (let column = 0; column < columnCount; column++) {
      const part = columnParts[column]!;
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
