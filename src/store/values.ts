/**
 * Value layouts, fixed and hand-encoded (no JSON, no msgpack), all integers big-endian:
 *
 *   chain entry   data hash [32] | chain hash [32] | LSN u64 [8] | primary key [rest]
 *   chain head    size u64 [8] | chain hash [32]
 *   PK index      seq u64 [8]
 *   tree node     hash [32]
 *   checkpoint    signed note text, UTF-8, as signed (no trailing bytes added)
 *   schema meta   version u32 [4]
 *   violation     record hash [32] | chain hash [32] | violation record [rest]
 *   violation head  size u64 [8] | chain hash [32]
 *   alert record  UTF-8 JSON: the alert, each sink's delivery state, due and settled times
 *   alert due     empty
 *
 * A violation record (the bytes its record hash covers):
 *   version u8 = 1 | kind u8 | flags u8 | LSN u64 | commit time µs u64 | xid u32
 *   | [PK length u16 | PK bytes]      when flags & 1
 *   | [old data hash [32]]            when flags & 2
 *   | [new data hash [32]]            when flags & 4
 *   | detail length u32 | detail, UTF-8 JSON text
 *
 * The sequence number of a chain entry is in its key, not its value.
 */

import {
  decodeUtf8,
  encodeUtf8,
  readBigUint64,
  readUint16,
  readUint32,
  readUint64,
  writeBigUint64,
  writeUint16,
  writeUint32,
  writeUint64,
} from "./bytes.js";
import { StoreError, storeAssert } from "./errors.js";
import { assertCount, assertPrimaryKey, assertSequence } from "./keys.js";
import {
  ALERT_ERROR_CHARACTERS_MAX,
  ALERT_ID_BYTES_MAX,
  ALERT_RECORD_BYTES_MAX,
  ALERT_SINK_NAME_BYTES_MAX,
  ALERT_SINKS_MAX,
  CHECKPOINT_NOTE_BYTES_MAX,
  VIOLATION_DETAIL_BYTES_MAX,
} from "./limits.js";

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

/** Where an encoder puts a value of `length` bytes: a fresh array, or one from a ByteArena. */
export type ValueAllocator = (length: number) => Uint8Array;

const allocate: ValueAllocator = (length) => new Uint8Array(length);

export function encodeChainEntryValue(
  entry: ChainEntry,
  allocator: ValueAllocator = allocate,
): Uint8Array {
  const value = allocator(CHAIN_ENTRY_FIXED_BYTES + entry.primaryKey.length);
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

/**
 * A window of consecutive chain entries' data hashes and primary keys, packed into buffers that
 * are reused from one window to the next: what a full scan compares, read with no allocation per
 * entry. Filled by WitnzStore.readChainWindow; entry `index` is seq `firstSeq + index`.
 */
export class ChainEntryWindow {
  /** The seq of the entry at index 0. */
  firstSeq = 1;
  /** Entries held, at most `capacity`. */
  count = 0;
  /** Entry i's data hash is bytes i * HASH_BYTES up to (i + 1) * HASH_BYTES. */
  readonly dataHashes: Uint8Array;
  /** Entry i's primary key is bytes primaryKeyStarts[i] up to primaryKeyStarts[i + 1]. */
  primaryKeys = new Uint8Array(0);
  readonly primaryKeyStarts: Uint32Array;

  constructor(readonly capacity: number) {
    storeAssert(
      Number.isSafeInteger(capacity) && capacity > 0,
      "WITNZ_STORE_INVALID",
      () => `a chain window holds a positive number of entries, got ${capacity}`,
    );
    this.dataHashes = new Uint8Array(capacity * HASH_BYTES);
    this.primaryKeyStarts = new Uint32Array(capacity + 1);
  }

  /** Empties the window; the next entry appended is `firstSeq`. */
  reset(firstSeq: number): void {
    this.firstSeq = firstSeq;
    this.count = 0;
  }

  /** Appends a stored chain entry value, copying its data hash and primary key. */
  append(value: Uint8Array): void {
    if (value.length < CHAIN_ENTRY_FIXED_BYTES) throw corruptValue("chain entry", value.length);
    storeAssert(
      this.count < this.capacity,
      "WITNZ_STORE_INVALID",
      () => "the chain window is full",
    );
    const index = this.count;
    // Byte loops: for a few dozen bytes they cost less than the views `set` would need.
    const hashes = this.dataHashes;
    const hashStart = index * HASH_BYTES;
    for (let offset = 0; offset < HASH_BYTES; offset++) hashes[hashStart + offset] = value[offset]!;
    const start = this.primaryKeyStarts[index]!;
    const end = start + value.length - CHAIN_ENTRY_FIXED_BYTES;
    if (end > this.primaryKeys.length) {
      const grown = new Uint8Array(Math.max(end, this.primaryKeys.length * 2, 1024));
      grown.set(this.primaryKeys.subarray(0, start));
      this.primaryKeys = grown;
    }
    const keys = this.primaryKeys;
    for (let from = CHAIN_ENTRY_FIXED_BYTES, to = start; to < end; from++, to++) {
      keys[to] = value[from]!;
    }
    this.primaryKeyStarts[index + 1] = end;
    this.count = index + 1;
  }
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

export function encodeSequenceValue(seq: number, allocator: ValueAllocator = allocate): Uint8Array {
  assertCount(seq, "seq");
  const value = allocator(SEQUENCE_VALUE_BYTES);
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

// ---- violation log -----------------------------------------------------------------------

/** What a protected append-only table suffered, or, for `gap`, what the node failed to see. */
export type ViolationKind = "update" | "delete" | "truncate" | "schema_change" | "gap";

/** The kind byte of each violation kind; a byte is never reused for another kind. */
export const VIOLATION_KIND_BYTES: Readonly<Record<ViolationKind, number>> = {
  update: 1,
  delete: 2,
  truncate: 3,
  schema_change: 4,
  gap: 5,
};
const VIOLATION_KINDS_BY_BYTE = new Map<number, ViolationKind>(
  Object.entries(VIOLATION_KIND_BYTES).map(([kind, byte]) => [byte, kind as ViolationKind]),
);

export const VIOLATION_RECORD_VERSION = 1;
const VIOLATION_FLAG_PRIMARY_KEY = 1;
const VIOLATION_FLAG_OLD_DATA_HASH = 2;
const VIOLATION_FLAG_NEW_DATA_HASH = 4;
const UINT32_MAX = 0xffff_ffff;
/** version, kind, flags, LSN, commit time, xid. */
export const VIOLATION_RECORD_FIXED_BYTES = 1 + 1 + 1 + UINT64_BYTES + UINT64_BYTES + 4;
const U16_BYTES = 2;
const U32_BYTES = 4;

/** One entry of a table's violation log, as the caller stages it. */
export interface ViolationRecord {
  readonly kind: ViolationKind;
  /** The WAL position of the offending commit (for `gap`: where the gap ends). */
  readonly lsn: bigint;
  /** The commit time in microseconds since 1970-01-01 UTC (0 when unknown). */
  readonly commitTimeUnixMicroseconds: bigint;
  /** The offending transaction id (0 when none, as for a gap). */
  readonly xid: number;
  /** The encoded primary key of the affected row, for UPDATE and DELETE. */
  readonly primaryKey?: Uint8Array;
  /** d = SHA-256(canonical row) of the row before the change, when known. */
  readonly oldDataHash?: Uint8Array;
  /** d = SHA-256(canonical row) of the row after an UPDATE. */
  readonly newDataHash?: Uint8Array;
  /** JSON text with anything else worth keeping (columns before/after, gap reason, ...). */
  readonly detail: string;
}

/** A stored violation: its place in the log and the hashes that chain it. */
export interface ViolationEntry {
  readonly seq: number;
  /** SHA-256 of the record's bytes. */
  readonly recordHash: Uint8Array;
  /** c_i = SHA-256(c_{i-1} || u64be(i) || recordHash), c_0 = 32 zero bytes. */
  readonly chainHash: Uint8Array;
  readonly record: ViolationRecord;
}

/** The record's bytes, the input of its record hash. */
export function encodeViolationRecord(record: ViolationRecord): Uint8Array {
  storeAssert(
    VIOLATION_KIND_BYTES[record.kind] !== undefined,
    "WITNZ_STORE_INVALID",
    () => `unknown violation kind ${JSON.stringify(record.kind)}`,
  );
  assertLsn(record.lsn, "a violation's LSN");
  assertLsn(record.commitTimeUnixMicroseconds, "a violation's commit time");
  storeAssert(
    Number.isInteger(record.xid) && record.xid >= 0 && record.xid <= UINT32_MAX,
    "WITNZ_STORE_INVALID",
    () => `a transaction id is a u32, got ${record.xid}`,
  );
  if (record.primaryKey !== undefined) assertPrimaryKey(record.primaryKey);
  if (record.oldDataHash !== undefined) assertHash(record.oldDataHash, "an old data hash");
  if (record.newDataHash !== undefined) assertHash(record.newDataHash, "a new data hash");
  storeAssert(
    typeof record.detail === "string",
    "WITNZ_STORE_INVALID",
    () => "a violation's detail must be JSON text",
  );
  const detail = encodeUtf8(record.detail, "a violation's detail");
  storeAssert(
    detail.length <= VIOLATION_DETAIL_BYTES_MAX,
    "WITNZ_STORE_LIMIT",
    () =>
      `a violation's detail has ${detail.length} bytes; the limit is ${VIOLATION_DETAIL_BYTES_MAX}`,
  );
  storeAssert(
    isJsonText(record.detail),
    "WITNZ_STORE_INVALID",
    () => "a violation's detail must be JSON text",
  );
  const primaryKeyBytes =
    record.primaryKey === undefined ? 0 : U16_BYTES + record.primaryKey.length;
  const value = new Uint8Array(
    VIOLATION_RECORD_FIXED_BYTES +
      primaryKeyBytes +
      (record.oldDataHash === undefined ? 0 : HASH_BYTES) +
      (record.newDataHash === undefined ? 0 : HASH_BYTES) +
      U32_BYTES +
      detail.length,
  );
  let flags = 0;
  if (record.primaryKey !== undefined) flags |= VIOLATION_FLAG_PRIMARY_KEY;
  if (record.oldDataHash !== undefined) flags |= VIOLATION_FLAG_OLD_DATA_HASH;
  if (record.newDataHash !== undefined) flags |= VIOLATION_FLAG_NEW_DATA_HASH;
  value[0] = VIOLATION_RECORD_VERSION;
  value[1] = VIOLATION_KIND_BYTES[record.kind];
  value[2] = flags;
  writeBigUint64(value, 3, record.lsn);
  writeBigUint64(value, 3 + UINT64_BYTES, record.commitTimeUnixMicroseconds);
  writeUint32(value, 3 + 2 * UINT64_BYTES, record.xid);
  let offset = VIOLATION_RECORD_FIXED_BYTES;
  if (record.primaryKey !== undefined) {
    writeUint16(value, offset, record.primaryKey.length);
    value.set(record.primaryKey, offset + U16_BYTES);
    offset += U16_BYTES + record.primaryKey.length;
  }
  if (record.oldDataHash !== undefined) {
    value.set(record.oldDataHash, offset);
    offset += HASH_BYTES;
  }
  if (record.newDataHash !== undefined) {
    value.set(record.newDataHash, offset);
    offset += HASH_BYTES;
  }
  writeUint32(value, offset, detail.length);
  value.set(detail, offset + U32_BYTES);
  return value;
}

export function decodeViolationRecord(bytes: Uint8Array): ViolationRecord {
  const corrupt = () => corruptValue("violation record", bytes.length);
  if (bytes.length < VIOLATION_RECORD_FIXED_BYTES + U32_BYTES) throw corrupt();
  if (bytes[0] !== VIOLATION_RECORD_VERSION) {
    throw new StoreError(
      "WITNZ_STORE_CORRUPT",
      `a stored violation record has version ${bytes[0]}; this build reads version ${VIOLATION_RECORD_VERSION}`,
    );
  }
  const kind = VIOLATION_KINDS_BY_BYTE.get(bytes[1]!);
  const flags = bytes[2]!;
  if (kind === undefined || flags > 7) throw corrupt();
  let offset = VIOLATION_RECORD_FIXED_BYTES;
  let primaryKey: Uint8Array | undefined;
  let oldDataHash: Uint8Array | undefined;
  let newDataHash: Uint8Array | undefined;
  if ((flags & VIOLATION_FLAG_PRIMARY_KEY) !== 0) {
    if (bytes.length < offset + U16_BYTES) throw corrupt();
    const length = readUint16(bytes, offset);
    offset += U16_BYTES;
    if (bytes.length < offset + length) throw corrupt();
    primaryKey = bytes.slice(offset, offset + length);
    offset += length;
  }
  if ((flags & VIOLATION_FLAG_OLD_DATA_HASH) !== 0) {
    if (bytes.length < offset + HASH_BYTES) throw corrupt();
    oldDataHash = bytes.slice(offset, offset + HASH_BYTES);
    offset += HASH_BYTES;
  }
  if ((flags & VIOLATION_FLAG_NEW_DATA_HASH) !== 0) {
    if (bytes.length < offset + HASH_BYTES) throw corrupt();
    newDataHash = bytes.slice(offset, offset + HASH_BYTES);
    offset += HASH_BYTES;
  }
  if (bytes.length < offset + U32_BYTES) throw corrupt();
  const detailLength = readUint32(bytes, offset);
  offset += U32_BYTES;
  if (bytes.length !== offset + detailLength) throw corrupt();
  return {
    kind,
    lsn: readBigUint64(bytes, 3),
    commitTimeUnixMicroseconds: readBigUint64(bytes, 3 + UINT64_BYTES),
    xid: readUint32(bytes, 3 + 2 * UINT64_BYTES),
    ...(primaryKey === undefined ? {} : { primaryKey }),
    ...(oldDataHash === undefined ? {} : { oldDataHash }),
    ...(newDataHash === undefined ? {} : { newDataHash }),
    detail: decodeUtf8(bytes.subarray(offset), "violation detail"),
  };
}

export function encodeViolationEntryValue(
  recordHash: Uint8Array,
  chainHash: Uint8Array,
  recordBytes: Uint8Array,
): Uint8Array {
  const value = new Uint8Array(2 * HASH_BYTES + recordBytes.length);
  value.set(recordHash, 0);
  value.set(chainHash, HASH_BYTES);
  value.set(recordBytes, 2 * HASH_BYTES);
  return value;
}

export function decodeViolationEntryValue(seq: number, value: Uint8Array): ViolationEntry {
  if (value.length < 2 * HASH_BYTES) throw corruptValue("violation entry", value.length);
  return {
    seq,
    recordHash: value.slice(0, HASH_BYTES),
    chainHash: value.slice(HASH_BYTES, 2 * HASH_BYTES),
    record: decodeViolationRecord(value.subarray(2 * HASH_BYTES)),
  };
}

// ---- alert outbox ------------------------------------------------------------------------

export type AlertSeverity = "info" | "warning" | "critical";
const ALERT_SEVERITIES: readonly AlertSeverity[] = ["info", "warning", "critical"];
const ALERT_KIND_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const ALERT_TEXT_CHARACTERS_MAX = 512;
const ALERT_MESSAGE_CHARACTERS_MAX = 4096;
const ALERT_PRIMARY_KEY_COLUMNS_MAX = 32;

/** One alert as the outbox keeps it and every sink receives it. */
export interface OutboxAlert {
  /** The incident id, the de-duplication key: the same incident always gets the same id. */
  readonly id: string;
  /** `append_only_violation`, `schema_change`, `verification_failed`, `replication_gap`, ... */
  readonly kind: string;
  readonly severity: AlertSeverity;
  /** The node that detected it. */
  readonly node: string;
  readonly table?: string;
  /** The operation: `UPDATE`, `DELETE`, `TRUNCATE`, ... */
  readonly op?: string;
  /** The primary key's values in PostgreSQL text form, NULL as null. */
  readonly pk?: readonly (string | null)[];
  /** The LSN in PostgreSQL's `X/X` form. */
  readonly lsn?: string;
  /** ISO 8601 time of detection. */
  readonly detectedAt: string;
  readonly message: string;
}

/** What one sink has done with one alert. */
export interface AlertDeliveryState {
  readonly attempts: number;
  readonly lastAttemptAtMs?: number;
  /** When the next attempt is due; absent once delivered. */
  readonly nextAttemptAtMs?: number;
  readonly deliveredAtMs?: number;
  readonly lastError?: string;
}

/** The outcome of one delivery attempt to one sink. */
export type AlertDeliveryOutcome =
  | { readonly status: "delivered"; readonly atMs: number }
  | {
      readonly status: "failed";
      readonly atMs: number;
      readonly error: string;
      readonly nextAttemptAtMs: number;
    };

/** An alert with its delivery state. */
export interface StoredAlert {
  readonly alert: OutboxAlert;
  /** Delivery state by sink name, for the sinks that have been tried. */
  readonly sinks: Readonly<Record<string, AlertDeliveryState>>;
  /** When the alert is next due; absent once settled. */
  readonly dueAtMs?: number;
  /** When every sink had it; absent while pending. */
  readonly settledAtMs?: number;
}

const ALERT_RECORD_VERSION = 1;

export function assertOutboxAlert(alert: OutboxAlert): void {
  const fail = (what: string): never => {
    throw new StoreError("WITNZ_STORE_INVALID", `an alert's ${what}`);
  };
  if (typeof alert !== "object" || alert === null) fail("value must be an object");
  if (typeof alert.id !== "string" || alert.id.length === 0) fail("id must be non-empty text");
  if (Buffer.byteLength(alert.id, "utf8") > ALERT_ID_BYTES_MAX) {
    throw new StoreError(
      "WITNZ_STORE_LIMIT",
      `an alert id has more than ${ALERT_ID_BYTES_MAX} UTF-8 bytes`,
    );
  }
  if (typeof alert.kind !== "string" || !ALERT_KIND_PATTERN.test(alert.kind)) {
    fail(`kind must be snake_case text, got ${JSON.stringify(alert.kind)}`);
  }
  if (!ALERT_SEVERITIES.includes(alert.severity)) {
    fail(`severity must be one of ${ALERT_SEVERITIES.join(", ")}`);
  }
  for (const field of ["node", "table", "op", "lsn"] as const) {
    const value = alert[field];
    if (field !== "node" && value === undefined) continue;
    if (typeof value !== "string" || value.length === 0) fail(`${field} must be non-empty text`);
    if ((value as string).length > ALERT_TEXT_CHARACTERS_MAX) {
      fail(`${field} is longer than ${ALERT_TEXT_CHARACTERS_MAX} characters`);
    }
  }
  if (alert.pk !== undefined) {
    if (!Array.isArray(alert.pk) || alert.pk.length > ALERT_PRIMARY_KEY_COLUMNS_MAX) {
      fail(`pk must be a list of at most ${ALERT_PRIMARY_KEY_COLUMNS_MAX} values`);
    }
    for (const value of alert.pk) {
      if (value !== null && typeof value !== "string") fail("pk values must be text or null");
    }
  }
  if (typeof alert.detectedAt !== "string" || Number.isNaN(Date.parse(alert.detectedAt))) {
    fail(`detectedAt must be an ISO 8601 time, got ${JSON.stringify(alert.detectedAt)}`);
  }
  if (typeof alert.message !== "string") fail("message must be text");
  if (alert.message.length > ALERT_MESSAGE_CHARACTERS_MAX) {
    fail(`message is longer than ${ALERT_MESSAGE_CHARACTERS_MAX} characters`);
  }
}

/** A copy of the alert with only its known fields, in a fixed order. */
export function normalizeOutboxAlert(alert: OutboxAlert): OutboxAlert {
  return {
    id: alert.id,
    kind: alert.kind,
    severity: alert.severity,
    node: alert.node,
    ...(alert.table === undefined ? {} : { table: alert.table }),
    ...(alert.op === undefined ? {} : { op: alert.op }),
    ...(alert.pk === undefined ? {} : { pk: [...alert.pk] }),
    ...(alert.lsn === undefined ? {} : { lsn: alert.lsn }),
    detectedAt: alert.detectedAt,
    message: alert.message,
  };
}

export function assertSinkName(sinkName: string): void {
  storeAssert(
    typeof sinkName === "string" &&
      sinkName.length > 0 &&
      Buffer.byteLength(sinkName, "utf8") <= ALERT_SINK_NAME_BYTES_MAX,
    "WITNZ_STORE_INVALID",
    () => `a sink name is 1 to ${ALERT_SINK_NAME_BYTES_MAX} bytes of text`,
  );
}

export function assertDeliveryOutcome(outcome: AlertDeliveryOutcome): void {
  assertCount(outcome.atMs, "a delivery time");
  if (outcome.status === "failed") {
    assertCount(outcome.nextAttemptAtMs, "a next attempt time");
    storeAssert(
      typeof outcome.error === "string",
      "WITNZ_STORE_INVALID",
      () => "a failed delivery needs its error as text",
    );
  } else {
    storeAssert(
      outcome.status === "delivered",
      "WITNZ_STORE_INVALID",
      () => `a delivery outcome is delivered or failed, got ${String(outcome.status)}`,
    );
  }
}

/** The sink state after one more outcome; a delivered sink stays delivered. */
export function applyDeliveryOutcome(
  state: AlertDeliveryState | undefined,
  outcome: AlertDeliveryOutcome,
): AlertDeliveryState {
  if (state?.deliveredAtMs !== undefined) return state;
  const attempts = (state?.attempts ?? 0) + 1;
  if (outcome.status === "delivered") {
    return {
      attempts,
      lastAttemptAtMs: outcome.atMs,
      deliveredAtMs: outcome.atMs,
      ...(state?.lastError === undefined ? {} : { lastError: state.lastError }),
    };
  }
  return {
    attempts,
    lastAttemptAtMs: outcome.atMs,
    nextAttemptAtMs: outcome.nextAttemptAtMs,
    lastError: outcome.error.slice(0, ALERT_ERROR_CHARACTERS_MAX),
  };
}

export function encodeAlertRecordValue(stored: StoredAlert): Uint8Array {
  storeAssert(
    Object.keys(stored.sinks).length <= ALERT_SINKS_MAX,
    "WITNZ_STORE_LIMIT",
    () => `an alert keeps the state of at most ${ALERT_SINKS_MAX} sinks`,
  );
  const text = JSON.stringify({
    version: ALERT_RECORD_VERSION,
    alert: stored.alert,
    sinks: stored.sinks,
    ...(stored.dueAtMs === undefined ? {} : { dueAtMs: stored.dueAtMs }),
    ...(stored.settledAtMs === undefined ? {} : { settledAtMs: stored.settledAtMs }),
  });
  const value = encodeUtf8(text, "an alert record");
  storeAssert(
    value.length <= ALERT_RECORD_BYTES_MAX,
    "WITNZ_STORE_LIMIT",
    () => `an alert record has ${value.length} bytes; the limit is ${ALERT_RECORD_BYTES_MAX}`,
  );
  return value;
}

export function decodeAlertRecordValue(value: Uint8Array): StoredAlert {
  let parsed: {
    version?: unknown;
    alert?: OutboxAlert;
    sinks?: Record<string, AlertDeliveryState>;
    dueAtMs?: number;
    settledAtMs?: number;
  };
  try {
    parsed = JSON.parse(decodeUtf8(value, "alert record"));
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError("WITNZ_STORE_CORRUPT", "a stored alert record is not JSON", {
      cause: error,
    });
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    parsed.version !== ALERT_RECORD_VERSION ||
    typeof parsed.alert !== "object" ||
    typeof parsed.sinks !== "object"
  ) {
    throw new StoreError("WITNZ_STORE_CORRUPT", "a stored alert record does not have its layout");
  }
  return {
    alert: parsed.alert,
    sinks: parsed.sinks,
    ...(parsed.dueAtMs === undefined ? {} : { dueAtMs: parsed.dueAtMs }),
    ...(parsed.settledAtMs === undefined ? {} : { settledAtMs: parsed.settledAtMs }),
  };
}

function assertLsn(value: bigint, what: string): void {
  storeAssert(
    typeof value === "bigint" && value >= 0n && value <= LSN_MAX,
    "WITNZ_STORE_INVALID",
    () => `${what} must be a bigint from 0 to 2^64 - 1, got ${String(value)}`,
  );
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function corruptValue(family: string, length: number): StoreError {
  return new StoreError(
    "WITNZ_STORE_CORRUPT",
    `a stored ${family} value has ${length} bytes, which is not its layout`,
  );
}
