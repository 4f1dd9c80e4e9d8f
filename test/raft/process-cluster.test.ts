// Raft with real processes on loopback: each node is `node dist/src/raft/runner/process-node.js`
// with real LMDB in a temporary directory, mutual TLS with development certificates and the
// default timings (50 ms ticks, elections after 0.5 to 1 s of silence). Faults are real
// signals: kill -9, SIGSTOP and SIGCONT.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, test } from "vitest";
import { createDevelopmentCertificates } from "../../src/certs/index.js";
import { RaftService, SendRequestSchema } from "../../src/gen/raft_pb.js";
import { encodeMessage, type Message, toNodeId } from "../../src/raft/index.js";
import {
  CLUSTER_ID,
  delay,
  duplicatesAndMissing,
  eventually,
  freePort,
  ProcessCluster,
  type ProcessNode,
} from "./process-harness.js";
import { temporaryDirectory } from "./runner-harness.js";

/** The bound on a new election after the leader dies, with default timings. */
const NEW_LEADER_MS_MAX = 2000;
const TEST_TIMEOUT_MS = 120_000;

const clusters: ProcessCluster[] = [];
afterEach(async () => {
  const unexpected: string[] = [];
  for (const cluster of clusters.splice(0)) unexpected.push(...(await cluster.stopAll()));
  // A node that crashed on its own fails the test, even if the test did not notice.
  expect(unexpected).toEqual([]);
});

async function startCluster(
  ids: readonly string[],
  spareIds: readonly string[] = [],
  extra: object = {},
): Promise<ProcessCluster> {
  const cluster = await ProcessCluster.create(ids, spareIds, extra);
  clusters.push(cluster);
  await cluster.startAll();
  return cluster;
}

/** Applies `payloads` one after another through the leader; every one must be acknowledged. */
async function applyAll(cluster: ProcessCluster, payloads: readonly string[]): Promise<void> {
  for (const payload of payloads) {
    const answer = await cluster.apply(payload);
    expect(answer, `apply ${payload}`).toMatchObject({ ok: true });
  }
}

const range = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** Milliseconds from now until one of `nodes` reports itself leader (polled every 20 ms). */
async function timeToLeader(
  cluster: ProcessCluster,
  nodes: readonly ProcessNode[],
  since: number,
): Promise<{ leader: ProcessNode; elapsedMs: number }> {
  const leader = await cluster.waitForLeader(nodes, 10_000);
  return { leader, elapsedMs: performance.now() - since };
}

function expectExactlyOnce(log: readonly string[], acknowledged: readonly string[]): void {
  expect(duplicatesAndMissing(log, acknowledged)).toEqual({ duplicates: [], missing: [] });
}

describe("3 nodes as processes", () => {
  test(
    "elect, apply 200 entries everywhere; kill -9 the leader: a new one within 2 s, " +
      "acknowledged entries applied exactly once on every live node",
    async () => {
      const cluster = await startCluster(["a", "b", "c"]);
      const first = await cluster.waitForLeader();
      const acknowledged = range("first", 200);
      await applyAll(cluster, acknowledged);
      const everyone = cluster.live();
      expect(await cluster.waitForSameLog(everyone)).toEqual(acknowledged);

      // Keep applying straight to the leader while it dies; record what it acknowledged.
      let stream = 0;
      const streaming = (async () => {
        for (;;) {
          const payload = `stream-${stream++}`;
          const answer = await first.request("apply", { data: payload, timeoutMs: 3000 });
          if (!answer.ok) return;
          acknowledged.push(payload);
        }
      })();
      await delay(150);
      const killedAt = performance.now();
      await first.kill();
      await streaming;
      const survivors = cluster.live();
      const { leader, elapsedMs } = await timeToLeader(cluster, survivors, killedAt);
      console.log(
        `new leader ${leader.id} ${Math.round(elapsedMs)} ms after kill -9; ` +
          `${acknowledged.length - 200} of ${stream} streamed applies acknowledged`,
      );
      expect(leader.id).not.toBe(first.id);
      expect(elapsedMs).toBeLessThan(NEW_LEADER_MS_MAX);

      const after = range("after", 20);
      await applyAll(cluster, after);
      acknowledged.push(...after);
      const log = await cluster.waitForSameLog(survivors);
      expectExactlyOnce(log, acknowledged);
      // Only the in-flight entry at the kill may be unacknowledged and still applied.
      expect(log.length - acknowledged.length).toBeLessThanOrEqual(1);
      expect(log.slice(0, 200)).toEqual(range("first", 200));
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "SIGSTOP a follower, then SIGCONT: it catches up; SIGSTOP the leader: the rest elect one; " +
      "SIGCONT: the old leader steps down and catches up",
    async () => {
      const cluster = await startCluster(["a", "b", "c"]);
      const leader = await cluster.waitForLeader();
      await applyAll(cluster, range("before", 20));
      const follower = cluster.live().find((node) => node !== leader)!;
      follower.signal("SIGSTOP");
      await applyAll(cluster, range("while-follower-stopped", 50));
      await delay(3000);
      follower.signal("SIGCONT");
      await cluster.waitForSameLog(cluster.live());
      expect((await follower.status())?.state).toBe("follower");

      const stoppedAt = performance.now();
      leader.signal("SIGSTOP");
      const others = cluster.live();
      const { leader: next, elapsedMs } = await timeToLeader(cluster, others, stoppedAt);
      console.log(`new leader ${next.id} ${Math.round(elapsedMs)} ms after SIGSTOP of the leader`);
      expect(elapsedMs).toBeLessThan(NEW_LEADER_MS_MAX);
      await applyAll(cluster, range("while-leader-stopped", 30));
      await delay(2000);
      leader.signal("SIGCONT");
      await eventually(
        async () => ((await leader.status())?.state === "follower" ? true : undefined),
        10_000,
        "the old leader to step down",
      );
      const log = await cluster.waitForSameLog(cluster.live());
      const expected = [
        ...range("before", 20),
        ...range("while-follower-stopped", 50),
        ...range("while-leader-stopped", 30),
      ];
      expect(log).toEqual(expected);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a killed node restarted with its data catches up",
    async () => {
      const cluster = await startCluster(["a", "b", "c"]);
      const leader = await cluster.waitForLeader();
      await applyAll(cluster, range("before", 30));
      const victim = cluster.live().find((node) => node !== leader)!;
      await cluster.waitForSameLog(cluster.live());
      await victim.kill();
      await applyAll(cluster, range("while-down", 50));
      const restarted = await cluster.start(victim.id);
      const log = await cluster.waitForSameLog(cluster.live());
      expect(log).toEqual([...range("before", 30), ...range("while-down", 50)]);
      // It replayed its own log rather than receiving a snapshot (none was cut).
      expect((await restarted.status())?.restores).toBe(0);

      // A graceful shutdown of a peer harms nobody (the others keep committing).
      await restarted.shutdown();
      await applyAll(cluster, range("after-shutdown", 10));
      expect(cluster.live()).toHaveLength(2);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a node that lost its data rejoins under a fresh id through a snapshot",
    async () => {
      // Snapshots every 50 entries, 10 kept behind: a new node starts from a snapshot.
      const cluster = await startCluster(["a", "b", "c"], ["d"], {
        snapshotEveryEntries: 50,
        snapshotTrailingEntries: 10,
      });
      const leader = await cluster.waitForLeader();
      const acknowledged = range("before", 120);
      await applyAll(cluster, acknowledged);
      const leaderStatus = (await leader.status())!;
      expect(leaderStatus.snapshotIndex).toBeGreaterThan(0);
      expect(leaderStatus.firstIndex).toBeGreaterThan(1);

      // The disk of a follower is lost. Its old id leaves the configuration; the machine
      // rejoins under a new id (a wiped store has forgotten its votes, so it must not vote
      // under the old one).
      const lost = cluster.live().find((node) => node !== leader)!;
      await lost.kill();
      rmSync(cluster.specs.get(lost.id)!.dataDirectory, { recursive: true, force: true });
      expect(await leader.request("removeServer", { nodeId: lost.id })).toMatchObject({ ok: true });
      const port = await freePort();
      const members = cluster.live();
      cluster.addSpec(
        "d",
        port,
        Object.fromEntries(members.map((node) => [node.id, cluster.addressOf(node.id)])),
      );
      const fresh = await cluster.start("d");
      expect(
        await leader.request("addVoter", { nodeId: "d", address: cluster.addressOf("d") }),
      ).toMatchObject({ ok: true });
      const log = await cluster.waitForSameLog([...members, fresh]);
      expect(log).toEqual(acknowledged);
      const freshStatus = (await fresh.status())!;
      expect(freshStatus.restores).toBeGreaterThanOrEqual(1);
      expect(freshStatus.snapshotIndex).toBeGreaterThan(0);

      // d is a voter now: with the other follower gone, the leader commits with d alone.
      const other = members.find((node) => node !== leader)!;
      await other.kill();
      const after = range("with-d", 10);
      await applyAll(cluster, after);
      expect(await cluster.waitForSameLog([leader, fresh])).toEqual([...acknowledged, ...after]);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "a client without a valid certificate is refused by a node process",
    async () => {
      const cluster = await startCluster(["a", "b", "c"]);
      await cluster.waitForLeader();
      const strangers = temporaryDirectory("witnz-process-strangers-");
      try {
        await createDevelopmentCertificates({ outDirectory: strangers, nodes: ["a"] });
        const read = (root: string, name: string) => readFileSync(join(root, name));
        const ca = read(cluster.certificates, "ca.crt");
        const baseUrl = `https://${cluster.addressOf("b")}`;
        const request = create(SendRequestSchema, { clusterId: CLUSTER_ID, messages: [] });
        const clientWith = (nodeOptions: Record<string, unknown>) =>
          createClient(
            RaftService,
            createConnectTransport({ baseUrl, httpVersion: "2", nodeOptions }),
          );
        // No client certificate at all.
        await expect(clientWith({ ca }).send(request, { timeoutMs: 3000 })).rejects.toThrow();
        // A certificate from another CA, carrying a member's name.
        await expect(
          clientWith({
            ca,
            cert: read(strangers, "a.crt"),
            key: read(strangers, "a.key"),
          }).send(request, { timeoutMs: 3000 }),
        ).rejects.toThrow();
        // A member speaking as another member.
        const forged = create(SendRequestSchema, {
          clusterId: CLUSTER_ID,
          messages: [
            encodeMessage({
              from: toNodeId("a"),
              to: toNodeId("b"),
              term: 99,
              type: "timeout-now",
            } as Message),
          ],
        });
        const member = clientWith({
          ca,
          cert: read(cluster.certificates, "c.crt"),
          key: read(cluster.certificates, "c.key"),
        });
        await expect(member.send(forged, { timeoutMs: 3000 })).rejects.toThrow(
          /refused c sending as a/,
        );
      } finally {
        rmSync(strangers, { recursive: true, force: true });
      }
      // The cluster is unharmed.
      expect(await cluster.apply("still-working")).toMatchObject({ ok: true });
      expect(cluster.live().every((node) => node.alive)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});

describe("5 nodes as processes", () => {
  test(
    "kill -9 two nodes: still commits; a third: stops committing; one back: resumes",
    async () => {
      const cluster = await startCluster(["a", "b", "c", "d", "e"]);
      const leader = await cluster.waitForLeader();
      const acknowledged = range("five", 20);
      await applyAll(cluster, acknowledged);

      // The leader and one follower die.
      const follower = cluster.live().find((node) => node !== leader)!;
      await leader.kill();
      await follower.kill();
      const twoDown = range("two-down", 20);
      await applyAll(cluster, twoDown);
      acknowledged.push(...twoDown);

      // A third dies: two of five cannot commit.
      const third = cluster.live()[0]!;
      await third.kill();
      const remaining = cluster.live();
      const commitBefore = await Promise.all(remaining.map(async (n) => (await n.status())!));
      const refused = await cluster.apply("no-quorum", 3000);
      expect(refused.ok).toBe(false);
      await delay(1000);
      const commitAfter = await Promise.all(remaining.map(async (n) => (await n.status())!));
      // A follower may still learn, from a heartbeat, a commit index the cluster reached before
      // the third died; nothing past it may commit.
      const committedBefore = Math.max(...commitBefore.map((status) => status.commitIndex));
      for (const status of commitAfter) {
        expect(status.commitIndex).toBeLessThanOrEqual(committedBefore);
        expect(status.state).not.toBe("leader");
      }

      // One comes back with its data: three of five commit again.
      const returned = await cluster.start(third.id);
      const resumed = range("resumed", 10);
      await applyAll(cluster, resumed);
      acknowledged.push(...resumed);
      const log = await cluster.waitForSameLog([...remaining, returned]);
      expectExactlyOnce(log, acknowledged);
      // "no-quorum" was never acknowledged: it may be applied (at most once) or not at all.
      expect(log.filter((item) => item === "no-quorum").length).toBeLessThanOrEqual(1);
    },
    TEST_TIMEOUT_MS,
  );
});
