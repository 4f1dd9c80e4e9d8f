// The page's signed-note check (note-signature.ts) under Node's WebCrypto, the same API the
// browser offers: the signed-note specification's and Go's known answers, a checkpoint a node
// signs, and every way it must refuse.
import { webcrypto } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  formatVerifierKey,
  noteVerifier,
  SIGNATURE_TYPE_ED25519,
  signCheckpoint,
} from "../../src/checkpoint/index.js";
import {
  ed25519PublicKeyFromRaw,
  ed25519PublicKeyRaw,
  generateEd25519KeyPair,
} from "../../src/crypto/index.js";
import { verifyNoteSignature } from "../../src/dashboard/index.js";

const subtle = webcrypto.subtle;
const sha256 = async (bytes: Uint8Array) => new Uint8Array(await subtle.digest("SHA-256", bytes));
const ed25519 = async (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
  subtle.verify(
    { name: "Ed25519" },
    await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]),
    signature,
    message,
  );
const check = (note: string, key: string) => verifyNoteSignature(note, key, sha256, ed25519);

// c2sp.org/signed-note's example and Go's sumdb/note documentation's.
const SPEC_VERIFIER_KEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE =
  "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
const GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_NOTE =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

function nodeSigner(name: string) {
  const { privateKey } = generateEd25519KeyPair();
  const verifierKey = formatVerifierKey(
    noteVerifier(
      name,
      SIGNATURE_TYPE_ED25519,
      ed25519PublicKeyFromRaw(ed25519PublicKeyRaw(privateKey)),
    ),
  );
  return { signer: { name, privateKey }, verifierKey };
}

const checkpoint = {
  origin: "witnz/demo/public.audit_log",
  size: 44,
  rootHash: Buffer.alloc(32, 7),
  extensions: ["witnz-lsn 0/1B958F0"],
};

describe("signed-note signature checked as the page does", () => {
  test("the specification's and Go's known answers verify", async () => {
    expect(await check(SPEC_NOTE, SPEC_VERIFIER_KEY)).toEqual({
      verified: true,
      detail: "signed by example.com/foo (key id 530d903a)",
    });
    expect((await check(GO_NOTE, GO_VERIFIER_KEY)).verified).toBe(true);
  });

  test("a node's signed checkpoint verifies with its key, and with no other", async () => {
    const node = nodeSigner("witnz/demo/node/n1");
    const other = nodeSigner("witnz/demo/node/n1");
    const note = signCheckpoint(checkpoint, node.signer);
    expect((await check(note, node.verifierKey)).verified).toBe(true);
    // Same name, another key: its key id names no signature on the note.
    expect(await check(note, other.verifierKey)).toMatchObject({
      verified: false,
      detail: expect.stringMatching(
        /^no signature by witnz\/demo\/node\/n1 \(key id [0-9a-f]{8}\)$/,
      ),
    });
    expect((await check(note, nodeSigner("witnz/demo/node/n2").verifierKey)).detail).toMatch(
      /^no signature by witnz\/demo\/node\/n2/,
    );
  });

  test("any change to the signed text fails", async () => {
    const node = nodeSigner("witnz/demo/node/n1");
    const note = signCheckpoint(checkpoint, node.signer);
    for (const tampered of [
      note.replace("\n44\n", "\n45\n"),
      note.replace("0/1B958F0", "0/1B958F1"),
    ]) {
      expect(tampered).not.toBe(note);
      expect(await check(tampered, node.verifierKey)).toEqual({
        verified: false,
        detail: "the signature by witnz/demo/node/n1 does not verify",
      });
    }
  });

  test("malformed keys and notes are refused with the reason", async () => {
    const [name, id, key] = SPEC_VERIFIER_KEY.split("+") as [string, string, string];
    expect((await check(SPEC_NOTE, `${name}+${id}`)).detail).toBe(
      "the verifier key is not name+id+key",
    );
    expect((await check(SPEC_NOTE, `${name}+00000000+${key}`)).detail).toBe(
      "the verifier key's id does not match its key",
    );
    // A cosignature/v1 key (type 0x04) is not a checkpoint signer's key.
    const cosignerKey = Buffer.from(key, "base64");
    cosignerKey[0] = 0x04;
    expect((await check(SPEC_NOTE, `${name}+${id}+${cosignerKey.toString("base64")}`)).detail).toBe(
      "the verifier key is not an Ed25519 signed-note key",
    );
    expect((await check("This is an example message.\n", SPEC_VERIFIER_KEY)).detail).toBe(
      "the note has no signature lines",
    );
  });
});
