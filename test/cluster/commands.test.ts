import { describe, expect, test } from "vitest";
import {
  type ClusterCommand,
  ClusterError,
  COMMAND_BYTES_MAX,
  decodeCommand,
  encodeCommand,
  OBSERVATION_NOTE_BYTES_MAX,
} from "../../src/cluster/index.js";
import { signedNote, TABLE, testNode } from "./fixtures.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"));

// The vectors in docs/design/cluster.md, byte for byte.
const VECTORS: readonly [ClusterCommand, string][] = [
  [{ type: "node_restored", node: "a" }, "01030000000161"],
  [
    { type: "attestation_target", table: "public.t", size: 1000 },
    "0106000000087075626c69632e7400000000000003e8",
  ],
  [
    {
      type: "gap",
      node: "a",
      table: "public.t",
      fromLsn: "0/10",
      toLsn: "0/20",
      reason: "slot_missing",
      detectedTimeMicroseconds: 1,
    },
    "010900000001610000000870756" + "26c69632e7400000004302f313000000004302f3230010000000000000001",
  ],
  [
    {
      type: "verification_result",
      node: "a",
      table: "public.t",
      timeMicroseconds: 2,
      ok: false,
      counts: { rows: 3, modified: 1, deleted: 0, phantom: 0 },
    },
    "010a00000001610000000870756" +
      "26c69632e740000000000000002000000000000000003000000000000000100000000000000000000000000000000",
  ],
  [
    { type: "alert_ack", incidentId: "i", by: "b", timeMicroseconds: 3 },
    "010b000000016900000001620000000000000003",
  ],
];

function reason(bytes: Uint8Array): string {
  try {
    decodeCommand(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as ClusterError).code).toBe("WITNZ_CLUSTER_COMMAND_MALFORMED");
    return (error as Error).message;
  }
  throw new Error("decoded");
}

describe("command encoding", () => {
  test.each(VECTORS)("vector %#: %j", (command, expected) => {
    expect(hex(encodeCommand(command))).toBe(expected);
    expect(decodeCommand(unhex(expected))).toEqual(command);
  });

  test("every command type round-trips", () => {
    const node = testNode("node-a");
    const commands: ClusterCommand[] = [
      { type: "node_registered", node: "node-a", verifierKey: node.verifierKey },
      { type: "node_removed", node: "node-a" },
      { type: "node_restored", node: "node-a" },
      { type: "node_reverified", node: "node-a" },
      { type: "progress", node: "node-a", table: TABLE, size: 12 },
      { type: "attestation_target", table: TABLE, size: 12 },
      {
        type: "observation",
        node: "node-a",
        table: TABLE,
        size: 12,
        note: signedNote({ size: 12, signer: node.signer }),
      },
      {
        type: "violation",
        node: "node-a",
        table: TABLE,
        sequence: 1,
        kind: "schema_change",
        lsn: "0/16B3748",
        commitTimeMicroseconds: 1_763_891_200_123_456,
        summary: "ALTER of public.audit_log — columns changed",
      },
      ...VECTORS.map(([command]) => command),
    ];
    for (const command of commands) expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });

  test("strict decoding names what is wrong", () => {
    const good = encodeCommand({ type: "node_restored", node: "a" });
    expect(reason(Uint8Array.of())).toMatch(/format version runs past the end/);
    expect(reason(Uint8Array.of(2, 3))).toMatch(/format version 2 is not supported/);
    expect(reason(Uint8Array.of(1, 200))).toMatch(/command type 200 is unknown/);
    expect(reason(good.subarray(0, good.length - 1))).toMatch(/node id runs past the end/);
    expect(reason(Uint8Array.of(...good, 0))).toMatch(
      /1 bytes follow the end of the node_restored/,
    );
    expect(reason(unhex("0103000000ff"))).toMatch(/node id is 255 bytes; at most 128/);
    expect(reason(unhex("010300000001ff"))).toMatch(/node id is not valid UTF-8/);
    expect(reason(unhex("0103000000026120"))).toMatch(/not printable ASCII without spaces/);
    expect(reason(unhex("010300000000"))).toMatch(/node id is empty/);
    const verification = hex(encodeCommand(VECTORS[3]![0]));
    // ok byte 2 is not a boolean; ok = 1 with a modified row contradicts itself.
    const okAt = verification.length - 2 * (4 * 8) - 2;
    expect(
      reason(unhex(`${verification.slice(0, okAt)}02${verification.slice(okAt + 2)}`)),
    ).toMatch(/ok is 2/);
    expect(
      reason(unhex(`${verification.slice(0, okAt)}01${verification.slice(okAt + 2)}`)),
    ).toMatch(/ok is true but 1 rows differ/);
    const gap = hex(encodeCommand(VECTORS[2]![0]));
    expect(reason(unhex(gap.replace("302f3230", "302f3030")))).toMatch(/is after its end/);
    expect(reason(unhex(gap.replace("302f3130", "302f3167")))).toMatch(/from LSN is not an LSN/);
    expect(reason(new Uint8Array(COMMAND_BYTES_MAX + 1))).toMatch(/at most 8192/);
    expect(reason(unhex("0106000000087075626c69632e740000000000000000"))).toMatch(
      /targets start at 1/,
    );
    expect(reason(unhex("0106000000087075626c69632e74ffffffffffffffff"))).toMatch(/too large/);
  });

  test("encoding refuses what decoding would refuse", () => {
    const big = "x".repeat(OBSERVATION_NOTE_BYTES_MAX + 1);
    expect(() =>
      encodeCommand({ type: "observation", node: "a", table: "t", size: 1, note: big }),
    ).toThrow(/note is 2049 bytes/);
    expect(() =>
      encodeCommand({ type: "node_registered", node: "a", verifierKey: "nope" }),
    ).toThrow(ClusterError);
    expect(() => encodeCommand({ type: "progress", node: "a", table: "t", size: -1 })).toThrow(
      /size -1/,
    );
  });
});
