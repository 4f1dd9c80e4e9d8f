// A Raft cluster of `witnz start` processes on this machine (the demo, the benchmark and the
// acceptance tests): development certificates, one configuration per node, `witnz init` for
// each, and a handle per node process to start, stop, kill and ask for its view of the cluster.
import { type ChildProcess, spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDevelopmentCertificates } from "../certs/index.js";
import type { ClusterStatus } from "../cluster-node/index.js";
import { parseConfig } from "../config/index.js";
import { keygen } from "../keys/index.js";
import { ALTER_OBSERVATIONS_FILE, TEST_FAULTS_VARIABLE } from "../node/index.js";
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
  /**
   * Nodes to add at run time: certificates from the same CA and configurations naming the
   * cluster's nodes as peers (without bootstrap), returned after the others, not in their peers.
   */
  readonly spareIds?: readonly string[];
  readonly raftSnapshotEntries?: number;
  /** HTTP ports by node id; the others get free ones. */
  readonly httpPorts?: Readonly<Record<string, number>>;
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

  /** Starts `witnz start`; with `faults`, the lying-node switch is available (alterObservations). */
  start(options: { readonly faults?: boolean } = {}): void {
    if (this.#child !== undefined) throw new Error(`${this.id} is already running`);
    const child = spawn(process.execPath, [BIN, "start", "--config", this.configPath], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...(options.faults === true ? { [TEST_FAULTS_VARIABLE]: "1" } : {}) },
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

  /** Turns the lying-node fault on or off (a node started with `faults` polls it). */
  async alterObservations(on: boolean): Promise<void> {
    const path = join(this.dataDir, ALTER_OBSERVATIONS_FILE);
    if (on) await writeFile(path, "");
    else await rm(path, { force: true });
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
  const spares = options.spareIds ?? [];
  await createDevelopmentCertificates({
    outDirectory: certificates,
    nodes: [...options.nodeIds, ...spares],
  });
  const raftPorts = new Map<string, number>();
  for (const id of [...options.nodeIds, ...spares]) raftPorts.set(id, await freePort());
  const nodes: LocalNodeProcess[] = [];
  for (const [index, id] of [...options.nodeIds, ...spares].entries()) {
    const node = new LocalNodeProcess(
      id,
      join(options.directory, `${id}.yaml`),
      join(options.directory, id),
      options.httpPorts?.[id] ?? (await freePort()),
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
        ...(options.raftSnapshotEntries === undefined
          ? {}
          : { raftSnapshotEntries: options.raftSnapshotEntries }),
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

export interface LocalWitnessPlan {
  readonly id: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** What the raft nodes' `witnz_nodes` lists. */
  readonly address: string;
}

/** Ports for witnesses, chosen before the raft nodes' configurations name them. */
export async function planLocalWitnesses(ids: readonly string[]): Promise<LocalWitnessPlan[]> {
  const plans: LocalWitnessPlan[] = [];
  for (const id of ids) {
    const grpcPort = await freePort();
    plans.push({ id, grpcPort, httpPort: await freePort(), address: `127.0.0.1:${grpcPort}` });
  }
  return plans;
}

export interface LocalWitnessOptions {
  readonly directory: string;
  readonly clusterId: string;
  readonly plans: readonly LocalWitnessPlan[];
  /** The raft nodes, not started yet: their signing keys are made now for the witnesses. */
  readonly nodes: readonly LocalNodeProcess[];
  readonly hashCollectionTimeout?: string;
  readonly webhook?: LocalNodeConfigOptions["webhook"];
  readonly logLevel?: string;
}

/**
 * Makes each raft node's signing key (in its data directory, under the name it signs with) and
 * writes one witness configuration per plan accepting those keys for the cluster's customer.
 */
export async function prepareLocalWitnesses(
  options: LocalWitnessOptions,
): Promise<LocalNodeProcess[]> {
  const keys: { id: string; verifierKey: string }[] = [];
  for (const node of options.nodes) {
    const made = await keygen(node.dataDir, `witnz/${options.clusterId}/node/${node.id}`);
    keys.push({ id: node.id, verifierKey: made.verifierKey });
  }
  const witnesses: LocalNodeProcess[] = [];
  for (const plan of options.plans) {
    const witness = new LocalNodeProcess(
      plan.id,
      join(options.directory, `${plan.id}.yaml`),
      join(options.directory, plan.id),
      plan.httpPort,
    );
    const webhook = options.webhook;
    const yaml = [
      "node:",
      `  id: ${JSON.stringify(plan.id)}`,
      "  role: witness",
      `  grpc_addr: ${JSON.stringify(plan.address)}`,
      `  http_addr: 127.0.0.1:${plan.httpPort}`,
      `  data_dir: ${JSON.stringify(witness.dataDir)}`,
      `  log_level: ${options.logLevel ?? "warn"}`,
      ...(webhook === undefined
        ? []
        : ["alerts:", "  enabled: true", "  webhook:", `    url: ${JSON.stringify(webhook.url)}`]),
      "customers:",
      `  - id: ${JSON.stringify(options.clusterId)}`,
      "    nodes:",
      ...keys.flatMap((key) => [
        `      - id: ${JSON.stringify(key.id)}`,
        `        verifier_key: ${JSON.stringify(key.verifierKey)}`,
      ]),
      `hash_collection_timeout: ${options.hashCollectionTimeout ?? "30s"}`,
      "",
    ].join("\n");
    parseConfig(yaml);
    await writeFile(witness.configPath, yaml);
    witnesses.push(witness);
  }
  return witnesses;
}
