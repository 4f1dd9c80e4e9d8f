// Reads a chain's entries 1..size in order, a window at a time, for a scan whose rows mostly
// come back in insert order: the next row is compared with the next entry, with no index lookup.

import type { ChainEntrySummary, WitnzStore } from "../store/index.js";

/** Entries per store range read: bounds how long one read snapshot stays open. */
export const CHAIN_WINDOW_ENTRIES = 4096;

export class ChainCursor {
  private nextSeq = 1;
  private windowLast = 0;
  private entries: Iterator<ChainEntrySummary> | undefined;
  private current: ChainEntrySummary | undefined;

  constructor(
    private readonly store: WitnzStore,
    private readonly table: string,
    private readonly size: number,
  ) {}

  /** The entry expected next, or undefined past the end of the chain. */
  peek(): ChainEntrySummary | undefined {
    if (this.current !== undefined) return this.current;
    if (this.nextSeq > this.size) return undefined;
    if (this.entries === undefined || this.nextSeq > this.windowLast) {
      this.windowLast = Math.min(this.size, this.nextSeq + CHAIN_WINDOW_ENTRIES - 1);
      this.entries = this.store
        .chainEntrySummaries(this.table, this.nextSeq, this.windowLast)
        [Symbol.iterator]();
    }
    const step = this.entries.next();
    if (step.done === true) {
      // The store holds fewer entries than its head says; the scan falls back to the index.
      this.nextSeq = this.size + 1;
      return undefined;
    }
    this.current = step.value;
    return this.current;
  }

  /** Moves past the entry peek returned. */
  advance(): void {
    this.current = undefined;
    this.nextSeq += 1;
  }

  /** Continues after `seq`: where a row found through the index says the table resumes. */
  resumeAfter(seq: number): void {
    // peek's entry, when there is one, is always the entry at nextSeq.
    if (this.nextSeq === seq + 1) return;
    this.current = undefined;
    this.entries = undefined;
    this.nextSeq = seq + 1;
  }
}
