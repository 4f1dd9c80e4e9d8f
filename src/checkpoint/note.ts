// Signed notes, c2sp.org/signed-note: text, a blank line, then "— <name> <base64(keyID || sig)>"
// lines. Verifiers ignore unknown keys, reject the note when a known key's signature fails, and
// require at least one known key to verify.
import {
  ED25519_SIGNATURE_BYTES,
  ed25519PublicKeyRaw,
  ed25519Sign,
  ed25519Verify,
  type KeyObject,
} from "../crypto/index.js";
import { CheckpointError } from "./errors.js";
import {
  checkKeyName,
  keyId as computeKeyId,
  decodeBase64Strict,
  type NoteSigner,
  type NoteVerifier,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  type SignatureType,
} from "./keys.js";

/** Limits: far above any checkpoint we write, and at least the 16 signatures the spec asks for. */
export const NOTE_BYTES_MAX = 64 * 1024;
export const NOTE_SIGNATURES_MAX = 64;

const EM_DASH = "\u2014";
const SIGNATURE_PREFIX = `${EM_DASH} `;
const KEY_ID_BYTES = 4;
const TIMESTAMP_BYTES = 8;

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes after the 4-byte key ID. */
  readonly signature: Buffer;
}

export interface Note {
  /** The signed text, ending in a newline. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

const malformed = (message: string): CheckpointError =>
  new CheckpointError("WITNZ_NOTE_MALFORMED", message);

function checkNoteCharacters(text: string, what: string): void {
  // U+0000..U+001F except newline, plus U+FFFD which is what undecodable bytes turn into.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  const bad = /[\u0000-\u0009\u000b-\u001f\ufffd]/u.exec(text);
  if (bad) {
    throw malformed(
      `${what} contains the character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")} at offset ${bad.index}; notes allow no control characters but newline`,
    );
  }
}

/** Parses a signed note; checks its shape, not its signatures. */
export function parseNote(input: string | Uint8Array): Note {
  let note: string;
  if (typeof input === "string") {
    note = input;
  } else {
    if (input.length > NOTE_BYTES_MAX) {
      throw malformed(`note is ${input.length} bytes; the limit is ${NOTE_BYTES_MAX}`);
    }
    try {
      note = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw malformed("note is not valid UTF-8");
    }
  }
  const noteBytes = Buffer.byteLength(note, "utf8");
  if (noteBytes > NOTE_BYTES_MAX) {
    throw malformed(`note is ${noteBytes} bytes; the limit is ${NOTE_BYTES_MAX}`);
  }
  checkNoteCharacters(note, "note");
  if (!note.endsWith("\n")) throw malformed("note does not end with a newline");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw malformed("note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const signatureBlock = note.slice(split + 2);
  if (signatureBlock.length === 0) throw malformed("note has no signature lines");
  const lines = signatureBlock.slice(0, -1).split("\n");
  if (lines.length > NOTE_SIGNATURES_MAX) {
    throw malformed(`note has ${lines.length} signatures; the limit is ${NOTE_SIGNATURES_MAX}`);
  }
  const signatures = lines.map((line, index) => parseSignatureLine(line, index + 1));
  return { text, signatures };
}

function parseSignatureLine(line: string, number: number): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX)) {
    throw malformed(`signature line ${number} does not start with an em dash and a space`);
  }
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space <= 0 || rest.indexOf(" ", space + 1) >= 0) {
    throw malformed(`signature line ${number} is not "— <key name> <base64 signature>"`);
  }
  const name = rest.slice(0, space);
  try {
    checkKeyName(name);
  } catch (error) {
    throw malformed(`signature line ${number}: ${(error as Error).message}`);
  }
  const bytes = decodeBase64Strict(rest.slice(space + 1));
  if (bytes === undefined) throw malformed(`signature line ${number} is not valid base64`);
  if (bytes.length <= KEY_ID_BYTES) {
    throw malformed(`signature line ${number} is ${bytes.length} bytes; too short for a key ID`);
  }
  return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(KEY_ID_BYTES) };
}

export function formatSignatureLine(signature: NoteSignature): string {
  const idBytes = Buffer.alloc(KEY_ID_BYTES);
  idBytes.writeUInt32BE(signature.keyId, 0);
  const encoded = Buffer.concat([idBytes, signature.signature]).toString("base64");
  return `${SIGNATURE_PREFIX}${signature.name} ${encoded}\n`;
}

export function formatNote(note: Note): string {
  checkNoteText(note.text);
  if (note.signatures.length === 0) throw malformed("a note needs at least one signature");
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join("")}`;
}

export function checkNoteText(text: string): void {
  checkNoteCharacters(text, "note text");
  if (!text.endsWith("\n")) throw malformed("note text must end with a newline");
}

/** The bytes an Ed25519 cosignature/v1 signs: two header lines, then the checkpoint body. */
export function cosignatureMessage(text: string, timestampSeconds: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestampSeconds}\n${text}`, "utf8");
}

/** A plain Ed25519 note signature (type 0x01) over the text. */
export function signNoteText(text: string, signer: NoteSigner): NoteSignature {
  checkNoteText(text);
  checkKeyName(signer.name);
  const verifier = publicKeyId(signer, SIGNATURE_TYPE_ED25519);
  return {
    name: signer.name,
    keyId: verifier,
    signature: ed25519Sign(signer.privateKey, Buffer.from(text, "utf8")),
  };
}

/** A timestamped Ed25519 cosignature (type 0x04) over the text. */
export function cosignNoteText(
  text: string,
  cosigner: NoteSigner,
  timestampSeconds: bigint,
): NoteSignature {
  checkNoteText(text);
  checkKeyName(cosigner.name);
  if (timestampSeconds < 0n || timestampSeconds > (1n << 63n) - 1n) {
    throw new CheckpointError(
      "WITNZ_CHECKPOINT_MALFORMED",
      `cosignature timestamp ${timestampSeconds} is outside 0..2^63-1`,
    );
  }
  const timestamp = Buffer.alloc(TIMESTAMP_BYTES);
  timestamp.writeBigUInt64BE(timestampSeconds, 0);
  const signature = ed25519Sign(cosigner.privateKey, cosignatureMessage(text, timestampSeconds));
  return {
    name: cosigner.name,
    keyId: publicKeyId(cosigner, SIGNATURE_TYPE_COSIGNATURE_V1),
    signature: Buffer.concat([timestamp, signature]),
  };
}

/**
 * Key IDs by private key, then by name and signature type. Deriving the public key costs more
 * than the signature itself (about 100 us against 40), and a node signs a checkpoint per commit
 * with the same key.
 */
const keyIds = new WeakMap<KeyObject, Map<string, number>>();

function publicKeyId(signer: NoteSigner, type: SignatureType): number {
  let byNameAndType = keyIds.get(signer.privateKey);
  if (byNameAndType === undefined) {
    byNameAndType = new Map();
    keyIds.set(signer.privateKey, byNameAndType);
  }
  const cacheKey = `${type} ${signer.name}`;
  let id = byNameAndType.get(cacheKey);
  if (id === undefined) {
    id = computeKeyId(signer.name, type, ed25519PublicKeyRaw(signer.privateKey));
    byNameAndType.set(cacheKey, id);
  }
  return id;
}

export interface VerifiedSignature {
  readonly verifier: NoteVerifier;
  /** For cosignatures: the POSIX time the cosigner put in its signature. */
  readonly timestampSeconds?: bigint;
}

/**
 * Checks every signature whose (name, key ID) matches a known verifier. Unknown signatures are
 * ignored; a known one that fails rejects the note; at least one must verify.
 */
export function verifyNote(note: Note, verifiers: readonly NoteVerifier[]): VerifiedSignature[] {
  const verified: VerifiedSignature[] = [];
  for (const signature of note.signatures) {
    const verifier = verifiers.find(
      (candidate) => candidate.name === signature.name && candidate.keyId === signature.keyId,
    );
    if (verifier === undefined) continue;
    const result = checkSignature(note.text, signature, verifier);
    if (result === undefined) {
      throw new CheckpointError(
        "WITNZ_SIGNATURE_INVALID",
        `signature by ${signature.name} (key ID ${signature.keyId.toString(16).padStart(8, "0")}) does not verify`,
      );
    }
    verified.push(result);
  }
  if (verified.length === 0) {
    const known = verifiers.map((verifier) => verifier.name).join(", ") || "none";
    throw new CheckpointError(
      "WITNZ_SIGNATURE_MISSING",
      `no signature from a known key (known: ${known}; present: ${note.signatures.map((s) => s.name).join(", ")})`,
    );
  }
  return verified;
}

function checkSignature(
  text: string,
  signature: NoteSignature,
  verifier: NoteVerifier,
): VerifiedSignature | undefined {
  if (verifier.type === SIGNATURE_TYPE_ED25519) {
    if (signature.signature.length !== ED25519_SIGNATURE_BYTES) return undefined;
    const ok = ed25519Verify(verifier.publicKey, Buffer.from(text, "utf8"), signature.signature);
    return ok ? { verifier } : undefined;
  }
  if (signature.signature.length !== TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES) return undefined;
  const timestampSeconds = signature.signature.readBigUInt64BE(0);
  if (timestampSeconds > (1n << 63n) - 1n) return undefined;
  const ok = ed25519Verify(
    verifier.publicKey,
    cosignatureMessage(text, timestampSeconds),
    signature.signature.subarray(TIMESTAMP_BYTES),
  );
  return ok ? { verifier, timestampSeconds } : undefined;
}
