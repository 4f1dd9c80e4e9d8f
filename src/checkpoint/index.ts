export {
  type Checkpoint,
  cosignCheckpoint,
  formatCheckpoint,
  type ParsedCheckpoint,
  parseCheckpoint,
  parseCheckpointBody,
  readWitnzFields,
  signCheckpoint,
  type VerifiedCheckpoint,
  verifyCheckpoint,
  verifyCosignature,
  type WitnzCheckpointFields,
  witnzExtensions,
} from "./checkpoint.js";
export { CheckpointError, type CheckpointErrorCode } from "./errors.js";
export {
  formatVerifierKey,
  keyId,
  type NoteSigner,
  type NoteVerifier,
  noteVerifier,
  parseSignerKey,
  parseVerifierKey,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  type SignatureType,
} from "./keys.js";
export {
  formatNote,
  NOTE_BYTES_MAX,
  NOTE_SIGNATURES_MAX,
  type Note,
  type NoteSignature,
  parseNote,
  signNoteText,
  type VerifiedSignature,
  verifyNote,
} from "./note.js";
