// Queries (GetVerdict, ListLatest, GetCosignedCheckpoint) answer only a node registered for the
// customer asked about: the node signs the query's text with the key its submissions are signed
// with, and the witness checks the signature and that the signing time is near its own clock.
// A signed query can be replayed within that window; it only reads what its signer may read.
import { ed25519Verify } from "../../crypto/index.js";
import type { NodeRegistry } from "./admission.js";
import { type Rejection, reject } from "./codes.js";

/** The first line: unmistakable for a checkpoint (decimal size) or a submission envelope. */
export const QUERY_HEADER = "witnz-query/v2";
/** How far the signing time may be from the witness's clock, either way. */
export const QUERY_CLOCK_SKEW_SECONDS = 300;
/** A query's nonce: this many random bytes, in the text as lowercase hex. */
export const QUERY_NONCE_BYTES = 16;
const NONCE_HEX = /^[0-9a-f]{32}$/;

export type QueryMethod = "GetVerdict" | "ListLatest" | "GetCosignedCheckpoint";

export interface QueryFields {
  readonly method: QueryMethod;
  readonly customerId: string;
  readonly nodeId: string;
  /** The witness asked: a query signed for one witness is refused by every other. */
  readonly witnessId: string;
  readonly timeUnixSeconds: number;
  /** QUERY_NONCE_BYTES random bytes as lowercase hex, never reused by the node. */
  readonly nonce: string;
  /** GetVerdict and GetCosignedCheckpoint. */
  readonly table?: string;
  /** GetVerdict (0: the latest). */
  readonly size?: number;
}

/**
 * ```
 * witnz-query/v2
 * method <GetVerdict | ListLatest | GetCosignedCheckpoint>
 * customer "<customer id as a JSON string>"
 * node "<node id as a JSON string>"
 * witness "<witness id as a JSON string>"
 * time <decimal seconds since the Unix epoch>
 * nonce <32 lowercase hex digits>
 * table "<table as a JSON string>" | table -
 * size <decimal> | size -
 * ```
 * Every line ends in a newline.
 */
export function queryMessage(fields: QueryFields): Buffer {
  const lines = [
    QUERY_HEADER,
    `method ${fields.method}`,
    `customer ${JSON.stringify(fields.customerId)}`,
    `node ${JSON.stringify(fields.nodeId)}`,
    `witness ${JSON.stringify(fields.witnessId)}`,
    `time ${fields.timeUnixSeconds}`,
    `nonce ${fields.nonce}`,
    `table ${fields.table === undefined ? "-" : JSON.stringify(fields.table)}`,
    `size ${fields.size === undefined ? "-" : fields.size}`,
  ];
  return Buffer.from(`${lines.join("\n")}\n`, "utf8");
}

/**
 * Undefined when the query's signature, addressee and time let it be answered by the witness
 * `witnessId`; the refusal otherwise. Whether it was answered before is QueryReplayGuard's.
 */
export function checkQuery(
  registry: NodeRegistry,
  witnessId: string,
  fields: QueryFields | undefined,
  signature: Uint8Array,
  nowUnixSeconds: number,
): Rejection | undefined {
  if (fields === undefined || fields.nodeId === "" || signature.length === 0) {
    return reject(
      "WITNZ_WITNESS_QUERY_UNSIGNED",
      "queries must be signed by a node registered for the customer (auth)",
    );
  }
  if (!NONCE_HEX.test(fields.nonce)) {
    return reject(
      "WITNZ_WITNESS_QUERY_UNSIGNED",
      `queries must carry a nonce of ${QUERY_NONCE_BYTES} random bytes (auth.nonce)`,
    );
  }
  const verifier = registry.get(fields.customerId)?.get(fields.nodeId);
  if (verifier === undefined) {
    return reject(
      "WITNZ_WITNESS_NODE_UNKNOWN",
      `node ${JSON.stringify(fields.nodeId)} is not registered for customer ${JSON.stringify(fields.customerId)}`,
    );
  }
  if (!ed25519Verify(verifier.publicKey, queryMessage(fields), signature)) {
    return reject(
      "WITNZ_WITNESS_SIGNATURE_INVALID",
      `the query signature does not verify with the key registered for ${fields.nodeId}`,
    );
  }
  // Checked after the signature, so only a registered node learns this witness's id.
  if (fields.witnessId !== witnessId) {
    return reject(
      "WITNZ_WITNESS_QUERY_MISDIRECTED",
      `the query was signed for witness ${JSON.stringify(fields.witnessId)}; this is ${JSON.stringify(witnessId)}`,
    );
  }
  if (Math.abs(nowUnixSeconds - fields.timeUnixSeconds) > QUERY_CLOCK_SKEW_SECONDS) {
    return reject(
      "WITNZ_WITNESS_QUERY_EXPIRED",
      `the query was signed at ${fields.timeUnixSeconds}, more than ${QUERY_CLOCK_SKEW_SECONDS} s from this witness's clock (${nowUnixSeconds})`,
    );
  }
  return undefined;
}
