// The page's proof check (WebCrypto SHA-256, here Node's implementation of the same interface)
// against the store's Merkle tree: every leaf of many tree sizes verifies, and any change to the
// entry, the path or the checkpoint is caught.
import { webcrypto } from "node:crypto";
import { describe, expect, test } from "vitest";
import { signCheckpoint } from "../../src/checkpoint/index.js";
import { sha256 } from "../../src/crypto/index.js";
import {
  bytesToHex,
  type CheckpointView,
  type InclusionProofView,
  rootFromInclusionProof,
  verifyEntryInclusion,
} from "../../src/dashboard/index.js";
import { leafHash, MerkleTree, verifyInclusion } from "../../src/merkle/index.js";
import { signer } from "./store-fixture.js";

const webCryptoSha256 = async (bytes: Uint8Array) =>
  new Uint8Array(await webcrypto.subtle.digest("SHA-256", new Uint8Array(bytes)));

function treeOf(size: number): { tree: MerkleTree; data: Uint8Array[] } {
  const tree = MerkleTree.create();
  const data: Uint8Array[] = [];
  for (let index = 0; index < size; index++) {
    data.push(sha256(Buffer.from(`row ${index}`)));
    tree.append(data[index]!);
  }
  return { tree, data };
}

function views(tree: MerkleTree, data: Uint8Array[], index: number, size: number) {
  const text = signCheckpoint(
    { origin: "witnz/test/public.t", size, rootHash: tree.rootAt(size), extensions: [] },
    signer,
  );
  const entry = {
    seq: index + 1,
    dataHash: bytesToHex(data[index]!),
    chainHash: "00".repeat(32),
    lsn: "0/0",
    primaryKey: null,
  };
  const proof: InclusionProofView = {
    leafIndex: index,
    treeSize: size,
    hashes: tree.inclusionProof(index, size).map(bytesToHex),
  };
  const checkpoint: CheckpointView = {
    size,
    rootHash: bytesToHex(tree.rootAt(size)),
    lsn: "0/0",
    time: new Date(0).toISOString(),
    text,
  };
  return { entry, proof, checkpoint };
}

describe("in-page inclusion proof check", () => {
  test("agrees with src/merkle for every leaf of every size up to 33", async () => {
    const { tree, data } = treeOf(33);
    for (let size = 1; size <= 33; size++) {
      for (let index = 0; index < size; index++) {
        const proof = tree.inclusionProof(index, size);
        const root = await rootFromInclusionProof(
          webCryptoSha256,
          leafHash(data[index]!),
          index,
          size,
          proof,
        );
        expect(bytesToHex(root!)).toBe(bytesToHex(tree.rootAt(size)));
        expect(verifyInclusion(leafHash(data[index]!), index, size, proof, tree.rootAt(size))).toBe(
          true,
        );
      }
    }
  });

  test("verifies an entry against the root in the signed checkpoint's text", async () => {
    const { tree, data } = treeOf(21);
    const { entry, proof, checkpoint } = views(tree, data, 12, 21);
    const result = await verifyEntryInclusion(webCryptoSha256, entry, proof, checkpoint);
    expect(result).toEqual({
      verified: true,
      detail: "leaf 12 of 21: 5 hashes lead to the checkpoint's root",
      computedRoot: bytesToHex(tree.rootAt(21)),
    });
  });

  test("any change to the entry, the path or the checkpoint fails", async () => {
    const { tree, data } = treeOf(21);
    const { entry, proof, checkpoint } = views(tree, data, 12, 21);
    const flipped = (hex: string) => `${hex[0] === "0" ? "1" : "0"}${hex.slice(1)}`;
    const check = (changes: {
      entry?: typeof entry;
      proof?: InclusionProofView;
      checkpoint?: CheckpointView;
    }) =>
      verifyEntryInclusion(
        webCryptoSha256,
        changes.entry ?? entry,
        changes.proof ?? proof,
        changes.checkpoint ?? checkpoint,
      );
    expect((await check({ entry: { ...entry, dataHash: flipped(entry.dataHash) } })).verified).toBe(
      false,
    );
    const hashes = [...proof.hashes];
    hashes[2] = flipped(hashes[2]!);
    expect((await check({ proof: { ...proof, hashes } })).verified).toBe(false);
    expect((await check({ proof: { ...proof, hashes: proof.hashes.slice(1) } })).detail).toBe(
      "the proof has the wrong shape",
    );
    // The root the page trusts is the one in the signed text, not the separate field.
    const other = views(tree, data, 12, 20).checkpoint;
    expect((await check({ checkpoint: { ...checkpoint, text: other.text } })).detail).toBe(
      "the proof is for size 21, the checkpoint is for 20",
    );
    expect((await check({ entry: { ...entry, seq: 12 } })).detail).toBe(
      "the proof is for leaf 12, not entry 12",
    );
  });
});
