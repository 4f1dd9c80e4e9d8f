// The witness's pure core: majority vote, the cosigning rule and admission, one refusal code each.
import { describe, expect, test } from "vitest";
import { parseVerifierKey } from "../../src/checkpoint/index.js";
import { ed25519Sign } from "../../src/crypto/index.js";
import { MerkleTree } from "../../src/merkle/index.js";
import {
  admitSubmission,
  checkQuery,
  decideCosign,
  decideVote,
  type EnvelopeObservation,
  type NodeRegistry,
  type QueryFields,
  QueryReplayGuard,
  queryMessage,
  submissionEnvelope,
} from "../../src/witness/index.js";
import { CUSTOMER, FixtureNode, TABLE } from "./fixtures.js";

const value = (node: string, byte: number) => ({
  node,
  rootHash: new Uint8Array(32).fill(byte),
  chainHash: new Uint8Array(32).fill(byte + 100),
});

describe("majority vote", () => {
  const expected = ["node1", "node2", "node3"];

  test("every node reports the same value: unanimous", () => {
    const result = decideVote(expected, [value("node1", 1), value("node2", 1), value("node3", 1)]);
    expect(result.outcome).toBe("unanimous");
    expect(result.majorityNodes).toEqual(["node1", "node2", "node3"]);
    expect(result.minority).toEqual([]);
  });

  test("one node differs: tampering_detected names it with its hash", () => {
    const result = decideVote(expected, [value("node1", 9), value("node2", 1), value("node3", 1)]);
    expect(result.outcome).toBe("tampering_detected");
    expect(result.majorityNodes).toEqual(["node2", "node3"]);
    expect(result.minority).toEqual([value("node1", 9)]);
    expect(Buffer.from(result.majority!.rootHash)).toEqual(Buffer.alloc(32, 1));
  });

  test("two of three agree on an altered value: the honest node is the minority", () => {
    const result = decideVote(expected, [value("node1", 1), value("node2", 9), value("node3", 9)]);
    expect(result.outcome).toBe("tampering_detected");
    expect(result.minority.map((entry) => entry.node)).toEqual(["node1"]);
  });

  test("a silent node: incomplete_submission names it, the agreeing majority stands", () => {
    const result = decideVote(expected, [value("node1", 1), value("node3", 1)]);
    expect(result.outcome).toBe("incomplete_submission");
    expect(result.missing).toEqual(["node2"]);
    expect(result.majority).toBeDefined();
    const alone = decideVote(expected, [value("node1", 1)]);
    expect(alone.outcome).toBe("incomplete_submission");
    expect(alone.majority).toBeUndefined();
  });

  test("three different values, or two against one silent: no_majority", () => {
    expect(
      decideVote(expected, [value("node1", 1), value("node2", 2), value("node3", 3)]).outcome,
    ).toBe("no_majority");
    expect(decideVote(expected, [value("node1", 1), value("node2", 2)]).outcome).toBe(
      "no_majority",
    );
  });

  test("reports from nodes that are not expected are not counted", () => {
    const result = decideVote(expected, [
      value("node1", 1),
      value("node2", 1),
      value("node3", 1),
      value("intruder", 7),
    ]);
    expect(result.outcome).toBe("unanimous");
  });
});

describe("cosigning rule", () => {
  const build = (leaves: number, altered?: number) => {
    const tree = MerkleTree.create();
    for (let i = 1; i <= leaves; i++) tree.append(Buffer.from(i === altered ? "x" : `row${i}`));
    return tree;
  };

  test("a chain of the node's own proofs back to the cosigned size is enough", () => {
    const tree = build(10);
    const anchor = { size: 4, rootHash: tree.rootAt(4) };
    const observations = new Map(
      [
        [7, 4],
        [10, 7],
      ].map(([size, from]) => [
        size!,
        {
          size: size!,
          rootHash: tree.rootAt(size!),
          consistencyFromSize: from!,
          consistencyProof: tree.consistencyProof(from!, size!),
        },
      ]),
    );
    const decision = decideCosign(anchor, observations.get(10)!, (size) => observations.get(size));
    expect(decision).toEqual({ cosign: true, links: 2 });
  });

  test("a tree that rewrote history is never cosigned after the cosigned one", () => {
    const honest = build(4);
    const rewritten = build(6, 2);
    const decision = decideCosign(
      { size: 4, rootHash: honest.rootAt(4) },
      {
        size: 6,
        rootHash: rewritten.rootAt(6),
        consistencyFromSize: 4,
        consistencyProof: rewritten.consistencyProof(4, 6),
      },
      () => undefined,
    );
    expect(decision).toMatchObject({ cosign: false, inconsistent: true });
  });

  test("a missing link, a size below the cosigned one, a second root at the same size", () => {
    const tree = build(8);
    const anchor = { size: 4, rootHash: tree.rootAt(4) };
    const target = {
      size: 8,
      rootHash: tree.rootAt(8),
      consistencyFromSize: 6,
      consistencyProof: tree.consistencyProof(6, 8),
    };
    expect(decideCosign(anchor, target, () => undefined)).toMatchObject({
      cosign: false,
      inconsistent: false,
    });
    expect(
      decideCosign(anchor, { ...target, size: 3, rootHash: tree.rootAt(3) }, () => undefined),
    ).toMatchObject({ cosign: false });
    expect(
      decideCosign(anchor, { ...target, size: 4, rootHash: tree.rootAt(5) }, () => undefined),
    ).toMatchObject({ cosign: false, inconsistent: true });
    expect(decideCosign(undefined, target, () => undefined)).toEqual({ cosign: true, links: 0 });
  });
});

describe("admission", () => {
  const node = new FixtureNode("node1");
  const registry: NodeRegistry = new Map([
    [CUSTOMER, new Map([["node1", parseVerifierKey(node.verifierKey)]])],
  ]);
  node.append(3);
  const observation = node.observe();
  const observations: EnvelopeObservation[] = [
    {
      checkpoint: observation.checkpoint,
      consistencyFromSize: 0,
      consistencyProof: [],
      dataHash: new Uint8Array(0),
    },
  ];
  const request = (sequence: number, overrides: object = {}) => {
    const base = { customerId: CUSTOMER, nodeId: "node1", sequence, observations, ...overrides };
    return { ...base, signature: ed25519Sign(node.signer.privateKey, submissionEnvelope(base)) };
  };

  test("a signed submission is admitted with the checkpoint's content", () => {
    const admission = admitSubmission(registry, request(5), undefined);
    expect(admission.ok).toBe(true);
    if (!admission.ok) return;
    expect(admission.observations[0]).toMatchObject({ table: TABLE, size: 3 });
    expect(admission.nextState.lastSequence).toBe(5);
  });

  test("each refusal has its own code", () => {
    const admitted = admitSubmission(registry, request(5), undefined);
    if (!admitted.ok) throw new Error("not admitted");
    const state = admitted.nextState;
    const code = (result: ReturnType<typeof admitSubmission>) => (result.ok ? "ok" : result.code);
    expect(code(admitSubmission(registry, request(6, { customerId: "other" }), undefined))).toBe(
      "WITNZ_WITNESS_CUSTOMER_UNKNOWN",
    );
    expect(code(admitSubmission(registry, request(6, { nodeId: "node9" }), undefined))).toBe(
      "WITNZ_WITNESS_NODE_UNKNOWN",
    );
    const forged = { ...request(6), sequence: 7 };
    expect(code(admitSubmission(registry, forged, state))).toBe("WITNZ_WITNESS_SIGNATURE_INVALID");
    expect(code(admitSubmission(registry, request(5), state))).toBe("WITNZ_WITNESS_REPLAY");
    expect(code(admitSubmission(registry, request(4), state))).toBe(
      "WITNZ_WITNESS_SEQUENCE_BACKWARDS",
    );
    const many = Array.from({ length: 1001 }, () => observations[0]!);
    expect(code(admitSubmission(registry, request(6, { observations: many }), state))).toBe(
      "WITNZ_WITNESS_TOO_LARGE",
    );
    const other = new FixtureNode("node1");
    other.append(3);
    const foreign = [{ ...observations[0]!, checkpoint: other.observe().checkpoint }];
    expect(code(admitSubmission(registry, request(6, { observations: foreign }), state))).toBe(
      "WITNZ_WITNESS_CHECKPOINT_INVALID",
    );
    expect(code(admitSubmission(registry, request(6, { observations: [] }), state))).toBe(
      "WITNZ_WITNESS_MALFORMED",
    );
    expect(code(admitSubmission(registry, request(6), state))).toBe("ok");
  });

  test("the envelope bytes are fixed (test vector)", () => {
    const note = "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— k AAAA\n";
    const envelope = submissionEnvelope({
      customerId: "acme",
      nodeId: "node1",
      sequence: 42,
      observations: [
        {
          checkpoint: note,
          consistencyFromSize: 0,
          consistencyProof: [],
          dataHash: new Uint8Array(0),
        },
      ],
    });
    expect(envelope.toString("utf8")).toBe(
      [
        "witnz-submission/v1",
        'customer "acme"',
        'node "node1"',
        "sequence 42",
        "observations 1",
        "observation 2md4SPEWBiRwylCLNoqNB2Z2mYbSo637KpauxKeAnfA= 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= -",
        "",
      ].join("\n"),
    );
  });
});

describe("witness configuration", () => {
  test("customers and their nodes' verifier keys; refused on a raft node and when malformed", async () => {
    const { parseConfig } = await import("../../src/config/index.js");
    const node = new FixtureNode("node1");
    const witness = `node:\n  id: w1\n  role: witness\n  grpc_addr: 127.0.0.1:9000\n  data_dir: /d\ncustomers:\n  - id: acme\n    nodes:\n      - id: node1\n        verifier_key: ${JSON.stringify(node.verifierKey)}\n`;
    const { config } = parseConfig(witness);
    expect(config.customers).toEqual([
      { id: "acme", nodes: [{ id: "node1", verifierKey: node.verifierKey }] },
    ]);
    expect(() => parseConfig(witness.replace(node.verifierKey, "nope"))).toThrow(
      /customers\[0\]\.nodes\[0\]\.verifier_key: "nope" is not a verifier key/,
    );
    expect(() =>
      parseConfig(
        `${witness}      - id: node1\n        verifier_key: ${JSON.stringify(node.verifierKey)}\n`,
      ),
    ).toThrow(/customers\[0\]\.nodes\[1\]\.id: "node1" is listed twice/);
    const raft = `database:\n  database: d\n  user: u\nnode:\n  id: n1\n  bind_addr: n1:7000\n  data_dir: /d\nprotected_tables:\n  - name: t\ncustomers:\n  - id: acme\n    nodes: []\n`;
    expect(() => parseConfig(raft)).toThrow(/customers: not allowed when node.role is raft/);
  });
});

describe("queries", () => {
  const node = new FixtureNode("node1");
  const registry: NodeRegistry = new Map([
    [CUSTOMER, new Map([["node1", parseVerifierKey(node.verifierKey)]])],
  ]);
  const WITNESS = "witness1";
  const fields: QueryFields = {
    method: "GetVerdict",
    customerId: CUSTOMER,
    nodeId: "node1",
    witnessId: WITNESS,
    timeUnixSeconds: 1_763_900_000,
    nonce: "00112233445566778899aabbccddeeff",
    table: TABLE,
    size: 42,
  };
  const signature = ed25519Sign(node.signer.privateKey, queryMessage(fields));
  const check = (asked: QueryFields | undefined, signed: Uint8Array, now: number) =>
    checkQuery(registry, WITNESS, asked, signed, now)?.code;

  test("the signed text, line by line", () => {
    expect(queryMessage(fields).toString("utf8")).toBe(
      `witnz-query/v2\nmethod GetVerdict\ncustomer "${CUSTOMER}"\nnode "node1"\nwitness "witness1"\ntime 1763900000\nnonce 00112233445566778899aabbccddeeff\ntable "${TABLE}"\nsize 42\n`,
    );
    expect(
      queryMessage({
        method: "ListLatest",
        customerId: CUSTOMER,
        nodeId: "n",
        witnessId: "w",
        timeUnixSeconds: 7,
        nonce: "ff".repeat(16),
      })
        .toString("utf8")
        .split("\n")
        .slice(7),
    ).toEqual(["table -", "size -", ""]);
  });

  test("answered within 300 s of the witness's clock, either way; refused past it", () => {
    const time = fields.timeUnixSeconds;
    for (const now of [time, time - 300, time + 300]) {
      expect(check(fields, signature, now)).toBeUndefined();
    }
    expect(check(fields, signature, time + 301)).toBe("WITNZ_WITNESS_QUERY_EXPIRED");
    expect(check(fields, signature, time - 301)).toBe("WITNZ_WITNESS_QUERY_EXPIRED");
  });

  test("refused unsigned, from an unknown node or customer, or for another question", () => {
    const now = fields.timeUnixSeconds;
    expect(check(undefined, new Uint8Array(), now)).toBe("WITNZ_WITNESS_QUERY_UNSIGNED");
    expect(check(fields, new Uint8Array(), now)).toBe("WITNZ_WITNESS_QUERY_UNSIGNED");
    expect(check({ ...fields, nodeId: "node9" }, signature, now)).toBe(
      "WITNZ_WITNESS_NODE_UNKNOWN",
    );
    expect(check({ ...fields, customerId: "other" }, signature, now)).toBe(
      "WITNZ_WITNESS_NODE_UNKNOWN",
    );
    for (const other of [
      { size: 43 },
      { table: "public.other" },
      { method: "ListLatest" as const },
      { nonce: "00112233445566778899aabbccddeefe" },
      { timeUnixSeconds: now + 1 },
    ]) {
      expect(check({ ...fields, ...other }, signature, now)).toBe(
        "WITNZ_WITNESS_SIGNATURE_INVALID",
      );
    }
  });

  test("a query signed for another witness is refused by this one, naming both", () => {
    const elsewhere = { ...fields, witnessId: "witness2" };
    const signed = ed25519Sign(node.signer.privateKey, queryMessage(elsewhere));
    const refusal = checkQuery(registry, WITNESS, elsewhere, signed, fields.timeUnixSeconds);
    expect(refusal?.code).toBe("WITNZ_WITNESS_QUERY_MISDIRECTED");
    expect(refusal?.message).toBe(
      'the query was signed for witness "witness2"; this is "witness1"',
    );
    // Presented as this witness's: the signature covers the addressee.
    expect(check({ ...elsewhere, witnessId: WITNESS }, signed, fields.timeUnixSeconds)).toBe(
      "WITNZ_WITNESS_SIGNATURE_INVALID",
    );
  });

  test("refused without a nonce of 16 bytes in lowercase hex", () => {
    for (const nonce of ["", "00112233", `${fields.nonce}00`, fields.nonce.toUpperCase()]) {
      const unsigned = { ...fields, nonce };
      const signed = ed25519Sign(node.signer.privateKey, queryMessage(unsigned));
      expect(check(unsigned, signed, fields.timeUnixSeconds)).toBe("WITNZ_WITNESS_QUERY_UNSIGNED");
    }
  });
});

describe("query replay guard", () => {
  const T = 1_763_900_000;
  const nonce = (index: number) => index.toString(16).padStart(32, "0");
  const admit = (
    guard: QueryReplayGuard,
    node: string,
    index: number,
    time: number,
    now = time,
  ) => {
    const result = guard.admit(CUSTOMER, node, nonce(index), time, now);
    return "ok" in result ? result.code : undefined;
  };

  test("a node's nonce is answered once while its query is in the window", () => {
    const guard = new QueryReplayGuard();
    expect(guard.admit(CUSTOMER, "node1", nonce(1), T + 10, T + 10)).toEqual({
      customerId: CUSTOMER,
      nodeId: "node1",
      nonce: nonce(1),
      acceptedUntil: T + 310,
    });
    expect(admit(guard, "node1", 1, T + 10, T + 20)).toBe("WITNZ_WITNESS_QUERY_REPLAY");
    // The same nonce from another node, or of another customer, is another query.
    expect(admit(guard, "node2", 1, T + 10, T + 20)).toBeUndefined();
    expect("ok" in guard.admit("other", "node1", nonce(1), T + 10, T + 20)).toBe(false);
    // The last second the query is accepted it is still a replay; past it, expired.
    expect(admit(guard, "node1", 1, T + 10, T + 310)).toBe("WITNZ_WITNESS_QUERY_REPLAY");
    expect(admit(guard, "node1", 1, T + 10, T + 311)).toBe("WITNZ_WITNESS_QUERY_EXPIRED");
  });

  test("a query signed ahead of the clock keeps its nonce until its own window is over", () => {
    const guard = new QueryReplayGuard();
    expect(admit(guard, "node1", 1, T + 300, T)).toBeUndefined();
    expect(guard.expire(T + 599)).toEqual([]);
    expect(admit(guard, "node1", 1, T + 300, T + 599)).toBe("WITNZ_WITNESS_QUERY_REPLAY");
    expect(guard.expire(T + 601)).toHaveLength(1);
  });

  test("a clock that steps back does not reopen the window of a dropped nonce", () => {
    const guard = new QueryReplayGuard();
    expect(admit(guard, "node1", 1, T + 100, T + 100)).toBeUndefined();
    // The clock jumps ahead: the nonce's window is over and it is dropped ...
    expect(guard.expire(T + 1000).map((entry) => entry.nonce)).toEqual([nonce(1)]);
    // ... and the clock is set back: the query is refused as expired, not answered again.
    expect(admit(guard, "node1", 1, T + 100, T + 110)).toBe("WITNZ_WITNESS_QUERY_EXPIRED");
  });

  test("nonces restored from the store are refused again; expired ones are handed back", () => {
    const guard = new QueryReplayGuard();
    guard.restore({
      customerId: CUSTOMER,
      nodeId: "node1",
      nonce: nonce(1),
      acceptedUntil: T + 300,
    });
    guard.restore({
      customerId: CUSTOMER,
      nodeId: "node1",
      nonce: nonce(2),
      acceptedUntil: T + 10,
    });
    expect(admit(guard, "node1", 1, T, T + 5)).toBe("WITNZ_WITNESS_QUERY_REPLAY");
    expect(guard.expire(T + 20).map((entry) => entry.nonce)).toEqual([nonce(2)]);
    expect(guard.held).toBe(1);
  });

  test("a node holds at most the per-node maximum of nonces in the window; others still ask", () => {
    const guard = new QueryReplayGuard(3);
    for (const index of [1, 2, 3]) expect(admit(guard, "node1", index, T)).toBeUndefined();
    expect(admit(guard, "node1", 4, T)).toBe("WITNZ_WITNESS_QUERY_RATE");
    expect(admit(guard, "node2", 4, T)).toBeUndefined();
    // Once the first three have left the window, node1 is answered again.
    expect(admit(guard, "node1", 4, T + 301)).toBeUndefined();
    expect(admit(guard, "node1", 5, T + 301)).toBeUndefined();
    expect(guard.held).toBe(3);
  });
});
