// The runner in one process: real LMDB in temp directories, an in-memory network.
import { rmSync } from "node:fs";
import { afterEach, describe, expect, test } from "vitest";
import {
  LmdbRaftStorage,
  MemoryNetwork,
  RaftRunner,
  RaftRunnerError,
  toNodeId,
} from "../../src/raft/index.js";
import {
  eventually,
  leaderOf,
  RecordingStateMachine,
  temporaryDirectory,
} from "./runner-harness.js";

const CLUSTER = "test-cluster";
const TICK_MS = 10;

interface TestNode {
  id: string;
  directory: string;
  machine: RecordingStateMachine;
  runner: RaftRunner;
}

const directories: string[] = [];
const running: RaftRunner[] = [];
afterEach(async () => {
  for (const runner of running.splice(0)) await runner.shutdown();
  for (const directory of directories.splice(0))
    rmSync(directory, { recursive: true, force: true });
});

async function startNode(
  network: MemoryNetwork,
  id: string,
  peers: string[],
  options: { bootstrap?: boolean; directory?: string; snapshotEveryEntries?: number } = {},
): Promise<TestNode> {
  const directory = options.directory ?? temporaryDirectory(`witnz-runner-${id}-`);
  if (options.directory === undefined) directories.push(directory);
  const machine = new RecordingStateMachine();
  const runner = await RaftRunner.start({
    id,
    clusterId: CLUSTER,
    storage: LmdbRaftStorage.open(directory),
    transport: network.transport(toNodeId(id)),
    stateMachine: machine,
    peers: Object.fromEntries(peers.map((peer) => [peer, `memory:${peer}`])),
    bootstrap: options.bootstrap ?? false,
    tickMs: TICK_MS,
    snapshotEveryEntries: options.snapshotEveryEntries ?? 50,
    snapshotTrailingEntries: 5,
  });
  running.push(runner);
  return { id, directory, machine, runner };
}

async function stopNode(node: TestNode): Promise<void> {
  await node.runner.shutdown();
  running.splice(running.indexOf(node.runner), 1);
}

async function threeNodes(network: MemoryNetwork): Promise<TestNode[]> {
  return [
    await startNode(network, "a", ["b", "c"], { bootstrap: true }),
    await startNode(network, "b", ["a", "c"]),
    await startNode(network, "c", ["a", "b"]),
  ];
}

const payload = (i: number) => new TextEncoder().encode(`entry-${i}`);

describe("RaftRunner with LMDB and an in-memory network", () => {
  test("3 nodes elect, apply 100 entries everywhere, survive leader shutdown, restart with data", async () => {
    const network = new MemoryNetwork();
    const nodes = await threeNodes(network);
    const leader = await eventually(() => leaderOf(nodes.map((n) => n.runner)), 5000, "a leader");
    expect(leader.configuration().map((s) => [s.id, s.suffrage])).toEqual([
      ["a", "voter"],
      ["b", "voter"],
      ["c", "voter"],
    ]);

    const indexes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => leader.apply(payload(i), { timeoutMs: 5000 })),
    );
    expect(new Set(indexes).size).toBe(100);
    const expected = Array.from({ length: 100 }, (_, i) => `entry-${i}`);
    for (const node of nodes) {
      await eventually(() => node.machine.applied.length === 100, 5000, `${node.id} applies 100`);
      expect(node.machine.applied).toEqual(expected);
    }
    // The snapshot policy (every 50 applied entries) cut a snapshot and compacted the log.
    expect(leader.stats().snapshotIndex).toBeGreaterThanOrEqual(50);
    console.log(JSON.stringify(leader.stats()));
    expect(leader.stats().firstIndex).toBeGreaterThan(1);

    // A follower refuses with the leader hint.
    const follower = nodes.find((n) => n.runner !== leader)!.runner;
    const refusal = await follower.apply(payload(999)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RaftRunnerError);
    expect((refusal as RaftRunnerError).code).toBe("WITNZ_RAFT_NOT_LEADER");
    expect((refusal as RaftRunnerError).leader?.id).toBe(leader.leader()?.id);

    await leader.barrier();
    await leader.verifyLeader();

    // Leader shutdown: the other two elect a new leader and keep committing.
    const oldLeader = nodes.find((n) => n.runner === leader)!;
    await stopNode(oldLeader);
    expect(leader.state()).toBe("shutdown");
    const rest = nodes.filter((n) => n !== oldLeader);
    const newLeader = await eventually(
      () => leaderOf(rest.map((n) => n.runner)),
      5000,
      "a new leader",
    );
    await newLeader.apply(payload(100), { timeoutMs: 5000 });

    // The old leader restarts from its directory and catches up.
    const restarted = await startNode(
      network,
      oldLeader.id,
      ["a", "b", "c"].filter((id) => id !== oldLeader.id),
      { directory: oldLeader.directory },
    );
    await eventually(
      () => restarted.machine.applied.length === 101,
      5000,
      "the restarted node catches up",
    );
    expect(restarted.machine.applied).toEqual([...expected, "entry-100"]);
    expect(restarted.machine.restores).toBe(1); // started from its own snapshot
  });

  test("restart of the whole cluster restores term, vote, commit and log", async () => {
    const network = new MemoryNetwork();
    const nodes = await threeNodes(network);
    const leader = await eventually(() => leaderOf(nodes.map((n) => n.runner)), 5000, "a leader");
    for (let i = 0; i < 10; i++) await leader.apply(payload(i));
    await Promise.all(
      nodes.map((n) => eventually(() => n.machine.applied.length === 10, 5000, "apply")),
    );
    const before = nodes.map((n) => n.runner.stats());
    for (const node of nodes) await stopNode(node);

    const network2 = new MemoryNetwork();
    const again: TestNode[] = [];
    for (const node of nodes) {
      const peers = ["a", "b", "c"].filter((id) => id !== node.id);
      again.push(
        await startNode(network2, node.id, peers, {
          directory: node.directory,
          bootstrap: node.id === "a",
        }),
      );
    }
    for (const [i, node] of again.entries()) {
      const stats = node.runner.stats();
      expect(stats.term).toBeGreaterThanOrEqual(before[i]!.term);
      expect(stats.commitIndex).toBeGreaterThanOrEqual(before[i]!.commitIndex);
      expect(stats.lastIndex).toBeGreaterThanOrEqual(before[i]!.lastIndex);
      await eventually(() => node.machine.applied.length === 10, 5000, "replay after restart");
    }
    const leader2 = await eventually(() => leaderOf(again.map((n) => n.runner)), 5000, "a leader");
    await leader2.apply(payload(10));
  });

  test("a store of another node or cluster is refused with a clear error", async () => {
    const network = new MemoryNetwork();
    const node = await startNode(network, "a", [], { bootstrap: true });
    await eventually(() => node.runner.state() === "leader", 5000, "single-node leader");
    await stopNode(node);
    for (const [id, cluster] of [
      ["x", CLUSTER],
      ["a", "other-cluster"],
    ] as const) {
      const storage = LmdbRaftStorage.open(node.directory);
      const error = await RaftRunner.start({
        id,
        clusterId: cluster,
        storage,
        transport: network.transport(toNodeId(id)),
        stateMachine: new RecordingStateMachine(),
      }).catch((caught: unknown) => caught);
      await storage.close();
      expect((error as RaftRunnerError).code).toBe("WITNZ_RAFT_IDENTITY");
      expect((error as RaftRunnerError).message).toContain(
        'belongs to node "a" of cluster "test-cluster"',
      );
    }
  });

  test("addVoter joins an empty node as a learner, then promotes it; removeServer; transfer", async () => {
    const network = new MemoryNetwork();
    const nodes = await threeNodes(network);
    const leader = await eventually(() => leaderOf(nodes.map((n) => n.runner)), 5000, "a leader");
    for (let i = 0; i < 120; i++) await leader.apply(payload(i));

    const joiner = await startNode(network, "d", ["a", "b", "c"]);
    expect(joiner.runner.configuration()).toEqual([]);
    await leader.addVoter("d", "memory:d", { timeoutMs: 10_000 });
    expect(leader.configuration().find((s) => s.id === "d")?.suffrage).toBe("voter");
    await eventually(() => joiner.machine.applied.length === 120, 5000, "the joiner catches up");
    expect(joiner.machine.restores).toBe(1); // it arrived through InstallSnapshot

    await leader.addNonvoter("e", "memory:e");
    expect(leader.configuration().find((s) => s.id === "e")?.suffrage).toBe("nonvoter");
    await leader.removeServer("e");
    expect(leader.configuration().find((s) => s.id === "e")).toBeUndefined();

    await leader.leadershipTransfer("d", { timeoutMs: 5000 });
    await eventually(() => joiner.runner.state() === "leader", 5000, "d leads");
    await joiner.runner.apply(payload(120));
    const snapshot = await joiner.runner.snapshot();
    expect(snapshot.index).toBeGreaterThan(120);
  });
});
