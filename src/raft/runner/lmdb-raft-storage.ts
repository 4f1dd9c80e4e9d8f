// The durable Raft log: entries, hard state and the latest snapshot in the Witnz LMDB store.
// The core reads it through RaftStorage; the runner writes each Ready with one atomic, flushed
// `persist` before any of that Ready's messages leave. See docs/design/raft-runner.md.
import {
  type KeyValueStore,
  openLmdbKeyValueStore,
  VALUE_BYTES_MAX,
  WRITE_OPERATIONS_MAX,
  type WriteOperation,
} from "../../store/index.js";
import type {
  ConfState,
  Entry,
  HardState,
  LogIndex,
  Snapshot,
  SnapshotMetadata,
  Term,
} from "../index.js";
import { entryBytes, type InitialState, LOG_INDEX_ZERO, RaftError, TERM_ZERO } from "../index.js";
import {
  decodeEntryValue,
  decodeHardState,
  decodeIdentity,
  decodeLogOffset,
  decodeSnapshotMetadata,
  encodeEntryValue,
  encodeHardState,
  encodeIdentity,
  encodeLogOffset,
  encodeSnapshotMetadata,
  type LogOffset,
  type StoredIdentity,
  type StoredSnapshotMetadata,
} from "./codec.js";
import { RaftRunnerError } from "./errors.js";

import { decodeLogEntryKey, logEntryKey, stableStateKey } from "./keys.js";

/** Stable state names (tag 0x0b). */
const HARD_STATE_NAME = "hard-state";
const LOG_OFFSET_NAME = "log-offset";
const SNAPSHOT_METADATA_NAME = "snapshot-metadata";
const SNAPSHOT_CHUNK_NAME_PREFIX = "snapshot-chunk-";
const IDENTITY_NAME = "identity";

/** Snapshot data is stored in chunks of at most this size (the store's value limit). */
export const SNAPSHOT_CHUNK_BYTES = VALUE_BYTES_MAX;
/** The largest snapshot a node stores or installs; half the store's largest atomic write. */
export const SNAPSHOT_BYTES_MAX = 32 * 1024 * 1024;

/** What one Ready asks to make durable. */
export interface PersistRequest {
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
}

/**
 * A RaftStorage the runner can write. Implemented over LMDB here and over MemoryStorage in the
 * shared contract tests; every write is atomic and resolves once durable.
 */
export interface DurableRaftStorage {
  initialState(): InitialState;
  entries(low: LogIndex, high: LogIndex, bytesMax: number): Entry[];
  term(index: LogIndex): Term | undefined;
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  snapshot(): Snapshot;
  hardState(): HardState;
  /** One Ready's hard state, snapshot and entries: all durable, or none. */
  persist(request: PersistRequest): Promise<void>;
  /** Records a snapshot of the applied state at `index` (entries stay until `compact`). */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<Snapshot>;
  /** Drops entries up to and including `index`, which the latest snapshot covers. */
  compact(index: LogIndex): Promise<void>;
}

export class LmdbRaftStorage implements DurableRaftStorage {
  private hard: HardState;
  private offset: LogOffset;
  private last: LogIndex;
  private snapshotMetadata: StoredSnapshotMetadata;
  private snapshotData: Uint8Array | null = null;
  private storedIdentity: StoredIdentity | undefined;

  private constructor(private readonly store: KeyValueStore) {
    const hardValue = store.get(stableStateKey(HARD_STATE_NAME));
    this.hard =
      hardValue === undefined
        ? { term: TERM_ZERO, vote: null, commit: LOG_INDEX_ZERO }
        : decodeHardState(hardValue);
    const offsetValue = store.get(stableStateKey(LOG_OFFSET_NAME));
    this.offset =
      offsetValue === undefined
        ? { index: LOG_INDEX_ZERO, term: TERM_ZERO }
        : decodeLogOffset(offsetValue);
    const metadataValue = store.get(stableStateKey(SNAPSHOT_METADATA_NAME));
    this.snapshotMetadata =
      metadataValue === undefined
        ? {
            index: LOG_INDEX_ZERO,
            term: TERM_ZERO,
            confState: { voters: [], learners: [] },
            dataBytes: 0,
            chunks: 0,
          }
        : decodeSnapshotMetadata(metadataValue);
    const identityValue = store.get(stableStateKey(IDENTITY_NAME));
    this.storedIdentity = identityValue === undefined ? undefined : decodeIdentity(identityValue);
    const [lastEntry] = store.range({
      start: logEntryKey(0),
      end: logEntryKey(Number.MAX_SAFE_INTEGER),
      reverse: true,
      limit: 1,
    });
    this.last = (
      lastEntry === undefined
        ? this.offset.index
        : Math.max(this.offset.index, decodeLogEntryKey(lastEntry[0]))
    ) as LogIndex;
    if (this.snapshotMetadata.index < this.offset.index) {
      throw new RaftRunnerError(
        "WITNZ_RAFT_CORRUPT",
        `the log was compacted to ${this.offset.index} past its snapshot at ${this.snapshotMetadata.index}`,
      );
    }
  }

  /** Opens (creating) the store in `directory`; the caller closes it with `close()`. */
  static open(directory: string): LmdbRaftStorage {
    return new LmdbRaftStorage(openLmdbKeyValueStore(directory));
  }

  /** Uses an open store; `close()` then closes it. */
  static onStore(store: KeyValueStore): LmdbRaftStorage {
    return new LmdbRaftStorage(store);
  }

  /** The node id and cluster id written when this store was first initialized. */
  identity(): StoredIdentity | undefined {
    return this.storedIdentity;
  }

  /** True when the store has never held Raft state (no identity, no log, no hard state). */
  isEmpty(): boolean {
    return this.storedIdentity === undefined && this.last === 0 && this.hard.term === 0;
  }

  /**
   * Writes the identity and, for the bootstrapping node, the founding entries and hard state,
   * in one atomic write.
   */
  async initialize(
    identity: StoredIdentity,
    bootstrap?: { readonly entries: readonly Entry[]; readonly hardState: HardState },
  ): Promise<void> {
    assertContract(this.storedIdentity === undefined, "the Raft store is already initialized");
    const operations: WriteOperation[] = [
      { type: "put", key: stableStateKey(IDENTITY_NAME), value: encodeIdentity(identity) },
    ];
    if (bootstrap !== undefined) {
      assertContract(this.last === 0, "bootstrap of a store that holds a log");
      for (const entry of bootstrap.entries) {
        operations.push({
          type: "put",
          key: logEntryKey(entry.index),
          value: encodeEntryValue(entry),
        });
      }
      operations.push({
        type: "put",
        key: stableStateKey(HARD_STATE_NAME),
        value: encodeHardState(bootstrap.hardState),
      });
    }
    await this.store.write(operations);
    this.storedIdentity = identity;
    if (bootstrap !== undefined) {
      this.last = (bootstrap.entries.at(-1)?.index ?? 0) as LogIndex;
      this.hard = bootstrap.hardState;
    }
  }

  initialState(): InitialState {
    return { hardState: this.hard, confState: this.snapshotMetadata.confState };
  }

  hardState(): HardState {
    return this.hard;
  }

  entries(low: LogIndex, high: LogIndex, bytesMax: number): Entry[] {
    assertContract(
      low >= this.firstIndex(),
      `entries from ${low} below first ${this.firstIndex()}`,
    );
    assertContract(high <= this.last + 1, `entries to ${high} past last ${this.last}`);
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = low; index < high; index++) {
      const entry = this.readEntry(index as LogIndex);
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  term(index: LogIndex): Term | undefined {
    if (index === this.offset.index) return this.offset.term;
    if (index < this.offset.index || index > this.last) return undefined;
    return this.readEntry(index).term;
  }

  firstIndex(): LogIndex {
    return (this.offset.index + 1) as LogIndex;
  }

  lastIndex(): LogIndex {
    return this.last;
  }

  snapshot(): Snapshot {
    const { index, term, confState } = this.snapshotMetadata;
    const metadata: SnapshotMetadata = { index, term, confState };
    if (this.snapshotData === null) this.snapshotData = this.readSnapshotData();
    return { metadata, data: this.snapshotData };
  }

  async persist(request: PersistRequest): Promise<void> {
    const operations: WriteOperation[] = [];
    let offset = this.offset;
    let last = this.last;
    let snapshotMetadata = this.snapshotMetadata;
    if (request.hardState !== undefined) {
      operations.push({
        type: "put",
        key: stableStateKey(HARD_STATE_NAME),
        value: encodeHardState(request.hardState),
      });
    }
    if (request.snapshot !== undefined) {
      const { metadata, data } = request.snapshot;
      assertContract(
        metadata.index >= this.snapshotMetadata.index,
        `snapshot at ${metadata.index} is older than ${this.snapshotMetadata.index}`,
      );
      snapshotMetadata = this.snapshotOperations(operations, metadata, data);
      for (let index = this.offset.index + 1; index <= this.last; index++) {
        operations.push({ type: "delete", key: logEntryKey(index) });
      }
      offset = { index: metadata.index, term: metadata.term };
      last = metadata.index;
      operations.push({
        type: "put",
        key: stableStateKey(LOG_OFFSET_NAME),
        value: encodeLogOffset(offset),
      });
    }
    const entries = request.entries.filter((entry) => entry.index > offset.index);
    if (entries.length > 0) {
      const first = entries[0]!.index;
      assertContract(first <= last + 1, `append at ${first} leaves a gap after ${last}`);
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        assertContract(entry.index === first + i, "appended entries are not contiguous");
        operations.push({
          type: "put",
          key: logEntryKey(entry.index),
          value: encodeEntryValue(entry),
        });
      }
      const newLast = entries.at(-1)!.index;
      // A leader overwrote the log from `first`: entries past the new end are gone too.
      for (let index = newLast + 1; index <= last; index++) {
        operations.push({ type: "delete", key: logEntryKey(index) });
      }
      last = newLast;
    }
    if (operations.length === 0) return;
    this.checkOperations(operations);
    await this.store.write(operations);
    if (request.hardState !== undefined) this.hard = request.hardState;
    if (request.snapshot !== undefined) this.snapshotData = request.snapshot.data;
    this.offset = offset;
    this.last = last;
    this.snapshotMetadata = snapshotMetadata;
  }

  async createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    assertContract(index > this.snapshotMetadata.index, `snapshot at ${index} is not newer`);
    assertContract(index <= this.last, `snapshot at ${index} past last ${this.last}`);
    const term = this.term(index);
    assertContract(term !== undefined, `no term for snapshot index ${index}`);
    const operations: WriteOperation[] = [];
    const metadata: SnapshotMetadata = { index, term, confState };
    const stored = this.snapshotOperations(operations, metadata, data);
    this.checkOperations(operations);
    await this.store.write(operations);
    this.snapshotMetadata = stored;
    this.snapshotData = data;
    return { metadata, data };
  }

  async compact(index: LogIndex): Promise<void> {
    if (index < this.firstIndex()) return;
    assertContract(
      index <= this.snapshotMetadata.index,
      `compaction to ${index} past the snapshot at ${this.snapshotMetadata.index}`,
    );
    const term = this.term(index);
    assertContract(term !== undefined, `no term for compaction index ${index}`);
    const offset: LogOffset = { index, term };
    const operations: WriteOperation[] = [
      { type: "put", key: stableStateKey(LOG_OFFSET_NAME), value: encodeLogOffset(offset) },
    ];
    for (let dropped = this.offset.index + 1; dropped <= index; dropped++) {
      operations.push({ type: "delete", key: logEntryKey(dropped) });
    }
    this.checkOperations(operations);
    await this.store.write(operations);
    this.offset = offset;
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private snapshotOperations(
    operations: WriteOperation[],
    metadata: SnapshotMetadata,
    data: Uint8Array,
  ): StoredSnapshotMetadata {
    if (data.length > SNAPSHOT_BYTES_MAX) {
      throw new RaftRunnerError(
        "WITNZ_RAFT_RUNNER_CONFIG",
        `a snapshot has ${data.length} bytes; the limit is ${SNAPSHOT_BYTES_MAX}`,
      );
    }
    const chunks = Math.ceil(data.length / SNAPSHOT_CHUNK_BYTES);
    for (let chunk = 0; chunk < chunks; chunk++) {
      operations.push({
        type: "put",
        key: stableStateKey(chunkName(chunk)),
        value: data.slice(chunk * SNAPSHOT_CHUNK_BYTES, (chunk + 1) * SNAPSHOT_CHUNK_BYTES),
      });
    }
    for (let chunk = chunks; chunk < this.snapshotMetadata.chunks; chunk++) {
      operations.push({ type: "delete", key: stableStateKey(chunkName(chunk)) });
    }
    const stored: StoredSnapshotMetadata = { ...metadata, dataBytes: data.length, chunks };
    operations.push({
      type: "put",
      key: stableStateKey(SNAPSHOT_METADATA_NAME),
      value: encodeSnapshotMetadata(stored),
    });
    return stored;
  }

  private readSnapshotData(): Uint8Array {
    const { dataBytes, chunks } = this.snapshotMetadata;
    const data = new Uint8Array(dataBytes);
    let position = 0;
    for (let chunk = 0; chunk < chunks; chunk++) {
      const value = this.store.get(stableStateKey(chunkName(chunk)));
      if (value === undefined || position + value.length > dataBytes) {
        throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", `snapshot chunk ${chunk} is missing`);
      }
      data.set(value, position);
      position += value.length;
    }
    if (position !== dataBytes) {
      throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", "the snapshot data is shorter than stored");
    }
    return data;
  }

  private readEntry(index: LogIndex): Entry {
    const value = this.store.get(logEntryKey(index));
    if (value === undefined) {
      throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", `the log entry at ${index} is missing`);
    }
    return decodeEntryValue(index, value);
  }

  private checkOperations(operations: readonly WriteOperation[]): void {
    // The store refuses larger writes too; this names the Raft cause of it.
    assertContract(
      operations.length <= WRITE_OPERATIONS_MAX,
      `one Raft write needs ${operations.length} operations; the store's limit is ${WRITE_OPERATIONS_MAX}`,
    );
  }
}

function chunkName(chunk: number): string {
  return `${SNAPSHOT_CHUNK_NAME_PREFIX}${chunk}`;
}

/** The caller broke the storage contract: a programmer error, as in the core. */
function assertContract(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftError("WITNZ_RAFT_CONTRACT", message);
}
