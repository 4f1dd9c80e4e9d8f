import type { WitnessRejectionCode } from "./core/index.js";

export type WitnessErrorCode =
  | WitnessRejectionCode
  /** The submitter's backlog for a witness is full: the observation was not taken. */
  | "WITNZ_WITNESS_BACKLOG_FULL"
  /** A witness could not be reached or answered with an error that is not a refusal. */
  | "WITNZ_WITNESS_UNREACHABLE"
  /** The witness's stored data is not what this build writes. */
  | "WITNZ_WITNESS_STORE_CORRUPT"
  /** A node's witnz_nodes entry cannot be used (its CA file cannot be read). */
  | "WITNZ_WITNESS_CONFIG"
  /** The witness could not start: a bad configuration, address or key. */
  | "WITNZ_WITNESS_START"
  /** A component was used after it was stopped. */
  | "WITNZ_WITNESS_STOPPED";

/** Every operating error of the witness module; refusals carry the code the witness sent. */
export class WitnessError extends Error {
  readonly code: WitnessErrorCode;
  constructor(code: WitnessErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WitnessError";
    this.code = code;
  }
}

/** Programmer errors: a broken invariant crashes loudly. */
export function witnessAssert(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new Error(`witness invariant broken: ${message()}`);
}
