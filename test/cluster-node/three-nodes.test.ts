// Three cluster nodes in one process: Raft runners over the in-memory network, each node with its
// own LMDB store filled by its own capture (its own slot) from one real PostgreSQL.
import { rmSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CaptureRunner } from "../../src/capture/index.js";
import {
  formatVerifierKey,
  type NoteSigner,
  noteVerifier,
  SIGNATURE_TYPE_ED25519,
} from "../../src/checkpoint/index.js";
import { disagreementIncidentId } from "../../src/cluster/index.js";
import { ClusterNode } from "../../src/cluster-node/index.js";
import { generateEd25519KeyPair } from "../../src/crypto/index.js";
import { leafHash, nodeHash } from "../../src/merkle/index.js";
import {
  connectSession,
  ensurePublication,
  ensureReplicationSlot,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";
import { LmdbRaftStorage, MemoryNetwork, RaftRunner, toNodeId } from "../../src/raft/index.js";
import { openStore, type WitnzStore } from "../../src/store/index.js";
import { eventually, temporaryDirectory } from "../raft/runner-harness.js";

const ORIGIN = "witnz/three";
const TABLE = "public.audit_log";
const IDS = ["a", "b", "c"] as const;

interface Member {
  id: string;
  store: WitnzStore;
  node: ClusterNode;
  runner: RaftRunner;
  capture: CaptureRunner;
  signer: NoteSigner;
}

let server: TestPostgres;
let client: pg.Client;
const directories: string[] = [];

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query("CREATE TABLE public.audit_log (id bigint PRIMARY KEY, actor text)");
  await ensurePublication(client, "witnz", [{ schema: "public", table: "audit_log" }]);
  for (const id of IDS) await ensureReplicationSlot(client, `witnz_${id}`);
}, 120_000);

afterAll(async () => {
  await client?.end();
  await server?.stop();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function capture(member: Pick<Member, "id" | "store" | "signer">, node: ClusterNode) {
  let clock = 1_763_891_200_000_000n;
  const runner = new CaptureRunner({
    connection: { connectionString: server.connectionString },
    slotName: `witnz_${member.id}`,
    publicationName: "witnz",
    store: member.store,
    signer: member.signer,
    clusterOrigin: ORIGIN,
    nowUnixMicroseconds: () => {
      clock += 1n;
      return clock;
    },
    stageViolation: () => {},
    onCommitted: (batch) => node.captureCommitted(batch),
  });
  runner.start();
  return runner;
}

/** Edits leaf `index` of a table's tree as if its data hash were `data`, re-hashing stored parents. */
async function editLeaf(store: WitnzStore, index: number, data: Uint8Array): Promise<void> {
  const batch = store.batch();
  const nodes = store.treeNodes(TABLE, batch);
  let hash: Uint8Array = leafHash(data);
  let position = index;
  nodes.set(0, position, hash);
  for (let level = 0; ; level++) {
    const sibling = nodes.get(level, position ^ 1);
    if (sibling === undefined) break;
    hash = position % 2 === 0 ? nodeHash(hash, sibling) : nodeHash(sibling, hash);
    position = Math.floor(position / 2);
    nodes.set(level + 1, position, hash);
  }
  await store.commit(batch);
}

async function insert(from: number, to: number): Promise<void> {
  await client.query(
    "INSERT INTO public.audit_log SELECT g, 'user-' || g FROM generate_series($1::int, $2::int) g",
    [from, to],
  );
}

describe("three cluster nodes on one PostgreSQL", () => {
  test("agree at the same sizes; a node whose stored tree was edited is named as odd", async () => {
    const network = new MemoryNetwork();
    const keys = IDS.map((id) => ({
      id,
      pair: generateEd25519KeyPair(),
      name: `${ORIGIN}/node/${id}`,
    }));
    const founding = keys.map((key) => ({
      node: key.id,
      verifierKey: formatVerifierKey(
        noteVerifier(key.name, SIGNATURE_TYPE_ED25519, key.pair.publicKey),
      ),
    }));
    const members: Member[] = [];
    const byId = new Map<string, Member>();
    for (const key of keys) {
      const storeDirectory = temporaryDirectory(`witnz-cluster-store-${key.id}-`);
      const raftDirectory = temporaryDirectory(`witnz-cluster-raft-${key.id}-`);
      directories.push(storeDirectory, raftDirectory);
      const store = await openStore(join(storeDirectory, "store"));
      const signer = { name: key.name, privateKey: key.pair.privateKey };
      const node = new ClusterNode({
        nodeId: key.id,
        clusterOrigin: ORIGIN,
        store,
        signer,
        members: founding,
        nowUnixMicroseconds: () => BigInt(Date.now()) * 1000n,
        dutyIntervalMs: 50,
        // In one process a follower reaches the leader directly; across processes this is an RPC.
        forwardToLeader: async (leaderId, data) => {
          const leader = byId.get(leaderId);
          if (leader === undefined) throw new Error(`unknown leader ${leaderId}`);
          await leader.runner.apply(data);
        },
      });
      const runner = await RaftRunner.start({
        id: key.id,
        clusterId: "three",
        storage: LmdbRaftStorage.open(raftDirectory),
        transport: network.transport(toNodeId(key.id)),
        stateMachine: node.stateMachine,
        peers: Object.fromEntries(IDS.filter((p) => p !== key.id).map((p) => [p, `memory:${p}`])),
        bootstrap: key.id === "a",
        tickMs: 10,
      });
      const member: Member = { id: key.id, store, node, runner, signer, capture: undefined! };
      member.capture = capture(member, node);
      node.start(runner);
      members.push(member);
      byId.set(key.id, member);
    }
    try {
      await insert(1, 40);
      await eventually(
        () => members.every((m) => m.node.machine.agreedSize(TABLE) === 40),
        30_000,
        "agreement at 40 on every node",
      );
      for (const member of members) {
        const observed = member.node.machine.observations(TABLE, 40);
        expect(observed.map((o) => o.node)).toEqual(["a", "b", "c"]);
        expect(new Set(observed.map((o) => `${o.rootHash} ${o.chainHash}`)).size).toBe(1);
      }

      // c's store is edited while its capture is down: leaf 3 now hashes other data.
      const c = byId.get("c")!;
      await c.capture.stop();
      await editLeaf(c.store, 3, Buffer.from("edited row"));
      c.capture = capture(c, c.node);
      await insert(41, 60);
      const id = disagreementIncidentId(TABLE, 60);
      const disagreement = await eventually(
        () => members[0]!.node.machine.disagreements().find((d) => d.incidentId === id),
        30_000,
        "a node_disagreement at 60",
      );
      expect(disagreement).toMatchObject({ outcome: "majority", oddNodes: ["c"] });
      expect(disagreement.majorityNodes).toEqual(["a", "b"]);
      const leader = await eventually(
        () => members.find((m) => m.runner.state() === "leader"),
        5000,
        "a leader",
      );
      const alert = await eventually(() => leader.store.alert(id), 5000, "the alert");
      expect(alert.alert).toMatchObject({ kind: "node_disagreement", table: TABLE });
      expect(alert.alert.message).toContain("odd node(s) out: c");
    } finally {
      for (const member of members) {
        await member.node.stop();
        await member.capture.stop();
        await member.runner.shutdown();
        await member.store.close();
      }
    }
  }, 120_000);
});
