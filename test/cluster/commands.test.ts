import { describe, expect, test } from "vitest";
import {
  ALERT_MESSAGE_BYTES_MAX,
  ALERT_PK_BYTES_MAX,
  ALERT_PK_VALUES_MAX,
  type ClusterCommand,
  ClusterError,
  COMMAND_BYTES_MAX,
  clipAlertMessage,
  decodeCommand,
  encodeCommand,
  INCIDENT_ID_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  OBSERVATION_NOTE_BYTES_MAX,
  type ReplicatedAlert,
  TABLE_NAME_BYTES_MAX,
} from "../../src/cluster/index.js";
import type { OutboxAlert } from "../../src/store/index.js";
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
  [
    {
      type: "alert_raised",
      alert: {
        id: "i",
        kind: "k",
        severity: "critical",
        node: "a",
        table: "t",
        op: "UPDATE",
        pk: ["1", null],
        lsn: "0/10",
        detectedAt: "2025-11-23T09:00:00.000Z",
        message: "m",
      },
    },
    "010c0000000169000000016b03000000016101000000017401000000065550444154450100000002" +
      "010000000131000100000004302f313000000018323032352d31312d32335430393a30303a30302e303030" +
      "5a000000016d",
  ],
  [
    {
      type: "alert_raised",
      alert: {
        id: "i",
        kind: "k",
        severity: "info",
        node: "a",
        detectedAt: "2025-11-23T09:00:00Z",
        message: "",
      },
    },
    "010c0000000169000000016b0100000001610000000000000014323032352d31312d32335430393a30303a" +
      "30305a00000000",
  ],
];

const ALERT: ReplicatedAlert = {
  id: "node-a/public.audit_log/0/16B3748/7",
  kind: "append_only_violation",
  severity: "critical",
  node: "node-a",
  table: TABLE,
  op: "UPDATE",
  pk: ["42", null, ""],
  lsn: "0/16B3748",
  detectedAt: "2025-11-23T09:00:00.123Z",
  message: 'UPDATE on append-only table public.audit_log on primary key ["42"] (violation #1)',
};
const raised = (alert: Partial<ReplicatedAlert>): ClusterCommand => ({
  type: "alert_raised",
  alert: { ...ALERT, ...alert } as ReplicatedAlert,
});

/** The encoding of an alert_raised command without the rule check (to test decoding's). */
function encodeUnchecked(command: ClusterCommand): Uint8Array {
  if (command.type !== "alert_raised") throw new Error("alert_raised only");
  const valid = encodeCommand({ ...command, alert: ALERT });
  const header = hex(valid).slice(0, 4);
  // Re-encode field by field, like writeAlert does.
  const parts: string[] = [header];
  const text = (value: string): string => {
    const bytes = new TextEncoder().encode(value);
    return bytes.length.toString(16).padStart(8, "0") + hex(bytes);
  };
  const optional = (value: string | null | undefined): string =>
    value === undefined || value === null ? "00" : `01${text(value)}`;
  const { alert } = command;
  parts.push(text(alert.id), text(alert.kind), "03", text(alert.node));
  parts.push(optional(alert.table), optional(alert.op));
  parts.push(
    alert.pk === undefined
      ? "00"
      : `01${alert.pk.length.toString(16).padStart(8, "0")}${alert.pk.map(optional).join("")}`,
  );
  parts.push(optional(alert.lsn), text(alert.detectedAt), text(alert.message));
  return unhex(parts.join(""));
}

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
      raised({}),
      raised({ severity: "warning", message: "two\nlines\tand — unicode" }),
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
    const verification = hex(encodeCommand(VECTORS[2]![0]));
    // ok byte 2 is not a boolean; ok = 1 with a modified row contradicts itself.
    const okAt = verification.length - 2 * (4 * 8) - 2;
    expect(
      reason(unhex(`${verification.slice(0, okAt)}02${verification.slice(okAt + 2)}`)),
    ).toMatch(/ok is 2/);
    expect(
      reason(unhex(`${verification.slice(0, okAt)}01${verification.slice(okAt + 2)}`)),
    ).toMatch(/ok is true but 1 rows differ/);
    expect(reason(new Uint8Array(COMMAND_BYTES_MAX + 1))).toMatch(/at most 8192/);
    expect(reason(unhex("0106000000087075626c69632e740000000000000000"))).toMatch(
      /targets start at 1/,
    );
    expect(reason(unhex("0106000000087075626c69632e74ffffffffffffffff"))).toMatch(/too large/);
  });

  test("the retired violation (8) and gap (9) type bytes are refused", () => {
    expect(reason(Uint8Array.of(1, 8))).toBe("command type 8 is retired");
    expect(reason(Uint8Array.of(1, 9))).toBe("command type 9 is retired");
    expect(reason(unhex("01090000000161000000087075626c69632e74"))).toMatch(/9 is retired/);
    expect(reason(Uint8Array.of(1, 13))).toBe("command type 13 is unknown");
  });

  test("alert_raised decodes strictly", () => {
    const vector = VECTORS[4]![1];
    // severity: 0 and 4 are not severities.
    const severityAt = 2 * (2 + 5 + 5);
    expect(vector.slice(severityAt, severityAt + 2)).toBe("03");
    const at = (byte: string, offset: number, text = vector): Uint8Array =>
      unhex(`${text.slice(0, offset)}${byte}${text.slice(offset + 2)}`);
    expect(reason(at("00", severityAt))).toMatch(/alert severity byte 0 is unknown/);
    expect(reason(at("04", severityAt))).toMatch(/alert severity byte 4 is unknown/);
    // The table presence flag is a boolean.
    const tableFlagAt = severityAt + 2 + 2 * 5;
    expect(reason(at("02", tableFlagAt))).toMatch(/table name presence is 2/);
    // A NULL flag of 2 in the primary key.
    const pkValueFlagAt = vector.indexOf("0100000002") + 10;
    expect(reason(at("02", pkValueFlagAt))).toMatch(/pk value presence is 2/);
    // A kind, time, lsn or node that breaks its rule.
    const bad = (alert: Partial<ReplicatedAlert>): string =>
      reason(encodeUnchecked({ type: "alert_raised", alert: { ...ALERT, ...alert } }));
    expect(bad({ kind: "Append" })).toMatch(/snake_case/);
    expect(bad({ detectedAt: "2025-11-23 09:00:00Z" })).toMatch(/not an ISO 8601 time/);
    expect(bad({ detectedAt: "2025-13-23T09:00:00Z" })).toMatch(/not an ISO 8601 time/);
    expect(bad({ lsn: "0/16b3748" })).toMatch(/alert lsn is not an LSN/);
    expect(bad({ node: "node a" })).toMatch(/node id is not printable ASCII/);
    expect(bad({ message: "bell\u0007" })).toMatch(/message contains a control character/);
    expect(bad({ id: "" })).toMatch(/incident id is empty/);
    expect(bad({ pk: Array(ALERT_PK_VALUES_MAX + 1).fill(null) })).toMatch(/at most 32/);
    expect(bad({ pk: ["x".repeat(ALERT_PK_BYTES_MAX), "y"] })).toMatch(/pk is 2049 bytes/);
    // Trailing bytes after the message.
    expect(reason(unhex(`${vector}00`))).toMatch(/1 bytes follow the end of the alert_raised/);
  });

  test("the largest alert_raised stays under COMMAND_BYTES_MAX", () => {
    const largest: ClusterCommand = {
      type: "alert_raised",
      alert: {
        id: "i".repeat(INCIDENT_ID_BYTES_MAX),
        kind: `a${"b".repeat(63)}`,
        severity: "critical",
        node: "n".repeat(NODE_ID_BYTES_MAX),
        table: "t".repeat(TABLE_NAME_BYTES_MAX),
        op: "o".repeat(64),
        pk: [
          ...Array(ALERT_PK_VALUES_MAX - 1).fill(""),
          "k".repeat(ALERT_PK_BYTES_MAX),
        ] as string[],
        lsn: "FFFFFFFF/FFFFFFFF",
        detectedAt: "+275760-09-13T00:00:00.123456789+23:59",
        message: "m".repeat(ALERT_MESSAGE_BYTES_MAX),
      },
    };
    const bytes = encodeCommand(largest);
    expect(bytes.length).toBeLessThan(COMMAND_BYTES_MAX);
    expect(decodeCommand(bytes)).toEqual(largest);
  });

  test("an outbox alert is a replicated alert and back", () => {
    const outbox: OutboxAlert = ALERT;
    const back: ReplicatedAlert = outbox;
    expect(decodeCommand(encodeCommand({ type: "alert_raised", alert: back }))).toEqual({
      type: "alert_raised",
      alert: outbox,
    });
  });

  test("clipAlertMessage makes any message acceptable", () => {
    const long = `${"é".repeat(ALERT_MESSAGE_BYTES_MAX)}`;
    const clipped = clipAlertMessage(long);
    expect(new TextEncoder().encode(clipped).length).toBeLessThanOrEqual(ALERT_MESSAGE_BYTES_MAX);
    expect(clipped.endsWith("é...")).toBe(true);
    expect(clipAlertMessage("a\u0000b\nc\ud800")).toBe("a b\nc\ufffd");
    expect(clipAlertMessage("short")).toBe("short");
    for (const message of [long, "a\u0001\ud800"]) {
      expect(() => encodeCommand(raised({ message: clipAlertMessage(message) }))).not.toThrow();
    }
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
    expect(() => encodeCommand(raised({ kind: "x".repeat(65) }))).toThrow(/snake_case/);
    expect(() =>
      encodeCommand(raised({ message: "m".repeat(ALERT_MESSAGE_BYTES_MAX + 1) })),
    ).toThrow(/message is 2049 bytes/);
  });
});
