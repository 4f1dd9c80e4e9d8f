// The door to the core: inputs (tick, step, propose, ...) and one output batch, the Ready.
//
// THE READY CONTRACT. For each Ready, the runner must, in this order:
//   1. persist `hardState`, `snapshot` and `entries` together and flush them (durable);
//   2. send `messages` (they may promise what step 1 made durable: a vote, an append);
//   3. apply `snapshot` then `committedEntries` to the state machine, and serve `readStates`
//      once their index is applied;
//   4. call advance().
// ready() may not be called again before advance(). Between ready() and advance() the node may
// keep receiving tick() and step(); their effects go into the next Ready.

import { assertContract } from "./errors.js";
import { DEFAULT_LIMITS, type RaftLimits } from "./limits.js";
import {
  type FaultInjection,
  type ProposalResult,
  Raft,
  type RefusalCode,
  type RequestResult,
} from "./raft.js";
import type { RandomSource } from "./random.js";
import type { RaftStorage } from "./storage.js";
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  LogIndex,
  Message,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SoftState,
  Term,
} from "./types.js";

export type { FaultInjection, ProposalResult, RefusalCode, RequestResult };

export interface RaftNodeOptions {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  readonly random: RandomSource;
  /** Default 10. A follower campaigns after a random timeout in [this, 2 * this) ticks. */
  readonly electionTimeoutTicks?: number;
  /** Default 1. */
  readonly heartbeatIntervalTicks?: number;
  readonly limits?: Partial<RaftLimits>;
  /** The index the state machine has applied durably, if it survives restarts. */
  readonly appliedIndex?: LogIndex;
  /** Deliberate bugs, for proving that a checker can fail. Never set outside tests. */
  readonly faultInjection?: FaultInjection;
}

export interface Ready {
  /** Present when the role or the known leader changed. Not persisted. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed. Persist before sending `messages`. */
  readonly hardState?: HardState;
  /** Entries to append (overwriting any at the same indexes). Persist before sending. */
  readonly entries: readonly Entry[];
  /** A snapshot from the leader that replaces the log. Persist before sending, then apply. */
  readonly snapshot?: Snapshot;
  /** Send only after this Ready's state is durable. */
  readonly messages: readonly Message[];
  /** Committed and durable entries to apply, in index order. */
  readonly committedEntries: readonly Entry[];
  /** Confirmed ReadIndex requests: serve each once `index` is applied. */
  readonly readStates: readonly ReadState[];
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly leader: NodeId | null;
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
  readonly applied: LogIndex;
  readonly firstIndex: LogIndex;
  readonly lastIndex: LogIndex;
  /** The latest configuration in this node's log, committed or not. */
  readonly confState: ConfState;
}

interface InFlightReady {
  readonly lastEntry: { index: LogIndex; term: Term } | undefined;
  readonly snapshotIndex: LogIndex | undefined;
  readonly lastCommittedIndex: LogIndex | undefined;
}

export class RaftNode {
  private readonly raft: Raft;
  private readonly limits: RaftLimits;
  private previousHardState: HardState;
  private previousSoftState: SoftState;
  private inFlight: InFlightReady | null = null;

  constructor(options: RaftNodeOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    for (const [name, value] of Object.entries(this.limits)) {
      assertContract(Number.isSafeInteger(value) && value > 0, `limit ${name} must be positive`);
    }
    this.raft = new Raft({
      id: options.id,
      storage: options.storage,
      random: options.random,
      electionTimeoutTicks: options.electionTimeoutTicks ?? 10,
      heartbeatIntervalTicks: options.heartbeatIntervalTicks ?? 1,
      limits: this.limits,
      ...(options.appliedIndex === undefined ? {} : { appliedIndex: options.appliedIndex }),
      ...(options.faultInjection === undefined ? {} : { faultInjection: options.faultInjection }),
    });
    this.previousHardState = this.hardState();
    this.previousSoftState = this.softState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Feeds a message from a peer. Messages for another node are a caller bug. */
  step(message: Message): void {
    this.raft.step(message);
  }

  /** Appends `data` if this node leads; it is committed when applied at the returned index and term. */
  propose(data: Uint8Array): ProposalResult {
    return this.raft.propose(data);
  }

  proposeConfChange(change: ConfChange): ProposalResult {
    return this.raft.proposeConfChange(change);
  }

  /** Asks for a linearizable read point; the answer arrives as a ReadState with `context`. */
  readIndex(context: Uint8Array): RequestResult {
    return this.raft.readIndex(context);
  }

  transferLeader(target: NodeId): RequestResult {
    return this.raft.transferLeader(target);
  }

  hasReady(): boolean {
    if (this.inFlight !== null) return false;
    const raft = this.raft;
    return (
      raft.hasOutput() ||
      raft.log.hasUnstable() ||
      raft.log.hasNextCommittedEntries() ||
      !hardStatesEqual(this.hardState(), this.previousHardState) ||
      !softStatesEqual(this.softState(), this.previousSoftState)
    );
  }

  ready(): Ready {
    assertContract(this.inFlight === null, "ready() called again before advance()");
    const raft = this.raft;
    const unstable = raft.log.unstable();
    const entries = [...unstable.entries];
    const committedEntries = raft.log.nextCommittedEntries(this.limits.applyBytesMax);
    const hardState = this.hardState();
    const softState = this.softState();
    const lastEntry = entries.at(-1);
    this.inFlight = {
      lastEntry:
        lastEntry === undefined ? undefined : { index: lastEntry.index, term: lastEntry.term },
      snapshotIndex: unstable.snapshot?.metadata.index,
      lastCommittedIndex: committedEntries.at(-1)?.index,
    };
    const ready: Ready = {
      entries,
      messages: raft.takeMessages(),
      committedEntries,
      readStates: raft.takeReadStates(),
      ...(hardStatesEqual(hardState, this.previousHardState) ? {} : { hardState }),
      ...(softStatesEqual(softState, this.previousSoftState) ? {} : { softState }),
      ...(unstable.snapshot === undefined ? {} : { snapshot: unstable.snapshot }),
    };
    this.previousHardState = hardState;
    this.previousSoftState = softState;
    return ready;
  }

  /** The last Ready was persisted, sent and applied (see the contract above). */
  advance(): void {
    assertContract(this.inFlight !== null, "advance() without a ready()");
    const { lastEntry, snapshotIndex, lastCommittedIndex } = this.inFlight;
    this.inFlight = null;
    const log = this.raft.log;
    if (snapshotIndex !== undefined) {
      log.stableSnapshotTo(snapshotIndex);
      log.appliedTo(snapshotIndex);
    }
    if (lastEntry !== undefined) log.stableTo(lastEntry.index, lastEntry.term);
    if (lastCommittedIndex !== undefined) log.appliedTo(lastCommittedIndex);
    this.raft.config.pruneTo(log.applied);
    this.raft.onPersisted();
  }

  status(): RaftStatus {
    const raft = this.raft;
    return {
      id: raft.id,
      role: raft.role,
      leader: raft.leader,
      term: raft.term,
      vote: raft.vote,
      commit: raft.log.committed,
      applied: raft.log.applied,
      firstIndex: raft.log.firstIndex(),
      lastIndex: raft.log.lastIndex(),
      confState: raft.confState(),
    };
  }

  /** The term of entry `index` in this node's log (durable or not), if it holds it. */
  logTerm(index: LogIndex): Term | undefined {
    return this.raft.log.term(index);
  }

  /** Entries in [low, high) of this node's log, for inspection. */
  logEntries(low: LogIndex, high: LogIndex): Entry[] {
    return this.raft.log.slice(low, high, Number.MAX_SAFE_INTEGER);
  }

  /** The leader's replication state for a peer (match index, send state), for inspection. */
  progressOf(id: NodeId): { readonly match: LogIndex; readonly state: string } | undefined {
    const progress = this.raft.progressOf(id);
    return progress === undefined ? undefined : { match: progress.match, state: progress.state };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }

  private softState(): SoftState {
    return { role: this.raft.role, leader: this.raft.leader };
  }
}

function hardStatesEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function softStatesEqual(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}
