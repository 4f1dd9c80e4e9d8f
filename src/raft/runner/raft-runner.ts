// The runner: the one place that drives the pure core with real time, disk and network.
//
// THE ORDER, written once (see drive()): for each Ready,
//   1. persist its hard state, snapshot and entries in one atomic, flushed write;
//   2. send its messages (they promise what step 1 made durable);
//   3. apply its snapshot, then its committed entries, to the state machine; answer reads;
//   4. advance() the core; then cut a snapshot and compact if the policy says so.
// Only then is the next Ready taken. Ticks and incoming messages keep reaching the core while
// a Ready is being written; their effects go into the next one.
import { randomInt } from "node:crypto";
import type { RaftLimits, Refusal } from "../index.js";
import {
  applyConfChange,
  bootstrapEntries,
  type ConfChange,
  type ConfState,
  decodeConfChange,
  type Entry,
  isLearner,
  isVoter,
  type LogIndex,
  type Message,
  type NodeId,
  RaftNode,
  type Ready,
  type Role,
  SeededRandom,
  type SnapshotMetadata,
  toNodeId,
} from "../index.js";
import { RaftRunnerError } from "./errors.js";
import type { LmdbRaftStorage } from "./lmdb-raft-storage.js";
import type { StateMachine } from "./state-machine.js";
import type { RaftTransport } from "./transport.js";

/** Defaults: a heartbeat every 50 ms, elections after 0.5 to 1 s of silence. */
export const TICK_MS_DEFAULT = 50;
export const ELECTION_TIMEOUT_TICKS_DEFAULT = 10;
export const HEARTBEAT_INTERVAL_TICKS_DEFAULT = 1;
/** Cut a snapshot once this many entries were applied since the last one. */
export const SNAPSHOT_EVERY_ENTRIES_DEFAULT = 8192;
/** Entries kept below a snapshot so that slightly lagging followers need no InstallSnapshot. */
export const SNAPSHOT_TRAILING_ENTRIES_DEFAULT = 1024;
/** Default timeout of apply, barrier, verifyLeader and membership changes. */
export const OPERATION_TIMEOUT_MS_DEFAULT = 10_000;
/** Operations waiting for their entry or read to come back; more are refused. */
export const PENDING_OPERATIONS_MAX = 65_536;

export interface RaftRunnerOptions {
  readonly id: string;
  /** Names the cluster; a store written for another cluster is refused. */
  readonly clusterId: string;
  readonly storage: LmdbRaftStorage;
  readonly transport: RaftTransport;
  readonly stateMachine: StateMachine;
  /** The other nodes of the cluster: id -> address. */
  readonly peers?: Readonly<Record<string, string>>;
  /**
   * True on exactly one node of a new cluster: it writes the founding configuration (itself and
   * every peer as voters). Ignored when the store already holds state.
   */
  readonly bootstrap?: boolean;
  readonly tickMs?: number;
  readonly electionTimeoutTicks?: number;
  readonly heartbeatIntervalTicks?: number;
  readonly snapshotEveryEntries?: number;
  readonly snapshotTrailingEntries?: number;
  readonly limits?: Partial<RaftLimits>;
  /** Seeds election timeouts; random by default. */
  readonly randomSeed?: number;
  /** Called once if the runner stops on its own (a failed write, a broken state machine). */
  readonly onFatal?: (error: RaftRunnerError) => void;
}

export interface OperationOptions {
  readonly timeoutMs?: number;
}

export type RunnerState = Role | "shutdown";

export interface ServerInfo {
  readonly id: string;
  readonly suffrage: "voter" | "nonvoter";
  readonly address: string | null;
}

interface Pending {
  readonly resolve: (index: LogIndex) => void;
  readonly reject: (error: RaftRunnerError) => void;
}

interface PendingEntry extends Pending {
  readonly term: number;
}

interface PendingRead extends Pending {
  /** Barrier: resolve once the read index is applied. verifyLeader: as soon as confirmed. */
  readonly waitForApply: boolean;
}

interface SnapshotRequest {
  readonly resolve: (metadata: SnapshotMetadata) => void;
  readonly reject: (error: RaftRunnerError) => void;
}

export class RaftRunner {
  private readonly node: RaftNode;
  private readonly id: NodeId;
  private readonly tickMs: number;
  private readonly electionTimeoutTicks: number;
  private readonly snapshotEveryEntries: number;
  private readonly snapshotTrailingEntries: number;
  private readonly pendingEntries = new Map<number, PendingEntry>();
  private readonly pendingReads = new Map<string, PendingRead>();
  private readonly waitingForApply: { index: LogIndex; pending: Pending }[] = [];
  private readonly snapshotRequests: SnapshotRequest[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private appliedIndex: LogIndex;
  private appliedConfState: ConfState;
  private role: Role;
  private readSequence = 0;
  private stopped = false;
  private closed = false;
  private fatal: RaftRunnerError | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private wakePending = false;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: RaftRunnerOptions,
    private readonly storage: LmdbRaftStorage,
    private readonly transport: RaftTransport,
    private readonly stateMachine: StateMachine,
  ) {
    this.id = toNodeId(options.id);
    this.tickMs = positive("tickMs", options.tickMs ?? TICK_MS_DEFAULT);
    this.electionTimeoutTicks = positive(
      "electionTimeoutTicks",
      options.electionTimeoutTicks ?? ELECTION_TIMEOUT_TICKS_DEFAULT,
    );
    this.snapshotEveryEntries = positive(
      "snapshotEveryEntries",
      options.snapshotEveryEntries ?? SNAPSHOT_EVERY_ENTRIES_DEFAULT,
    );
    this.snapshotTrailingEntries = nonNegative(
      "snapshotTrailingEntries",
      options.snapshotTrailingEntries ?? SNAPSHOT_TRAILING_ENTRIES_DEFAULT,
    );
    const snapshot = storage.snapshot().metadata;
    this.appliedIndex = snapshot.index;
    this.appliedConfState = snapshot.confState;
    this.node = new RaftNode({
      id: this.id,
      storage,
      random: new SeededRandom(options.randomSeed ?? randomInt(1, 2 ** 31)),
      electionTimeoutTicks: this.electionTimeoutTicks,
      heartbeatIntervalTicks: positive(
        "heartbeatIntervalTicks",
        options.heartbeatIntervalTicks ?? HEARTBEAT_INTERVAL_TICKS_DEFAULT,
      ),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
    });
    this.role = this.node.status().role;
  }

  /**
   * Checks (or writes) the store's identity, bootstraps if asked, restores the state machine
   * from the latest snapshot, and starts ticking and serving peers.
   */
  static async start(options: RaftRunnerOptions): Promise<RaftRunner> {
    const { storage, transport, stateMachine } = options;
    const id = toNodeId(options.id);
    if (options.clusterId.length === 0) {
      throw new RaftRunnerError("WITNZ_RAFT_RUNNER_CONFIG", "the cluster id must not be empty");
    }
    const stored = storage.identity();
    if (stored === undefined) {
      if (!storage.isEmpty()) {
        throw new RaftRunnerError(
          "WITNZ_RAFT_IDENTITY",
          "the Raft store holds a log but no node identity; it was not written by this version",
        );
      }
      let bootstrap: ReturnType<typeof bootstrapEntries> | undefined;
      if (options.bootstrap === true) {
        const voters = [id, ...Object.keys(options.peers ?? {}).map(toNodeId)];
        if (new Set(voters).size !== voters.length) {
          throw new RaftRunnerError(
            "WITNZ_RAFT_BOOTSTRAP",
            `node ${id} lists itself among its peers; list only the other nodes`,
          );
        }
        bootstrap = bootstrapEntries(voters);
      }
      await storage.initialize({ nodeId: id, clusterId: options.clusterId }, bootstrap);
    } else if (stored.nodeId !== id || stored.clusterId !== options.clusterId) {
      throw new RaftRunnerError(
        "WITNZ_RAFT_IDENTITY",
        `the Raft store belongs to node "${stored.nodeId}" of cluster "${stored.clusterId}", ` +
          `but this node is configured as "${id}" of cluster "${options.clusterId}"; ` +
          "point it at its own data directory",
      );
    }
    const snapshot = storage.snapshot();
    if (snapshot.metadata.index > 0) await stateMachine.restore(snapshot.data);
    const runner = new RaftRunner(options, storage, transport, stateMachine);
    for (const [peer, address] of Object.entries(options.peers ?? {})) {
      transport.setPeer(toNodeId(peer), address);
    }
    await transport.start((message) => runner.receive(message));
    runner.ticker = setInterval(() => runner.tick(), runner.tickMs);
    runner.loop = runner.drive();
    return runner;
  }

  // ---- the hashicorp-shaped API ----------------------------------------------------------

  /**
   * Appends `data` to the replicated log. Resolves with the entry's index once this node (the
   * leader) has applied it to the state machine. Rejects with WITNZ_RAFT_NOT_LEADER (with the
   * leader hint), WITNZ_RAFT_REFUSED, WITNZ_RAFT_TIMEOUT or WITNZ_RAFT_LEADERSHIP_LOST; after
   * the last two the entry may or may not be applied later.
   */
  apply(data: Uint8Array, options: OperationOptions = {}): Promise<LogIndex> {
    this.ensureRunning();
    if (this.pendingEntries.size >= PENDING_OPERATIONS_MAX) {
      return Promise.reject(new RaftRunnerError("WITNZ_RAFT_REFUSED", "too many pending applies"));
    }
    const result = this.node.propose(data);
    if (!result.accepted) return Promise.reject(this.refusalError(result));
    this.notify();
    return this.awaitEntry(result.index, result.term, options.timeoutMs);
  }

  /** Resolves once every entry committed before the call is applied here (leader only). */
  barrier(options: OperationOptions = {}): Promise<LogIndex> {
    return this.readIndex(true, options.timeoutMs);
  }

  /** Resolves once a quorum of voters confirmed this node still leads. */
  async verifyLeader(options: OperationOptions = {}): Promise<void> {
    await this.readIndex(false, options.timeoutMs);
  }

  /**
   * Adds `id` as a voter: first as a learner (non-voter), then promoted once it has caught up
   * (the leader refuses the promotion while it lags). Resolves when the promotion is applied.
   */
  async addVoter(id: string, address: string, options: OperationOptions = {}): Promise<void> {
    const nodeId = toNodeId(id);
    const deadline = this.deadline(options.timeoutMs);
    this.transport.setPeer(nodeId, address);
    const confState = this.node.status().confState;
    if (isVoter(confState, nodeId)) return;
    if (!isLearner(confState, nodeId)) {
      await this.changeMembership({ type: "add-learner", nodeId }, deadline);
    }
    await this.changeMembership({ type: "add-voter", nodeId }, deadline);
  }

  /** Adds `id` as a non-voting member (a learner): it receives the log, never votes. */
  async addNonvoter(id: string, address: string, options: OperationOptions = {}): Promise<void> {
    const nodeId = toNodeId(id);
    this.transport.setPeer(nodeId, address);
    if (isLearner(this.node.status().confState, nodeId)) return;
    await this.changeMembership({ type: "add-learner", nodeId }, this.deadline(options.timeoutMs));
  }

  /** Removes a voter or non-voter. A removed leader steps down once its removal commits. */
  async removeServer(id: string, options: OperationOptions = {}): Promise<void> {
    await this.changeMembership(
      { type: "remove-node", nodeId: toNodeId(id) },
      this.deadline(options.timeoutMs),
    );
  }

  /**
   * Hands leadership to `id`, or to the most caught-up other voter. Resolves when this node
   * sees the new leader; rejects with WITNZ_RAFT_TIMEOUT if the transfer was abandoned.
   */
  async leadershipTransfer(id?: string, options: OperationOptions = {}): Promise<void> {
    this.ensureRunning();
    const deadline = this.deadline(options.timeoutMs);
    const target = id === undefined ? this.mostCaughtUpVoter() : toNodeId(id);
    if (target === null) {
      throw new RaftRunnerError("WITNZ_RAFT_REFUSED", "there is no other voter to transfer to");
    }
    const result = this.node.transferLeader(target);
    if (!result.accepted) throw this.refusalError(result);
    this.notify();
    while (this.node.status().leader !== target) {
      this.ensureRunning();
      if (Date.now() >= deadline) {
        throw new RaftRunnerError("WITNZ_RAFT_TIMEOUT", `leadership did not move to ${target}`);
      }
      await this.sleep(this.tickMs);
    }
  }

  /** Cuts a snapshot of the state machine now (and compacts the log behind it). */
  snapshot(): Promise<SnapshotMetadata> {
    this.ensureRunning();
    return new Promise((resolve, reject) => {
      this.snapshotRequests.push({ resolve, reject });
      this.notify();
    });
  }

  /** The latest configuration in this node's log (committed or not), with known addresses. */
  configuration(): ServerInfo[] {
    const { voters, learners } = this.node.status().confState;
    const server = (id: NodeId, suffrage: ServerInfo["suffrage"]): ServerInfo => ({
      id,
      suffrage,
      address: id === this.id ? null : (this.transport.peerAddress(id) ?? null),
    });
    return [
      ...voters.map((id) => server(id, "voter")),
      ...learners.map((id) => server(id, "nonvoter")),
    ];
  }

  state(): RunnerState {
    return this.stopped ? "shutdown" : this.node.status().role;
  }

  /** The leader this node knows of, or null. */
  leader(): { readonly id: string; readonly address: string | null } | null {
    const leader = this.node.status().leader;
    return leader === null ? null : this.leaderHint(leader);
  }

  /** Term, commit, applied and log bounds, for metrics and tests. */
  stats(): {
    term: number;
    commitIndex: number;
    appliedIndex: number;
    firstIndex: number;
    lastIndex: number;
    snapshotIndex: number;
  } {
    const status = this.node.status();
    return {
      term: status.term,
      commitIndex: status.commit,
      appliedIndex: this.appliedIndex,
      firstIndex: this.storage.firstIndex(),
      lastIndex: status.lastIndex,
      snapshotIndex: this.storage.snapshot().metadata.index,
    };
  }

  /**
   * Stops ticking and receiving, waits for the Ready being written, fails every pending
   * operation with WITNZ_RAFT_SHUTDOWN, and closes the transport and the store.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.notify();
    await this.loop;
    this.failAll(this.fatal ?? new RaftRunnerError("WITNZ_RAFT_SHUTDOWN", "the node shut down"));
    await this.transport.close();
    await this.storage.close();
  }

  // ---- the loop ----------------------------------------------------------------------------

  private async drive(): Promise<void> {
    try {
      while (!this.stopped) {
        if (this.node.hasReady()) {
          await this.handleReady(this.node.ready());
        } else if (this.snapshotRequests.length > 0) {
          await this.serveSnapshotRequests();
        } else {
          await this.waitForWork();
        }
      }
    } catch (error) {
      this.stopFatally(error);
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    // 1. persist: one atomic, flushed write.
    await this.storage.persist({
      ...(ready.hardState === undefined ? {} : { hardState: ready.hardState }),
      ...(ready.snapshot === undefined ? {} : { snapshot: ready.snapshot }),
      entries: ready.entries,
    });
    // 2. send: only now may messages promise what was just made durable.
    for (const message of ready.messages) this.transport.send(message);
    // 3. apply.
    if (ready.softState !== undefined) this.onRoleChange(ready.softState.role);
    if (ready.snapshot !== undefined) {
      await this.stateMachine.restore(ready.snapshot.data);
      this.appliedIndex = ready.snapshot.metadata.index;
      this.appliedConfState = ready.snapshot.metadata.confState;
      this.settleEntriesThrough(this.appliedIndex, []);
    }
    if (ready.committedEntries.length > 0) await this.applyEntries(ready.committedEntries);
    for (const state of ready.readStates) this.onReadState(state.context, state.index);
    this.releaseWaiters();
    // 4. advance, then the snapshot policy.
    this.node.advance();
    if (this.appliedIndex - this.storage.snapshot().metadata.index >= this.snapshotEveryEntries) {
      await this.cutSnapshot();
    }
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    const normal = entries.filter((entry) => entry.type === "normal");
    if (normal.length > 0) await this.stateMachine.apply(normal);
    for (const entry of entries) {
      if (entry.type === "conf-change") {
        this.appliedConfState = applyConfChange(
          this.appliedConfState,
          decodeConfChange(entry.data),
        );
      }
    }
    this.appliedIndex = entries.at(-1)!.index;
    this.settleEntriesThrough(this.appliedIndex, entries);
  }

  /** Resolves operations whose entry was applied; fails those whose index holds another entry. */
  private settleEntriesThrough(index: LogIndex, applied: readonly Entry[]): void {
    const terms = new Map(applied.map((entry) => [entry.index as number, entry.term as number]));
    for (const [pendingIndex, pending] of this.pendingEntries) {
      if (pendingIndex > index) continue;
      this.pendingEntries.delete(pendingIndex);
      if (terms.get(pendingIndex) === pending.term) {
        pending.resolve(pendingIndex as LogIndex);
      } else {
        pending.reject(
          new RaftRunnerError(
            "WITNZ_RAFT_LEADERSHIP_LOST",
            `the entry proposed at ${pendingIndex} was replaced by another leader's`,
          ),
        );
      }
    }
  }

  private async serveSnapshotRequests(): Promise<void> {
    const requests = this.snapshotRequests.splice(0);
    await this.cutSnapshot();
    const metadata = this.storage.snapshot().metadata;
    for (const request of requests) request.resolve(metadata);
  }

  /** Snapshot at the applied index, then drop all but the trailing entries below it. */
  private async cutSnapshot(): Promise<void> {
    const index = this.appliedIndex;
    if (index <= this.storage.snapshot().metadata.index) return;
    const data = await this.stateMachine.snapshot();
    await this.storage.createSnapshot(index, this.appliedConfState, data);
    const compactTo = index - this.snapshotTrailingEntries;
    if (compactTo >= this.storage.firstIndex()) await this.storage.compact(compactTo as LogIndex);
  }

  private waitForWork(): Promise<void> {
    if (this.wakePending) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }

  private notify(): void {
    const wakeUp = this.wakeUp;
    if (wakeUp === null) {
      this.wakePending = true;
      return;
    }
    this.wakeUp = null;
    wakeUp();
  }

  private tick(): void {
    if (this.stopped) return;
    this.guard(() => this.node.tick());
  }

  private receive(message: Message): void {
    if (this.stopped || message.to !== this.id) return;
    this.guard(() => this.node.step(message));
  }

  private guard(action: () => void): void {
    try {
      action();
      this.notify();
    } catch (error) {
      this.stopFatally(error);
    }
  }

  private stopFatally(error: unknown): void {
    if (this.fatal !== null) return;
    this.fatal =
      error instanceof RaftRunnerError
        ? error
        : new RaftRunnerError("WITNZ_RAFT_SHUTDOWN", `the Raft node stopped: ${messageOf(error)}`, {
            cause: error,
          });
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.failAll(this.fatal);
    this.notify();
    this.options.onFatal?.(this.fatal);
  }

  // ---- pending operations ------------------------------------------------------------------

  private onRoleChange(role: Role): void {
    const wasLeader = this.role === "leader";
    this.role = role;
    if (!wasLeader || role === "leader") return;
    const lost = new RaftRunnerError(
      "WITNZ_RAFT_LEADERSHIP_LOST",
      "leadership was lost before the operation finished; it may still take effect",
    );
    for (const pending of this.pendingEntries.values()) pending.reject(lost);
    this.pendingEntries.clear();
    for (const pending of this.pendingReads.values()) pending.reject(lost);
    this.pendingReads.clear();
  }

  private awaitEntry(index: LogIndex, term: number, timeoutMs?: number): Promise<LogIndex> {
    return new Promise((resolve, reject) => {
      const settle = this.withTimeout(resolve, reject, timeoutMs, () =>
        this.pendingEntries.delete(index),
      );
      this.pendingEntries.set(index, { term, ...settle });
    });
  }

  private readIndex(waitForApply: boolean, timeoutMs?: number): Promise<LogIndex> {
    this.ensureRunning();
    if (this.pendingReads.size >= PENDING_OPERATIONS_MAX) {
      return Promise.reject(new RaftRunnerError("WITNZ_RAFT_REFUSED", "too many pending reads"));
    }
    this.readSequence += 1;
    const context = new TextEncoder().encode(`${this.id}/${this.readSequence}`);
    const key = Buffer.from(context).toString("hex");
    const deadline = this.deadline(timeoutMs);
    return new Promise((resolve, reject) => {
      const settle = this.withTimeout(resolve, reject, timeoutMs, () =>
        this.pendingReads.delete(key),
      );
      const attempt = (): void => {
        if (this.stopped) return;
        const result = this.node.readIndex(context);
        if (result.accepted) {
          this.pendingReads.set(key, { waitForApply, ...settle });
          this.notify();
        } else if (result.code === "leader-not-ready" && Date.now() < deadline) {
          // A new leader answers reads once it has committed an entry of its term.
          this.schedule(attempt, this.tickMs);
        } else {
          settle.reject(this.refusalError(result));
        }
      };
      attempt();
    });
  }

  private onReadState(context: Uint8Array, index: LogIndex): void {
    const key = Buffer.from(context).toString("hex");
    const pending = this.pendingReads.get(key);
    if (pending === undefined) return;
    this.pendingReads.delete(key);
    if (!pending.waitForApply || index <= this.appliedIndex) {
      pending.resolve(index);
    } else {
      this.waitingForApply.push({ index, pending });
    }
  }

  private releaseWaiters(): void {
    for (let i = this.waitingForApply.length - 1; i >= 0; i--) {
      const waiter = this.waitingForApply[i]!;
      if (waiter.index > this.appliedIndex) continue;
      this.waitingForApply.splice(i, 1);
      waiter.pending.resolve(waiter.index);
    }
  }

  private async changeMembership(change: ConfChange, deadline: number): Promise<void> {
    for (;;) {
      this.ensureRunning();
      const result = this.node.proposeConfChange(change);
      if (result.accepted) {
        this.notify();
        await this.awaitEntry(result.index, result.term, Math.max(1, deadline - Date.now()));
        return;
      }
      // These pass by themselves: a change in flight commits, a new leader commits its noop,
      // a learner catches up.
      const transient =
        result.code === "conf-change-pending" ||
        result.code === "leader-not-ready" ||
        result.code === "learner-behind";
      if (!transient) throw this.refusalError(result);
      if (Date.now() >= deadline) {
        throw new RaftRunnerError(
          "WITNZ_RAFT_TIMEOUT",
          `membership change ${change.type} ${change.nodeId} timed out: ${result.reason}`,
          { refusal: result.code },
        );
      }
      await this.sleep(this.tickMs);
    }
  }

  private withTimeout(
    resolve: (index: LogIndex) => void,
    reject: (error: RaftRunnerError) => void,
    timeoutMs: number | undefined,
    forget: () => void,
  ): Pending {
    const timer = this.schedule(() => {
      forget();
      reject(
        new RaftRunnerError(
          "WITNZ_RAFT_TIMEOUT",
          "the operation timed out; its outcome is unknown",
        ),
      );
    }, this.timeout(timeoutMs));
    return {
      resolve: (index) => {
        this.cancel(timer);
        resolve(index);
      },
      reject: (error) => {
        this.cancel(timer);
        forget();
        reject(error);
      },
    };
  }

  private failAll(error: RaftRunnerError): void {
    for (const pending of this.pendingEntries.values()) pending.reject(error);
    this.pendingEntries.clear();
    for (const pending of this.pendingReads.values()) pending.reject(error);
    this.pendingReads.clear();
    for (const waiter of this.waitingForApply.splice(0)) waiter.pending.reject(error);
    for (const request of this.snapshotRequests.splice(0)) request.reject(error);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private refusalError(refusal: Refusal): RaftRunnerError {
    if (refusal.code === "not-leader") {
      return new RaftRunnerError("WITNZ_RAFT_NOT_LEADER", refusal.reason, {
        leader: refusal.leader === null ? null : this.leaderHint(refusal.leader),
        refusal: refusal.code,
      });
    }
    return new RaftRunnerError("WITNZ_RAFT_REFUSED", refusal.reason, {
      refusal: refusal.code,
      leader: refusal.leader === null ? null : this.leaderHint(refusal.leader),
    });
  }

  private leaderHint(id: NodeId): { id: string; address: string | null } {
    return { id, address: id === this.id ? null : (this.transport.peerAddress(id) ?? null) };
  }

  private mostCaughtUpVoter(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const voter of this.node.status().confState.voters) {
      if (voter === this.id) continue;
      const match = this.node.progressOf(voter)?.match ?? 0;
      if (match > bestMatch) {
        best = voter;
        bestMatch = match;
      }
    }
    return best;
  }

  private ensureRunning(): void {
    if (this.fatal !== null) throw this.fatal;
    if (this.stopped) throw new RaftRunnerError("WITNZ_RAFT_SHUTDOWN", "the node is shut down");
  }

  private timeout(timeoutMs: number | undefined): number {
    return positive("timeoutMs", timeoutMs ?? OPERATION_TIMEOUT_MS_DEFAULT);
  }

  private deadline(timeoutMs: number | undefined): number {
    return Date.now() + this.timeout(timeoutMs);
  }

  private schedule(action: () => void, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, delayMs);
    this.timers.add(timer);
    return timer;
  }

  private cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.schedule(resolve, delayMs));
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RaftRunnerError(
      "WITNZ_RAFT_RUNNER_CONFIG",
      `${name} must be a positive integer, got ${value}`,
    );
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RaftRunnerError(
      "WITNZ_RAFT_RUNNER_CONFIG",
      `${name} must be a non-negative integer, got ${value}`,
    );
  }
  return value;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
