import { sha256 } from "../crypto/index.js";
import { GENESIS_CHAIN_HASH, chainHash as nextChainHash } from "../hash/index.js";
import { ByteArena } from "./arena.js";
import { byteString, writeUint64 } from "./bytes.js";
import { isStoreError, StoreError, storeAssert } from "./errors.js";
import type {
  KeyValueStore,
  WriteCondition,
  WriteOperation,
  WriteOptions,
} from "./key-value-store.js";
import {
  alertDueKeyRange,
  assertCount,
  assertSequence,
  chainHeadKeyRange,
  DATA_HASH_BLOCK_ENTRIES,
  decodeAlertDueKey,
  decodeChainEntryKey,
  decodeChainHeadKey,
  decodeCheckpointKey,
  decodeTreeNodeKey,
  decodeViolationEntryKey,
  encodeAlertDueKey,
  encodeAlertRecordKey,
  encodeChainEntryKey,
  encodeChainHeadKey,
  encodeCheckpointKey,
  encodeDataHashBlockKey,
  encodeMetaKey,
  encodePrimaryKeyIndexKey,
  encodeViolationEntryKey,
  encodeViolationHeadKey,
  FIRST_KEY,
  KeyTag,
  PAST_LAST_KEY,
  TREE_STORED_LEVEL_MIN,
  tableKeyRange,
} from "./keys.js";
import {
  DATA_HASH_BLOCK_TABLES_PER_BATCH_MAX,
  META_VALUE_BYTES_MAX,
  PENDING_ALERTS_MAX,
  WRITE_OPERATIONS_MAX,
} from "./limits.js";
import { type LmdbKeyValueStoreOptions, openLmdbKeyValueStore } from "./lmdb-key-value-store.js";
import { createMemoryKeyValueStore } from "./memory-key-value-store.js";
import { importSeed, isBlank, seedEntries } from "./seed.js";
import { type TreeNodeStorage, treeNodeStorage } from "./tree-nodes.js";
import {
  type AlertDeliveryOutcome,
  type AlertDeliveryState,
  applyDeliveryOutcome,
  assertChainEntry,
  assertDeliveryOutcome,
  assertOutboxAlert,
  assertSinkName,
  type ChainEntry,
  type ChainEntryWindow,
  type ChainHead,
  corruptValue,
  decodeAlertRecordValue,
  decodeChainEntryValue,
  decodeChainHeadValue,
  decodeCheckpointValue,
  decodeSchemaVersionValue,
  decodeSequenceValue,
  decodeViolationEntryValue,
  encodeAlertRecordValue,
  encodeChainEntryValue,
  encodeChainHeadValue,
  encodeCheckpointValue,
  encodeSchemaVersionValue,
  encodeSequenceValue,
  encodeViolationEntryValue,
  encodeViolationRecord,
  HASH_BYTES,
  normalizeOutboxAlert,
  type OutboxAlert,
  type StoredAlert,
  type ViolationEntry,
  type ViolationRecord,
} from "./values.js";

/** A chain entry key ends in its seq, a big-endian u64 (keys.ts). */
const CHAIN_ENTRY_KEY_SEQ_BYTES = 8;

/**
 * The layout this build reads and writes. Version 2: keys.ts and values.ts as written; tree nodes
 * below TREE_STORED_LEVEL_MIN are derived, not stored. Version 1 stored every tree level: such a
 * store is migrated when it opens (the version is written, then its nodes below that level are
 * deleted). Any other version is refused; a migration is a new version plus code that rewrites
 * the old layout, never a silent reinterpretation.
 */
export const STORE_SCHEMA_VERSION = 2;
/** Tree node keys one migration write deletes. */
const MIGRATION_DELETES_PER_WRITE = 16_384;
/** Present while a migration from version 1 still has tree nodes to delete; no caller may set it. */
const MIGRATION_CLEANUP_META_NAME = "schema-migration-cleanup";
/** The meta entry holding the schema version; no caller may set it. */
export const SCHEMA_VERSION_META_NAME = "schema-version";

/** The newest checkpoint stored for a table. */
export interface StoredCheckpoint {
  readonly size: number;
  readonly noteText: string;
}

/**
 * Writes staged for one atomic, durable commit. A batch reads committed data as it stages,
 * and the commit fails with WITNZ_STORE_CONFLICT if a chain it appends to moved meanwhile.
 */
export interface StoreBatch {
  /** Stages entry `entry.seq`, which must be the staged head's size + 1, and its PK index. */
  appendChainEntry(table: string, entry: ChainEntry): void;
  putCheckpoint(table: string, size: number, noteText: string): void;
  setMeta(name: string, value: Uint8Array): void;
  /**
   * Makes the commit conditional: it fails with WITNZ_STORE_CONFLICT, writing nothing, unless the
   * meta entry `name` then holds exactly `value` (undefined: no entry), as committed before it.
   * For a batch staged on what it read of the entry. Meta entries have no in-flight view: a
   * commit still in flight that writes the entry must be awaited before reading it for this.
   */
  requireMeta(name: string, value: Uint8Array | undefined): void;
  /** The head as this batch leaves it: committed head plus staged entries. */
  chainHead(table: string): ChainHead | undefined;
  /**
   * Stages the next entry of `table`'s violation log, chained on the staged violation head,
   * and returns its seq (1-based).
   */
  appendViolation(table: string, record: ViolationRecord): number;
  /** The violation head as this batch leaves it. */
  violationHead(table: string): ChainHead | undefined;
  /**
   * Stages `alert` in the outbox, due at its `detectedAt`. Returns false, and stages nothing,
   * when an alert with its id is already in the outbox (pending or delivered) or this batch.
   */
  enqueueAlert(alert: OutboxAlert): boolean;
  /**
   * Stages one delivery attempt's outcome for one sink. The alert is next due at the earliest
   * `nextAttemptAtMs` of its sinks not yet delivered, or at once when every sink tried so far
   * has it. A sink that has the alert keeps it: later outcomes for it change nothing.
   */
  recordAlertDelivery(id: string, sinkName: string, outcome: AlertDeliveryOutcome): void;
  /** Stages the end of an alert's delivery: every sink has it, it is no longer due. */
  settleAlert(id: string, atMs: number): void;
  /** The alert as this batch leaves it. */
  alert(id: string): StoredAlert | undefined;
  /** Staged operations so far. */
  readonly operationCount: number;
}

export interface WitnzStore {
  /** Undefined for a table with no entries. */
  chainHead(table: string): ChainHead | undefined;
  chainEntry(table: string, seq: number): ChainEntry | undefined;
  /** Entries fromSeq..toSeq, both inclusive, ascending; stops early at the chain's end. */
  chainEntries(table: string, fromSeq: number, toSeq: number): Iterable<ChainEntry>;
  /**
   * Fills `window` with entries fromSeq..toSeq (at most its capacity), replacing what it held;
   * stops early at the chain's end. For a full scan: nothing is allocated per entry.
   */
  readChainWindow(table: string, fromSeq: number, toSeq: number, window: ChainEntryWindow): void;
  /**
   * The data hashes of block `block` (entries block * 1024 + 1 onwards, 32 bytes each, in seq
   * order, as many as the chain holds), or undefined when the store has none for it (a store
   * written before blocks existed, or restored from a peer: read the entries instead). It may
   * also end early; the entries past it are read then.
   */
  dataHashBlock(table: string, block: number): Uint8Array | undefined;
  /** The seq of the latest entry appended with this primary key. */
  sequenceForPrimaryKey(table: string, primaryKey: Uint8Array): number | undefined;
  /**
   * Distinct primary keys in the index: the chain's size when no key was ever appended twice.
   * Counted in the store, without reading the keys out.
   */
  primaryKeyIndexSize(table: string): number;
  /** The signed note stored for the checkpoint of `table` at `size`. */
  checkpoint(table: string, size: number): string | undefined;
  latestCheckpoint(table: string): StoredCheckpoint | undefined;
  /** Undefined for a table with no violations. */
  violationHead(table: string): ChainHead | undefined;
  /** Violations fromSeq..toSeq, both inclusive, ascending; stops early at the log's end. */
  violations(table: string, fromSeq: number, toSeq: number): Iterable<ViolationEntry>;
  /** The alert with this id and its delivery state, delivered or not. */
  alert(id: string): StoredAlert | undefined;
  /** Up to `limit` unsettled alerts due at or before `nowMs`, earliest due first. */
  pendingAlerts(nowMs: number, limit: number): StoredAlert[];
  /** When the earliest unsettled alert is due; undefined when none is pending. */
  nextAlertDueAtMs(): number | undefined;
  meta(name: string): Uint8Array | undefined;
  /** Tables that have a chain, in key order (by UTF-8 length, then bytes). */
  tables(): string[];
  batch(): StoreBatch;
  /** Tree nodes of `table`; `set` stages into `batch`, `get` sees the batch's nodes first. */
  treeNodes(table: string, batch?: StoreBatch): TreeNodeStorage;
  /**
   * Writes the batch atomically; resolves once it is durable. A batch commits once. While it is
   * in flight, a batch staged meanwhile builds on it: a chain this commit appends to is read at
   * its new head (and the later commit fails if this one does). `onApplied` is called once the
   * writes are handed to the store's writer, before they are checked and flushed; a failure
   * after it rejects the promise (KeyValueStore.write).
   */
  commit(batch: StoreBatch, options?: WriteOptions): Promise<void>;
  /**
   * What a peer needs to rebuild a lost store from this one (seed.ts): chains, primary-key index,
   * tree nodes and the meta entries `isSeedMeta` names, as raw entries from one read snapshot.
   */
  seedEntries(isSeedMeta: (name: string) => boolean): Iterable<[Uint8Array, Uint8Array]>;
  /** No chain, primary-key index or tree entry: a new or lost store (meta entries aside). */
  isBlank(): boolean;
  /** Writes a peer's seed into this blank store; refuses keys outside the seed's families. */
  importSeed(
    entries: AsyncIterable<readonly (readonly [Uint8Array, Uint8Array])[]>,
    isSeedMeta: (name: string) => boolean,
  ): Promise<number>;
  close(): Promise<void>;
}

export type OpenStoreOptions = LmdbKeyValueStoreOptions;

/** Opens the LMDB store in `directory`, creating it (with the schema version) if new. */
export async function openStore(
  directory: string,
  options: OpenStoreOptions = {},
): Promise<WitnzStore> {
  return openStoreOnKeyValueStore(openLmdbKeyValueStore(directory, options));
}

/** A fresh store on the in-memory twin. */
export async function openMemoryStore(): Promise<WitnzStore> {
  return openStoreOnKeyValueStore(createMemoryKeyValueStore());
}

/**
 * Opens the typed store on any KeyValueStore, checking (or, when empty, writing) the schema
 * version. On failure the key-value store is closed.
 */
export async function openStoreOnKeyValueStore(keyValueStore: KeyValueStore): Promise<WitnzStore> {
  try {
    await ensureSchemaVersion(keyValueStore);
  } catch (error) {
    await keyValueStore.close();
    throw error;
  }
  return new KeyValueWitnzStore(keyValueStore);
}

async function ensureSchemaVersion(keyValueStore: KeyValueStore): Promise<void> {
  const key = encodeMetaKey(SCHEMA_VERSION_META_NAME);
  const stored = keyValueStore.get(key);
  if (stored === undefined) {
    const [anyEntry] = keyValueStore.range({ start: FIRST_KEY, end: PAST_LAST_KEY, limit: 1 });
    if (anyEntry !== undefined) {
      throw new StoreError(
        "WITNZ_STORE_SCHEMA",
        `the store in ${keyValueStore.location} holds data but no schema version; this build reads schema version ${STORE_SCHEMA_VERSION}`,
      );
    }
    const version = encodeSchemaVersionValue(STORE_SCHEMA_VERSION);
    await keyValueStore.write([{ type: "put", key, value: version }], [{ key, value: undefined }]);
    return;
  }
  const version = decodeSchemaVersionValue(stored);
  if (version === 1) {
    // The version first, then the clean-up: this build never reads the nodes it deletes, and an
    // older build refuses the store from the start, so an interrupted migration harms neither.
    const cleanup = encodeMetaKey(MIGRATION_CLEANUP_META_NAME);
    try {
      await keyValueStore.write(
        [
          { type: "put", key, value: encodeSchemaVersionValue(STORE_SCHEMA_VERSION) },
          { type: "put", key: cleanup, value: new Uint8Array(0) },
        ],
        [{ key, value: stored }],
      );
    } catch (error) {
      // Another process migrated it meanwhile: read the version again.
      if (isStoreError(error, "WITNZ_STORE_CONFLICT")) {
        return ensureSchemaVersion(keyValueStore);
      }
      throw error;
    }
  } else if (version !== STORE_SCHEMA_VERSION) {
    const found =
      version === undefined
        ? `an unreadable schema version (${stored.length} bytes)`
        : `schema version ${version}`;
    throw new StoreError(
      "WITNZ_STORE_SCHEMA",
      `the store in ${keyValueStore.location} has ${found}; this build reads schema version ${STORE_SCHEMA_VERSION} only`,
    );
  }
  if (keyValueStore.get(encodeMetaKey(MIGRATION_CLEANUP_META_NAME)) !== undefined) {
    await deleteUnstoredTreeNodes(keyValueStore);
  }
}

/**
 * The clean-up of a migration from version 1: deletes the tree nodes below TREE_STORED_LEVEL_MIN,
 * in writes of at most MIGRATION_DELETES_PER_WRITE keys, then its marker. Interrupted, it goes
 * on at the next open. A key that is not a tree node key is left for the integrity check.
 */
async function deleteUnstoredTreeNodes(keyValueStore: KeyValueStore): Promise<void> {
  const end = Uint8Array.of(KeyTag.treeNode + 1);
  let start: Uint8Array = Uint8Array.of(KeyTag.treeNode);
  for (;;) {
    const deletes: WriteOperation[] = [];
    let last: Uint8Array | undefined;
    for (const [key] of keyValueStore.range({ start, end })) {
      last = key;
      let level: number;
      try {
        level = decodeTreeNodeKey(key).level;
      } catch {
        continue;
      }
      if (level < TREE_STORED_LEVEL_MIN) deletes.push({ type: "delete", key });
      if (deletes.length === MIGRATION_DELETES_PER_WRITE) break;
    }
    if (deletes.length > 0) await keyValueStore.write(deletes);
    if (last === undefined || deletes.length < MIGRATION_DELETES_PER_WRITE) break;
    start = keyAfter(last);
  }
  await keyValueStore.write([{ type: "delete", key: encodeMetaKey(MIGRATION_CLEANUP_META_NAME) }]);
}

/** The smallest key above `key`: itself with a zero byte appended. */
function keyAfter(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return next;
}

/** An alert as a batch sees it: the stored bytes it read (for the condition) and its new state. */
interface StagedAlert {
  readonly key: Uint8Array;
  readonly committedValue: Uint8Array | undefined;
  readonly committedDueAtMs: number | undefined;
  state: StoredAlert;
}

/** A chain as a batch sees it: where it started (for the commit's condition) and where it is. */
interface StagedChain {
  readonly headKey: Uint8Array;
  readonly committedHeadValue: Uint8Array | undefined;
  size: number;
  chainHash: Uint8Array;
  /** The values of the entries this batch appends (a row chain's), seq order, from the head on. */
  readonly stagedEntries: Uint8Array[];
}

/**
 * A table's data hash block as a batch extends it; `bytes` is undefined when the block cannot be
 * kept complete (its earlier entries have no block: an older or restored store), and then it is
 * not written.
 */
interface StagedBlock {
  readonly block: number;
  readonly bytes: Uint8Array | undefined;
  length: number;
}

/** The put that writes a staged block as far as it goes; none for an unknown or empty one. */
function blockPut(
  table: string,
  block: StagedBlock,
): (WriteOperation & { type: "put" }) | undefined {
  if (block.bytes === undefined || block.length === 0) return undefined;
  return {
    type: "put",
    key: encodeDataHashBlockKey(table, block.block),
    value: block.bytes.slice(0, block.length * HASH_BYTES),
  };
}

/** An alert's record, its condition, and the due-index delete and put: the batch room it takes. */
const ALERT_OPERATIONS = 3;
const EMPTY = new Uint8Array(0);

class KeyValueStoreBatch implements StoreBatch {
  readonly owner: KeyValueWitnzStore;
  /** Staged puts by key; a later put of the same key replaces the earlier one. */
  readonly operations = new Map<string, WriteOperation & { type: "put" }>();
  /** Chain entry puts, kept apart: an entry's key is never staged twice. */
  readonly entryPuts: (WriteOperation & { type: "put" })[] = [];
  readonly chains = new Map<string, StagedChain>();
  readonly violationChains = new Map<string, StagedChain>();
  /** Each table's data hash block being extended, written at commit. */
  readonly blocks = new Map<string, StagedBlock>();
  /** Alerts by id; each commits as its record, a condition and up to two due-index changes. */
  readonly alerts = new Map<string, StagedAlert>();
  /** Meta entries the commit requires, by name, with the value each must hold. */
  readonly requiredMeta = new Map<string, { key: Uint8Array; value: Uint8Array | undefined }>();
  /** The values of appended entries and their index entries. */
  readonly #arena = new ByteArena();
  readonly #allocate = (length: number): Uint8Array => this.#arena.take(length);
  committed = false;

  constructor(owner: KeyValueWitnzStore) {
    this.owner = owner;
  }

  get operationCount(): number {
    return (
      this.operations.size +
      this.entryPuts.length +
      this.chains.size +
      this.violationChains.size +
      this.blocks.size +
      ALERT_OPERATIONS * this.alerts.size
    );
  }

  appendViolation(table: string, record: ViolationRecord): number {
    this.#assertStaging();
    const recordBytes = encodeViolationRecord(record);
    const chain = this.#stagedChain(this.violationChains, table, encodeViolationHeadKey(table));
    const seq = chain.size + 1;
    const recordHash = sha256(recordBytes);
    const previous = chain.size === 0 ? GENESIS_CHAIN_HASH : chain.chainHash;
    const chainHash = nextChainHash(previous, seq, recordHash);
    const key = encodeViolationEntryKey(table, seq);
    this.#assertRoom(1);
    this.stage(key, encodeViolationEntryValue(recordHash, chainHash, recordBytes));
    chain.size = seq;
    chain.chainHash = new Uint8Array(chainHash);
    return seq;
  }

  violationHead(table: string): ChainHead | undefined {
    const chain =
      this.violationChains.get(table) ?? this.#inflightChain(encodeViolationHeadKey(table));
    if (chain === undefined) return this.owner.violationHead(table);
    if (chain.size === 0) return undefined;
    return { size: chain.size, chainHash: chain.chainHash.slice() };
  }

  enqueueAlert(alert: OutboxAlert): boolean {
    this.#assertStaging();
    assertOutboxAlert(alert);
    if (this.alert(alert.id) !== undefined) return false;
    const key = encodeAlertRecordKey(alert.id);
    const dueAtMs = Math.max(0, Date.parse(alert.detectedAt));
    const state: StoredAlert = { alert: normalizeOutboxAlert(alert), sinks: {}, dueAtMs };
    encodeAlertRecordValue(state);
    this.#assertRoom(ALERT_OPERATIONS);
    this.alerts.set(alert.id, {
      key,
      committedValue: undefined,
      committedDueAtMs: undefined,
      state,
    });
    return true;
  }

  recordAlertDelivery(id: string, sinkName: string, outcome: AlertDeliveryOutcome): void {
    this.#assertStaging();
    assertSinkName(sinkName);
    assertDeliveryOutcome(outcome);
    const staged = this.#stagedAlert(id);
    const sinks: Record<string, AlertDeliveryState> = { ...staged.state.sinks };
    sinks[sinkName] = applyDeliveryOutcome(sinks[sinkName], outcome);
    let dueAtMs: number | undefined;
    if (staged.state.settledAtMs === undefined) {
      const waiting = Object.values(sinks).filter((sink) => sink.deliveredAtMs === undefined);
      dueAtMs =
        waiting.length === 0
          ? outcome.atMs
          : Math.min(...waiting.map((sink) => sink.nextAttemptAtMs ?? outcome.atMs));
    }
    const state: StoredAlert = {
      alert: staged.state.alert,
      sinks,
      ...(dueAtMs === undefined ? {} : { dueAtMs }),
      ...(staged.state.settledAtMs === undefined ? {} : { settledAtMs: staged.state.settledAtMs }),
    };
    encodeAlertRecordValue(state);
    staged.state = state;
  }

  settleAlert(id: string, atMs: number): void {
    this.#assertStaging();
    assertCount(atMs, "a settle time");
    const staged = this.#stagedAlert(id);
    if (staged.state.settledAtMs !== undefined) return;
    staged.state = { alert: staged.state.alert, sinks: staged.state.sinks, settledAtMs: atMs };
  }

  alert(id: string): StoredAlert | undefined {
    return this.alerts.get(id)?.state ?? this.owner.alert(id);
  }

  appendChainEntry(table: string, entry: ChainEntry): void {
    this.#assertStaging();
    assertChainEntry(entry);
    const chain = this.#stagedChain(this.chains, table, encodeChainHeadKey(table));
    if (entry.seq !== chain.size + 1) {
      throw new StoreError(
        "WITNZ_STORE_SEQUENCE",
        `table ${JSON.stringify(table)}: the next chain entry is seq ${chain.size + 1}, got seq ${entry.seq}`,
      );
    }
    // Everything that can fail happens before the batch changes, so a refused entry leaves
    // the batch as it was.
    const entryKey = encodeChainEntryKey(table, entry.seq);
    const entryValue = encodeChainEntryValue(entry, this.#allocate);
    const indexed = entry.primaryKey.length > 0;
    const indexKey = indexed ? encodePrimaryKeyIndexKey(table, entry.primaryKey) : undefined;
    const index = Math.floor((entry.seq - 1) / DATA_HASH_BLOCK_ENTRIES);
    const staged = this.blocks.get(table);
    const startsBlock = staged === undefined || staged.block !== index;
    // The entry, its index entry, the table's block (its first in this batch), and the full block
    // a boundary stages.
    this.#assertRoom((indexed ? 2 : 1) + (startsBlock ? 1 : 0));
    storeAssert(
      staged !== undefined || this.blocks.size < DATA_HASH_BLOCK_TABLES_PER_BATCH_MAX,
      "WITNZ_STORE_LIMIT",
      () =>
        `a batch appends to at most ${DATA_HASH_BLOCK_TABLES_PER_BATCH_MAX} tables; commit this one first`,
    );
    const block = startsBlock ? this.#startBlock(table, index, entry.seq, staged) : staged;
    this.entryPuts.push({ type: "put", key: entryKey, value: entryValue });
    chain.stagedEntries.push(entryValue);
    if (indexKey !== undefined) {
      this.stage(indexKey, encodeSequenceValue(entry.seq, this.#allocate));
    }
    chain.size = entry.seq;
    chain.chainHash = entry.chainHash.slice();
    if (block.bytes !== undefined) block.bytes.set(entry.dataHash, block.length * HASH_BYTES);
    block.length += 1;
  }

  /**
   * The table's block `index`, from `seq` on: what the store holds of it before `seq`, or, when
   * its block is absent or does not end at `seq - 1` (a store from before blocks, or restored
   * from a peer), rebuilt from the committed entries. A block that cannot be rebuilt (an entry is
   * missing) is not written. The table's previous block, when this batch extended it, is staged
   * whole first (a batch crossing a boundary).
   */
  #startBlock(
    table: string,
    index: number,
    seq: number,
    previous: StagedBlock | undefined,
  ): StagedBlock {
    const first = index * DATA_HASH_BLOCK_ENTRIES + 1;
    const offset = seq - first;
    let bytes: Uint8Array | undefined = new Uint8Array(DATA_HASH_BLOCK_ENTRIES * HASH_BYTES);
    const inflight = this.owner.inflightBlocks.get(table)?.block;
    if (offset > 0 && inflight !== undefined && inflight.block === index) {
      // A commit in flight extended this block: it ends where this batch starts, or the store
      // has no complete block for it either.
      if (inflight.bytes === undefined || inflight.length !== offset) bytes = undefined;
      else bytes.set(inflight.bytes.subarray(0, offset * HASH_BYTES));
    } else if (offset > 0) {
      let committed: Uint8Array | undefined;
      try {
        committed = this.owner.dataHashBlock(table, index);
      } catch {
        committed = undefined;
      }
      if (committed !== undefined && committed.length === offset * HASH_BYTES) {
        bytes.set(committed);
      } else {
        let filled = 0;
        try {
          for (const entry of this.owner.chainEntries(table, first, seq - 1)) {
            if (entry.seq !== first + filled) break;
            bytes.set(entry.dataHash, filled * HASH_BYTES);
            filled += 1;
          }
        } catch {
          // An entry that cannot be read: no block here (the integrity check reports the entry).
        }
        if (filled !== offset) bytes = undefined;
      }
    }
    const full = previous === undefined ? undefined : blockPut(table, previous);
    if (full !== undefined) this.stage(full.key, full.value);
    const block: StagedBlock = { block: index, bytes, length: offset };
    this.blocks.set(table, block);
    return block;
  }

  /** The blocks' puts, for the commit: each table's last block, as far as the batch took it. */
  blockOperations(): WriteOperation[] {
    const operations: WriteOperation[] = [];
    for (const [table, block] of this.blocks) {
      const put = blockPut(table, block);
      if (put !== undefined) operations.push(put);
    }
    return operations;
  }

  putCheckpoint(table: string, size: number, noteText: string): void {
    this.#assertStaging();
    this.stage(encodeCheckpointKey(table, size), encodeCheckpointValue(noteText));
  }

  setMeta(name: string, value: Uint8Array): void {
    this.#assertStaging();
    storeAssert(
      name !== SCHEMA_VERSION_META_NAME && name !== MIGRATION_CLEANUP_META_NAME,
      "WITNZ_STORE_INVALID",
      () => `the meta entry ${name} belongs to the store itself`,
    );
    storeAssert(
      value instanceof Uint8Array,
      "WITNZ_STORE_INVALID",
      () => "a meta value must be a Uint8Array",
    );
    storeAssert(
      value.length <= META_VALUE_BYTES_MAX,
      "WITNZ_STORE_LIMIT",
      () => `a meta value has ${value.length} bytes; the limit is ${META_VALUE_BYTES_MAX}`,
    );
    this.stage(encodeMetaKey(name), value.slice());
  }

  requireMeta(name: string, value: Uint8Array | undefined): void {
    this.#assertStaging();
    storeAssert(
      value === undefined || value instanceof Uint8Array,
      "WITNZ_STORE_INVALID",
      () => "a required meta value must be a Uint8Array or undefined",
    );
    this.requiredMeta.set(name, { key: encodeMetaKey(name), value: value?.slice() });
  }

  chainHead(table: string): ChainHead | undefined {
    const chain = this.chains.get(table) ?? this.#inflightChain(encodeChainHeadKey(table));
    if (chain === undefined) return this.owner.chainHead(table);
    if (chain.size === 0) return undefined;
    return { size: chain.size, chainHash: chain.chainHash.slice() };
  }

  stage(key: Uint8Array, value: Uint8Array): void {
    this.#assertStaging();
    const id = byteString(key);
    if (!this.operations.has(id)) this.#assertRoom(1);
    this.operations.set(id, { type: "put", key, value });
  }

  staged(key: Uint8Array): Uint8Array | undefined {
    return this.operations.get(byteString(key))?.value;
  }

  /** The value of entry `seq` of `table`'s chain if this batch appends it. */
  stagedEntry(table: string, seq: number): Uint8Array | undefined {
    const chain = this.chains.get(table);
    if (chain === undefined) return undefined;
    return chain.stagedEntries[seq - (chain.size - chain.stagedEntries.length) - 1];
  }

  #stagedAlert(id: string): StagedAlert {
    let staged = this.alerts.get(id);
    if (staged === undefined) {
      const key = encodeAlertRecordKey(id);
      const committedValue = this.owner.keyValueStore.get(key);
      if (committedValue === undefined) {
        throw new StoreError("WITNZ_STORE_INVALID", `no alert with id ${JSON.stringify(id)}`);
      }
      const state = decodeAlertRecordValue(committedValue);
      this.#assertRoom(ALERT_OPERATIONS);
      staged = { key, committedValue, committedDueAtMs: state.dueAtMs, state };
      this.alerts.set(id, staged);
    }
    return staged;
  }

  /** The chain (row chain or violation log) of `table` as staged, read from the store once. */
  #stagedChain(chains: Map<string, StagedChain>, table: string, headKey: Uint8Array): StagedChain {
    let chain = chains.get(table);
    if (chain === undefined) {
      // A commit in flight that appends to this chain is built on: its head is the condition.
      const inflight = this.#inflightChain(headKey);
      const committedHeadValue =
        inflight === undefined
          ? this.owner.keyValueStore.get(headKey)
          : encodeChainHeadValue({ size: inflight.size, chainHash: inflight.chainHash });
      const head =
        committedHeadValue === undefined ? undefined : decodeChainHeadValue(committedHeadValue);
      this.#assertRoom(1);
      chain = {
        headKey,
        committedHeadValue,
        size: head?.size ?? 0,
        chainHash: head?.chainHash ?? new Uint8Array(0),
        stagedEntries: [],
      };
      chains.set(table, chain);
    }
    return chain;
  }

  /** The chain as a commit in flight leaves it, if one appends to it. */
  #inflightChain(headKey: Uint8Array): StagedChain | undefined {
    return this.owner.inflightHeads.get(byteString(headKey))?.chain;
  }

  /** Refuses to grow past one write's worth of operations (a chain head counts as one). */
  #assertRoom(operations: number): void {
    storeAssert(
      this.operationCount + operations <= WRITE_OPERATIONS_MAX,
      "WITNZ_STORE_LIMIT",
      () => `a batch holds at most ${WRITE_OPERATIONS_MAX} operations; commit this one first`,
    );
  }

  #assertStaging(): void {
    storeAssert(
      !this.committed,
      "WITNZ_STORE_INVALID",
      () => "this batch was already committed; stage the next writes in a new batch",
    );
  }
}

class KeyValueWitnzStore implements WitnzStore {
  readonly keyValueStore: KeyValueStore;
  /**
   * What commits in flight leave behind, for the batches staged meanwhile to build on: chain and
   * violation heads by head key (byte string), data hash blocks by table. An entry goes when the
   * commit that set it settles; a later commit's replaces it.
   */
  readonly inflightHeads = new Map<
    string,
    { readonly batch: object; readonly chain: StagedChain }
  >();
  readonly inflightBlocks = new Map<
    string,
    { readonly batch: object; readonly block: StagedBlock }
  >();

  constructor(keyValueStore: KeyValueStore) {
    this.keyValueStore = keyValueStore;
  }

  seedEntries(isSeedMeta: (name: string) => boolean): Iterable<[Uint8Array, Uint8Array]> {
    return seedEntries(this.keyValueStore, isSeedMeta);
  }

  isBlank(): boolean {
    return isBlank(this.keyValueStore);
  }

  async importSeed(
    entries: AsyncIterable<readonly (readonly [Uint8Array, Uint8Array])[]>,
    isSeedMeta: (name: string) => boolean,
  ): Promise<number> {
    storeAssert(this.isBlank(), "WITNZ_STORE_INVALID", () => "a seed goes only into a blank store");
    return importSeed(this.keyValueStore, entries, isSeedMeta);
  }

  chainHead(table: string): ChainHead | undefined {
    const value = this.keyValueStore.get(encodeChainHeadKey(table));
    if (value === undefined) return undefined;
    const head = decodeChainHeadValue(value);
    return head.size === 0 ? undefined : head;
  }

  chainEntry(table: string, seq: number): ChainEntry | undefined {
    const value = this.keyValueStore.get(encodeChainEntryKey(table, seq));
    return value === undefined ? undefined : decodeChainEntryValue(seq, value);
  }

  dataHashBlock(table: string, block: number): Uint8Array | undefined {
    const value = this.keyValueStore.get(encodeDataHashBlockKey(table, block));
    if (value === undefined) return undefined;
    if (value.length % HASH_BYTES !== 0 || value.length > DATA_HASH_BLOCK_ENTRIES * HASH_BYTES) {
      throw corruptValue("data hash block", value.length);
    }
    return value;
  }

  chainEntries(table: string, fromSeq: number, toSeq: number): Iterable<ChainEntry> {
    assertSequence(fromSeq, "fromSeq");
    assertCount(toSeq, "toSeq");
    if (toSeq < fromSeq) return [];
    const start = encodeChainEntryKey(table, fromSeq);
    const end =
      toSeq === Number.MAX_SAFE_INTEGER
        ? tableKeyRange(KeyTag.chainEntry, table).end
        : encodeChainEntryKey(table, toSeq + 1);
    const entries = this.keyValueStore.range({ start, end });
    return {
      *[Symbol.iterator]() {
        for (const [key, value] of entries) {
          yield decodeChainEntryValue(decodeChainEntryKey(key).seq, value);
        }
      },
    };
  }

  readChainWindow(table: string, fromSeq: number, toSeq: number, window: ChainEntryWindow): void {
    assertSequence(fromSeq, "fromSeq");
    assertCount(toSeq, "toSeq");
    storeAssert(
      toSeq - fromSeq < window.capacity,
      "WITNZ_STORE_INVALID",
      () => `entries ${fromSeq}..${toSeq} do not fit a window of ${window.capacity}`,
    );
    window.reset(fromSeq);
    // One key, its seq rewritten for each entry: the store copies a key before it returns.
    const key = encodeChainEntryKey(table, fromSeq);
    const seqOffset = key.length - CHAIN_ENTRY_KEY_SEQ_BYTES;
    for (let seq = fromSeq; seq <= toSeq; seq++) {
      writeUint64(key, seqOffset, seq);
      const value = this.keyValueStore.getTransient(key);
      if (value === undefined) {
        // The chain's end, unless a later entry exists: then an entry in between is missing.
        writeUint64(key, seqOffset, seq + 1);
        const later = this.keyValueStore.count({
          start: key,
          end: tableKeyRange(KeyTag.chainEntry, table).end,
        });
        if (later > 0) {
          throw new StoreError("WITNZ_STORE_CORRUPT", `chain entry ${seq} of ${table} is missing`);
        }
        return;
      }
      window.append(value);
    }
  }

  sequenceForPrimaryKey(table: string, primaryKey: Uint8Array): number | undefined {
    const value = this.keyValueStore.get(encodePrimaryKeyIndexKey(table, primaryKey));
    return value === undefined ? undefined : decodeSequenceValue(value);
  }

  primaryKeyIndexSize(table: string): number {
    return this.keyValueStore.count(tableKeyRange(KeyTag.primaryKeyIndex, table));
  }

  checkpoint(table: string, size: number): string | undefined {
    const value = this.keyValueStore.get(encodeCheckpointKey(table, size));
    return value === undefined ? undefined : decodeCheckpointValue(value);
  }

  latestCheckpoint(table: string): StoredCheckpoint | undefined {
    const range = tableKeyRange(KeyTag.checkpoint, table);
    for (const [key, value] of this.keyValueStore.range({ ...range, reverse: true, limit: 1 })) {
      return { size: decodeCheckpointKey(key).size, noteText: decodeCheckpointValue(value) };
    }
    return undefined;
  }

  violationHead(table: string): ChainHead | undefined {
    const value = this.keyValueStore.get(encodeViolationHeadKey(table));
    if (value === undefined) return undefined;
    const head = decodeChainHeadValue(value);
    return head.size === 0 ? undefined : head;
  }

  violations(table: string, fromSeq: number, toSeq: number): Iterable<ViolationEntry> {
    assertSequence(fromSeq, "fromSeq");
    assertCount(toSeq, "toSeq");
    if (toSeq < fromSeq) return [];
    const start = encodeViolationEntryKey(table, fromSeq);
    const end =
      toSeq === Number.MAX_SAFE_INTEGER
        ? tableKeyRange(KeyTag.violationEntry, table).end
        : encodeViolationEntryKey(table, toSeq + 1);
    const entries = this.keyValueStore.range({ start, end });
    return {
      *[Symbol.iterator]() {
        for (const [key, value] of entries) {
          yield decodeViolationEntryValue(decodeViolationEntryKey(key).seq, value);
        }
      },
    };
  }

  alert(id: string): StoredAlert | undefined {
    const value = this.keyValueStore.get(encodeAlertRecordKey(id));
    return value === undefined ? undefined : decodeAlertRecordValue(value);
  }

  pendingAlerts(nowMs: number, limit: number): StoredAlert[] {
    assertCount(nowMs, "nowMs");
    storeAssert(
      Number.isInteger(limit) && limit >= 1 && limit <= PENDING_ALERTS_MAX,
      "WITNZ_STORE_INVALID",
      () => `pendingAlerts returns 1 to ${PENDING_ALERTS_MAX} alerts, asked for ${limit}`,
    );
    const alerts: StoredAlert[] = [];
    for (const [key] of this.keyValueStore.range({ ...alertDueKeyRange(nowMs), limit })) {
      const { id } = decodeAlertDueKey(key);
      const stored = this.alert(id);
      if (stored === undefined) {
        throw new StoreError("WITNZ_STORE_CORRUPT", `the alert due index names a missing alert`);
      }
      alerts.push(stored);
    }
    return alerts;
  }

  nextAlertDueAtMs(): number | undefined {
    const range = alertDueKeyRange(Number.MAX_SAFE_INTEGER);
    for (const [key] of this.keyValueStore.range({ ...range, limit: 1 })) {
      return decodeAlertDueKey(key).dueAtMs;
    }
    return undefined;
  }

  meta(name: string): Uint8Array | undefined {
    return this.keyValueStore.get(encodeMetaKey(name));
  }

  tables(): string[] {
    const tables: string[] = [];
    for (const [key] of this.keyValueStore.range(chainHeadKeyRange())) {
      tables.push(decodeChainHeadKey(key));
    }
    return tables;
  }

  batch(): StoreBatch {
    return new KeyValueStoreBatch(this);
  }

  treeNodes(table: string, batch?: StoreBatch): TreeNodeStorage {
    const staging = batch === undefined ? undefined : this.#ownBatch(batch);
    return treeNodeStorage(table, {
      stored: (key) => staging?.staged(key) ?? this.keyValueStore.get(key),
      dataHashes: (firstSeq, count) => this.#dataHashes(table, firstSeq, count, staging),
      stage: staging === undefined ? undefined : (key, hash) => staging.stage(key, hash),
    });
  }

  /**
   * The data hashes of a run of entries that lies inside one block (staged ones first, then the
   * committed block, then the committed entries), or undefined when an entry is absent.
   */
  #dataHashes(
    table: string,
    firstSeq: number,
    count: number,
    staging: KeyValueStoreBatch | undefined,
  ): Uint8Array[] | undefined {
    const blockIndex = Math.floor((firstSeq - 1) / DATA_HASH_BLOCK_ENTRIES);
    const blockStart = blockIndex * DATA_HASH_BLOCK_ENTRIES + 1;
    storeAssert(
      firstSeq + count <= blockStart + DATA_HASH_BLOCK_ENTRIES,
      "WITNZ_STORE_INVALID",
      () => `entries ${firstSeq}..${firstSeq + count - 1} cross a data hash block`,
    );
    const hashes: Uint8Array[] = [];
    let block: Uint8Array | undefined;
    let blockRead = false;
    for (let seq = firstSeq; seq < firstSeq + count; seq++) {
      const staged = staging?.stagedEntry(table, seq);
      if (staged !== undefined) {
        hashes.push(staged.subarray(0, HASH_BYTES));
        continue;
      }
      if (!blockRead) {
        try {
          block = this.dataHashBlock(table, blockIndex);
        } catch {
          // A corrupt block is read past, as verification does; the integrity check reports it.
          block = undefined;
        }
        blockRead = true;
      }
      const offset = (seq - blockStart) * HASH_BYTES;
      if (block !== undefined && offset + HASH_BYTES <= block.length) {
        hashes.push(block.subarray(offset, offset + HASH_BYTES));
        continue;
      }
      const entry = this.chainEntry(table, seq);
      if (entry === undefined) return undefined;
      hashes.push(entry.dataHash);
    }
    return hashes;
  }

  async commit(batch: StoreBatch, options: WriteOptions = {}): Promise<void> {
    const staging = this.#ownBatch(batch);
    storeAssert(
      !staging.committed,
      "WITNZ_STORE_INVALID",
      () => "this batch was already committed; a batch commits once",
    );
    staging.committed = true;
    const operations: WriteOperation[] = [
      ...staging.operations.values(),
      ...staging.entryPuts,
      ...staging.blockOperations(),
    ];
    const conditions: WriteCondition[] = [];
    for (const chain of [...staging.chains.values(), ...staging.violationChains.values()]) {
      const committedSize =
        chain.committedHeadValue === undefined
          ? 0
          : decodeChainHeadValue(chain.committedHeadValue).size;
      if (chain.size === committedSize) continue;
      conditions.push({ key: chain.headKey, value: chain.committedHeadValue });
      operations.push({
        type: "put",
        key: chain.headKey,
        value: encodeChainHeadValue({ size: chain.size, chainHash: chain.chainHash }),
      });
    }
    for (const condition of staging.requiredMeta.values()) conditions.push(condition);
    for (const staged of staging.alerts.values()) {
      conditions.push({ key: staged.key, value: staged.committedValue });
      operations.push({
        type: "put",
        key: staged.key,
        value: encodeAlertRecordValue(staged.state),
      });
      const { committedDueAtMs } = staged;
      const dueAtMs = staged.state.dueAtMs;
      if (committedDueAtMs === dueAtMs) continue;
      const id = staged.state.alert.id;
      if (committedDueAtMs !== undefined) {
        operations.push({ type: "delete", key: encodeAlertDueKey(committedDueAtMs, id) });
      }
      if (dueAtMs !== undefined) {
        operations.push({ type: "put", key: encodeAlertDueKey(dueAtMs, id), value: EMPTY });
      }
    }
    if (operations.length === 0 && conditions.length === 0) {
      options.onApplied?.();
      return;
    }
    const heads = [...staging.chains.values(), ...staging.violationChains.values()];
    for (const chain of heads) {
      this.inflightHeads.set(byteString(chain.headKey), { batch: staging, chain });
    }
    for (const [table, block] of staging.blocks) {
      this.inflightBlocks.set(table, { batch: staging, block });
    }
    try {
      await this.keyValueStore.write(operations, conditions, options);
    } catch (error) {
      if (isStoreError(error, "WITNZ_STORE_CONFLICT")) {
        const quoted = (names: Iterable<string>) =>
          [...names].map((name) => JSON.stringify(name)).join(", ");
        const reasons: string[] = [];
        if (staging.chains.size > 0) {
          reasons.push(
            `a chain this batch appends to (${quoted(staging.chains.keys())}) moved after the batch read its head`,
          );
        }
        if (staging.violationChains.size > 0) {
          reasons.push(
            `a violation log this batch appends to (${quoted(staging.violationChains.keys())}) moved after the batch read its head`,
          );
        }
        if (staging.alerts.size > 0) {
          reasons.push(
            `an alert this batch writes (${quoted(staging.alerts.keys())}) changed after the batch read it`,
          );
        }
        if (staging.requiredMeta.size > 0) {
          reasons.push(
            `a meta entry this batch requires (${quoted(staging.requiredMeta.keys())}) holds another value`,
          );
        }
        throw new StoreError(
          "WITNZ_STORE_CONFLICT",
          `${reasons.join(", or ")}; nothing was written, stage the batch again`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      for (const chain of heads) {
        const key = byteString(chain.headKey);
        if (this.inflightHeads.get(key)?.batch === staging) this.inflightHeads.delete(key);
      }
      for (const table of staging.blocks.keys()) {
        if (this.inflightBlocks.get(table)?.batch === staging) this.inflightBlocks.delete(table);
      }
    }
  }

  async close(): Promise<void> {
    await this.keyValueStore.close();
  }

  #ownBatch(batch: StoreBatch): KeyValueStoreBatch {
    storeAssert(
      batch instanceof KeyValueStoreBatch && batch.owner === this,
      "WITNZ_STORE_INVALID",
      () => "the batch belongs to another store",
    );
    return batch;
  }
}
