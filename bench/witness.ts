// One witness process's worth of work over loopback HTTP/2: how many signed checkpoints per
// second it admits (envelope and note signatures checked, stored durably in LMDB, voted on), and
// the vote latency of a round in which three nodes each submit one checkpoint. Baseline: raw
// Ed25519 verifications per second on this machine in the same run (each checkpoint costs two:
// the note and its share of the envelope).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import {
  formatVerifierKey,
  noteVerifier,
  SIGNATURE_TYPE_ED25519,
  signCheckpoint,
  witnzExtensions,
} from "../src/checkpoint/index.js";
import { parseConfig } from "../src/config/index.js";
import { ed25519Sign, ed25519Verify, generateEd25519KeyPair, sha256 } from "../src/crypto/index.js";
import { SubmitBatchRequestSchema } from "../src/gen/witnz_pb.js";
import { freePort } from "../src/local/index.js";
import {
  connectWitness,
  customerTableOrigin,
  type EnvelopeObservation,
  startWitness,
  submissionEnvelope,
} from "../src/witness/index.js";
import { percentile } from "./stats.js";

export interface WitnessBenchOptions {
  readonly checkpointsPerNode: number;
  readonly batchObservations: number;
  readonly latencyRounds: number;
}

const quietLogger = { info() {}, warn() {}, error() {} };

export async function benchWitness(options: WitnessBenchOptions) {
  const directory = mkdtempSync(join(tmpdir(), "witnz-bench-witness-"));
  const nodes = ["node1", "node2", "node3"].map((id) => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const name = `witnz/acme/node/${id}`;
    return {
      id,
      signer: { name, privateKey },
      vkey: formatVerifierKey(noteVerifier(name, SIGNATURE_TYPE_ED25519, publicKey)),
      publicKey,
      sequence: 0,
    };
  });
  // Baseline: raw Ed25519 verify rate.
  const message = sha256(Buffer.from("baseline"));
  const signature = ed25519Sign(nodes[0]!.signer.privateKey, message);
  const verifies = 20_000;
  let started = performance.now();
  for (let i = 0; i < verifies; i++) ed25519Verify(nodes[0]!.publicKey, message, signature);
  const ed25519VerifiesPerSecond = Math.round(verifies / ((performance.now() - started) / 1000));

  const grpcPort = await freePort();
  const httpPort = await freePort();
  const yaml = [
    "node:",
    "  id: bench_witness",
    "  role: witness",
    `  grpc_addr: 127.0.0.1:${grpcPort}`,
    `  http_addr: 127.0.0.1:${httpPort}`,
    `  data_dir: ${JSON.stringify(directory)}`,
    "alerts:",
    "  enabled: false",
    "customers:",
    "  - id: acme",
    "    nodes:",
    ...nodes.flatMap((node) => [
      `      - id: ${node.id}`,
      `        verifier_key: ${JSON.stringify(node.vkey)}`,
    ]),
    "",
  ].join("\n");
  const witness = await startWitness(parseConfig(yaml).config, { logger: quietLogger });
  const connection = connectWitness({ id: "bench", url: witness.url });
  const checkpoint = (node: (typeof nodes)[number], table: string, size: number): string =>
    signCheckpoint(
      {
        origin: customerTableOrigin("acme", table),
        size,
        rootHash: sha256(Buffer.from(`${table}/${size}`)),
        extensions: witnzExtensions({
          table,
          chainHash: sha256(Buffer.from(`chain/${table}/${size}`)),
          lsn: "0/16B3748",
          timeMicroseconds: 1_700_000_000_000_000n,
        }),
      },
      node.signer,
    );
  const send = async (node: (typeof nodes)[number], notes: readonly string[]) => {
    node.sequence += 1;
    const observations: EnvelopeObservation[] = notes.map((note) => ({
      checkpoint: note,
      consistencyFromSize: 0,
      consistencyProof: [],
      dataHash: new Uint8Array(0),
    }));
    const envelope = { customerId: "acme", nodeId: node.id, sequence: node.sequence, observations };
    await connection.client.submitBatch(
      create(SubmitBatchRequestSchema, {
        customerId: "acme",
        nodeId: node.id,
        submissionSequence: BigInt(node.sequence),
        observations: notes.map((note) => ({ checkpoint: note })),
        signature: ed25519Sign(node.signer.privateKey, submissionEnvelope(envelope)),
      }),
    );
  };
  try {
    // Throughput: every node submits checkpointsPerNode checkpoints of one table in batches,
    // the three nodes concurrently; the notes are signed before the clock starts.
    const batches = nodes.map((node) => {
      const notes = Array.from({ length: options.checkpointsPerNode }, (_, i) =>
        checkpoint(node, "public.throughput", i + 1),
      );
      const list: string[][] = [];
      for (let i = 0; i < notes.length; i += options.batchObservations) {
        list.push(notes.slice(i, i + options.batchObservations));
      }
      return list;
    });
    started = performance.now();
    await Promise.all(
      nodes.map(async (node, index) => {
        for (const batch of batches[index]!) await send(node, batch);
      }),
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    const checkpoints = options.checkpointsPerNode * nodes.length;
    // Vote latency: three nodes submit one checkpoint each, concurrently; the vote is decided
    // and durable before the witness answers the last of them.
    const latencies: number[] = [];
    for (let round = 1; round <= options.latencyRounds; round++) {
      const notes = nodes.map((node) => checkpoint(node, "public.latency", round));
      const roundStarted = performance.now();
      await Promise.all(nodes.map((node, index) => send(node, [notes[index]!])));
      latencies.push(performance.now() - roundStarted);
    }
    latencies.sort((a, b) => a - b);
    const verdict = witness.service.verdict("acme", "public.latency", options.latencyRounds);
    return {
      checkpoints,
      batchObservations: options.batchObservations,
      checkpointsPerSecond: Math.round(checkpoints / elapsedSeconds),
      votesPerSecond: Math.round(options.checkpointsPerNode / elapsedSeconds),
      voteLatencyMs: {
        p50: Number(percentile(latencies, 0.5).toFixed(2)),
        p99: Number(percentile(latencies, 0.99).toFixed(2)),
        rounds: options.latencyRounds,
      },
      lastVerdict: verdict?.outcome ?? "none",
      baseline: { ed25519VerifiesPerSecond },
      goal: "admitted checkpoints/s (two Ed25519 verifications each, durable) >= 10% of raw Ed25519 verifies/s",
    };
  } finally {
    connection.close();
    await witness.stop();
    rmSync(directory, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.argv.includes("--quick");
  const result = await benchWitness(
    quick
      ? { checkpointsPerNode: 2_000, batchObservations: 100, latencyRounds: 100 }
      : { checkpointsPerNode: 10_000, batchObservations: 100, latencyRounds: 500 },
  );
  console.log(JSON.stringify(result, null, 2));
}
