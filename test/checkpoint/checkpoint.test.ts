import { describe, expect, test } from "vitest";
import {
  type Checkpoint,
  CheckpointError,
  cosignCheckpoint,
  formatCheckpoint,
  formatVerifierKey,
  NOTE_BYTES_MAX,
  noteVerifier,
  parseCheckpoint,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  readWitnzFields,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  signCheckpoint,
  signNoteText,
  tableOrigin,
  verifyCheckpoint,
  verifyCosignature,
  verifyNote,
  witnzExtensions,
} from "../../src/checkpoint/index.js";
import { generateEd25519KeyPair } from "../../src/crypto/index.js";

// Known answers from the reference implementation of signed notes (Go's sumdb/note package
// documentation) and from the c2sp.org/signed-note specification.
const GO_SIGNER_KEY =
  "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
const SPEC_VERIFIER_KEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE =
  "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

// A cosignature/v1 known answer made with OpenSSL (an independent Ed25519 implementation) from the
// seed of GO_SIGNER_KEY, over the c2sp.org/tlog-checkpoint example body at time 1679315147.
const SOFA_BODY =
  "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const COSIGNER_VERIFIER_KEY =
  "witness.example/w1+cc9a7044+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const COSIGNATURE_LINE =
  "— witness.example/w1 zJpwRAAAAABkGFDLJeR//pqzhnEKVvEm2wWbh2RJ6oru5+cUUfm5X9NnlaGr8aSH9QE5RVZD4QGlxl2F5UpVIIi94p178KLfqPPsAA==\n";

function expectCheckpointError(run: () => unknown, code: string, message: string | RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CheckpointError);
  expect((caught as CheckpointError).code).toBe(code);
  if (typeof message === "string") expect((caught as Error).message).toBe(message);
  else expect((caught as Error).message).toMatch(message);
}

function freshSigner(name: string) {
  const { privateKey, publicKey } = generateEd25519KeyPair();
  return {
    signer: { name, privateKey },
    verifier: noteVerifier(name, SIGNATURE_TYPE_ED25519, publicKey),
    cosignVerifier: noteVerifier(name, SIGNATURE_TYPE_COSIGNATURE_V1, publicKey),
  };
}

describe("signed notes (c2sp.org/signed-note)", () => {
  test("signing reproduces the reference note byte for byte, and it verifies", () => {
    const signer = parseSignerKey(GO_SIGNER_KEY);
    const verifier = parseVerifierKey(GO_VERIFIER_KEY);
    expect(verifier.keyId).toBe(0xc74f20a3);
    expect(formatVerifierKey(verifier)).toBe(GO_VERIFIER_KEY);
    const signature = signNoteText(GO_TEXT, signer);
    expect(
      `${GO_TEXT}\n— PeterNeumann ${Buffer.concat([Buffer.from("c74f20a3", "hex"), signature.signature]).toString("base64")}\n`,
    ).toBe(GO_NOTE);
    expect(verifyNote(parseNote(GO_NOTE), [verifier])).toHaveLength(1);
  });

  test("the specification's example verifies with its vkey", () => {
    const verifier = parseVerifierKey(SPEC_VERIFIER_KEY);
    const note = parseNote(SPEC_NOTE);
    expect(note.text).toBe("This is an example message.\n");
    expect(verifyNote(note, [verifier])[0]!.verifier.name).toBe("example.com/foo");
  });

  test("unknown keys are ignored, a failing known key rejects, no known key rejects", () => {
    const other = freshSigner("other.example/key");
    const goVerifier = parseVerifierKey(GO_VERIFIER_KEY);
    const withExtra = `${GO_NOTE.slice(0, -1)}\n${"— other.example/key AAAAAAAA\n"}`;
    expect(verifyNote(parseNote(withExtra), [goVerifier])).toHaveLength(1);
    expectCheckpointError(
      () => verifyNote(parseNote(GO_NOTE), [other.verifier]),
      "WITNZ_SIGNATURE_MISSING",
      "no signature from a known key (known: other.example/key; present: PeterNeumann)",
    );
    const forged = GO_NOTE.replace("If you think", "If you thought");
    expectCheckpointError(
      () => verifyNote(parseNote(forged), [goVerifier]),
      "WITNZ_SIGNATURE_INVALID",
      "signature by PeterNeumann (key ID c74f20a3) does not verify",
    );
  });

  test("malformed notes are refused with the reason", () => {
    const cases: Array<[string | Uint8Array, string | RegExp]> = [
      [GO_NOTE.slice(0, -1), "note does not end with a newline"],
      ["just text\n", "note has no blank line before its signatures"],
      ["text\n\n", "note has no signature lines"],
      [
        "text\n\n- PeterNeumann AAAAAAAA\n",
        "signature line 1 does not start with an em dash and a space",
      ],
      ["text\n\n— PeterNeumann\n", 'signature line 1 is not "— <key name> <base64 signature>"'],
      ["text\n\n— PeterNeumann not*base64\n", "signature line 1 is not valid base64"],
      ["text\n\n— PeterNeumann AAAA\n", "signature line 1 is 3 bytes; too short for a key ID"],
      [
        "te\u0007xt\n\n— a AAAAAAAA\n",
        "note contains the character U+0007 at offset 2; notes allow no control characters but newline",
      ],
      [Buffer.from([0x74, 0xff, 0x0a, 0x0a]), "note is not valid UTF-8"],
      [
        `${"x".repeat(NOTE_BYTES_MAX)}\n\n— a AAAAAAAA\n`,
        /^note is \d+ bytes; the limit is 65536$/,
      ],
      [`text\n\n${"— a AAAAAAAA\n".repeat(65)}`, "note has 65 signatures; the limit is 64"],
    ];
    for (const [input, message] of cases) {
      expectCheckpointError(() => parseNote(input), "WITNZ_NOTE_MALFORMED", message);
    }
  });

  test("malformed keys are refused with the reason", () => {
    const cases: Array<[string, string]> = [
      ["PeterNeumann+c74f20a3", "verifier key must have 3 parts separated by '+', got 2"],
      [
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "verifier key key ID must be 8 lowercase hex digits",
      ],
      [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "verifier key ID c74f20a4 does not match its name and key (expected c74f20a3)",
      ],
      [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "verifier key key material is not valid base64",
      ],
      [
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "verifier key has unsupported signature type 0x65; supported: 0x01 Ed25519, 0x04 cosignature/v1",
      ],
    ];
    for (const [key, message] of cases) {
      expectCheckpointError(() => parseVerifierKey(key), "WITNZ_KEY_MALFORMED", message);
    }
    expectCheckpointError(
      () => parseSignerKey(GO_SIGNER_KEY.replace("PRIVATE", "PUBLIC")),
      "WITNZ_KEY_MALFORMED",
      "signer key must start with PRIVATE+KEY+",
    );
    expectCheckpointError(
      () => noteVerifier("has space", SIGNATURE_TYPE_ED25519, generateEd25519KeyPair().publicKey),
      "WITNZ_KEY_MALFORMED",
      'key name "has space" contains a space or a plus sign',
    );
  });
});

describe("checkpoints (c2sp.org/tlog-checkpoint)", () => {
  const root = Buffer.alloc(32, 7);
  const checkpoint: Checkpoint = {
    origin: "witnz.example/cluster-1/public.audit_log",
    size: 42,
    rootHash: root,
    extensions: witnzExtensions({
      table: "public.audit_log",
      chainHash: Buffer.alloc(32, 9),
      lsn: "0/16B3748",
      timeMicroseconds: 1_763_891_200_123_456n,
    }),
  };

  test("body format is origin, size, base64 root, then the Witnz extension lines", () => {
    expect(formatCheckpoint(checkpoint)).toBe(
      [
        "witnz.example/cluster-1/public.audit_log",
        "42",
        root.toString("base64"),
        'witnz-table "public.audit_log"',
        `witnz-chain ${Buffer.alloc(32, 9).toString("base64")}`,
        "witnz-lsn 0/16B3748",
        "witnz-time-us 1763891200123456",
        "",
      ].join("\n"),
    );
  });

  test("sign, parse and verify round-trip; the Witnz fields read back", () => {
    const node = freshSigner("witnz.example/node/a");
    const note = signCheckpoint(checkpoint, node.signer);
    const verified = verifyCheckpoint(note, [node.verifier]);
    expect(verified.checkpoint).toEqual({ ...checkpoint, rootHash: root });
    expect(verified.verified.map((v) => v.verifier.name)).toEqual(["witnz.example/node/a"]);
    expect(readWitnzFields(verified.checkpoint)).toEqual({
      table: "public.audit_log",
      chainHash: Buffer.alloc(32, 9),
      lsn: "0/16B3748",
      timeMicroseconds: 1_763_891_200_123_456n,
    });
  });

  test("any change to a signed checkpoint fails verification", () => {
    const node = freshSigner("witnz.example/node/a");
    const note = signCheckpoint(checkpoint, node.signer);
    const tampered = [
      note.replace("\n42\n", "\n43\n"),
      note.replace("witnz-lsn 0/16B3748", "witnz-lsn 0/16B3749"),
    ];
    for (const text of tampered) {
      expect(text).not.toBe(note);
      expectCheckpointError(
        () => verifyCheckpoint(text, [node.verifier]),
        "WITNZ_SIGNATURE_INVALID",
        /does not verify$/,
      );
    }
    const stranger = freshSigner("witnz.example/node/a");
    expectCheckpointError(
      () => verifyCheckpoint(note, [stranger.verifier]),
      "WITNZ_SIGNATURE_MISSING",
      /^no signature from a known key/,
    );
  });

  test("malformed checkpoint bodies are refused with the reason", () => {
    const signer = freshSigner("k").signer;
    const sign = (text: string) => `${text}\n${"— k AAAAAAAA\n"}`;
    const b64 = root.toString("base64");
    const cases: Array<[string, string]> = [
      ["origin\n12\n", "checkpoint has 2 lines; it needs origin, size and root hash"],
      [`origin\n012\n${b64}\n`, 'checkpoint size "012" is not a decimal without leading zeros'],
      [`origin\n-1\n${b64}\n`, 'checkpoint size "-1" is not a decimal without leading zeros'],
      [
        `origin\n99999999999999999999\n${b64}\n`,
        "checkpoint size 99999999999999999999 is too large",
      ],
      ["origin\n1\nnot-base64\n", "checkpoint root hash is not valid base64"],
      [
        `origin\n1\n${Buffer.alloc(31).toString("base64")}\n`,
        "checkpoint root hash is 31 bytes; expected 32",
      ],
      [`has space\n1\n${b64}\n`, 'checkpoint origin "has space" contains a space or a plus sign'],
    ];
    for (const [body, message] of cases) {
      expectCheckpointError(
        () => parseCheckpoint(sign(body)),
        "WITNZ_CHECKPOINT_MALFORMED",
        message,
      );
    }
    expectCheckpointError(
      () => signCheckpoint({ ...checkpoint, rootHash: Buffer.alloc(16) }, signer),
      "WITNZ_CHECKPOINT_MALFORMED",
      "checkpoint root hash is 16 bytes; expected 32",
    );
    expectCheckpointError(
      () => readWitnzFields({ ...checkpoint, extensions: [] }),
      "WITNZ_CHECKPOINT_MALFORMED",
      "a Witnz checkpoint has 4 extension lines (witnz-table, witnz-chain, witnz-lsn, witnz-time-us); got 0",
    );
    expectCheckpointError(
      () =>
        witnzExtensions({
          table: "t",
          chainHash: Buffer.alloc(32),
          lsn: "16B3748",
          timeMicroseconds: 0n,
        }),
      "WITNZ_CHECKPOINT_MALFORMED",
      'LSN "16B3748" is not of the form X/Y in upper-case hex',
    );
  });
});

describe("cosignatures (c2sp.org/tlog-cosignature, Ed25519 v1)", () => {
  test("reproduce the independent known answer and verify it", () => {
    const { privateKey } = parseSignerKey(GO_SIGNER_KEY);
    const cosigner = { name: "witness.example/w1", privateKey };
    const verifier = parseVerifierKey(COSIGNER_VERIFIER_KEY);
    expect(
      formatVerifierKey(
        noteVerifier("witness.example/w1", SIGNATURE_TYPE_COSIGNATURE_V1, verifier.publicKey),
      ),
    ).toBe(COSIGNER_VERIFIER_KEY);
    const log = freshSigner("example.com/behind-the-sofa");
    const signedByLog = `${SOFA_BODY}\n— example.com/behind-the-sofa ${Buffer.concat([Buffer.alloc(4), signNoteText(SOFA_BODY, log.signer).signature]).toString("base64")}\n`;
    const cosigned = cosignCheckpoint(signedByLog, cosigner, 1679315147);
    expect(cosigned.endsWith(COSIGNATURE_LINE)).toBe(true);
    expect(verifyCosignature(cosigned, verifier).timestampSeconds).toBe(1679315147n);
  });

  test("a cosignature over a changed body, from an unknown key, or absent is refused", () => {
    const node = freshSigner("witnz.example/node/a");
    const witness = freshSigner("witnz.example/witness/1");
    const checkpoint: Checkpoint = {
      origin: "witnz.example/t",
      size: 3,
      rootHash: Buffer.alloc(32, 1),
      extensions: [],
    };
    const cosigned = cosignCheckpoint(
      signCheckpoint(checkpoint, node.signer),
      witness.signer,
      1_700_000_000,
    );
    expect(verifyCosignature(cosigned, witness.cosignVerifier).checkpoint.size).toBe(3);
    // The same key under type 0x01 has another key ID: it must not be taken for a cosignature.
    expectCheckpointError(
      () => verifyCosignature(cosigned, witness.verifier),
      "WITNZ_KEY_MALFORMED",
      "verifier witnz.example/witness/1 is not a cosignature/v1 key (type 0x04)",
    );
    expectCheckpointError(
      () => verifyCosignature(cosigned.replace("\n3\n", "\n4\n"), witness.cosignVerifier),
      "WITNZ_SIGNATURE_INVALID",
      /^signature by witnz.example\/witness\/1 \(key ID [0-9a-f]{8}\) does not verify$/,
    );
    const other = freshSigner("witnz.example/witness/2");
    expectCheckpointError(
      () => verifyCosignature(cosigned, other.cosignVerifier),
      "WITNZ_SIGNATURE_MISSING",
      /^no signature from a known key/,
    );
    // Cosigning again replaces the cosigner's line instead of adding a second one.
    const again = cosignCheckpoint(cosigned, witness.signer, 1_700_000_001);
    expect(parseNote(again).signatures).toHaveLength(2);
    expect(verifyCosignature(again, witness.cosignVerifier).timestampSeconds).toBe(1_700_000_001n);
    // The node's own signature still verifies next to the cosignature.
    expect(verifyCheckpoint(again, [node.verifier]).verified).toHaveLength(1);
  });
});

describe("table origins", () => {
  test("a table name with spaces, plus signs or quotes still yields a valid origin", () => {
    expect(tableOrigin("witnz.example/c1", "public.audit_log")).toBe(
      "witnz.example/c1/public.audit_log",
    );
    expect(tableOrigin("witnz.example/c1", 'Billing."Audit Log"+x')).toBe(
      "witnz.example/c1/Billing.%22Audit%20Log%22%2Bx",
    );
    expectCheckpointError(
      () => tableOrigin("has space", "t"),
      "WITNZ_CHECKPOINT_MALFORMED",
      /contains a space/,
    );
  });
});
