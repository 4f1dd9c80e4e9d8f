// The one door to node:crypto. Hashing and signatures are deterministic, so the pure core
// (hash, merkle, checkpoint) may call them; every other effect stays out of that core.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  hash as oneShotHash,
  sign,
  verify,
} from "node:crypto";

export const SHA256_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/**
 * SHA-256 of one buffer (FIPS 180-4). Node 20's one-shot hash returns a binary string about
 * twice as fast as a Buffer (the Buffer path dominates the cost of hashing a small input), so
 * the digest is taken as a string and copied into a Buffer.
 */
export function sha256(data: Uint8Array): Buffer {
  return Buffer.from(oneShotHash("sha256", data, "binary"), "latin1");
}

/** SHA-256 as a 32-character binary (latin1) string, for hot loops that only compare digests. */
export function sha256Binary(data: Uint8Array): string {
  return oneShotHash("sha256", data, "binary");
}

export interface Ed25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  return generateKeyPairSync("ed25519");
}

export class CryptoKeyError extends Error {
  readonly code = "WITNZ_CRYPTO_KEY";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CryptoKeyError";
  }
}

/** Loads an Ed25519 private key from PKCS#8 PEM. */
export function ed25519PrivateKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new CryptoKeyError("not a PEM private key", { cause: error });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new CryptoKeyError(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? "unknown"}`);
  }
  return key;
}

/** Loads an Ed25519 public key from SPKI PEM. */
export function ed25519PublicKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new CryptoKeyError("not a PEM public key", { cause: error });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new CryptoKeyError(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? "unknown"}`);
  }
  return key;
}

// An Ed25519 PKCS#8 DER is a fixed 16-byte header followed by the 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
export const ED25519_SEED_BYTES = 32;

/** Builds an Ed25519 private key from its 32-byte RFC 8032 seed. */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_SEED_BYTES) {
    throw new CryptoKeyError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  }
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
}

// An Ed25519 SPKI DER is a fixed 12-byte header followed by the 32-byte raw key (RFC 8410).
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new CryptoKeyError(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  }
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
    format: "der",
    type: "spki",
  });
}

export function ed25519PublicKeyRaw(key: KeyObject): Buffer {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const der = publicKey.export({ format: "der", type: "spki" });
  if (der.length !== ED25519_SPKI_PREFIX.length + ED25519_PUBLIC_KEY_BYTES) {
    throw new CryptoKeyError("not an Ed25519 public key");
  }
  return der.subarray(ED25519_SPKI_PREFIX.length);
}

export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Buffer {
  return sign(null, message, privateKey);
}

export function ed25519Verify(
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  return verify(null, message, publicKey, signature);
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: "pem", type: "pkcs8" }).toString();
}

export function publicKeyToPem(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return publicKey.export({ format: "pem", type: "spki" }).toString();
}
export type { KeyObject } from "node:crypto";
