// Inclusion proof checking as the browser does it: the entry's data hash, the audit path and the
// signed checkpoint's text come from the API; the leaf hash, every node hash and the root are
// recomputed here with the SHA-256 the caller passes (WebCrypto in the page), per RFC 9162
// 2.1.3.2. Nothing the server computed is trusted but the proof's hashes themselves.
// Runtime-neutral: bundled into the browser app and tested against src/merkle under Node.

import type { ChainEntryView, CheckpointView, InclusionProofView } from "./api.js";

/** An asynchronous SHA-256, such as `crypto.subtle.digest("SHA-256", bytes)`. */
export type Sha256 = (bytes: Uint8Array) => Promise<Uint8Array>;

const HASH_BYTES = 32;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

export function hexToBytes(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error(`not hex: ${hex.slice(0, 16)}`);
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = Number.parseInt(hex.slice(2 * index, 2 * index + 2), 16);
  }
  return bytes;
}

export function bytesToHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** The first three lines of a C2SP tlog-checkpoint: origin, tree size, base64 root hash. */
export function readCheckpointText(text: string): {
  origin: string;
  size: number;
  rootHash: Uint8Array;
} {
  const [origin, sizeLine, rootLine] = text.split("\n");
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw new Error("a checkpoint has an origin, a size and a root line");
  }
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw new Error(`size line ${sizeLine}`);
  const rootHash = base64ToBytes(rootLine);
  if (rootHash.length !== HASH_BYTES) throw new Error("the root line is not a SHA-256 hash");
  return { origin, size: Number(sizeLine), rootHash };
}

async function prefixedHash(
  sha256: Sha256,
  prefix: number,
  ...parts: Uint8Array[]
): Promise<Uint8Array> {
  const input = new Uint8Array(1 + parts.reduce((sum, part) => sum + part.length, 0));
  input[0] = prefix;
  let offset = 1;
  for (const part of parts) {
    input.set(part, offset);
    offset += part.length;
  }
  return sha256(input);
}

/**
 * RFC 9162 2.1.3.2: the root that `proof` leads to from leaf `leafIndex` with hash `leafHash` in
 * a tree of `treeSize` leaves, or null when the proof has the wrong shape.
 */
export async function rootFromInclusionProof(
  sha256: Sha256,
  leafHash: Uint8Array,
  leafIndex: number,
  treeSize: number,
  proof: readonly Uint8Array[],
): Promise<Uint8Array | null> {
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= treeSize) return null;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (p.length !== HASH_BYTES || sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await prefixedHash(sha256, NODE_PREFIX, p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await prefixedHash(sha256, NODE_PREFIX, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export interface InPageVerification {
  readonly verified: boolean;
  /** One sentence: what was checked, or what failed. */
  readonly detail: string;
  /** The root recomputed from the entry and the proof; null when the proof is malformed. */
  readonly computedRoot: string | null;
}

/**
 * Checks that the entry is leaf seq - 1 of the tree whose root the checkpoint's text carries:
 * leaf hash SHA-256(0x00 || data hash), then the audit path up to the root.
 */
export async function verifyEntryInclusion(
  sha256: Sha256,
  entry: ChainEntryView,
  proof: InclusionProofView,
  checkpoint: CheckpointView,
): Promise<InPageVerification> {
  let body: ReturnType<typeof readCheckpointText>;
  try {
    body = readCheckpointText(checkpoint.text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { verified: false, detail: `checkpoint unreadable: ${reason}`, computedRoot: null };
  }
  if (proof.leafIndex !== entry.seq - 1) {
    return {
      verified: false,
      detail: `the proof is for leaf ${proof.leafIndex}, not entry ${entry.seq}`,
      computedRoot: null,
    };
  }
  if (body.size !== proof.treeSize) {
    return {
      verified: false,
      detail: `the proof is for size ${proof.treeSize}, the checkpoint is for ${body.size}`,
      computedRoot: null,
    };
  }
  const leafHash = await prefixedHash(sha256, LEAF_PREFIX, hexToBytes(entry.dataHash));
  const root = await rootFromInclusionProof(
    sha256,
    leafHash,
    proof.leafIndex,
    proof.treeSize,
    proof.hashes.map(hexToBytes),
  );
  if (root === null) {
    return { verified: false, detail: "the proof has the wrong shape", computedRoot: null };
  }
  const computedRoot = bytesToHex(root);
  const verified = computedRoot === bytesToHex(body.rootHash);
  return {
    verified,
    detail: verified
      ? `leaf ${proof.leafIndex} of ${proof.treeSize}: ${proof.hashes.length} hashes lead to the checkpoint's root`
      : "the proof leads to a different root than the checkpoint's",
    computedRoot,
  };
}
