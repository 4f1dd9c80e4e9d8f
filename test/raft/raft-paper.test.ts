// Unit tests that each check one rule of the Raft paper (Ongaro & Ousterhout 2014, "paper")
// or of Ongaro's dissertation (2014, "dissertation"), named by section.
import { describe, expect, test } from "vitest";
import {
  type AppendResponse,
  LOG_INDEX_ZERO,
  type LogIndex,
  type Message,
  type Term,
  type VoteRequest,
} from "../../src/raft/index.js";
import { bytes, ELECTION_TIMEOUT_TICKS, id, stepAndCollect, TestCluster, text } from "./harness.js";

const term = (value: number) => value as Term;
const index = (value: number) => value as LogIndex;

function voteRequest(
  from: string,
  to: string,
  voteTerm: number,
  lastIndex: number,
  lastTerm: number,
): VoteRequest {
  return {
    type: "vote",
    from: id(from),
    to: id(to),
    term: term(voteTerm),
    lastLogIndex: index(lastIndex),
    lastLogTerm: term(lastTerm),
    leadershipTransfer: false,
  };
}

const granted = (messages: Message[]) =>
  messages
    .filter((m) => m.type === "vote-response")
    .map((m) => m.type === "vote-response" && m.granted);

describe("elections (paper 5.2)", () => {
  test("each server will vote for at most one candidate in a given term, first-come-first-served", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    const b = cluster.node("b");
    expect(granted(stepAndCollect(b, voteRequest("a", "b", 2, 3, 1)))).toEqual([true]);
    expect(granted(stepAndCollect(b, voteRequest("c", "b", 2, 3, 1)))).toEqual([false]);
    // A repeated request from the same candidate gets the same answer.
    expect(granted(stepAndCollect(b, voteRequest("a", "b", 2, 3, 1)))).toEqual([true]);
  });

  test("the vote is persisted before the reply leaves (paper Figure 2, persistent state)", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    const b = cluster.node("b");
    b.raft.step(voteRequest("a", "b", 2, 3, 1));
    const ready = b.raft.ready();
    expect(ready.messages.some((m) => m.type === "vote-response" && m.granted)).toBe(true);
    expect(ready.hardState).toMatchObject({ term: 2, vote: "a" });
    // And a restart from that durable state refuses a second candidate in the same term.
    b.storage.setHardState(ready.hardState!);
    b.raft.advance();
    cluster.restart("b");
    expect(granted(stepAndCollect(b, voteRequest("c", "b", 2, 3, 1)))).toEqual([false]);
  });

  test("election safety: at most one leader can be elected in a given term (paper Figure 3)", () => {
    const cluster = new TestCluster(["a", "b", "c", "d", "e"]);
    // Everyone times out at once, repeatedly; whoever wins, no term has two leaders.
    const leaders = new Map<number, string>();
    for (let round = 0; round < 60; round++) {
      cluster.tick(["a", "b", "c", "d", "e"], 1);
      for (const node of cluster.nodes.values()) {
        const status = node.raft.status();
        if (status.role !== "leader") continue;
        const known = leaders.get(status.term);
        expect(known === undefined || known === node.id).toBe(true);
        leaders.set(status.term, node.id);
      }
    }
    expect(leaders.size).toBeGreaterThan(0);
  });

  test("a voter denies a candidate whose log is less up to date (paper 5.4.1)", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    const b = cluster.node("b"); // holds the three bootstrap entries of term 1
    expect(granted(stepAndCollect(b, voteRequest("c", "b", 2, 2, 1)))).toEqual([false]);
    expect(granted(stepAndCollect(b, voteRequest("a", "b", 3, 3, 1)))).toEqual([true]);
  });
});

describe("log replication (paper 5.3)", () => {
  test("a follower rejects AppendEntries from an older term and reports its own term", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    const b = cluster.node("b");
    stepAndCollect(b, voteRequest("a", "b", 3, 3, 1));
    const lastBefore = b.raft.status().lastIndex;
    const replies = stepAndCollect(b, {
      type: "append",
      from: id("c"),
      to: id("b"),
      term: term(2),
      prevLogIndex: index(3),
      prevLogTerm: term(1),
      entries: [{ index: index(4), term: term(2), type: "normal", data: bytes("stale") }],
      leaderCommit: index(3),
    });
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ type: "append-response", term: 3, success: false });
    expect(b.raft.status().lastIndex).toBe(lastBefore);
  });

  test("a follower rejects AppendEntries whose previous entry does not match, with a hint", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a"); // term 2: noop at index 4 on everyone
    const b = cluster.node("b");
    expect(b.raft.logTerm(index(4))).toBe(2);
    // A leader of term 5 probes at index 6 (term 4): b has nothing there.
    const replies = stepAndCollect(b, {
      type: "append",
      from: id("c"),
      to: id("b"),
      term: term(5),
      prevLogIndex: index(6),
      prevLogTerm: term(4),
      entries: [],
      leaderCommit: index(4),
    });
    const reply = replies[0] as AppendResponse;
    expect(reply).toMatchObject({ type: "append-response", success: false, rejectedIndex: 6 });
    // Fast backtracking: b points at its last entry with a term at most 4.
    expect(reply.hintIndex).toBe(4);
    expect(reply.hintTerm).toBe(2);
  });

  test("log matching: a conflicting uncommitted suffix is replaced by the leader's entries", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    // a appends while cut off; its entries never commit.
    cluster.isolate("a");
    for (let i = 0; i < 3; i++) cluster.raft("a").propose(bytes(`lost-${i}`));
    cluster.process();
    // b and c restart, forgetting a (so its lease does not hold their votes), and elect b.
    cluster.restart("b");
    cluster.restart("c");
    cluster.elect("b");
    cluster.raft("b").propose(bytes("kept"));
    cluster.deliverAll();
    cluster.heal();
    cluster.tick(["b"], 5);
    const logOf = (name: string) => {
      const raft = cluster.raft(name);
      const { firstIndex, lastIndex } = raft.status();
      return raft
        .logEntries(firstIndex, index(lastIndex + 1))
        .map((e) => `${e.term}:${text(e.data)}`);
    };
    expect(logOf("a")).toEqual(logOf("b"));
    expect(logOf("a").some((e) => e.includes("lost"))).toBe(false);
    expect(logOf("c")).toEqual(logOf("b"));
  });

  test("fast backtracking needs about one round trip per term, not per entry", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    cluster.isolate("a");
    for (let i = 0; i < 200; i++) cluster.raft("a").propose(bytes(`lost-${i}`));
    cluster.process();
    cluster.queue = [];
    cluster.restart("b");
    cluster.restart("c");
    cluster.elect("b");
    cluster.heal();
    let rejections = 0;
    cluster.filter = (m) => {
      if (m.type === "append-response" && !m.success && m.to === id("b")) rejections++;
      return true;
    };
    cluster.tick(["b"], 5);
    expect(cluster.raft("a").status().lastIndex).toBe(cluster.raft("b").status().lastIndex);
    expect(rejections).toBeLessThanOrEqual(3);
  });
});

describe("safety (paper 5.4)", () => {
  /**
   * Paper 5.4.2 and Figure 8: "Raft never commits log entries from previous terms by counting
   * replicas. Only log entries from the leader's current term are committed by counting."
   */
  function olderTermEntryOnMajority(faultInjection?: { commitPriorTermByCounting: boolean }) {
    const cluster = new TestCluster(["a", "b", "c"], faultInjection);
    // a wins term 2 and appends its noop at 4, which reaches b, but no acknowledgement returns.
    cluster.filter = (m) => !(m.type === "append-response" && m.to === id("a"));
    cluster.cut.add("a>c");
    cluster.elect("a");
    expect(cluster.raft("b").logTerm(index(4))).toBe(2);
    expect(cluster.raft("a").status().commit).toBe(3);
    // Everyone restarts (forgetting the leader) and a wins term 3; the entry of term 2 is now on
    // a majority, uncommitted.
    for (const name of ["a", "b", "c"]) cluster.restart(name);
    cluster.elect("a");
    expect(cluster.raft("a").status().term).toBe(3);
    // b acknowledges index 4 (term 2) but not yet a's own entry of term 3 at index 5.
    const ack: AppendResponse = {
      type: "append-response",
      from: id("b"),
      to: id("a"),
      term: term(3),
      success: true,
      matchIndex: index(4),
      rejectedIndex: LOG_INDEX_ZERO,
      hintIndex: LOG_INDEX_ZERO,
      hintTerm: term(0),
    };
    cluster.raft("a").step(ack);
    cluster.process();
    return cluster;
  }

  test("a leader does not commit an entry of an earlier term by counting replicas", () => {
    const cluster = olderTermEntryOnMajority();
    expect(cluster.raft("a").status().commit).toBe(3);
    // Once an entry of the current term is stored on a majority, both commit together.
    cluster.filter = () => true;
    cluster.heal();
    cluster.settle("a");
    expect(cluster.raft("a").status().commit).toBe(5);
  });

  test("the test-only fault flag does commit it, which is what the checker must catch", () => {
    const cluster = olderTermEntryOnMajority({ commitPriorTermByCounting: true });
    expect(cluster.raft("a").status().commit).toBe(4);
  });

  test("leader completeness: a new leader holds every committed entry (paper Figure 3)", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    const proposal = cluster.raft("a").propose(bytes("committed"));
    cluster.deliverAll();
    cluster.settle("a");
    expect(proposal.accepted && cluster.raft("a").status().commit >= proposal.index).toBe(true);
    cluster.isolate("a");
    // c alone may time out first, but only b or c with the entry can win; both have it here.
    cluster.tick(["b", "c"], 4 * ELECTION_TIMEOUT_TICKS);
    const leader = ["b", "c"].find((name) => cluster.raft(name).status().role === "leader")!;
    expect(leader).toBeDefined();
    const entry = proposal.accepted
      ? cluster.raft(leader).logEntries(proposal.index, index(proposal.index + 1))
      : [];
    expect(text(entry[0]!.data)).toBe("committed");
  });
});

describe("PreVote and CheckQuorum (dissertation 9.6, 6.2)", () => {
  test("a partitioned node that rejoins does not disrupt the leader (PreVote)", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    const leaderTerm = cluster.raft("a").status().term;
    cluster.isolate("c");
    cluster.tick(["a", "c"], 10 * ELECTION_TIMEOUT_TICKS);
    // c campaigned many times, yet never bumped its term: pre-votes bind nothing.
    expect(cluster.raft("c").status().term).toBe(leaderTerm);
    cluster.heal();
    cluster.tick(["a", "c"], 3);
    expect(cluster.raft("a").status()).toMatchObject({ role: "leader", term: leaderTerm });
    expect(cluster.raft("c").status()).toMatchObject({ role: "follower", leader: "a" });
  });

  test("a leader that cannot reach a quorum steps down within an election timeout (CheckQuorum)", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.isolate("a");
    cluster.tick(["a"], 2 * ELECTION_TIMEOUT_TICKS);
    expect(cluster.raft("a").status().role).toBe("follower");
  });

  test("a voter that hears from its leader ignores a disruptive vote request (leader lease)", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    const b = cluster.node("b");
    const replies = stepAndCollect(b, voteRequest("c", "b", 9, 100, 9));
    expect(replies).toEqual([]);
    expect(b.raft.status().term).toBe(2);
  });
});

describe("membership (dissertation 4)", () => {
  test("learners replicate but never campaign, and do not count toward commit", () => {
    const cluster = new TestCluster(["a", "b"]);
    cluster.elect("a");
    cluster.settle("a");
    cluster.add(id("d"));
    expect(
      cluster.raft("a").proposeConfChange({ type: "add-learner", nodeId: id("d") }).accepted,
    ).toBe(true);
    cluster.settle("a", 5);
    const d = cluster.raft("d");
    expect(d.status().confState.learners).toEqual(["d"]);
    expect(d.status().commit).toBe(cluster.raft("a").status().commit);
    // With b cut off, the learner's acknowledgement does not make a majority.
    cluster.isolate("b");
    const proposal = cluster.raft("a").propose(bytes("needs b"));
    cluster.settle("a");
    expect(proposal.accepted && cluster.raft("d").status().lastIndex >= proposal.index).toBe(true);
    expect(proposal.accepted && cluster.raft("a").status().commit < proposal.index).toBe(true);
    // A learner never campaigns, however long it hears nothing.
    cluster.tick(["d"], 10 * ELECTION_TIMEOUT_TICKS);
    expect(d.status().role).toBe("follower");
  });

  test("a learner is promoted only once caught up; otherwise the refusal says why", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    cluster.add(id("d"));
    cluster.raft("a").proposeConfChange({ type: "add-learner", nodeId: id("d") });
    cluster.settle("a");
    cluster.isolate("d");
    for (let i = 0; i < 10; i++) cluster.raft("a").propose(bytes(`x${i}`));
    cluster.settle("a");
    const refused = cluster.raft("a").proposeConfChange({ type: "add-voter", nodeId: id("d") });
    expect(refused).toMatchObject({ accepted: false, code: "learner-behind" });
    expect(refused.accepted ? "" : refused.reason).toMatch(/learner d is not caught up/);
    cluster.heal();
    cluster.settle("a", 5);
    const promoted = cluster.raft("a").proposeConfChange({ type: "add-voter", nodeId: id("d") });
    expect(promoted.accepted).toBe(true);
    cluster.settle("a");
    expect(cluster.raft("d").status().confState.voters).toContain("d");
  });

  test("at most one membership change is pending at a time", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    cluster.isolate("a");
    expect(
      cluster.raft("a").proposeConfChange({ type: "add-learner", nodeId: id("d") }).accepted,
    ).toBe(true);
    const second = cluster.raft("a").proposeConfChange({ type: "add-learner", nodeId: id("e") });
    expect(second).toMatchObject({ accepted: false, code: "conf-change-pending" });
  });

  test("a leader removed from the configuration steps down once the removal commits", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    expect(
      cluster.raft("a").proposeConfChange({ type: "remove-node", nodeId: id("a") }).accepted,
    ).toBe(true);
    cluster.deliverAll();
    expect(cluster.raft("a").status().role).toBe("follower");
    cluster.tick(["a", "b", "c"], 4 * ELECTION_TIMEOUT_TICKS);
    const leaders = ["b", "c"].filter((name) => cluster.raft(name).status().role === "leader");
    expect(leaders).toHaveLength(1);
    expect(cluster.raft("a").status().role).toBe("follower");
    expect(cluster.raft(leaders[0]!).status().confState.voters).toEqual(["b", "c"]);
  });
});

describe("log compaction (paper 7)", () => {
  test("a follower behind the leader's first index is caught up with InstallSnapshot", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.isolate("c");
    for (let i = 0; i < 20; i++) cluster.raft("a").propose(bytes(`e${i}`));
    cluster.settle("a");
    const a = cluster.node("a");
    const applied = a.raft.status().applied;
    a.storage.createSnapshot(applied, a.raft.status().confState, bytes("state"));
    a.storage.compact(applied);
    expect(a.raft.status().firstIndex).toBe(applied + 1);
    cluster.heal();
    cluster.settle("a", 5);
    const c = cluster.node("c");
    expect(c.storage.snapshot().metadata.index).toBe(applied);
    expect(text(c.storage.snapshot().data)).toBe("state");
    expect(c.raft.status().commit).toBe(a.raft.status().commit);
  });
});

describe("leadership transfer and reads (dissertation 3.10, 6.4)", () => {
  test("TimeoutNow hands leadership to a caught-up voter", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    expect(cluster.raft("a").transferLeader(id("c")).accepted).toBe(true);
    cluster.deliverAll();
    expect(cluster.raft("c").status()).toMatchObject({ role: "leader", term: 3 });
    expect(cluster.raft("a").status().role).toBe("follower");
  });

  test("ReadIndex answers after a quorum confirms leadership, at the commit index", () => {
    const cluster = new TestCluster(["a", "b", "c"]);
    cluster.elect("a");
    cluster.settle("a");
    expect(cluster.raft("a").readIndex(bytes("r1")).accepted).toBe(true);
    cluster.deliverAll();
    const states = cluster.node("a").readStates;
    expect(states).toHaveLength(1);
    expect(text(states[0]!.context)).toBe("r1");
    expect(states[0]!.index).toBe(cluster.raft("a").status().commit);
    expect(cluster.raft("b").readIndex(bytes("r2"))).toMatchObject({
      accepted: false,
      code: "not-leader",
      leader: "a",
    });
  });
});
