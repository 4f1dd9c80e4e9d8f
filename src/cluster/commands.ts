// The commands the cluster puts in its Raft log, and their versioned binary encoding:
// u8 format version (1), u8 command type, then the type's fields in a fixed order.
// Integers are big-endian u64 (at most 2^53 - 1), booleans one byte (0 or 1), strings a u32
// byte length and UTF-8. Decoding is strict: one byte string, one meaning. See
// docs/design/cluster.md for the field tables and test vectors.
import { parseVerifierKey, SIGNATURE_TYPE_ED25519 } from "../checkpoint/index.js";
import { ByteReader, ByteWriter, utf8Length } from "./bytes.js";
import { ClusterError } from "./errors.js";
import {
  COMMAND_BYTES_MAX,
  INCIDENT_ID_BYTES_MAX,
  LSN_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  OBSERVATION_NOTE_BYTES_MAX,
  SUMMARY_BYTES_MAX,
  TABLE_NAME_BYTES_MAX,
  VERIFIER_KEY_BYTES_MAX,
} from "./limits.js";

export const COMMAND_FORMAT_VERSION = 1;

export const VIOLATION_KINDS = ["update", "delete", "truncate", "schema_change"] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];
export const GAP_REASONS = ["slot_missing", "slot_advanced"] as const;
export type GapReason = (typeof GAP_REASONS)[number];

export interface VerificationCounts {
  readonly rows: number;
  readonly modified: number;
  readonly deleted: number;
  readonly phantom: number;
}

export type ClusterCommand =
  /** Membership: a node and the signed-note verifier key its observations must verify with. */
  | { readonly type: "node_registered"; readonly node: string; readonly verifierKey: string }
  | { readonly type: "node_removed"; readonly node: string }
  /** The node's store was rebuilt from a peer: its observations stop counting... */
  | { readonly type: "node_restored"; readonly node: string }
  /** ...until it has been re-verified against PostgreSQL. */
  | { readonly type: "node_reverified"; readonly node: string }
  /** A node's local chain size for a table (what it has durably ingested). */
  | {
      readonly type: "progress";
      readonly node: string;
      readonly table: string;
      readonly size: number;
    }
  /** The leader's choice of the next size every node signs (see nextAttestationSize). */
  | { readonly type: "attestation_target"; readonly table: string; readonly size: number }
  /** A node's signed checkpoint of a table at a target size (the signed note's text). */
  | {
      readonly type: "observation";
      readonly node: string;
      readonly table: string;
      readonly size: number;
      readonly note: string;
    }
  | {
      readonly type: "violation";
      readonly node: string;
      readonly table: string;
      /** The entry's number in the node's violation log for the table. */
      readonly sequence: number;
      readonly kind: ViolationKind;
      readonly lsn: string;
      readonly commitTimeMicroseconds: number;
      readonly summary: string;
    }
  | {
      readonly type: "gap";
      readonly node: string;
      readonly table: string;
      readonly fromLsn: string;
      readonly toLsn: string;
      readonly reason: GapReason;
      readonly detectedTimeMicroseconds: number;
    }
  | {
      readonly type: "verification_result";
      readonly node: string;
      readonly table: string;
      readonly timeMicroseconds: number;
      readonly ok: boolean;
      readonly counts: VerificationCounts;
    }
  | {
      readonly type: "alert_ack";
      readonly incidentId: string;
      readonly by: string;
      readonly timeMicroseconds: number;
    };

export type ClusterCommandType = ClusterCommand["type"];

/** Type bytes; never renumber, only add. */
export const COMMAND_TYPE_BYTES: Readonly<Record<ClusterCommandType, number>> = {
  node_registered: 1,
  node_removed: 2,
  node_restored: 3,
  node_reverified: 4,
  progress: 5,
  attestation_target: 6,
  observation: 7,
  violation: 8,
  gap: 9,
  verification_result: 10,
  alert_ack: 11,
};

const TYPE_BY_BYTE = new Map<number, ClusterCommandType>(
  Object.entries(COMMAND_TYPE_BYTES).map(([type, byte]) => [byte, type as ClusterCommandType]),
);

const NODE_ID_PATTERN = /^[\x21-\x7e]+$/;
/** C0 controls and DEL: identifiers and summaries are single printable lines. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
/** With the u flag only unpaired surrogates match, which UTF-8 cannot carry. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const LSN_PATTERN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;

/** The LSN `X/Y` as one integer, for ordering only. */
function lsnValue(lsn: string): bigint {
  const [high, low] = lsn.split("/") as [string, string];
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

function checkText(what: string, value: string, bytesMax: number): string | undefined {
  if (value.length === 0) return `${what} is empty`;
  const length = utf8Length(value);
  if (length > bytesMax) return `${what} is ${length} bytes; at most ${bytesMax}`;
  if (hasControlCharacter(value)) return `${what} contains a control character`;
  if (LONE_SURROGATE.test(value)) return `${what} contains an unpaired surrogate`;
  return undefined;
}

function checkNode(node: string): string | undefined {
  const problem = checkText("node id", node, NODE_ID_BYTES_MAX);
  if (problem !== undefined) return problem;
  return NODE_ID_PATTERN.test(node) ? undefined : "node id is not printable ASCII without spaces";
}

const checkTable = (table: string): string | undefined =>
  checkText("table name", table, TABLE_NAME_BYTES_MAX);

function checkCount(what: string, value: number): string | undefined {
  return Number.isSafeInteger(value) && value >= 0
    ? undefined
    : `${what} ${value} is not a non-negative safe integer`;
}

function checkLsn(what: string, lsn: string): string | undefined {
  return LSN_PATTERN.test(lsn) ? undefined : `${what} is not an LSN of the form X/Y`;
}

const first = (...problems: (string | undefined)[]): string | undefined =>
  problems.find((problem) => problem !== undefined);

/** The first rule the command breaks, or undefined when it is valid. */
export function commandProblem(command: ClusterCommand): string | undefined {
  switch (command.type) {
    case "node_registered": {
      const problem = first(
        checkNode(command.node),
        checkText("verifier key", command.verifierKey, VERIFIER_KEY_BYTES_MAX),
      );
      if (problem !== undefined) return problem;
      try {
        const verifier = parseVerifierKey(command.verifierKey);
        if (verifier.type !== SIGNATURE_TYPE_ED25519) {
          return "verifier key is not an Ed25519 note key (type 0x01)";
        }
      } catch (error) {
        return `verifier key: ${(error as Error).message}`;
      }
      return undefined;
    }
    case "node_removed":
    case "node_restored":
    case "node_reverified":
      return checkNode(command.node);
    case "progress":
      return first(
        checkNode(command.node),
        checkTable(command.table),
        checkCount("size", command.size),
      );
    case "attestation_target":
      return first(
        checkTable(command.table),
        checkCount("size", command.size),
        command.size === 0 ? "target size is 0; targets start at 1" : undefined,
      );
    case "observation": {
      const length = utf8Length(command.note);
      return first(
        checkNode(command.node),
        checkTable(command.table),
        checkCount("size", command.size),
        command.note.length === 0 ? "note is empty" : undefined,
        LONE_SURROGATE.test(command.note) ? "note contains an unpaired surrogate" : undefined,
        length > OBSERVATION_NOTE_BYTES_MAX
          ? `note is ${length} bytes; at most ${OBSERVATION_NOTE_BYTES_MAX}`
          : undefined,
      );
    }
    case "violation":
      return first(
        checkNode(command.node),
        checkTable(command.table),
        checkCount("sequence", command.sequence),
        VIOLATION_KINDS.includes(command.kind) ? undefined : "unknown violation kind",
        checkLsn("lsn", command.lsn),
        checkCount("commit time", command.commitTimeMicroseconds),
        checkText("summary", command.summary, SUMMARY_BYTES_MAX),
      );
    case "gap":
      return (
        first(
          checkNode(command.node),
          checkTable(command.table),
          checkLsn("from LSN", command.fromLsn),
          checkLsn("to LSN", command.toLsn),
          GAP_REASONS.includes(command.reason) ? undefined : "unknown gap reason",
          checkCount("detected time", command.detectedTimeMicroseconds),
        ) ??
        (lsnValue(command.fromLsn) > lsnValue(command.toLsn)
          ? `gap from ${command.fromLsn} is after its end ${command.toLsn}`
          : undefined)
      );
    case "verification_result": {
      const { rows, modified, deleted, phantom } = command.counts;
      const problem = first(
        checkNode(command.node),
        checkTable(command.table),
        checkCount("time", command.timeMicroseconds),
        checkCount("rows", rows),
        checkCount("modified", modified),
        checkCount("deleted", deleted),
        checkCount("phantom", phantom),
      );
      if (problem !== undefined) return problem;
      const differing = modified + deleted + phantom;
      if (command.ok && differing > 0) return `ok is true but ${differing} rows differ`;
      if (!command.ok && differing === 0) return "ok is false but no row differs";
      return undefined;
    }
    case "alert_ack":
      return first(
        checkText("incident id", command.incidentId, INCIDENT_ID_BYTES_MAX),
        checkText("acknowledged by", command.by, NODE_ID_BYTES_MAX),
        checkCount("time", command.timeMicroseconds),
      );
  }
}

/** Encodes a command; throws ClusterError WITNZ_CLUSTER_COMMAND_INVALID if it breaks a rule. */
export function encodeCommand(command: ClusterCommand): Uint8Array {
  const typeByte = COMMAND_TYPE_BYTES[command.type];
  const problem = typeByte === undefined ? "unknown command type" : commandProblem(command);
  if (problem !== undefined) {
    throw new ClusterError("WITNZ_CLUSTER_COMMAND_INVALID", `${command.type}: ${problem}`);
  }
  const out = new ByteWriter();
  out.u8(COMMAND_FORMAT_VERSION);
  out.u8(typeByte);
  switch (command.type) {
    case "node_registered":
      out.string(command.node);
      out.string(command.verifierKey);
      break;
    case "node_removed":
    case "node_restored":
    case "node_reverified":
      out.string(command.node);
      break;
    case "progress":
      out.string(command.node);
      out.string(command.table);
      out.u64(command.size);
      break;
    case "attestation_target":
      out.string(command.table);
      out.u64(command.size);
      break;
    case "observation":
      out.string(command.node);
      out.string(command.table);
      out.u64(command.size);
      out.string(command.note);
      break;
    case "violation":
      out.string(command.node);
      out.string(command.table);
      out.u64(command.sequence);
      out.u8(VIOLATION_KINDS.indexOf(command.kind) + 1);
      out.string(command.lsn);
      out.u64(command.commitTimeMicroseconds);
      out.string(command.summary);
      break;
    case "gap":
      out.string(command.node);
      out.string(command.table);
      out.string(command.fromLsn);
      out.string(command.toLsn);
      out.u8(GAP_REASONS.indexOf(command.reason) + 1);
      out.u64(command.detectedTimeMicroseconds);
      break;
    case "verification_result":
      out.string(command.node);
      out.string(command.table);
      out.u64(command.timeMicroseconds);
      out.bool(command.ok);
      out.u64(command.counts.rows);
      out.u64(command.counts.modified);
      out.u64(command.counts.deleted);
      out.u64(command.counts.phantom);
      break;
    case "alert_ack":
      out.string(command.incidentId);
      out.string(command.by);
      out.u64(command.timeMicroseconds);
      break;
  }
  const bytes = out.finish();
  if (bytes.length > COMMAND_BYTES_MAX) {
    throw new ClusterError(
      "WITNZ_CLUSTER_COMMAND_INVALID",
      `${command.type} encodes to ${bytes.length} bytes; at most ${COMMAND_BYTES_MAX}`,
    );
  }
  return bytes;
}

const malformed = (message: string): ClusterError =>
  new ClusterError("WITNZ_CLUSTER_COMMAND_MALFORMED", message);

function enumByte<T>(values: readonly T[], byte: number, what: string): T {
  const value = values[byte - 1];
  if (byte === 0 || value === undefined) throw malformed(`${what} byte ${byte} is unknown`);
  return value;
}

/**
 * Decodes one command. Throws ClusterError WITNZ_CLUSTER_COMMAND_MALFORMED, whose message is the
 * reason, for an oversized command, an unknown version or type, a truncated or over-long field,
 * trailing bytes, or a field that breaks its rule.
 */
export function decodeCommand(bytes: Uint8Array): ClusterCommand {
  if (bytes.length > COMMAND_BYTES_MAX) {
    throw malformed(`command is ${bytes.length} bytes; at most ${COMMAND_BYTES_MAX}`);
  }
  const input = new ByteReader(bytes, malformed);
  const version = input.u8("format version");
  if (version !== COMMAND_FORMAT_VERSION) {
    throw malformed(
      `format version ${version} is not supported (expected ${COMMAND_FORMAT_VERSION})`,
    );
  }
  const typeByte = input.u8("command type");
  const type = TYPE_BY_BYTE.get(typeByte);
  if (type === undefined) throw malformed(`command type ${typeByte} is unknown`);
  const node = (): string => input.string("node id", NODE_ID_BYTES_MAX);
  const table = (): string => input.string("table name", TABLE_NAME_BYTES_MAX);
  const lsn = (what: string): string => input.string(what, LSN_BYTES_MAX);
  let command: ClusterCommand;
  switch (type) {
    case "node_registered":
      command = {
        type,
        node: node(),
        verifierKey: input.string("verifier key", VERIFIER_KEY_BYTES_MAX),
      };
      break;
    case "node_removed":
    case "node_restored":
    case "node_reverified":
      command = { type, node: node() };
      break;
    case "progress":
      command = { type, node: node(), table: table(), size: input.u64("size") };
      break;
    case "attestation_target":
      command = { type, table: table(), size: input.u64("size") };
      break;
    case "observation":
      command = {
        type,
        node: node(),
        table: table(),
        size: input.u64("size"),
        note: input.string("note", OBSERVATION_NOTE_BYTES_MAX),
      };
      break;
    case "violation":
      command = {
        type,
        node: node(),
        table: table(),
        sequence: input.u64("sequence"),
        kind: enumByte(VIOLATION_KINDS, input.u8("violation kind"), "violation kind"),
        lsn: lsn("lsn"),
        commitTimeMicroseconds: input.u64("commit time"),
        summary: input.string("summary", SUMMARY_BYTES_MAX),
      };
      break;
    case "gap":
      command = {
        type,
        node: node(),
        table: table(),
        fromLsn: lsn("from LSN"),
        toLsn: lsn("to LSN"),
        reason: enumByte(GAP_REASONS, input.u8("gap reason"), "gap reason"),
        detectedTimeMicroseconds: input.u64("detected time"),
      };
      break;
    case "verification_result":
      command = {
        type,
        node: node(),
        table: table(),
        timeMicroseconds: input.u64("time"),
        ok: input.bool("ok"),
        counts: {
          rows: input.u64("rows"),
          modified: input.u64("modified"),
          deleted: input.u64("deleted"),
          phantom: input.u64("phantom"),
        },
      };
      break;
    case "alert_ack":
      command = {
        type,
        incidentId: input.string("incident id", INCIDENT_ID_BYTES_MAX),
        by: input.string("acknowledged by", NODE_ID_BYTES_MAX),
        timeMicroseconds: input.u64("time"),
      };
      break;
  }
  input.end(type);
  const problem = commandProblem(command);
  if (problem !== undefined) throw malformed(`${type}: ${problem}`);
  return command;
}
