// A raft node's part in a cluster, as `witnz start` and `witnz restore` assemble it: the settings a
// member needs, the witnesses' submitter, the leader's interval duty, the dashboard's cluster
// view, and rebuilding a lost store from a peer (docs/design/cluster.md).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { NoteSigner } from "../checkpoint/index.js";
import { type ClusterRuntime, restoreFromPeers } from "../cluster-node/index.js";
import type { WitnzConfig } from "../config/index.js";
import {
  type AlertEvent,
  alertEventOf,
  type ClusterView,
  newestFirst,
  type StoreDashboardSourceOptions,
} from "../dashboard/index.js";
import { ConnectRaftTransport, toNodeId } from "../raft/index.js";
import { lockDataDirectory, openStore } from "../store/index.js";
import {
  openSubmitterBacklog,
  type SubmitterBacklog,
  type WitnessEndpoint,
  WitnessSubmitter,
  type WitnessVerdictReader,
} from "../witness/index.js";
import { NodeStartError, splitHostPort } from "./errors.js";
import type { NodeLogger } from "./node.js";

/** A raft node joins a cluster when it names peers; alone it runs without Raft. */
export function isClusterMember(config: WitnzConfig): boolean {
  return Object.keys(config.node.peerAddrs).length > 0;
}

/** The cluster settings a member needs, or a NodeStartError naming what is missing. */
export function clusterSettings(config: WitnzConfig) {
  const { bindAddr, tlsCaFile, tlsCertFile, tlsKeyFile } = config.node;
  const missing = [
    bindAddr === undefined ? "node.bind_addr" : undefined,
    tlsCaFile === undefined ? "node.tls_ca_file" : undefined,
    tlsCertFile === undefined ? "node.tls_cert_file" : undefined,
    tlsKeyFile === undefined ? "node.tls_key_file" : undefined,
  ].filter((key) => key !== undefined);
  if (missing.length > 0) {
    throw new NodeStartError(
      "WITNZ_NODE_CLUSTER_CONFIG",
      `node.peer_addrs names peers, so this node runs Raft over mutual TLS and needs ${missing.join(", ")} (witnz certs makes development certificates)`,
    );
  }
  const read = (key: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new NodeStartError(
        "WITNZ_NODE_CLUSTER_CONFIG",
        `cannot read ${key} ${path}: ${(error as Error).message}`,
      );
    }
  };
  return {
    listen: splitHostPort(bindAddr!),
    tls: {
      ca: read("node.tls_ca_file", tlsCaFile!),
      certificate: read("node.tls_cert_file", tlsCertFile!),
      key: read("node.tls_key_file", tlsKeyFile!),
    },
  };
}

/**
 * `witnz restore`: rebuilds this member's lost store from the first peer (or `from`) that serves
 * its seed, while the node is stopped. The node's next start marks it restored and re-verifies.
 */
export async function restoreNodeStore(
  config: WitnzConfig,
  options: { readonly from?: string; readonly out: (line: string) => void },
): Promise<{ from: string; entries: number; tables: { table: string; size: number }[] }> {
  if (!isClusterMember(config)) {
    throw new NodeStartError(
      "WITNZ_NODE_CLUSTER_CONFIG",
      "restore rebuilds a cluster member's store from a peer; node.peer_addrs names no peers",
    );
  }
  const peers = Object.keys(config.node.peerAddrs);
  if (options.from !== undefined && !peers.includes(options.from)) {
    throw new NodeStartError(
      "WITNZ_NODE_CLUSTER_CONFIG",
      `${options.from} is not in node.peer_addrs (${peers.join(", ")})`,
    );
  }
  // The node must be stopped: its data directory is refused while a node holds it.
  const lock = await lockDataDirectory(config.node.dataDir);
  try {
    return await restoreFrom(config, peers, options);
  } finally {
    await lock.release();
  }
}

async function restoreFrom(
  config: WitnzConfig,
  peers: string[],
  options: { readonly from?: string; readonly out: (line: string) => void },
): Promise<{ from: string; entries: number; tables: { table: string; size: number }[] }> {
  const settings = clusterSettings(config);
  const transport = new ConnectRaftTransport({
    id: config.node.id,
    clusterId: config.node.clusterId ?? "default",
    listenHost: settings.listen.host,
    listenPort: settings.listen.port,
    tls: settings.tls,
  });
  for (const [peer, address] of Object.entries(config.node.peerAddrs)) {
    transport.setPeer(toNodeId(peer), address);
  }
  const store = await openStore(config.node.dataDir);
  try {
    const record = await restoreFromPeers({
      store,
      transport,
      peers: options.from === undefined ? peers : [options.from],
      now: () => new Date(),
      out: options.out,
    });
    return {
      from: record.from,
      entries: record.entries,
      tables: store.tables().map((table) => ({ table, size: store.chainHead(table)?.size ?? 0 })),
    };
  } finally {
    await transport.close();
    await store.close();
  }
}

/** The Raft log's LMDB directory inside the node's data directory. */
export const RAFT_DIRECTORY = "raft";
/** Entries kept in the Raft log behind a snapshot, for followers a little behind. */
export const SNAPSHOT_TRAILING_ENTRIES_MAX = 1024;
/** Set in a member's store at its first start, before its Raft log exists. */
export const NODE_STARTED_META = "node-first-started";
/** How often a restored node looks whether its capture caught up with the other nodes. */
export const RESTORE_POLL_MS = 500;
/** What the node still owes its witnesses, in its own LMDB directory. */
export const WITNESS_BACKLOG_DIRECTORY = "witness-backlog";

/** The submitter of this node's observations to every witness in `witnz_nodes`. */
export async function startWitnessSubmitter(
  config: WitnzConfig,
  endpoints: readonly WitnessEndpoint[],
  signer: NoteSigner,
  logger: NodeLogger,
) {
  const backlog = openSubmitterBacklog(join(config.node.dataDir, WITNESS_BACKLOG_DIRECTORY));
  const submitter = new WitnessSubmitter({
    customerId: config.node.clusterId ?? "default",
    nodeId: config.node.id,
    signer,
    witnesses: endpoints,
    persistence: backlog,
    onError: (witnessId, error, dropped) =>
      logger.warn({ witness: witnessId, code: error.code, dropped }, error.message),
  });
  try {
    await submitter.start();
  } catch (error) {
    await backlog.close();
    throw error;
  }
  return { submitter, backlog };
}

export async function stopWitnessSubmitter(
  witnesses: { submitter: WitnessSubmitter; backlog: SubmitterBacklog } | undefined,
): Promise<void> {
  if (witnesses === undefined) return;
  await witnesses.submitter.stop();
  await witnesses.backlog.close();
}

export function clusterIntervalDuty(runtime: ClusterRuntime) {
  return {
    isMine: () => runtime.isLeader(),
    lastRunMs: (table: string) => {
      const runs = runtime.node.machine.verifications(table);
      const latest = runs.reduce((max, run) => Math.max(max, run.timeMicroseconds), 0);
      return latest === 0 ? undefined : Math.floor(latest / 1000);
    },
  };
}

/** The cluster as the dashboard draws it: from this node's Raft view and the replicated state. */
export function clusterView(
  runtime: ClusterRuntime,
  nodeId: string,
  readiness: { ready: boolean; reasons: string[] },
): ClusterView {
  const status = runtime.status();
  const states = ["leader", "follower", "candidate", "pre_candidate"] as const;
  const ownState = states.find((state) => state === status.state.replace("-", "_")) ?? "unknown";
  return {
    term: status.term,
    leaderId: status.leader,
    nodes: status.nodes.map((node) => {
      const self = node.node === nodeId;
      // A node the cluster names odd out of a standing disagreement is not healthy, whatever it
      // says of itself.
      const oddOut = status.tables.flatMap((table) =>
        table.standingDisagreement?.oddNodes.includes(node.node) === true
          ? [`odd node out on ${table.table} at size ${table.standingDisagreement.size}`]
          : [],
      );
      const reasons = [
        ...(self
          ? readiness.reasons
          : [
              ...(node.registered ? [] : ["not registered"]),
              ...(node.restored ? ["restored, not yet re-verified"] : []),
            ]),
        ...oddOut,
      ];
      return {
        id: node.node,
        role: "raft" as const,
        state: self ? ownState : node.leader ? "leader" : "follower",
        isLeader: node.leader,
        self,
        health: {
          state: reasons.length === 0 && (!self || readiness.ready) ? "ready" : "not_ready",
          reasons,
        },
      };
    }),
  };
}

/** The cluster's incidents for the dashboard's timeline, newest first. */
export function clusterAlerts(runtime: ClusterRuntime, limit: number): AlertEvent[] {
  return runtime.node.machine
    .incidents()
    .map((incident) => alertEventOf(incident.alert, incident.reporters))
    .sort(newestFirst)
    .slice(0, limit);
}

/**
 * What a member's dashboard shows beyond its own store: the Raft cluster and the witnesses in
 * the topology, the witnesses' verdicts, and the cluster's incidents as the timeline.
 */
export function clusterDashboard(
  runtime: ClusterRuntime,
  nodeId: string,
  readiness: () => { ready: boolean; reasons: string[] },
  verdicts: WitnessVerdictReader | undefined,
): Pick<
  StoreDashboardSourceOptions,
  "cluster" | "witnessVerdicts" | "clusterAlerts" | "clusterVerification"
> {
  return {
    cluster: async () => {
      const view = clusterView(runtime, nodeId, readiness());
      if (verdicts === undefined) return view;
      return { ...view, nodes: [...view.nodes, ...(await verdicts.topology())] };
    },
    clusterAlerts: async (limit) => clusterAlerts(runtime, limit),
    clusterVerification: (table) => {
      const runs = runtime.node.machine.verifications(table);
      const latest = runs.reduce<(typeof runs)[number] | undefined>(
        (newest, run) =>
          newest === undefined || run.timeMicroseconds > newest.timeMicroseconds ? run : newest,
        undefined,
      );
      if (latest === undefined) return null;
      return {
        time: new Date(Math.floor(latest.timeMicroseconds / 1000)).toISOString(),
        node: latest.node,
        outcome: latest.ok ? "clean" : "tampered",
        ok: latest.ok,
        rowsChecked: latest.counts.rows,
        modified: latest.counts.modified,
        deleted: latest.counts.deleted,
        phantom: latest.counts.phantom,
        error: null,
      };
    },
    ...(verdicts === undefined ? {} : { witnessVerdicts: () => verdicts.read() }),
  };
}
