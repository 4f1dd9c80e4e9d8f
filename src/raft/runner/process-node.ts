// One Raft node as an operating-system process, for the real-process tests and the benchmark:
//
//   node dist/src/raft/runner/process-node.js '<JSON ProcessNodeConfig>'
//
// It runs a RaftRunner with LMDB storage and the ConnectRPC mutual-TLS transport, and a
// recording state machine (every applied payload in order; its durability is the Raft log's:
// after a restart it is restored from the latest snapshot and the committed entries replayed).
// Control is one JSON object per line: requests `{"id", "op", ...}` on stdin, answers
// `{"id", "ok", ...}` on stdout. The first line out is `{"event":"ready"}`; a runner that stops
// on its own prints `{"event":"fatal"}` and the process exits with FATAL_EXIT_CODE.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { ConnectRaftTransport, type Entry, RaftRunner, RaftRunnerError } from "../index.js";
import { LmdbRaftStorage } from "./lmdb-raft-storage.js";
import type { StateMachine } from "./state-machine.js";

export interface ProcessNodeConfig {
  readonly id: string;
  readonly clusterId: string;
  readonly dataDirectory: string;
  readonly listenHost: string;
  readonly listenPort: number;
  /** Paths of PEM files: the cluster CA, this node's certificate and key. */
  readonly tls: { readonly ca: string; readonly certificate: string; readonly key: string };
  readonly peers: Readonly<Record<string, string>>;
  readonly bootstrap?: boolean;
  readonly snapshotEveryEntries?: number;
  readonly snapshotTrailingEntries?: number;
}

/** Exit code of a node whose runner stopped on its own. */
export const FATAL_EXIT_CODE = 70;
/** Applies one `bench` request may issue, and how many may wait at once. */
const BENCH_ENTRIES_MAX = 1_000_000;
const BENCH_CONCURRENCY_MAX = 4096;

class RecordingStateMachine implements StateMachine {
  applied: string[] = [];
  restores = 0;
  private readonly decoder = new TextDecoder();

  async apply(entries: readonly Entry[]): Promise<void> {
    for (const entry of entries) this.applied.push(this.decoder.decode(entry.data));
  }

  async snapshot(): Promise<Uint8Array> {
    return new TextEncoder().encode(JSON.stringify(this.applied));
  }

  async restore(bytes: Uint8Array): Promise<void> {
    this.restores += 1;
    this.applied = JSON.parse(this.decoder.decode(bytes)) as string[];
  }
}

interface Request {
  readonly id: number;
  readonly op: string;
  readonly data?: string;
  readonly timeoutMs?: number;
  readonly nodeId?: string;
  readonly address?: string;
  readonly entries?: number;
  readonly concurrency?: number;
  readonly entryBytes?: number;
}

function write(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "") as ProcessNodeConfig;
  const machine = new RecordingStateMachine();
  const runner = await RaftRunner.start({
    id: config.id,
    clusterId: config.clusterId,
    storage: LmdbRaftStorage.open(config.dataDirectory),
    transport: new ConnectRaftTransport({
      id: config.id,
      clusterId: config.clusterId,
      listenHost: config.listenHost,
      listenPort: config.listenPort,
      tls: {
        ca: readFileSync(config.tls.ca),
        certificate: readFileSync(config.tls.certificate),
        key: readFileSync(config.tls.key),
      },
    }),
    stateMachine: machine,
    peers: config.peers,
    bootstrap: config.bootstrap ?? false,
    ...(config.snapshotEveryEntries === undefined
      ? {}
      : { snapshotEveryEntries: config.snapshotEveryEntries }),
    ...(config.snapshotTrailingEntries === undefined
      ? {}
      : { snapshotTrailingEntries: config.snapshotTrailingEntries }),
    onFatal: (error) => {
      write({ event: "fatal", code: error.code, message: error.message });
      process.exit(FATAL_EXIT_CODE);
    },
  });

  const handle = async (request: Request): Promise<object> => {
    const timeout = request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs };
    switch (request.op) {
      case "apply":
        return {
          index: await runner.apply(new TextEncoder().encode(request.data ?? ""), timeout),
        };
      case "status":
        return {
          state: runner.state(),
          leader: runner.leader()?.id ?? null,
          ...runner.stats(),
          restores: machine.restores,
          appliedEntries: machine.applied.length,
          configuration: runner.configuration(),
        };
      case "log":
        return { applied: machine.applied };
      case "snapshot":
        return { snapshot: await runner.snapshot() };
      case "addVoter":
        await runner.addVoter(request.nodeId ?? "", request.address ?? "", timeout);
        return {};
      case "removeServer":
        await runner.removeServer(request.nodeId ?? "", timeout);
        return {};
      case "bench":
        return bench(runner, request);
      case "shutdown":
        await runner.shutdown();
        return {};
      default:
        throw new Error(`unknown op "${request.op}"`);
    }
  };

  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    const request = JSON.parse(line) as Request;
    handle(request).then(
      (answer) => {
        write({ id: request.id, ok: true, ...answer });
        if (request.op === "shutdown") process.exit(0);
      },
      (error: unknown) =>
        write({
          id: request.id,
          ok: false,
          code: error instanceof RaftRunnerError ? error.code : "ERROR",
          message: error instanceof Error ? error.message : String(error),
          leader: error instanceof RaftRunnerError ? (error.leader?.id ?? null) : null,
        }),
    );
  });
  // The controlling process went away: stop cleanly rather than linger.
  lines.on("close", () => {
    runner.shutdown().then(
      () => process.exit(0),
      () => process.exit(FATAL_EXIT_CODE),
    );
  });
  write({ event: "ready", id: config.id, pid: process.pid });
}

/**
 * Applies `entries` payloads of `entryBytes` each, keeping `concurrency` in flight, and returns
 * the latency of every apply in milliseconds (propose to applied on this leader).
 */
async function bench(runner: RaftRunner, request: Request): Promise<object> {
  const entries = request.entries ?? 0;
  const concurrency = request.concurrency ?? 1;
  if (entries < 1 || entries > BENCH_ENTRIES_MAX) throw new Error(`bad entries ${entries}`);
  if (concurrency < 1 || concurrency > BENCH_CONCURRENCY_MAX) {
    throw new Error(`bad concurrency ${concurrency}`);
  }
  const payload = "x".repeat(request.entryBytes ?? 1024);
  const latenciesMs: number[] = [];
  let next = 0;
  const startMs = performance.now();
  const worker = async (): Promise<void> => {
    while (next < entries) {
      next += 1;
      const proposedMs = performance.now();
      await runner.apply(new TextEncoder().encode(payload));
      latenciesMs.push(performance.now() - proposedMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { elapsedMs: performance.now() - startMs, latenciesMs };
}

main().catch((error: unknown) => {
  write({ event: "fatal", code: "START", message: String(error) });
  process.exit(FATAL_EXIT_CODE);
});
