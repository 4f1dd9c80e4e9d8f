// A node's view of its cluster, as GET /cluster and `witnz status` show it: Raft (this node's
// role, the leader, the term, the membership) and the replicated state (each node's progress and
// attested size per table, and whether the nodes agree).
import type { RaftRunner } from "../raft/index.js";
import type { ClusterNode } from "./cluster-node.js";

export type TableAgreement = "agreed" | "pending" | "disagreement";

export interface ClusterTableStatus {
  readonly table: string;
  /** The latest size the leader asked every node to attest. */
  readonly targetSize: number;
  /** The largest size every counting node attested with one value. */
  readonly agreedSize: number;
  /**
   * `disagreement`: the latest recorded disagreement is at or above the agreed size;
   * `agreed`: the agreed size is the target; `pending`: attestations are on their way.
   */
  readonly agreement: TableAgreement;
  /**
   * While a disagreement stands (`agreement` is `disagreement`): the size of the latest one and
   * the nodes it names odd out (none without a majority); null otherwise.
   */
  readonly standingDisagreement: {
    readonly size: number;
    readonly oddNodes: readonly string[];
  } | null;
  readonly nodes: readonly {
    readonly node: string;
    /** The node's durable chain size as it last reported it. */
    readonly reportedSize: number;
    /** Entries behind the furthest node. */
    readonly lagEntries: number;
    readonly attestedSize: number;
  }[];
}

export interface ClusterNodeStatus {
  readonly node: string;
  readonly suffrage: "voter" | "nonvoter" | "none";
  readonly registered: boolean;
  /** Rebuilt from a peer and not yet re-verified: its observations do not count. */
  readonly restored: boolean;
  readonly leader: boolean;
}

export interface ClusterStatus {
  readonly node: string;
  readonly state: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** The last log index this node's latest snapshot covers (0: none yet). */
  readonly snapshotIndex: number;
  /** Snapshots that replaced this node's state since it started (installed from the leader). */
  readonly snapshotsRestored: number;
  readonly nodes: readonly ClusterNodeStatus[];
  readonly tables: readonly ClusterTableStatus[];
  /** Every table agreed up to its target and no disagreement stands. */
  readonly allAgree: boolean;
  readonly disagreements: number;
  readonly pendingIncidents: number;
}

export function clusterStatus(node: ClusterNode, raft: RaftRunner): ClusterStatus {
  const machine = node.machine;
  const leader = raft.leader()?.id ?? null;
  const stats = raft.stats();
  const registered = new Map(machine.nodes().map((record) => [record.node, record]));
  const configuration = raft.configuration();
  const ids = [
    ...new Set([...configuration.map((server) => server.id), ...registered.keys()]),
  ].sort();
  const nodes = ids.map((id): ClusterNodeStatus => {
    const server = configuration.find((entry) => entry.id === id);
    return {
      node: id,
      suffrage: server?.suffrage ?? "none",
      registered: registered.has(id),
      restored: registered.get(id)?.restored ?? false,
      leader: id === leader,
    };
  });
  const disagreements = machine.disagreements();
  const tables = machine.tables().map((table): ClusterTableStatus => {
    const input = machine.sequencingInput(table);
    const furthest = Math.max(0, ...input.localSizes.values());
    const targetSize = machine.targetSize(table);
    const agreedSize = machine.agreedSize(table);
    const latest = disagreements
      .filter((record) => record.table === table)
      .reduce<(typeof disagreements)[number] | undefined>(
        (newest, record) => (newest === undefined || record.size > newest.size ? record : newest),
        undefined,
      );
    const standing = latest !== undefined && latest.size >= agreedSize ? latest : undefined;
    const agreement: TableAgreement =
      standing !== undefined ? "disagreement" : agreedSize === targetSize ? "agreed" : "pending";
    return {
      table,
      targetSize,
      agreedSize,
      agreement,
      standingDisagreement:
        standing === undefined ? null : { size: standing.size, oddNodes: [...standing.oddNodes] },
      nodes: [...registered.keys()].sort().map((id) => {
        const reportedSize = input.localSizes.get(id) ?? 0;
        return {
          node: id,
          reportedSize,
          lagEntries: furthest - reportedSize,
          attestedSize: machine.latestAttestedSize(id, table),
        };
      }),
    };
  });
  return {
    node: node.nodeId,
    state: raft.state(),
    leader,
    term: stats.term,
    commitIndex: stats.commitIndex,
    appliedIndex: stats.appliedIndex,
    snapshotIndex: stats.snapshotIndex,
    snapshotsRestored: node.snapshotsRestored,
    nodes,
    tables,
    allAgree: tables.every((table) => table.agreement === "agreed"),
    disagreements: disagreements.length,
    pendingIncidents: machine.pendingIncidents().length,
  };
}
