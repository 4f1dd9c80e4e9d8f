export type StatusErrorCode =
  | "WITNZ_STATUS_CONFIG"
  | "WITNZ_STATUS_TABLE"
  | "WITNZ_STATUS_INCOMPLETE";

/** An operating error of `witnz status`: one line, exit 2. */
export class StatusError extends Error {
  readonly code: StatusErrorCode;
  constructor(code: StatusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StatusError";
    this.code = code;
  }
}
