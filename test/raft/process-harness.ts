// Raft nodes as real processes on loopback (src/raft/runner/process-node.ts, built to dist/),
// driven over their line protocol. Every wait is bounded; `stopAll` kills whatever is left.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createDevelopmentCertificates } from "../../src/certs/index.js";
import { freePort } from "../../src/local/index.js";
import { temporaryDirectory } from "./runner-harness.js";

export { freePort };

export const NODE_ENTRY = new URL("../../dist/src/raft/runner/process-node.js", import.meta.url)
  .pathname;
export const CLUSTER_ID = "process-cluster";
/** Bound on one control request (an apply carries its own, shorter timeout). */
const REQUEST_TIMEOUT_MS = 15_000;
const START_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 5_000;
const STDERR_LINES_MAX = 50;

export interface Status {
  readonly state: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly restores: number;
  readonly appliedEntries: number;
}

export interface Answer {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly leader?: string | null;
  readonly [key: string]: unknown;
}

interface NodeSpec {
  readonly id: string;
  readonly port: number;
  readonly dataDirectory: string;
  readonly peers: Record<string, string>;
  readonly bootstrap: boolean;
}

/** One running node process. */
export class ProcessNode {
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private readonly stderr: string[] = [];
  private sequence = 0;
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;
  /** Set by SIGSTOP, cleared by SIGCONT: a stopped node answers nothing. */
  stopped = false;
  /** The test ended this process (kill, shutdown); any other exit is a failure. */
  endedByTest = false;

  constructor(
    readonly id: string,
    readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const message = JSON.parse(line) as { id?: number } & Answer;
      if (message.id === undefined) return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
    createInterface({ input: child.stderr! }).on("line", (line) => {
      this.stderr.push(line);
      if (this.stderr.length > STDERR_LINES_MAX) this.stderr.shift();
    });
    this.exited = new Promise((resolve) => {
      child.on("exit", (code) => {
        this.exitCode = code;
        for (const settle of this.waiting.values()) {
          settle({ ok: false, code: "EXITED", message: `${this.id} exited` });
        }
        this.waiting.clear();
        resolve(code);
      });
    });
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Sends one request; resolves with the answer (never rejects: failures are answers). */
  request(op: string, fields: object = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Answer> {
    if (!this.alive) return Promise.resolve({ ok: false, code: "EXITED" });
    this.sequence += 1;
    const id = this.sequence;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ ok: false, code: "NO_ANSWER", message: `${this.id} did not answer ${op}` });
      }, timeoutMs);
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  async status(): Promise<Status | null> {
    const answer = await this.request("status", {}, 2000);
    return answer.ok ? (answer as unknown as Status) : null;
  }

  async log(): Promise<string[]> {
    const answer = await this.request("log");
    if (!answer.ok) throw new Error(`log of ${this.id}: ${answer.code} ${answer.message}`);
    return answer.applied as string[];
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    this.child.kill(signal);
    if (signal === "SIGSTOP") this.stopped = true;
    if (signal === "SIGCONT") this.stopped = false;
  }

  /** kill -9, and wait until it is gone. */
  async kill(): Promise<void> {
    this.endedByTest = true;
    this.signal("SIGKILL");
    await bounded(this.exited, EXIT_TIMEOUT_MS, `${this.id} to exit`);
  }

  /** A graceful shutdown over the control protocol; waits until the process is gone. */
  async shutdown(): Promise<void> {
    this.endedByTest = true;
    await this.request("shutdown");
    await bounded(this.exited, EXIT_TIMEOUT_MS, `${this.id} to exit`);
  }

  stderrTail(): string {
    return this.stderr.join("\n");
  }
}

/** Nodes of one test cluster: certificates, data directories, ports; stops everything. */
export class ProcessCluster {
  readonly nodes = new Map<string, ProcessNode>();
  readonly specs = new Map<string, NodeSpec>();
  /** Every process started, restarted ones included. */
  private readonly allNodes = new Set<ProcessNode>();
  private readonly directories: string[] = [];
  /** Extra fields of every node's configuration (snapshot policy). */
  private extra: object = {};

  private constructor(
    readonly certificates: string,
    readonly ids: readonly string[],
  ) {}

  /**
   * A cluster of `ids` (the first bootstraps); certificates are made for `ids` and `spareIds`
   * (nodes that join later). Call `start()` for the nodes.
   */
  static async create(
    ids: readonly string[],
    spareIds: readonly string[] = [],
    extra: object = {},
  ): Promise<ProcessCluster> {
    if (!existsSync(NODE_ENTRY)) {
      throw new Error(`${NODE_ENTRY} is missing: build first (npm run build, or npm test)`);
    }
    const root = temporaryDirectory("witnz-process-cluster-");
    const cluster = new ProcessCluster(join(root, "certs"), ids);
    cluster.directories.push(root);
    cluster.extra = extra;
    await createDevelopmentCertificates({
      outDirectory: cluster.certificates,
      nodes: [...ids, ...spareIds],
    });
    const ports = new Map<string, number>();
    for (const id of ids) ports.set(id, await freePort());
    for (const id of ids) {
      cluster.specs.set(id, {
        id,
        port: ports.get(id)!,
        dataDirectory: join(root, `data-${id}`),
        peers: Object.fromEntries(
          ids.filter((peer) => peer !== id).map((peer) => [peer, address(ports.get(peer)!)]),
        ),
        bootstrap: id === ids[0],
      });
    }
    return cluster;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.start(id)));
  }

  /** Starts (or restarts, with the same data directory and port) node `id`. */
  async start(id: string): Promise<ProcessNode> {
    const spec = this.specs.get(id);
    if (spec === undefined) throw new Error(`no node ${id}`);
    const previous = this.nodes.get(id);
    if (previous?.alive === true) throw new Error(`${id} is still running`);
    const config = {
      id,
      clusterId: CLUSTER_ID,
      dataDirectory: spec.dataDirectory,
      listenHost: "127.0.0.1",
      listenPort: spec.port,
      tls: {
        ca: join(this.certificates, "ca.crt"),
        certificate: join(this.certificates, `${id}.crt`),
        key: join(this.certificates, `${id}.key`),
      },
      peers: spec.peers,
      bootstrap: spec.bootstrap,
      ...this.extra,
    };
    const child = spawn(process.execPath, [NODE_ENTRY, JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    track(child);
    const node = new ProcessNode(id, child);
    this.nodes.set(id, node);
    this.allNodes.add(node);
    const ready = new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        const message = JSON.parse(line) as { event?: string; message?: string };
        if (message.event === "ready") resolve();
        if (message.event === "fatal") reject(new Error(`${id} failed: ${message.message}`));
      });
      void node.exited.then(() =>
        reject(new Error(`${id} exited while starting:\n${node.stderrTail()}`)),
      );
    });
    await bounded(ready, START_TIMEOUT_MS, `${id} to start`);
    return node;
  }

  /** Adds a node that joins later (not bootstrapped, fresh data directory). */
  addSpec(id: string, port: number, peers: Record<string, string>): void {
    const root = this.directories[0]!;
    this.specs.set(id, {
      id,
      port,
      dataDirectory: join(root, `data-${id}`),
      peers,
      bootstrap: false,
    });
  }

  node(id: string): ProcessNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Nodes running and not stopped. */
  live(): ProcessNode[] {
    return [...this.nodes.values()].filter((node) => node.alive && !node.stopped);
  }

  addressOf(id: string): string {
    return address(this.specs.get(id)!.port);
  }

  /**
   * The one node that says it leads and that the other live nodes follow (or do not contradict),
   * polled every 20 ms until `timeoutMs`.
   */
  async waitForLeader(
    among: readonly ProcessNode[] = this.live(),
    timeoutMs = 10_000,
  ): Promise<ProcessNode> {
    return eventually(
      async () => {
        const statuses = await Promise.all(among.map((node) => node.status()));
        const leaders = among.filter((_, i) => statuses[i]?.state === "leader");
        return leaders.length === 1 ? leaders[0] : undefined;
      },
      timeoutMs,
      `a leader among ${among.map((node) => node.id).join(",")}`,
      20,
    );
  }

  /** Applies `data` through the leader; retries only where the entry was surely not taken. */
  async apply(data: string, timeoutMs = 5000): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.waitForLeader(
        this.live(),
        Math.max(1, deadline - Date.now()),
      ).catch(() => null);
      if (leader === null) return { ok: false, code: "NO_LEADER" };
      const answer = await leader.request("apply", { data, timeoutMs: 3000 });
      const refused =
        answer.code === "WITNZ_RAFT_NOT_LEADER" ||
        (answer.code === "WITNZ_RAFT_REFUSED" && /not ready/.test(answer.message ?? ""));
      if (!refused || Date.now() >= deadline) return answer;
      await delay(20);
    }
  }

  /** Waits until every node in `nodes` has applied exactly the same sequence as `reference`. */
  async waitForSameLog(
    nodes: readonly ProcessNode[],
    timeoutMs = 10_000,
  ): Promise<readonly string[]> {
    return eventually(
      async () => {
        const logs = await Promise.all(nodes.map((node) => node.log()));
        const first = JSON.stringify(logs[0]);
        return logs.every((log) => JSON.stringify(log) === first) ? logs[0] : undefined;
      },
      timeoutMs,
      `${nodes.map((node) => node.id).join(",")} to apply the same log`,
      50,
    );
  }

  /**
   * Kills every process (resuming stopped ones first) and removes the temporary files. Returns
   * what went wrong unseen: processes that exited without the test ending them.
   */
  async stopAll(): Promise<string[]> {
    const unexpected = [...this.allNodes]
      .filter((node) => !node.alive && !node.endedByTest)
      .map((node) => `${node.id} exited with ${node.exitCode}:\n${node.stderrTail()}`);
    for (const node of this.nodes.values()) {
      node.signal("SIGCONT");
      node.signal("SIGKILL");
    }
    await Promise.all(
      [...this.nodes.values()].map((node) =>
        bounded(node.exited, EXIT_TIMEOUT_MS, `${node.id} to exit`).catch(() => undefined),
      ),
    );
    for (const directory of this.directories) rmSync(directory, { recursive: true, force: true });
    return unexpected;
  }
}

export function address(port: number): string {
  return `127.0.0.1:${port}`;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls an asynchronous `condition` until it yields a value or `timeoutMs` passes. */
export async function eventually<T>(
  condition: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  pollMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await delay(pollMs);
  }
}

export async function bounded<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every item of `expected` occurs exactly once in `log`, and nothing occurs twice. */
export function duplicatesAndMissing(
  log: readonly string[],
  expected: readonly string[],
): { duplicates: string[]; missing: string[] } {
  const counts = new Map<string, number>();
  for (const item of log) counts.set(item, (counts.get(item) ?? 0) + 1);
  return {
    duplicates: [...counts].filter(([, count]) => count > 1).map(([item]) => item),
    missing: expected.filter((item) => counts.get(item) !== 1),
  };
}

/** Process exit safety net: a crashed test run still kills its children. */
const everyChild = new Set<ChildProcess>();
export function track(child: ChildProcess): void {
  everyChild.add(child);
  child.on("exit", () => everyChild.delete(child));
}
process.on("exit", () => {
  for (const child of everyChild) child.kill("SIGKILL");
});
