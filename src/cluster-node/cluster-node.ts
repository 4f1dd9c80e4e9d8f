// A node's share of the cluster: it registers itself, reports its capture progress, signs its
// checkpoint at every attestation target the cluster sets, raises its alerts and verification
// results into the replicated state, and, while it leads, sequences attestation targets.
// Everything it proposes goes through Raft; everything it reacts to is an applied event, so a new
// leader continues from the replicated state. See docs/design/cluster.md, section "Runtime".
import type { CommittedBatch } from "../capture/index.js";
import {
  type NoteSigner,
  signCheckpoint,
  tableOrigin,
  witnzExtensions,
} from "../checkpoint/index.js";
import {
  type AttestationSequencingPolicy,
  type ClusterCommand,
  type ClusterEvent,
  type ClusterStateMachine,
  canAttest,
  clipAlertMessage,
  encodeCommand,
  nextAttestationSize,
  type VerificationCounts,
} from "../cluster/index.js";
import { MerkleTree } from "../merkle/index.js";
import { formatLsn, toLsn } from "../postgres/index.js";
import type { StateMachine } from "../raft/index.js";
import type { OutboxAlert, WitnzStore } from "../store/index.js";
import { ClusterNodeError } from "./errors.js";
import { ClusterStateMachineAdapter } from "./state-machine-adapter.js";

/** How often every node retries what it owes and the leader runs its duties. */
export const DUTY_INTERVAL_MS_DEFAULT = 200;
/** How long one proposal may wait to be applied. */
export const PROPOSE_TIMEOUT_MS_DEFAULT = 5000;

/** The part of the Raft runner the cluster node uses (RaftRunner satisfies it). */
export interface ClusterRaft {
  /** Resolves with the command's log index once this node (the leader) applied it. */
  apply(data: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<number>;
  state(): string;
  leader(): { readonly id: string } | null;
}

/** Hands an encoded command to the leader; resolves with its log index once the leader applied it. */
export type ForwardToLeader = (leaderId: string, command: Uint8Array) => Promise<number>;

/** A checkpoint this node signed and proposed, with the RFC 6962 proof from its previous one. */
export interface SignedObservation {
  readonly table: string;
  readonly size: number;
  readonly note: string;
  /** This node's previous attested size of the table (0: none). */
  readonly previousSize: number;
  /** Consistency proof from `previousSize` to `size` (empty when `previousSize` is 0). */
  readonly consistencyProof: Uint8Array[];
  /** The data hash of entry `size`. */
  readonly dataHash: Uint8Array;
}

/** A verification run's outcome as the cluster records it. */
export interface VerificationToRecord {
  readonly table: string;
  readonly timeMicroseconds: number;
  readonly counts: VerificationCounts;
}

export interface ClusterNodeOptions {
  readonly nodeId: string;
  /** `witnz/<cluster>`: the prefix of every table's checkpoint origin. */
  readonly clusterOrigin: string;
  readonly store: WitnzStore;
  readonly signer: NoteSigner;
  /** Signed-note verifier key of `signer`: what this node registers itself with. */
  readonly verifierKey: string;
  /** Observation time for signed checkpoints, microseconds since the Unix epoch. */
  readonly nowUnixMicroseconds: () => bigint;
  readonly dutyIntervalMs?: number;
  readonly proposeTimeoutMs?: number;
  /** How a follower's proposals reach the leader; without it only the leader proposes. */
  readonly forwardToLeader?: ForwardToLeader;
  readonly sequencing?: AttestationSequencingPolicy;
  /**
   * The store was rebuilt from a peer and not yet re-verified: the node marks itself restored
   * (`node_restored`) and does not attest until `reverified()`.
   */
  readonly restoredPending?: boolean;
  /** Each observation this node proposed, for its witnesses (errors are reported, not retried). */
  readonly onObservation?: (observation: SignedObservation) => Promise<void>;
  /** A proposal or duty that failed; it is retried on the next pass. */
  readonly onError?: (error: unknown, what: string) => void;
  /** Every applied event, after the node reacted to it. */
  readonly onEvents?: (events: readonly ClusterEvent[]) => void;
}

export class ClusterNode {
  readonly #options: ClusterNodeOptions;
  readonly #adapter: ClusterStateMachineAdapter;
  readonly #store: WitnzStore;
  #raft: ClusterRaft | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pass: Promise<void> | undefined;
  #passAgain = false;
  #stopped = false;
  /** Tables whose local chain grew since their last accepted progress report. */
  readonly #progressDue = new Set<string>();
  /** Attestation targets this node has yet to sign, per table. */
  readonly #targetsDue = new Map<string, Set<number>>();
  #restoredPending: boolean;
  #snapshotsRestored = 0;
  /** Verification results not yet in the replicated state, oldest first. */
  readonly #verificationsDue: VerificationToRecord[] = [];

  constructor(options: ClusterNodeOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#restoredPending = options.restoredPending ?? false;
    this.#adapter = new ClusterStateMachineAdapter(options.clusterOrigin);
    this.#adapter.onEvents((events) => this.#onEvents(events));
    this.#adapter.onRestore(() => this.#onRestore());
  }

  /** What to give the Raft runner as its state machine. */
  get stateMachine(): StateMachine {
    return this.#adapter;
  }

  /** The replicated state as applied on this node (read only: only Raft changes it). */
  get machine(): ClusterStateMachine {
    return this.#adapter.machine;
  }

  get nodeId(): string {
    return this.#options.nodeId;
  }

  /** Starts the duty timer; `raft` is the runner started with `stateMachine`. */
  start(raft: ClusterRaft): void {
    if (this.#raft !== undefined) throw new Error("cluster node started twice");
    this.#raft = raft;
    for (const table of this.#store.tables()) this.#progressDue.add(table);
    this.#timer = setInterval(
      () => this.#schedulePass(),
      this.#options.dutyIntervalMs ?? DUTY_INTERVAL_MS_DEFAULT,
    );
    this.#schedulePass();
  }

  /** Capture's `onCommitted`: the tables it advanced are reported and may now be signed. */
  captureCommitted(batch: CommittedBatch): void {
    for (const [table, rows] of batch.rowsByTable) if (rows > 0) this.#progressDue.add(table);
    this.#schedulePass();
  }

  /** Records a verification run in the replicated state (retried until it is). */
  recordVerification(result: VerificationToRecord): void {
    this.#verificationsDue.push(result);
    this.#schedulePass();
  }

  /**
   * Raises `alert` in the replicated state, reported by this node, and resolves once this node
   * applied it; throws when it was not recorded (no leader, refused, timed out). The leader
   * delivers it to the sinks. Its id is the incident id: the same incident raised by several
   * nodes is one incident with several reporters.
   */
  async raiseAlert(alert: OutboxAlert): Promise<void> {
    const index = await this.#proposeOrThrow({
      type: "alert_raised",
      alert: { ...alert, message: clipAlertMessage(alert.message) },
    });
    await this.#adapter.waitApplied(index, this.#proposeTimeoutMs());
    const incident = this.machine.incident(alert.id);
    if (incident === undefined || !incident.reporters.includes(this.nodeId)) {
      const rejection = this.machine.rejections().findLast((record) => record.index === index);
      throw new ClusterNodeError(
        "WITNZ_CLUSTER_NODE_REFUSED",
        `the cluster did not record alert ${alert.id}${rejection === undefined ? "" : `: ${rejection.reason}`}`,
      );
    }
  }

  /**
   * Every protected table verified clean after a restore: the cluster counts this node again.
   * Resolves once applied; throws when it was not.
   */
  async reverified(): Promise<void> {
    await this.#proposeOrThrow({ type: "node_reverified", node: this.nodeId });
    this.#restoredPending = false;
    this.#schedulePass();
  }

  /**
   * Whether this node's store holds what the cluster agreed: for each table, the root and chain
   * hash at the agreed size equal the counting nodes' agreed value. A restored store must pass
   * before it counts again. Tables this node has not reached the agreed size of are listed.
   */
  agreesWithCluster(): { readonly ok: boolean; readonly problems: readonly string[] } {
    const problems: string[] = [];
    for (const table of this.machine.tables()) {
      const agreed = this.machine.agreedSize(table);
      if (agreed === 0) continue;
      const localSize = this.#store.chainHead(table)?.size ?? 0;
      if (localSize < agreed) {
        problems.push(`${table}: holds ${localSize} entries, the cluster agreed on ${agreed}`);
        continue;
      }
      const value = this.machine.observations(table, agreed)[0];
      if (value === undefined) continue;
      const root = MerkleTree.open(this.#store.treeNodes(table), localSize).rootAt(agreed);
      const chain = this.#store.chainEntry(table, agreed)?.chainHash;
      if (
        Buffer.from(root).toString("base64") !== value.rootHash ||
        chain === undefined ||
        Buffer.from(chain).toString("base64") !== value.chainHash
      ) {
        problems.push(`${table}: root or chain hash at ${agreed} differs from the agreed value`);
      }
    }
    return { ok: problems.length === 0, problems };
  }

  /** The largest chain size any counting node reported for `table`. */
  furthestReportedSize(table: string): number {
    return Math.max(0, ...this.machine.sequencingInput(table).localSizes.values());
  }

  /** Records that every sink has the incident (the leader, after delivering it). */
  async acknowledgeAlert(incidentId: string): Promise<void> {
    await this.#proposeOrThrow({
      type: "alert_ack",
      incidentId,
      by: this.nodeId,
      timeMicroseconds: Number(this.#options.nowUnixMicroseconds()),
    });
  }

  /** Runs one pass now (tests; the timer runs them otherwise). */
  async runPass(): Promise<void> {
    this.#schedulePass();
    while (this.#pass !== undefined) await this.#pass;
  }

  /** Stops the timer and waits for the pass in flight; the caller then shuts Raft down. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    while (this.#pass !== undefined) await this.#pass;
  }

  #onEvents(events: readonly ClusterEvent[]): void {
    let wake = false;
    for (const event of events) {
      if (event.type === "target_set") {
        this.#targetDue(event.table, event.size);
        wake = true;
      } else if (event.type === "progress_recorded") {
        wake = true;
      }
    }
    this.#options.onEvents?.(events);
    if (wake) this.#schedulePass();
  }

  /** How often a snapshot replaced the state here (a node that joined late: at least once). */
  get snapshotsRestored(): number {
    return this.#snapshotsRestored;
  }

  // A snapshot replaced the state: the latest target of each table is owed unless attested.
  #onRestore(): void {
    this.#snapshotsRestored += 1;
    this.#targetsDue.clear();
    for (const table of this.machine.tables()) {
      const target = this.machine.targetSize(table);
      if (target > this.machine.latestAttestedSize(this.nodeId, table)) {
        this.#targetDue(table, target);
      }
    }
  }

  #targetDue(table: string, size: number): void {
    let sizes = this.#targetsDue.get(table);
    if (sizes === undefined) {
      sizes = new Set();
      this.#targetsDue.set(table, sizes);
    }
    sizes.add(size);
  }

  // One pass at a time; a request during a pass runs another right after it.
  #schedulePass(): void {
    if (this.#stopped || this.#raft === undefined) return;
    if (this.#pass !== undefined) {
      this.#passAgain = true;
      return;
    }
    this.#pass = this.#runPasses().finally(() => {
      this.#pass = undefined;
    });
  }

  async #runPasses(): Promise<void> {
    do {
      this.#passAgain = false;
      try {
        await this.#register();
        await this.#markRestored();
        await this.#reportProgress();
        await this.#attestTargets();
        await this.#reportVerifications();
        if (this.#raft?.state() === "leader") await this.#sequenceTargets();
      } catch (error) {
        this.#options.onError?.(error, "cluster duty pass");
      }
    } while (this.#passAgain && !this.#stopped);
  }

  async #reportProgress(): Promise<void> {
    // Progress from a node the state does not know yet is refused: wait for the registration.
    if (!this.machine.nodes().some((node) => node.node === this.nodeId)) return;
    for (const table of [...this.#progressDue]) {
      const size = this.#store.chainHead(table)?.size ?? 0;
      this.#progressDue.delete(table);
      if (size === 0) continue;
      const sent = await this.#propose(
        { type: "progress", node: this.nodeId, table, size },
        `progress of ${table}`,
      );
      if (!sent) this.#progressDue.add(table);
    }
  }

  async #attestTargets(): Promise<void> {
    // Until it is counted again, a restored node keeps its targets owed instead.
    if (this.#restoredPending) return;
    if (this.machine.nodes().find((node) => node.node === this.nodeId)?.restored === true) return;
    for (const [table, sizes] of this.#targetsDue) {
      const localSize = this.#store.chainHead(table)?.size ?? 0;
      for (const size of [...sizes].sort((a, b) => a - b)) {
        if (!canAttest(localSize, size)) break;
        const previousSize = this.machine.latestAttestedSize(this.nodeId, table);
        const note = this.#signAt(table, size, localSize);
        const sent = await this.#propose(
          { type: "observation", node: this.nodeId, table, size, note },
          `observation of ${table} at ${size}`,
        );
        if (!sent) continue;
        sizes.delete(size);
        await this.#observed(table, size, note, previousSize, localSize);
      }
      if (sizes.size === 0) this.#targetsDue.delete(table);
    }
  }

  /** Hands a proposed observation to `onObservation` (the witnesses), with its proof of growth. */
  async #observed(
    table: string,
    size: number,
    note: string,
    previousSize: number,
    localSize: number,
  ): Promise<void> {
    const hook = this.#options.onObservation;
    if (hook === undefined) return;
    try {
      const tree = MerkleTree.open(this.#store.treeNodes(table), localSize);
      await hook({
        table,
        size,
        note,
        previousSize,
        consistencyProof: previousSize === 0 ? [] : tree.consistencyProof(previousSize, size),
        dataHash: this.#store.chainEntry(table, size)!.dataHash,
      });
    } catch (error) {
      this.#options.onError?.(error, `handing the observation of ${table} at ${size} on`);
    }
  }

  /** The checkpoint of `table` at exactly `size`, from the store: root at size, chain of entry size. */
  #signAt(table: string, size: number, localSize: number): string {
    const entry = this.#store.chainEntry(table, size);
    if (entry === undefined) throw new Error(`${table} has no chain entry ${size}`);
    const tree = MerkleTree.open(this.#store.treeNodes(table), localSize);
    return signCheckpoint(
      {
        origin: tableOrigin(this.#options.clusterOrigin, table),
        size,
        rootHash: tree.rootAt(size),
        extensions: witnzExtensions({
          table,
          chainHash: entry.chainHash,
          lsn: formatLsn(toLsn(entry.lsn)),
          timeMicroseconds: this.#options.nowUnixMicroseconds(),
        }),
      },
      this.#options.signer,
    );
  }

  async #register(): Promise<void> {
    const registered = this.machine.nodes().find((node) => node.node === this.nodeId);
    if (registered !== undefined) return;
    await this.#propose(
      { type: "node_registered", node: this.nodeId, verifierKey: this.#options.verifierKey },
      `registration of ${this.nodeId}`,
    );
  }

  // A restored store's observations must not count before it is re-verified: say so first.
  async #markRestored(): Promise<void> {
    if (!this.#restoredPending) return;
    const record = this.machine.nodes().find((node) => node.node === this.nodeId);
    if (record === undefined || record.restored) return;
    await this.#propose({ type: "node_restored", node: this.nodeId }, "node_restored");
  }

  async #reportVerifications(): Promise<void> {
    while (this.#verificationsDue.length > 0) {
      const result = this.#verificationsDue[0]!;
      const { counts } = result;
      const sent = await this.#propose(
        {
          type: "verification_result",
          node: this.nodeId,
          table: result.table,
          timeMicroseconds: result.timeMicroseconds,
          ok: counts.modified === 0 && counts.deleted === 0 && counts.phantom === 0,
          counts,
        },
        `verification result of ${result.table}`,
      );
      if (!sent) return;
      this.#verificationsDue.shift();
    }
  }

  async #sequenceTargets(): Promise<void> {
    for (const table of this.machine.tables()) {
      const size = nextAttestationSize(
        this.machine.sequencingInput(table),
        this.#options.sequencing,
      );
      if (size === undefined) continue;
      await this.#propose({ type: "attestation_target", table, size }, `target ${table} ${size}`);
    }
  }

  /** Proposes through the leader; false (and reported) when it was not applied. */
  async #propose(command: ClusterCommand, what: string): Promise<boolean> {
    try {
      await this.#proposeOrThrow(command);
      return true;
    } catch (error) {
      this.#options.onError?.(error, what);
      return false;
    }
  }

  /** Resolves with the command's log index once the leader applied it. */
  async #proposeOrThrow(command: ClusterCommand): Promise<number> {
    const raft = this.#raft;
    if (raft === undefined || this.#stopped) {
      throw new ClusterNodeError("WITNZ_CLUSTER_NODE_STOPPED", "the cluster node is not running");
    }
    const data = encodeCommand(command);
    if (raft.state() === "leader") {
      return raft.apply(data, { timeoutMs: this.#proposeTimeoutMs() });
    }
    const leader = raft.leader();
    const forward = this.#options.forwardToLeader;
    if (leader === null || forward === undefined) {
      throw new ClusterNodeError(
        "WITNZ_CLUSTER_NODE_NOT_LEADER",
        leader === null ? "no leader is known" : "this node cannot reach the leader",
      );
    }
    return forward(leader.id, data);
  }

  #proposeTimeoutMs(): number {
    return this.#options.proposeTimeoutMs ?? PROPOSE_TIMEOUT_MS_DEFAULT;
  }
}
