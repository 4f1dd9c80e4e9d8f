export type VerifyErrorCode =
  /** The table asked for is not protected, or was never initialised in this node's store. */
  | "WITNZ_VERIFY_TABLE"
  /** The configuration cannot verify: a witness node, no protected tables. */
  | "WITNZ_VERIFY_CONFIG";

/**
 * An operating error of verification. Tampering is never an error: it is data in the
 * TableVerification result.
 */
export class VerifyError extends Error {
  readonly code: VerifyErrorCode;
  constructor(code: VerifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "VerifyError";
    this.code = code;
  }
}
