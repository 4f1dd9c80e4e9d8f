// The Raft state machine (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", 2014, cited as "paper", and Ongaro's dissertation, 2014, cited as
// "dissertation"). Pure: time arrives as tick(), input as step(), randomness from a seeded
// source; output accumulates in an outbox that RaftNode hands out as a Ready.
import {
  ConfigurationHistory,
  encodeConfChange,
  isLearner,
  isMember,
  isVoter,
  members,
  quorumSize,
} from "./configuration.js";
import { assert, RaftError } from "./errors.js";
import type { RaftLimits } from "./limits.js";
import { Progress } from "./progress.js";
import { RaftLog } from "./raft-log.js";
import type { RandomSource } from "./random.js";
import type { RaftStorage } from "./storage.js";
import type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  Heartbeat,
  HeartbeatResponse,
  InstallSnapshot,
  LogIndex,
  Message,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  Term,
  VoteRequest,
  VoteResponse,
} from "./types.js";

/**
 * Deliberate bugs for proving that the simulator's checkers can fail. Never set outside tests.
 * `voteTwicePerTerm` grants every vote request regardless of an earlier vote in the term;
 * `commitPriorTermByCounting` commits an entry of an earlier term once a majority stores it,
 * which paper 5.4.2 (Figure 8) shows is unsafe.
 */
export interface FaultInjection {
  readonly voteTwicePerTerm?: boolean;
  readonly commitPriorTermByCounting?: boolean;
}

export interface RaftOptions {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  readonly random: RandomSource;
  /** A follower that hears no leader for this many ticks (randomized up to twice) campaigns. */
  readonly electionTimeoutTicks: number;
  /** A leader sends heartbeats every this many ticks; must be below electionTimeoutTicks. */
  readonly heartbeatIntervalTicks: number;
  readonly limits: RaftLimits;
  /** The index the application has already applied (restart with a durable state machine). */
  readonly appliedIndex?: LogIndex;
  readonly faultInjection?: FaultInjection;
}

export type RefusalCode =
  | "not-leader"
  | "leader-removed"
  | "transfer-in-progress"
  | "proposal-too-large"
  | "uncommitted-limit"
  | "conf-change-pending"
  | "leader-not-ready"
  | "conf-change-invalid"
  | "learner-behind"
  | "read-limit"
  | "read-context-too-large";

/** A request the core did not take, and why; the application decides whether to retry. */
export interface Refusal {
  readonly accepted: false;
  readonly code: RefusalCode;
  readonly reason: string;
  /** The leader this node knows of, if any, to redirect the client. */
  readonly leader: NodeId | null;
}

/** An appended proposal: it is committed when an entry with this index and term is applied. */
export type ProposalResult =
  | { readonly accepted: true; readonly index: LogIndex; readonly term: Term }
  | Refusal;

export type RequestResult = { readonly accepted: true } | Refusal;

interface PendingRead {
  readonly context: Uint8Array;
  index: LogIndex | null;
  sequence: number;
}

export class Raft {
  readonly id: NodeId;
  term: Term;
  vote: NodeId | null;
  role: Role = "follower";
  leader: NodeId | null = null;
  readonly log: RaftLog;
  readonly config: ConfigurationHistory;

  private readonly random: RandomSource;
  private readonly electionTimeoutTicks: number;
  private readonly heartbeatIntervalTicks: number;
  private readonly limits: RaftLimits;
  private readonly faults: FaultInjection;

  private electionElapsedTicks = 0;
  private heartbeatElapsedTicks = 0;
  private randomizedElectionTimeoutTicks = 0;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();
  private transferee: NodeId | null = null;
  private pendingReads: PendingRead[] = [];
  private readSequence = 0;
  private uncommitted: { index: LogIndex; bytes: number }[] = [];
  private uncommittedBytes = 0;

  private outbox: Message[] = [];
  private readStates: ReadState[] = [];

  constructor(options: RaftOptions) {
    const { electionTimeoutTicks, heartbeatIntervalTicks } = options;
    if (!Number.isSafeInteger(electionTimeoutTicks) || electionTimeoutTicks < 2) {
      throw new RaftError("WITNZ_RAFT_CONFIG", "electionTimeoutTicks must be an integer >= 2");
    }
    if (
      !Number.isSafeInteger(heartbeatIntervalTicks) ||
      heartbeatIntervalTicks < 1 ||
      heartbeatIntervalTicks >= electionTimeoutTicks
    ) {
      throw new RaftError(
        "WITNZ_RAFT_CONFIG",
        "heartbeatIntervalTicks must be an integer from 1 to electionTimeoutTicks - 1",
      );
    }
    this.id = options.id;
    this.random = options.random;
    this.electionTimeoutTicks = electionTimeoutTicks;
    this.heartbeatIntervalTicks = heartbeatIntervalTicks;
    this.limits = options.limits;
    this.faults = options.faultInjection ?? {};

    const storage = options.storage;
    const { hardState, confState } = storage.initialState();
    const snapshotIndex = storage.snapshot().metadata.index;
    this.term = hardState.term;
    this.vote = hardState.vote;
    const committed = Math.max(hardState.commit, snapshotIndex) as LogIndex;
    const applied = (options.appliedIndex ?? snapshotIndex) as LogIndex;
    assert(applied >= snapshotIndex, `applied ${applied} below the snapshot at ${snapshotIndex}`);
    this.log = new RaftLog(storage, committed, applied);
    this.config = new ConfigurationHistory(snapshotIndex, confState);
    // Conf change entries after the snapshot are in force as soon as they are in the log.
    const last = storage.lastIndex();
    for (let low = snapshotIndex + 1; low <= last; ) {
      const batch = storage.entries(
        low as LogIndex,
        (last + 1) as LogIndex,
        this.limits.applyBytesMax,
      );
      this.config.append(batch);
      low += batch.length;
    }
    this.resetRandomizedElectionTimeout();
  }

  // ---------------------------------------------------------------- inputs

  /** One unit of logical time. */
  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  propose(data: Uint8Array): ProposalResult {
    const refusal = this.refuseUnlessLeading();
    if (refusal !== undefined) return refusal;
    if (data.length > this.limits.proposalBytesMax) {
      return this.refuse(
        "proposal-too-large",
        `proposal of ${data.length} bytes exceeds ${this.limits.proposalBytesMax}`,
      );
    }
    if (
      this.uncommittedBytes > 0 &&
      this.uncommittedBytes + data.length > this.limits.uncommittedBytesMax
    ) {
      return this.refuse(
        "uncommitted-limit",
        `${this.uncommittedBytes} bytes are uncommitted; the limit is ${this.limits.uncommittedBytesMax}`,
      );
    }
    const entry = this.appendEntry("normal", data);
    this.uncommitted.push({ index: entry.index, bytes: data.length });
    this.uncommittedBytes += data.length;
    this.broadcastAppend();
    return { accepted: true, index: entry.index, term: entry.term };
  }

  /**
   * Single-server membership change (dissertation 4.1). At most one change is pending: a new
   * one is refused until the previous one is committed, and until this leader has committed an
   * entry of its own term (the fix to the single-server change bug, raft-dev 2015).
   */
  proposeConfChange(change: ConfChange): ProposalResult {
    const refusal = this.refuseUnlessLeading();
    if (refusal !== undefined) return refusal;
    const pendingIndex = this.config.latestIndex();
    if (pendingIndex > this.log.committed) {
      return this.refuse(
        "conf-change-pending",
        `the membership change at index ${pendingIndex} is not yet committed (commit ${this.log.committed})`,
      );
    }
    if (!this.committedInCurrentTerm()) {
      return this.refuse(
        "leader-not-ready",
        `leader of term ${this.term} has not yet committed an entry of its term`,
      );
    }
    const state = this.config.current();
    const target = change.nodeId;
    switch (change.type) {
      case "add-voter":
        if (isVoter(state, target)) {
          return this.refuse("conf-change-invalid", `${target} is already a voter`);
        }
        if (isLearner(state, target)) {
          const progress = this.progress.get(target);
          const lastIndex = this.log.lastIndex();
          const match = progress?.match ?? 0;
          const caughtUp =
            progress?.recentActive === true &&
            match + this.limits.learnerLagEntriesMax >= lastIndex;
          if (!caughtUp) {
            return this.refuse(
              "learner-behind",
              `learner ${target} is not caught up: it holds ${match} of ${lastIndex} entries` +
                ` (at most ${this.limits.learnerLagEntriesMax} may be missing)` +
                (progress?.recentActive ? "" : " and has not answered recently"),
            );
          }
        }
        break;
      case "add-learner":
        if (isVoter(state, target)) {
          return this.refuse(
            "conf-change-invalid",
            `${target} is a voter; demotion is not supported`,
          );
        }
        if (isLearner(state, target)) {
          return this.refuse("conf-change-invalid", `${target} is already a learner`);
        }
        break;
      case "remove-node":
        if (!isMember(state, target)) {
          return this.refuse("conf-change-invalid", `${target} is not a member`);
        }
        if (isVoter(state, target) && state.voters.length === 1) {
          return this.refuse("conf-change-invalid", `${target} is the last voter`);
        }
        break;
    }
    const entry = this.appendEntry("conf-change", encodeConfChange(change));
    this.broadcastAppend();
    return { accepted: true, index: entry.index, term: entry.term };
  }

  /**
   * Linearizable read without a lease (dissertation 6.4): remember the commit index, confirm
   * leadership with a round of heartbeats, then report a ReadState. A new leader first commits
   * an entry of its term so that its commit index is at least that of any earlier leader.
   */
  readIndex(context: Uint8Array): RequestResult {
    const refusal = this.refuseUnlessLeading();
    if (refusal !== undefined) return refusal;
    if (context.length > this.limits.readContextBytesMax) {
      return this.refuse(
        "read-context-too-large",
        `read context of ${context.length} bytes exceeds ${this.limits.readContextBytesMax}`,
      );
    }
    if (this.pendingReads.length >= this.limits.pendingReadsMax) {
      return this.refuse("read-limit", `${this.pendingReads.length} reads are already pending`);
    }
    this.pendingReads.push({ context: new Uint8Array(context), index: null, sequence: 0 });
    if (this.committedInCurrentTerm()) this.startPendingReads();
    return { accepted: true };
  }

  /** Leadership transfer (dissertation 3.10): catch the target up, then send it TimeoutNow. */
  transferLeader(target: NodeId): RequestResult {
    if (this.role !== "leader") return this.refuse("not-leader", `${this.id} is not the leader`);
    if (target === this.id) {
      return this.refuse("conf-change-invalid", `${target} is already the leader`);
    }
    if (!isVoter(this.config.current(), target)) {
      return this.refuse("conf-change-invalid", `${target} is not a voter`);
    }
    if (this.transferee === target) return { accepted: true };
    this.transferee = target;
    this.electionElapsedTicks = 0; // the transfer must finish within one election timeout
    const progress = this.progress.get(target);
    assert(progress !== undefined, `no progress for voter ${target}`);
    if (progress.match === this.log.lastIndex()) this.send(this.timeoutNow(target));
    else this.sendAppend(target, true);
    return { accepted: true };
  }

  step(message: Message): void {
    assert(message.to === this.id, `message for ${message.to} stepped into ${this.id}`);
    if (message.from === this.id) return;

    if (message.term > this.term) {
      if (message.type === "pre-vote" || message.type === "vote") {
        // Dissertation 4.2.3: while a leader is known to be alive, ignore campaigns, so that a
        // node that was partitioned away (or removed) cannot depose a healthy leader.
        const inLease =
          this.leader !== null && this.electionElapsedTicks < this.electionTimeoutTicks;
        if (inLease && !message.leadershipTransfer) return;
      }
      if (message.type === "pre-vote") {
        // A pre-vote never changes anyone's term.
      } else if (message.type === "pre-vote-response" && message.granted) {
        // Granted pre-votes carry the term we would campaign in; we move to it only on winning.
      } else {
        const fromLeader =
          message.type === "append" || message.type === "heartbeat" || message.type === "snapshot";
        this.becomeFollower(message.term, fromLeader ? message.from : null);
      }
    } else if (message.term < this.term) {
      if (message.type === "append" || message.type === "heartbeat") {
        // A deposed leader (or one cut off by a partition) learns of the newer term this way;
        // with PreVote and CheckQuorum it may not otherwise hear of it.
        this.send({
          type: "append-response",
          from: this.id,
          to: message.from,
          term: this.term,
          success: false,
          matchIndex: 0 as LogIndex,
          rejectedIndex: 0 as LogIndex,
          hintIndex: 0 as LogIndex,
          hintTerm: 0 as Term,
        });
      } else if (message.type === "pre-vote") {
        this.send(this.voteResponse(message, false, this.term));
      }
      return;
    }

    switch (message.type) {
      case "pre-vote":
      case "vote":
        this.handleVoteRequest(message);
        return;
      default:
        break;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(message);
        return;
      case "pre-candidate":
      case "candidate":
        this.stepCandidate(message);
        return;
      case "follower":
        this.stepFollower(message);
        return;
    }
  }

  // ---------------------------------------------------------------- outputs

  takeMessages(): Message[] {
    const messages = this.outbox;
    this.outbox = [];
    return messages;
  }

  takeReadStates(): ReadState[] {
    const states = this.readStates;
    this.readStates = [];
    return states;
  }

  hasOutput(): boolean {
    return this.outbox.length > 0 || this.readStates.length > 0;
  }

  /** The runner persisted the last Ready: a leader may now count its own log toward commit. */
  onPersisted(): void {
    if (this.role === "leader" && this.maybeCommit()) this.broadcastAppend();
  }

  progressOf(id: NodeId): Readonly<Progress> | undefined {
    return this.progress.get(id);
  }

  // ---------------------------------------------------------------- roles

  private reset(term: Term): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
      // Unsent messages of an older term describe state this node may be about to overwrite
      // (an acknowledgement of entries a newer leader truncates in the same Ready). They would
      // only leave after that newer state is durable, so they could vouch for entries the node
      // no longer holds. Dropping a message is always safe.
      this.outbox = this.outbox.filter((message) => message.term >= term);
    }
    this.leader = null;
    this.electionElapsedTicks = 0;
    this.heartbeatElapsedTicks = 0;
    this.resetRandomizedElectionTimeout();
    this.transferee = null;
    this.votes.clear();
    this.progress.clear();
    this.pendingReads = [];
    this.readSequence = 0;
    this.uncommitted = [];
    this.uncommittedBytes = 0;
  }

  private becomeFollower(term: Term, leader: NodeId | null): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", `${this.id} became leader from ${this.role}`);
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    this.syncProgress();
    // Paper 5.4.2: entries of earlier terms commit only under an entry of the leader's term.
    this.appendEntry("noop", new Uint8Array(0));
    this.broadcastAppend();
  }

  /** Whether this node votes as a voter: it is one in the latest configuration in its log. */
  private promotable(): boolean {
    return isVoter(this.config.current(), this.id);
  }

  /**
   * Whether this node may campaign. Voters may; so may a voter whose removal is in its log but
   * not yet committed: "it might still be needed until the C_new entry is committed. It does
   * not count its own vote" (dissertation 4.2.2). Without this, a leader that loses leadership
   * right after appending its own removal can leave the rest of the cluster without a quorum.
   */
  private mayCampaign(): boolean {
    if (this.promotable()) return true;
    return (
      this.config.latestIndex() > this.log.committed && isVoter(this.config.previous(), this.id)
    );
  }

  private campaign(kind: "pre-vote" | "vote", leadershipTransfer: boolean): void {
    let campaignTerm: Term;
    if (kind === "pre-vote") {
      this.role = "pre-candidate";
      this.leader = null;
      this.votes.clear();
      this.resetRandomizedElectionTimeout();
      campaignTerm = (this.term + 1) as Term;
    } else {
      this.reset((this.term + 1) as Term);
      this.role = "candidate";
      this.vote = this.id;
      campaignTerm = this.term;
    }
    if (this.recordVote(this.id, true) === "won") {
      if (kind === "pre-vote") this.campaign("vote", false);
      else this.becomeLeader();
      return;
    }
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const voter of this.config.current().voters) {
      if (voter === this.id) continue;
      this.send({
        type: kind,
        from: this.id,
        to: voter,
        term: campaignTerm,
        lastLogIndex,
        lastLogTerm,
        leadershipTransfer,
      });
    }
  }

  private recordVote(from: NodeId, granted: boolean): "won" | "lost" | "pending" {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    const voters = this.config.current().voters;
    let yes = 0;
    let no = 0;
    for (const voter of voters) {
      const vote = this.votes.get(voter);
      if (vote === true) yes++;
      else if (vote === false) no++;
    }
    const quorum = quorumSize(this.config.current());
    if (yes >= quorum) return "won";
    if (no > voters.length - quorum) return "lost";
    return "pending";
  }

  private tickElection(): void {
    this.electionElapsedTicks++;
    if (this.mayCampaign() && this.electionElapsedTicks >= this.randomizedElectionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      this.campaign("pre-vote", false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsedTicks++;
    this.electionElapsedTicks++;
    if (this.electionElapsedTicks >= this.electionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      // CheckQuorum (dissertation 6.2): a leader that has not heard from a quorum within an
      // election timeout steps down, so clients stop waiting on a leader that cannot commit.
      if (!this.quorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
      for (const progress of this.progress.values()) progress.recentActive = false;
      this.transferee = null; // a transfer that did not finish in one timeout is abandoned
    }
    if (this.heartbeatElapsedTicks >= this.heartbeatIntervalTicks) {
      this.heartbeatElapsedTicks = 0;
      this.broadcastHeartbeat(0);
    }
    const lastIndex = this.log.lastIndex();
    for (const [id, progress] of this.progress) {
      if (progress.match >= lastIndex) continue;
      progress.stalledTicks++;
      if (progress.stalledTicks >= this.electionTimeoutTicks) {
        // Appends or a snapshot were lost: start again from what the follower acknowledged.
        progress.becomeProbe();
        this.sendAppend(id, true);
      }
    }
  }

  private quorumActive(): boolean {
    const state = this.config.current();
    let active = 0;
    for (const voter of state.voters) {
      if (voter === this.id || this.progress.get(voter)?.recentActive === true) active++;
    }
    return active >= quorumSize(state);
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeoutTicks =
      this.electionTimeoutTicks + this.random.nextInt(this.electionTimeoutTicks);
  }

  // ---------------------------------------------------------------- voting

  private handleVoteRequest(message: VoteRequest): void {
    const preVote = message.type === "pre-vote";
    // Paper 5.2: at most one vote per term, first come first served; a repeat is answered
    // the same way. A pre-vote for a later term binds nothing.
    const canVote =
      this.vote === message.from ||
      (this.vote === null && this.leader === null) ||
      (preVote && message.term > this.term) ||
      this.faults.voteTwicePerTerm === true;
    // A voter votes for a candidate whose log is at least as up to date (paper 5.4.1). A node
    // that is not a voter in its own configuration votes only for a candidate whose log is
    // strictly ahead of its own: the candidate asks only voters of its configuration, so this
    // node's configuration is stale (its promotion or addition is in the entries it lacks).
    // Refusing would deadlock a cluster whose leader failed before the new voter learned of
    // its addition; voting for a candidate that is merely level would let a learner vote.
    const upToDate = this.promotable()
      ? this.log.isUpToDate(message.lastLogIndex, message.lastLogTerm)
      : this.log.isStrictlyBehind(message.lastLogIndex, message.lastLogTerm);
    const grant = canVote && upToDate;
    if (grant) {
      // Answer with the request's term: a pre-candidate is still at the term below it.
      this.send(this.voteResponse(message, true, message.term));
      if (!preVote) {
        this.electionElapsedTicks = 0;
        this.vote = message.from;
      }
    } else {
      this.send(this.voteResponse(message, false, this.term));
    }
  }

  private voteResponse(request: VoteRequest, granted: boolean, term: Term): VoteResponse {
    return {
      type: request.type === "pre-vote" ? "pre-vote-response" : "vote-response",
      from: this.id,
      to: request.from,
      term,
      granted,
    };
  }

  private stepCandidate(message: Message): void {
    switch (message.type) {
      case "append":
        this.becomeFollower(message.term, message.from);
        this.handleAppend(message);
        return;
      case "heartbeat":
        this.becomeFollower(message.term, message.from);
        this.handleHeartbeat(message);
        return;
      case "snapshot":
        this.becomeFollower(message.term, message.from);
        this.handleSnapshot(message);
        return;
      case "pre-vote-response":
      case "vote-response": {
        const expected = this.role === "pre-candidate" ? "pre-vote-response" : "vote-response";
        if (message.type !== expected) return;
        const result = this.recordVote(message.from, message.granted);
        if (result === "won") {
          if (this.role === "pre-candidate") this.campaign("vote", false);
          else this.becomeLeader();
        } else if (result === "lost") {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- following

  private stepFollower(message: Message): void {
    switch (message.type) {
      case "append":
        this.electionElapsedTicks = 0;
        this.leader = message.from;
        this.handleAppend(message);
        return;
      case "heartbeat":
        this.electionElapsedTicks = 0;
        this.leader = message.from;
        this.handleHeartbeat(message);
        return;
      case "snapshot":
        this.electionElapsedTicks = 0;
        this.leader = message.from;
        this.handleSnapshot(message);
        return;
      case "timeout-now":
        if (this.mayCampaign()) this.campaign("vote", true);
        return;
      default:
        return;
    }
  }

  /** Paper 5.3, Figure 2 "AppendEntries RPC, receiver implementation". */
  private handleAppend(message: AppendRequest): void {
    if (message.prevLogIndex < this.log.committed) {
      this.send(this.appendResponse(message.from, this.log.committed));
      return;
    }
    const result = this.log.maybeAppend(message.prevLogIndex, message.prevLogTerm, message.entries);
    if (result === undefined) {
      const probe = Math.min(message.prevLogIndex, this.log.lastIndex()) as LogIndex;
      const hint = this.log.findConflictByTerm(probe, message.prevLogTerm);
      this.send({
        type: "append-response",
        from: this.id,
        to: message.from,
        term: this.term,
        success: false,
        matchIndex: 0 as LogIndex,
        rejectedIndex: message.prevLogIndex,
        hintIndex: hint.index,
        hintTerm: hint.term,
      });
      return;
    }
    if (result.truncatedAfter !== undefined) this.config.truncateAfter(result.truncatedAfter);
    this.config.append(result.appended);
    this.log.commitTo(Math.min(message.leaderCommit, result.lastNewIndex) as LogIndex);
    this.send(this.appendResponse(message.from, result.lastNewIndex));
  }

  private handleHeartbeat(message: Heartbeat): void {
    this.log.commitTo(message.leaderCommit);
    const response: HeartbeatResponse = {
      type: "heartbeat-response",
      from: this.id,
      to: message.from,
      term: this.term,
      readSequence: message.readSequence,
    };
    this.send(response);
  }

  /** Paper 7, "InstallSnapshot RPC". */
  private handleSnapshot(message: InstallSnapshot): void {
    const restored = this.restore(message.snapshot);
    const matchIndex = restored ? this.log.lastIndex() : this.log.committed;
    this.send(this.appendResponse(message.from, matchIndex));
  }

  private restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      // The log already holds the snapshot's last entry, hence (log matching) all before it.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.config.reset(index, confState);
    return true;
  }

  private appendResponse(to: NodeId, matchIndex: LogIndex): AppendResponse {
    return {
      type: "append-response",
      from: this.id,
      to,
      term: this.term,
      success: true,
      matchIndex,
      rejectedIndex: 0 as LogIndex,
      hintIndex: 0 as LogIndex,
      hintTerm: 0 as Term,
    };
  }

  // ---------------------------------------------------------------- leading

  private stepLeader(message: Message): void {
    const progress = this.progress.get(message.from);
    if (progress === undefined) return; // not a member (any more)
    switch (message.type) {
      case "append-response":
        progress.recentActive = true;
        if (message.success) this.handleAppendSuccess(message.from, progress, message.matchIndex);
        else this.handleAppendRejection(message.from, progress, message);
        return;
      case "heartbeat-response":
        progress.recentActive = true;
        if (progress.state === "probe") progress.probeSent = false;
        if (progress.match < this.log.lastIndex() || progress.state === "probe") {
          this.sendAppend(message.from, true);
        }
        if (message.readSequence > progress.readSequenceAcknowledged) {
          progress.readSequenceAcknowledged = message.readSequence;
          this.releaseReads();
        }
        return;
      default:
        return;
    }
  }

  private handleAppendSuccess(from: NodeId, progress: Progress, matchIndex: LogIndex): void {
    const updated = progress.maybeUpdate(matchIndex);
    if (!updated && !(progress.match === matchIndex && progress.state === "probe")) return;
    if (progress.state === "probe") {
      progress.becomeReplicate();
    } else if (progress.state === "snapshot" && progress.match + 1 >= this.log.firstIndex()) {
      progress.becomeProbe();
      progress.becomeReplicate();
    }
    if (this.maybeCommit()) this.broadcastAppend();
    if (this.role !== "leader") return; // the commit removed this leader
    // Fill the pipeline without empty appends.
    while (this.sendAppend(from, false)) {}
    if (from === this.transferee && progress.match === this.log.lastIndex()) {
      this.send(this.timeoutNow(from));
    }
  }

  private handleAppendRejection(from: NodeId, progress: Progress, message: AppendResponse): void {
    if (message.rejectedIndex === 0 && message.hintIndex === 0 && message.hintTerm === 0) {
      return; // a reply to a stale-term append: nothing to learn at this term
    }
    let hintIndex = message.hintIndex;
    if (message.hintTerm > 0) {
      // Skip every index whose term is above the follower's term at the hint: they cannot match.
      hintIndex = this.log.findConflictByTerm(message.hintIndex, message.hintTerm).index;
    }
    if (progress.maybeDecreaseTo(message.rejectedIndex, hintIndex)) {
      if (progress.state === "replicate") progress.becomeProbe();
      this.sendAppend(from, true);
    }
  }

  /**
   * Paper 5.3 and 5.4.2: the commit index moves to the highest index stored on a majority of
   * voters, but only when that entry is of the leader's own term.
   */
  private maybeCommit(): boolean {
    const state = this.config.current();
    const matches = state.voters.map((voter) =>
      voter === this.id ? this.log.stableLastIndex() : (this.progress.get(voter)?.match ?? 0),
    );
    matches.sort((a, b) => b - a);
    const candidate = matches[quorumSize(state) - 1] as LogIndex | undefined;
    if (candidate === undefined || candidate <= this.log.committed) return false;
    const ownTerm = this.log.term(candidate) === this.term;
    if (!ownTerm && this.faults.commitPriorTermByCounting !== true) return false;
    this.log.commitTo(candidate);
    this.onCommitAdvanced();
    return true;
  }

  private onCommitAdvanced(): void {
    const committed = this.log.committed;
    while (this.uncommitted.length > 0 && this.uncommitted[0]!.index <= committed) {
      this.uncommittedBytes -= this.uncommitted.shift()!.bytes;
    }
    if (this.pendingReads.some((read) => read.index === null) && this.committedInCurrentTerm()) {
      this.startPendingReads();
    }
    // Dissertation 4.2.2: a leader removed from the configuration steps down once the removal
    // is committed; until then it manages the cluster without counting itself.
    if (!isMember(this.config.current(), this.id) && this.config.latestIndex() <= committed) {
      this.broadcastAppend(); // let the others learn the commit before this node goes quiet
      this.becomeFollower(this.term, null);
    }
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private startPendingReads(): void {
    this.readSequence++;
    for (const read of this.pendingReads) {
      if (read.index !== null) continue;
      read.index = this.log.committed;
      read.sequence = this.readSequence;
    }
    const state = this.config.current();
    if (state.voters.length === 1 && state.voters[0] === this.id) {
      this.releaseReads();
      return;
    }
    this.broadcastHeartbeat(this.readSequence);
  }

  /** Reports every read whose leadership round a quorum of voters has acknowledged. */
  private releaseReads(): void {
    const state = this.config.current();
    const acknowledged = state.voters.map((voter) =>
      voter === this.id
        ? this.readSequence
        : (this.progress.get(voter)?.readSequenceAcknowledged ?? 0),
    );
    acknowledged.sort((a, b) => b - a);
    const confirmed = acknowledged[quorumSize(state) - 1] ?? 0;
    while (this.pendingReads.length > 0) {
      const read = this.pendingReads[0]!;
      if (read.index === null || read.sequence > confirmed) break;
      this.pendingReads.shift();
      this.readStates.push({ index: read.index, context: read.context });
    }
  }

  private appendEntry(type: EntryType, data: Uint8Array): Entry {
    const entry: Entry = {
      index: (this.log.lastIndex() + 1) as LogIndex,
      term: this.term,
      type,
      data,
    };
    this.log.append([entry]);
    if (type === "conf-change") {
      this.config.append([entry]);
      this.syncProgress();
    }
    return entry;
  }

  /** Tracks exactly the members of the current configuration other than this node. */
  private syncProgress(): void {
    const state = this.config.current();
    const lastIndex = this.log.lastIndex();
    for (const member of members(state)) {
      if (member === this.id || this.progress.has(member)) continue;
      this.progress.set(
        member,
        new Progress((lastIndex + 1) as LogIndex, this.limits.inflightMessagesMax),
      );
    }
    for (const id of [...this.progress.keys()]) {
      if (!isMember(state, id)) this.progress.delete(id);
    }
    if (this.transferee !== null && !isVoter(state, this.transferee)) this.transferee = null;
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) this.sendAppend(id, true);
  }

  private broadcastHeartbeat(readSequence: number): void {
    for (const [id, progress] of this.progress) {
      const heartbeat: Heartbeat = {
        type: "heartbeat",
        from: this.id,
        to: id,
        term: this.term,
        // Never tell a follower to commit past what it is known to hold.
        leaderCommit: Math.min(progress.match, this.log.committed) as LogIndex,
        readSequence,
      };
      this.send(heartbeat);
    }
  }

  /** Sends the next append (or the snapshot) to `to`; false if nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.progress.get(to);
    assert(progress !== undefined, `no progress for ${to}`);
    if (progress.isPaused()) return false;
    const prevLogIndex = (progress.next - 1) as LogIndex;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      this.sendSnapshot(to, progress);
      return true;
    }
    const lastIndex = this.log.lastIndex();
    const high = Math.min(lastIndex + 1, progress.next + this.limits.messageEntriesMax) as LogIndex;
    const entries = this.log.slice(progress.next, high, this.limits.messageBytesMax);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const request: AppendRequest = {
      type: "append",
      from: this.id,
      to,
      term: this.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      leaderCommit: this.log.committed,
    };
    this.send(request);
    progress.sentAppend((prevLogIndex + entries.length) as LogIndex);
    return true;
  }

  private sendSnapshot(to: NodeId, progress: Progress): void {
    const snapshot = this.log.storage.snapshot();
    assert(
      snapshot.metadata.index >= this.log.firstIndex() - 1,
      `snapshot at ${snapshot.metadata.index} does not cover the compacted log`,
    );
    this.send({ type: "snapshot", from: this.id, to, term: this.term, snapshot });
    progress.becomeSnapshot(snapshot.metadata.index);
  }

  private timeoutNow(to: NodeId): Message {
    return { type: "timeout-now", from: this.id, to, term: this.term };
  }

  // ---------------------------------------------------------------- helpers

  private refuseUnlessLeading(): Refusal | undefined {
    if (this.role !== "leader") {
      return this.refuse("not-leader", `${this.id} is ${this.role}, not the leader`);
    }
    if (!isMember(this.config.current(), this.id)) {
      return this.refuse("leader-removed", `${this.id} is being removed from the cluster`);
    }
    if (this.transferee !== null) {
      return this.refuse(
        "transfer-in-progress",
        `leadership is moving to ${this.transferee}; retry with the new leader`,
      );
    }
    return undefined;
  }

  private refuse(code: RefusalCode, reason: string): Refusal {
    return { accepted: false, code, reason, leader: this.leader };
  }

  private send(message: Message): void {
    this.outbox.push(message);
  }

  /** The latest configuration in this node's log. */
  confState(): ConfState {
    return this.config.current();
  }

  electionElapsed(): number {
    return this.electionElapsedTicks;
  }
}
