export type ClusterNodeErrorCode =
  /** This node is not the leader, knows no leader, or has no way to reach it. */
  | "WITNZ_CLUSTER_NODE_NOT_LEADER"
  /** The cluster node is not started, or stopped. */
  | "WITNZ_CLUSTER_NODE_STOPPED"
  /** The command was committed but the state machine refused it (see its rejection reason). */
  | "WITNZ_CLUSTER_NODE_REFUSED"
  /** This node did not apply the command in time. */
  | "WITNZ_CLUSTER_NODE_TIMEOUT"
  /** The store could not be rebuilt from a peer. */
  | "WITNZ_CLUSTER_NODE_RESTORE";

export class ClusterNodeError extends Error {
  readonly code: ClusterNodeErrorCode;

  constructor(code: ClusterNodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClusterNodeError";
    this.code = code;
  }
}
