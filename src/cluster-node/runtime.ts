// A raft-role node's cluster membership, assembled: the mutual-TLS transport, the Raft runner
// with its own LMDB log beside the node's store, the cluster node on top, the leader's alert
// delivery from the replicated incidents, and the Propose service through which followers hand
// their commands to the leader.
import { Code, ConnectError } from "@connectrpc/connect";
import { type AlertDeliveryEvent, AlertError, type AlertSink } from "../alerts/index.js";
import type { NoteSigner } from "../checkpoint/index.js";
import { type ClusterCommand, type ClusterEvent, decodeCommand } from "../cluster/index.js";
import {
  ConnectRaftTransport,
  LmdbRaftStorage,
  type NodeId,
  RaftRunner,
  type RaftRunnerError,
  type TlsFiles,
} from "../raft/index.js";
import type { WitnzStore } from "../store/index.js";
import { LeaderAlertDelivery } from "./alert-delivery.js";
import { ClusterNode, PROPOSE_TIMEOUT_MS_DEFAULT, type SignedObservation } from "./cluster-node.js";
import { seedChunks } from "./restore.js";
import { type ClusterStatus, clusterStatus } from "./status.js";

export interface ClusterLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ClusterRuntimeOptions {
  readonly nodeId: string;
  readonly clusterId: string;
  /** `witnz/<cluster>`: the prefix of every table's checkpoint origin. */
  readonly clusterOrigin: string;
  readonly store: WitnzStore;
  readonly signer: NoteSigner;
  readonly verifierKey: string;
  /** The Raft log's own LMDB directory. */
  readonly raftDirectory: string;
  readonly listenHost: string;
  readonly listenPort: number;
  /** Where peers reach this node's Raft listener (node.bind_addr); announced with Join. */
  readonly advertiseAddress: string;
  /** The other raft nodes: id -> host:port. */
  readonly peers: Readonly<Record<string, string>>;
  readonly bootstrap: boolean;
  readonly tls: TlsFiles;
  /** The real alert sinks; only the leader uses them. */
  readonly sinks: readonly AlertSink[];
  readonly nowUnixMicroseconds: () => bigint;
  readonly logger: ClusterLogger;
  readonly onDelivery?: (event: AlertDeliveryEvent) => void;
  readonly onEvents?: (events: readonly ClusterEvent[]) => void;
  /** Each observation this node proposed (its witnesses' submitter takes them). */
  readonly onObservation?: (observation: SignedObservation) => Promise<void>;
  /** The runner stopped on its own (its storage failed): the node must stop. */
  readonly onFatal?: (error: RaftRunnerError) => void;
  /** The store was rebuilt from a peer and awaits re-verification (restore.ts). */
  readonly restoredPending?: boolean;
  readonly proposeTimeoutMs?: number;
  readonly dutyIntervalMs?: number;
  readonly snapshotEveryEntries?: number;
  readonly snapshotTrailingEntries?: number;
  /** How often this node announces itself to its peers (default 10 s). */
  readonly announceIntervalMs?: number;
}

export interface ClusterRuntime {
  readonly node: ClusterNode;
  readonly raft: RaftRunner;
  /** The sink a node's local outbox drains into: it raises each alert in the cluster. */
  readonly relaySink: AlertSink;
  isLeader(): boolean;
  status(): ClusterStatus;
  stop(): Promise<void>;
}

/** How often a member announces its address to its peers. */
export const ANNOUNCE_INTERVAL_MS = 10_000;
/** How long the leader waits for a joining node to catch up before promoting it. */
const ADD_VOTER_TIMEOUT_MS = 55_000;

/** The name of the relay sink in a node's local outbox. */
export const CLUSTER_RELAY_SINK = "cluster";

export async function startClusterRuntime(options: ClusterRuntimeOptions): Promise<ClusterRuntime> {
  const timeoutMs = options.proposeTimeoutMs ?? PROPOSE_TIMEOUT_MS_DEFAULT;
  const transport = new ConnectRaftTransport({
    id: options.nodeId,
    clusterId: options.clusterId,
    listenHost: options.listenHost,
    listenPort: options.listenPort,
    tls: options.tls,
  });
  const quietErrors = repeatFilter();
  let delivery: LeaderAlertDelivery | undefined;
  const node = new ClusterNode({
    nodeId: options.nodeId,
    clusterOrigin: options.clusterOrigin,
    store: options.store,
    signer: options.signer,
    verifierKey: options.verifierKey,
    nowUnixMicroseconds: options.nowUnixMicroseconds,
    proposeTimeoutMs: timeoutMs,
    ...(options.dutyIntervalMs === undefined ? {} : { dutyIntervalMs: options.dutyIntervalMs }),
    ...(options.onObservation === undefined ? {} : { onObservation: options.onObservation }),
    ...(options.restoredPending === undefined ? {} : { restoredPending: options.restoredPending }),
    forwardToLeader: (leaderId, command) =>
      transport.propose(leaderId as NodeId, command, timeoutMs),
    onError: (error, what) => {
      const text = error instanceof Error ? error.message : String(error);
      if (quietErrors(`${what}: ${text}`)) {
        options.logger.warn({ err: text, what }, "cluster proposal failed; retrying");
      }
    },
    onEvents: (events) => {
      if (
        events.some((event) => event.type === "alert_raised" || event.type === "alert_acknowledged")
      ) {
        delivery?.wake();
      }
      for (const event of events) {
        if (event.type === "node_disagreement") {
          options.logger.error(event.disagreement, "nodes disagree");
        } else if (event.type === "command_rejected") {
          options.logger.warn(event.rejection, "the cluster refused a command");
        }
      }
      options.onEvents?.(events);
    },
  });
  let raft: RaftRunner | undefined;
  transport.serveSeed((peer) => {
    options.logger.info({ peer }, "serving this store's seed to a peer");
    return seedChunks(options.store);
  });
  transport.serveJoin(async (peer, address) => {
    transport.setPeer(peer as NodeId, address);
    const runner = raft;
    if (runner === undefined) {
      throw new ConnectError(`${options.nodeId} is starting`, Code.Unavailable);
    }
    const isVoter = () =>
      runner.configuration().some((server) => server.id === peer && server.suffrage === "voter");
    if (isVoter()) return true;
    if (runner.state() !== "leader") {
      throw new ConnectError(`${options.nodeId} is not the leader`, Code.FailedPrecondition);
    }
    options.logger.info({ peer, address }, "adding a node to the cluster");
    await runner.addVoter(peer, address, { timeoutMs: ADD_VOTER_TIMEOUT_MS });
    return isVoter();
  });
  transport.serveProposals(async (peer, bytes) => {
    const command = decodeProposal(bytes);
    const speaker = commandSpeaker(command);
    if (speaker === undefined) {
      throw new ConnectError(
        `${command.type} is proposed only by the leader itself`,
        Code.PermissionDenied,
      );
    }
    if (speaker !== peer) {
      throw new ConnectError(
        `${peer} may not propose ${command.type} for ${speaker}`,
        Code.PermissionDenied,
      );
    }
    if (raft === undefined || raft.state() !== "leader") {
      throw new ConnectError(`${options.nodeId} is not the leader`, Code.FailedPrecondition);
    }
    return raft.apply(bytes, { timeoutMs });
  });
  raft = await RaftRunner.start({
    id: options.nodeId,
    clusterId: options.clusterId,
    storage: LmdbRaftStorage.open(options.raftDirectory),
    transport,
    stateMachine: node.stateMachine,
    peers: options.peers,
    bootstrap: options.bootstrap,
    ...(options.snapshotEveryEntries === undefined
      ? {}
      : { snapshotEveryEntries: options.snapshotEveryEntries }),
    ...(options.snapshotTrailingEntries === undefined
      ? {}
      : { snapshotTrailingEntries: options.snapshotTrailingEntries }),
    onFatal: (error) => {
      options.logger.error({ err: error.message, code: error.code }, "raft stopped");
      options.onFatal?.(error);
    },
  });
  const runner = raft;
  const isLeader = () => runner.state() === "leader";
  delivery = new LeaderAlertDelivery({
    sinks: options.sinks,
    machine: node.machine,
    isLeader,
    acknowledge: async (incidentId) => {
      try {
        await node.acknowledgeAlert(incidentId);
        return true;
      } catch (error) {
        options.logger.warn(
          { err: error instanceof Error ? error.message : String(error), incidentId },
          "cannot record an alert's delivery yet; retrying",
        );
        return false;
      }
    },
    ...(options.onDelivery === undefined ? {} : { onDelivery: options.onDelivery }),
  });
  node.start(runner);
  delivery.start();
  const leadership = setInterval(() => {
    // A node that became leader delivers what its predecessor left pending.
    if (isLeader()) delivery?.wake();
  }, 1_000);
  // Every member tells its peers where it listens, now and then again: a node added at run time
  // is in no other node's peer_addrs, and the leader adds a caller that is not yet a voter.
  const joining = new Set<string>();
  const announce = () => {
    for (const peer of Object.keys(options.peers)) {
      if (joining.has(peer)) continue;
      joining.add(peer);
      transport
        .join(peer as NodeId, options.advertiseAddress)
        .catch(() => undefined)
        .finally(() => joining.delete(peer));
    }
  };
  announce();
  const announcer = setInterval(announce, options.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS);
  return {
    node,
    raft: runner,
    relaySink: {
      name: CLUSTER_RELAY_SINK,
      deliver: async (alert) => {
        try {
          await node.raiseAlert(alert);
        } catch (error) {
          throw new AlertError(
            "WITNZ_ALERT_UNREACHABLE",
            `the cluster did not take alert ${alert.id}: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
      },
    },
    isLeader,
    status: () => clusterStatus(node, runner),
    stop: async () => {
      clearInterval(leadership);
      clearInterval(announcer);
      await node.stop();
      await delivery?.stop();
      await runner.shutdown();
    },
  };
}

function decodeProposal(bytes: Uint8Array): ClusterCommand {
  try {
    return decodeCommand(bytes);
  } catch (error) {
    throw new ConnectError(
      error instanceof Error ? error.message : String(error),
      Code.InvalidArgument,
    );
  }
}

/**
 * The member a command speaks for: a member may propose only commands about itself. Commands
 * that speak for the cluster (targets, removals) are the leader's own and are never forwarded.
 */
export function commandSpeaker(command: ClusterCommand): string | undefined {
  switch (command.type) {
    case "node_registered":
    case "node_restored":
    case "node_reverified":
    case "progress":
    case "observation":
    case "verification_result":
      return command.node;
    case "alert_raised":
      return command.alert.node;
    case "alert_ack":
      return command.by;
    case "attestation_target":
    case "node_removed":
      return undefined;
  }
}

/** True the first time a line is seen after a different one: keeps retry logs to one line. */
function repeatFilter(): (line: string) => boolean {
  let last: string | undefined;
  return (line) => {
    const fresh = line !== last;
    last = line;
    return fresh;
  };
}
