/**
 * The one key layout of the Witnz store. Every key starts with a tag byte naming its family;
 * the fields after it are fixed-width big-endian integers and length-prefixed UTF-8 names, so
 * that byte order equals field order and all keys of one table and family form one range.
 *
 *   tag   family              fields after the tag              value (see values.ts)
 *   ----  ------------------  --------------------------------  ---------------------------
 *   0x00  never used          (below every key: full scans start here)
 *   0x01  meta                name                              raw bytes
 *   0x02  chain head          table                             u64 size, chain hash
 *   0x03  chain entry         table, u64 seq                    hashes, u64 LSN, PK bytes
 *   0x04  primary-key index   table, PK bytes (rest of key)     u64 seq
 *   0x05  tree node           table, u8 level, u64 index        32-byte hash
 *   0x06  checkpoint          table, u64 size                   signed note text, UTF-8
 *   0x07  violation entry     table, u64 seq                    hashes, violation record
 *   0x08  violation head      table                             u64 size, chain hash
 *   0x09  alert outbox        0x00, alert id                    alert and delivery state, JSON
 *         alert due index     0x01, u64 due time ms, alert id   empty
 *   0x0a  reserved            raft log entry (u64 index)
 *   0x0b  reserved            raft stable state (name)
 *   0x0c  reserved            witness submissions
 *   0x0d  data hash block     table, u64 block index            data hashes of 1024 entries
 *   0x0e  .. 0xfe             unassigned
 *   0xff  never used          (above every key: full scans end here; the LMDB store keeps
 *                             its writer's journal at 0xffff, lmdb-writer.ts)
 *
 * Field encodings:
 *   name, table   u16 byte length, then that many bytes of UTF-8 (no NUL terminator)
 *   u8, u64       unsigned, big-endian; the store keeps u64 fields below 2^53
 *   PK bytes      the encoded primary key exactly as the caller gives it, last in the key
 *
 * A reserved tag is promised to the family named beside it; a new family takes the next
 * unassigned tag and a line in this table. Changing an existing layout needs a new schema
 * version (see store.ts).
 */

import {
  decodeUtf8,
  encodeUtf8,
  readUint16,
  readUint64,
  writeUint16,
  writeUint64,
} from "./bytes.js";
import { StoreError, storeAssert } from "./errors.js";
import {
  ALERT_ID_BYTES_MAX,
  KEY_BYTES_MAX,
  META_NAME_BYTES_MAX,
  PRIMARY_KEY_BYTES_MAX,
  SEQUENCE_MAX,
  TABLE_NAME_BYTES_MAX,
  TABLE_NAME_CACHE_ENTRIES_MAX,
  TREE_LEVELS_MAX,
} from "./limits.js";

export const KeyTag = {
  meta: 0x01,
  chainHead: 0x02,
  chainEntry: 0x03,
  primaryKeyIndex: 0x04,
  treeNode: 0x05,
  checkpoint: 0x06,
  violationEntry: 0x07,
  violationHead: 0x08,
  alertOutbox: 0x09,
  reservedRaftLogEntry: 0x0a,
  reservedRaftStableState: 0x0b,
  reservedWitnessSubmission: 0x0c,
  dataHashBlock: 0x0d,
} as const;
export type KeyTag = (typeof KeyTag)[keyof typeof KeyTag];

const TAG_BYTES = 1;
const NAME_LENGTH_BYTES = 2;
const UINT64_BYTES = 8;
const LEVEL_BYTES = 1;

/** The key below every key of the store. */
export const FIRST_KEY: Uint8Array = Uint8Array.of(0x00);
/** The key above every key of the store. */
export const PAST_LAST_KEY: Uint8Array = Uint8Array.of(0xff);

// The longest key the layout can produce must fit LMDB.
storeAssert(
  TAG_BYTES + NAME_LENGTH_BYTES + TABLE_NAME_BYTES_MAX + PRIMARY_KEY_BYTES_MAX <= KEY_BYTES_MAX,
  "WITNZ_STORE_INVALID",
  () => "the primary-key index key can outgrow LMDB's key size",
);

/** A chain entry's place: which table, which sequence number (1-based). */
export interface ChainEntryKey {
  readonly table: string;
  readonly seq: number;
}
export interface PrimaryKeyIndexKey {
  readonly table: string;
  readonly primaryKey: Uint8Array;
}
export interface TreeNodeKey {
  readonly table: string;
  readonly level: number;
  readonly index: number;
}
export interface CheckpointKey {
  readonly table: string;
  readonly size: number;
}

// ---- meta --------------------------------------------------------------------------------

export function encodeMetaKey(name: string): Uint8Array {
  const nameBytes = encodeName(name, "meta name", META_NAME_BYTES_MAX);
  const key = new Uint8Array(TAG_BYTES + NAME_LENGTH_BYTES + nameBytes.length);
  key[0] = KeyTag.meta;
  writeName(key, TAG_BYTES, nameBytes);
  return key;
}

export function decodeMetaKey(key: Uint8Array): string {
  expectTag(key, KeyTag.meta, "meta");
  const { name, end } = readName(key, TAG_BYTES, "meta name");
  expectLength(key, end, "meta");
  return name;
}

// ---- chain head --------------------------------------------------------------------------

export function encodeChainHeadKey(table: string): Uint8Array {
  return tablePrefix(KeyTag.chainHead, table, 0);
}

export function decodeChainHeadKey(key: Uint8Array): string {
  expectTag(key, KeyTag.chainHead, "chain head");
  const { name, end } = readName(key, TAG_BYTES, "table name");
  expectLength(key, end, "chain head");
  return name;
}

/** All chain head keys, one per table with a chain. */
export function chainHeadKeyRange(): { start: Uint8Array; end: Uint8Array } {
  return { start: Uint8Array.of(KeyTag.chainHead), end: Uint8Array.of(KeyTag.chainHead + 1) };
}

// ---- chain entry -------------------------------------------------------------------------

export function encodeChainEntryKey(table: string, seq: number): Uint8Array {
  assertSequence(seq, "seq");
  const key = tablePrefix(KeyTag.chainEntry, table, UINT64_BYTES);
  writeUint64(key, key.length - UINT64_BYTES, seq);
  return key;
}

export function decodeChainEntryKey(key: Uint8Array): ChainEntryKey {
  expectTag(key, KeyTag.chainEntry, "chain entry");
  const { name, end } = readName(key, TAG_BYTES, "table name");
  expectLength(key, end + UINT64_BYTES, "chain entry");
  return { table: name, seq: readUint64(key, end) };
}

// ---- data hash blocks ----------------------------------------------------------------------

/** Chain entries per data hash block: block b holds seqs b * 1024 + 1 up to (b + 1) * 1024. */
export const DATA_HASH_BLOCK_ENTRIES = 1024;

/** The block of `table`'s data hashes with index `block` (0-based). */
export function encodeDataHashBlockKey(table: string, block: number): Uint8Array {
  assertCount(block, "a data hash block index");
  const key = tablePrefix(KeyTag.dataHashBlock, table, UINT64_BYTES);
  writeUint64(key, key.length - UINT64_BYTES, block);
  return key;
}

// ---- primary-key index -------------------------------------------------------------------

export function encodePrimaryKeyIndexKey(table: string, primaryKey: Uint8Array): Uint8Array {
  assertPrimaryKey(primaryKey);
  storeAssert(
    primaryKey.length > 0,
    "WITNZ_STORE_INVALID",
    () => "an empty primary key means the row has none, and it has no index entry",
  );
  const key = tablePrefix(KeyTag.primaryKeyIndex, table, primaryKey.length);
  key.set(primaryKey, key.length - primaryKey.length);
  return key;
}

export function decodePrimaryKeyIndexKey(key: Uint8Array): PrimaryKeyIndexKey {
  expectTag(key, KeyTag.primaryKeyIndex, "primary-key index");
  const { name, end } = readName(key, TAG_BYTES, "table name");
  return { table: name, primaryKey: key.slice(end) };
}

// ---- tree node ---------------------------------------------------------------------------

/**
 * The lowest tree level the store keeps. A node below it covers at most 8 leaves, all in one
 * data hash block, and is derived on read from the entries' data hashes (tree-nodes.ts).
 */
export const TREE_STORED_LEVEL_MIN = 4;
if (DATA_HASH_BLOCK_ENTRIES % 2 ** (TREE_STORED_LEVEL_MIN - 1) !== 0) {
  throw new Error("a derived tree node must lie inside one data hash block");
}

export function encodeTreeNodeKey(table: string, level: number, index: number): Uint8Array {
  storeAssert(
    Number.isInteger(level) && level >= 0 && level < TREE_LEVELS_MAX,
    "WITNZ_STORE_INVALID",
    () => `a tree level runs from 0 to ${TREE_LEVELS_MAX - 1}, got ${level}`,
  );
  assertCount(index, "tree node index");
  const key = tablePrefix(KeyTag.treeNode, table, LEVEL_BYTES + UINT64_BYTES);
  const levelOffset = key.length - LEVEL_BYTES - UINT64_BYTES;
  key[levelOffset] = level;
  writeUint64(key, levelOffset + LEVEL_BYTES, index);
  return key;
}

export function decodeTreeNodeKey(key: Uint8Array): TreeNodeKey {
  expectTag(key, KeyTag.treeNode, "tree node");
  const { name, end } = readName(key, TAG_BYTES, "table name");
  expectLength(key, end + LEVEL_BYTES + UINT64_BYTES, "tree node");
  return { table: name, level: key[end]!, index: readUint64(key, end + LEVEL_BYTES) };
}

// ---- checkpoint --------------------------------------------------------------------------

export function encodeCheckpointKey(table: string, size: number): Uint8Array {
  assertCount(size, "checkpoint size");
  const key = tablePrefix(KeyTag.checkpoint, table, UINT64_BYTES);
  writeUint64(key, key.length - UINT64_BYTES, size);
  return key;
}

export function decodeCheckpointKey(key: Uint8Array): CheckpointKey {
  expectTag(key, KeyTag.checkpoint, "checkpoint");
  const { name, end } = readName(key, TAG_BYTES, "table name");
  expectLength(key, end + UINT64_BYTES, "checkpoint");
  return { table: name, size: readUint64(key, end) };
}

// ---- violation log -----------------------------------------------------------------------

export function encodeViolationEntryKey(table: string, seq: number): Uint8Array {
  assertSequence(seq, "violation seq");
  const key = tablePrefix(KeyTag.violationEntry, table, UINT64_BYTES);
  writeUint64(key, key.length - UINT64_BYTES, seq);
  return key;
}

export function decodeViolationEntryKey(key: Uint8Array): ChainEntryKey {
  expectTag(key, KeyTag.violationEntry, "violation entry");
  const { name, end } = readName(key, TAG_BYTES, "table name");
  expectLength(key, end + UINT64_BYTES, "violation entry");
  return { table: name, seq: readUint64(key, end) };
}

export function encodeViolationHeadKey(table: string): Uint8Array {
  return tablePrefix(KeyTag.violationHead, table, 0);
}

// ---- alert outbox ------------------------------------------------------------------------

/** The second byte of an alert outbox key: which of the family's two kinds of key it is. */
export const AlertOutboxKind = {
  /** One per alert, kept after delivery so that a repeated id stays a no-op. */
  record: 0x00,
  /** One per undelivered alert, ordered by the time its next attempt is due. */
  dueIndex: 0x01,
} as const;

const ALERT_KIND_BYTES = 1;

export function encodeAlertRecordKey(id: string): Uint8Array {
  const idBytes = encodeName(id, "alert id", ALERT_ID_BYTES_MAX);
  const key = new Uint8Array(TAG_BYTES + ALERT_KIND_BYTES + NAME_LENGTH_BYTES + idBytes.length);
  key[0] = KeyTag.alertOutbox;
  key[1] = AlertOutboxKind.record;
  writeName(key, TAG_BYTES + ALERT_KIND_BYTES, idBytes);
  return key;
}

export function encodeAlertDueKey(dueAtMs: number, id: string): Uint8Array {
  assertCount(dueAtMs, "an alert's due time");
  const idBytes = encodeName(id, "alert id", ALERT_ID_BYTES_MAX);
  const idOffset = TAG_BYTES + ALERT_KIND_BYTES + UINT64_BYTES;
  const key = new Uint8Array(idOffset + NAME_LENGTH_BYTES + idBytes.length);
  key[0] = KeyTag.alertOutbox;
  key[1] = AlertOutboxKind.dueIndex;
  writeUint64(key, TAG_BYTES + ALERT_KIND_BYTES, dueAtMs);
  writeName(key, idOffset, idBytes);
  return key;
}

export function decodeAlertDueKey(key: Uint8Array): { dueAtMs: number; id: string } {
  if (key[0] !== KeyTag.alertOutbox || key[1] !== AlertOutboxKind.dueIndex) {
    throw corruptKey("alert due index key tag");
  }
  const idOffset = TAG_BYTES + ALERT_KIND_BYTES + UINT64_BYTES;
  if (key.length < idOffset) throw corruptKey("alert due index key length");
  const { name, end } = readName(key, idOffset, "alert id");
  expectLength(key, end, "alert due index");
  return { dueAtMs: readUint64(key, TAG_BYTES + ALERT_KIND_BYTES), id: name };
}

/** The due index entries due at or before `dueAtMs`, earliest first. */
export function alertDueKeyRange(dueAtMs: number): { start: Uint8Array; end: Uint8Array } {
  assertCount(dueAtMs, "a due time");
  const start = Uint8Array.of(KeyTag.alertOutbox, AlertOutboxKind.dueIndex);
  if (dueAtMs === Number.MAX_SAFE_INTEGER) return { start, end: prefixEnd(start) };
  const end = new Uint8Array(TAG_BYTES + ALERT_KIND_BYTES + UINT64_BYTES);
  end[0] = KeyTag.alertOutbox;
  end[1] = AlertOutboxKind.dueIndex;
  writeUint64(end, TAG_BYTES + ALERT_KIND_BYTES, dueAtMs + 1);
  return { start, end };
}

// ---- ranges ------------------------------------------------------------------------------

/** Every key of one family and one table: chain entries, PK index, tree nodes, checkpoints. */
export function tableKeyRange(tag: KeyTag, table: string): { start: Uint8Array; end: Uint8Array } {
  const start = tablePrefix(tag, table, 0);
  return { start, end: prefixEnd(start) };
}

/** The smallest key greater than every key that starts with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let position = prefix.length - 1; position >= 0; position--) {
    if (prefix[position]! < 0xff) {
      const end = prefix.slice(0, position + 1);
      end[position]! += 1;
      return end;
    }
  }
  throw new StoreError("WITNZ_STORE_INVALID", "a prefix of only 0xff bytes has no end");
}

// ---- fields ------------------------------------------------------------------------------

// Ingest encodes the same few table names thousands of times a batch; the encoded bytes are
// kept (never handed out, only copied into keys) in a cache cleared whenever it fills.
const tableNameCache = new Map<string, Uint8Array>();

/** The UTF-8 bytes of a table name, checked against the limits. The caller must not modify them. */
function encodeTableName(table: string): Uint8Array {
  const cached = tableNameCache.get(table);
  if (cached !== undefined) return cached;
  const encoded = encodeName(table, "table name", TABLE_NAME_BYTES_MAX);
  if (tableNameCache.size >= TABLE_NAME_CACHE_ENTRIES_MAX) tableNameCache.clear();
  tableNameCache.set(table, encoded);
  return encoded;
}

function tablePrefix(tag: KeyTag, table: string, trailingBytes: number): Uint8Array {
  const nameBytes = encodeTableName(table);
  const key = new Uint8Array(TAG_BYTES + NAME_LENGTH_BYTES + nameBytes.length + trailingBytes);
  key[0] = tag;
  writeName(key, TAG_BYTES, nameBytes);
  return key;
}

function encodeName(name: string, what: string, bytesMax: number): Uint8Array {
  storeAssert(typeof name === "string", "WITNZ_STORE_INVALID", () => `a ${what} must be a string`);
  const bytes = encodeUtf8(name, `the ${what} ${JSON.stringify(name)}`);
  storeAssert(bytes.length > 0, "WITNZ_STORE_INVALID", () => `a ${what} must not be empty`);
  storeAssert(
    bytes.length <= bytesMax,
    "WITNZ_STORE_LIMIT",
    () => `a ${what} has ${bytes.length} UTF-8 bytes; the limit is ${bytesMax}`,
  );
  return bytes;
}

function writeName(key: Uint8Array, offset: number, nameBytes: Uint8Array): void {
  writeUint16(key, offset, nameBytes.length);
  key.set(nameBytes, offset + NAME_LENGTH_BYTES);
}

function readName(key: Uint8Array, offset: number, what: string): { name: string; end: number } {
  if (key.length < offset + NAME_LENGTH_BYTES) throw corruptKey(what);
  const length = readUint16(key, offset);
  const end = offset + NAME_LENGTH_BYTES + length;
  if (length === 0 || key.length < end) throw corruptKey(what);
  return { name: decodeUtf8(key.subarray(offset + NAME_LENGTH_BYTES, end), what), end };
}

function expectTag(key: Uint8Array, tag: KeyTag, family: string): void {
  if (key[0] !== tag) throw corruptKey(`${family} key tag`);
}

function expectLength(key: Uint8Array, length: number, family: string): void {
  if (key.length !== length) throw corruptKey(`${family} key length`);
}

function corruptKey(what: string): StoreError {
  return new StoreError("WITNZ_STORE_CORRUPT", `a stored key has a malformed ${what}`);
}

/** A sequence number: an integer from 1 to 2^53 - 1. */
export function assertSequence(value: number, what: string): void {
  storeAssert(
    Number.isSafeInteger(value) && value >= 1 && value <= SEQUENCE_MAX,
    "WITNZ_STORE_INVALID",
    () => `${what} must be an integer from 1 to 2^53 - 1, got ${value}`,
  );
}

/** A size or index: an integer from 0 to 2^53 - 1. */
export function assertCount(value: number, what: string): void {
  storeAssert(
    Number.isSafeInteger(value) && value >= 0,
    "WITNZ_STORE_INVALID",
    () => `${what} must be an integer from 0 to 2^53 - 1, got ${value}`,
  );
}

export function assertPrimaryKey(primaryKey: Uint8Array): void {
  storeAssert(
    primaryKey instanceof Uint8Array,
    "WITNZ_STORE_INVALID",
    () => "a primary key must be a Uint8Array of encoded key bytes",
  );
  storeAssert(
    primaryKey.length <= PRIMARY_KEY_BYTES_MAX,
    "WITNZ_STORE_LIMIT",
    () => `a primary key has ${primaryKey.length} bytes; the limit is ${PRIMARY_KEY_BYTES_MAX}`,
  );
}
