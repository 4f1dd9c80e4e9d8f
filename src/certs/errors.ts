export type CertsErrorCode =
  /** The `openssl` command is not installed or could not run. */
  | "WITNZ_CERTS_OPENSSL"
  /** A node name or option is invalid. */
  | "WITNZ_CERTS_INVALID"
  /** A file the helper would write already exists; it never overwrites keys. */
  | "WITNZ_CERTS_EXISTS";

/** Every failure of the development certificate helper. */
export class CertsError extends Error {
  readonly code: CertsErrorCode;
  constructor(code: CertsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CertsError";
    this.code = code;
  }
}
