// A node's log as the core sees it: the durable part read from storage, followed by an
// unstable tail (and possibly a snapshot) that a Ready has handed to the runner, or will hand,
// but whose persistence advance() has not yet confirmed.
import { assert } from "./errors.js";
import type { RaftStorage } from "./storage.js";
import { entryBytes } from "./storage.js";
import type { Entry, LogIndex, Snapshot, Term } from "./types.js";

export class RaftLog {
  /** Highest index known to be committed (stored on a quorum). */
  committed: LogIndex;
  /** Highest index whose entry (or snapshot) the application has applied. */
  applied: LogIndex;
  /** A snapshot received from a leader, not yet persisted. */
  private unstableSnapshot: Snapshot | undefined;
  /** Entries not yet persisted; entry i is at `unstableEntries[i - unstableOffset]`. */
  private unstableEntries: Entry[] = [];
  private unstableOffset: LogIndex;

  constructor(
    readonly storage: RaftStorage,
    committed: LogIndex,
    applied: LogIndex,
  ) {
    this.unstableOffset = (storage.lastIndex() + 1) as LogIndex;
    this.committed = committed;
    this.applied = applied;
    assert(
      committed <= storage.lastIndex(),
      `commit ${committed} past last ${storage.lastIndex()}`,
    );
    assert(applied <= committed, `applied ${applied} past commit ${committed}`);
  }

  firstIndex(): LogIndex {
    if (this.unstableSnapshot !== undefined) {
      return (this.unstableSnapshot.metadata.index + 1) as LogIndex;
    }
    return this.storage.firstIndex();
  }

  lastIndex(): LogIndex {
    if (this.unstableEntries.length > 0) {
      return (this.unstableOffset + this.unstableEntries.length - 1) as LogIndex;
    }
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.metadata.index;
    return (this.unstableOffset - 1) as LogIndex;
  }

  /** The last index that is durable: entries a leader may count as its own acknowledgement. */
  stableLastIndex(): LogIndex {
    if (this.unstableSnapshot !== undefined) return this.storage.lastIndex();
    return (this.unstableOffset - 1) as LogIndex;
  }

  /** Term of entry `index` for index in [firstIndex - 1, lastIndex], else undefined. */
  term(index: LogIndex): Term | undefined {
    if (index > this.lastIndex()) return undefined;
    if (index >= this.unstableOffset)
      return this.unstableEntries[index - this.unstableOffset]!.term;
    const snapshot = this.unstableSnapshot;
    if (snapshot !== undefined) {
      return index === snapshot.metadata.index ? snapshot.metadata.term : undefined;
    }
    if (index < this.storage.firstIndex() - 1) return undefined;
    return this.storage.term(index);
  }

  lastTerm(): Term {
    const term = this.term(this.lastIndex());
    assert(term !== undefined, `no term for last index ${this.lastIndex()}`);
    return term;
  }

  matchTerm(index: LogIndex, term: Term): boolean {
    return this.term(index) === term;
  }

  /** Paper 5.4.1: a log is at least as up to date if its last term is higher, or equal and it is at least as long. */
  isUpToDate(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ownTerm = this.lastTerm();
    return lastTerm > ownTerm || (lastTerm === ownTerm && lastIndex >= this.lastIndex());
  }

  /** Whether a log ending at (lastIndex, lastTerm) is more up to date than this one. */
  isStrictlyBehind(lastIndex: LogIndex, lastTerm: Term): boolean {
    const ownTerm = this.lastTerm();
    return lastTerm > ownTerm || (lastTerm === ownTerm && lastIndex > this.lastIndex());
  }

  /** Entries in [low, high), at least one, then up to `bytesMax` bytes in all. */
  slice(low: LogIndex, high: LogIndex, bytesMax: number): Entry[] {
    assert(low >= this.firstIndex(), `slice from ${low} below first ${this.firstIndex()}`);
    assert(high <= this.lastIndex() + 1, `slice to ${high} past last ${this.lastIndex()}`);
    if (low >= high) return [];
    const result: Entry[] = [];
    let bytes = 0;
    if (low < this.unstableOffset) {
      const stableHigh = Math.min(high, this.unstableOffset) as LogIndex;
      const stable = this.storage.entries(low, stableHigh, bytesMax);
      for (const entry of stable) {
        bytes += entryBytes(entry);
        result.push(entry);
      }
      if (stable.length < stableHigh - low) return result;
    }
    const start = Math.max(low, this.unstableOffset);
    for (let index = start; index < high; index++) {
      const entry = this.unstableEntries[index - this.unstableOffset]!;
      bytes += entryBytes(entry);
      if (result.length > 0 && bytes > bytesMax) break;
      result.push(entry);
    }
    return result;
  }

  /**
   * The largest index at or below `index` whose term is at most `term`, with that term (0 if
   * the search reaches compacted entries). Used both to build and to use rejection hints.
   */
  findConflictByTerm(index: LogIndex, term: Term): { index: LogIndex; term: Term } {
    let candidate = Math.min(index, this.lastIndex()) as LogIndex;
    for (;;) {
      const found = this.term(candidate);
      if (found === undefined) return { index: candidate, term: 0 as Term };
      if (found <= term) return { index: candidate, term: found };
      candidate = (candidate - 1) as LogIndex;
    }
  }

  /**
   * A follower's side of AppendEntries: if the log has `prevTerm` at `prevIndex`, make it
   * hold `entries` after it (dropping a conflicting suffix) and return the index of the last
   * new entry, the entries actually added, and where it truncated; otherwise undefined.
   */
  maybeAppend(
    prevIndex: LogIndex,
    prevTerm: Term,
    entries: readonly Entry[],
  ):
    | { lastNewIndex: LogIndex; appended: readonly Entry[]; truncatedAfter: LogIndex | undefined }
    | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = (prevIndex + entries.length) as LogIndex;
    let conflict = -1;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (!this.matchTerm(entry.index, entry.term)) {
        conflict = i;
        break;
      }
    }
    if (conflict === -1) return { lastNewIndex, appended: [], truncatedAfter: undefined };
    const first = entries[conflict]!;
    assert(
      first.index > this.committed,
      `conflict at committed entry ${first.index} (committed ${this.committed})`,
    );
    const truncatedAfter = (first.index - 1) as LogIndex;
    const truncates = first.index <= this.lastIndex();
    const appended = entries.slice(conflict);
    this.append(appended);
    return { lastNewIndex, appended, truncatedAfter: truncates ? truncatedAfter : undefined };
  }

  /** Appends entries, dropping any existing entries at or after the first new index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.committed, `append at ${first} would overwrite commit ${this.committed}`);
    assert(
      first <= this.lastIndex() + 1,
      `append at ${first} leaves a gap after ${this.lastIndex()}`,
    );
    if (first === this.unstableOffset + this.unstableEntries.length) {
      this.unstableEntries.push(...entries);
    } else if (first <= this.unstableOffset) {
      // The new entries replace everything from `first` on, durable or not; the runner will
      // overwrite the durable ones when it persists this tail.
      this.unstableOffset = first;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, first - this.unstableOffset);
      this.unstableEntries.push(...entries);
    }
  }

  commitTo(index: LogIndex): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} past last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Replaces the log with a snapshot from the leader (which is committed by construction). */
  restore(snapshot: Snapshot): void {
    this.unstableSnapshot = snapshot;
    this.unstableEntries = [];
    this.unstableOffset = (snapshot.metadata.index + 1) as LogIndex;
    this.committed = snapshot.metadata.index;
  }

  /** What the next Ready must persist. */
  unstable(): { entries: readonly Entry[]; snapshot: Snapshot | undefined } {
    return { entries: this.unstableEntries, snapshot: this.unstableSnapshot };
  }

  hasUnstable(): boolean {
    return this.unstableEntries.length > 0 || this.unstableSnapshot !== undefined;
  }

  /**
   * The runner persisted entries through (index, term). If the tail has since been replaced
   * (a new leader truncated it), the term no longer matches and nothing becomes stable yet.
   */
  stableTo(index: LogIndex, term: Term): void {
    if (this.unstableSnapshot !== undefined) return;
    if (index < this.unstableOffset) return;
    if (this.term(index) !== term) return;
    this.unstableEntries = this.unstableEntries.slice(index + 1 - this.unstableOffset);
    this.unstableOffset = (index + 1) as LogIndex;
  }

  stableSnapshotTo(index: LogIndex): void {
    if (this.unstableSnapshot?.metadata.index === index) this.unstableSnapshot = undefined;
  }

  /** Committed entries that are durable here and not yet applied, up to `bytesMax`. */
  nextCommittedEntries(bytesMax: number): Entry[] {
    if (this.unstableSnapshot !== undefined) return [];
    const high = Math.min(this.committed, this.stableLastIndex());
    if (this.applied >= high) return [];
    return this.slice((this.applied + 1) as LogIndex, (high + 1) as LogIndex, bytesMax);
  }

  hasNextCommittedEntries(): boolean {
    if (this.unstableSnapshot !== undefined) return false;
    return Math.min(this.committed, this.stableLastIndex()) > this.applied;
  }

  appliedTo(index: LogIndex): void {
    assert(index <= this.committed, `applied ${index} past commit ${this.committed}`);
    if (index > this.applied) this.applied = index;
  }
}
