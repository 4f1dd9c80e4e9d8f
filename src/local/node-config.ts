// A node's configuration for a PostgreSQL on this machine, and free loopback ports.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface LocalNodeConfigOptions {
  readonly database: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    readonly password: string;
  };
  readonly nodeId: string;
  readonly dataDir: string;
  readonly httpPort: number;
  readonly tables: readonly { readonly name: string; readonly verifyInterval?: string }[];
  readonly webhook?: { readonly url: string; readonly secret?: string };
  readonly logLevel?: string;
  /** Witnesses the node submits its observations to (`witnz_nodes`). */
  readonly witnesses?: readonly { readonly id: string; readonly address: string }[];
  /** Membership of a Raft cluster (without it the node runs alone). */
  readonly cluster?: LocalClusterMembership;
}

export interface LocalClusterMembership {
  readonly clusterId: string;
  readonly bindPort: number;
  readonly bootstrap: boolean;
  /** The other raft nodes: id -> host:port. */
  readonly peers: Readonly<Record<string, string>>;
  /** PEM files: the cluster CA, this node's certificate and key. */
  readonly tls: { readonly ca: string; readonly certificate: string; readonly key: string };
  /** node.raft_snapshot_entries (default: the configuration's). */
  readonly raftSnapshotEntries?: number;
}

/** The YAML of a raft node that captures from a PostgreSQL on this machine. */
export function localNodeConfigYaml(options: LocalNodeConfigOptions): string {
  const { database, webhook, cluster } = options;
  return [
    "database:",
    `  host: ${JSON.stringify(database.host)}`,
    `  port: ${database.port}`,
    `  database: ${JSON.stringify(database.database)}`,
    `  user: ${JSON.stringify(database.user)}`,
    `  password: ${JSON.stringify(database.password)}`,
    "  sslmode: disable",
    "node:",
    `  id: ${options.nodeId}`,
    `  bind_addr: 127.0.0.1:${cluster?.bindPort ?? 7001}`,
    ...(cluster === undefined
      ? []
      : [
          `  cluster_id: ${JSON.stringify(cluster.clusterId)}`,
          `  bootstrap: ${cluster.bootstrap}`,
          "  peer_addrs:",
          ...Object.entries(cluster.peers).map(
            ([id, address]) => `    ${JSON.stringify(id)}: ${JSON.stringify(address)}`,
          ),
          `  tls_ca_file: ${JSON.stringify(cluster.tls.ca)}`,
          `  tls_cert_file: ${JSON.stringify(cluster.tls.certificate)}`,
          `  tls_key_file: ${JSON.stringify(cluster.tls.key)}`,
          ...(cluster.raftSnapshotEntries === undefined
            ? []
            : [`  raft_snapshot_entries: ${cluster.raftSnapshotEntries}`]),
        ]),
    `  http_addr: 127.0.0.1:${options.httpPort}`,
    `  data_dir: ${JSON.stringify(options.dataDir)}`,
    `  log_level: ${options.logLevel ?? "warn"}`,
    "protected_tables:",
    ...options.tables.flatMap((table) => [
      `  - name: ${JSON.stringify(table.name)}`,
      ...(table.verifyInterval === undefined
        ? []
        : [`    verify_interval: ${table.verifyInterval}`]),
    ]),
    ...(options.witnesses === undefined || options.witnesses.length === 0
      ? []
      : [
          "witnz_nodes:",
          ...options.witnesses.flatMap((witness) => [
            `  - id: ${JSON.stringify(witness.id)}`,
            `    address: ${JSON.stringify(witness.address)}`,
          ]),
        ]),
    ...(webhook === undefined
      ? []
      : [
          "alerts:",
          "  enabled: true",
          "  webhook:",
          `    url: ${JSON.stringify(webhook.url)}`,
          ...(webhook.secret === undefined
            ? []
            : [`    secret: ${JSON.stringify(webhook.secret)}`]),
        ]),
    "",
  ].join("\n");
}

/**
 * Ports for local listeners are drawn from below the usual ephemeral range (Linux: 32768-60999),
 * where the kernel also picks the local port of every outgoing connection: a port it handed out
 * for a probe could go to a connection before the listener it was meant for binds it.
 */
const LOCAL_PORT_MIN = 20_000;
const LOCAL_PORT_MAX = 32_767;
const LOCAL_PORT_ATTEMPTS = 64;
/** Ports this process handed out: never twice, since their listeners may not be up yet. */
const handedOut = new Set<number>();

/** A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed out. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < LOCAL_PORT_ATTEMPTS; attempt++) {
    const port = LOCAL_PORT_MIN + Math.floor(Math.random() * (LOCAL_PORT_MAX - LOCAL_PORT_MIN + 1));
    if (handedOut.has(port)) continue;
    if ((await probePort(port)) === port) return handOut(port);
  }
  // A crowded range: the kernel's choice, as long as it is new to this process.
  for (;;) {
    const port = await probePort(0);
    if (port !== undefined && !handedOut.has(port)) return handOut(port);
  }
}

function handOut(port: number): number {
  handedOut.add(port);
  return port;
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again; the port, or undefined if taken. */
async function probePort(port: number): Promise<number | undefined> {
  const probe = createServer();
  const bound = await new Promise<number | undefined>((resolve) => {
    probe.once("error", () => resolve(undefined));
    probe.listen(port, "127.0.0.1", () => resolve((probe.address() as AddressInfo).port));
  });
  if (bound !== undefined) await new Promise((resolve) => probe.close(resolve));
  return bound;
}
