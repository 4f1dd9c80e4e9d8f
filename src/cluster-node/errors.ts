export type ClusterNodeErrorCode =
  /** This node is not the leader, knows no leader, or has no way to reach it. */
  "WITNZ_CLUSTER_NODE_NOT_LEADER";

export class ClusterNodeError extends Error {
  readonly code: ClusterNodeErrorCode;

  constructor(code: ClusterNodeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClusterNodeError";
    this.code = code;
  }
}
