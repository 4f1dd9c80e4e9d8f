// Cluster: ingest speed of three `witnz start` processes in one Raft cluster (mutual TLS, LMDB,
// fsync) against a single node on the same machine, and the latency from a COMMIT to a
// checkpoint every node has signed, all measured in the same run on one real PostgreSQL.
//
//   npm run build && node dist/bench/cluster.js [--quick] [--rows=N] [--samples=K]
//
// Setup: one embedded PostgreSQL (startTestPostgres) for both parts, one table per part.
//
// (a) Baseline, a single node: `witnz init` and `witnz start` of a node without peers, ready
//     (GET /readyz 200) before anything is written. N rows (100 000 by default, 20 000 with
//     --quick) are inserted as fast as one session can, in transactions of 1000 rows. Timed from
//     the first COMMIT returning until the node's chain holds N entries: its LMDB store, opened
//     read-only by this process (LMDB allows readers beside the writer), polled every
//     POLL_INGEST_MS. The chain head is written in the same LMDB transaction as the entries,
//     after fsync, so it is the node's durable state and costs the node nothing to read. A
//     single node has no cluster to agree with: its chain is the end of its pipeline.
//     The node is then stopped and its slot dropped, so it costs the cluster nothing.
// (b) Cluster: prepareLocalCluster (three nodes, the first bootstrapping), every node started
//     and waited for until each reports a leader and three registered voters. The same N rows
//     into a second table, timed from the first COMMIT returning until every node's GET /cluster
//     shows agreedSize >= N for the table, i.e. every node has signed a checkpoint at N or
//     beyond and that is committed in Raft and applied on every node. The three nodes are polled
//     together every POLL_INGEST_MS. From the same polls: when every node's reported (captured,
//     durable) chain size first reached N, to show capture against attestation.
//     Ratio: cluster rows/s over single-node rows/s.
// (c) Attestation latency, cluster idle: K rows (200 by default, 50 with --quick), each in its
//     own transaction, one after the other; from its COMMIT returning until the leader's
//     GET /cluster, polled every POLL_LATENCY_MS, shows agreedSize >= that row's position in the
//     chain. agreedSize is replicated state: it moves only when the third node's observation is
//     applied, so one node's view suffices; the leader's is the first to apply a committed
//     entry. The followers' views are then polled too, and the time until all three show it is
//     reported beside it (the next row waits for that).
// (d) The nodes' resident memory, sampled from /proc every RSS_SAMPLE_INTERVAL_MS during each
//     ingest, and each process's high-water mark (VmHWM) after it. Linux only; null elsewhere.
//
// Every time is taken when the poll response that first shows the condition arrives, so each
// is an upper bound by at most one poll interval plus one request.

import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { ClusterStatus } from "../src/cluster-node/index.js";
import { parseConfig } from "../src/config/index.js";
import {
  freePort,
  LocalNodeProcess,
  localLeader,
  localNodeConfigYaml,
  prepareLocalCluster,
} from "../src/local/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../src/postgres/index.js";
import { initNode } from "../src/setup/index.js";
import { openStore, type WitnzStore } from "../src/store/index.js";
import { benchArguments, percentile, round, runWhenMain } from "./stats.js";

export interface BenchClusterOptions {
  readonly rows?: number;
  readonly samples?: number;
}

export interface NodeRssResult {
  readonly node: string;
  readonly samples: number;
  /** Largest sampled resident set during the ingest. */
  readonly maxBytes: number | null;
  /** Largest sampled anonymous part (heap and buffers; the rest is mapped files, LMDB's). */
  readonly maxAnonymousBytes: number | null;
  /** The kernel's high-water mark (VmHWM) after the ingest. */
  readonly peakBytes: number | null;
}

export interface BenchClusterResult {
  readonly benchmark: "cluster";
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly nodes: number;
  readonly rows: number;
  readonly transactionRows: number;
  readonly ingest: {
    readonly pollIntervalMs: number;
    readonly singleNode: {
      /** First COMMIT returned -> the node's durable chain holds every row. */
      readonly ms: number;
      readonly rowsPerSecond: number;
      /** First COMMIT returned -> last COMMIT returned (the writer alone). */
      readonly insertMs: number;
    };
    readonly cluster: {
      /** First COMMIT returned -> every node's GET /cluster shows agreedSize >= rows. */
      readonly ms: number;
      readonly rowsPerSecond: number;
      readonly insertMs: number;
      /** First COMMIT returned -> every node's reported chain size >= rows (captured, durable). */
      readonly capturedMs: number;
      /** Raft entries the leader committed during the ingest. */
      readonly raftEntries: number;
    };
    /** cluster rowsPerSecond / singleNode rowsPerSecond. */
    readonly ratio: number;
  };
  readonly attestation: {
    readonly samples: number;
    readonly pollIntervalMs: number;
    /** COMMIT returned -> the leader's view shows agreedSize >= the row's position. */
    readonly leaderView: LatencySummary;
    /** COMMIT returned -> every node's view shows it. */
    readonly allViews: LatencySummary;
  };
  readonly rss: {
    readonly sampleIntervalMs: number;
    readonly singleNode: NodeRssResult;
    readonly cluster: readonly NodeRssResult[];
  };
  readonly setupMs: { readonly singleNodeStartup: number; readonly clusterStartup: number };
}

export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

const ROWS_DEFAULT = 100_000;
const ROWS_QUICK = 20_000;
const SAMPLES_DEFAULT = 200;
const SAMPLES_QUICK = 50;
const TRANSACTION_ROWS = 1000;
const NODE_IDS = ["n1", "n2", "n3"] as const;
const SINGLE_NODE_ID = "single";
const SINGLE_TABLE = "bench_single";
const CLUSTER_TABLE = "bench_cluster";
/** How often the chain or the cluster views are read while the rows are ingested. */
const POLL_INGEST_MS = 10;
/** How often the leader's view is read while one row is attested. */
const POLL_LATENCY_MS = 2;
const RSS_SAMPLE_INTERVAL_MS = 100;
const STARTUP_TIMEOUT_MS = 120_000;
const INGEST_TIMEOUT_MS = 10 * 60_000;
const ATTESTATION_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export async function benchCluster(options: BenchClusterOptions = {}): Promise<BenchClusterResult> {
  const rows = options.rows ?? ROWS_DEFAULT;
  const samples = options.samples ?? SAMPLES_DEFAULT;
  if (rows % TRANSACTION_ROWS !== 0 || rows <= 0) {
    throw new Error(`rows must be a positive multiple of ${TRANSACTION_ROWS}`);
  }
  if (samples <= 0) throw new Error("samples must be positive");
  const server = await startTestPostgres();
  const directory = await mkdtemp(join(tmpdir(), "witnz-bench-cluster-"));
  const started: LocalNodeProcess[] = [];
  let client: pg.Client | undefined;
  let store: WitnzStore | undefined;
  try {
    client = await connectSession({ connectionString: server.connectionString });
    for (const table of [SINGLE_TABLE, CLUSTER_TABLE]) {
      await client.query(
        `CREATE TABLE public.${table} (id int8 PRIMARY KEY, actor text, amount numeric,
           at timestamptz, payload jsonb)`,
      );
    }

    // (a) The single node.
    const single = await prepareSingleNode(directory, server);
    let startupAt = performance.now();
    single.start();
    started.push(single);
    await waitFor([single], async () => ((await single.ready()) ? true : undefined), "ready");
    const singleNodeStartupMs = performance.now() - startupAt;
    store = await openStore(single.dataDir);
    const openedStore = store;
    const singleRss = new RssSampler([single]);
    const singleIngest = await ingest(
      client,
      SINGLE_TABLE,
      rows,
      singleRss,
      async () => (openedStore.chainHead(`public.${SINGLE_TABLE}`)?.size ?? 0) >= rows,
    );
    const singleRssResult = singleRss.results()[0]!;
    await store.close();
    store = undefined;
    await stopNode(single);
    await client.query("SELECT pg_catalog.pg_drop_replication_slot($1)", [
      `witnz_${SINGLE_NODE_ID}`,
    ]);

    // (b) The cluster.
    const nodes = await prepareLocalCluster({
      directory: join(directory, "cluster"),
      database: server,
      clusterId: "bench",
      nodeIds: NODE_IDS,
      tables: [{ name: CLUSTER_TABLE }],
    });
    startupAt = performance.now();
    for (const node of nodes) {
      node.start();
      started.push(node);
    }
    await waitFor(nodes, () => clusterFormed(nodes), "a leader and three registered voters");
    const clusterStartupMs = performance.now() - startupAt;
    const leaderBefore = await requireLeader(nodes);
    const commitBefore = (await leaderBefore.cluster())?.commitIndex ?? 0;
    const clusterRss = new RssSampler(nodes);
    let capturedAt: number | undefined;
    const clusterIngest = await ingest(client, CLUSTER_TABLE, rows, clusterRss, async () => {
      const views = await Promise.all(nodes.map((node) => node.cluster()));
      const receivedAt = performance.now();
      const tables = views.map((view) => tableOf(view, CLUSTER_TABLE));
      // Each node's own chain size as the replicated state holds it, in any node's view.
      if (capturedAt === undefined) {
        const reported = NODE_IDS.every((id) =>
          tables.some(
            (table) => (table?.nodes.find((entry) => entry.node === id)?.reportedSize ?? 0) >= rows,
          ),
        );
        if (reported) capturedAt = receivedAt;
      }
      return tables.every((table) => (table?.agreedSize ?? 0) >= rows);
    });
    const leaderAfter = await requireLeader(nodes);
    const commitAfter = (await leaderAfter.cluster())?.commitIndex ?? 0;

    // (c) One row at a time, the cluster idle.
    const latencies = await measureAttestation(client, nodes, rows, samples);

    const singleRowsPerSecond = rows / (singleIngest.ms / 1000);
    const clusterRowsPerSecond = rows / (clusterIngest.ms / 1000);
    return {
      benchmark: "cluster",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: availableParallelism(),
      nodes: NODE_IDS.length,
      rows,
      transactionRows: TRANSACTION_ROWS,
      ingest: {
        pollIntervalMs: POLL_INGEST_MS,
        singleNode: {
          ms: round(singleIngest.ms),
          rowsPerSecond: Math.round(singleRowsPerSecond),
          insertMs: round(singleIngest.insertMs),
        },
        cluster: {
          ms: round(clusterIngest.ms),
          rowsPerSecond: Math.round(clusterRowsPerSecond),
          insertMs: round(clusterIngest.insertMs),
          capturedMs: round((capturedAt ?? Number.NaN) - clusterIngest.firstCommitAt),
          raftEntries: leaderAfter === leaderBefore ? commitAfter - commitBefore : -1,
        },
        ratio: round(clusterRowsPerSecond / singleRowsPerSecond, 2),
      },
      attestation: {
        samples,
        pollIntervalMs: POLL_LATENCY_MS,
        leaderView: summarize(latencies.leader),
        allViews: summarize(latencies.all),
      },
      rss: {
        sampleIntervalMs: RSS_SAMPLE_INTERVAL_MS,
        singleNode: singleRssResult,
        cluster: clusterRss.results(),
      },
      setupMs: {
        singleNodeStartup: round(singleNodeStartupMs),
        clusterStartup: round(clusterStartupMs),
      },
    };
  } finally {
    await store?.close();
    for (const node of started) await stopNode(node);
    await client?.end().catch(() => {});
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

/** A node without peers, initialised (publication, slot, layout), not started. */
async function prepareSingleNode(
  directory: string,
  server: TestPostgres,
): Promise<LocalNodeProcess> {
  const node = new LocalNodeProcess(
    SINGLE_NODE_ID,
    join(directory, `${SINGLE_NODE_ID}.yaml`),
    join(directory, SINGLE_NODE_ID),
    await freePort(),
  );
  const yaml = localNodeConfigYaml({
    database: server,
    nodeId: SINGLE_NODE_ID,
    dataDir: node.dataDir,
    httpPort: node.httpPort,
    tables: [{ name: SINGLE_TABLE }],
  });
  await writeFile(node.configPath, yaml);
  const init = await initNode(parseConfig(yaml).config);
  if (!init.ok) throw new Error(`witnz init failed for ${SINGLE_NODE_ID}`);
  return node;
}

interface IngestTiming {
  readonly firstCommitAt: number;
  readonly ms: number;
  readonly insertMs: number;
}

/**
 * Inserts `rows` rows into `table` in transactions of TRANSACTION_ROWS while `done` is polled
 * every POLL_INGEST_MS from the first COMMIT on; resolves with the time from that COMMIT to the
 * response in which `done` first held.
 */
async function ingest(
  client: pg.Client,
  table: string,
  rows: number,
  rss: RssSampler,
  done: () => Promise<boolean>,
): Promise<IngestTiming> {
  rss.start();
  const cancel = { cancelled: false };
  try {
    let firstCommitAt: number | undefined;
    let lastCommitAt = 0;
    let poller: Promise<number> | undefined;
    for (let first = 1; first <= rows; first += TRANSACTION_ROWS) {
      // One statement outside a transaction block is its own transaction: it returns after COMMIT.
      await client.query(
        `INSERT INTO public.${table}
           SELECT i, 'user-' || (i % 1000), i * 1.25,
                  '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 second',
                  jsonb_build_object('i', i, 'kind', 'event')
             FROM generate_series($1::int8, $2::int8) AS i`,
        [first, first + TRANSACTION_ROWS - 1],
      );
      lastCommitAt = performance.now();
      if (firstCommitAt === undefined) {
        firstCommitAt = lastCommitAt;
        poller = pollUntil(
          done,
          POLL_INGEST_MS,
          INGEST_TIMEOUT_MS,
          `${table} at ${rows} rows`,
          cancel,
        );
        // Surfaces a failure at once; awaited below.
        poller.catch(() => {});
      }
    }
    const doneAt = await poller!;
    return {
      firstCommitAt: firstCommitAt!,
      ms: doneAt - firstCommitAt!,
      insertMs: lastCommitAt - firstCommitAt!,
    };
  } finally {
    // A failed insert must not leave the poller running.
    cancel.cancelled = true;
    rss.stop();
  }
}

/**
 * K single-row transactions, one after the other: COMMIT returned -> agreedSize at or past the
 * row on the leader's view, then on every node's view.
 */
async function measureAttestation(
  client: pg.Client,
  nodes: readonly LocalNodeProcess[],
  rows: number,
  samples: number,
): Promise<{ leader: number[]; all: number[] }> {
  const leader: number[] = [];
  const all: number[] = [];
  for (let index = 1; index <= samples; index++) {
    const lead = await requireLeader(nodes);
    const others = nodes.filter((node) => node !== lead);
    const position = rows + index;
    await client.query(
      `INSERT INTO public.${CLUSTER_TABLE} (id, actor, amount, at, payload)
         VALUES ($1, 'single', 1, now(), '{"kind":"single"}')`,
      [position],
    );
    const committedAt = performance.now();
    const agreedOn = (node: LocalNodeProcess) => async () =>
      (tableOf(await node.cluster(), CLUSTER_TABLE)?.agreedSize ?? 0) >= position;
    const what = `agreement at ${position}`;
    const leaderAt = await pollUntil(agreedOn(lead), POLL_LATENCY_MS, ATTESTATION_TIMEOUT_MS, what);
    let allAt = leaderAt;
    for (const node of others) {
      allAt = await pollUntil(agreedOn(node), POLL_LATENCY_MS, ATTESTATION_TIMEOUT_MS, what);
    }
    leader.push(leaderAt - committedAt);
    all.push(allAt - committedAt);
  }
  return { leader, all };
}

/** Polls `probe` every `intervalMs` (start to start); resolves with when it first held. */
async function pollUntil(
  probe: () => Promise<boolean>,
  intervalMs: number,
  timeoutMs: number,
  what: string,
  cancel: { readonly cancelled: boolean } = { cancelled: false },
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const startedAt = performance.now();
    if (await probe()) return performance.now();
    if (cancel.cancelled) throw new Error(`cancelled waiting for ${what}`);
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(Math.max(0, startedAt + intervalMs - performance.now()));
  }
}

/** Waits for `probe`, failing early with a node's log when one of `nodes` exited. */
async function waitFor(
  nodes: readonly LocalNodeProcess[],
  probe: () => Promise<true | undefined>,
  what: string,
): Promise<void> {
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if ((await probe()) !== undefined) return;
    const exited = nodes.find((node) => !node.running);
    if (exited !== undefined) {
      throw new Error(
        `${exited.id} exited while waiting for ${what}: ${exited.stderr.slice(-2000)}`,
      );
    }
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Every node answers, with the same leader, and knows all of them as registered voters. */
async function clusterFormed(nodes: readonly LocalNodeProcess[]): Promise<true | undefined> {
  const views = await Promise.all(nodes.map((node) => node.cluster()));
  const leaders = new Set(views.map((view) => view?.leader ?? null));
  if (leaders.size !== 1 || leaders.has(null)) return undefined;
  const complete = views.every(
    (view) =>
      view !== undefined &&
      NODE_IDS.every((id) =>
        view.nodes.some((node) => node.node === id && node.registered && node.suffrage === "voter"),
      ),
  );
  return complete ? true : undefined;
}

async function requireLeader(nodes: readonly LocalNodeProcess[]): Promise<LocalNodeProcess> {
  const leader = await localLeader(nodes);
  if (leader === undefined) throw new Error("no node reports itself leader");
  return leader;
}

function tableOf(status: ClusterStatus | undefined, table: string) {
  return status?.tables.find((entry) => entry.table === `public.${table}`);
}

/** SIGTERM, then SIGKILL if the node has not exited within STOP_TIMEOUT_MS. */
async function stopNode(node: LocalNodeProcess): Promise<void> {
  if (!node.running) return;
  const stopped = node.stop("SIGTERM");
  const timer = setTimeout(() => void node.stop("SIGKILL"), STOP_TIMEOUT_MS);
  try {
    await stopped;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Samples the resident set of node processes from /proc. LocalNodeProcess does not expose its
 * process id, so each is found once by its configuration path on its command line.
 */
class RssSampler {
  readonly #nodes: readonly { readonly id: string; readonly processId: number | undefined }[];
  readonly #max = new Map<string, { rss: number; anonymous: number; samples: number }>();
  #peaks = new Map<string, number | null>();
  #timer: NodeJS.Timeout | undefined;

  constructor(nodes: readonly LocalNodeProcess[]) {
    this.#nodes = nodes.map((node) => ({ id: node.id, processId: processIdOf(node.configPath) }));
  }

  start(): void {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), RSS_SAMPLE_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#sample();
    this.#peaks = new Map(this.#nodes.map((node) => [node.id, this.#field(node, "VmHWM")]));
  }

  results(): NodeRssResult[] {
    return this.#nodes.map((node) => {
      const max = this.#max.get(node.id);
      return {
        node: node.id,
        samples: max?.samples ?? 0,
        maxBytes: max?.rss ?? null,
        maxAnonymousBytes: max?.anonymous ?? null,
        peakBytes: this.#peaks.get(node.id) ?? null,
      };
    });
  }

  #sample(): void {
    for (const node of this.#nodes) {
      const rss = this.#field(node, "VmRSS");
      if (rss === null) continue;
      const anonymous = this.#field(node, "RssAnon") ?? 0;
      const max = this.#max.get(node.id) ?? { rss: 0, anonymous: 0, samples: 0 };
      this.#max.set(node.id, {
        rss: Math.max(max.rss, rss),
        anonymous: Math.max(max.anonymous, anonymous),
        samples: max.samples + 1,
      });
    }
  }

  #field(node: { readonly processId: number | undefined }, name: string): number | null {
    if (node.processId === undefined) return null;
    let text: string;
    try {
      text = readFileSync(`/proc/${node.processId}/status`, "utf8");
    } catch {
      return null;
    }
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text);
    return match === null ? null : Number(match[1]) * 1024;
  }
}

/** The process whose command line is `... start --config <configPath>`, where there is /proc. */
function processIdOf(configPath: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const at = argv.indexOf("--config");
    if (at > 0 && argv[at - 1] === "start" && argv[at + 1] === configPath) return Number(entry);
  }
  return undefined;
}

function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted.at(-1)!),
    meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
  };
}

await runWhenMain(import.meta.url, (argv) =>
  benchCluster(
    benchArguments(
      argv,
      { rows: "rows", samples: "samples" },
      { rows: ROWS_QUICK, samples: SAMPLES_QUICK },
    ),
  ),
);
