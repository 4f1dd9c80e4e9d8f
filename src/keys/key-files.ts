import { constants } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  formatVerifierKey,
  noteVerifier,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
} from "../checkpoint/index.js";
import {
  ed25519PrivateKeyFromPem,
  generateEd25519KeyPair,
  type KeyObject,
  privateKeyToPem,
  publicKeyToPem,
} from "../crypto/index.js";

export const PRIVATE_KEY_FILE = "node.key";
export const PUBLIC_KEY_FILE = "node.pub";

export class KeyFileError extends Error {
  readonly code: "WITNZ_KEY_EXISTS" | "WITNZ_KEY_WRITE" | "WITNZ_KEY_READ";
  constructor(code: KeyFileError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KeyFileError";
    this.code = code;
  }
}

export interface KeygenResult {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly verifierKey: string;
  readonly cosignerVerifierKey: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a new Ed25519 key pair into `directory`: the private key as PKCS#8 PEM with mode 0600,
 * the public key as SPKI PEM. Never overwrites either file.
 */
export async function keygen(directory: string, name: string): Promise<KeygenResult> {
  const privateKeyPath = join(directory, PRIVATE_KEY_FILE);
  const publicKeyPath = join(directory, PUBLIC_KEY_FILE);
  for (const path of [privateKeyPath, publicKeyPath]) {
    if (await exists(path)) {
      throw new KeyFileError(
        "WITNZ_KEY_EXISTS",
        `${path} already exists; refusing to overwrite a key`,
      );
    }
  }
  const { privateKey, publicKey } = generateEd25519KeyPair();
  // Validate the name before anything is written.
  const verifier = noteVerifier(name, SIGNATURE_TYPE_ED25519, publicKey);
  const cosigner = noteVerifier(name, SIGNATURE_TYPE_COSIGNATURE_V1, publicKey);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    // "wx": fail if the file appeared meanwhile; mode applies at creation.
    await writeFile(privateKeyPath, privateKeyToPem(privateKey), { flag: "wx", mode: 0o600 });
    await writeFile(publicKeyPath, publicKeyToPem(publicKey), { flag: "wx", mode: 0o644 });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new KeyFileError(
      "WITNZ_KEY_WRITE",
      `cannot write the key pair in ${directory}: ${reason}`,
      {
        cause: error,
      },
    );
  }
  return {
    privateKeyPath,
    publicKeyPath,
    verifierKey: formatVerifierKey(verifier),
    cosignerVerifierKey: formatVerifierKey(cosigner),
  };
}

/**
 * The node's signing key from `path` (PKCS#8 PEM). When the file does not exist, a new pair is
 * written there (private key mode 0600, public key beside it as node.pub) and `created` is true.
 */
export async function loadOrCreateNodeKey(
  path: string,
  name: string,
): Promise<{ privateKey: KeyObject; created: boolean }> {
  if (!(await exists(path))) {
    if (basename(path) !== PRIVATE_KEY_FILE) {
      throw new KeyFileError(
        "WITNZ_KEY_READ",
        `${path} does not exist; create it with witnz keygen, or leave key_file unset to have ${PRIVATE_KEY_FILE} made in the data directory`,
      );
    }
    await keygen(dirname(path), name);
    return { privateKey: await readKey(path), created: true };
  }
  return { privateKey: await readKey(path), created: false };
}

/**
 * The node's signing key as `witnz start` uses it (`node.key_file`, or node.key in the data
 * directory); never creates one: a node that never started has no key to sign with yet.
 */
export async function loadNodeKey(config: {
  readonly keyFile?: string | undefined;
  readonly dataDir: string;
}): Promise<KeyObject> {
  const path = config.keyFile ?? join(config.dataDir, PRIVATE_KEY_FILE);
  if (!(await exists(path))) {
    throw new KeyFileError(
      "WITNZ_KEY_READ",
      `${path} does not exist: witnesses answer only queries a node signs with its key; run this where the node runs (its first witnz start makes the key)`,
    );
  }
  return readKey(path);
}

async function readKey(path: string): Promise<KeyObject> {
  try {
    return ed25519PrivateKeyFromPem(await readFile(path, "utf8"));
  } catch (error) {
    throw new KeyFileError(
      "WITNZ_KEY_READ",
      `cannot read the Ed25519 private key ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
