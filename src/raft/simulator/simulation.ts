// A whole cluster in one process, driven step by step from one seed. Nodes are real RaftNodes
// over simulated durable stores; the network, disks, crashes, partitions, membership changes
// and clients are simulated. Every step ends with the invariant checks; the run ends with the
// history check and a liveness check after all faults heal.
import {
  bootstrapEntries,
  type ConfChange,
  type FaultInjection,
  type LogIndex,
  MemoryStorage,
  members,
  type NodeId,
  RaftError,
  RaftNode,
  type Ready,
  SeededRandom,
  toNodeId,
} from "../index.js";
import { InvariantChecker, type LiveNode, Violation } from "./checker.js";
import { type NetworkFaults, SimulatedNetwork } from "./network.js";
import { decodeProposal, encodeProposal, SimulatedStateMachine } from "./state-machine.js";

/** Simulated time: a step is the smallest unit; a Raft tick is `STEPS_PER_TICK` steps. */
export const STEPS_PER_TICK = 10;
export const ELECTION_TIMEOUT_TICKS = 10;
export const HEARTBEAT_INTERVAL_TICKS = 2;
/** Nodes ever created in one run (founders plus joiners). */
export const NODES_MAX = 9;

export interface SimulationOptions {
  readonly seed: number;
  /** Steps of faults before everything heals. */
  readonly chaosSteps?: number;
  /** Steps after healing within which the cluster must have caught up. */
  readonly livenessBoundSteps?: number;
  /** Deliberate core bugs, to prove the checker catches them. */
  readonly faultInjection?: FaultInjection;
  /** Receives a line per event; pass one to trace a replay. */
  readonly trace?: (line: string) => void;
  /** Also trace every message delivery. */
  readonly traceMessages?: boolean;
}

export interface SimulationStats {
  nodes: number;
  steps: number;
  messagesSent: number;
  messagesDropped: number;
  proposalsAccepted: number;
  proposalsAcknowledged: number;
  readsConfirmed: number;
  leadersElected: number;
  termMax: number;
  crashes: number;
  partitions: number;
  membershipChanges: number;
  leadershipTransfers: number;
  snapshotsInstalled: number;
  appliedIndexMax: number;
}

export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: {
    readonly invariant: string;
    readonly message: string;
    readonly step: number;
  };
  readonly stats: SimulationStats;
}

interface SimulatedNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  raft: RaftNode | null;
  stateMachine: SimulatedStateMachine;
  write: { ready: Ready; completeStep: number } | null;
  readonly tickPhase: number;
  diskLatencyStepsMax: number;
  slowDiskUntilStep: number;
  restartStep: number;
  incarnation: number;
  /** Proposals this node accepted, by log index, waiting to be applied here. */
  proposals: Map<number, ProposalRecord>;
}

interface ProposalRecord {
  readonly id: number;
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly proposedAt: number;
  acknowledgedAt: number | null;
}

interface ReadRecord {
  readonly node: NodeId;
  /** The highest index acknowledged to any client before the read began. */
  readonly requiredIndex: number;
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  const simulation = new Simulation(options);
  return simulation.run();
}

class Simulation {
  private readonly random: SeededRandom;
  private readonly network: SimulatedNetwork;
  private readonly checker = new InvariantChecker();
  private readonly nodes = new Map<NodeId, SimulatedNode>();
  private readonly chaosSteps: number;
  private readonly livenessBoundSteps: number;
  private readonly trace: ((line: string) => void) | undefined;
  private readonly stats: SimulationStats;
  private readonly faults: NetworkFaults;
  private readonly proposals: ProposalRecord[] = [];
  private readonly reads = new Map<number, ReadRecord>();
  private step = 0;
  /** Orders client-visible events (proposals, acknowledgements, reads) in simulated time. */
  private clock = 0;
  private acknowledgedIndexMax = 0;
  private nextProposalId = 1;
  private nextReadId = 1;
  private partitionHealStep = -1;
  private lastLeaderTerm = new Map<NodeId, number>();
  private healed = false;
  private probeIds: number[] = [];
  private lastProbeStep = -1;

  // Per-seed fault rates, per step.
  private readonly proposeProbability: number;
  private readonly crashProbability: number;
  private readonly partitionProbability: number;
  private readonly membershipProbability: number;
  private readonly transferProbability: number;
  private readonly readProbability: number;
  private readonly slowDiskProbability: number;
  private readonly compactEveryEntries: number;

  constructor(private readonly options: SimulationOptions) {
    this.random = new SeededRandom(options.seed);
    const random = this.random;
    this.chaosSteps = options.chaosSteps ?? 3000;
    this.livenessBoundSteps = options.livenessBoundSteps ?? 6000;
    this.trace = options.trace;
    this.faults = {
      dropProbability: random.pick([0, 0.01, 0.05, 0.1, 0.2]),
      duplicateProbability: random.pick([0, 0, 0.02, 0.1]),
      delayStepsMin: 1,
      delayStepsMax: random.pick([1, 3, 10, 30]),
    };
    this.network = new SimulatedNetwork(new SeededRandom(random.nextUint32()), { ...this.faults });
    this.proposeProbability = random.pick([0.02, 0.05, 0.1]);
    this.crashProbability = random.pick([0, 0.0005, 0.001, 0.002]);
    this.partitionProbability = random.pick([0, 0.0005, 0.001, 0.002]);
    this.membershipProbability = random.pick([0, 0.001, 0.003]);
    this.transferProbability = random.pick([0, 0.0005, 0.002]);
    this.readProbability = random.pick([0, 0.005, 0.02]);
    this.slowDiskProbability = random.pick([0, 0.0005, 0.002]);
    this.compactEveryEntries = random.pick([8, 20, 50, 100_000]);
    const founders = random.pick([1, 2, 3, 3, 3, 3, 4, 5, 5]);
    const diskLatencyStepsMax = random.pick([0, 0, 2, 5, 20]);
    const ids: NodeId[] = [];
    for (let i = 1; i <= founders; i++) ids.push(toNodeId(`n${i}`));
    const bootstrap = bootstrapEntries(ids);
    for (const id of ids) {
      const storage = new MemoryStorage();
      storage.append(bootstrap.entries);
      storage.setHardState(bootstrap.hardState);
      this.addNode(id, storage, diskLatencyStepsMax);
    }
    this.stats = {
      nodes: founders,
      steps: 0,
      messagesSent: 0,
      messagesDropped: 0,
      proposalsAccepted: 0,
      proposalsAcknowledged: 0,
      readsConfirmed: 0,
      leadersElected: 0,
      termMax: 0,
      crashes: 0,
      partitions: 0,
      membershipChanges: 0,
      leadershipTransfers: 0,
      snapshotsInstalled: 0,
      appliedIndexMax: 0,
    };
    this.log(
      `seed ${options.seed}: ${founders} nodes, drop ${this.faults.dropProbability}, duplicate ` +
        `${this.faults.duplicateProbability}, delay 1-${this.faults.delayStepsMax} steps, disk 0-${diskLatencyStepsMax}`,
    );
  }

  run(): SimulationResult {
    try {
      const end = this.chaosSteps + this.livenessBoundSteps;
      for (this.step = 0; this.step <= end; this.step++) {
        if (this.step < this.chaosSteps) this.injectFaults();
        else if (!this.healed) this.heal();
        this.deliverMessages();
        this.tickNodes();
        for (const node of this.nodes.values()) this.runDisk(node);
        this.checker.afterStep(this.liveNodes());
        this.observeLeaders();
        if (this.healed && this.livenessReached()) break;
      }
      if (!this.livenessReached()) {
        throw new Violation(
          "liveness",
          `the cluster did not catch up within ${this.livenessBoundSteps} steps after healing ` +
            `(leader ${this.currentLeader()?.id ?? "none"}, acknowledged up to ${this.acknowledgedIndexMax}; ` +
            `${this.describeNodes()})`,
        );
      }
      this.checkHistory();
      this.checker.checkDurableLogs(
        new Map([...this.nodes].map(([id, node]) => [id, node.storage])),
      );
      return this.result();
    } catch (error) {
      if (error instanceof Violation) return this.result(error.invariant, error.message);
      if (error instanceof RaftError) return this.result("core-assertion", error.message);
      throw error;
    }
  }

  private result(invariant?: string, message?: string): SimulationResult {
    this.stats.steps = this.step;
    this.stats.messagesSent = this.network.sentCount;
    this.stats.messagesDropped = this.network.droppedCount;
    this.stats.appliedIndexMax = Math.max(
      ...[...this.nodes.values()].map((n) => n.stateMachine.appliedIndex),
    );
    if (invariant === undefined) return { seed: this.options.seed, ok: true, stats: this.stats };
    this.log(`VIOLATION ${invariant}: ${message}`);
    return {
      seed: this.options.seed,
      ok: false,
      violation: { invariant, message: message ?? "", step: this.step },
      stats: this.stats,
    };
  }

  private log(line: string): void {
    this.trace?.(`[${String(this.step).padStart(5)}] ${line}`);
  }

  // ---------------------------------------------------------------- nodes

  private addNode(id: NodeId, storage: MemoryStorage, diskLatencyStepsMax: number): SimulatedNode {
    const node: SimulatedNode = {
      id,
      storage,
      raft: null,
      stateMachine: new SimulatedStateMachine(),
      write: null,
      tickPhase: this.random.nextInt(STEPS_PER_TICK),
      diskLatencyStepsMax,
      slowDiskUntilStep: 0,
      restartStep: 0,
      incarnation: 0,
      proposals: new Map(),
    };
    this.nodes.set(id, node);
    this.start(node);
    return node;
  }

  private start(node: SimulatedNode): void {
    node.incarnation++;
    node.raft = new RaftNode({
      id: node.id,
      storage: node.storage,
      random: new SeededRandom(this.random.nextUint32()),
      electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
      heartbeatIntervalTicks: HEARTBEAT_INTERVAL_TICKS,
      // Small limits so that the bounds themselves are exercised.
      limits: { messageEntriesMax: 8, inflightMessagesMax: 4, learnerLagEntriesMax: 4 },
      ...(this.options.faultInjection === undefined
        ? {}
        : { faultInjection: this.options.faultInjection }),
    });
    node.stateMachine = new SimulatedStateMachine();
    node.stateMachine.restore(node.storage.snapshot());
    node.write = null;
    node.proposals = new Map();
  }

  private crash(node: SimulatedNode): void {
    this.log(`crash ${node.id}${node.write === null ? "" : " (losing an unflushed write)"}`);
    node.raft = null;
    node.write = null; // the unflushed write is lost
    node.proposals = new Map();
    node.restartStep = this.step + this.random.nextIntBetween(50, 1000);
    this.stats.crashes++;
  }

  private restart(node: SimulatedNode): void {
    this.start(node);
    this.log(
      `restart ${node.id} at term ${node.raft!.status().term}, commit ${node.raft!.status().commit}`,
    );
    this.checker.onRestart(this.live(node)!);
  }

  private live(node: SimulatedNode): LiveNode | undefined {
    return node.raft === null ? undefined : { id: node.id, raft: node.raft, storage: node.storage };
  }

  private liveNodes(): LiveNode[] {
    const live: LiveNode[] = [];
    for (const node of this.nodes.values()) {
      const view = this.live(node);
      if (view !== undefined) live.push(view);
    }
    return live;
  }

  private tickNodes(): void {
    for (const node of this.nodes.values()) {
      if (node.raft === null) {
        if (this.step >= node.restartStep && (this.healed || this.random.chance(0.5))) {
          this.restart(node);
        }
        continue;
      }
      if ((this.step + node.tickPhase) % STEPS_PER_TICK === 0) node.raft.tick();
    }
  }

  private deliverMessages(): void {
    for (const message of this.network.deliverDue(this.step)) {
      const node = this.nodes.get(message.to);
      if (node?.raft == null) continue;
      if (this.options.traceMessages === true) {
        this.log(`deliver ${message.from}->${message.to} ${message.type} term ${message.term}`);
      }
      this.checker.onVoteRequestDelivered(this.live(node)!, message);
      node.raft.step(message);
    }
  }

  /** The simulated disk: one Ready at a time is written, taking some steps, then completed. */
  private runDisk(node: SimulatedNode): void {
    if (node.raft === null) return;
    if (node.write !== null && this.step >= node.write.completeStep) this.completeWrite(node);
    if (node.write === null && node.raft.hasReady()) {
      const ready = node.raft.ready();
      const slow = this.step < node.slowDiskUntilStep;
      const latency = slow
        ? this.random.nextIntBetween(20, 100)
        : this.random.nextIntBetween(0, node.diskLatencyStepsMax);
      node.write = { ready, completeStep: this.step + latency };
      if (latency === 0) this.completeWrite(node);
    }
  }

  /** The Ready contract: persist, then send, then apply, then advance. */
  private completeWrite(node: SimulatedNode): void {
    const raft = node.raft!;
    const { ready } = node.write!;
    node.write = null;
    const storage = node.storage;
    if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
    if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
    storage.append(ready.entries);
    const view = this.live(node)!;
    this.checker.onPersist(view, ready);

    for (const message of ready.messages) {
      this.checker.onSend(view, message);
      this.network.send(message, this.step);
    }

    if (ready.softState !== undefined) {
      this.log(
        `${node.id} is ${ready.softState.role} (leader ${ready.softState.leader ?? "none"})`,
      );
    }
    const machine = node.stateMachine;
    if (ready.snapshot !== undefined) {
      machine.restore(ready.snapshot);
      this.checker.onRestoreSnapshot(node.id, ready.snapshot, machine.digest);
      this.stats.snapshotsInstalled++;
      this.log(`${node.id} installed snapshot at ${ready.snapshot.metadata.index}`);
    }
    for (const entry of ready.committedEntries) {
      machine.apply(entry);
      this.checker.onApply(node.id, entry, machine.digest);
      const proposal = node.proposals.get(entry.index);
      if (proposal !== undefined) {
        node.proposals.delete(entry.index);
        if (
          entry.type === "normal" &&
          entry.term === proposal.term &&
          decodeProposal(entry.data) === proposal.id
        ) {
          proposal.acknowledgedAt = ++this.clock;
          this.acknowledgedIndexMax = Math.max(this.acknowledgedIndexMax, entry.index);
          this.stats.proposalsAcknowledged++;
        }
      }
    }
    for (const state of ready.readStates) {
      const readId = Number(new TextDecoder().decode(state.context));
      const read = this.reads.get(readId);
      if (read === undefined) continue;
      this.reads.delete(readId);
      if (state.index < read.requiredIndex) {
        throw new Violation(
          "read-linearizability",
          `read ${readId} on ${read.node} got index ${state.index}; ${read.requiredIndex} was acknowledged before it began`,
        );
      }
      this.stats.readsConfirmed++;
    }
    raft.advance();
    this.maybeCompact(node);
  }

  private maybeCompact(node: SimulatedNode): void {
    const machine = node.stateMachine;
    const storage = node.storage;
    const snapshotIndex = storage.snapshot().metadata.index;
    if (machine.appliedIndex - snapshotIndex < this.compactEveryEntries) return;
    storage.createSnapshot(machine.appliedIndex, machine.confState, machine.snapshotData());
    const trailingEntries = this.random.nextInt(4);
    storage.compact((machine.appliedIndex - trailingEntries) as LogIndex);
  }

  private observeLeaders(): void {
    for (const node of this.nodes.values()) {
      if (node.raft === null) continue;
      const status = node.raft.status();
      this.stats.termMax = Math.max(this.stats.termMax, status.term);
      if (status.role === "leader" && this.lastLeaderTerm.get(node.id) !== status.term) {
        this.lastLeaderTerm.set(node.id, status.term);
        this.stats.leadersElected++;
      }
    }
  }

  private describeNodes(): string {
    return [...this.nodes.values()]
      .map((node) => {
        const status = node.raft?.status();
        if (status === undefined) return `${node.id} down`;
        const { voters, learners } = status.confState;
        return (
          `${node.id} ${status.role} term ${status.term} last ${status.lastIndex} commit ` +
          `${status.commit} applied ${node.stateMachine.appliedIndex} voters [${voters.join(",")}]` +
          ` learners [${learners.join(",")}]`
        );
      })
      .join("; ");
  }

  private currentLeader(): SimulatedNode | undefined {
    let best: SimulatedNode | undefined;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      const status = node.raft?.status();
      if (status?.role === "leader" && status.term > bestTerm) {
        best = node;
        bestTerm = status.term;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- clients

  private propose(target: SimulatedNode): ProposalRecord | undefined {
    const raft = target.raft;
    if (raft === null) return undefined;
    const id = this.nextProposalId++;
    const result = raft.propose(encodeProposal(id));
    if (!result.accepted) return undefined;
    const record: ProposalRecord = {
      id,
      node: target.id,
      index: result.index,
      term: result.term,
      proposedAt: ++this.clock,
      acknowledgedAt: null,
    };
    this.proposals.push(record);
    target.proposals.set(result.index, record);
    this.stats.proposalsAccepted++;
    return record;
  }

  private clientTarget(): SimulatedNode | undefined {
    const leader = this.currentLeader();
    if (leader !== undefined && this.random.chance(0.9)) return leader;
    const live = [...this.nodes.values()].filter((node) => node.raft !== null);
    return live.length === 0 ? undefined : this.random.pick(live);
  }

  private read(): void {
    const target = this.clientTarget();
    if (target?.raft == null) return;
    const id = this.nextReadId++;
    const result = target.raft.readIndex(new TextEncoder().encode(String(id)));
    if (result.accepted) {
      this.reads.set(id, { node: target.id, requiredIndex: this.acknowledgedIndexMax });
    }
  }

  // ---------------------------------------------------------------- faults

  private injectFaults(): void {
    const random = this.random;
    if (this.partitionHealStep === this.step) {
      this.network.healAll();
      this.log("partition healed");
    }
    if (random.chance(this.proposeProbability)) {
      const target = this.clientTarget();
      if (target !== undefined) this.propose(target);
    }
    if (random.chance(this.readProbability)) this.read();
    if (random.chance(this.crashProbability)) {
      const live = [...this.nodes.values()].filter((node) => node.raft !== null);
      if (live.length > 0) this.crash(random.pick(live));
    }
    if (random.chance(this.partitionProbability) && this.network.cutLinkCount() === 0) {
      this.partition();
    }
    if (random.chance(this.slowDiskProbability)) {
      const node = random.pick([...this.nodes.values()]);
      node.slowDiskUntilStep = this.step + random.nextIntBetween(100, 1000);
      this.log(`${node.id} disk is slow until step ${node.slowDiskUntilStep}`);
    }
    if (random.chance(this.membershipProbability)) this.changeMembership();
    if (random.chance(this.transferProbability)) this.transferLeadership();
  }

  private partition(): void {
    const random = this.random;
    const ids = [...this.nodes.keys()];
    if (ids.length < 2) return;
    const kind = random.pick(["split", "isolate", "one-way"] as const);
    if (kind === "split" || kind === "isolate") {
      const shuffled = ids.map((id) => ({ id, key: random.nextUint32() }));
      shuffled.sort((a, b) => a.key - b.key);
      const cut = kind === "isolate" ? 1 : random.nextIntBetween(1, ids.length - 1);
      const left = shuffled.slice(0, cut).map((item) => item.id);
      const right = shuffled.slice(cut).map((item) => item.id);
      for (const a of left) {
        for (const b of right) {
          this.network.cut(a, b);
          this.network.cut(b, a);
        }
      }
      this.log(`partition ${left.join(",")} | ${right.join(",")}`);
    } else {
      const links: string[] = [];
      for (let i = random.nextIntBetween(1, 3); i > 0; i--) {
        const from = random.pick(ids);
        const to = random.pick(ids.filter((id) => id !== from));
        this.network.cut(from, to);
        links.push(`${from}->${to}`);
      }
      this.log(`one-way cuts ${links.join(" ")}`);
    }
    this.stats.partitions++;
    this.partitionHealStep = this.step + random.nextIntBetween(100, 1500);
  }

  private changeMembership(): void {
    const leader = this.currentLeader();
    if (leader?.raft == null) return;
    const random = this.random;
    const confState = leader.raft.status().confState;
    const choices: ConfChange[] = [];
    if (this.nodes.size < NODES_MAX) {
      const newId = toNodeId(`n${this.nodes.size + 1}`);
      choices.push({ type: "add-learner", nodeId: newId });
      if (confState.voters.length < 5) choices.push({ type: "add-voter", nodeId: newId });
    }
    for (const learner of confState.learners) choices.push({ type: "add-voter", nodeId: learner });
    if (confState.voters.length > 1) {
      for (const member of members(confState))
        choices.push({ type: "remove-node", nodeId: member });
    }
    if (choices.length === 0) return;
    const change = random.pick(choices);
    const result = leader.raft.proposeConfChange(change);
    this.log(
      `${leader.id} proposes ${change.type} ${change.nodeId}: ` +
        (result.accepted ? `accepted at ${result.index}` : `refused (${result.reason})`),
    );
    if (!result.accepted) return;
    this.stats.membershipChanges++;
    if (!this.nodes.has(change.nodeId)) {
      this.addNode(change.nodeId, new MemoryStorage(), random.pick([0, 2, 5]));
      this.stats.nodes++;
    }
  }

  private transferLeadership(): void {
    const leader = this.currentLeader();
    if (leader?.raft == null) return;
    const voters = leader.raft.status().confState.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const target = this.random.pick(voters);
    const result = leader.raft.transferLeader(target);
    this.log(
      `${leader.id} transfers leadership to ${target}: ${result.accepted ? "started" : result.reason}`,
    );
    if (result.accepted) this.stats.leadershipTransfers++;
  }

  // ---------------------------------------------------------------- the end

  private heal(): void {
    this.healed = true;
    this.network.healAll();
    this.network.faults = { ...this.faults, dropProbability: 0, duplicateProbability: 0 };
    for (const node of this.nodes.values()) {
      node.slowDiskUntilStep = 0;
      node.restartStep = Math.min(node.restartStep, this.step);
    }
    this.log("all faults healed");
  }

  /**
   * After healing: a leader must accept a probe proposal and acknowledge it, and every live
   * member must apply everything acknowledged so far.
   */
  private livenessReached(): boolean {
    const leader = this.currentLeader();
    if (leader?.raft == null) return false;
    const acknowledgedProbe = this.probeIds.some(
      (id) => this.proposals.find((proposal) => proposal.id === id)?.acknowledgedAt != null,
    );
    if (!acknowledgedProbe) {
      if (this.step - this.lastProbeStep >= 50 * STEPS_PER_TICK || this.lastProbeStep < 0) {
        const probe = this.propose(leader);
        if (probe !== undefined) {
          this.probeIds.push(probe.id);
          this.lastProbeStep = this.step;
        }
      }
      return false;
    }
    const confState = leader.raft.status().confState;
    for (const id of members(confState)) {
      const node = this.nodes.get(id);
      if (node === undefined || node.raft === null) return false;
      if (node.stateMachine.appliedIndex < this.acknowledgedIndexMax) return false;
    }
    return true;
  }

  /**
   * The client-visible history: every acknowledged proposal appears in the applied log exactly
   * once, no proposal appears twice, and if A was acknowledged before B was proposed, A comes
   * first (linearizability of the log order).
   */
  private checkHistory(): void {
    const indexOf = new Map<number, number>();
    for (const [index, applied] of this.checker.applied) {
      if (!applied.key.startsWith("p")) continue;
      const id = Number(applied.key.slice(1));
      if (indexOf.has(id)) {
        throw new Violation("history", `proposal ${id} applied at ${indexOf.get(id)} and ${index}`);
      }
      indexOf.set(id, index);
    }
    for (const proposal of this.proposals) {
      if (proposal.acknowledgedAt === null) continue;
      const index = indexOf.get(proposal.id);
      if (index === undefined) {
        throw new Violation(
          "history",
          `acknowledged proposal ${proposal.id} is not in the applied log`,
        );
      }
      if (index !== proposal.index) {
        throw new Violation(
          "history",
          `proposal ${proposal.id} acknowledged at ${proposal.index}, applied at ${index}`,
        );
      }
    }
    // Walk events in time order: a proposal must land after everything acknowledged before it.
    const events: { at: number; kind: "propose" | "acknowledge"; proposal: ProposalRecord }[] = [];
    for (const proposal of this.proposals) {
      events.push({ at: proposal.proposedAt, kind: "propose", proposal });
      if (proposal.acknowledgedAt !== null) {
        events.push({ at: proposal.acknowledgedAt, kind: "acknowledge", proposal });
      }
    }
    events.sort((a, b) => a.at - b.at);
    let acknowledgedMax = 0;
    let acknowledgedMaxId = 0;
    for (const event of events) {
      const index = indexOf.get(event.proposal.id);
      if (event.kind === "acknowledge") {
        if (index! > acknowledgedMax) {
          acknowledgedMax = index!;
          acknowledgedMaxId = event.proposal.id;
        }
      } else if (index !== undefined && index < acknowledgedMax) {
        throw new Violation(
          "history",
          `proposal ${event.proposal.id} (index ${index}) was proposed after proposal ` +
            `${acknowledgedMaxId} (index ${acknowledgedMax}) was acknowledged, yet precedes it`,
        );
      }
    }
  }
}
