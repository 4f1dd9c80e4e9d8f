// Every bound of the witness protocol in one place (docs/design/witness.md explains them).

/** Observations in one SubmitBatch. */
export const OBSERVATIONS_PER_REQUEST_MAX = 1000;
/** One signed checkpoint note, in UTF-8: a Witnz checkpoint with a signature is under 1 KiB. */
export const CHECKPOINT_NOTE_BYTES_MAX = 8 * 1024;
/** Hashes in one consistency proof: at most 2 * 64 for any tree of up to 2^63 leaves. */
export const CONSISTENCY_PROOF_HASHES_MAX = 128;
/** Checkpoint notes, proofs and data hashes of one request together. */
export const SUBMISSION_BYTES_MAX = 2 * 1024 * 1024;
/** The RPC layer refuses any message over this before the witness reads it. */
export const RPC_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;
/** Customer and node ids, in UTF-8. */
export const IDENTIFIER_BYTES_MAX = 128;
/** Envelope digests a witness remembers per node to name a replay as such. */
export const RECENT_DIGESTS_MAX = 16;
/** Links of one node's own consistency proofs a witness follows back to its last cosigned size. */
export const CONSISTENCY_LINKS_MAX = 64;
/** Submission sequence numbers are JavaScript numbers, exact up to 2^53 - 1. */
export const SEQUENCE_MAX = Number.MAX_SAFE_INTEGER;
