export type SetupErrorCode =
  /** PostgreSQL could not be reached or refused the session. */
  | "WITNZ_SETUP_UNREACHABLE"
  /** The configuration cannot be set up: a witness node, no protected tables. */
  | "WITNZ_SETUP_CONFIG";

/** An operating error of `witnz init` (or of opening the database for a verb that needs it). */
export class SetupError extends Error {
  readonly code: SetupErrorCode;
  constructor(code: SetupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SetupError";
    this.code = code;
  }
}
