// Three `witnz start` processes form a Raft cluster over mutual TLS on one real PostgreSQL, each
// capturing from its own slot into its own LMDB store. Steady-state agreement, one webhook per
// incident whoever detects it, a store edited on disk named as the odd node, a follower restarted
// after ingest catching up, and the leader killed -9 during ingest with nothing lost or doubled
// and its duties taken over.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ClusterStatus } from "../../src/cluster-node/index.js";
import { type LocalNodeProcess, localLeader, prepareLocalCluster } from "../../src/local/index.js";
import { leafHash, nodeHash } from "../../src/merkle/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { openStore } from "../../src/store/index.js";
import { Receiver } from "../alerts/receiver.js";
import { until } from "../support/until.js";
import { witnz } from "../verify/helpers.js";

const IDS = ["n1", "n2", "n3"] as const;
const TABLE = "public.audit_log";

let server: TestPostgres;
let client: pg.Client;
let directory: string;
const receiver = new Receiver();
/** Every webhook body the receiver got, parsed. */
const received = () => receiver.bodies();
let nodes: LocalNodeProcess[] = [];
/** The fourth node, added at run time. */
let spare: LocalNodeProcess;
let inserted = 0;

function tableOf(status: ClusterStatus | undefined) {
  return status?.tables.find((table) => table.table === TABLE);
}

/** Every given node reports agreement at `size` or more. */
async function agreedAtLeast(size: number, running = nodes): Promise<true | undefined> {
  for (const node of running) {
    const table = tableOf(await node.cluster());
    if (table === undefined || table.agreedSize < size) return undefined;
  }
  return true;
}

const leader = () => localLeader(nodes);
const member = (id: string) => nodes.find((node) => node.id === id)!;

async function insert(rows: number): Promise<void> {
  const values: string[] = [];
  for (let i = 0; i < rows; i++) {
    inserted += 1;
    values.push(`(${inserted}, 'user-${inserted % 7}')`);
  }
  await client.query(`INSERT INTO public.audit_log (id, actor) VALUES ${values.join(",")}`);
}

async function verifyNode(node: LocalNodeProcess) {
  const result = await witnz("verify", "--config", node.configPath, "--json");
  return {
    code: result.code,
    report: JSON.parse(result.stdout || "{}") as Record<string, unknown>,
  };
}

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query("CREATE TABLE public.audit_log (id bigint PRIMARY KEY, actor text NOT NULL)");
  directory = await mkdtemp(join(tmpdir(), "witnz-cluster-"));
  await receiver.listen();
  const webhook = receiver.url;
  const all = await prepareLocalCluster({
    directory,
    database: server,
    clusterId: "acceptance",
    nodeIds: IDS,
    spareIds: ["n4"],
    tables: [{ name: "audit_log" }],
    webhook: { url: webhook },
    // Snapshots and log compaction every 32 entries: a node that joins late needs one.
    raftSnapshotEntries: 32,
  });
  nodes = all.slice(0, IDS.length);
  spare = all[IDS.length]!;
  for (const node of nodes) node.start();
}, 120_000);

afterAll(async () => {
  for (const node of [...nodes, spare]) await node?.stop("SIGKILL");
  await client?.end();
  await server?.stop();
  await receiver.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe("a three-node cluster of witnz start processes", () => {
  test("steady state: every node attests the same sizes and all agree", async () => {
    await insert(200);
    await insert(300);
    await until(() => agreedAtLeast(500), "agreement at 500", 60_000);
    const views = await Promise.all(nodes.map((node) => node.cluster()));
    const leaders = new Set(views.map((view) => view?.leader));
    expect(leaders.size).toBe(1);
    for (const view of views) {
      expect(view?.nodes.map((node) => node.node)).toEqual([...IDS]);
      expect(view?.nodes.every((node) => node.registered && node.suffrage === "voter")).toBe(true);
      expect(tableOf(view)?.agreement).toBe("agreed");
    }
    // witnz status shows the same cluster.
    const status = await witnz("status", "--config", member("n2").configPath, "--json");
    expect(status.code, status.stderr).toBe(0);
    const cluster = (JSON.parse(status.stdout) as { cluster: ClusterStatus | null }).cluster;
    expect(cluster).toMatchObject({ node: "n2", leader: views[0]?.leader, allAgree: true });
    const text = await witnz("status", "--config", member("n2").configPath);
    expect(text.stdout).toMatch(/cluster: leader n\d, term \d+, this node \w+; all nodes agree/);
  }, 90_000);

  test("an UPDATE every node detects is one incident, delivered once by the leader", async () => {
    await client.query("UPDATE public.audit_log SET actor = 'mallory' WHERE id = 7");
    const alert = await until(
      () => received().find((body) => body.op === "UPDATE" && (body.pk as string[])[0] === "7"),
      "the webhook",
      30_000,
    );
    expect(alert).toMatchObject({ kind: "append_only_violation", table: TABLE, pk: ["7"] });
    // Every node raises it; the cluster holds one incident with three reporters.
    await until(
      async () => {
        const view = await member("n1").cluster();
        return view !== undefined && view.pendingIncidents === 0 ? true : undefined;
      },
      "the incident acknowledged",
      30_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(received().filter((body) => body.id === alert.id)).toHaveLength(1);
  }, 60_000);

  test("a follower restarted after ingest catches up and agrees", async () => {
    const lead = await until(leader, "a leader");
    const follower = nodes.find((m) => m !== lead)!;
    expect(await follower.stop("SIGTERM")).toBe(0);
    await insert(250);
    const others = nodes.filter((m) => m !== follower);
    // Two of three still form a quorum: targets advance without the stopped node.
    await until(
      async () =>
        (tableOf(await others[0]!.cluster())?.targetSize ?? 0) >= 750 ? true : undefined,
      "a target at 750 without the follower",
      30_000,
    );
    follower.start();
    await until(() => agreedAtLeast(750), "agreement at 750", 60_000);
  }, 90_000);

  test("the leader killed -9 during ingest: nothing lost or doubled, duties taken over", async () => {
    const lead = await until(leader, "a leader");
    let stopWriting = false;
    const writer = (async () => {
      while (!stopWriting) await insert(20);
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await lead.stop("SIGKILL");
    const next = await until(
      async () => {
        const candidate = await leader();
        return candidate !== undefined && candidate !== lead ? candidate : undefined;
      },
      "a new leader",
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    stopWriting = true;
    await writer;
    // The new leader sets targets past everything written.
    await until(
      async () => ((tableOf(await next.cluster())?.targetSize ?? 0) >= inserted ? true : undefined),
      `a target at ${inserted} from the new leader`,
      30_000,
    );
    // An UPDATE after the failover is alerted once, by the new leader.
    await client.query("UPDATE public.audit_log SET actor = 'eve' WHERE id = 9");
    await until(
      () => received().find((body) => body.op === "UPDATE" && (body.pk as string[])[0] === "9"),
      "the webhook after failover",
      30_000,
    );
    lead.start();
    // Every node's chain equals a fresh recomputation from the table (verify: every row once,
    // the two UPDATEs as modified rows, nothing deleted or phantom).
    for (const m of nodes) {
      const outcome = await until(
        async () => {
          const result = await verifyNode(m);
          const table = (result.report.tables as Array<Record<string, unknown>> | undefined)?.[0];
          // Rows the node has not captured yet show as phantom: wait until it caught up.
          const caughtUp =
            table?.rowsChecked === inserted && (table.phantom as unknown[]).length === 0;
          return caughtUp ? { ...result, table } : undefined;
        },
        `${m.id} to hold ${inserted} rows`,
        60_000,
      );
      expect(outcome.code).toBe(1);
      expect(outcome.table).toMatchObject({ deleted: [], phantom: [] });
      expect(outcome.table.modified).toEqual(expect.arrayContaining([["7"], ["9"]]));
      expect(outcome.table.modified).toHaveLength(2);
    }
    const updates = received().filter((body) => body.op === "UPDATE");
    expect(new Set(updates.map((body) => body.id)).size).toBe(updates.length);
  }, 120_000);

  test("a member whose store was lost is rebuilt from a peer and counts again once re-verified", async () => {
    const lead = await until(leader, "a leader");
    const lost = nodes.find((node) => node !== lead)!;
    const source = nodes.find((node) => node !== lead && node !== lost)!;
    expect(await lost.stop("SIGTERM")).toBe(0);
    // The store's LMDB files are lost; its Raft log (raft/) and key are not.
    await rm(join(lost.dataDir, "data.mdb"));
    await rm(join(lost.dataDir, "lock.mdb"), { force: true });
    await insert(100);
    // Started as it is, it refuses: its chains cannot be re-captured from its slot.
    const refused = await witnz("start", "--config", lost.configPath);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("witnz restore");
    const restored = await witnz("restore", "--config", lost.configPath, "--from", source.id);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(new RegExp(`restored from ${source.id}: \\d+ entries`));
    const again = await witnz("restore", "--config", lost.configPath);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("the store is not blank");
    lost.start();
    await insert(50);
    // Re-verified against PostgreSQL, it is counted again and attests the latest sizes.
    await until(
      async () => {
        const table = tableOf(await lead.cluster());
        const view = await lead.cluster();
        const record = view?.nodes.find((node) => node.node === lost.id);
        const attested = table?.nodes.find((node) => node.node === lost.id)?.attestedSize ?? 0;
        return record?.restored === false && attested >= inserted ? true : undefined;
      },
      `${lost.id} counted again at ${inserted}`,
      60_000,
    );
    await until(() => agreedAtLeast(inserted), `agreement at ${inserted}`, 30_000);
    const store = await openStore(lost.dataDir);
    try {
      const record = JSON.parse(Buffer.from(store.meta("cluster-restored")!).toString("utf8"));
      expect(record).toMatchObject({ from: source.id });
      expect(typeof record.reverifiedAt).toBe("string");
    } finally {
      await store.close();
    }
  }, 120_000);

  test("a fourth node added at run time catches up through a snapshot and attests", async () => {
    const lead = await until(leader, "a leader");
    // Its own slot starts now, so its store is seeded from a peer first.
    const seeded = await witnz("restore", "--config", spare.configPath);
    expect(seeded.code, seeded.stderr).toBe(0);
    spare.start();
    await until(
      async () => {
        const view = await lead.cluster();
        const record = view?.nodes.find((node) => node.node === spare.id);
        return record?.suffrage === "voter" && record.registered && !record.restored;
      },
      `${spare.id} a counting voter`,
      90_000,
    );
    const own = await spare.cluster();
    expect(own?.snapshotsRestored).toBeGreaterThanOrEqual(1);
    await insert(60);
    const everyone = [...nodes, spare];
    await until(() => agreedAtLeast(inserted, everyone), `four nodes agree at ${inserted}`, 60_000);
    const table = tableOf(await lead.cluster());
    expect(table?.nodes.map((node) => node.node)).toEqual([...IDS, spare.id]);
  }, 150_000);

  // Last: from here on n3 disagrees at every size.
  test("a store edited on disk is named as the odd node", async () => {
    const edited = member("n3");
    // Another process edits n3's store while it runs: leaf 5 as if that row's data hash were
    // other, with its stored parents re-hashed, so the tree stays self-consistent.
    const store = await openStore(edited.dataDir);
    try {
      const batch = store.batch();
      const tree = store.treeNodes(TABLE, batch);
      let hash: Uint8Array = leafHash(Buffer.from("edited row"));
      let position = 5;
      tree.set(0, position, hash);
      for (let level = 0; ; level++) {
        const sibling = tree.get(level, position ^ 1);
        if (sibling === undefined) break;
        hash = position % 2 === 0 ? nodeHash(hash, sibling) : nodeHash(sibling, hash);
        position = Math.floor(position / 2);
        tree.set(level + 1, position, hash);
      }
      await store.commit(batch);
    } finally {
      await store.close();
    }
    // A size whose root n3 computes over the edited nodes is named; not every later size's root
    // covers them (see below), so rows go on arriving, 100 at a time, until one is voted.
    let alert: Record<string, unknown> | undefined;
    for (let round = 0; round < 6 && alert === undefined; round++) {
      await insert(100);
      alert = await until(
        () => received().find((body) => body.kind === "node_disagreement") ?? false,
        "the node_disagreement webhook",
        10_000,
      ).catch(() => undefined);
    }
    if (alert === undefined) throw new Error("no node_disagreement webhook after 600 rows");
    expect(alert.message).toContain("odd node(s) out: n3");
    // Recorded in the replicated state, on every node once applied there. (The running node's
    // tree later re-hashes the edited range from its in-memory right edge as it grows, so later
    // sizes may agree again.)
    for (const node of nodes) {
      await until(
        async () => ((await node.cluster())?.disagreements ?? 0) >= 1,
        `the disagreement on ${node.id}`,
        10_000,
      );
    }
  }, 60_000);
});
