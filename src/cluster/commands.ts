// The commands the cluster puts in its Raft log, and their versioned binary encoding:
// u8 format version (1), u8 command type, then the type's fields in a fixed order.
// Integers are big-endian u64 (at most 2^53 - 1), booleans one byte (0 or 1), strings a u32
// byte length and UTF-8. Decoding is strict: one byte string, one meaning. See
// docs/design/cluster.md for the field tables and test vectors.
import { parseVerifierKey, SIGNATURE_TYPE_ED25519 } from "../checkpoint/index.js";
import { ByteReader, ByteWriter, utf8Length } from "./bytes.js";
import { ClusterError } from "./errors.js";
import {
  ALERT_DETECTED_AT_BYTES_MAX,
  ALERT_KIND_BYTES_MAX,
  ALERT_MESSAGE_BYTES_MAX,
  ALERT_OP_BYTES_MAX,
  ALERT_PK_BYTES_MAX,
  ALERT_PK_VALUES_MAX,
  COMMAND_BYTES_MAX,
  INCIDENT_ID_BYTES_MAX,
  LSN_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  OBSERVATION_NOTE_BYTES_MAX,
  TABLE_NAME_BYTES_MAX,
  VERIFIER_KEY_BYTES_MAX,
} from "./limits.js";

export const COMMAND_FORMAT_VERSION = 1;

/** The store's alert severities; the command carries the 1-based position as a u8. */
export const ALERT_SEVERITIES = ["info", "warning", "critical"] as const;
export type ReplicatedAlertSeverity = (typeof ALERT_SEVERITIES)[number];

/**
 * One alert (incident) as the cluster replicates it: the same fields as the store's OutboxAlert,
 * so an outbox alert is a ReplicatedAlert and back (within the limits in limits.ts).
 */
export interface ReplicatedAlert {
  /** The incident id, the de-duplication key. */
  readonly id: string;
  /** snake_case, e.g. `append_only_violation`, `replication_gap`, `node_disagreement`. */
  readonly kind: string;
  readonly severity: ReplicatedAlertSeverity;
  /** The node that reported it (`cluster` for incidents the state machine records itself). */
  readonly node: string;
  readonly table?: string;
  /** `UPDATE`, `DELETE`, `TRUNCATE`, ... */
  readonly op?: string;
  /** Primary key values in PostgreSQL text form, NULL as null. */
  readonly pk?: readonly (string | null)[];
  /** `X/Y`, upper-case hex. */
  readonly lsn?: string;
  /** ISO 8601 time of detection. */
  readonly detectedAt: string;
  readonly message: string;
}

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
    }
  /** An incident a registered node detected (`alert.node`), delivered once by the leader. */
  | { readonly type: "alert_raised"; readonly alert: ReplicatedAlert };

export type ClusterCommandType = ClusterCommand["type"];

/** Type bytes; never renumber or reuse, only add. */
export const COMMAND_TYPE_BYTES: Readonly<Record<ClusterCommandType, number>> = {
  node_registered: 1,
  node_removed: 2,
  node_restored: 3,
  node_reverified: 4,
  progress: 5,
  attestation_target: 6,
  observation: 7,
  verification_result: 10,
  alert_ack: 11,
  alert_raised: 12,
};

/**
 * Retired type bytes, reserved forever: `violation` (8) and `gap` (9) gave way to `alert_raised`
 * incidents. Decoding one is refused (`command type 8 is retired`), like an unknown type.
 */
export const RETIRED_COMMAND_TYPE_BYTES: Readonly<Record<number, string>> = {
  8: "violation",
  9: "gap",
};

const TYPE_BY_BYTE = new Map<number, ClusterCommandType>(
  Object.entries(COMMAND_TYPE_BYTES).map(([type, byte]) => [byte, type as ClusterCommandType]),
);

/** The command type of a type byte (undefined when unknown or retired). */
export const commandTypeOfByte = (byte: number): ClusterCommandType | undefined =>
  TYPE_BY_BYTE.get(byte);

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
/** The outbox's kind rule. */
const ALERT_KIND_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
/** ISO 8601 date and time with seconds, an optional fraction and a zone (Z or +hh:mm). */
const ISO_TIME_PATTERN =
  /^(?:\d{4}|[+-]\d{6})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

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

function checkIsoTime(what: string, text: string): string | undefined {
  const length = utf8Length(text);
  if (length > ALERT_DETECTED_AT_BYTES_MAX) {
    return `${what} is ${length} bytes; at most ${ALERT_DETECTED_AT_BYTES_MAX}`;
  }
  const match = ISO_TIME_PATTERN.exec(text);
  if (match === null) return `${what} is not an ISO 8601 time`;
  const [month, day, hour, minute, second, zoneHour, zoneMinute] = match
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part))) as number[];
  const inRange =
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= 31 &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    zoneHour! <= 23 &&
    zoneMinute! <= 59;
  return inRange ? undefined : `${what} is not an ISO 8601 time`;
}

/** C0 controls and DEL other than tab and line feed, which a message may carry. */
const isMessageControl = (code: number): boolean =>
  (code < 0x20 && code !== 0x09 && code !== 0x0a) || code === 0x7f;
function hasMessageControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isMessageControl(text.charCodeAt(i))) return true;
  return false;
}

/** The first rule the alert breaks, or undefined when the cluster can replicate it. */
export function alertProblem(alert: ReplicatedAlert): string | undefined {
  const problem = first(
    checkText("incident id", alert.id, INCIDENT_ID_BYTES_MAX),
    alert.kind.length <= ALERT_KIND_BYTES_MAX && ALERT_KIND_PATTERN.test(alert.kind)
      ? undefined
      : `alert kind is not snake_case ASCII of 1 to ${ALERT_KIND_BYTES_MAX} bytes`,
    ALERT_SEVERITIES.includes(alert.severity) ? undefined : "unknown alert severity",
    checkNode(alert.node),
    alert.table === undefined ? undefined : checkTable(alert.table),
    alert.op === undefined ? undefined : checkText("alert op", alert.op, ALERT_OP_BYTES_MAX),
    alert.lsn === undefined ? undefined : checkLsn("alert lsn", alert.lsn),
    checkIsoTime("detectedAt", alert.detectedAt),
  );
  if (problem !== undefined) return problem;
  if (alert.pk !== undefined) {
    if (alert.pk.length > ALERT_PK_VALUES_MAX) {
      return `pk has ${alert.pk.length} values; at most ${ALERT_PK_VALUES_MAX}`;
    }
    let bytes = 0;
    for (const value of alert.pk) {
      if (value === null) continue;
      if (LONE_SURROGATE.test(value)) return "a pk value contains an unpaired surrogate";
      bytes += utf8Length(value);
    }
    if (bytes > ALERT_PK_BYTES_MAX) return `pk is ${bytes} bytes; at most ${ALERT_PK_BYTES_MAX}`;
  }
  const messageLength = utf8Length(alert.message);
  if (messageLength > ALERT_MESSAGE_BYTES_MAX) {
    return `message is ${messageLength} bytes; at most ${ALERT_MESSAGE_BYTES_MAX}`;
  }
  if (hasMessageControl(alert.message)) return "message contains a control character";
  if (LONE_SURROGATE.test(alert.message)) return "message contains an unpaired surrogate";
  return undefined;
}

/**
 * A message the cluster accepts: other control characters become spaces, an unpaired surrogate
 * U+FFFD, and a message over ALERT_MESSAGE_BYTES_MAX is cut at a character boundary, ending `...`.
 */
export function clipAlertMessage(message: string): string {
  let clean = "";
  for (const character of message) {
    const code = character.charCodeAt(0);
    // Iterating by code point leaves an unpaired surrogate as one character of length 1.
    const lone = character.length === 1 && code >= 0xd800 && code <= 0xdfff;
    clean += isMessageControl(code) ? " " : lone ? "\ufffd" : character;
  }
  if (utf8Length(clean) <= ALERT_MESSAGE_BYTES_MAX) return clean;
  const budget = ALERT_MESSAGE_BYTES_MAX - 3;
  let bytes = 0;
  let out = "";
  for (const character of clean) {
    const length = utf8Length(character);
    if (bytes + length > budget) break;
    bytes += length;
    out += character;
  }
  return `${out}...`;
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
    case "alert_raised":
      return alertProblem(command.alert);
  }
}

/**
 * An alert's fields in order: id, kind, u8 severity (1 info, 2 warning, 3 critical), node, then
 * table, op, pk and lsn each behind a u8 presence flag (0 absent, 1 present); pk is a u32 count
 * and per value a u8 flag (0 NULL, 1 text follows) and the text; then detectedAt and message.
 */
export function writeAlert(out: ByteWriter, alert: ReplicatedAlert): void {
  out.string(alert.id);
  out.string(alert.kind);
  out.u8(ALERT_SEVERITIES.indexOf(alert.severity) + 1);
  out.string(alert.node);
  const optional = (value: string | undefined): void => {
    out.bool(value !== undefined);
    if (value !== undefined) out.string(value);
  };
  optional(alert.table);
  optional(alert.op);
  out.bool(alert.pk !== undefined);
  if (alert.pk !== undefined) {
    out.u32(alert.pk.length);
    for (const value of alert.pk) optional(value ?? undefined);
  }
  optional(alert.lsn);
  out.string(alert.detectedAt);
  out.string(alert.message);
}

/** Reads what writeAlert wrote; the caller checks the result with alertProblem. */
export function readAlert(input: ByteReader, fail: (message: string) => Error): ReplicatedAlert {
  const id = input.string("incident id", INCIDENT_ID_BYTES_MAX);
  const kind = input.string("alert kind", ALERT_KIND_BYTES_MAX);
  const severityByte = input.u8("alert severity");
  const severity = ALERT_SEVERITIES[severityByte - 1];
  if (severityByte === 0 || severity === undefined) {
    throw fail(`alert severity byte ${severityByte} is unknown`);
  }
  const node = input.string("node id", NODE_ID_BYTES_MAX);
  const optional = (what: string, bytesMax: number): string | undefined =>
    input.bool(`${what} presence`) ? input.string(what, bytesMax) : undefined;
  const table = optional("table name", TABLE_NAME_BYTES_MAX);
  const op = optional("alert op", ALERT_OP_BYTES_MAX);
  let pk: (string | null)[] | undefined;
  if (input.bool("pk presence")) {
    const count = input.u32("pk count");
    if (count > ALERT_PK_VALUES_MAX) {
      throw fail(`pk has ${count} values; at most ${ALERT_PK_VALUES_MAX}`);
    }
    pk = [];
    for (let i = 0; i < count; i++) pk.push(optional("pk value", ALERT_PK_BYTES_MAX) ?? null);
  }
  const lsn = optional("alert lsn", LSN_BYTES_MAX);
  return {
    id,
    kind,
    severity,
    node,
    ...(table === undefined ? {} : { table }),
    ...(op === undefined ? {} : { op }),
    ...(pk === undefined ? {} : { pk }),
    ...(lsn === undefined ? {} : { lsn }),
    detectedAt: input.string("detectedAt", ALERT_DETECTED_AT_BYTES_MAX),
    message: input.string("message", ALERT_MESSAGE_BYTES_MAX),
  };
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
    case "alert_raised":
      writeAlert(out, command.alert);
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
  if (type === undefined) {
    const retired = RETIRED_COMMAND_TYPE_BYTES[typeByte] !== undefined;
    throw malformed(`command type ${typeByte} is ${retired ? "retired" : "unknown"}`);
  }
  const node = (): string => input.string("node id", NODE_ID_BYTES_MAX);
  const table = (): string => input.string("table name", TABLE_NAME_BYTES_MAX);
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
    case "alert_raised":
      command = { type, alert: readAlert(input, malformed) };
      break;
  }
  input.end(type);
  const problem = commandProblem(command);
  if (problem !== undefined) throw malformed(`${type}: ${problem}`);
  return command;
}
