import { StoreError } from "./errors.js";

const UINT32_RANGE = 2 ** 32;

/** Lexicographic byte order, a shorter prefix first: the order LMDB keeps keys in. */
export function compareBytes(left: Uint8Array, right: Uint8Array): number {
  const length = Math.min(left.length, right.length);
  for (let position = 0; position < length; position++) {
    const difference = left[position]! - right[position]!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

export function equalBytes(left: Uint8Array | undefined, right: Uint8Array | undefined): boolean {
  if (left === undefined || right === undefined) return left === right;
  return left.length === right.length && compareBytes(left, right) === 0;
}

/** A string that identifies a byte sequence, for use as a Map key (one char per byte). */
export function byteString(bytes: Uint8Array): string {
  return byteStringDecoder.decode(bytes);
}

// The WHATWG "latin1" label decodes as windows-1252, which maps each of the 256 byte values to
// its own code point, one char per byte: distinct byte strings give distinct strings.
const byteStringDecoder = new TextDecoder("latin1");

// Big-endian integers written byte by byte: a DataView per key costs more than the key.

export function writeUint16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 8;
  bytes[offset + 1] = value & 0xff;
}

export function readUint16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

export function writeUint32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = (value >>> 16) & 0xff;
  bytes[offset + 2] = (value >>> 8) & 0xff;
  bytes[offset + 3] = value & 0xff;
}

export function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    bytes[offset]! * 0x1000000 +
    ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!)
  );
}

/** Writes an integer in [0, 2^53) as an unsigned 64-bit big-endian number. */
export function writeUint64(bytes: Uint8Array, offset: number, value: number): void {
  writeUint32(bytes, offset, Math.floor(value / UINT32_RANGE));
  writeUint32(bytes, offset + 4, value % UINT32_RANGE);
}

/** Reads an unsigned 64-bit big-endian number that must be below 2^53. */
export function readUint64(bytes: Uint8Array, offset: number): number {
  const value = readUint32(bytes, offset) * UINT32_RANGE + readUint32(bytes, offset + 4);
  if (!Number.isSafeInteger(value)) {
    throw new StoreError("WITNZ_STORE_CORRUPT", `stored integer ${value} is above 2^53 - 1`);
  }
  return value;
}

/** Writes a bigint in [0, 2^64) as an unsigned 64-bit big-endian number. */
export function writeBigUint64(bytes: Uint8Array, offset: number, value: bigint): void {
  writeUint32(bytes, offset, Number(value >> 32n));
  writeUint32(bytes, offset + 4, Number(value & 0xffffffffn));
}

export function readBigUint64(bytes: Uint8Array, offset: number): bigint {
  return (BigInt(readUint32(bytes, offset)) << 32n) | BigInt(readUint32(bytes, offset + 4));
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a well-formed string; a lone surrogate has no UTF-8 form and is refused. */
export function encodeUtf8(text: string, what: string): Uint8Array {
  if (/\p{Surrogate}/u.test(text)) {
    throw new StoreError(
      "WITNZ_STORE_INVALID",
      `${what} has an unpaired surrogate, so no UTF-8 form`,
    );
  }
  return Buffer.from(text, "utf8");
}

export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (error) {
    throw new StoreError("WITNZ_STORE_CORRUPT", `stored ${what} is not valid UTF-8`, {
      cause: error,
    });
  }
}
