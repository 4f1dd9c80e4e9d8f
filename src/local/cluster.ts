// A Raft cluster of `witnz start` processes on this machine (the demo, the benchmark and the
// acceptance tests): development certificates, one configuration per node, `witnz init` for
// each, and a handle per node process to start, stop, kill and ask for its view of the cluster.
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDevelopmentCertificates } from "../certs/index.js";
import type { ClusterStatus } from "../cluster-node/index.js";
import { parseConfig } from "../config/index.js";
import { initNode } from "../setup/index.js";
import { freePort, type LocalNodeConfigOptions, localNodeConfigYaml } from "./node-config.js";

// Built, this file sits beside the CLI in dist/src; run from source by the tests, it uses the build.
const BIN = fileURLToPath(
  import.meta.url.endsWith(".ts")
    ? new URL("../../dist/src/cli/bin.js", import.meta.url)
    : new URL("../cli/bin.js", import.meta.url),
);
/** Bytes of a node's standard error kept for a failure message. */
const STDERR_KEPT = 20_000;

export interface LocalClusterOptions {
  /** Where certificates, configurations and data directories go. */
  readonly directory: string;
  readonly database: LocalNodeConfigOptions["database"];
  readonly clusterId: string;
  readonly nodeIds: readonly string[];
  readonly tables: LocalNodeConfigOptions["tables"];
  readonly webhook?: LocalNodeConfigOptions["webhook"];
  readonly witnesses?: LocalNodeConfigOptions["witnesses"];
  readonly logLevel?: string;
}

/** One node of a local cluster: its files, its ports, and its process when running. */
export class LocalNodeProcess {
  #child: ChildProcess | undefined;
  #stderr = "";

  constructor(
    readonly id: string,
    readonly configPath: string,
    readonly dataDir: string,
    readonly httpPort: number,
  ) {}

  get running(): boolean {
    return this.#child !== undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /** The tail of the process's standard error (its JSON log lines). */
  get stderr(): string {
    return this.#stderr;
  }

  start(): void {
    if (this.#child !== undefined) throw new Error(`${this.id} is already running`);
    const child = spawn(process.execPath, [BIN, "start", "--config", this.configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.#stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_KEPT);
    });
    child.on("exit", () => {
      if (this.#child === child) this.#child = undefined;
    });
    this.#child = child;
  }

  /** Sends `signal` and resolves with the exit code once the process is gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const child = this.#child;
    if (child === undefined) return null;
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    child.kill(signal);
    return exited;
  }

  /** GET /readyz answered 200. */
  async ready(): Promise<boolean> {
    try {
      return (await fetch(`${this.url}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }

  /** GET /cluster, or undefined while the node does not answer. */
  async cluster(): Promise<ClusterStatus | undefined> {
    try {
      const response = await fetch(`${this.url}/cluster`);
      return response.status === 200 ? ((await response.json()) as ClusterStatus) : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * Writes certificates and one configuration per node (the first bootstraps the cluster), runs
 * `witnz init` for each (its publication and its own slot), and returns the nodes, not started.
 */
export async function prepareLocalCluster(
  options: LocalClusterOptions,
): Promise<LocalNodeProcess[]> {
  const certificates = join(options.directory, "certs");
  await createDevelopmentCertificates({ outDirectory: certificates, nodes: [...options.nodeIds] });
  const raftPorts = new Map<string, number>();
  for (const id of options.nodeIds) raftPorts.set(id, await freePort());
  const nodes: LocalNodeProcess[] = [];
  for (const [index, id] of options.nodeIds.entries()) {
    const node = new LocalNodeProcess(
      id,
      join(options.directory, `${id}.yaml`),
      join(options.directory, id),
      await freePort(),
    );
    const yaml = localNodeConfigYaml({
      database: options.database,
      nodeId: id,
      dataDir: node.dataDir,
      httpPort: node.httpPort,
      tables: options.tables,
      ...(options.webhook === undefined ? {} : { webhook: options.webhook }),
      ...(options.witnesses === undefined ? {} : { witnesses: options.witnesses }),
      logLevel: options.logLevel ?? "warn",
      cluster: {
        clusterId: options.clusterId,
        bindPort: raftPorts.get(id)!,
        bootstrap: index === 0,
        peers: Object.fromEntries(
          options.nodeIds
            .filter((peer) => peer !== id)
            .map((peer) => [peer, `127.0.0.1:${raftPorts.get(peer)}`]),
        ),
        tls: {
          ca: join(certificates, "ca.crt"),
          certificate: join(certificates, `${id}.crt`),
          key: join(certificates, `${id}.key`),
        },
      },
    });
    await writeFile(node.configPath, yaml);
    const init = await initNode(parseConfig(yaml).config);
    if (!init.ok) throw new Error(`witnz init failed for ${id}`);
    nodes.push(node);
  }
  return nodes;
}

/** The node that reports itself leader, among the running ones. */
export async function localLeader(
  nodes: readonly LocalNodeProcess[],
): Promise<LocalNodeProcess | undefined> {
  for (const node of nodes) {
    if (!node.running) continue;
    if ((await node.cluster())?.state === "leader") return node;
  }
  return undefined;
}
