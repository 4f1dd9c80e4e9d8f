// Checking a signed checkpoint's Ed25519 signature as the browser does it (C2SP signed-note):
// the verifier key is `name+<key id hex>+<base64(0x01 || public key)>`, the key id the first four
// bytes of SHA-256(name || "\n" || 0x01 || public key), and a signature line
// `— name base64(key id || signature)` signs the note's text up to the blank line. The SHA-256
// and the Ed25519 check are the caller's (WebCrypto in the page). Runtime-neutral: bundled into
// the browser app and tested against src/checkpoint under Node.

import { bytesToHex, type Sha256 } from "./inclusion-proof.js";

/** An asynchronous Ed25519 check, such as WebCrypto's `verify({ name: "Ed25519" }, ...)`. */
export type Ed25519Verify = (
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
) => Promise<boolean>;

export interface SignatureCheck {
  readonly verified: boolean;
  /** One sentence: whose signature was checked, or what failed. */
  readonly detail: string;
}

const SIGNATURE_TYPE_ED25519 = 0x01;
const PUBLIC_KEY_BYTES = 32;
const KEY_ID_BYTES = 4;
const SIGNATURE_BYTES = 64;
const SIGNATURE_LINE_PREFIX = "\u2014 ";

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** `name+hex8+base64` into its parts, or a sentence saying why it is not one. */
function parseVerifierKey(
  text: string,
): { name: string; keyId: string; publicKey: Uint8Array } | string {
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first <= 0 || second < 0) return "the verifier key is not name+id+key";
  const name = text.slice(0, first);
  const keyId = text.slice(first + 1, second).toLowerCase();
  let material: Uint8Array;
  try {
    material = base64ToBytes(text.slice(second + 1));
  } catch {
    return "the verifier key's key is not base64";
  }
  if (!/^[0-9a-f]{8}$/.test(keyId)) return "the verifier key's id is not 8 hex digits";
  if (material.length !== 1 + PUBLIC_KEY_BYTES || material[0] !== SIGNATURE_TYPE_ED25519) {
    return "the verifier key is not an Ed25519 signed-note key";
  }
  return { name, keyId, publicKey: material.subarray(1) };
}

/** Checks the signature `verifierKey` names on the signed note `noteText`. */
export async function verifyNoteSignature(
  noteText: string,
  verifierKey: string,
  sha256: Sha256,
  ed25519Verify: Ed25519Verify,
): Promise<SignatureCheck> {
  const key = parseVerifierKey(verifierKey);
  if (typeof key === "string") return { verified: false, detail: key };
  const encoder = new TextEncoder();
  const computedId = bytesToHex(
    (
      await sha256(
        concat(
          encoder.encode(key.name),
          Uint8Array.of(0x0a, SIGNATURE_TYPE_ED25519),
          key.publicKey,
        ),
      )
    ).subarray(0, KEY_ID_BYTES),
  );
  if (computedId !== key.keyId) {
    return { verified: false, detail: "the verifier key's id does not match its key" };
  }
  const split = noteText.lastIndexOf("\n\n");
  if (split < 0) return { verified: false, detail: "the note has no signature lines" };
  const message = encoder.encode(noteText.slice(0, split + 1));
  const lines = noteText
    .slice(split + 2)
    .split("\n")
    .filter((line) => line.startsWith(`${SIGNATURE_LINE_PREFIX}${key.name} `));
  for (const line of lines) {
    let bytes: Uint8Array;
    try {
      bytes = base64ToBytes(line.slice(SIGNATURE_LINE_PREFIX.length + key.name.length + 1));
    } catch {
      continue;
    }
    if (bytes.length !== KEY_ID_BYTES + SIGNATURE_BYTES) continue;
    if (bytesToHex(bytes.subarray(0, KEY_ID_BYTES)) !== key.keyId) continue;
    const valid = await ed25519Verify(key.publicKey, message, bytes.subarray(KEY_ID_BYTES));
    return valid
      ? { verified: true, detail: `signed by ${key.name} (key id ${key.keyId})` }
      : { verified: false, detail: `the signature by ${key.name} does not verify` };
  }
  return { verified: false, detail: `no signature by ${key.name} (key id ${key.keyId})` };
}
