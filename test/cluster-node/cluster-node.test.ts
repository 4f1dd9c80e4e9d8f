// The cluster node over a fake Raft (one shared log, applied everywhere in order) and in-memory
// stores: registration, progress, sequenced targets, signed observations, incidents.
import { afterEach, describe, expect, test } from "vitest";
import { decodeCommand, disagreementIncidentId } from "../../src/cluster/index.js";
import { ClusterStateMachineAdapter } from "../../src/cluster-node/index.js";
import { toLogIndex, toTerm } from "../../src/raft/index.js";
import { appendRows, type FakeMember, fakeCluster, ORIGIN, TABLE } from "./fake-cluster.js";

const started: FakeMember[] = [];
afterEach(async () => {
  for (const member of started.splice(0)) await member.node.stop();
});

async function settle(members: readonly FakeMember[]): Promise<void> {
  for (let round = 0; round < 4; round++) {
    for (const member of members) await member.node.runPass();
  }
}

async function startedCluster(ids: readonly string[] = ["a", "b", "c"]) {
  const cluster = await fakeCluster(ids);
  for (const member of cluster.members) {
    member.node.start(cluster.raft.handle(member.id));
    started.push(member);
  }
  await settle(cluster.members);
  return cluster;
}

async function ingest(member: FakeMember, count: number, dataOf?: (seq: number) => string) {
  member.node.captureCommitted(await appendRows(member.store, TABLE, count, dataOf));
}

const commandTypes = (log: readonly Uint8Array[]) => log.map((data) => decodeCommand(data).type);

describe("ClusterStateMachineAdapter", () => {
  test("applies entries in order, forwards their events, and passes snapshots through", async () => {
    const cluster = await fakeCluster(["a"]);
    const source = cluster.members[0]!.node;
    await source.runPass();
    const adapter = new ClusterStateMachineAdapter(ORIGIN);
    const seen: string[] = [];
    adapter.onEvents((events) => seen.push(...events.map((event) => event.type)));
    const entry = (index: number, data: Uint8Array) => ({
      index: toLogIndex(index),
      term: toTerm(1),
      type: "normal" as const,
      data,
    });
    await adapter.apply([entry(1, new Uint8Array([1, 2]))]);
    expect(seen).toEqual(["command_rejected"]);
    const restored = new ClusterStateMachineAdapter(ORIGIN);
    let restores = 0;
    restored.onRestore(() => {
      restores += 1;
    });
    await restored.restore(await adapter.snapshot());
    expect(restores).toBe(1);
    expect(await restored.snapshot()).toEqual(await adapter.snapshot());
    expect(restored.machine.rejections()).toHaveLength(1);
  });
});

describe("ClusterNode", () => {
  test("the leader registers the founding members; every node reports progress", async () => {
    const { raft, members } = await startedCluster();
    expect(members[2]!.node.machine.nodes().map((node) => node.node)).toEqual(["a", "b", "c"]);
    for (const member of members) await ingest(member, 5);
    await settle(members);
    const types = commandTypes(raft.log);
    expect(types.slice(0, 3)).toEqual(["node_registered", "node_registered", "node_registered"]);
    expect(types.filter((type) => type === "progress")).toHaveLength(3);
    for (const member of members) expect(member.errors).toEqual([]);
  });

  test("every node signs the target the leader sequenced, and the size is agreed", async () => {
    const { members } = await startedCluster();
    for (const member of members) await ingest(member, 5);
    await settle(members);
    for (const member of members) {
      expect(member.node.machine.targetSize(TABLE)).toBe(5);
      expect(member.node.machine.agreedSize(TABLE)).toBe(5);
      expect(member.node.machine.observations(TABLE, 5).map((o) => o.node)).toEqual([
        "a",
        "b",
        "c",
      ]);
    }
  });

  test("a node behind the target signs it once its ingest reaches it, at exactly that size", async () => {
    const { members } = await startedCluster();
    const [a, b, c] = members as [FakeMember, FakeMember, FakeMember];
    await ingest(a, 7);
    await ingest(b, 5);
    await settle(members);
    await ingest(c, 2);
    await settle(members);
    // A majority (a, b) has 5: the target is 5, and c cannot sign it yet.
    expect(a.node.machine.targetSize(TABLE)).toBe(5);
    expect(a.node.machine.observations(TABLE, 5).map((o) => o.node)).toEqual(["a", "b"]);
    expect(a.node.machine.agreedSize(TABLE)).toBe(0);
    await ingest(c, 4);
    await settle(members);
    expect(a.node.machine.agreedSize(TABLE)).toBe(5);
    // a signed the root at 5 although its chain had 7 entries.
    const values = a.node.machine.observations(TABLE, 5);
    expect(new Set(values.map((o) => `${o.rootHash} ${o.chainHash}`)).size).toBe(1);
  });

  test("a node whose data differs is named in a node_disagreement, which becomes one incident", async () => {
    const { members } = await startedCluster();
    const [a, b, c] = members as [FakeMember, FakeMember, FakeMember];
    await ingest(a, 4);
    await ingest(b, 4);
    await ingest(c, 4, (seq) => (seq === 3 ? "edited" : `row ${seq}`));
    await settle(members);
    const [disagreement] = a.node.machine.disagreements();
    expect(disagreement).toMatchObject({
      table: TABLE,
      size: 4,
      outcome: "majority",
      majorityNodes: ["a", "b"],
      oddNodes: ["c"],
    });
    const id = disagreementIncidentId(TABLE, 4);
    for (const member of members) {
      const incident = member.node.machine.incident(id);
      expect(incident?.alert).toMatchObject({ id, kind: "node_disagreement", table: TABLE });
      expect(incident?.alert.message).toContain("odd node(s) out: c");
      expect(incident?.acknowledged).toBe(false);
    }
    expect(a.node.machine.agreedSize(TABLE)).toBe(0);

    // A decided disagreement does not hold the targets back: with c differing at every size
    // from now on, the leader keeps sequencing and each size is decided on its own.
    for (let round = 0; round < 10; round++) {
      for (const member of members) await ingest(member, 1);
      await settle(members);
    }
    expect(a.node.machine.targetSize(TABLE)).toBe(14);
    expect(a.node.machine.disagreements().map((record) => record.size)).toContain(14);
  });

  test("the same alert raised by several nodes is one incident with every reporter", async () => {
    const { members } = await startedCluster();
    const [a, b, c] = members as [FakeMember, FakeMember, FakeMember];
    const alert = (node: string) => ({
      id: "public.audit_log/0/16/0",
      kind: "append_only_violation",
      severity: "critical" as const,
      node,
      table: TABLE,
      op: "UPDATE",
      pk: ["7"],
      lsn: "0/16",
      detectedAt: "2026-11-23T12:00:00.000Z",
      message: "UPDATE on append-only table public.audit_log",
    });
    await b.node.raiseAlert(alert("b"));
    await c.node.raiseAlert(alert("c"));
    await a.node.raiseAlert(alert("a"));
    const incidents = a.node.machine.incidents();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ reporters: ["a", "b", "c"], acknowledged: false });
    expect(incidents[0]?.alert.node).toBe("b");
    await a.node.acknowledgeAlert(alert("a").id);
    expect(c.node.machine.pendingIncidents()).toEqual([]);
  });

  test("an alert the cluster refuses is an error for its raiser", async () => {
    const { members } = await startedCluster();
    const b = members[1]!;
    await expect(
      b.node.raiseAlert({
        id: "x",
        kind: "append_only_violation",
        severity: "critical",
        // Not a registered node: the state machine refuses it.
        node: "stranger",
        detectedAt: "2026-11-23T12:00:00.000Z",
        message: "m",
      }),
    ).rejects.toMatchObject({ code: "WITNZ_CLUSTER_NODE_REFUSED" });
  });

  test("verification results are recorded in the replicated state", async () => {
    const { members } = await startedCluster();
    const b = members[1]!;
    b.node.recordVerification({
      table: TABLE,
      timeMicroseconds: 1_763_891_200_000_000,
      counts: { rows: 10, modified: 1, deleted: 0, phantom: 0 },
    });
    await settle(members);
    expect(members[0]!.node.machine.verifications(TABLE)).toEqual([
      expect.objectContaining({
        node: "b",
        ok: false,
        counts: expect.objectContaining({ modified: 1 }),
      }),
    ]);
  });

  test("a follower that cannot reach a leader reports the error and retries on a later pass", async () => {
    const { raft, members } = await startedCluster();
    const c = members[2]!;
    raft.leaderId = "nobody";
    await ingest(c, 3);
    await c.node.runPass();
    expect(c.errors.length).toBeGreaterThan(0);
    raft.leaderId = "a";
    await settle(members);
    expect(c.node.machine.sequencingInput(TABLE).localSizes.get("c")).toBe(3);
  });
});
