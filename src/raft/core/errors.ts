export type RaftErrorCode =
  /** A caller broke the core's contract (ready without advance, a gap in appended entries). */
  | "WITNZ_RAFT_CONTRACT"
  /** An invariant the core relies on does not hold: a bug, here or in the storage. */
  | "WITNZ_RAFT_INVARIANT"
  /** A value outside its range (a node id, a limit of zero). */
  | "WITNZ_RAFT_CONFIG";

/**
 * Every error the Raft core throws. All are programmer errors: the core never fails on an
 * operating condition (a refused proposal or an unreachable peer is returned as data), so a
 * RaftError means the process must stop rather than continue with a log it cannot trust.
 */
export class RaftError extends Error {
  readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RaftError";
    this.code = code;
  }
}

/** Asserts an invariant of the core itself. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftError("WITNZ_RAFT_INVARIANT", message);
}

/** Asserts that the caller kept the contract documented on the API it called. */
export function assertContract(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftError("WITNZ_RAFT_CONTRACT", message);
}
