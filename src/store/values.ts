/**
 * Value layouts, fixed and hand-encoded (no JSON, no msgpack), all integers big-endian:
 *
 *   chain entry   data hash [32] | chain hash [32] | LSN u64 [8] | primary key [rest]
 *   chain head    size u64 [8] | chain hash [32]
 *   PK index      seq u64 [8]
 *   tree node     hash [32]
 *   checkpoint    signed note text, UTF-8, as signed (no trailing bytes added)
 *   schema meta   version u32 [4]
 *
 * The sequence number of a chain entry is in its key, not its value.
 */

import {
  decodeUtf8,
  readBigUint64,
  readUint32,
  readUint64,
  writeBigUint64,
  writeUint32,
  writeUint64,
} from "./bytes.js";
import { StoreError, storeAssert } from "./errors.js";
import { assertCount, assertPrimaryKey, assertSequence } from "./keys.js";
import { CHECKPOINT_NOTE_BYTES_MAX } from "./limits.js";

/** Every hash in the store is SHA-256. */
export const HASH_BYTES = 32;
const UINT64_BYTES = 8;
const LSN_MAX = (1n << 64n) - 1n;

export const CHAIN_ENTRY_FIXED_BYTES = HASH_BYTES + HASH_BYTES + UINT64_BYTES;
export const CHAIN_HEAD_BYTES = UINT64_BYTES + HASH_BYTES;
export const SEQUENCE_VALUE_BYTES = UINT64_BYTES;
export const SCHEMA_VERSION_BYTES = 4;

/** One row's place in its table's chain. */
export interface ChainEntry {
  /** 1-based position in the chain. */
  readonly seq: number;
  /** d_i = SHA-256(canonical row). */
  readonly dataHash: Uint8Array;
  /** c_i = SHA-256(c_{i-1} || u64be(i) || d_i). */
  readonly chainHash: Uint8Array;
  /** The PostgreSQL WAL position of the commit that inserted the row. */
  readonly lsn: bigint;
  /** The row's encoded primary key, opaque to the store; empty when the table has none. */
  readonly primaryKey: Uint8Array;
}

/** The end of a table's chain: how many entries, and c_size. */
export interface ChainHead {
  readonly size: number;
  readonly chainHash: Uint8Array;
}

export function assertHash(hash: Uint8Array, what: string): void {
  storeAssert(
    hash instanceof Uint8Array && hash.length === HASH_BYTES,
    "WITNZ_STORE_INVALID",
    () =>
      `${what} must be ${HASH_BYTES} bytes, got ${hash instanceof Uint8Array ? hash.length : typeof hash}`,
  );
}

export function assertChainEntry(entry: ChainEntry): void {
  assertSequence(entry.seq, "a chain entry's seq");
  assertHash(entry.dataHash, "a data hash");
  assertHash(entry.chainHash, "a chain hash");
  storeAssert(
    typeof entry.lsn === "bigint" && entry.lsn >= 0n && entry.lsn <= LSN_MAX,
    "WITNZ_STORE_INVALID",
    () => `an LSN must be a bigint from 0 to 2^64 - 1, got ${String(entry.lsn)}`,
  );
  assertPrimaryKey(entry.primaryKey);
}

export function encodeChainEntryValue(entry: ChainEntry): Uint8Array {
  const value = new Uint8Array(CHAIN_ENTRY_FIXED_BYTES + entry.primaryKey.length);
  value.set(entry.dataHash, 0);
  value.set(entry.chainHash, HASH_BYTES);
  writeBigUint64(value, 2 * HASH_BYTES, entry.lsn);
  value.set(entry.primaryKey, CHAIN_ENTRY_FIXED_BYTES);
  return value;
}

export function decodeChainEntryValue(seq: number, value: Uint8Array): ChainEntry {
  if (value.length < CHAIN_ENTRY_FIXED_BYTES) throw corruptValue("chain entry", value.length);
  return {
    seq,
    dataHash: value.slice(0, HASH_BYTES),
    chainHash: value.slice(HASH_BYTES, 2 * HASH_BYTES),
    lsn: readBigUint64(value, 2 * HASH_BYTES),
    primaryKey: value.slice(CHAIN_ENTRY_FIXED_BYTES),
  };
}

export function encodeChainHeadValue(head: ChainHead): Uint8Array {
  const value = new Uint8Array(CHAIN_HEAD_BYTES);
  writeUint64(value, 0, head.size);
  value.set(head.chainHash, UINT64_BYTES);
  return value;
}

export function decodeChainHeadValue(value: Uint8Array): ChainHead {
  if (value.length !== CHAIN_HEAD_BYTES) throw corruptValue("chain head", value.length);
  return { size: readUint64(value, 0), chainHash: value.slice(UINT64_BYTES) };
}

export function encodeSequenceValue(seq: number): Uint8Array {
  assertCount(seq, "seq");
  const value = new Uint8Array(SEQUENCE_VALUE_BYTES);
  writeUint64(value, 0, seq);
  return value;
}

export function decodeSequenceValue(value: Uint8Array): number {
  if (value.length !== SEQUENCE_VALUE_BYTES) throw corruptValue("primary-key index", value.length);
  return readUint64(value, 0);
}

export function decodeTreeNodeValue(value: Uint8Array): Uint8Array {
  if (value.length !== HASH_BYTES) throw corruptValue("tree node", value.length);
  return value;
}

export function encodeCheckpointValue(noteText: string): Uint8Array {
  storeAssert(
    typeof noteText === "string" && noteText.length > 0,
    "WITNZ_STORE_INVALID",
    () => "a checkpoint note must be non-empty text",
  );
  const value = Buffer.from(noteText, "utf8");
  storeAssert(
    value.length <= CHECKPOINT_NOTE_BYTES_MAX,
    "WITNZ_STORE_LIMIT",
    () => `a checkpoint note has ${value.length} bytes; the limit is ${CHECKPOINT_NOTE_BYTES_MAX}`,
  );
  storeAssert(
    decodeUtf8(value, "checkpoint note") === noteText,
    "WITNZ_STORE_INVALID",
    () => "a checkpoint note has an unpaired surrogate, so no UTF-8 form",
  );
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function decodeCheckpointValue(value: Uint8Array): string {
  return decodeUtf8(value, "checkpoint note");
}

export function encodeSchemaVersionValue(version: number): Uint8Array {
  const value = new Uint8Array(SCHEMA_VERSION_BYTES);
  writeUint32(value, 0, version);
  return value;
}

/** The stored schema version, or undefined when the bytes are not a version at all. */
export function decodeSchemaVersionValue(value: Uint8Array): number | undefined {
  if (value.length !== SCHEMA_VERSION_BYTES) return undefined;
  return readUint32(value, 0);
}

function corruptValue(family: string, length: number): StoreError {
  return new StoreError(
    "WITNZ_STORE_CORRUPT",
    `a stored ${family} value has ${length} bytes, which is not its layout`,
  );
}
