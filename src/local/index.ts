// Running Witnz on one machine (the demo, benchmarks and tests): a node's configuration for a
// local PostgreSQL, and free loopback ports.
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
}

/** The YAML of a raft node that captures from a PostgreSQL on this machine. */
export function localNodeConfigYaml(options: LocalNodeConfigOptions): string {
  const { database, webhook } = options;
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
    "  bind_addr: 127.0.0.1:7001",
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
