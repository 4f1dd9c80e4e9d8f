export type CheckpointErrorCode =
  | "WITNZ_NOTE_MALFORMED"
  | "WITNZ_CHECKPOINT_MALFORMED"
  | "WITNZ_KEY_MALFORMED"
  | "WITNZ_SIGNATURE_INVALID"
  | "WITNZ_SIGNATURE_MISSING";

/** Every refusal of a note, checkpoint, key or signature; `message` says what is wrong. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CheckpointError";
    this.code = code;
  }
}
