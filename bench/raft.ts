// Raft commit throughput and latency on a 3-node loopback cluster of real processes (LMDB with
// fsync, ConnectRPC over HTTP/2 with mutual TLS), against the raw flush rate of the same disk.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/raft.js [--entries=N] [--concurrency=N]
//
// Each node is `dist/src/raft/runner/process-node.js`. The leader itself times every apply
// (propose to applied on the leader, i.e. persisted on a majority and committed), so the
// figures hold no control-channel overhead. Unbatched: one apply at a time. Batched: many
// applies in flight, which the runner turns into one Ready (one flush per node) per round.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, fdatasyncSync, openSync, unlinkSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createDevelopmentCertificates } from "../src/certs/index.js";
import { freePort } from "../src/local/index.js";
import { benchArguments, percentile, round, runWhenMain } from "./stats.js";

export interface BenchRaftOptions {
  /** Where data, certificates and the flush probe go; a fresh temporary directory if absent. */
  readonly directory?: string;
  /** Applies in the unbatched case (one at a time). */
  readonly unbatchedEntries?: number;
  /** Applies in the batched case. */
  readonly batchedEntries?: number;
  /** Applies in flight at once in the batched case. */
  readonly concurrency?: number;
  readonly entryBytes?: number;
  /** How long the raw flush probe runs. */
  readonly probeDurationMs?: number;
}

export interface RaftCaseResult {
  readonly case: "unbatched" | "batched";
  readonly concurrency: number;
  readonly entries: number;
  readonly entryBytes: number;
  readonly committedEntriesPerSecond: number;
  readonly commitLatencyMsP50: number;
  readonly commitLatencyMsP99: number;
  readonly commitLatencyMsMax: number;
}

export interface BenchRaftResult {
  readonly benchmark: "raft";
  readonly node: string;
  readonly platform: string;
  readonly nodes: number;
  readonly rawDisk: { readonly writeFdatasyncPerSecond: number };
  readonly cases: readonly RaftCaseResult[];
}

const NODE_IDS = ["a", "b", "c"] as const;
const CLUSTER_ID = "bench-cluster";
const NODE_ENTRY = fileURLToPath(new URL("../src/raft/runner/process-node.js", import.meta.url));
const UNBATCHED_ENTRIES_DEFAULT = 1000;
const BATCHED_ENTRIES_DEFAULT = 20_000;
const CONCURRENCY_DEFAULT = 64;
const ENTRY_BYTES_DEFAULT = 1024;
const PROBE_DURATION_MS_DEFAULT = 2000;
/** Applies before measuring: connections, JIT, LMDB file growth. */
const WARMUP_ENTRIES = 200;
/** Bytes written before each flush in the raw disk probe: about one small LMDB meta write. */
const PROBE_WRITE_BYTES = 128;
/** Above any run's entries, so that no snapshot is cut while measuring. */
const SNAPSHOT_EVERY_ENTRIES = 10_000_000;
const START_TIMEOUT_MS = 15_000;
const LEADER_TIMEOUT_MS = 10_000;
/** Bound on one benchmark request (a whole case). */
const CASE_TIMEOUT_MS = 300_000;

export async function benchRaft(options: BenchRaftOptions = {}): Promise<BenchRaftResult> {
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "witnz-bench-raft-")));
  const entryBytes = options.entryBytes ?? ENTRY_BYTES_DEFAULT;
  const concurrency = options.concurrency ?? CONCURRENCY_DEFAULT;
  const nodes: ControlledNode[] = [];
  try {
    const rawDisk = {
      writeFdatasyncPerSecond: flushRate(
        directory,
        options.probeDurationMs ?? PROBE_DURATION_MS_DEFAULT,
      ),
    };
    const certificates = join(directory, "certs");
    await createDevelopmentCertificates({ outDirectory: certificates, nodes: [...NODE_IDS] });
    const ports = await Promise.all(NODE_IDS.map(() => freePort()));
    const addressOf = (i: number) => `127.0.0.1:${ports[i]}`;
    for (const [i, id] of NODE_IDS.entries()) {
      const config = {
        id,
        clusterId: CLUSTER_ID,
        dataDirectory: join(directory, `data-${id}`),
        listenHost: "127.0.0.1",
        listenPort: ports[i],
        tls: {
          ca: join(certificates, "ca.crt"),
          certificate: join(certificates, `${id}.crt`),
          key: join(certificates, `${id}.key`),
        },
        peers: Object.fromEntries(
          NODE_IDS.flatMap((peer, j) => (peer === id ? [] : [[peer, addressOf(j)]])),
        ),
        bootstrap: i === 0,
        // No snapshot during a run: the figures are the commit path's, not the test state
        // machine's (which serializes every payload it holds).
        snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES,
      };
      nodes.push(await ControlledNode.start(config));
    }
    const leader = await findLeader(nodes);
    await leader.request({ op: "bench", entries: WARMUP_ENTRIES, concurrency, entryBytes });
    const cases = [
      await runCase(leader, "unbatched", 1, options.unbatchedEntries ?? UNBATCHED_ENTRIES_DEFAULT),
      await runCase(
        leader,
        "batched",
        concurrency,
        options.batchedEntries ?? BATCHED_ENTRIES_DEFAULT,
      ),
    ].map((result) => ({ ...result, entryBytes }));
    return {
      benchmark: "raft",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      nodes: NODE_IDS.length,
      rawDisk,
      cases,
    };

    async function runCase(
      node: ControlledNode,
      name: RaftCaseResult["case"],
      inFlight: number,
      entries: number,
    ): Promise<Omit<RaftCaseResult, "entryBytes">> {
      const answer = (await node.request({
        op: "bench",
        entries,
        concurrency: inFlight,
        entryBytes,
      })) as { elapsedMs: number; latenciesMs: number[] };
      const latencies = answer.latenciesMs.sort((left, right) => left - right);
      return {
        case: name,
        concurrency: inFlight,
        entries,
        committedEntriesPerSecond: round(entries / (answer.elapsedMs / 1000)),
        commitLatencyMsP50: round(percentile(latencies, 0.5), 2),
        commitLatencyMsP99: round(percentile(latencies, 0.99), 2),
        commitLatencyMsMax: round(latencies.at(-1) ?? 0, 2),
      };
    }
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
  }
}

/** A node process and its line protocol (see src/raft/runner/process-node.ts). */
class ControlledNode {
  private readonly waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  private sequence = 0;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.on("exit", () => resolve()));
    void this.exited.then(() => {
      for (const settle of this.waiting.values()) settle({ ok: false, message: "node exited" });
      this.waiting.clear();
    });
  }

  static async start(config: object): Promise<ControlledNode> {
    const child = spawn(process.execPath, [NODE_ENTRY, JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const node = new ControlledNode(child);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on("line", (line) => {
          const message = JSON.parse(line) as Record<string, unknown>;
          if (message.event === "ready") resolve();
          if (message.event === "fatal") reject(new Error(String(message.message)));
          const settle = node.waiting.get(message.id as number);
          node.waiting.delete(message.id as number);
          settle?.(message);
        });
        void node.exited.then(() => reject(new Error("a node exited while starting")));
      }),
      START_TIMEOUT_MS,
      "a node to start",
    );
    return node;
  }

  async request(fields: object, timeoutMs = CASE_TIMEOUT_MS): Promise<Record<string, unknown>> {
    this.sequence += 1;
    const id = this.sequence;
    const answer = await withTimeout(
      new Promise<Record<string, unknown>>((resolve) => {
        this.waiting.set(id, resolve);
        this.child.stdin!.write(`${JSON.stringify({ id, ...fields })}\n`);
      }),
      timeoutMs,
      "a node to answer",
    );
    if (answer.ok !== true) throw new Error(`node refused: ${String(answer.message)}`);
    return answer;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGKILL");
    await withTimeout(this.exited, START_TIMEOUT_MS, "a node to exit");
  }
}

async function findLeader(nodes: readonly ControlledNode[]): Promise<ControlledNode> {
  const deadline = Date.now() + LEADER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    for (const node of nodes) {
      if ((await node.request({ op: "status" }, 2000)).state === "leader") return node;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no leader within ${LEADER_TIMEOUT_MS} ms`);
}

/** Writes a few bytes at the start of a small file and fdatasyncs it, as often as it can. */
function flushRate(directory: string, durationMs: number): number {
  const path = join(directory, "flush-probe");
  const fd = openSync(path, "w");
  const payload = new Uint8Array(PROBE_WRITE_BYTES).fill(0x5a);
  let flushes = 0;
  const startMs = performance.now();
  try {
    while (performance.now() - startMs < durationMs) {
      writeSync(fd, payload, 0, payload.length, 0);
      fdatasyncSync(fd);
      flushes += 1;
    }
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
  return round(flushes / ((performance.now() - startMs) / 1000));
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

await runWhenMain(import.meta.url, (argv) =>
  benchRaft(
    benchArguments(argv, {
      entries: "unbatchedEntries",
      "batched-entries": "batchedEntries",
      concurrency: "concurrency",
      "entry-bytes": "entryBytes",
    }),
  ),
);
