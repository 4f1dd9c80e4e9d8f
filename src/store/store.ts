import { byteString } from "./bytes.js";
import { StoreError, storeAssert } from "./errors.js";
import type { KeyValueStore, WriteCondition, WriteOperation } from "./key-value-store.js";
import {
  assertCount,
  assertSequence,
  chainHeadKeyRange,
  decodeChainEntryKey,
  decodeChainHeadKey,
  decodeCheckpointKey,
  encodeChainEntryKey,
  encodeChainHeadKey,
  encodeCheckpointKey,
  encodeMetaKey,
  encodePrimaryKeyIndexKey,
  encodeTreeNodeKey,
  FIRST_KEY,
  KeyTag,
  PAST_LAST_KEY,
  tableKeyRange,
} from "./keys.js";
import { META_VALUE_BYTES_MAX, WRITE_OPERATIONS_MAX } from "./limits.js";
import { type LmdbKeyValueStoreOptions, openLmdbKeyValueStore } from "./lmdb-key-value-store.js";
import { createMemoryKeyValueStore } from "./memory-key-value-store.js";
import {
  assertChainEntry,
  assertHash,
  type ChainEntry,
  type ChainHead,
  decodeChainEntryValue,
  decodeChainHeadValue,
  decodeCheckpointValue,
  decodeSchemaVersionValue,
  decodeSequenceValue,
  decodeTreeNodeValue,
  encodeChainEntryValue,
  encodeChainHeadValue,
  encodeCheckpointValue,
  encodeSchemaVersionValue,
  encodeSequenceValue,
} from "./values.js";

/**
 * The layout this build reads and writes. Version 1: keys.ts and values.ts as written.
 * A store with any other version is refused; a migration is a new version plus code that
 * rewrites the old layout, never a silent reinterpretation.
 */
export const STORE_SCHEMA_VERSION = 1;
/** The meta entry holding the schema version; no caller may set it. */
export const SCHEMA_VERSION_META_NAME = "schema-version";

/** Storage for a Merkle tree's interior and leaf hashes, addressed by (level, index). */
export interface TreeNodeStorage {
  get(level: number, index: number): Uint8Array | undefined;
  set(level: number, index: number, hash: Uint8Array): void;
}

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
  /** The head as this batch leaves it: committed head plus staged entries. */
  chainHead(table: string): ChainHead | undefined;
  /** Staged operations so far. */
  readonly operationCount: number;
}

export interface WitnzStore {
  /** Undefined for a table with no entries. */
  chainHead(table: string): ChainHead | undefined;
  chainEntry(table: string, seq: number): ChainEntry | undefined;
  /** Entries fromSeq..toSeq, both inclusive, ascending; stops early at the chain's end. */
  chainEntries(table: string, fromSeq: number, toSeq: number): Iterable<ChainEntry>;
  /** The seq of the latest entry appended with this primary key. */
  sequenceForPrimaryKey(table: string, primaryKey: Uint8Array): number | undefined;
  /** The signed note stored for the checkpoint of `table` at `size`. */
  checkpoint(table: string, size: number): string | undefined;
  latestCheckpoint(table: string): StoredCheckpoint | undefined;
  meta(name: string): Uint8Array | undefined;
  /** Tables that have a chain, in key order (by UTF-8 length, then bytes). */
  tables(): string[];
  batch(): StoreBatch;
  /** Tree nodes of `table`; `set` stages into `batch`, `get` sees the batch's nodes first. */
  treeNodes(table: string, batch?: StoreBatch): TreeNodeStorage;
  /** Writes the batch atomically; resolves once it is durable. A batch commits once. */
  commit(batch: StoreBatch): Promise<void>;
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
  if (version !== STORE_SCHEMA_VERSION) {
    const found =
      version === undefined
        ? `an unreadable schema version (${stored.length} bytes)`
        : `schema version ${version}`;
    throw new StoreError(
      "WITNZ_STORE_SCHEMA",
      `the store in ${keyValueStore.location} has ${found}; this build reads schema version ${STORE_SCHEMA_VERSION} only`,
    );
  }
}

/** A chain as a batch sees it: where it started (for the commit's condition) and where it is. */
interface StagedChain {
  readonly headKey: Uint8Array;
  readonly committedHeadValue: Uint8Array | undefined;
  size: number;
  chainHash: Uint8Array;
}

class KeyValueStoreBatch implements StoreBatch {
  readonly owner: KeyValueWitnzStore;
  /** Staged puts by key; a later put of the same key replaces the earlier one. */
  readonly operations = new Map<string, WriteOperation & { type: "put" }>();
  readonly chains = new Map<string, StagedChain>();
  committed = false;

  constructor(owner: KeyValueWitnzStore) {
    this.owner = owner;
  }

  get operationCount(): number {
    return this.operations.size + this.chains.size;
  }

  appendChainEntry(table: string, entry: ChainEntry): void {
    this.#assertStaging();
    assertChainEntry(entry);
    const chain = this.#stagedChain(table);
    if (entry.seq !== chain.size + 1) {
      throw new StoreError(
        "WITNZ_STORE_SEQUENCE",
        `table ${JSON.stringify(table)}: the next chain entry is seq ${chain.size + 1}, got seq ${entry.seq}`,
      );
    }
    // Everything that can fail happens before the batch changes, so a refused entry leaves
    // the batch as it was.
    const entryKey = encodeChainEntryKey(table, entry.seq);
    const entryValue = encodeChainEntryValue(entry);
    const indexed = entry.primaryKey.length > 0;
    const indexKey = indexed ? encodePrimaryKeyIndexKey(table, entry.primaryKey) : undefined;
    this.#assertRoom(indexed ? 2 : 1);
    this.stage(entryKey, entryValue);
    if (indexKey !== undefined) this.stage(indexKey, encodeSequenceValue(entry.seq));
    chain.size = entry.seq;
    chain.chainHash = entry.chainHash.slice();
  }

  putCheckpoint(table: string, size: number, noteText: string): void {
    this.#assertStaging();
    this.stage(encodeCheckpointKey(table, size), encodeCheckpointValue(noteText));
  }

  setMeta(name: string, value: Uint8Array): void {
    this.#assertStaging();
    storeAssert(
      name !== SCHEMA_VERSION_META_NAME,
      "WITNZ_STORE_INVALID",
      () => `the meta entry ${SCHEMA_VERSION_META_NAME} belongs to the store itself`,
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

  chainHead(table: string): ChainHead | undefined {
    const chain = this.chains.get(table);
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

  #stagedChain(table: string): StagedChain {
    let chain = this.chains.get(table);
    if (chain === undefined) {
      const headKey = encodeChainHeadKey(table);
      const committedHeadValue = this.owner.keyValueStore.get(headKey);
      const head =
        committedHeadValue === undefined ? undefined : decodeChainHeadValue(committedHeadValue);
      this.#assertRoom(1);
      chain = {
        headKey,
        committedHeadValue,
        size: head?.size ?? 0,
        chainHash: head?.chainHash ?? new Uint8Array(0),
      };
      this.chains.set(table, chain);
    }
    return chain;
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

  constructor(keyValueStore: KeyValueStore) {
    this.keyValueStore = keyValueStore;
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

  sequenceForPrimaryKey(table: string, primaryKey: Uint8Array): number | undefined {
    const value = this.keyValueStore.get(encodePrimaryKeyIndexKey(table, primaryKey));
    return value === undefined ? undefined : decodeSequenceValue(value);
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
    const keyValueStore = this.keyValueStore;
    return {
      get(level: number, index: number): Uint8Array | undefined {
        const key = encodeTreeNodeKey(table, level, index);
        const staged = staging?.staged(key);
        if (staged !== undefined) return staged.slice();
        const value = keyValueStore.get(key);
        return value === undefined ? undefined : decodeTreeNodeValue(value);
      },
      set(level: number, index: number, hash: Uint8Array): void {
        const key = encodeTreeNodeKey(table, level, index);
        assertHash(hash, "a tree node hash");
        if (staging === undefined) {
          throw new StoreError(
            "WITNZ_STORE_INVALID",
            "tree nodes were opened without a batch, so they are read-only",
          );
        }
        staging.stage(key, hash.slice());
      },
    };
  }

  async commit(batch: StoreBatch): Promise<void> {
    const staging = this.#ownBatch(batch);
    storeAssert(
      !staging.committed,
      "WITNZ_STORE_INVALID",
      () => "this batch was already committed; a batch commits once",
    );
    staging.committed = true;
    const operations: WriteOperation[] = [...staging.operations.values()];
    const conditions: WriteCondition[] = [];
    for (const chain of staging.chains.values()) {
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
    if (operations.length === 0) return;
    try {
      await this.keyValueStore.write(operations, conditions);
    } catch (error) {
      if (error instanceof StoreError && error.code === "WITNZ_STORE_CONFLICT") {
        const tables = [...staging.chains.keys()].map((table) => JSON.stringify(table)).join(", ");
        throw new StoreError(
          "WITNZ_STORE_CONFLICT",
          `a chain this batch appends to (${tables}) moved after the batch read its head; nothing was written, stage the batch again`,
          { cause: error },
        );
      }
      throw error;
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
