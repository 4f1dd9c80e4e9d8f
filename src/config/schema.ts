import { join } from "node:path";
import { z } from "zod";
import {
  customerId,
  durationMilliseconds,
  flag,
  hostPort,
  httpUrl,
  nodeId,
  nonEmptyText,
  noteVerifierKey,
  oneOf,
  PORT_MAX,
  PORT_MIN,
  tableName,
  text,
  wholeNumber,
} from "./scalars.js";

// The configuration schema, keyed in the YAML spelling (snake_case). Each section ends in a
// transform to the camelCase shape the rest of Witnz reads; durations become milliseconds and
// their names gain the unit (verify_interval -> verifyIntervalMs). Defaults are written in the
// YAML spelling (`prefault`) so they pass through the same readers as the file.

const NODE_ROLES = ["raft", "witness"] as const;
/** Applied Raft entries between snapshots of the cluster state (then the log is compacted). */
const RAFT_SNAPSHOT_ENTRIES_DEFAULT = 8192;
const RAFT_SNAPSHOT_ENTRIES_MIN = 16;
const RAFT_SNAPSHOT_ENTRIES_MAX = 10_000_000;
const SSL_MODES = ["disable", "prefer", "require", "verify-full"] as const;
const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
const PROTECTION_MODES = ["append_only"] as const;

const VERIFY_INTERVAL_MS_MIN = 1_000;
const VERIFY_INTERVAL_MS_MAX = 7 * 86_400_000;
const HASH_COLLECTION_TIMEOUT_MS_MIN = 100;
const HASH_COLLECTION_TIMEOUT_MS_MAX = 3_600_000;

const KEY_FILE_NAME = "node.key";

const databaseSchema = z
  .object({
    host: nonEmptyText().prefault("localhost"),
    port: wholeNumber(PORT_MIN, PORT_MAX).prefault("5432"),
    database: nonEmptyText(),
    user: nonEmptyText(),
    password: text().optional(),
    sslmode: oneOf(SSL_MODES).prefault("prefer"),
    application_name: nonEmptyText().prefault("witnz"),
  })
  .transform((section) => ({
    host: section.host,
    port: section.port,
    database: section.database,
    user: section.user,
    password: section.password,
    sslmode: section.sslmode,
    applicationName: section.application_name,
  }));

const nodeSchema = z
  .object({
    id: nodeId(),
    role: oneOf(NODE_ROLES).prefault("raft"),
    bind_addr: hostPort().optional(),
    grpc_addr: hostPort().optional(),
    http_addr: hostPort().prefault("127.0.0.1:7070"),
    data_dir: nonEmptyText(),
    bootstrap: flag().prefault("false"),
    peer_addrs: z.record(z.string(), hostPort()).prefault({}),
    cluster_id: nonEmptyText().optional(),
    key_file: nonEmptyText().optional(),
    tls_ca_file: nonEmptyText().optional(),
    tls_cert_file: nonEmptyText().optional(),
    tls_key_file: nonEmptyText().optional(),
    dashboard_token: nonEmptyText().optional(),
    raft_snapshot_entries: wholeNumber(
      RAFT_SNAPSHOT_ENTRIES_MIN,
      RAFT_SNAPSHOT_ENTRIES_MAX,
    ).prefault(String(RAFT_SNAPSHOT_ENTRIES_DEFAULT)),
    log_level: oneOf(LOG_LEVELS).prefault("info"),
  })
  .transform((section) => ({
    id: section.id,
    role: section.role,
    bindAddr: section.bind_addr,
    grpcAddr: section.grpc_addr,
    httpAddr: section.http_addr,
    dataDir: section.data_dir,
    bootstrap: section.bootstrap,
    peerAddrs: section.peer_addrs,
    clusterId: section.cluster_id,
    keyFile: section.key_file ?? join(section.data_dir, KEY_FILE_NAME),
    tlsCaFile: section.tls_ca_file,
    tlsCertFile: section.tls_cert_file,
    tlsKeyFile: section.tls_key_file,
    dashboardToken: section.dashboard_token,
    raftSnapshotEntries: section.raft_snapshot_entries,
    logLevel: section.log_level,
  }));

const protectedTableSchema = z
  .object({
    name: tableName(),
    mode: oneOf(PROTECTION_MODES).prefault("append_only"),
    verify_interval: durationMilliseconds(VERIFY_INTERVAL_MS_MIN, VERIFY_INTERVAL_MS_MAX).prefault(
      "30m",
    ),
  })
  .transform((table) => ({
    name: table.name,
    mode: table.mode,
    verifyIntervalMs: table.verify_interval,
  }));

const webhookSchema = z
  .object({
    url: httpUrl(),
    secret: nonEmptyText().optional(),
  })
  .transform((webhook) => ({ url: webhook.url, secret: webhook.secret }));

const alertsSchema = z
  .object({
    enabled: flag().prefault("true"),
    slack_webhook: httpUrl().optional(),
    webhook: webhookSchema.optional(),
  })
  .transform((alerts) => ({
    enabled: alerts.enabled,
    slackWebhook: alerts.slack_webhook,
    webhook: alerts.webhook,
  }));

const witnzNodeSchema = z
  .object({
    id: nodeId(),
    address: hostPort(),
    tls_ca_file: nonEmptyText().optional(),
  })
  .transform((witness) => ({
    id: witness.id,
    address: witness.address,
    /** Present: reach this witness over TLS, trusting this CA. Absent: plaintext HTTP/2. */
    tlsCaFile: witness.tls_ca_file,
  }));

const customerNodeSchema = z
  .object({
    id: nodeId(),
    verifier_key: noteVerifierKey(),
  })
  .transform((node) => ({ id: node.id, verifierKey: node.verifier_key }));

/** A witness's customers: whose raft nodes may submit, with each node's verifier key. */
const customerSchema = z.object({
  id: customerId(),
  nodes: z.array(customerNodeSchema),
});

/**
 * The whole file. Rules that join several fields (a raft node needs a database, a witness has
 * none, table names are unique) are in rules.ts, so that they run even when a field is invalid.
 */
export const configSchema = z
  .object({
    database: databaseSchema.optional(),
    node: nodeSchema,
    protected_tables: z.array(protectedTableSchema).prefault([]),
    alerts: alertsSchema.prefault({}),
    witnz_nodes: z.array(witnzNodeSchema).prefault([]),
    customers: z.array(customerSchema).prefault([]),
    hash_collection_timeout: durationMilliseconds(
      HASH_COLLECTION_TIMEOUT_MS_MIN,
      HASH_COLLECTION_TIMEOUT_MS_MAX,
    ).prefault("30s"),
  })
  .transform((root) => ({
    /** Present exactly when node.role is "raft": a witness never connects to a database. */
    database: root.database,
    node: root.node,
    protectedTables: root.protected_tables,
    alerts: root.alerts,
    witnzNodes: root.witnz_nodes,
    /** A witness's customers; empty on a raft node. */
    customers: root.customers,
    hashCollectionTimeoutMs: root.hash_collection_timeout,
  }));

/** A validated configuration, as the rest of Witnz reads it. */
export type WitnzConfig = z.output<typeof configSchema>;
export type DatabaseConfig = NonNullable<WitnzConfig["database"]>;
export type NodeConfig = WitnzConfig["node"];
export type NodeRole = NodeConfig["role"];
export type ProtectedTableConfig = WitnzConfig["protectedTables"][number];
export type AlertsConfig = WitnzConfig["alerts"];
export type WitnzNodeConfig = WitnzConfig["witnzNodes"][number];
export type CustomerConfig = WitnzConfig["customers"][number];
