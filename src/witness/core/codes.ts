// Why a witness refuses a submission or a query: one code per reason, each carried to the client in the
// RPC error and counted in the witness's metrics. docs/design/witness.md lists them.

export const WITNESS_REJECTION_CODES = [
  "WITNZ_WITNESS_MALFORMED",
  "WITNZ_WITNESS_TOO_LARGE",
  "WITNZ_WITNESS_CUSTOMER_UNKNOWN",
  "WITNZ_WITNESS_NODE_UNKNOWN",
  "WITNZ_WITNESS_SIGNATURE_INVALID",
  "WITNZ_WITNESS_REPLAY",
  "WITNZ_WITNESS_SEQUENCE_BACKWARDS",
  "WITNZ_WITNESS_CHECKPOINT_INVALID",
  "WITNZ_WITNESS_QUERY_UNSIGNED",
  "WITNZ_WITNESS_QUERY_EXPIRED",
  "WITNZ_WITNESS_QUERY_MISDIRECTED",
  "WITNZ_WITNESS_QUERY_REPLAY",
  "WITNZ_WITNESS_QUERY_RATE",
] as const;
export type WitnessRejectionCode = (typeof WITNESS_REJECTION_CODES)[number];

/** A refusal as data: the core never throws for bad input. */
export interface Rejection {
  readonly ok: false;
  readonly code: WitnessRejectionCode;
  readonly message: string;
}

export function reject(code: WitnessRejectionCode, message: string): Rejection {
  return { ok: false, code, message };
}
