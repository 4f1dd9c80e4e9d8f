// Authentication and admission of one submission, as a pure function of the request, the
// registered keys and what the witness remembers of the node. Checks run cheapest first and
// never trust a field before the signature over it has verified.
import {
  type NoteVerifier,
  readWitnzFields,
  tableOrigin,
  verifyCheckpoint,
} from "../../checkpoint/index.js";
import { ed25519Verify } from "../../crypto/index.js";
import { type Rejection, reject } from "./codes.js";
import { type EnvelopeObservation, envelopeDigest, submissionEnvelope } from "./envelope.js";
import {
  CHECKPOINT_NOTE_BYTES_MAX,
  CONSISTENCY_PROOF_HASHES_MAX,
  IDENTIFIER_BYTES_MAX,
  OBSERVATIONS_PER_REQUEST_MAX,
  RECENT_DIGESTS_MAX,
  SEQUENCE_MAX,
  SUBMISSION_BYTES_MAX,
} from "./limits.js";

const HASH_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

/** The keys a witness accepts: customer id -> node id -> the node's note verifier (type 0x01). */
export type NodeRegistry = ReadonlyMap<string, ReadonlyMap<string, NoteVerifier>>;

/** What the witness remembers of one node's submissions. */
export interface NodeSequenceState {
  readonly lastSequence: number;
  /** Hex envelope digests of the latest accepted submissions, newest last. */
  readonly recentDigests: readonly string[];
}

/** The SubmitHash fields that repeat what the checkpoint says; they must agree with it. */
export interface StatedFields {
  readonly table: string;
  readonly size: number;
  readonly chainHash: Uint8Array;
  readonly merkleRoot: Uint8Array;
  readonly timestampMicroseconds: bigint;
}

export interface SubmissionRequest {
  readonly customerId: string;
  readonly nodeId: string;
  readonly sequence: number;
  readonly observations: readonly EnvelopeObservation[];
  readonly signature: Uint8Array;
  /** Present for SubmitHash (one observation). */
  readonly stated?: StatedFields;
}

/** An observation that passed every check: the checkpoint's content, read from the note. */
export interface AdmittedObservation {
  readonly table: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly chainHash: Uint8Array;
  readonly lsn: string;
  readonly timeMicroseconds: bigint;
  readonly checkpoint: string;
  readonly consistencyFromSize: number;
  readonly consistencyProof: readonly Uint8Array[];
  readonly dataHash: Uint8Array;
}

export interface Admission {
  readonly ok: true;
  readonly observations: readonly AdmittedObservation[];
  /** The node's state once this submission is stored. */
  readonly nextState: NodeSequenceState;
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, "utf8");

/** The origin a customer's checkpoints must carry: `witnz/<customer>/<table>`. */
export function customerTableOrigin(customerId: string, table: string): string {
  return tableOrigin(`witnz/${customerId}`, table);
}

function checkShape(request: SubmissionRequest): Rejection | undefined {
  for (const [what, value] of [
    ["customer id", request.customerId],
    ["node id", request.nodeId],
  ] as const) {
    if (value.length === 0) return reject("WITNZ_WITNESS_MALFORMED", `the ${what} is empty`);
    if (utf8Bytes(value) > IDENTIFIER_BYTES_MAX) {
      return reject(
        "WITNZ_WITNESS_TOO_LARGE",
        `the ${what} has ${utf8Bytes(value)} bytes; the limit is ${IDENTIFIER_BYTES_MAX}`,
      );
    }
  }
  const count = request.observations.length;
  if (count === 0) return reject("WITNZ_WITNESS_MALFORMED", "the submission has no observations");
  if (count > OBSERVATIONS_PER_REQUEST_MAX) {
    return reject(
      "WITNZ_WITNESS_TOO_LARGE",
      `the submission has ${count} observations; the limit is ${OBSERVATIONS_PER_REQUEST_MAX}`,
    );
  }
  let bytes = 0;
  for (const [index, observation] of request.observations.entries()) {
    const noteBytes = utf8Bytes(observation.checkpoint);
    if (noteBytes > CHECKPOINT_NOTE_BYTES_MAX) {
      return reject(
        "WITNZ_WITNESS_TOO_LARGE",
        `observation ${index + 1}: the checkpoint note has ${noteBytes} bytes; the limit is ${CHECKPOINT_NOTE_BYTES_MAX}`,
      );
    }
    if (observation.consistencyProof.length > CONSISTENCY_PROOF_HASHES_MAX) {
      return reject(
        "WITNZ_WITNESS_TOO_LARGE",
        `observation ${index + 1}: the consistency proof has ${observation.consistencyProof.length} hashes; the limit is ${CONSISTENCY_PROOF_HASHES_MAX}`,
      );
    }
    bytes += noteBytes + observation.dataHash.length;
    for (const hash of observation.consistencyProof) bytes += hash.length;
  }
  if (bytes > SUBMISSION_BYTES_MAX) {
    return reject(
      "WITNZ_WITNESS_TOO_LARGE",
      `the submission carries ${bytes} bytes of checkpoints and proofs; the limit is ${SUBMISSION_BYTES_MAX}`,
    );
  }
  if (!Number.isSafeInteger(request.sequence) || request.sequence < 1) {
    return reject(
      "WITNZ_WITNESS_MALFORMED",
      `the submission sequence must be 1..${SEQUENCE_MAX}, got ${request.sequence}`,
    );
  }
  if (request.signature.length !== ED25519_SIGNATURE_BYTES) {
    return reject(
      "WITNZ_WITNESS_SIGNATURE_INVALID",
      `the signature has ${request.signature.length} bytes; an Ed25519 signature has 64`,
    );
  }
  return undefined;
}

function readObservation(
  customerId: string,
  nodeId: string,
  verifier: NoteVerifier,
  observation: EnvelopeObservation,
  index: number,
): AdmittedObservation | Rejection {
  const invalid = (message: string): Rejection =>
    reject("WITNZ_WITNESS_CHECKPOINT_INVALID", `observation ${index + 1}: ${message}`);
  let parsed: ReturnType<typeof verifyCheckpoint>;
  let fields: ReturnType<typeof readWitnzFields>;
  try {
    parsed = verifyCheckpoint(observation.checkpoint, [verifier]);
    fields = readWitnzFields(parsed.checkpoint);
  } catch (error) {
    return invalid(
      `the checkpoint is not a Witnz checkpoint signed by ${nodeId}: ${(error as Error).message}`,
    );
  }
  const { checkpoint } = parsed;
  const origin = customerTableOrigin(customerId, fields.table);
  if (checkpoint.origin !== origin) {
    return invalid(
      `the checkpoint's origin is ${JSON.stringify(checkpoint.origin)}; expected ${JSON.stringify(origin)}`,
    );
  }
  if (checkpoint.size < 1)
    return invalid("the checkpoint's size is 0; a submission attests at least one entry");
  const from = observation.consistencyFromSize;
  if (!Number.isSafeInteger(from) || from < 0 || from >= checkpoint.size) {
    return invalid(
      `the consistency proof starts at size ${from}; it must be below ${checkpoint.size}`,
    );
  }
  if (observation.consistencyProof.some((hash) => hash.length !== HASH_BYTES)) {
    return invalid("a consistency proof hash is not 32 bytes");
  }
  if (observation.dataHash.length !== 0 && observation.dataHash.length !== HASH_BYTES) {
    return invalid(`the data hash has ${observation.dataHash.length} bytes; expected 32 or none`);
  }
  return {
    table: fields.table,
    size: checkpoint.size,
    rootHash: checkpoint.rootHash,
    chainHash: fields.chainHash,
    lsn: fields.lsn,
    timeMicroseconds: fields.timeMicroseconds,
    checkpoint: observation.checkpoint,
    consistencyFromSize: from,
    consistencyProof: observation.consistencyProof,
    dataHash: observation.dataHash,
  };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b);

function checkStated(stated: StatedFields, observation: AdmittedObservation): string | undefined {
  if (stated.table !== observation.table) return "table";
  if (stated.size !== observation.size) return "seq_num";
  if (!sameBytes(stated.chainHash, observation.chainHash)) return "chain_hash";
  if (!sameBytes(stated.merkleRoot, observation.rootHash)) return "merkle_root";
  if (stated.timestampMicroseconds !== observation.timeMicroseconds) return "timestamp";
  return undefined;
}

/**
 * Admits or refuses one submission. `state` is what the witness holds for the node (undefined
 * for a node it never heard from). Nothing is stored by this function: on admission the caller
 * stores the observations and `nextState` together.
 */
export function admitSubmission(
  registry: NodeRegistry,
  request: SubmissionRequest,
  state: NodeSequenceState | undefined,
): Admission | Rejection {
  const shape = checkShape(request);
  if (shape !== undefined) return shape;
  const nodes = registry.get(request.customerId);
  if (nodes === undefined) {
    return reject(
      "WITNZ_WITNESS_CUSTOMER_UNKNOWN",
      `customer ${JSON.stringify(request.customerId)} is not registered with this witness`,
    );
  }
  const verifier = nodes.get(request.nodeId);
  if (verifier === undefined) {
    return reject(
      "WITNZ_WITNESS_NODE_UNKNOWN",
      `node ${JSON.stringify(request.nodeId)} is not registered for customer ${JSON.stringify(request.customerId)}`,
    );
  }
  const envelope = submissionEnvelope(request);
  if (!ed25519Verify(verifier.publicKey, envelope, request.signature)) {
    return reject(
      "WITNZ_WITNESS_SIGNATURE_INVALID",
      `the submission signature does not verify with the key registered for ${request.nodeId}`,
    );
  }
  const digest = envelopeDigest(envelope);
  if (state !== undefined) {
    if (state.recentDigests.includes(digest)) {
      return reject(
        "WITNZ_WITNESS_REPLAY",
        `submission ${request.sequence} from ${request.nodeId} was already accepted; a retry must be signed with a new sequence number`,
      );
    }
    if (request.sequence <= state.lastSequence) {
      return reject(
        "WITNZ_WITNESS_SEQUENCE_BACKWARDS",
        `submission sequence ${request.sequence} from ${request.nodeId} is not above the last accepted, ${state.lastSequence}`,
      );
    }
  }
  const observations: AdmittedObservation[] = [];
  for (const [index, observation] of request.observations.entries()) {
    const read = readObservation(request.customerId, request.nodeId, verifier, observation, index);
    if ("ok" in read) return read;
    observations.push(read);
  }
  if (request.stated !== undefined) {
    const differs = checkStated(request.stated, observations[0]!);
    if (differs !== undefined) {
      return reject(
        "WITNZ_WITNESS_CHECKPOINT_INVALID",
        `the request's ${differs} does not match the signed checkpoint`,
      );
    }
  }
  const recentDigests = [...(state?.recentDigests ?? []), digest].slice(-RECENT_DIGESTS_MAX);
  return { ok: true, observations, nextState: { lastSequence: request.sequence, recentDigests } };
}
