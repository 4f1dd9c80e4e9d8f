// The proof test of the specification, with real processes: three raft nodes (`witnz start`, one
// PostgreSQL, Raft over mutual TLS) submit their own signed observations to three witnesses. The
// leader is made to lie (the test-only fault switch alters what it observes); every witness names
// it as the minority, and `witnz verify --quick` says so.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Overview } from "../../src/dashboard/index.js";
import {
  type LocalNodeProcess,
  localLeader,
  planLocalWitnesses,
  prepareLocalCluster,
  prepareLocalWitnesses,
} from "../../src/local/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { Receiver } from "../alerts/receiver.js";
import { until } from "../support/until.js";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const TABLE = "public.audit_log";

let server: TestPostgres;
let client: pg.Client;
let directory: string;
const receiver = new Receiver();
/** Every webhook body the receiver got, parsed. */
const received = () => receiver.bodies();
let nodes: LocalNodeProcess[] = [];
let witnesses: LocalNodeProcess[] = [];
let inserted = 0;

async function insert(rows: number): Promise<void> {
  const values: string[] = [];
  for (let i = 0; i < rows; i++) {
    inserted += 1;
    values.push(`(${inserted}, 'user-${inserted % 7}')`);
  }
  await client.query(`INSERT INTO public.audit_log (id, actor) VALUES ${values.join(",")}`);
}

function quickVerify(configPath: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "verify", "--quick", "--config", configPath]);
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on("exit", (code) => resolve({ code, stdout }));
  });
}

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query("CREATE TABLE public.audit_log (id bigint PRIMARY KEY, actor text NOT NULL)");
  directory = await mkdtemp(join(tmpdir(), "witnz-democracy-"));
  await receiver.listen();
  const webhook = { url: receiver.url };
  const plans = await planLocalWitnesses(["w1", "w2", "w3"]);
  nodes = await prepareLocalCluster({
    directory,
    database: server,
    clusterId: "democracy",
    nodeIds: ["n1", "n2", "n3"],
    tables: [{ name: "audit_log" }],
    webhook,
    witnesses: plans.map((plan) => ({ id: plan.id, address: plan.address })),
  });
  witnesses = await prepareLocalWitnesses({
    directory,
    clusterId: "democracy",
    plans,
    nodes,
    hashCollectionTimeout: "2s",
    webhook,
  });
  for (const witness of witnesses) witness.start();
  for (const node of nodes) node.start({ faults: true });
}, 120_000);

afterAll(async () => {
  for (const process of [...nodes, ...witnesses]) await process.stop("SIGKILL");
  await client?.end();
  await server?.stop();
  await receiver.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

test("a lying leader is named the minority by every witness, and verify --quick says so", async () => {
  await insert(100);
  // Honest nodes: every witness votes unanimous.
  const clean = await until(
    async () => {
      const result = await quickVerify(nodes[1]!.configPath);
      return result.code === 0 && result.stdout.includes(`${TABLE}: clean`) ? result : undefined;
    },
    "a clean verdict from the witnesses",
    60_000,
  );
  expect(clean.stdout).not.toContain("tampering");

  const leader = await until(() => localLeader(nodes), "a leader");
  await leader.alterObservations(true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  await insert(50);

  // Each witness alerts tampering_detected naming the leader as the only minority node.
  for (const witness of ["w1", "w2", "w3"]) {
    const alert = await until(
      () => received().find((body) => body.kind === "tampering_detected" && body.node === witness),
      `tampering_detected from ${witness}`,
      30_000,
    );
    expect(String(alert.message)).toContain(`minority nodes [${leader.id}]`);
  }
  const tampered = await until(
    async () => {
      const result = await quickVerify(nodes[1]!.configPath);
      return result.code === 1 ? result : undefined;
    },
    "verify --quick to report tampering",
    30_000,
  );
  expect(tampered.stdout).toContain(`${TABLE}: tampering`);
  for (const witness of ["w1", "w2", "w3"]) {
    expect(tampered.stdout).toMatch(
      new RegExp(`${witness}: tampering: tampering_detected; minority ${leader.id}=`),
    );
  }
  // The cluster itself names the same node.
  const view = await nodes.find((node) => node !== leader)!.cluster();
  expect(view?.disagreements).toBeGreaterThan(0);
  const disagreement = received().find((body) => body.kind === "node_disagreement");
  expect(String(disagreement?.message ?? "")).toContain(`odd node(s) out: ${leader.id}`);
  expect(
    view?.tables.find((table) => table.table === TABLE)?.standingDisagreement?.oddNodes,
  ).toEqual([leader.id]);
  // Every dashboard, the liar's own included, shows it odd out and not ready.
  for (const node of nodes) {
    const shown = await until(async () => {
      const overview = (await (await fetch(`${node.url}/api/v1/overview`)).json()) as Overview;
      const entry = overview.cluster.nodes.find((candidate) => candidate.id === leader.id);
      return entry?.health.state === "not_ready" ? entry : undefined;
    }, `${node.id}'s dashboard to show ${leader.id} not ready`);
    expect(shown.health.reasons.join("; ")).toMatch(
      new RegExp(`odd node out on ${TABLE.replace(".", "\\.")} at size \\d+`),
    );
  }
}, 180_000);
