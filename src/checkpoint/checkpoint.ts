// Checkpoints, c2sp.org/tlog-checkpoint: origin, tree size and base64 root hash, then optional
// extension lines. Witnz adds four extension lines (table, chain head, LSN, time) in that order.
import { CheckpointError } from "./errors.js";
import { decodeBase64Strict, type NoteSigner, type NoteVerifier } from "./keys.js";
import {
  cosignNoteText,
  formatNote,
  type Note,
  type NoteSignature,
  parseNote,
  signNoteText,
  type VerifiedSignature,
  verifyNote,
} from "./note.js";

const HASH_BYTES = 32;

export interface Checkpoint {
  /** Unique identity of the log: no spaces, no plus sign. */
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Opaque, non-empty lines after the root hash. */
  readonly extensions: readonly string[];
}

/** What a Witnz node attests for one table at one size. */
export interface WitnzCheckpointFields {
  /** Schema-qualified table name as Witnz names it (e.g. `public.audit_log`). */
  readonly table: string;
  /** c_n, the chain hash of the last entry (32 zero bytes for an empty chain). */
  readonly chainHash: Uint8Array;
  /** PostgreSQL LSN of the commit that made this size, in its `X/Y` text form. */
  readonly lsn: string;
  /** Wall-clock time of the observation, microseconds since the Unix epoch. */
  readonly timeMicroseconds: bigint;
}

const malformed = (message: string): CheckpointError =>
  new CheckpointError("WITNZ_CHECKPOINT_MALFORMED", message);

const SIZE_PATTERN = /^(0|[1-9][0-9]*)$/;
const LSN_PATTERN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;

function checkOrigin(origin: string): void {
  if (origin.length === 0) throw malformed("checkpoint origin is empty");
  if (/[\s+]/u.test(origin)) {
    throw malformed(`checkpoint origin ${JSON.stringify(origin)} contains a space or a plus sign`);
  }
}

/** The checkpoint body (note text), ending in a newline. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  checkOrigin(checkpoint.origin);
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
    throw malformed(`checkpoint size ${checkpoint.size} is not a non-negative integer`);
  }
  if (checkpoint.rootHash.length !== HASH_BYTES) {
    throw malformed(`checkpoint root hash is ${checkpoint.rootHash.length} bytes; expected 32`);
  }
  for (const line of checkpoint.extensions) {
    if (line.length === 0 || line.includes("\n")) {
      throw malformed("checkpoint extension lines must be non-empty single lines");
    }
  }
  const lines = [
    checkpoint.origin,
    String(checkpoint.size),
    Buffer.from(checkpoint.rootHash).toString("base64"),
    ...checkpoint.extensions,
  ];
  return `${lines.join("\n")}\n`;
}

/** Parses a checkpoint body (the note text, without signatures). */
export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw malformed("checkpoint does not end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) {
    throw malformed(`checkpoint has ${lines.length} lines; it needs origin, size and root hash`);
  }
  const [origin, sizeText, rootText, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  checkOrigin(origin);
  if (!SIZE_PATTERN.test(sizeText)) {
    throw malformed(
      `checkpoint size ${JSON.stringify(sizeText)} is not a decimal without leading zeros`,
    );
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw malformed(`checkpoint size ${sizeText} is too large`);
  const rootHash = decodeBase64Strict(rootText);
  if (rootHash === undefined) throw malformed("checkpoint root hash is not valid base64");
  if (rootHash.length !== HASH_BYTES) {
    throw malformed(`checkpoint root hash is ${rootHash.length} bytes; expected 32`);
  }
  extensions.forEach((line, index) => {
    if (line.length === 0) throw malformed(`checkpoint extension line ${index + 1} is empty`);
  });
  return { origin, size, rootHash, extensions };
}

export function witnzExtensions(fields: WitnzCheckpointFields): string[] {
  if (fields.chainHash.length !== HASH_BYTES) {
    throw malformed(`chain hash is ${fields.chainHash.length} bytes; expected 32`);
  }
  if (!LSN_PATTERN.test(fields.lsn)) {
    throw malformed(`LSN ${JSON.stringify(fields.lsn)} is not of the form X/Y in upper-case hex`);
  }
  if (fields.timeMicroseconds < 0n) throw malformed("checkpoint time is negative");
  return [
    `witnz-table ${JSON.stringify(fields.table)}`,
    `witnz-chain ${Buffer.from(fields.chainHash).toString("base64")}`,
    `witnz-lsn ${fields.lsn}`,
    `witnz-time-us ${fields.timeMicroseconds}`,
  ];
}

/** Reads the Witnz extension lines; refuses a checkpoint that lacks them or has others. */
export function readWitnzFields(checkpoint: Checkpoint): WitnzCheckpointFields {
  const expected = ["witnz-table", "witnz-chain", "witnz-lsn", "witnz-time-us"];
  if (checkpoint.extensions.length !== expected.length) {
    throw malformed(
      `a Witnz checkpoint has ${expected.length} extension lines (${expected.join(", ")}); got ${checkpoint.extensions.length}`,
    );
  }
  const values = checkpoint.extensions.map((line, index) => {
    const prefix = `${expected[index]} `;
    if (!line.startsWith(prefix)) {
      throw malformed(`extension line ${index + 1} must start with "${prefix}"`);
    }
    return line.slice(prefix.length);
  }) as [string, string, string, string];
  let table: unknown;
  try {
    table = JSON.parse(values[0]);
  } catch {
    table = undefined;
  }
  if (typeof table !== "string" || table.length === 0) {
    throw malformed("witnz-table is not a JSON string");
  }
  const chainHash = decodeBase64Strict(values[1]);
  if (chainHash === undefined || chainHash.length !== HASH_BYTES) {
    throw malformed("witnz-chain is not a base64 32-byte hash");
  }
  if (!LSN_PATTERN.test(values[2])) throw malformed("witnz-lsn is not of the form X/Y");
  if (!/^(0|[1-9][0-9]*)$/.test(values[3])) {
    throw malformed("witnz-time-us is not a decimal number of microseconds");
  }
  return { table, chainHash, lsn: values[2], timeMicroseconds: BigInt(values[3]) };
}

export interface ParsedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: Note;
}

/**
 * Parses a signed checkpoint note without verifying any signature. Its contents must not be
 * trusted until verifyCheckpoint has checked it against a trusted key.
 */
export function parseCheckpoint(signedNote: string | Uint8Array): ParsedCheckpoint {
  const note = parseNote(signedNote);
  return { checkpoint: parseCheckpointBody(note.text), note };
}

/** Signs a checkpoint with an Ed25519 note signature; returns the signed note. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  const text = formatCheckpoint(checkpoint);
  return formatNote({ text, signatures: [signNoteText(text, signer)] });
}

export interface VerifiedCheckpoint extends ParsedCheckpoint {
  /** The known keys whose signatures verified. */
  readonly verified: readonly VerifiedSignature[];
}

/**
 * Verifies a signed checkpoint against trusted verifier keys (c2sp.org/signed-note rules) and
 * parses its body. Throws CheckpointError when the note or body is malformed, when a known key's
 * signature fails, or when no known key signed it.
 */
export function verifyCheckpoint(
  signedNote: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): VerifiedCheckpoint {
  const { checkpoint, note } = parseCheckpoint(signedNote);
  return { checkpoint, note, verified: verifyNote(note, verifiers) };
}

/**
 * Adds a tlog-cosignature/v1 line to a signed checkpoint. A cosigner that already signed the
 * same note is replaced, so cosigning twice never yields two lines from one key.
 */
export function cosignCheckpoint(
  signedNote: string | Uint8Array,
  cosigner: NoteSigner,
  timestampSeconds: bigint | number,
): string {
  const { note } = parseCheckpoint(signedNote);
  const cosignature = cosignNoteText(note.text, cosigner, BigInt(timestampSeconds));
  const others = note.signatures.filter(
    (signature: NoteSignature) =>
      !(signature.name === cosignature.name && signature.keyId === cosignature.keyId),
  );
  return formatNote({ text: note.text, signatures: [...others, cosignature] });
}

/**
 * Verifies the cosignature of one cosigner (a verifier of type 0x04) on a signed checkpoint and
 * returns its timestamp. Throws CheckpointError when it is absent or does not verify.
 */
export function verifyCosignature(
  signedNote: string | Uint8Array,
  cosigner: NoteVerifier,
): { checkpoint: Checkpoint; timestampSeconds: bigint } {
  const { checkpoint, note } = parseCheckpoint(signedNote);
  if (cosigner.type !== 0x04) {
    throw new CheckpointError(
      "WITNZ_KEY_MALFORMED",
      `verifier ${cosigner.name} is not a cosignature/v1 key (type 0x04)`,
    );
  }
  const [result] = verifyNote(note, [cosigner]);
  return { checkpoint, timestampSeconds: result!.timestampSeconds! };
}

/** The origin line of a table's log: `<cluster origin>/<percent-encoded schema.table>`. */
export function tableOrigin(clusterOrigin: string, table: string): string {
  const origin = `${clusterOrigin}/${encodeURIComponent(table)}`;
  checkOrigin(origin);
  return origin;
}
