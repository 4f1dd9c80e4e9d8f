// Reads a chain's entries 1..size in order, a window at a time, for a scan whose rows mostly
// come back in insert order: the next row is compared with the next entry, with no index lookup.
// A window's data hashes and primary keys are packed into buffers reused for every window, so the
// read allocates nothing per entry.

import { ChainEntryWindow, HASH_BYTES, type WitnzStore } from "../store/index.js";
import type { PrimaryKeyWriter } from "./primary-key-writer.js";

/** Entries per store read: bounds the window's memory and how long one read snapshot stays open. */
export const CHAIN_WINDOW_ENTRIES = 4096;

export class ChainCursor {
  private nextSeq = 1;
  /** The window's index of the entry at nextSeq; the window is read again when it runs out. */
  private index = 0;
  private readonly window = new ChainEntryWindow(CHAIN_WINDOW_ENTRIES);

  constructor(
    private readonly store: WitnzStore,
    private readonly table: string,
    private readonly size: number,
  ) {}

  /** The seq of the entry expected next, or undefined past the end of the chain. */
  peek(): number | undefined {
    if (this.nextSeq > this.size) return undefined;
    if (this.index >= this.window.count) {
      const last = Math.min(this.size, this.nextSeq + CHAIN_WINDOW_ENTRIES - 1);
      this.store.readChainWindow(this.table, this.nextSeq, last, this.window);
      this.index = 0;
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
    const starts = this.window.primaryKeyStarts;
    return writer.equalsRange(
      this.window.primaryKeys,
      starts[this.index]!,
      starts[this.index + 1]!,
    );
  }

  /** Whether `digest` (RowHasher.digestRow's) is the data hash of the entry peek returned. */
  dataHashMatches(digest: string): boolean {
    if (digest.length !== HASH_BYTES) return false;
    const hashes = this.window.dataHashes;
    const start = this.index * HASH_BYTES;
    for (let offset = 0; offset < HASH_BYTES; offset++) {
      if (digest.charCodeAt(offset) !== hashes[start + offset]) return false;
    }
    return true;
  }

  /** Moves past the entry peek returned. */
  advance(): void {
    this.index += 1;
    this.nextSeq += 1;
  }

  /** Continues after `seq`: where a row found through the index says the table resumes. */
  resumeAfter(seq: number): void {
    // peek's entry, when there is one, is always the entry at nextSeq.
    if (this.nextSeq === seq + 1) return;
    this.nextSeq = seq + 1;
    // Within the window held, the entry is already there; otherwise peek reads a new window.
    const index = this.nextSeq - this.window.firstSeq;
    this.index = index >= 0 && index < this.window.count ? index : this.window.count;
  }
}
