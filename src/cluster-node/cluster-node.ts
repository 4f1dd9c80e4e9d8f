// A node's share of the cluster: it reports its capture progress, signs its checkpoint at every
// attestation target the cluster sets, and, while it leads, registers the founding members,
// sequences attestation targets and turns recorded disagreements into alerts. Everything it
// proposes goes through Raft; everything it reacts to is an applied event, so a new leader
// continues from the replicated state. See docs/design/cluster.md, section "Runtime".
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
  type DisagreementRecord,
  encodeCommand,
  nextAttestationSize,
} from "../cluster/index.js";
import { MerkleTree } from "../merkle/index.js";
import { formatLsn, toLsn } from "../postgres/index.js";
import type { StateMachine } from "../raft/index.js";
import type { WitnzStore } from "../store/index.js";
import { ClusterNodeError } from "./errors.js";
import { ClusterStateMachineAdapter } from "./state-machine-adapter.js";

/** How often every node retries what it owes and the leader runs its duties. */
export const DUTY_INTERVAL_MS_DEFAULT = 200;
/** How long one proposal may wait to be applied. */
export const PROPOSE_TIMEOUT_MS_DEFAULT = 5000;

/** The part of the Raft runner the cluster node uses (RaftRunner satisfies it). */
export interface ClusterRaft {
  apply(data: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<unknown>;
  state(): string;
  leader(): { readonly id: string } | null;
}

/** Hands an encoded command to the leader; resolves once the leader applied it. */
export type ForwardToLeader = (leaderId: string, command: Uint8Array) => Promise<void>;

export interface ClusterMember {
  readonly node: string;
  /** Signed-note verifier key of the node's checkpoint signing key. */
  readonly verifierKey: string;
}

export interface ClusterNodeOptions {
  readonly nodeId: string;
  /** `witnz/<cluster>`: the prefix of every table's checkpoint origin. */
  readonly clusterOrigin: string;
  readonly store: WitnzStore;
  readonly signer: NoteSigner;
  /** The founding members, registered by whichever node leads. */
  readonly members: readonly ClusterMember[];
  /** Observation time for signed checkpoints, microseconds since the Unix epoch. */
  readonly nowUnixMicroseconds: () => bigint;
  readonly nowMs?: () => number;
  readonly dutyIntervalMs?: number;
  readonly proposeTimeoutMs?: number;
  /** How a follower's proposals reach the leader; without it only the leader proposes. */
  readonly forwardToLeader?: ForwardToLeader;
  readonly sequencing?: AttestationSequencingPolicy;
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

  constructor(options: ClusterNodeOptions) {
    this.#options = options;
    this.#store = options.store;
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
      } else if (event.type === "node_disagreement" || event.type === "progress_recorded") {
        wake = true;
      }
    }
    this.#options.onEvents?.(events);
    if (wake) this.#schedulePass();
  }

  // A snapshot replaced the state: the latest target of each table is owed unless attested.
  #onRestore(): void {
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
        const leading = this.#raft?.state() === "leader";
        if (leading) await this.#registerMembers();
        await this.#reportProgress();
        await this.#attestTargets();
        if (leading) await this.#leaderDuties();
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
    for (const [table, sizes] of this.#targetsDue) {
      const localSize = this.#store.chainHead(table)?.size ?? 0;
      for (const size of [...sizes].sort((a, b) => a - b)) {
        if (!canAttest(localSize, size)) break;
        const note = this.#signAt(table, size, localSize);
        const sent = await this.#propose(
          { type: "observation", node: this.nodeId, table, size, note },
          `observation of ${table} at ${size}`,
        );
        if (sent) sizes.delete(size);
      }
      if (sizes.size === 0) this.#targetsDue.delete(table);
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

  async #registerMembers(): Promise<void> {
    const registered = new Set(this.machine.nodes().map((node) => node.node));
    for (const member of this.#options.members) {
      if (registered.has(member.node)) continue;
      await this.#propose(
        { type: "node_registered", node: member.node, verifierKey: member.verifierKey },
        `registration of ${member.node}`,
      );
    }
  }

  async #leaderDuties(): Promise<void> {
    for (const table of this.machine.tables()) {
      const size = nextAttestationSize(
        this.machine.sequencingInput(table),
        this.#options.sequencing,
      );
      if (size === undefined) continue;
      await this.#propose({ type: "attestation_target", table, size }, `target ${table} ${size}`);
    }
    await this.#enqueueDisagreementAlerts();
  }

  // Every recorded disagreement gets one outbox alert with its incident id; the outbox refuses a
  // second with the same id, so a repeated pass or a new leader re-checking them sends none twice.
  async #enqueueDisagreementAlerts(): Promise<void> {
    const missing = this.machine
      .disagreements()
      .filter((record) => this.#store.alert(record.incidentId) === undefined);
    if (missing.length === 0) return;
    const batch = this.#store.batch();
    const detectedAt = new Date((this.#options.nowMs ?? Date.now)()).toISOString();
    for (const record of missing) {
      batch.enqueueAlert({
        id: record.incidentId,
        kind: "node_disagreement",
        severity: "critical",
        node: this.nodeId,
        table: record.table,
        detectedAt,
        message: disagreementMessage(record),
      });
    }
    try {
      await this.#store.commit(batch);
    } catch (error) {
      this.#options.onError?.(error, "node_disagreement alerts");
    }
  }

  /** Proposes through the leader; false (and reported) when it was not applied. */
  async #propose(command: ClusterCommand, what: string): Promise<boolean> {
    const raft = this.#raft;
    if (raft === undefined || this.#stopped) return false;
    const data = encodeCommand(command);
    try {
      if (raft.state() === "leader") {
        await raft.apply(data, {
          timeoutMs: this.#options.proposeTimeoutMs ?? PROPOSE_TIMEOUT_MS_DEFAULT,
        });
      } else {
        const leader = raft.leader();
        const forward = this.#options.forwardToLeader;
        if (leader === null || forward === undefined) {
          throw new ClusterNodeError(
            "WITNZ_CLUSTER_NODE_NOT_LEADER",
            leader === null ? "no leader is known" : "this node cannot reach the leader",
          );
        }
        await forward(leader.id, data);
      }
      return true;
    } catch (error) {
      this.#options.onError?.(error, what);
      return false;
    }
  }
}

export function disagreementMessage(record: DisagreementRecord): string {
  const odd = record.oddNodes.length === 0 ? "nobody named" : record.oddNodes.join(", ");
  return (
    `nodes disagree on ${record.table} at size ${record.size} (${record.outcome}); ` +
    `odd node(s) out: ${odd}`
  );
}
