// The vocabulary of the Raft core: identifiers, log entries, persistent state and messages.
// Everything here is plain data, so that a runner can encode it and a simulator can copy it.

declare const termBrand: unique symbol;
declare const logIndexBrand: unique symbol;
declare const nodeIdBrand: unique symbol;

/** A Raft term: an election epoch. Term 0 is the term before any election. */
export type Term = number & { readonly [termBrand]: true };
/** A position in the replicated log. Index 0 is the empty prefix; the first entry is index 1. */
export type LogIndex = number & { readonly [logIndexBrand]: true };
/** The identity of one member of a cluster. */
export type NodeId = string & { readonly [nodeIdBrand]: true };

export const TERM_ZERO = 0 as Term;
export const LOG_INDEX_ZERO = 0 as LogIndex;

export function toTerm(value: number): Term {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad term ${value}`);
  return value as Term;
}

export function toLogIndex(value: number): LogIndex {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad log index ${value}`);
  return value as LogIndex;
}

/** Node ids are short printable names without spaces (they appear in traces and config). */
export function toNodeId(value: string): NodeId {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(value)) throw new RangeError(`bad node id "${value}"`);
  return value as NodeId;
}

/**
 * `normal` entries carry application data; `conf-change` entries carry an encoded
 * `ConfChange`; a `noop` entry is appended by every new leader so that it can commit the
 * entries of earlier terms (dissertation 3.6.2, paper 5.4.2). Applications skip noops.
 */
export type EntryType = "normal" | "conf-change" | "noop";

export interface Entry {
  readonly index: LogIndex;
  readonly term: Term;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** The members of a cluster. Learners receive the log but never vote and never count. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** One single-server membership change (dissertation 4.1). */
export type ConfChange =
  | { readonly type: "add-voter"; readonly nodeId: NodeId }
  | { readonly type: "add-learner"; readonly nodeId: NodeId }
  | { readonly type: "remove-node"; readonly nodeId: NodeId };

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  readonly term: Term;
  /** The candidate this node voted for in `term`, or null. */
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

export interface SnapshotMetadata {
  /** The last log index the snapshot covers, and that entry's term. */
  readonly index: LogIndex;
  readonly term: Term;
  /** The membership as of `index`. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The application's state machine at `metadata.index`, opaque to the core. */
  readonly data: Uint8Array;
}

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/** Volatile state, reported in a Ready when it changes; never persisted. */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | null;
}

/** The answer to `readIndex(context)`: once `index` is applied, a read may be served. */
export interface ReadState {
  readonly index: LogIndex;
  readonly context: Uint8Array;
}

interface MessageHeader {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/**
 * A (pre-)vote request. A pre-vote asks "would you vote for me in `term`?" without anyone
 * changing term (dissertation 9.6). `leadershipTransfer` marks a campaign started by
 * TimeoutNow, which voters grant even while they believe a leader is alive.
 */
export interface VoteRequest extends MessageHeader {
  readonly type: "pre-vote" | "vote";
  readonly lastLogIndex: LogIndex;
  readonly lastLogTerm: Term;
  readonly leadershipTransfer: boolean;
}

export interface VoteResponse extends MessageHeader {
  readonly type: "pre-vote-response" | "vote-response";
  readonly granted: boolean;
}

export interface AppendRequest extends MessageHeader {
  readonly type: "append";
  readonly prevLogIndex: LogIndex;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
  readonly leaderCommit: LogIndex;
}

/**
 * Success: the follower's log matches the leader's through `matchIndex`.
 * Rejection: the append anchored at `rejectedIndex` did not match; the follower's log has
 * term `hintTerm` at `hintIndex`, the highest index whose term is at most the probe's term,
 * so the leader can skip a whole term of entries per round trip.
 */
export interface AppendResponse extends MessageHeader {
  readonly type: "append-response";
  readonly success: boolean;
  readonly matchIndex: LogIndex;
  readonly rejectedIndex: LogIndex;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
}

/**
 * Keeps followers from campaigning and carries the commit index (never beyond what the
 * follower is known to hold). `readSequence` > 0 asks the follower to confirm leadership for
 * the pending ReadIndex requests up to that sequence number.
 */
export interface Heartbeat extends MessageHeader {
  readonly type: "heartbeat";
  readonly leaderCommit: LogIndex;
  readonly readSequence: number;
}

export interface HeartbeatResponse extends MessageHeader {
  readonly type: "heartbeat-response";
  readonly readSequence: number;
}

export interface InstallSnapshot extends MessageHeader {
  readonly type: "snapshot";
  readonly snapshot: Snapshot;
}

/** Leadership transfer: "campaign now, your log is as up to date as mine". */
export interface TimeoutNow extends MessageHeader {
  readonly type: "timeout-now";
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | InstallSnapshot
  | TimeoutNow;

export type MessageType = Message["type"];
