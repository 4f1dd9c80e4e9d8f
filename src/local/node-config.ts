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

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
