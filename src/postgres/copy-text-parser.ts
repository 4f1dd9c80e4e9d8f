// A streaming parser for COPY ... TO STDOUT in TEXT format. Pure: chunks in, rows out.
//
// The format (PostgreSQL documentation, COPY, "Text Format"): one row per line ending in \n,
// columns separated by a tab, SQL NULL written \N, and within a value a backslash starts an
// escape: \b \f \n \r \t \v, \ followed by 1-3 octal digits, \x followed by 1-2 hex digits, and
// backslash followed by any other byte is that byte. COPY TO escapes backslash, tab, newline,
// carriage return, backspace, form feed and vertical tab; the parser accepts every escape COPY
// FROM accepts. Values come out as the exact bytes of the type's output function.

import { PostgresError } from "./errors.js";

/** A value: its text output bytes (UTF-8) or SQL NULL. */
export type CopyValue = Uint8Array | null;
export type CopyRow = CopyValue[];

/**
 * The largest row held while it is assembled, in COPY text bytes before unescaping. PostgreSQL
 * builds each COPY line in one buffer of at most 1 GB, so it never sends a longer one.
 */
export const COPY_ROW_BYTES_MAX = 1024 * 1024 * 1024;

/**
 * One row as offsets: value `i` is `bytes[starts[i], ends[i])`, or SQL NULL when `starts[i]` is
 * -1. `bytes` is the chunk itself when the row lies inside it and has no escapes, otherwise the
 * parser's own buffer; the view and its bytes are valid only during the call that receives it.
 */
export interface CopyRowView {
  readonly bytes: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

const TAB = 0x09;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BACKSLASH = 0x5c;
const LETTER_N = 0x4e;
const LETTER_X = 0x78;

/** Escapes with a fixed meaning: \b \f \n \r \t \v. */
const SIMPLE_ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x62, 0x08],
  [0x66, 0x0c],
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
  [0x76, 0x0b],
]);

const EMPTY = new Uint8Array(0);
const INITIAL_BUFFER_BYTES = 64 * 1024;
/** Offsets are Int32: chunks and rows stay below 2 GiB. */
const OFFSET_MAX = 0x7fff_ffff;

/** Bytes the row scan stops at: tab, newline, carriage return, backslash. */
const SPECIAL = new Uint8Array(256);
SPECIAL[TAB] = 1;
SPECIAL[NEWLINE] = 1;
SPECIAL[CARRIAGE_RETURN] = 1;
SPECIAL[BACKSLASH] = 1;

function octalDigit(byte: number): number {
  return byte >= 0x30 && byte <= 0x37 ? byte - 0x30 : -1;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

/**
 * Rows are found in place: a row inside one chunk with no backslash is handed over as offsets
 * into that chunk, with no copy and no allocation. A row cut by the end of a chunk is carried
 * into `carry` until its newline arrives; a row with escapes is unescaped into `unescaped`.
 */
export class CopyTextParser {
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private carry: Uint8Array = new Uint8Array(INITIAL_BUFFER_BYTES);
  private carryBytes = 0;
  /** The carried bytes end in a backslash whose escaped byte is in the next chunk. */
  private carryEscapePending = false;
  private unescaped: Uint8Array = new Uint8Array(INITIAL_BUFFER_BYTES);
  private rows = 0;

  constructor(
    private readonly columnCount: number,
    private readonly rowBytesMax: number = COPY_ROW_BYTES_MAX,
  ) {
    this.starts = new Int32Array(columnCount);
    this.ends = new Int32Array(columnCount);
  }

  /** Parses one chunk; calls `emit` for every row it completes. Values may view `chunk`. */
  push(chunk: Uint8Array, emit: (row: CopyRow) => void): void {
    this.pushRows(chunk, (view) => {
      const row: CopyRow = new Array(this.columnCount);
      // Views of the chunk stay valid; the parser's own buffers are reused, so copy from them.
      const copy = view.bytes !== chunk;
      for (let column = 0; column < this.columnCount; column++) {
        const start = view.starts[column]!;
        if (start < 0) row[column] = null;
        else if (start === view.ends[column]) row[column] = EMPTY;
        else {
          row[column] = copy
            ? view.bytes.slice(start, view.ends[column]!)
            : view.bytes.subarray(start, view.ends[column]!);
        }
      }
      emit(row);
    });
  }

  /** Parses one chunk; calls `visit` with a reused view of every row it completes. */
  pushRows(chunk: Uint8Array, visit: (row: CopyRowView) => void): void {
    const length = chunk.length;
    if (length > OFFSET_MAX) throw new RangeError(`a chunk of ${length} bytes is too large`);
    let position = 0;
    if (this.carryBytes > 0 || this.carryEscapePending) {
      const newline = this.rowEnd(chunk);
      if (newline < 0) {
        this.appendCarry(chunk, 0, length);
        return;
      }
      this.appendCarry(chunk, 0, newline + 1);
      const carried = this.carryBytes;
      this.carryBytes = 0;
      if (this.parseRow(this.carry, 0, carried, visit) !== carried) {
        throw new Error("assertion: a carried row ends at its newline");
      }
      position = newline + 1;
    }
    while (position < length) {
      const next = this.parseRow(chunk, position, length, visit);
      if (next < 0) {
        this.appendCarry(chunk, position, length);
        return;
      }
      position = next;
    }
  }

  /** Checks that the data ended at a row boundary; returns the number of rows parsed. */
  end(): number {
    if (this.carryBytes > 0 || this.carryEscapePending) this.fail("data that ends inside a row");
    return this.rows;
  }

  /**
   * The newline ending the carried row in `chunk`, or -1; keeps `carryEscapePending` right for
   * a chunk that does not end the row. A backslash escapes the byte after it, newline included.
   */
  private rowEnd(chunk: Uint8Array): number {
    let index = 0;
    if (this.carryEscapePending) {
      if (chunk.length === 0) return -1;
      index = 1;
    }
    const length = chunk.length;
    while (index < length) {
      const byte = chunk[index]!;
      if (byte === NEWLINE) return index;
      index += byte === BACKSLASH ? 2 : 1;
    }
    // Only the bytes up to the newline are appended, so the pending escape is recomputed there.
    return -1;
  }

  private appendCarry(chunk: Uint8Array, start: number, end: number): void {
    const bytes = end - start;
    if (this.carryBytes + bytes > this.rowBytesMax + 1) this.tooLarge();
    if (this.carryBytes + bytes > this.carry.length) {
      const grown = new Uint8Array(Math.max(this.carryBytes + bytes, this.carry.length * 2));
      grown.set(this.carry.subarray(0, this.carryBytes));
      this.carry = grown;
    }
    // Whether the carried bytes end inside an escape: an odd run of trailing backslashes.
    let index = start;
    let pending = this.carryEscapePending;
    if (pending && index < end) {
      pending = false;
      index++;
    }
    while (index < end) {
      if (chunk[index] === BACKSLASH) {
        if (index + 1 >= end) {
          pending = true;
          break;
        }
        index += 2;
      } else index++;
    }
    this.carryEscapePending = pending;
    this.carry.set(chunk.subarray(start, end), this.carryBytes);
    this.carryBytes += bytes;
  }

  /**
   * Parses the row starting at `start`; returns the offset after its newline, or -1 when the row
   * does not end before `limit`.
   */
  private parseRow(
    bytes: Uint8Array,
    start: number,
    limit: number,
    visit: (row: CopyRowView) => void,
  ): number {
    const starts = this.starts;
    const ends = this.ends;
    const columnCount = this.columnCount;
    let column = 0;
    let fieldStart = start;
    let escaped = false;
    let index = start;
    while (index < limit) {
      const byte = bytes[index]!;
      if (SPECIAL[byte] === 0) {
        index++;
        continue;
      }
      if (byte === BACKSLASH) {
        escaped = true;
        index += 2;
        continue;
      }
      if (byte === CARRIAGE_RETURN) this.fail("an unescaped carriage return");
      // A tab or a newline ends a value.
      if (byte === NEWLINE && columnCount === 0 && column === 0) {
        if (index !== fieldStart) this.fail("a value in a row of a table without columns");
      } else {
        if (column >= columnCount) this.fail(`more than ${columnCount} values in a row`);
        starts[column] = fieldStart;
        ends[column] = index;
        column++;
      }
      index++;
      fieldStart = index;
      if (byte === NEWLINE) {
        if (column !== columnCount) {
          this.fail(`${column} values where ${columnCount} columns were asked for`);
        }
        if (index - 1 - start > this.rowBytesMax) this.tooLarge();
        if (escaped) this.unescapeRow(bytes);
        this.rows++;
        visit({ bytes: escaped ? this.unescaped : bytes, starts, ends });
        return index;
      }
    }
    if (limit - start > this.rowBytesMax) this.tooLarge();
    return -1;
  }

  /** Rewrites the row's values, each `\N` as NULL and every escape decoded, into `unescaped`. */
  private unescapeRow(bytes: Uint8Array): void {
    const starts = this.starts;
    const ends = this.ends;
    let rowBytes = 0;
    for (let column = 0; column < this.columnCount; column++)
      rowBytes += ends[column]! - starts[column]!;
    if (rowBytes > this.unescaped.length) {
      this.unescaped = new Uint8Array(Math.max(rowBytes, this.unescaped.length * 2));
    }
    const out = this.unescaped;
    let offset = 0;
    for (let column = 0; column < this.columnCount; column++) {
      const end = ends[column]!;
      let index = starts[column]!;
      // `\N` as the whole value is NULL; anywhere else it is the letter N, like any `\c`.
      if (end - index === 2 && bytes[index] === BACKSLASH && bytes[index + 1] === LETTER_N) {
        starts[column] = -1;
        ends[column] = -1;
        continue;
      }
      starts[column] = offset;
      while (index < end) {
        const byte = bytes[index++]!;
        if (byte !== BACKSLASH) {
          out[offset++] = byte;
          continue;
        }
        const next = bytes[index++]!;
        const simple = SIMPLE_ESCAPES.get(next);
        if (simple !== undefined) {
          out[offset++] = simple;
        } else if (octalDigit(next) >= 0) {
          let value = octalDigit(next);
          for (
            let digits = 1;
            digits < 3 && index < end && octalDigit(bytes[index]!) >= 0;
            digits++
          ) {
            value = value * 8 + octalDigit(bytes[index++]!);
          }
          out[offset++] = value & 0xff;
        } else if (next === LETTER_X && index < end && hexDigit(bytes[index]!) >= 0) {
          let value = hexDigit(bytes[index++]!);
          if (index < end && hexDigit(bytes[index]!) >= 0)
            value = value * 16 + hexDigit(bytes[index++]!);
          out[offset++] = value;
        } else {
          // `\x` with no hex digit after it is the letter x; any other `\c` is c.
          out[offset++] = next;
        }
      }
      ends[column] = offset;
    }
  }

  private tooLarge(): never {
    throw new PostgresError(
      "WITNZ_POSTGRES_LIMIT",
      `COPY row ${this.rows + 1} is larger than ${this.rowBytesMax} bytes`,
    );
  }

  private fail(what: string): never {
    throw new PostgresError(
      "WITNZ_POSTGRES_COPY",
      `COPY text data has ${what} (row ${this.rows + 1})`,
    );
  }
}
