import { SHA256_BYTES, sha256 } from "../crypto/index.js";
import { encodeRow, type RowImage } from "./row-encoding.js";

/** c_0: the chain hash before the first entry. */
export const GENESIS_CHAIN_HASH: Uint8Array = new Uint8Array(SHA256_BYTES);

const SEQUENCE_BYTES = 8;
const CHAIN_INPUT_BYTES = SHA256_BYTES + SEQUENCE_BYTES + SHA256_BYTES;
// Reused for every chain hash: the hash is computed synchronously, so no caller can observe it.
const chainInput = Buffer.allocUnsafe(CHAIN_INPUT_BYTES);

/** d_i = SHA-256(canonical row bytes). Accepts a row image or bytes already encoded. */
export function dataHash(row: RowImage | Uint8Array): Buffer {
  return sha256(row instanceof Uint8Array ? row : encodeRow(row));
}

/** c_i = SHA-256(c_{i-1} || u64be(i) || d_i), with sequence numbers starting at 1. */
export function chainHash(
  previousChainHash: Uint8Array,
  sequence: number | bigint,
  entryDataHash: Uint8Array,
): Buffer {
  if (previousChainHash.length !== SHA256_BYTES || entryDataHash.length !== SHA256_BYTES) {
    throw new RangeError("chainHash takes two 32-byte hashes");
  }
  chainInput.set(previousChainHash, 0);
  writeSequence(sequence);
  chainInput.set(entryDataHash, SHA256_BYTES + SEQUENCE_BYTES);
  return sha256(chainInput);
}

const TWO_TO_THE_32 = 0x1_0000_0000;
const SEQUENCE_MAX = (1n << 64n) - 1n;

function writeSequence(sequence: number | bigint): void {
  // Numbers (the common case) avoid BigInt arithmetic on the hot path.
  if (typeof sequence === "number") {
    if (!Number.isSafeInteger(sequence) || sequence < 1) {
      throw new RangeError(`chain sequence numbers run from 1 to 2^64 - 1, got ${sequence}`);
    }
    chainInput.writeUInt32BE(Math.floor(sequence / TWO_TO_THE_32), SHA256_BYTES);
    chainInput.writeUInt32BE(sequence % TWO_TO_THE_32, SHA256_BYTES + 4);
    return;
  }
  if (sequence < 1n || sequence > SEQUENCE_MAX) {
    throw new RangeError(`chain sequence numbers run from 1 to 2^64 - 1, got ${sequence}`);
  }
  chainInput.writeBigUInt64BE(sequence, SHA256_BYTES);
}

/** Folds a run of data hashes onto a chain head; returns the new head. */
export function extendChain(
  head: { readonly size: number; readonly chainHash: Uint8Array },
  dataHashes: Iterable<Uint8Array>,
): { size: number; chainHash: Uint8Array } {
  let size = head.size;
  let current = head.chainHash;
  for (const hash of dataHashes) {
    size += 1;
    current = chainHash(current, size, hash);
  }
  return { size, chainHash: current };
}
