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

/** The largest row held while it is assembled (PostgreSQL's own limit on one value is 1 GB). */
export const COPY_ROW_BYTES_MAX = 1024 * 1024 * 1024;

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

/** One preallocated array per byte value, so an escaped byte costs no allocation. */
const SINGLE_BYTES: readonly Uint8Array[] = Array.from({ length: 256 }, (_, byte) =>
  Uint8Array.of(byte),
);
const EMPTY = new Uint8Array(0);

/** Where the parser is within an escape sequence. */
const Escape = {
  None: 0,
  /** Just read a backslash. */
  Started: 1,
  /** Inside \ddd; `escapeValue` and `escapeDigits` hold progress. */
  Octal: 2,
  /** Inside \xhh. */
  Hex: 3,
} as const;
type EscapeState = (typeof Escape)[keyof typeof Escape];

function octalDigit(byte: number): number {
  return byte >= 0x30 && byte <= 0x37 ? byte - 0x30 : -1;
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

export class CopyTextParser {
  private row: CopyValue[] = [];
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  private rowBytes = 0;
  /** Raw (escaped) bytes of the current field seen so far, to recognise exactly `\N`. */
  private rawFieldBytes = 0;
  private nullMarker = false;
  private escape: EscapeState = Escape.None;
  private escapeValue = 0;
  private escapeDigits = 0;
  private rows = 0;

  constructor(
    private readonly columnCount: number,
    private readonly rowBytesMax: number = COPY_ROW_BYTES_MAX,
  ) {}

  /** Parses one chunk; calls `emit` for every row it completes. Values may view `chunk`. */
  push(chunk: Uint8Array, emit: (row: CopyRow) => void): void {
    let segmentStart = 0;
    let index = 0;
    const length = chunk.length;
    while (index < length) {
      const byte = chunk[index]!;
      if (this.escape !== Escape.None) {
        if (this.continueEscape(byte)) {
          index++;
          this.rawFieldBytes++;
        }
        segmentStart = index;
        continue;
      }
      if (byte === TAB || byte === NEWLINE) {
        this.append(chunk, segmentStart, index);
        this.rawFieldBytes += index - segmentStart;
        if (byte === NEWLINE && this.columnCount === 0 && this.row.length === 0) {
          if (this.rawFieldBytes !== 0) this.fail("a value in a row of a table without columns");
        } else {
          this.finishField();
        }
        if (byte === NEWLINE) this.finishRow(emit);
        index++;
        segmentStart = index;
        continue;
      }
      if (byte === BACKSLASH) {
        this.append(chunk, segmentStart, index);
        this.rawFieldBytes += index - segmentStart + 1;
        this.escape = Escape.Started;
        index++;
        segmentStart = index;
        continue;
      }
      if (byte === CARRIAGE_RETURN) this.fail("an unescaped carriage return");
      index++;
    }
    this.append(chunk, segmentStart, length);
    this.rawFieldBytes += length - segmentStart;
  }

  /** Checks that the data ended at a row boundary; returns the number of rows parsed. */
  end(): number {
    if (this.escape !== Escape.None || this.partBytes > 0 || this.row.length > 0) {
      this.fail("data that ends inside a row");
    }
    if (this.rawFieldBytes > 0) this.fail("data that ends inside a row");
    return this.rows;
  }

  /** Handles one byte of an escape; returns false when the byte was not consumed by it. */
  private continueEscape(byte: number): boolean {
    if (this.escape === Escape.Started) {
      const simple = SIMPLE_ESCAPES.get(byte);
      if (simple !== undefined) {
        this.appendByte(simple);
        this.escape = Escape.None;
      } else if (octalDigit(byte) >= 0) {
        this.escape = Escape.Octal;
        this.escapeValue = octalDigit(byte);
        this.escapeDigits = 1;
      } else if (byte === LETTER_X) {
        this.escape = Escape.Hex;
        this.escapeValue = 0;
        this.escapeDigits = 0;
      } else {
        // `\N` as the whole field is NULL; anywhere else it is the letter N, like any `\c`.
        if (byte === LETTER_N && this.rawFieldBytes === 1) this.nullMarker = true;
        this.appendByte(byte);
        this.escape = Escape.None;
      }
      return true;
    }
    if (this.escape === Escape.Octal) {
      const digit = octalDigit(byte);
      if (digit >= 0) {
        this.escapeValue = this.escapeValue * 8 + digit;
        this.escapeDigits++;
        if (this.escapeDigits === 3) this.finishNumericEscape();
        return true;
      }
      this.finishNumericEscape();
      return false;
    }
    // Hex: `\x` with no hex digit after it is the letter x.
    const digit = hexDigit(byte);
    if (digit >= 0) {
      this.escapeValue = this.escapeValue * 16 + digit;
      this.escapeDigits++;
      if (this.escapeDigits === 2) this.finishNumericEscape();
      return true;
    }
    if (this.escapeDigits === 0) {
      this.appendByte(LETTER_X);
      this.escape = Escape.None;
    } else {
      this.finishNumericEscape();
    }
    return false;
  }

  private finishNumericEscape(): void {
    this.appendByte(this.escapeValue & 0xff);
    this.escape = Escape.None;
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    this.addPart(chunk.subarray(start, end));
  }

  private appendByte(byte: number): void {
    this.addPart(SINGLE_BYTES[byte]!);
  }

  private addPart(part: Uint8Array): void {
    this.partBytes += part.length;
    if (this.rowBytes + this.partBytes > this.rowBytesMax) {
      throw new PostgresError(
        "WITNZ_POSTGRES_LIMIT",
        `COPY row ${this.rows + 1} is larger than ${this.rowBytesMax} bytes`,
      );
    }
    this.parts.push(part);
  }

  private finishField(): void {
    if (this.escape !== Escape.None) this.fail("a field that ends inside an escape");
    let value: CopyValue;
    if (this.nullMarker && this.rawFieldBytes === 2) {
      value = null;
    } else if (this.parts.length === 0) {
      value = EMPTY;
    } else if (this.parts.length === 1) {
      value = this.parts[0]!;
    } else {
      const joined = new Uint8Array(this.partBytes);
      let offset = 0;
      for (const part of this.parts) {
        joined.set(part, offset);
        offset += part.length;
      }
      value = joined;
    }
    this.row.push(value);
    this.rowBytes += this.partBytes;
    this.parts = [];
    this.partBytes = 0;
    this.rawFieldBytes = 0;
    this.nullMarker = false;
    if (this.row.length > this.columnCount) {
      this.fail(`more than ${this.columnCount} values in a row`);
    }
  }

  private finishRow(emit: (row: CopyRow) => void): void {
    if (this.row.length !== this.columnCount) {
      this.fail(`${this.row.length} values where ${this.columnCount} columns were asked for`);
    }
    const row = this.row;
    this.row = [];
    this.rowBytes = 0;
    this.rows++;
    emit(row);
  }

  private fail(what: string): never {
    throw new PostgresError(
      "WITNZ_POSTGRES_COPY",
      `COPY text data has ${what} (row ${this.rows + 1})`,
    );
  }
}
