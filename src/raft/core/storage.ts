// The core reads its durable log through this interface and never writes it: the runner
// writes what a Ready hands it, then calls advance(). MemoryStorage is the reference
// implementation, used by tests, the simulator's durable store and as a cache by runners.
import { assert, assertContract } from "./errors.js";
import type { ConfState, Entry, HardState, LogIndex, Snapshot, Term } from "./types.js";
import { LOG_INDEX_ZERO, TERM_ZERO } from "./types.js";

export interface InitialState {
  readonly hardState: HardState;
  /** Membership as of the snapshot; conf change entries after it are replayed from the log. */
  readonly confState: ConfState;
}

export interface RaftStorage {
  initialState(): InitialState;
  /**
   * Entries in [low, high), at least one if the range is not empty, then as many more as fit
   * in `bytesMax` of data. Callers only ask for ranges inside [firstIndex, lastIndex + 1).
   */
  entries(low: LogIndex, high: LogIndex, bytesMax: number): Entry[];
  /** The term of entry `index`, for index in [firstIndex - 1, lastIndex]; otherwise undefined. */
  term(index: LogIndex): Term | undefined;
  /** The first index still in the log: the snapshot's index + 1. */
  firstIndex(): LogIndex;
  lastIndex(): LogIndex;
  /** The latest snapshot; its index is at least firstIndex - 1 (it covers every dropped entry). */
  snapshot(): Snapshot;
}

/** The bytes an entry adds to a message: its data plus a fixed allowance for the header. */
export function entryBytes(entry: Entry): number {
  return entry.data.length + ENTRY_HEADER_BYTES;
}

const ENTRY_HEADER_BYTES = 24;

/**
 * Entries and hard state in memory. `entries[0]` stands for the snapshot's last entry (its
 * index and term), so entry i lives at `entries[i - snapshotIndex]`.
 */
export class MemoryStorage implements RaftStorage {
  private hard: HardState = { term: TERM_ZERO, vote: null, commit: LOG_INDEX_ZERO };
  private latestSnapshot: Snapshot;
  private log: Entry[];

  /**
   * A fresh node: an empty log and no members. A founding node then writes `bootstrapEntries`;
   * a joining node stays empty and learns the log (and membership) from the leader.
   */
  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.latestSnapshot = {
      metadata: { index: LOG_INDEX_ZERO, term: TERM_ZERO, confState },
      data: new Uint8Array(0),
    };
    this.log = [this.sentinel()];
  }

  private sentinel(): Entry {
    const { index, term } = this.latestSnapshot.metadata;
    return { index, term, type: "noop", data: new Uint8Array(0) };
  }

  private offset(): number {
    return this.log[0]!.index;
  }

  initialState(): InitialState {
    return { hardState: this.hard, confState: this.latestSnapshot.metadata.confState };
  }

  hardState(): HardState {
    return this.hard;
  }

  setHardState(state: HardState): void {
    this.hard = state;
  }

  entries(low: LogIndex, high: LogIndex, bytesMax: number): Entry[] {
    assertContract(
      low >= this.firstIndex(),
      `entries from ${low} below first ${this.firstIndex()}`,
    );
    assertContract(
      high <= this.lastIndex() + 1,
      `entries to ${high} past last ${this.lastIndex()}`,
    );
    const result: Entry[] = [];
    let bytes = 0;
    for (let index = low; index < high; index++) {
      const entry = this.log[index - this.offset()]!;
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  term(index: LogIndex): Term | undefined {
    const position = index - this.offset();
    if (position < 0 || position >= this.log.length) return undefined;
    return this.log[position]!.term;
  }

  firstIndex(): LogIndex {
    return (this.offset() + 1) as LogIndex;
  }

  lastIndex(): LogIndex {
    return (this.offset() + this.log.length - 1) as LogIndex;
  }

  snapshot(): Snapshot {
    return this.latestSnapshot;
  }

  /**
   * Appends entries, first dropping any existing entries at or after the first new index (a
   * leader overwrote them). Entries already compacted away are skipped.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assertContract(
      first <= this.lastIndex() + 1,
      `append at ${first} leaves a gap after ${this.lastIndex()}`,
    );
    for (let i = 1; i < entries.length; i++) {
      assertContract(entries[i]!.index === first + i, "appended entries are not contiguous");
    }
    const skip = Math.max(0, this.firstIndex() - first);
    if (skip >= entries.length) return;
    const start = first + skip;
    this.log.length = start - this.offset();
    for (let i = skip; i < entries.length; i++) this.log.push(entries[i]!);
  }

  /** Replaces the whole log with a snapshot received from a leader. */
  applySnapshot(snapshot: Snapshot): void {
    assertContract(
      snapshot.metadata.index >= this.latestSnapshot.metadata.index,
      `snapshot at ${snapshot.metadata.index} is older than ${this.latestSnapshot.metadata.index}`,
    );
    this.latestSnapshot = snapshot;
    this.log = [this.sentinel()];
  }

  /**
   * Records a snapshot the application cut at `index` (which it has applied) without dropping
   * entries; `compact` drops them.
   */
  createSnapshot(index: LogIndex, confState: ConfState, data: Uint8Array): Snapshot {
    assertContract(index > this.latestSnapshot.metadata.index, `snapshot at ${index} is not newer`);
    assertContract(index <= this.lastIndex(), `snapshot at ${index} past last ${this.lastIndex()}`);
    const term = this.term(index);
    assert(term !== undefined, `no term for snapshot index ${index}`);
    this.latestSnapshot = { metadata: { index, term, confState }, data };
    return this.latestSnapshot;
  }

  /**
   * Drops entries up to and including `index`, which must be covered by the latest snapshot.
   * Afterwards firstIndex is index + 1 and a follower behind it needs the snapshot.
   */
  compact(index: LogIndex): void {
    if (index < this.firstIndex()) return;
    assertContract(
      index <= this.latestSnapshot.metadata.index,
      `compaction to ${index} past the snapshot at ${this.latestSnapshot.metadata.index}`,
    );
    this.log = this.log.slice(index - this.offset());
    const head = this.log[0]!;
    this.log[0] = { index: head.index, term: head.term, type: "noop", data: new Uint8Array(0) };
  }
}
