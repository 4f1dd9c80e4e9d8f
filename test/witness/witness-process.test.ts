// Three witness processes (the built `witnz start`, role witness) on loopback HTTP/2, and three
// raft nodes' submitters in this process: the acceptance scenarios of the witness role.
import { type ChildProcess, spawn } from "node:child_process";
import type { KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDevelopmentCertificates } from "../../src/certs/index.js";
import { ed25519Sign, privateKeyToPem } from "../../src/crypto/index.js";
import type {
  AlertList,
  EntryLookup,
  Overview,
  WitnessVerdicts,
} from "../../src/dashboard/index.js";
import { SubmitBatchRequestSchema } from "../../src/gen/witnz_pb.js";
import { freePort } from "../../src/local/index.js";
import {
  connectWitness,
  type EnvelopeObservation,
  memorySubmitterBacklog,
  openSubmitterBacklog,
  queryAuth,
  rejectionCodeOf,
  type SubmitterBacklog,
  type SubmitterObservation,
  submissionEnvelope,
  WitnessSubmitter,
  WitnessVerdictReader,
} from "../../src/witness/index.js";
import { Receiver } from "../alerts/receiver.js";
import { until } from "../support/until.js";
import { CUSTOMER, FixtureNode, witnessConfigYaml } from "./fixtures.js";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const WITNESS_IDS = ["witness1", "witness2", "witness3"];

/** A TCP proxy that records every byte a client sends through it. */
class RecordingProxy {
  readonly received: Buffer[] = [];
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly targetPort: number) {}
  async listen(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.targetPort, "127.0.0.1");
      this.#sockets.add(client).add(upstream);
      client.on("data", (chunk: Buffer) => {
        this.received.push(Buffer.from(chunk));
        upstream.write(chunk);
      });
      upstream.on("data", (chunk: Buffer) => client.write(chunk));
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("close", end).on("error", end);
      upstream.on("close", end).on("error", end);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

class WitnessProcess {
  child: ChildProcess | undefined;
  stderr = "";
  constructor(
    readonly id: string,
    readonly configPath: string,
    readonly grpcPort: number,
    readonly httpPort: number,
  ) {}
  get url(): string {
    return `http://127.0.0.1:${this.grpcPort}`;
  }
  async start(): Promise<void> {
    const child = spawn(process.execPath, [BIN, "start", "--config", this.configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.child = child;
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`${this.id} exited: ${this.stderr}`);
      try {
        return (await fetch(`http://127.0.0.1:${this.httpPort}/healthz`)).ok;
      } catch {
        return false;
      }
    }, `${this.id} to serve /healthz`);
  }
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    this.child = undefined;
  }
  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.httpPort}/metrics`)).text();
  }
}

const nodes = ["node1", "node2", "node3"].map((id) => new FixtureNode(id));
const directory = mkdtempSync(join(tmpdir(), "witnz-witness-"));
const receiver = new Receiver();
const witnesses: WitnessProcess[] = [];
let proxy: RecordingProxy;
const submitters = new Map<string, WitnessSubmitter>();
const backlogs = new Map<string, SubmitterBacklog>();

function startSubmitter(node: FixtureNode): Promise<void> {
  const backlog = openSubmitterBacklog(join(directory, `backlog-${node.id}`));
  backlogs.set(node.id, backlog);
  const submitter = new WitnessSubmitter({
    customerId: CUSTOMER,
    nodeId: node.id,
    signer: node.signer,
    // witness1 is reached through the recording proxy.
    witnesses: witnesses.map((witness, index) => ({
      id: witness.id,
      url: index === 0 ? `http://127.0.0.1:${proxy.port}` : witness.url,
    })),
    persistence: backlog,
    retry: { initialDelayMs: 50, maxDelayMs: 500 },
  });
  submitters.set(node.id, submitter);
  return submitter.start();
}

async function stopSubmitter(nodeId: string): Promise<void> {
  await submitters.get(nodeId)?.stop();
  await backlogs.get(nodeId)?.close();
  submitters.delete(nodeId);
  backlogs.delete(nodeId);
}

const client = () => connectWitness({ id: "witness1", url: witnesses[0]!.url });
/** Queries are signed by a node of the customer: node1 here. */
const querySigner = () => ({ nodeId: nodes[0]!.id, privateKey: nodes[0]!.signer.privateKey });

async function verdictAt(witness: WitnessProcess, table: string, size: number) {
  const connection = connectWitness({ id: witness.id, url: witness.url });
  try {
    const response = await connection.client.getVerdict({
      customerId: CUSTOMER,
      table,
      size: BigInt(size),
      auth: queryAuth(querySigner(), {
        method: "GetVerdict",
        customerId: CUSTOMER,
        witnessId: witness.id,
        table,
        size,
      }),
    });
    return response.found ? response.verdict : undefined;
  } finally {
    connection.close();
  }
}

/** Every node appends `rows` to `table` (some tampered) and submits its checkpoint. */
async function observeAll(
  table: string,
  rows: number,
  options: { tampered?: readonly string[]; silent?: readonly string[] } = {},
): Promise<void> {
  for (const node of nodes) {
    node.append(rows, table, (index) =>
      options.tampered?.includes(node.id) === true && index === 2 ? "altered" : undefined,
    );
    const observation: SubmitterObservation = node.observe(table);
    if (options.silent?.includes(node.id) !== true) {
      await submitters.get(node.id)!.submit(observation);
    }
  }
}

beforeAll(async () => {
  await receiver.listen();
  for (const id of WITNESS_IDS) {
    const grpcPort = await freePort();
    const httpPort = await freePort();
    const configPath = join(directory, `${id}.yaml`);
    writeFileSync(
      configPath,
      witnessConfigYaml({
        id,
        dataDir: join(directory, id),
        grpcPort,
        httpPort,
        nodes,
        timeout: "1s",
        webhookUrl: receiver.url,
      }),
    );
    witnesses.push(new WitnessProcess(id, configPath, grpcPort, httpPort));
  }
  await Promise.all(witnesses.map((witness) => witness.start()));
  proxy = new RecordingProxy(witnesses[0]!.grpcPort);
  await proxy.listen();
  for (const node of nodes) await startSubmitter(node);
}, 60_000);

afterAll(async () => {
  for (const id of [...submitters.keys()]) await stopSubmitter(id);
  await Promise.all(witnesses.map((witness) => witness.stop()));
  await proxy?.close();
  await receiver.close();
  rmSync(directory, { recursive: true, force: true });
});

describe("witness processes", () => {
  test("every node reports the same checkpoint: unanimous on every witness, cosigned", async () => {
    await observeAll("public.t_unanimous", 5);
    for (const witness of witnesses) {
      const verdict = await until(() => verdictAt(witness, "public.t_unanimous", 5), "a verdict");
      expect(verdict.outcome).toBe(2 - 1); // VERDICT_OUTCOME_UNANIMOUS
      expect(verdict.majorityNodes).toEqual(["node1", "node2", "node3"]);
      expect(verdict.cosigned).toBe(true);
    }
  });

  test("one node lies: tampering_detected names it with both hashes, and is alerted", async () => {
    await observeAll("public.t_one_liar", 4, { tampered: ["node1"] });
    const verdict = await until(
      () => verdictAt(witnesses[0]!, "public.t_one_liar", 4),
      "a verdict",
    );
    expect(verdict.outcome).toBe(2); // TAMPERING_DETECTED
    expect(verdict.minority.map((value) => value.nodeId)).toEqual(["node1"]);
    expect(verdict.majorityNodes).toEqual(["node2", "node3"]);
    const majorityRoot = Buffer.from(verdict.majority!.merkleRoot).toString("base64");
    const minorityRoot = Buffer.from(verdict.minority[0]!.merkleRoot).toString("base64");
    expect(majorityRoot).not.toBe(minorityRoot);
    const alert = await until(
      () =>
        receiver.requests
          .map(
            (request) =>
              JSON.parse(request.body.toString()) as {
                kind: string;
                table: string;
                message: string;
                node: string;
              },
          )
          .find(
            (body) =>
              body.kind === "tampering_detected" &&
              body.table === "public.t_one_liar" &&
              body.node === "witness1",
          ),
      "the tampering alert",
    );
    expect(alert.message).toContain("[node1]");
    expect(alert.message).toContain(majorityRoot);
    expect(alert.message).toContain(minorityRoot);
  });

  test("a witness's dashboard: its verdicts, the nodes reporting to it, its votes' alerts", async () => {
    const base = `http://127.0.0.1:${witnesses[0]!.httpPort}`;
    const get = async <T>(path: string): Promise<T> => {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(200);
      return (await response.json()) as T;
    };
    // The app itself is served on the witness's HTTP port too.
    expect(await (await fetch(`${base}/`)).text()).toContain('<div id="root">');
    const overview = await get<Overview>("/api/v1/overview");
    expect(overview.node).toMatchObject({ id: "witness1", role: "witness" });
    // Its cosignature/v1 key: the type byte 0x04 makes the key material's base64 start with B.
    expect(overview.node.verifierKey).toMatch(/^witnz\/witness\/witness1\+[0-9a-f]{8}\+B/);
    expect(overview.cluster.nodes.map((node) => [node.id, node.role, node.health.state])).toEqual([
      ["witness1", "witness", "ready"],
      ["node1", "raft", "ready"],
      ["node2", "raft", "ready"],
      ["node3", "raft", "ready"],
    ]);
    const liarTable = overview.tables.find((table) => table.table === "public.t_one_liar");
    expect(liarTable).toMatchObject({ chainLength: 4, violations: null, lastVerification: null });
    expect(liarTable?.checkpoint?.size).toBe(4);

    const { verdicts, unreachable } = await get<WitnessVerdicts>("/api/v1/witnesses");
    expect(unreachable).toEqual([]);
    expect(verdicts.find((verdict) => verdict.table === "public.t_one_liar")).toMatchObject({
      witness: "witness1",
      size: 4,
      outcome: "tampering_detected",
      minority: ["node1"],
      missing: [],
      cosigned: true,
    });
    expect(verdicts.find((verdict) => verdict.table === "public.t_unanimous")).toMatchObject({
      outcome: "unanimous",
      minority: [],
    });

    const { alerts } = await get<AlertList>("/api/v1/alerts");
    const tampering = alerts.find((alert) => alert.table === "public.t_one_liar");
    expect(tampering).toMatchObject({
      id: "witness/witness1/tampering_detected/acme/public.t_one_liar/4",
      kind: "tampering_detected",
      severity: "critical",
      reporters: ["witness1"],
    });
    expect(tampering?.message).toContain("minority nodes [node1]");
    expect(alerts.some((alert) => alert.table === "public.t_unanimous")).toBe(false);

    const entry = await get<EntryLookup>("/api/v1/entry?table=public.t_one_liar&seq=1");
    expect(entry).toMatchObject({ found: false });
    expect(entry.found === false && entry.reason).toContain("witness1 is a witness");
  });

  test("a raft node's view of its witnesses: each one's latest verdicts, the silent one named", async () => {
    const reader = new WitnessVerdictReader({
      customerId: CUSTOMER,
      querySigner: querySigner(),
      witnesses: [
        ...witnesses.map((witness) => ({ id: witness.id, url: witness.url })),
        { id: "witness-gone", url: `http://127.0.0.1:${await freePort()}` },
      ],
      timeoutMs: 1_000,
    });
    try {
      const { verdicts, unreachable } = await reader.read();
      for (const witness of WITNESS_IDS) {
        expect(
          verdicts.find(
            (verdict) => verdict.witness === witness && verdict.table === "public.t_one_liar",
          ),
        ).toMatchObject({ size: 4, outcome: "tampering_detected", minority: ["node1"] });
      }
      expect(unreachable.map((entry) => entry.witness)).toEqual(["witness-gone"]);
      // Asked again at once, the same answer is served without asking.
      expect(reader.read()).toBe(reader.read());
      const topology = await reader.topology();
      expect(topology.map((node) => [node.id, node.health.state])).toEqual([
        ["witness1", "ready"],
        ["witness2", "ready"],
        ["witness3", "ready"],
        ["witness-gone", "unreachable"],
      ]);
    } finally {
      reader.close();
    }
  });

  test("a lasting liar: every size voted tampering_detected, one alert for the episode", async () => {
    const table = "public.t_lasting_liar";
    for (const size of [2, 4, 6]) {
      await observeAll(table, 2, { tampered: ["node1"] });
      for (const witness of witnesses) {
        const verdict = await until(() => verdictAt(witness, table, size), `verdict at ${size}`);
        expect(verdict.outcome).toBe(2); // TAMPERING_DETECTED
        expect(verdict.minority.map((value) => value.nodeId)).toEqual(["node1"]);
      }
    }
    // The outbox is written before the verdict, so every alert of the three votes is there.
    const { alerts } = (await (
      await fetch(`http://127.0.0.1:${witnesses[0]!.httpPort}/api/v1/alerts`)
    ).json()) as AlertList;
    expect(alerts.filter((alert) => alert.table === table).map((alert) => alert.id)).toEqual([
      `witness/witness1/tampering_detected/${CUSTOMER}/${table}/2`,
    ]);
    const delivered = () =>
      receiver.requests
        .map((request) => JSON.parse(request.body.toString()) as { id: string; table: string })
        .filter((body) => body.table === table)
        .map((body) => body.id)
        .sort();
    await until(() => delivered().length >= 3, "each witness's alert");
    expect(delivered()).toEqual(
      WITNESS_IDS.map((id) => `witness/${id}/tampering_detected/${CUSTOMER}/${table}/2`),
    );
  });

  test("two of three lie alike: majority vote names the honest node as the minority", async () => {
    await observeAll("public.t_two_liars", 3, { tampered: ["node2", "node3"] });
    const verdict = await until(
      () => verdictAt(witnesses[0]!, "public.t_two_liars", 3),
      "a verdict",
    );
    expect(verdict.outcome).toBe(2);
    expect(verdict.minority.map((value) => value.nodeId)).toEqual(["node1"]);
  });

  test("a silent node: incomplete_submission naming it after the collection timeout", async () => {
    const started = Date.now();
    await observeAll("public.t_silent", 3, { silent: ["node3"] });
    const verdict = await until(() => verdictAt(witnesses[0]!, "public.t_silent", 3), "a verdict");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(verdict.outcome).toBe(3); // INCOMPLETE_SUBMISSION
    expect(verdict.missingNodes).toEqual(["node3"]);
    expect(verdict.cosigned).toBe(true);
  });

  test("every refusal has its code, its Connect code and its metric", async () => {
    const node = nodes[0]!;
    node.append(1, "public.t_refusals");
    const observation = node.observe("public.t_refusals");
    const observations: EnvelopeObservation[] = [
      {
        checkpoint: observation.checkpoint,
        consistencyFromSize: 0,
        consistencyProof: [],
        dataHash: new Uint8Array(0),
      },
    ];
    const connection = client();
    const send = async (fields: {
      customerId?: string;
      nodeId?: string;
      sequence: number;
      observations?: EnvelopeObservation[];
      signWith?: FixtureNode;
      tamperSignature?: boolean;
      request?: ReturnType<typeof create<typeof SubmitBatchRequestSchema>>;
    }) => {
      const envelope = {
        customerId: fields.customerId ?? CUSTOMER,
        nodeId: fields.nodeId ?? node.id,
        sequence: fields.sequence,
        observations: fields.observations ?? observations,
      };
      const signature = ed25519Sign(
        (fields.signWith ?? node).signer.privateKey,
        submissionEnvelope(envelope),
      );
      if (fields.tamperSignature === true) signature[0]! ^= 1;
      const request =
        fields.request ??
        create(SubmitBatchRequestSchema, {
          customerId: envelope.customerId,
          nodeId: envelope.nodeId,
          submissionSequence: BigInt(envelope.sequence),
          observations: envelope.observations.map((entry) => ({
            checkpoint: entry.checkpoint,
            consistencyFromSize: BigInt(entry.consistencyFromSize),
            consistencyProof: [...entry.consistencyProof],
            dataHash: entry.dataHash,
          })),
          signature,
        });
      try {
        await connection.client.submitBatch(request);
        return { request, code: "ok", connectCode: undefined };
      } catch (error) {
        return {
          request,
          code: rejectionCodeOf(error),
          connectCode: error instanceof ConnectError ? error.code : undefined,
        };
      }
    };
    // A second ahead of node1's submitter's time-based sequences: the checks below are this
    // test's own, and the submitter recovers from the one SEQUENCE_BACKWARDS it may then meet.
    const base = Date.now() * 1000 + 1_000_000;
    expect(await send({ customerId: "nobody", sequence: base })).toMatchObject({
      code: "WITNZ_WITNESS_CUSTOMER_UNKNOWN",
      connectCode: Code.Unauthenticated,
    });
    expect(await send({ nodeId: "node9", sequence: base })).toMatchObject({
      code: "WITNZ_WITNESS_NODE_UNKNOWN",
      connectCode: Code.Unauthenticated,
    });
    expect(await send({ sequence: base, tamperSignature: true })).toMatchObject({
      code: "WITNZ_WITNESS_SIGNATURE_INVALID",
      connectCode: Code.Unauthenticated,
    });
    const first = await send({ sequence: base });
    expect(first.code).toBe("ok");
    expect(await send({ sequence: base, request: first.request })).toMatchObject({
      code: "WITNZ_WITNESS_REPLAY",
      connectCode: Code.AlreadyExists,
    });
    expect(await send({ sequence: base - 5 })).toMatchObject({
      code: "WITNZ_WITNESS_SEQUENCE_BACKWARDS",
      connectCode: Code.FailedPrecondition,
    });
    const many = Array.from({ length: 1001 }, () => observations[0]!);
    expect(await send({ sequence: base + 1, observations: many })).toMatchObject({
      code: "WITNZ_WITNESS_TOO_LARGE",
      connectCode: Code.ResourceExhausted,
    });
    const stranger = new FixtureNode("node1");
    stranger.append(1, "public.t_refusals");
    const foreign = [
      { ...observations[0]!, checkpoint: stranger.observe("public.t_refusals").checkpoint },
    ];
    expect(await send({ sequence: base + 2, observations: foreign })).toMatchObject({
      code: "WITNZ_WITNESS_CHECKPOINT_INVALID",
      connectCode: Code.InvalidArgument,
    });
    connection.close();
    const metrics = await witnesses[0]!.metrics();
    for (const code of [
      "WITNZ_WITNESS_CUSTOMER_UNKNOWN",
      "WITNZ_WITNESS_NODE_UNKNOWN",
      "WITNZ_WITNESS_SIGNATURE_INVALID",
      "WITNZ_WITNESS_REPLAY",
      "WITNZ_WITNESS_SEQUENCE_BACKWARDS",
      "WITNZ_WITNESS_TOO_LARGE",
      "WITNZ_WITNESS_CHECKPOINT_INVALID",
    ]) {
      expect(metrics).toContain(`witnz_witness_rejections_total{code="${code}"} 1`);
    }
  });

  test("the witness never cosigns a checkpoint inconsistent with the one it cosigned", async () => {
    const table = "public.t_fork";
    await observeAll(table, 4);
    const cosignedFirst = await until(async () => {
      const verdict = await verdictAt(witnesses[0]!, table, 4);
      return verdict?.cosigned === true ? verdict : undefined;
    }, "the cosigned verdict at 4");
    expect(cosignedFirst.cosigned).toBe(true);
    // Every node now reports a rewritten history (row 2 changed) at size 6: unanimous, yet
    // not an extension of the cosigned tree.
    for (const node of nodes) {
      node.rewrite(6, table, (index) => (index === 2 ? "rewritten" : undefined));
      await submitters.get(node.id)!.submit(node.observe(table));
    }
    const verdict = await until(() => verdictAt(witnesses[0]!, table, 6), "the verdict at 6");
    expect(verdict.outcome).toBe(1);
    expect(verdict.cosigned).toBe(false);
    expect(verdict.cosignRefusal).toContain("does not verify");
    const connection = client();
    const cosigned = await connection.client.getCosignedCheckpoint({
      customerId: CUSTOMER,
      table,
      auth: queryAuth(querySigner(), {
        method: "GetCosignedCheckpoint",
        customerId: CUSTOMER,
        witnessId: "witness1",
        table,
      }),
    });
    connection.close();
    expect(Number(cosigned.size)).toBe(4);
    expect(await witnesses[0]!.metrics()).toContain(
      'witnz_witness_cosign_refusals_total{inconsistent="true"} 1',
    );
  });

  test("a witness that was down receives the backlog, even across a node restart", async () => {
    const table = "public.t_backlog";
    const down = witnesses[1]!;
    await down.stop();
    await observeAll(table, 3);
    await until(() => submitters.get("node1")!.backlog().witness2 === 1, "node1 to owe witness2");
    // node1 restarts: its submitter reloads what it owes from its LMDB backlog.
    await stopSubmitter("node1");
    await startSubmitter(nodes[0]!);
    expect(submitters.get("node1")!.backlog().witness2).toBe(1);
    await down.start();
    const verdict = await until(() => verdictAt(down, table, 3), "the backlog's verdict", 30_000);
    expect(verdict.outcome).toBe(1);
    await until(() => submitters.get("node1")!.backlog().witness2 === 0, "the backlog to drain");
  });

  test("witnz verify --quick reports the majority of witnesses and each one's answer", async () => {
    const configPath = join(directory, "raft.yaml");
    const keyFile = join(directory, "node1.key");
    writeFileSync(keyFile, privateKeyToPem(nodes[0]!.signer.privateKey), { mode: 0o600 });
    writeFileSync(
      configPath,
      [
        "database:",
        "  database: unused",
        "  user: unused",
        "node:",
        "  id: node1",
        "  cluster_id: acme",
        "  bind_addr: 127.0.0.1:7001",
        `  data_dir: ${JSON.stringify(join(directory, "raft"))}`,
        // node1's key: the witnesses answer only queries a node of the customer signs.
        `  key_file: ${JSON.stringify(keyFile)}`,
        "protected_tables:",
        "  - name: audit_log",
        "witnz_nodes:",
        ...witnesses.flatMap((witness) => [
          `  - id: ${witness.id}`,
          `    address: 127.0.0.1:${witness.grpcPort}`,
        ]),
        "",
      ].join("\n"),
    );
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [
          BIN,
          "verify",
          "--quick",
          "--config",
          configPath,
          ...args,
        ]);
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
        });
        child.on("exit", (code) => resolve({ code, stdout }));
      });
    const clean = await run(["public.t_unanimous", "--json"]);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout) as {
      tables: { table: string; verdict: string; witnesses: { witness: string; class: string }[] }[];
    };
    expect(report.tables[0]).toMatchObject({ table: "public.t_unanimous", verdict: "clean" });
    expect(report.tables[0]!.witnesses.map((answer) => answer.class)).toEqual([
      "clean",
      "clean",
      "clean",
    ]);
    const tampered = await run(["public.t_one_liar"]);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain("public.t_one_liar: tampering");
    expect(tampered.stdout).toContain("witness2: tampering: tampering_detected; minority node1=");
  });

  test("a witness behind TLS: submissions and queries with its CA, refused without it", async () => {
    const certificates = await createDevelopmentCertificates({
      outDirectory: join(directory, "tls"),
      nodes: ["witness4"],
    });
    const otherCa = await createDevelopmentCertificates({
      outDirectory: join(directory, "tls-other"),
      nodes: ["elsewhere"],
    });
    const files = certificates.nodes[0]!;
    const grpcPort = await freePort();
    const httpPort = await freePort();
    const configPath = join(directory, "witness4.yaml");
    writeFileSync(
      configPath,
      witnessConfigYaml({
        id: "witness4",
        dataDir: join(directory, "witness4"),
        grpcPort,
        httpPort,
        nodes,
        timeout: "1s",
        tls: { certificatePath: files.certificatePath, keyPath: files.keyPath },
      }),
    );
    const witness = new WitnessProcess("witness4", configPath, grpcPort, httpPort);
    await witness.start();
    const endpoint = {
      id: "witness4",
      url: `https://127.0.0.1:${grpcPort}`,
      ca: readFileSync(certificates.caCertificatePath),
    };
    const tlsSubmitters: WitnessSubmitter[] = [];
    try {
      for (const node of nodes) {
        const submitter = new WitnessSubmitter({
          customerId: CUSTOMER,
          nodeId: node.id,
          signer: node.signer,
          witnesses: [endpoint],
          persistence: memorySubmitterBacklog(),
          retry: { initialDelayMs: 50, maxDelayMs: 500 },
        });
        tlsSubmitters.push(submitter);
        await submitter.start();
        node.append(3, "public.t_tls");
        await submitter.submit(node.observe("public.t_tls"));
      }
      const connection = connectWitness(endpoint);
      try {
        const verdict = await until(async () => {
          const response = await connection.client.getVerdict({
            customerId: CUSTOMER,
            table: "public.t_tls",
            size: 3n,
            auth: queryAuth(querySigner(), {
              method: "GetVerdict",
              customerId: CUSTOMER,
              witnessId: endpoint.id,
              table: "public.t_tls",
              size: 3,
            }),
          });
          return response.found ? response.verdict : undefined;
        }, "a verdict over TLS");
        expect(verdict.outcome).toBe(1); // VERDICT_OUTCOME_UNANIMOUS
        expect(verdict.cosigned).toBe(true);
      } finally {
        connection.close();
      }
      // A client that trusts another CA does not get through, nor does plaintext HTTP/2.
      const refusals: ConnectError[] = [];
      for (const stranger of [
        { ...endpoint, ca: readFileSync(otherCa.caCertificatePath) },
        { id: "witness4", url: `http://127.0.0.1:${grpcPort}` },
      ]) {
        const refused = connectWitness(stranger);
        try {
          refusals.push(
            await refused.client
              .listLatest(
                {
                  customerId: CUSTOMER,
                  auth: queryAuth(querySigner(), {
                    method: "ListLatest",
                    customerId: CUSTOMER,
                    witnessId: stranger.id,
                  }),
                },
                { timeoutMs: 5_000 },
              )
              .then(
                () => {
                  throw new Error(`${stranger.url} answered without the witness's CA`);
                },
                (error: unknown) => ConnectError.from(error),
              ),
          );
        } finally {
          refused.close();
        }
      }
      expect(refusals[0]!.message).toContain("unable to verify the first certificate");
      // Plaintext HTTP/2 against the TLS port: the stream is torn down (cancelled or aborted).
      expect([Code.Canceled, Code.Aborted, Code.Unavailable]).toContain(refusals[1]!.code);
    } finally {
      for (const submitter of tlsSubmitters) await submitter.stop();
      await witness.stop();
    }
  });

  test("queries answer only a node of the customer, signed for the witness, recent and once", async () => {
    let connection = client();
    const signed = (signer: { nodeId: string; privateKey: KeyObject }, nowMs?: number) =>
      queryAuth(
        signer,
        { method: "ListLatest", customerId: CUSTOMER, witnessId: "witness1" },
        nowMs,
      );
    const refusal = (auth: ReturnType<typeof signed> | undefined) =>
      connection.client
        .listLatest({ customerId: CUSTOMER, ...(auth === undefined ? {} : { auth }) })
        .then(
          () => "answered",
          (error: unknown) => rejectionCodeOf(error) ?? String(error),
        );
    const stranger = new FixtureNode("node1", "other-customer");
    try {
      const auth = signed(querySigner());
      const answered = await connection.client.listLatest({ customerId: CUSTOMER, auth });
      expect(answered.tables.length).toBeGreaterThan(0);
      // The same signed query again (as one who recorded it would send it): refused.
      expect(await refusal(auth)).toBe("WITNZ_WITNESS_QUERY_REPLAY");
      expect(await refusal(signed(querySigner()))).toBe("answered");
      // ... by another witness, for which it was not signed ...
      const other = connectWitness({ id: "witness2", url: witnesses[1]!.url });
      try {
        const misdirected = await other.client.listLatest({ customerId: CUSTOMER, auth }).then(
          () => "answered",
          (error: unknown) => rejectionCodeOf(error) ?? String(error),
        );
        expect(misdirected).toBe("WITNZ_WITNESS_QUERY_MISDIRECTED");
      } finally {
        other.close();
      }
      // ... and by the same witness restarted: its answered nonces are in its store.
      connection.close();
      await witnesses[0]!.stop();
      await witnesses[0]!.start();
      connection = client();
      expect(await refusal(auth)).toBe("WITNZ_WITNESS_QUERY_REPLAY");
      expect(await refusal(signed(querySigner()))).toBe("answered");
      expect(await refusal(undefined)).toBe("WITNZ_WITNESS_QUERY_UNSIGNED");
      // A key the witness does not hold for node1 of this customer.
      expect(
        await refusal(signed({ nodeId: "node1", privateKey: stranger.signer.privateKey })),
      ).toBe("WITNZ_WITNESS_SIGNATURE_INVALID");
      expect(
        await refusal(signed({ nodeId: "node9", privateKey: stranger.signer.privateKey })),
      ).toBe("WITNZ_WITNESS_NODE_UNKNOWN");
      // Signed for another question: the signature covers the method and what is asked.
      const forVerdict = queryAuth(querySigner(), {
        method: "GetVerdict",
        customerId: CUSTOMER,
        witnessId: "witness1",
        table: "public.t_unanimous",
        size: 5,
      });
      expect(await refusal(forVerdict)).toBe("WITNZ_WITNESS_SIGNATURE_INVALID");
      // Signed ten minutes ago: outside the window.
      expect(await refusal(signed(querySigner(), Date.now() - 600_000))).toBe(
        "WITNZ_WITNESS_QUERY_EXPIRED",
      );
      const metrics = await witnesses[0]!.metrics();
      for (const code of [
        "WITNZ_WITNESS_QUERY_UNSIGNED",
        "WITNZ_WITNESS_QUERY_EXPIRED",
        "WITNZ_WITNESS_QUERY_REPLAY",
        "WITNZ_WITNESS_NODE_UNKNOWN",
      ]) {
        expect(metrics).toMatch(
          new RegExp(`witnz_witness_rejections_total\\{code="${code}"\\} [1-9]`),
        );
      }
    } finally {
      connection.close();
    }
  });

  test("no row text ever reaches a witness: it receives hashes and checkpoints only", () => {
    const bytes = Buffer.concat(proxy.received);
    expect(bytes.length).toBeGreaterThan(10_000);
    expect(bytes.includes("public.t_unanimous")).toBe(true); // the recording is real
    expect(bytes.includes("secret-row")).toBe(false);
    expect(bytes.includes("salary")).toBe(false);
    expect(bytes.includes("altered")).toBe(false);
  });
});
