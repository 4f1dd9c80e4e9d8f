export type AlertErrorCode =
  /** A sink answered with a status other than 2xx. */
  | "WITNZ_ALERT_REJECTED"
  /** A sink did not answer within its timeout. */
  | "WITNZ_ALERT_TIMEOUT"
  /** A sink could not be reached: DNS, connection refused, TLS, connection reset. */
  | "WITNZ_ALERT_UNREACHABLE"
  /** An option or a sink's configuration is malformed. */
  | "WITNZ_ALERT_INVALID";

/** Every failure of alert delivery; `message` never contains a sink's URL or secret. */
export class AlertError extends Error {
  readonly code: AlertErrorCode;
  constructor(code: AlertErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AlertError";
    this.code = code;
  }
}

export function alertAssert(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new AlertError("WITNZ_ALERT_INVALID", message());
}
