// Reads a chain's entries 1..size in order, for a scan whose rows mostly come back in insert
// order: the next row is compared with the next entry, with no index lookup. First against the
// table's data hash block (1024 entries' data hashes in one read): a row whose data hash is the
// next entry's is that entry, its key included, since the hash covers every column. Otherwise,
// or where the store has no block, against a window of entries (data hash and primary key), read
// into buffers reused for every window, so the scan allocates nothing per entry.

import {
  ChainEntryWindow,
  DATA_HASH_BLOCK_ENTRIES,
  HASH_BYTES,
  type WitnzStore,
} from "../store/index.js";
import type { PrimaryKeyWriter } from "./primary-key-writer.js";
import { digestEqualsAt } from "./row-hasher.js";

/** Entries per store read: bounds the window's memory and how long one read snapshot stays open. */
export const CHAIN_WINDOW_ENTRIES = 4096;

export class ChainCursor {
  /** The seq of the entry expected next; past `size` the cursor is done. */
  private nextSeq = 1;
  private readonly window = new ChainEntryWindow(CHAIN_WINDOW_ENTRIES);
  /** The block last read (its index; undefined bytes when the store has none). */
  private blockIndex = -1;
  private block: Uint8Array | undefined;

  constructor(
    private readonly store: WitnzStore,
    private readonly table: string,
    private readonly size: number,
  ) {}

  /**
   * Whether `digest` (RowHasher.digestRow's) is the data hash of the entry expected next, by its
   * data hash block; false when it is not, or the store has no block there.
   */
  nextDataHashMatches(digest: string): boolean {
    const seq = this.nextSeq;
    if (seq > this.size) return false;
    const index = Math.floor((seq - 1) / DATA_HASH_BLOCK_ENTRIES);
    if (index !== this.blockIndex) {
      this.blockIndex = index;
      try {
        this.block = this.store.dataHashBlock(this.table, index);
      } catch {
        // A block that is not a whole number of hashes: read the entries instead (the
        // integrity check reports it).
        this.block = undefined;
      }
    }
    const start = ((seq - 1) % DATA_HASH_BLOCK_ENTRIES) * HASH_BYTES;
    return this.block !== undefined && digestEqualsAt(digest, this.block, start);
  }

  /** The seq of the entry expected next (past `size` when the cursor is done). */
  get expectedSeq(): number {
    return this.nextSeq;
  }

  /** The seq of the entry expected next, or undefined past the end of the chain. */
  peek(): number | undefined {
    if (this.nextSeq > this.size) return undefined;
    if (this.windowIndex() < 0) {
      const last = Math.min(this.size, this.nextSeq + CHAIN_WINDOW_ENTRIES - 1);
      this.store.readChainWindow(this.table, this.nextSeq, last, this.window);
      if (this.window.count === 0) {
        // The store holds fewer entries than its head says; the scan falls back to the index.
        this.nextSeq = this.size + 1;
        return undefined;
      }
    }
    return this.nextSeq;
  }

  /** Whether the key `writer` last wrote is the primary key of the entry peek returned. */
  primaryKeyMatches(writer: PrimaryKeyWriter): boolean {
    const index = this.windowIndex();
    const starts = this.window.primaryKeyStarts;
    return writer.equalsRange(this.window.primaryKeys, starts[index]!, starts[index + 1]!);
  }

  /** Whether `digest` (RowHasher.digestRow's) is the data hash of the entry peek returned. */
  dataHashMatches(digest: string): boolean {
    return digestEqualsAt(digest, this.window.dataHashes, this.windowIndex() * HASH_BYTES);
  }

  /** Moves past the entry expected next. */
  advance(): void {
    this.nextSeq += 1;
  }

  /** Continues after `seq`: where a row found through the index says the table resumes. */
  resumeAfter(seq: number): void {
    this.nextSeq = seq + 1;
  }

  /** The window's index of the entry at nextSeq, or -1 when the window does not hold it. */
  private windowIndex(): number {
    const index = this.nextSeq - this.window.firstSeq;
    return index >= 0 && index < this.window.count ? index : -1;
  }
}
