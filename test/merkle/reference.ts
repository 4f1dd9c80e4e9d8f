// The RFC 9162 section 2.1 definitions written as plain recursion, hashing with node:crypto
// directly: an independent reference for the incremental tree. Tests only; quadratic at worst.
import { createHash } from "node:crypto";

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

export function referenceLeafHash(leaf: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0x00), leaf);
}

function referenceNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0x01), left, right);
}

/** The largest power of two smaller than n (n > 1): the RFC's k. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes already computed. */
export function naiveRootOfLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  const n = leafHashes.length;
  if (n === 0) return sha256();
  if (n === 1) return leafHashes[0]!;
  const k = split(n);
  return referenceNodeHash(
    naiveRootOfLeafHashes(leafHashes.slice(0, k)),
    naiveRootOfLeafHashes(leafHashes.slice(k)),
  );
}

/** MTH(D[n]) over raw leaves. */
export function naiveRoot(leaves: readonly Uint8Array[]): Uint8Array {
  return naiveRootOfLeafHashes(leaves.map(referenceLeafHash));
}

/** PATH(m, D[n]) of RFC 9162 2.1.3.1, over leaf hashes. */
export function naiveInclusionProof(m: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  const n = leafHashes.length;
  if (n <= 1) return [];
  const k = split(n);
  if (m < k) {
    return [
      ...naiveInclusionProof(m, leafHashes.slice(0, k)),
      naiveRootOfLeafHashes(leafHashes.slice(k)),
    ];
  }
  return [
    ...naiveInclusionProof(m - k, leafHashes.slice(k)),
    naiveRootOfLeafHashes(leafHashes.slice(0, k)),
  ];
}

function subproof(m: number, leafHashes: readonly Uint8Array[], complete: boolean): Uint8Array[] {
  const n = leafHashes.length;
  if (m === n) return complete ? [] : [naiveRootOfLeafHashes(leafHashes)];
  const k = split(n);
  if (m <= k) {
    return [
      ...subproof(m, leafHashes.slice(0, k), complete),
      naiveRootOfLeafHashes(leafHashes.slice(k)),
    ];
  }
  return [
    ...subproof(m - k, leafHashes.slice(k), false),
    naiveRootOfLeafHashes(leafHashes.slice(0, k)),
  ];
}

/** PROOF(m, D[n]) of RFC 9162 2.1.4.1 for 0 < m < n; empty for m = 0 or m = n. */
export function naiveConsistencyProof(m: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  if (m === 0 || m === leafHashes.length) return [];
  return subproof(m, leafHashes, true);
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}

/** A deterministic leaf: 32 bytes derived from a seed and an index, like a data hash. */
export function testLeaf(seed: number, index: number): Uint8Array {
  return sha256(Buffer.from(`leaf ${seed} ${index}`));
}
