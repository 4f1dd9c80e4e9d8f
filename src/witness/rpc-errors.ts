// How a refusal travels: a ConnectError whose message starts with the WITNZ_WITNESS_* code and
// whose metadata (a header, or a gRPC trailer) carries it as `witnz-error-code`.
import { Code, ConnectError } from "@connectrpc/connect";
import { WITNESS_REJECTION_CODES, type WitnessRejectionCode } from "./core/index.js";

export const ERROR_CODE_HEADER = "witnz-error-code";

const CONNECT_CODES: Record<WitnessRejectionCode, Code> = {
  WITNZ_WITNESS_MALFORMED: Code.InvalidArgument,
  WITNZ_WITNESS_TOO_LARGE: Code.ResourceExhausted,
  WITNZ_WITNESS_CUSTOMER_UNKNOWN: Code.Unauthenticated,
  WITNZ_WITNESS_NODE_UNKNOWN: Code.Unauthenticated,
  WITNZ_WITNESS_SIGNATURE_INVALID: Code.Unauthenticated,
  WITNZ_WITNESS_REPLAY: Code.AlreadyExists,
  WITNZ_WITNESS_SEQUENCE_BACKWARDS: Code.FailedPrecondition,
  WITNZ_WITNESS_CHECKPOINT_INVALID: Code.InvalidArgument,
  WITNZ_WITNESS_QUERY_UNSIGNED: Code.Unauthenticated,
  WITNZ_WITNESS_QUERY_EXPIRED: Code.Unauthenticated,
  WITNZ_WITNESS_QUERY_MISDIRECTED: Code.InvalidArgument,
  WITNZ_WITNESS_QUERY_REPLAY: Code.Unauthenticated,
  WITNZ_WITNESS_QUERY_RATE: Code.ResourceExhausted,
};

export function connectCodeFor(code: WitnessRejectionCode): Code {
  return CONNECT_CODES[code];
}

export function rejectionError(code: WitnessRejectionCode, message: string): ConnectError {
  return new ConnectError(
    `${code}: ${message}`,
    CONNECT_CODES[code],
    new Headers({ [ERROR_CODE_HEADER]: code }),
  );
}

/** The WITNZ_WITNESS_* code of a refusal, or undefined for any other failure. */
export function rejectionCodeOf(error: unknown): WitnessRejectionCode | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  const fromHeader = error.metadata.get(ERROR_CODE_HEADER);
  const candidate =
    fromHeader ?? /^(?:\[[a-z_]+\] )?(WITNZ_WITNESS_[A-Z_]+):/.exec(error.message)?.[1];
  return (WITNESS_REJECTION_CODES as readonly string[]).includes(candidate ?? "")
    ? (candidate as WitnessRejectionCode)
    : undefined;
}
