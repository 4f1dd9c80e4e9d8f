export type ClusterErrorCode =
  /** A Raft command's bytes are not a valid command (the message says which rule failed). */
  | "WITNZ_CLUSTER_COMMAND_MALFORMED"
  /** A command to encode breaks a limit or a field rule. */
  | "WITNZ_CLUSTER_COMMAND_INVALID"
  /** A snapshot's bytes are not a valid state of this version. */
  | "WITNZ_CLUSTER_SNAPSHOT_MALFORMED"
  /** Entries were applied out of log order: a caller bug, never a tampering verdict. */
  | "WITNZ_CLUSTER_APPLY_ORDER";

/** Every refusal by the cluster state machine's codecs; tampering verdicts are events, not errors. */
export class ClusterError extends Error {
  readonly code: ClusterErrorCode;
  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClusterError";
    this.code = code;
  }
}
