// A tiny in-process cluster for unit tests: every Ready is persisted at once, then its
// messages are queued, then its entries applied. Delivery is explicit, so a test controls
// exactly which messages arrive.
import {
  bootstrapEntries,
  type Entry,
  type FaultInjection,
  MemoryStorage,
  type Message,
  type NodeId,
  RaftNode,
  type ReadState,
  SeededRandom,
  toNodeId,
} from "../../src/raft/index.js";

export const ELECTION_TIMEOUT_TICKS = 10;

export interface TestNode {
  readonly id: NodeId;
  raft: RaftNode;
  readonly storage: MemoryStorage;
  readonly applied: Entry[];
  readonly readStates: ReadState[];
}

export const id = (name: string): NodeId => toNodeId(name);

export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Links for which messages are silently dropped, as "from>to". */
  readonly cut = new Set<string>();
  /** Messages for which this returns false are dropped. */
  filter: (message: Message) => boolean = () => true;
  private seed = 1;

  constructor(
    founders: readonly string[],
    private readonly faultInjection?: FaultInjection,
  ) {
    const ids = founders.map(id);
    const bootstrap = bootstrapEntries(ids);
    for (const nodeId of ids) {
      const storage = new MemoryStorage();
      storage.append(bootstrap.entries);
      storage.setHardState(bootstrap.hardState);
      this.add(nodeId, storage);
    }
  }

  add(nodeId: NodeId, storage = new MemoryStorage()): TestNode {
    const node: TestNode = {
      id: nodeId,
      raft: this.newRaft(nodeId, storage),
      storage,
      applied: [],
      readStates: [],
    };
    this.nodes.set(nodeId, node);
    return node;
  }

  private newRaft(nodeId: NodeId, storage: MemoryStorage): RaftNode {
    return new RaftNode({
      id: nodeId,
      storage,
      random: new SeededRandom(this.seed++),
      electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
      heartbeatIntervalTicks: 1,
      limits: { learnerLagEntriesMax: 2 },
      ...(this.faultInjection === undefined ? {} : { faultInjection: this.faultInjection }),
    });
  }

  /** Simulates a crash and restart from durable storage. */
  restart(name: string): void {
    const node = this.node(name);
    node.raft = this.newRaft(node.id, node.storage);
    node.applied.length = 0;
  }

  node(name: string): TestNode {
    const node = this.nodes.get(id(name));
    if (node === undefined) throw new Error(`no node ${name}`);
    return node;
  }

  raft(name: string): RaftNode {
    return this.node(name).raft;
  }

  isolate(name: string): void {
    for (const other of this.nodes.keys()) {
      if (other === name) continue;
      this.cut.add(`${name}>${other}`);
      this.cut.add(`${other}>${name}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Runs the Ready loop of every node: persist, queue messages, apply, advance. */
  process(): void {
    for (const node of this.nodes.values()) {
      while (node.raft.hasReady()) {
        const ready = node.raft.ready();
        if (ready.hardState !== undefined) node.storage.setHardState(ready.hardState);
        if (ready.snapshot !== undefined) node.storage.applySnapshot(ready.snapshot);
        node.storage.append(ready.entries);
        for (const message of ready.messages) {
          if (!this.cut.has(`${message.from}>${message.to}`) && this.filter(message)) {
            this.queue.push(message);
          }
        }
        node.applied.push(...ready.committedEntries);
        node.readStates.push(...ready.readStates);
        node.raft.advance();
      }
    }
  }

  /** Delivers queued messages (and the messages they cause) until the network is quiet. */
  deliverAll(roundsMax = 1000): void {
    for (let round = 0; round < roundsMax; round++) {
      this.process();
      if (this.queue.length === 0) return;
      const messages = this.queue;
      this.queue = [];
      for (const message of messages) this.nodes.get(message.to)?.raft.step(message);
    }
    throw new Error("the network did not go quiet");
  }

  tick(names: readonly string[], ticks: number): void {
    for (let i = 0; i < ticks; i++) {
      for (const name of names) this.raft(name).tick();
      this.deliverAll();
    }
  }

  /** Makes `name` leader by letting only it time out. */
  elect(name: string): void {
    this.tick([name], 2 * ELECTION_TIMEOUT_TICKS);
    if (this.raft(name).status().role !== "leader") throw new Error(`${name} did not win`);
  }

  /** Leader heartbeats for a few ticks, so followers learn the commit index. */
  settle(leader: string, ticks = 3): void {
    this.tick([leader], ticks);
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/** Steps a message into a node and returns what it sends in response, after persisting. */
export function stepAndCollect(node: TestNode, message: Message): Message[] {
  node.raft.step(message);
  const sent: Message[] = [];
  while (node.raft.hasReady()) {
    const ready = node.raft.ready();
    if (ready.hardState !== undefined) node.storage.setHardState(ready.hardState);
    if (ready.snapshot !== undefined) node.storage.applySnapshot(ready.snapshot);
    node.storage.append(ready.entries);
    sent.push(...ready.messages);
    node.raft.advance();
  }
  return sent;
}
