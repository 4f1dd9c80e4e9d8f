// Capture: ingest speed against a bare decode of the same WAL, detection latency from COMMIT to
// the webhook, and the node's memory, all measured in the same run on a real PostgreSQL.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/capture.js [--quick] [--rows=N] [--updates=K]
//
// WITNZ_BENCH_NODE_ARGS (space-separated) is passed to the node's `node` process, for example
// "--cpu-prof --cpu-prof-dir=prof" to profile it.
//
// Setup: a real PostgreSQL (startTestPostgres), `witnz init` for one node (its publication and
// slot), and a second slot for the baseline, both created before N rows (1 000 000 by default,
// 100 000 with --quick) are inserted in transactions of 1000 rows. The WAL is then complete.
//
// (a) Baseline: startReplicationStream on the second slot, every message read and decoded until
//     the commit of the last row; nothing hashed, stored or acknowledged. Capture: the real node
//     (`witnz start`) from ready until its store's chain has N entries, each one durable.
//     The ratio is capture rows/s over baseline rows/s; the goal is at least 0.7. A third slot
//     is decoded with every hash the formats require computed too (each row encoded, its data
//     hash, chain hash and Merkle leaf appended to a tree in memory), nothing stored: the most a
//     capture doing that work on one thread could reach (`hashedRatio`). CPU time per row of
//     each process on the path (Linux): the decoding thread and the slot's walsender in both
//     decodes; the node's main thread, all its threads and its walsender in capture; and the
//     budget all of them share to reach the goal on this machine's cores.
// (b) Detection latency: K single-row UPDATEs (200 by default, 50 with --quick) on the
//     append-only table, one after the other, each from its COMMIT returning to the client until
//     the node's webhook request for that primary key arrives at a local receiver. p50 and p99;
//     the goal is p99 under 250 ms.
// (c) The node's resident memory, sampled every RSS_SAMPLE_INTERVAL_MS while it ingests the N
//     rows, and its peak as the kernel counts it (Linux).

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { chainHash, dataHash, GENESIS_CHAIN_HASH, RowEncoder } from "../src/hash/index.js";
import { freePort, localNodeConfigYaml } from "../src/local/index.js";
import { MerkleTree } from "../src/merkle/index.js";
import {
  connectSession,
  ensureReplicationSlot,
  type Lsn,
  parseLsn,
  publicationNameForNode,
  slotNameForNode,
  startReplicationStream,
  startTestPostgres,
  type TestPostgres,
  tupleRowImage,
} from "../src/postgres/index.js";
import { openStore, type WitnzStore } from "../src/store/index.js";
import { benchArguments, percentile, round, runWhenMain } from "./stats.js";

export interface BenchCaptureOptions {
  readonly rows?: number;
  readonly updates?: number;
}

export interface BenchCaptureResult {
  readonly benchmark: "capture";
  readonly node: string;
  readonly platform: string;
  readonly rows: number;
  readonly transactionRows: number;
  readonly walBytes: number;
  readonly ingest: {
    readonly baselineDecodeMs: number;
    readonly baselineRowsPerSecond: number;
    /** From the node reporting ready to the chain holding every row, durably. */
    readonly captureMs: number;
    readonly captureRowsPerSecond: number;
    /** captureRowsPerSecond / baselineRowsPerSecond; the goal is at least `ratioGoalMin`. */
    readonly ratio: number;
    readonly ratioGoalMin: number;
    /** From spawning `witnz start` to GET /readyz answering 200 (not part of captureMs). */
    readonly nodeStartupMs: number;
    /**
     * Where the time goes: the baseline decode plus each row encoded, data- and chain-hashed and
     * appended to a Merkle tree in memory; nothing stored or acknowledged.
     */
    readonly breakdownMs: { readonly decodeHashed: number };
    /**
     * decodeHashed rows/s over baseline rows/s: the ratio a capture that does this work on one
     * thread could reach even if storing cost nothing.
     */
    readonly hashedRatio: number;
    /**
     * CPU time of the node's main thread over captureMs, per row (Linux; null elsewhere): where
     * capture's work runs, and a figure that moves far less than wall time when other work
     * shares the machine.
     */
    readonly nodeMainThreadCpuMicrosecondsPerRow: number | null;
    /**
     * CPU time per row of every process on the path (Linux; null elsewhere), each over its own
     * run: the decoding process's main thread and the slot's walsender for the baseline and the
     * hashed decode; the node's main thread, all its threads, and its slot's walsender for
     * capture. With `cores`, the figures bound what any design could reach on this machine.
     */
    readonly cpuMicrosecondsPerRow: {
      readonly baseline: DecodeCpu;
      readonly decodeHashed: DecodeCpu;
      readonly capture: {
        readonly nodeMainThread: number | null;
        readonly nodeAllThreads: number | null;
        readonly walsender: number | null;
      };
    };
    readonly cores: number;
    /**
     * cores x 1 s / (ratioGoalMin x baselineRowsPerSecond): the CPU time per row that every
     * process on the path together (node, walsender) may spend for capture to reach the goal on
     * this machine, if the work spread perfectly over every core.
     */
    readonly cpuBudgetAtGoalMicrosecondsPerRow: number;
  };
  readonly detection: {
    readonly updates: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
    readonly meanMs: number;
    readonly p99GoalMaxMs: number;
  };
  readonly nodeRss: {
    readonly sampleIntervalMs: number;
    readonly samples: number;
    /** Largest sampled resident set while ingesting; null where the platform has no /proc. */
    readonly maxBytes: number | null;
    /** Largest sampled anonymous part (heap and buffers; the rest is mapped files, LMDB's). */
    readonly maxAnonymousBytes: number | null;
    /** The kernel's high-water mark (VmHWM) after ingesting. */
    readonly peakBytes: number | null;
  };
  readonly setupMs: { readonly insert: number };
}

const ROWS_DEFAULT = 1_000_000;
const ROWS_QUICK = 100_000;
const UPDATES_DEFAULT = 200;
const UPDATES_QUICK = 50;
const TRANSACTION_ROWS = 1000;
const RATIO_GOAL_MIN = 0.7;

interface DecodeCpu {
  readonly decoder: number | null;
  readonly walsender: number | null;
}
const DETECTION_P99_GOAL_MAX_MS = 250;
const RSS_SAMPLE_INTERVAL_MS = 100;
/** How often the chain head is read while waiting for capture to finish. */
const CHAIN_POLL_INTERVAL_MS = 10;
const NODE_READY_TIMEOUT_MS = 60_000;
const INGEST_TIMEOUT_MS = 30 * 60_000;
const WEBHOOK_TIMEOUT_MS = 10_000;
const TABLE = "bench_capture";
const TABLE_DISPLAY_NAME = `public.${TABLE}`;
const BASELINE_SLOT = "witnz_bench_baseline";
/** A third slot for the breakdown: the same decode, plus every hash the formats require. */
const HASHED_SLOT = "witnz_bench_hashed";
const NODE_ID = "bench";
/** The node's own slot: `witnz_<node id>`. */
const NODE_SLOT = slotNameForNode(NODE_ID);
const BIN = fileURLToPath(new URL("../src/cli/bin.js", import.meta.url));

export async function benchCapture(options: BenchCaptureOptions = {}): Promise<BenchCaptureResult> {
  const rows = options.rows ?? ROWS_DEFAULT;
  const updates = options.updates ?? UPDATES_DEFAULT;
  if (rows % TRANSACTION_ROWS !== 0 || rows <= 0) {
    throw new Error(`rows must be a positive multiple of ${TRANSACTION_ROWS}`);
  }
  if (updates > rows) throw new Error("more updates than rows");
  const server = await startTestPostgres();
  const directory = await mkdtemp(join(tmpdir(), "witnz-bench-capture-"));
  const receiver = new WebhookReceiver();
  let client: pg.Client | undefined;
  let node: ChildProcess | undefined;
  let store: WitnzStore | undefined;
  try {
    client = await connectSession({ connectionString: server.connectionString });
    await client.query(
      `CREATE TABLE public.${TABLE} (id int8 PRIMARY KEY, actor text, amount numeric,
         at timestamptz, payload jsonb)`,
    );
    const webhookUrl = await receiver.listen();
    const httpPort = await freePort();
    const configPath = await writeNodeConfig(directory, server, httpPort, webhookUrl);
    await runWitnz(["init", "--config", configPath]);
    await ensureReplicationSlot(client, BASELINE_SLOT);
    await ensureReplicationSlot(client, HASHED_SLOT);

    const walStart = await currentLsn(client);
    const insertStart = performance.now();
    for (let first = 1; first <= rows; first += TRANSACTION_ROWS) {
      await client.query(
        `INSERT INTO public.${TABLE}
           SELECT i, 'user-' || (i % 1000), i * 1.25,
                  '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 second',
                  jsonb_build_object('i', i, 'kind', 'event')
             FROM generate_series($1::int8, $2::int8) AS i`,
        [first, first + TRANSACTION_ROWS - 1],
      );
    }
    const insertMs = performance.now() - insertStart;
    const walBytes = Number((await currentLsn(client)) - walStart);

    const baseline = await decodeSlot(server, client, BASELINE_SLOT, rows, false);
    const decodeHashed = await decodeSlot(server, client, HASHED_SLOT, rows, true);
    const baselineDecodeMs = baseline.ms;
    const decodeHashedMs = decodeHashed.ms;

    const spawnedAt = performance.now();
    const stderr: string[] = [];
    node = spawn(process.execPath, [...nodeArguments(), BIN, "start", "--config", configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    node.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
    const sampler = new RssSampler(node.pid!);
    sampler.start();
    const exited = new Promise<never>((_resolve, reject) =>
      node!.once("exit", (code) =>
        reject(new Error(`witnz start exited with ${code}: ${stderr.join("").slice(-2000)}`)),
      ),
    );
    exited.catch(() => {});
    await Promise.race([waitForReady(httpPort), exited]);
    const readyAt = performance.now();
    const walsender = await walsenderProcessId(client, NODE_SLOT);
    const cpuAtReady = captureCpuMs(node.pid!, walsender);
    store = await openStore(join(directory, "data"));
    await Promise.race([waitForChain(store, rows), exited]);
    const captureMs = performance.now() - readyAt;
    const cpuAtDone = captureCpuMs(node.pid!, walsender);
    sampler.stop();
    const peakBytes = sampler.peakBytes();

    const latencies = await Promise.race([measureDetection(client, receiver, updates), exited]);

    const baselineRowsPerSecond = rows / (baselineDecodeMs / 1000);
    const captureRowsPerSecond = rows / (captureMs / 1000);
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      benchmark: "capture",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      rows,
      transactionRows: TRANSACTION_ROWS,
      walBytes,
      ingest: {
        baselineDecodeMs: round(baselineDecodeMs),
        baselineRowsPerSecond: Math.round(baselineRowsPerSecond),
        captureMs: round(captureMs),
        captureRowsPerSecond: Math.round(captureRowsPerSecond),
        ratio: round(captureRowsPerSecond / baselineRowsPerSecond, 2),
        ratioGoalMin: RATIO_GOAL_MIN,
        nodeStartupMs: round(readyAt - spawnedAt),
        breakdownMs: { decodeHashed: round(decodeHashedMs) },
        hashedRatio: round(baselineDecodeMs / decodeHashedMs, 2),
        nodeMainThreadCpuMicrosecondsPerRow: perRow(
          cpuAtReady.mainThread,
          cpuAtDone.mainThread,
          rows,
        ),
        cpuMicrosecondsPerRow: {
          baseline: baseline.cpu,
          decodeHashed: decodeHashed.cpu,
          capture: {
            nodeMainThread: perRow(cpuAtReady.mainThread, cpuAtDone.mainThread, rows),
            nodeAllThreads: perRow(cpuAtReady.allThreads, cpuAtDone.allThreads, rows),
            walsender: perRow(cpuAtReady.walsender, cpuAtDone.walsender, rows),
          },
        },
        cores: availableParallelism(),
        cpuBudgetAtGoalMicrosecondsPerRow: round(
          (availableParallelism() * 1_000_000) / (RATIO_GOAL_MIN * baselineRowsPerSecond),
          2,
        ),
      },
      detection: {
        updates,
        p50Ms: round(percentile(sorted, 0.5)),
        p99Ms: round(percentile(sorted, 0.99)),
        maxMs: round(sorted.at(-1)!),
        meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
        p99GoalMaxMs: DETECTION_P99_GOAL_MAX_MS,
      },
      nodeRss: {
        sampleIntervalMs: RSS_SAMPLE_INTERVAL_MS,
        samples: sampler.samples,
        maxBytes: sampler.maxBytes,
        maxAnonymousBytes: sampler.maxAnonymousBytes,
        peakBytes,
      },
      setupMs: { insert: round(insertMs) },
    };
  } finally {
    if (node !== undefined && node.exitCode === null && node.signalCode === null) {
      const exit = new Promise((resolve) => node!.once("exit", resolve));
      node.kill("SIGTERM");
      await exit;
    }
    await store?.close();
    await receiver.close();
    await client?.end().catch(() => {});
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Reads a slot from its start, decoding every message, until the last row's commit; with `hash`,
 * each inserted row is also encoded and chain-hashed as capture does (no Merkle tree, no store).
 */
async function decodeSlot(
  server: TestPostgres,
  client: pg.Client,
  slotName: string,
  rows: number,
  hash: boolean,
): Promise<{ ms: number; cpu: DecodeCpu }> {
  const start = performance.now();
  const decoderAtStart = threadCpuMs(process.pid, process.pid);
  const stream = await startReplicationStream({
    connection: { connectionString: server.connectionString },
    slotName,
    // The node's own publication, which `witnz init` created.
    publicationNames: [publicationNameForNode(NODE_ID)],
    // Acknowledging nothing: keepalive positions are not confirmed either.
    confirmIdleWal: false,
  });
  try {
    let inserts = 0;
    let head: Uint8Array = GENESIS_CHAIN_HASH;
    const tree = MerkleTree.create();
    // One encoder per Relation message, as the node keeps one per table layout.
    let encoder: RowEncoder | undefined;
    let encoderRelation: unknown;
    for (;;) {
      // Queued messages are taken without a promise each, as the node does.
      const message = stream.take() ?? (await stream.next());
      if (message === undefined) throw new Error(`the stream of ${slotName} closed early`);
      if (message.kind === "insert") {
        inserts += 1;
        if (hash) {
          const row = tupleRowImage(message.relation, message.newTuple);
          if (encoder === undefined || encoderRelation !== message.relation) {
            encoder = new RowEncoder(row.schema, row.table, row.columns);
            encoderRelation = message.relation;
          }
          const data = dataHash(encoder.encode(row.values));
          head = chainHash(head, inserts, data);
          tree.append(data);
        }
      } else if (message.kind === "commit" && inserts >= rows) break;
    }
    const ms = performance.now() - start;
    const decoderAtEnd = threadCpuMs(process.pid, process.pid);
    // The walsender is this stream's own process: all its CPU time is this decode's.
    const walsender = await walsenderProcessId(client, slotName);
    return {
      ms,
      cpu: {
        decoder: perRow(decoderAtStart, decoderAtEnd, rows),
        walsender: perRow(0, walsender === null ? null : processCpuMs(walsender), rows),
      },
    };
  } finally {
    await stream.close();
  }
}

/** K single-row UPDATEs, one at a time: COMMIT returned -> webhook for that key received. */
async function measureDetection(
  client: pg.Client,
  receiver: WebhookReceiver,
  updates: number,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let index = 0; index < updates; index++) {
    const id = 1 + index * 7;
    const arrival = receiver.arrivalFor(String(id));
    // Autocommit: the statement returns once its COMMIT has.
    await client.query(`UPDATE public.${TABLE} SET actor = 'mallory' WHERE id = $1`, [id]);
    const committedAt = performance.now();
    latencies.push((await arrival) - committedAt);
  }
  return latencies;
}

/** The local webhook sink: resolves the arrival time of the first alert naming a primary key. */
class WebhookReceiver {
  readonly #server: Server;
  readonly #waiting = new Map<string, (atMs: number) => void>();
  readonly #arrived = new Map<string, number>();

  constructor() {
    this.#server = createServer((request, response) => {
      // The request has arrived when its head has: that is the detection; the body says which.
      const atMs = performance.now();
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        response.writeHead(204).end();
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { pk?: unknown };
        const key = Array.isArray(body.pk) ? String(body.pk[0]) : "";
        if (this.#arrived.has(key)) return;
        this.#arrived.set(key, atMs);
        this.#waiting.get(key)?.(atMs);
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  arrivalFor(key: string): Promise<number> {
    const known = this.#arrived.get(key);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no webhook for key ${key} within ${WEBHOOK_TIMEOUT_MS} ms`)),
        WEBHOOK_TIMEOUT_MS,
      );
      this.#waiting.set(key, (atMs) => {
        clearTimeout(timer);
        resolve(atMs);
      });
    });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** Samples a process's resident set from /proc; records nothing where there is no /proc. */
class RssSampler {
  readonly #processId: number;
  #timer: NodeJS.Timeout | undefined;
  maxBytes: number | null = null;
  maxAnonymousBytes: number | null = null;
  samples = 0;

  constructor(processId: number) {
    this.#processId = processId;
  }

  start(): void {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), RSS_SAMPLE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#sample();
  }

  peakBytes(): number | null {
    return this.#field("VmHWM");
  }

  #sample(): void {
    const bytes = this.#field("VmRSS");
    if (bytes === null) return;
    this.samples += 1;
    this.maxBytes = Math.max(this.maxBytes ?? 0, bytes);
    const anonymous = this.#field("RssAnon");
    if (anonymous !== null) {
      this.maxAnonymousBytes = Math.max(this.maxAnonymousBytes ?? 0, anonymous);
    }
  }

  #field(name: string): number | null {
    let text: string;
    try {
      text = readFileSync(`/proc/${this.#processId}/status`, "utf8");
    } catch {
      return null;
    }
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text);
    return match === null ? null : Number(match[1]) * 1024;
  }
}

/** Clock ticks per second of /proc/<pid>/task/<tid>/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of one thread, in milliseconds; null without /proc. */
function threadCpuMs(processId: number, threadId: number): number | null {
  return statCpuMs(`/proc/${processId}/task/${threadId}/stat`);
}

/** utime + stime of a whole process (every thread, live or ended), in milliseconds. */
function processCpuMs(processId: number): number | null {
  return statCpuMs(`/proc/${processId}/stat`);
}

function statCpuMs(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  // Fields after the command name, which ends with the last ")": state is field 3, utime 14.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

function captureCpuMs(nodeProcessId: number, walsender: number | null) {
  return {
    mainThread: threadCpuMs(nodeProcessId, nodeProcessId),
    allThreads: processCpuMs(nodeProcessId),
    walsender: walsender === null ? null : processCpuMs(walsender),
  };
}

function perRow(startMs: number | null, endMs: number | null, rows: number): number | null {
  return startMs === null || endMs === null ? null : round(((endMs - startMs) * 1000) / rows, 2);
}

/** The process streaming a slot to its active connection (a walsender); null when none. */
async function walsenderProcessId(client: pg.Client, slotName: string): Promise<number | null> {
  const result = await client.query<{ pid: number | null }>(
    "SELECT active_pid AS pid FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
    [slotName],
  );
  return result.rows[0]?.pid ?? null;
}

async function waitForReady(httpPort: number): Promise<void> {
  const deadline = performance.now() + NODE_READY_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      await response.body?.cancel();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) throw new Error("the node did not become ready");
    await sleep(CHAIN_POLL_INTERVAL_MS);
  }
}

async function waitForChain(store: WitnzStore, rows: number): Promise<void> {
  const deadline = performance.now() + INGEST_TIMEOUT_MS;
  while ((store.chainHead(TABLE_DISPLAY_NAME)?.size ?? 0) < rows) {
    if (performance.now() > deadline) throw new Error(`capture did not reach ${rows} rows`);
    await sleep(CHAIN_POLL_INTERVAL_MS);
  }
}

async function writeNodeConfig(
  directory: string,
  server: TestPostgres,
  httpPort: number,
  webhookUrl: string,
): Promise<string> {
  const path = join(directory, "node.yaml");
  const yaml = localNodeConfigYaml({
    database: server,
    nodeId: NODE_ID,
    dataDir: join(directory, "data"),
    httpPort,
    tables: [{ name: TABLE }],
    webhook: { url: webhookUrl },
  });
  await writeFile(path, yaml);
  return path;
}

async function runWitnz(args: readonly string[]): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  const code = await new Promise((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`witnz ${args[0]} exited with ${code}: ${output.join("")}`);
}

async function currentLsn(client: pg.Client): Promise<Lsn> {
  const result = await client.query<{ lsn: string }>(
    "SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn",
  );
  return parseLsn(result.rows[0]!.lsn);
}

await runWhenMain(import.meta.url, (argv) =>
  benchCapture(
    benchArguments(
      argv,
      { rows: "rows", updates: "updates" },
      { rows: ROWS_QUICK, updates: UPDATES_QUICK },
    ),
  ),
);

/** Extra `node` arguments for the node under test, from WITNZ_BENCH_NODE_ARGS. */
function nodeArguments(): string[] {
  return (process.env.WITNZ_BENCH_NODE_ARGS ?? "").split(" ").filter((part) => part !== "");
}
