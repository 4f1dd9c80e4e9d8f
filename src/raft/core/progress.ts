// The leader's view of one follower or learner: how much of the log it holds and how to send
// it more. Probe sends one append per round trip until the match point is found; replicate
// streams appends up to a bound on messages in flight; snapshot waits for an InstallSnapshot.
import { assert } from "./errors.js";
import type { LogIndex } from "./types.js";

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  /** Highest index known to match the leader's log. */
  match: LogIndex = 0 as LogIndex;
  /** Next index to send. Invariant: match < next. */
  next: LogIndex;
  state: ProgressState = "probe";
  /** Probe: an append is outstanding; wait for its answer or a heartbeat response. */
  probeSent = false;
  /** Snapshot: the index of the snapshot being sent. */
  pendingSnapshotIndex: LogIndex = 0 as LogIndex;
  /** Leader ticks since match last advanced while the follower lagged; recovers lost appends. */
  stalledTicks = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Replicate: the last index of each append in flight, oldest first. */
  private readonly inflightLastIndexes: LogIndex[] = [];
  /** Highest ReadIndex sequence number this peer has acknowledged in the current term. */
  readSequenceAcknowledged = 0;

  constructor(
    next: LogIndex,
    private readonly inflightMessagesMax: number,
  ) {
    assert(inflightMessagesMax > 0, "inflightMessagesMax must be positive");
    this.next = next;
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0 as LogIndex;
    this.stalledTicks = 0;
    this.inflightLastIndexes.length = 0;
  }

  becomeProbe(): void {
    // After a snapshot, resume from whichever is further: the snapshot or what matched.
    const from =
      this.state === "snapshot"
        ? Math.max(this.match + 1, this.pendingSnapshotIndex + 1)
        : this.match + 1;
    this.resetState("probe");
    this.next = from as LogIndex;
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = (this.match + 1) as LogIndex;
  }

  becomeSnapshot(snapshotIndex: LogIndex): void {
    this.resetState("snapshot");
    this.pendingSnapshotIndex = snapshotIndex;
  }

  /** Whether the leader must hold further appends to this peer for now. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflightLastIndexes.length >= this.inflightMessagesMax;
      case "snapshot":
        return true;
    }
  }

  /** Records an append carrying entries up to `lastIndex` (or none, when lastIndex < next). */
  sentAppend(lastIndex: LogIndex): void {
    if (this.state === "replicate") {
      if (lastIndex >= this.next) {
        this.next = (lastIndex + 1) as LogIndex;
        this.inflightLastIndexes.push(lastIndex);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    } else {
      assert(false, "append sent while a snapshot is pending");
    }
  }

  /** An acknowledgement through `index`; false if it tells nothing new. */
  maybeUpdate(index: LogIndex): boolean {
    if (index <= this.match) return false;
    this.match = index;
    if (this.next <= index) this.next = (index + 1) as LogIndex;
    this.probeSent = false;
    this.stalledTicks = 0;
    while (this.inflightLastIndexes.length > 0 && this.inflightLastIndexes[0]! <= index) {
      this.inflightLastIndexes.shift();
    }
    return true;
  }

  /**
   * A rejection of the append anchored at `rejectedIndex`, with the follower's hint that it may
   * match at `hintIndex`. Stale rejections (reordered or duplicated) change nothing.
   */
  maybeDecreaseTo(rejectedIndex: LogIndex, hintIndex: LogIndex): boolean {
    if (this.state === "replicate") {
      if (rejectedIndex <= this.match) return false;
      this.next = (this.match + 1) as LogIndex;
      return true;
    }
    if (this.next - 1 !== rejectedIndex) return false;
    this.next = Math.max(Math.min(rejectedIndex, hintIndex + 1), this.match + 1) as LogIndex;
    this.probeSent = false;
    return true;
  }
}
