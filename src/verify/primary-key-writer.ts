// A row's primary key bytes (encodePrimaryKey, docs/design/row-encoding.md) written from a COPY
// row's offsets into one reused buffer, so that comparing a row's key with a chain entry's
// allocates nothing. test/verify/row-hasher.test.ts checks the bytes against encodePrimaryKey,
// whose digest form it takes too for a key too long to keep.

import {
  encodePrimaryKey,
  PRIMARY_KEY_INLINE_BYTES_MAX,
  primaryKeyDigestForm,
} from "../hash/index.js";
import type { CopyRowView } from "../postgres/index.js";

const TAG_NULL = 0x00;
const TAG_TEXT = 0x01;
const LENGTH_BYTES = 4;
const INITIAL_BUFFER_BYTES = 1024;

export class PrimaryKeyWriter {
  /** version | u16 count: encodePrimaryKey's first bytes, taken from it so they cannot drift. */
  private readonly header: Uint8Array;
  private buffer = new Uint8Array(INITIAL_BUFFER_BYTES);
  /** Bytes of the key last written. */
  length = 0;

  /** `positions`: where each key column is among the row's values, in key order. */
  constructor(private readonly positions: readonly number[]) {
    const allNull = encodePrimaryKey(positions.map(() => null));
    this.header = allNull.subarray(0, allNull.length - positions.length);
  }

  /** Writes the row's key; `bytes()` or `equalsRange()` read it until the next call. */
  write(row: CopyRowView): void {
    let total = this.header.length;
    for (const position of this.positions) {
      const start = row.starts[position]!;
      total += 1 + (start < 0 ? 0 : LENGTH_BYTES + row.ends[position]! - start);
    }
    if (total > this.buffer.length) {
      this.buffer = new Uint8Array(Math.max(total, this.buffer.length * 2));
    }
    const out = this.buffer;
    out.set(this.header, 0);
    let offset = this.header.length;
    for (const position of this.positions) {
      const start = row.starts[position]!;
      if (start < 0) {
        out[offset++] = TAG_NULL;
        continue;
      }
      const end = row.ends[position]!;
      const length = end - start;
      out[offset++] = TAG_TEXT;
      out[offset++] = length >>> 24;
      out[offset++] = (length >>> 16) & 0xff;
      out[offset++] = (length >>> 8) & 0xff;
      out[offset++] = length & 0xff;
      for (let index = start; index < end; index++) out[offset++] = row.bytes[index]!;
    }
    if (offset > PRIMARY_KEY_INLINE_BYTES_MAX) {
      const digestForm = primaryKeyDigestForm(out.subarray(0, offset));
      out.set(digestForm, 0);
      offset = digestForm.length;
    }
    this.length = offset;
  }

  /** Whether the key last written is `bytes[start..end)`, byte for byte. */
  equalsRange(bytes: Uint8Array, start: number, end: number): boolean {
    if (end - start !== this.length) return false;
    const out = this.buffer;
    for (let index = 0; index < this.length; index++) {
      if (out[index] !== bytes[start + index]) return false;
    }
    return true;
  }

  /** A copy of the key last written, to keep. */
  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
