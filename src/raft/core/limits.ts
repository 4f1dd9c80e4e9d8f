// Every bound the core enforces, with its unit in its name.

export interface RaftLimits {
  /** Entries in one append message. */
  readonly messageEntriesMax: number;
  /** Entry bytes in one append message (at least one entry is always sent). */
  readonly messageBytesMax: number;
  /** Appends in flight to one follower before the leader waits for acknowledgements. */
  readonly inflightMessagesMax: number;
  /** Bytes of proposals a leader holds uncommitted before it refuses more. */
  readonly uncommittedBytesMax: number;
  /** Bytes of one proposal's data. */
  readonly proposalBytesMax: number;
  /** Bytes of committed entries handed to the application in one Ready. */
  readonly applyBytesMax: number;
  /** ReadIndex requests waiting for confirmation of leadership. */
  readonly pendingReadsMax: number;
  /** Bytes of one ReadIndex context. */
  readonly readContextBytesMax: number;
  /** A learner is promoted only when it holds all but at most this many of the leader's entries. */
  readonly learnerLagEntriesMax: number;
}

export const DEFAULT_LIMITS: RaftLimits = {
  messageEntriesMax: 256,
  messageBytesMax: 1024 * 1024,
  inflightMessagesMax: 64,
  uncommittedBytesMax: 64 * 1024 * 1024,
  proposalBytesMax: 1024 * 1024,
  applyBytesMax: 4 * 1024 * 1024,
  pendingReadsMax: 1024,
  readContextBytesMax: 1024,
  learnerLagEntriesMax: 64,
};
