// The bytes a node signs for one submission: who it is, its sequence number, and a digest of
// every observation it carries. The first line makes the envelope unmistakable for a checkpoint
// (whose second line is a decimal size), so a node's key cannot be tricked across the two uses.
import { sha256 } from "../../crypto/index.js";

export const ENVELOPE_HEADER = "witnz-submission/v1";

export interface EnvelopeObservation {
  readonly checkpoint: string;
  readonly consistencyFromSize: number;
  readonly consistencyProof: readonly Uint8Array[];
  /** Empty when the node sends none. */
  readonly dataHash: Uint8Array;
}

export interface EnvelopeFields {
  readonly customerId: string;
  readonly nodeId: string;
  readonly sequence: number;
  readonly observations: readonly EnvelopeObservation[];
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

/** One line per observation: digest of the note, from-size, digest of the proof, data hash. */
function observationLine(observation: EnvelopeObservation): string {
  const noteDigest = sha256(Buffer.from(observation.checkpoint, "utf8"));
  const proofDigest = sha256(
    Buffer.concat(observation.consistencyProof.map((h) => Buffer.from(h))),
  );
  const data = observation.dataHash.length === 0 ? "-" : base64(observation.dataHash);
  return `observation ${base64(noteDigest)} ${observation.consistencyFromSize} ${base64(proofDigest)} ${data}`;
}

/**
 * ```
 * witnz-submission/v1
 * customer "<customer id as a JSON string>"
 * node "<node id as a JSON string>"
 * sequence <decimal>
 * observations <count>
 * observation <b64 SHA-256(note)> <from size> <b64 SHA-256(proof hashes concatenated)> <b64 data hash | ->
 * ...
 * ```
 * Every line ends in a newline.
 */
export function submissionEnvelope(fields: EnvelopeFields): Buffer {
  const lines = [
    ENVELOPE_HEADER,
    `customer ${JSON.stringify(fields.customerId)}`,
    `node ${JSON.stringify(fields.nodeId)}`,
    `sequence ${fields.sequence}`,
    `observations ${fields.observations.length}`,
    ...fields.observations.map(observationLine),
  ];
  return Buffer.from(`${lines.join("\n")}\n`, "utf8");
}

/** Hex SHA-256 of an envelope: what a witness remembers to recognise a replay. */
export function envelopeDigest(envelope: Uint8Array): string {
  return sha256(envelope).toString("hex");
}
