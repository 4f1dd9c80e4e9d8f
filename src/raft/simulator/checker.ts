// The safety invariants of Raft (paper Figure 3 and the durability rules of the Ready
// contract), checked as the simulation runs. Each check is incremental: it looks at what
// changed in this step, so checking after every step stays cheap.
import type {
  Entry,
  LogIndex,
  MemoryStorage,
  Message,
  NodeId,
  RaftNode,
  RaftStatus,
  Ready,
  Snapshot,
} from "../index.js";
import { isVoter } from "../index.js";
import { entryKey } from "./state-machine.js";

export type InvariantName =
  | "election-safety"
  | "leader-append-only"
  | "log-matching"
  | "leader-completeness"
  | "state-machine-safety"
  | "durable-before-send"
  | "monotonic-state"
  | "learner-never-votes"
  | "history"
  | "read-linearizability"
  | "liveness"
  | "core-assertion";

export class Violation extends Error {
  constructor(
    readonly invariant: InvariantName,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
    this.name = "Violation";
  }
}

function fail(invariant: InvariantName, message: string): never {
  throw new Violation(invariant, message);
}

/** What the checker remembers of one node across its crashes. */
interface NodeRecord {
  term: number;
  commit: number;
  /** The log position a leader had at the end of the previous step, in its current term. */
  leaderLog: { term: number; lastIndex: number; lastTerm: number } | null;
  /** Highest term this node put in a message (pre-vote terms excluded: they bind nothing). */
  termSentMax: number;
  /** Highest commit index this node told anyone. */
  commitSentMax: number;
  /** The last real vote it granted. */
  grantedVote: { term: number; candidate: NodeId } | null;
  /** Highest index its state machine applied, in any incarnation. */
  appliedMax: number;
}

export interface LiveNode {
  readonly id: NodeId;
  readonly raft: RaftNode;
  readonly storage: MemoryStorage;
}

export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Entries known committed somewhere: index -> term. */
  private readonly committed = new Map<number, number>();
  private committedIndexMax = 0;
  /** Every (index, term) ever persisted: the entry's key and the term of the entry before it. */
  private readonly persisted = new Map<string, { key: string; previousTerm: number | undefined }>();
  /** The first entry applied at each index, and the state machine digest after it. */
  readonly applied = new Map<number, { term: number; key: string }>();
  private readonly digestAfter = new Map<number, number>();
  private readonly nodes = new Map<NodeId, NodeRecord>();
  /** The last vote request each node received from each candidate, with the voter's log end. */
  private readonly voteRequests = new Map<
    string,
    { lastLogIndex: number; lastLogTerm: number; voterLastIndex: number; voterLastTerm: number }
  >();

  private record(id: NodeId): NodeRecord {
    let record = this.nodes.get(id);
    if (record === undefined) {
      record = {
        term: 0,
        commit: 0,
        leaderLog: null,
        termSentMax: 0,
        commitSentMax: 0,
        grantedVote: null,
        appliedMax: 0,
      };
      this.nodes.set(id, record);
    }
    return record;
  }

  /** After every simulation step, over the nodes that are up. */
  afterStep(live: readonly LiveNode[]): void {
    const statuses = live.map((node) => node.raft.status());
    for (let i = 0; i < live.length; i++) {
      const node = live[i]!;
      const status = statuses[i]!;
      const record = this.record(node.id);
      if (status.term < record.term) {
        fail("monotonic-state", `${node.id} term went from ${record.term} to ${status.term}`);
      }
      if (status.commit < record.commit) {
        fail("monotonic-state", `${node.id} commit went from ${record.commit} to ${status.commit}`);
      }
      record.term = status.term;
      if (status.role === "leader") this.checkLeader(node, status, record);
      else record.leaderLog = null;
      if (status.commit > record.commit) {
        const previous = record.commit;
        record.commit = status.commit;
        for (let index = previous + 1; index <= status.commit; index++) {
          const term = node.raft.logTerm(index as LogIndex);
          if (term !== undefined) this.onCommitted(index, term, live, statuses);
        }
      }
    }
  }

  private checkLeader(node: LiveNode, status: RaftStatus, record: NodeRecord): void {
    // Paper Figure 3, Election Safety: at most one leader can be elected in a given term.
    const known = this.leaderOfTerm.get(status.term);
    if (known !== undefined && known !== node.id) {
      fail("election-safety", `${known} and ${node.id} both lead term ${status.term}`);
    }
    if (known === undefined) {
      this.leaderOfTerm.set(status.term, node.id);
      this.checkLeaderCompleteness(node, status);
    }
    // Leader Append-Only: a leader never overwrites or deletes entries in its log.
    const previous = record.leaderLog;
    if (previous !== null && previous.term === status.term) {
      if (status.lastIndex < previous.lastIndex) {
        fail(
          "leader-append-only",
          `leader ${node.id} log shrank from ${previous.lastIndex} to ${status.lastIndex}`,
        );
      }
      const term = node.raft.logTerm(previous.lastIndex as LogIndex);
      if (term !== undefined && term !== previous.lastTerm) {
        fail(
          "leader-append-only",
          `leader ${node.id} rewrote entry ${previous.lastIndex} (term ${previous.lastTerm} -> ${term})`,
        );
      }
    }
    record.leaderLog = {
      term: status.term,
      lastIndex: status.lastIndex,
      lastTerm: node.raft.logTerm(status.lastIndex) ?? 0,
    };
  }

  /** Paper Figure 3, Leader Completeness: a new leader holds every committed entry. */
  private checkLeaderCompleteness(node: LiveNode, status: RaftStatus): void {
    if (status.lastIndex < this.committedIndexMax) {
      fail(
        "leader-completeness",
        `leader ${node.id} of term ${status.term} has ${status.lastIndex} entries; ${this.committedIndexMax} are committed`,
      );
    }
    for (const [index, term] of this.committed) {
      if (index < status.firstIndex) continue; // compacted: covered by its snapshot
      const own = node.raft.logTerm(index as LogIndex);
      if (own !== term) {
        fail(
          "leader-completeness",
          `leader ${node.id} of term ${status.term} has term ${own} at ${index}; committed was term ${term}`,
        );
      }
    }
  }

  private onCommitted(
    index: number,
    term: number,
    live: readonly LiveNode[],
    statuses: readonly RaftStatus[],
  ): void {
    const known = this.committed.get(index);
    if (known !== undefined && known !== term) {
      fail("state-machine-safety", `index ${index} committed with term ${known} and term ${term}`);
    }
    if (known !== undefined) return;
    this.committed.set(index, term);
    if (index > this.committedIndexMax) this.committedIndexMax = index;
    // Every current leader of a later (or the same) term must hold it too.
    for (let i = 0; i < live.length; i++) {
      const status = statuses[i]!;
      if (status.role !== "leader" || status.term < term || index < status.firstIndex) continue;
      const own = live[i]!.raft.logTerm(index as LogIndex);
      if (own !== term) {
        fail(
          "leader-completeness",
          `entry ${index} of term ${term} committed but leader ${status.id} of term ${status.term} has term ${own}`,
        );
      }
    }
  }

  /** A Ready's state was made durable: check log matching on each new entry. */
  onPersist(node: LiveNode, ready: Ready): void {
    let previousTerm: number | undefined;
    for (let i = 0; i < ready.entries.length; i++) {
      const entry = ready.entries[i]!;
      previousTerm =
        i === 0 ? node.storage.term((entry.index - 1) as LogIndex) : ready.entries[i - 1]!.term;
      this.checkPersistedEntry(node.id, entry, previousTerm);
    }
  }

  /**
   * Paper Figure 3, Log Matching: if two logs contain an entry with the same index and term,
   * the entries are identical and so are all entries before them. By induction it suffices that
   * each (index, term) always has the same content and the same term before it.
   */
  private checkPersistedEntry(id: NodeId, entry: Entry, previousTerm: number | undefined): void {
    const key = `${entry.index}/${entry.term}`;
    const content = entryKey(entry);
    const known = this.persisted.get(key);
    if (known === undefined) {
      this.persisted.set(key, { key: content, previousTerm });
      return;
    }
    if (known.key !== content) {
      fail("log-matching", `${id} stored ${content} at ${key}; another node stored ${known.key}`);
    }
    if (
      known.previousTerm !== undefined &&
      previousTerm !== undefined &&
      known.previousTerm !== previousTerm
    ) {
      fail(
        "log-matching",
        `${id} has term ${previousTerm} before ${key}; another node has term ${known.previousTerm}`,
      );
    }
    if (known.previousTerm === undefined) known.previousTerm = previousTerm;
  }

  /** A vote request is about to be stepped into `node`: remember what the voter's log was. */
  onVoteRequestDelivered(node: LiveNode, message: Message): void {
    if (message.type !== "pre-vote" && message.type !== "vote") return;
    const status = node.raft.status();
    const responseType = message.type === "pre-vote" ? "pre-vote-response" : "vote-response";
    this.voteRequests.set(`${message.from}>${node.id}/${message.term}/${responseType}`, {
      lastLogIndex: message.lastLogIndex,
      lastLogTerm: message.lastLogTerm,
      voterLastIndex: status.lastIndex,
      voterLastTerm: node.raft.logTerm(status.lastIndex) ?? 0,
    });
  }

  /** A message is about to leave `node`: whatever it promises must already be durable. */
  onSend(node: LiveNode, message: Message): void {
    const record = this.record(node.id);
    const hard = node.storage.hardState();
    const preVote = message.type === "pre-vote" || message.type === "pre-vote-response";
    if (!preVote) {
      if (message.term > hard.term) {
        fail(
          "durable-before-send",
          `${node.id} sent term ${message.term}; durable term is ${hard.term}`,
        );
      }
      record.termSentMax = Math.max(record.termSentMax, message.term);
    }
    switch (message.type) {
      case "vote-response":
      case "pre-vote-response": {
        if (!message.granted) break;
        // Learners never vote (dissertation 4.2.1). A node that is not a voter in its own
        // configuration may only vote for a candidate whose log is strictly ahead of its own,
        // i.e. when its own configuration is stale; checked against the request it answers.
        const confState = node.raft.status().confState;
        const request = this.voteRequests.get(
          `${message.to}>${node.id}/${message.term}/${message.type}`,
        );
        if (!isVoter(confState, node.id)) {
          const ahead =
            request !== undefined &&
            request.lastLogIndex > 0 &&
            (request.lastLogTerm > request.voterLastTerm ||
              (request.lastLogTerm === request.voterLastTerm &&
                request.lastLogIndex > request.voterLastIndex));
          if (!ahead) {
            fail(
              "learner-never-votes",
              `${node.id} granted a ${message.type} to ${message.to} while not a voter, for a log no further ahead than its own`,
            );
          }
        }
        if (message.type === "vote-response") {
          // Paper 5.2 and Figure 2: the vote is persisted before the reply.
          // A durable later term also binds: the node can never vote in this term again.
          if (
            hard.term < message.term ||
            (hard.term === message.term && hard.vote !== message.to)
          ) {
            fail(
              "durable-before-send",
              `${node.id} granted ${message.to} a vote in term ${message.term}; durable term ${hard.term}, vote ${hard.vote}`,
            );
          }
          record.grantedVote = { term: message.term, candidate: message.to };
        }
        break;
      }
      case "append-response": {
        if (!message.success) break;
        // The acknowledged prefix must be durable. (The in-memory log may already have moved
        // on, to a snapshot or a new leader's entries, since this Ready was taken.)
        const snapshotIndex = node.storage.snapshot().metadata.index;
        if (message.matchIndex > snapshotIndex && message.matchIndex > node.storage.lastIndex()) {
          fail(
            "durable-before-send",
            `${node.id} acknowledged ${message.matchIndex}; durable log ends at ${node.storage.lastIndex()}`,
          );
        }
        break;
      }
      case "append":
      case "heartbeat":
        if (message.leaderCommit > hard.commit) {
          fail(
            "durable-before-send",
            `${node.id} sent commit ${message.leaderCommit}; durable commit is ${hard.commit}`,
          );
        }
        record.commitSentMax = Math.max(record.commitSentMax, message.leaderCommit);
        break;
      default:
        break;
    }
  }

  /** Paper Figure 3, State Machine Safety: every node applies the same entry at each index. */
  onApply(id: NodeId, entry: Entry, digest: number): void {
    const key = entryKey(entry);
    const known = this.applied.get(entry.index);
    if (known === undefined) {
      this.applied.set(entry.index, { term: entry.term, key });
    } else if (known.term !== entry.term || known.key !== key) {
      fail(
        "state-machine-safety",
        `${id} applied ${key} (term ${entry.term}) at ${entry.index}; another node applied ${known.key} (term ${known.term})`,
      );
    }
    this.checkDigest(id, entry.index, digest);
    const record = this.record(id);
    record.appliedMax = Math.max(record.appliedMax, entry.index);
  }

  onRestoreSnapshot(id: NodeId, snapshot: Snapshot, digest: number): void {
    if (snapshot.metadata.index > 0) this.checkDigest(id, snapshot.metadata.index, digest);
    const record = this.record(id);
    record.appliedMax = Math.max(record.appliedMax, snapshot.metadata.index);
  }

  private checkDigest(id: NodeId, index: number, digest: number): void {
    const known = this.digestAfter.get(index);
    if (known === undefined) this.digestAfter.set(index, digest);
    else if (known !== digest) {
      fail("state-machine-safety", `${id} state after ${index} differs from another node's`);
    }
  }

  /** Terms, votes and commit indexes never go backwards across a crash. */
  onRestart(node: LiveNode): void {
    const status = node.raft.status();
    const record = this.record(node.id);
    if (status.term < record.termSentMax) {
      fail(
        "monotonic-state",
        `${node.id} restarted at term ${status.term} after sending term ${record.termSentMax}`,
      );
    }
    const vote = record.grantedVote;
    if (vote !== null && status.term === vote.term && status.vote !== vote.candidate) {
      fail(
        "monotonic-state",
        `${node.id} voted for ${vote.candidate} in term ${vote.term} but restarted with vote ${status.vote}`,
      );
    }
    const commitFloor = Math.max(record.commitSentMax, record.appliedMax);
    if (status.commit < commitFloor) {
      fail(
        "monotonic-state",
        `${node.id} restarted with commit ${status.commit} below ${commitFloor}`,
      );
    }
    record.term = status.term;
    record.commit = status.commit;
    record.leaderLog = null;
  }

  /** Log matching across whole durable logs, as a final cross-check of the incremental one. */
  checkDurableLogs(storages: ReadonlyMap<NodeId, MemoryStorage>): void {
    const byIndexTerm = new Map<string, string>();
    for (const [id, storage] of storages) {
      for (let index = storage.firstIndex(); index <= storage.lastIndex(); index++) {
        const entry = storage.entries(
          index as LogIndex,
          (index + 1) as LogIndex,
          Number.MAX_SAFE_INTEGER,
        )[0]!;
        const key = `${entry.index}/${entry.term}`;
        const content = entryKey(entry);
        const known = byIndexTerm.get(key);
        if (known === undefined) byIndexTerm.set(key, content);
        else if (known !== content)
          fail("log-matching", `${id} holds ${content} at ${key}, another ${known}`);
      }
    }
  }
}
