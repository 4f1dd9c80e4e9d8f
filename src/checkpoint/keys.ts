// Key IDs, verifier keys (vkeys) and signer keys as c2sp.org/signed-note defines them.
import {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ed25519PrivateKeyFromSeed,
  ed25519PublicKeyFromRaw,
  ed25519PublicKeyRaw,
  type KeyObject,
  sha256,
} from "../crypto/index.js";
import { CheckpointError } from "./errors.js";

/** Signature type bytes assigned by c2sp.org/signed-note. */
export const SIGNATURE_TYPE_ED25519 = 0x01;
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;
export type SignatureType = typeof SIGNATURE_TYPE_ED25519 | typeof SIGNATURE_TYPE_COSIGNATURE_V1;

const KEY_ID_BYTES = 4;

/** A key that can verify note signatures of one type under one name. */
export interface NoteVerifier {
  readonly name: string;
  readonly type: SignatureType;
  readonly keyId: number;
  readonly publicKey: KeyObject;
}

/** A key that signs notes: a name and an Ed25519 private key. */
export interface NoteSigner {
  readonly name: string;
  readonly privateKey: KeyObject;
}

/** Key names are non-empty and contain no Unicode space and no plus sign. */
export function checkKeyName(name: string): void {
  if (name.length === 0) throw new CheckpointError("WITNZ_KEY_MALFORMED", "key name is empty");
  if (/[\s+\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name)) {
    throw new CheckpointError(
      "WITNZ_KEY_MALFORMED",
      `key name ${JSON.stringify(name)} contains a space or a plus sign`,
    );
  }
}

/** key ID = SHA-256(key name || 0x0A || signature type || public key)[:4], big-endian. */
export function keyId(name: string, type: SignatureType, publicKeyRaw: Uint8Array): number {
  const digest = sha256(
    Buffer.concat([Buffer.from(name, "utf8"), Buffer.from([0x0a, type]), publicKeyRaw]),
  );
  return digest.readUInt32BE(0);
}

export function noteVerifier(
  name: string,
  type: SignatureType,
  publicKey: KeyObject,
): NoteVerifier {
  checkKeyName(name);
  const raw = ed25519PublicKeyRaw(publicKey);
  return { name, type, keyId: keyId(name, type, raw), publicKey };
}

const hex8 = (id: number): string => id.toString(16).padStart(2 * KEY_ID_BYTES, "0");

/** `<name>+<hex key ID>+<base64(type || public key)>` */
export function formatVerifierKey(verifier: NoteVerifier): string {
  const material = Buffer.concat([
    Buffer.from([verifier.type]),
    ed25519PublicKeyRaw(verifier.publicKey),
  ]);
  return `${verifier.name}+${hex8(verifier.keyId)}+${material.toString("base64")}`;
}

/** Splits `a+b+...+rest` into `count` parts; the last part (base64) may itself contain '+'. */
function splitKey(text: string, what: string, count: number): string[] {
  const parts: string[] = [];
  let rest = text;
  for (let part = 1; part < count; part++) {
    const plus = rest.indexOf("+");
    if (plus < 0) {
      throw new CheckpointError(
        "WITNZ_KEY_MALFORMED",
        `${what} must have ${count} parts separated by '+', got ${part}`,
      );
    }
    parts.push(rest.slice(0, plus));
    rest = rest.slice(plus + 1);
  }
  parts.push(rest);
  return parts;
}

function decodeKeyMaterial(
  name: string,
  idHex: string,
  materialBase64: string,
  what: string,
): { type: SignatureType; key: Buffer; id: number } {
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) {
    throw new CheckpointError(
      "WITNZ_KEY_MALFORMED",
      `${what} key ID must be 8 lowercase hex digits`,
    );
  }
  const material = decodeBase64Strict(materialBase64);
  if (material === undefined) {
    throw new CheckpointError("WITNZ_KEY_MALFORMED", `${what} key material is not valid base64`);
  }
  const type = material[0];
  if (type !== SIGNATURE_TYPE_ED25519 && type !== SIGNATURE_TYPE_COSIGNATURE_V1) {
    throw new CheckpointError(
      "WITNZ_KEY_MALFORMED",
      `${what} has unsupported signature type ${type === undefined ? "(none)" : `0x${type.toString(16).padStart(2, "0")}`}; supported: 0x01 Ed25519, 0x04 cosignature/v1`,
    );
  }
  const key = material.subarray(1);
  if (key.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new CheckpointError(
      "WITNZ_KEY_MALFORMED",
      `${what} key is ${key.length} bytes; an Ed25519 key is 32`,
    );
  }
  return { type, key, id: Number.parseInt(idHex, 16) };
}

/** Parses a vkey; refuses a key ID that does not match the name, type and key. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const [name, idHex, material] = splitKey(vkey.trim(), "verifier key", 3) as [
    string,
    string,
    string,
  ];
  const { type, key, id } = decodeKeyMaterial(name, idHex, material, "verifier key");
  const expected = keyId(name, type, key);
  if (expected !== id) {
    throw new CheckpointError(
      "WITNZ_KEY_MALFORMED",
      `verifier key ID ${idHex} does not match its name and key (expected ${hex8(expected)})`,
    );
  }
  return { name, type, keyId: id, publicKey: ed25519PublicKeyFromRaw(key) };
}

/** `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`, the signed-note signer key form. */
export function parseSignerKey(skey: string): NoteSigner & { type: SignatureType } {
  const parts = splitKey(skey.trim(), "signer key", 5);
  if (parts[0] !== "PRIVATE" || parts[1] !== "KEY") {
    throw new CheckpointError("WITNZ_KEY_MALFORMED", "signer key must start with PRIVATE+KEY+");
  }
  const [, , name, idHex, material] = parts as [string, string, string, string, string];
  const { type, key: seed, id } = decodeKeyMaterial(name, idHex, material, "signer key");
  if (seed.length !== ED25519_SEED_BYTES) {
    throw new CheckpointError("WITNZ_KEY_MALFORMED", "signer key seed must be 32 bytes");
  }
  const privateKey = ed25519PrivateKeyFromSeed(seed);
  const expected = keyId(name, type, ed25519PublicKeyRaw(privateKey));
  if (expected !== id) {
    throw new CheckpointError(
      "WITNZ_KEY_MALFORMED",
      `signer key ID ${idHex} does not match its name and key (expected ${hex8(expected)})`,
    );
  }
  return { name, privateKey, type };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard RFC 4648 base64 with padding; undefined for anything else. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  // Reject non-canonical encodings (stray bits in the last character).
  return bytes.toString("base64") === text ? bytes : undefined;
}
