// The one error class of the Raft runner, its transport and its storage: operating errors
// (not the leader, a timeout, a peer without a certificate) that callers handle or report.

export type RaftRunnerErrorCode =
  /** This node is not the leader; `leader` names the one it knows of, if any. */
  | "WITNZ_RAFT_NOT_LEADER"
  /** The operation did not finish within its timeout; its outcome is unknown. */
  | "WITNZ_RAFT_TIMEOUT"
  /** Leadership was lost before the entry was applied; its outcome is unknown. */
  | "WITNZ_RAFT_LEADERSHIP_LOST"
  /** The leader refused the request (see `refusal`): a change pending, a learner behind. */
  | "WITNZ_RAFT_REFUSED"
  /** The runner was shut down (or failed) before the operation finished. */
  | "WITNZ_RAFT_SHUTDOWN"
  /** The stored node id or cluster id differs from the configuration. */
  | "WITNZ_RAFT_IDENTITY"
  /** Bootstrap asked of a node that already holds state, or a bad bootstrap configuration. */
  | "WITNZ_RAFT_BOOTSTRAP"
  /** Stored Raft state is malformed. */
  | "WITNZ_RAFT_CORRUPT"
  /** A message could not be delivered or decoded, or a peer is not who its certificate says. */
  | "WITNZ_RAFT_TRANSPORT"
  /** A configuration value is outside its range. */
  | "WITNZ_RAFT_RUNNER_CONFIG";

export class RaftRunnerError extends Error {
  readonly code: RaftRunnerErrorCode;
  /** For WITNZ_RAFT_NOT_LEADER: the leader this node knows of (null when it knows none). */
  readonly leader: { readonly id: string; readonly address: string | null } | null;
  /** For WITNZ_RAFT_REFUSED and WITNZ_RAFT_NOT_LEADER: the core's refusal code. */
  readonly refusal: string | null;

  constructor(
    code: RaftRunnerErrorCode,
    message: string,
    options: {
      cause?: unknown;
      leader?: { readonly id: string; readonly address: string | null } | null;
      refusal?: string;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RaftRunnerError";
    this.code = code;
    this.leader = options.leader ?? null;
    this.refusal = options.refusal ?? null;
  }
}
