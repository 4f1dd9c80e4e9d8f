// The state machine's snapshot: u8 version (2), then every part of the state in a fixed order,
// maps sorted by key (code-unit order) and sizes ascending, so the same state always gives the
// same bytes. Lists (results, acknowledgements, incidents, rejections, disagreements) keep their
// order, which is part of the state. Restore checks every limit the live state keeps.
import { ByteReader, ByteWriter } from "./bytes.js";
import {
  alertProblem,
  COMMAND_TYPE_BYTES,
  commandTypeOfByte,
  readAlert,
  writeAlert,
} from "./commands.js";
import { ClusterError } from "./errors.js";
import {
  ALERT_ACKS_KEPT,
  ALERTS_MAX,
  DISAGREEMENTS_KEPT,
  INCIDENT_ID_BYTES_MAX,
  LSN_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  NODES_MAX,
  OBSERVATION_NOTE_BYTES_MAX,
  OBSERVATIONS_MAX,
  REJECTION_MESSAGE_CHARACTERS_MAX,
  REJECTIONS_KEPT,
  SIZES_PER_TABLE_MAX,
  SNAPSHOT_BYTES_MAX,
  TABLE_NAME_BYTES_MAX,
  TABLES_MAX,
  VERIFICATIONS_KEPT_PER_TABLE,
  VERIFIER_KEY_BYTES_MAX,
} from "./limits.js";
import {
  type ClusterState,
  compareText,
  DISAGREEMENT_OUTCOMES,
  emptyState,
  emptyTable,
  type ObservationRecord,
  REJECTION_REASONS,
  type RejectionRecord,
  sortedKeys,
  sortedSizes,
} from "./state.js";

/** 2: violations and gaps gave way to incidents. */
export const SNAPSHOT_FORMAT_VERSION = 2;
/** Base64 of a 32-byte hash. */
const HASH_TEXT_BYTES_MAX = 44;

function writeStringList(out: ByteWriter, list: readonly string[]): void {
  out.u32(list.length);
  for (const item of list) out.string(item);
}

export function encodeSnapshot(state: ClusterState): Uint8Array {
  const out = new ByteWriter();
  out.u8(SNAPSHOT_FORMAT_VERSION);
  out.string(state.clusterOrigin);
  out.u64(state.appliedIndex);
  out.u64(state.appliedTerm);
  const nodes = sortedKeys(state.nodes);
  out.u32(nodes.length);
  for (const node of nodes) {
    const record = state.nodes.get(node)!;
    out.string(record.node);
    out.string(record.verifierKey);
    out.bool(record.restored);
  }
  const tables = sortedKeys(state.tables);
  out.u32(tables.length);
  for (const name of tables) {
    const table = state.tables.get(name)!;
    out.string(table.name);
    out.u64(table.targetSize);
    out.u64(table.agreedSize);
    for (const sizes of [table.progress, table.attested]) {
      const keys = sortedKeys(sizes);
      out.u32(keys.length);
      for (const node of keys) {
        out.string(node);
        out.u64(sizes.get(node)!);
      }
    }
    const kept = sortedSizes(table.sizes);
    out.u32(kept.length);
    for (const size of kept) {
      const record = table.sizes.get(size)!;
      out.u64(size);
      out.bool(record.disagreementReported);
      const observers = sortedKeys(record.observations);
      out.u32(observers.length);
      for (const node of observers) {
        const observation = record.observations.get(node)!;
        out.string(observation.node);
        out.string(observation.rootHash);
        out.string(observation.chainHash);
        out.string(observation.lsn);
        out.u64(observation.timeMicroseconds);
        out.string(observation.note);
        out.u64(observation.index);
      }
    }
    out.u32(table.verifications.length);
    for (const record of table.verifications) {
      out.string(record.node);
      out.u64(record.timeMicroseconds);
      out.bool(record.ok);
      out.u64(record.counts.rows);
      out.u64(record.counts.modified);
      out.u64(record.counts.deleted);
      out.u64(record.counts.phantom);
      out.u64(record.index);
    }
  }
  out.u32(state.alertAcks.length);
  for (const record of state.alertAcks) {
    out.string(record.incidentId);
    out.string(record.by);
    out.u64(record.timeMicroseconds);
    out.u64(record.index);
  }
  out.u32(state.incidents.size);
  for (const incident of state.incidents.values()) {
    writeAlert(out, incident.alert);
    writeStringList(out, incident.reporters);
    out.u64(incident.index);
    out.bool(incident.acknowledged);
  }
  out.u32(state.rejections.length);
  for (const record of state.rejections) {
    out.u64(record.index);
    out.u8(record.commandType === "malformed" ? 0 : COMMAND_TYPE_BYTES[record.commandType]);
    out.string(record.node);
    out.string(record.table);
    out.u8(REJECTION_REASONS.indexOf(record.reason));
    out.string(record.message);
  }
  out.u32(state.disagreements.length);
  for (const record of state.disagreements) {
    out.u64(record.index);
    out.string(record.table);
    out.u64(record.size);
    out.string(record.incidentId);
    out.u32(record.values.length);
    for (const value of record.values) {
      out.string(value.node);
      out.string(value.rootHash);
      out.string(value.chainHash);
    }
    out.u8(DISAGREEMENT_OUTCOMES.indexOf(record.outcome));
    writeStringList(out, record.majorityNodes);
    writeStringList(out, record.oddNodes);
    writeStringList(out, record.missingNodes);
  }
  const bytes = out.finish();
  if (bytes.length > SNAPSHOT_BYTES_MAX) {
    // The limits keep the worst case below this; reaching it is a bug in those limits.
    throw new ClusterError(
      "WITNZ_CLUSTER_SNAPSHOT_MALFORMED",
      `snapshot is ${bytes.length} bytes; at most ${SNAPSHOT_BYTES_MAX}`,
    );
  }
  return bytes;
}

const malformed = (message: string): ClusterError =>
  new ClusterError("WITNZ_CLUSTER_SNAPSHOT_MALFORMED", message);

function count(input: ByteReader, what: string, max: number): number {
  const value = input.u32(`${what} count`);
  if (value > max) throw malformed(`${what} count ${value} is above ${max}`);
  return value;
}

function choice<T>(values: readonly T[], byte: number, what: string): T {
  const value = values[byte];
  if (value === undefined) throw malformed(`${what} byte ${byte} is unknown`);
  return value;
}

export function decodeSnapshot(bytes: Uint8Array, clusterOrigin: string): ClusterState {
  if (bytes.length > SNAPSHOT_BYTES_MAX) {
    throw malformed(`snapshot is ${bytes.length} bytes; at most ${SNAPSHOT_BYTES_MAX}`);
  }
  const input = new ByteReader(bytes, malformed);
  const version = input.u8("snapshot version");
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw malformed(`snapshot version ${version} is not supported`);
  }
  const origin = input.string("cluster origin", TABLE_NAME_BYTES_MAX);
  if (origin !== clusterOrigin) {
    throw malformed(`snapshot is of cluster origin ${origin}; this node's is ${clusterOrigin}`);
  }
  const state = emptyState(origin);
  state.appliedIndex = input.u64("applied index");
  state.appliedTerm = input.u64("applied term");
  const node = (): string => input.string("node id", NODE_ID_BYTES_MAX);
  const hash = (what: string): string => input.string(what, HASH_TEXT_BYTES_MAX);
  const lsn = (what: string): string => input.string(what, LSN_BYTES_MAX);
  const nodeCount = count(input, "node", NODES_MAX);
  for (let i = 0; i < nodeCount; i++) {
    const id = node();
    const verifierKey = input.string("verifier key", VERIFIER_KEY_BYTES_MAX);
    state.nodes.set(id, { node: id, verifierKey, restored: input.bool("restored") });
  }
  const tableCount = count(input, "table", TABLES_MAX);
  for (let t = 0; t < tableCount; t++) {
    const table = emptyTable(input.string("table name", TABLE_NAME_BYTES_MAX));
    table.targetSize = input.u64("target size");
    table.agreedSize = input.u64("agreed size");
    for (const sizes of [table.progress, table.attested]) {
      const entries = count(input, "node size", NODES_MAX);
      for (let i = 0; i < entries; i++) sizes.set(node(), input.u64("size"));
    }
    const kept = count(input, "size", SIZES_PER_TABLE_MAX);
    for (let s = 0; s < kept; s++) {
      const size = input.u64("size");
      const disagreementReported = input.bool("disagreement reported");
      const observations = new Map<string, ObservationRecord>();
      const observers = count(input, "observation", NODES_MAX);
      for (let o = 0; o < observers; o++) {
        const observation: ObservationRecord = {
          node: node(),
          size,
          rootHash: hash("root hash"),
          chainHash: hash("chain hash"),
          lsn: lsn("lsn"),
          timeMicroseconds: input.u64("time"),
          note: input.string("note", OBSERVATION_NOTE_BYTES_MAX),
          index: input.u64("index"),
        };
        observations.set(observation.node, observation);
      }
      state.observationCount += observations.size;
      table.sizes.set(size, { size, observations, disagreementReported });
    }
    const verifications = count(input, "verification", VERIFICATIONS_KEPT_PER_TABLE);
    for (let i = 0; i < verifications; i++) {
      table.verifications.push({
        node: node(),
        table: table.name,
        timeMicroseconds: input.u64("time"),
        ok: input.bool("ok"),
        counts: {
          rows: input.u64("rows"),
          modified: input.u64("modified"),
          deleted: input.u64("deleted"),
          phantom: input.u64("phantom"),
        },
        index: input.u64("index"),
      });
    }
    state.tables.set(table.name, table);
  }
  if (state.observationCount > OBSERVATIONS_MAX) {
    throw malformed(`${state.observationCount} observations; at most ${OBSERVATIONS_MAX}`);
  }
  const acks = count(input, "alert acknowledgement", ALERT_ACKS_KEPT);
  for (let i = 0; i < acks; i++) {
    state.alertAcks.push({
      incidentId: input.string("incident id", INCIDENT_ID_BYTES_MAX),
      by: input.string("acknowledged by", NODE_ID_BYTES_MAX),
      timeMicroseconds: input.u64("time"),
      index: input.u64("index"),
    });
  }
  const nodeList = (what: string): string[] => {
    const length = count(input, what, NODES_MAX);
    return Array.from({ length }, node);
  };
  const incidents = count(input, "incident", ALERTS_MAX);
  let previousIndex = 0;
  for (let i = 0; i < incidents; i++) {
    const alert = readAlert(input, malformed);
    const problem = alertProblem(alert);
    if (problem !== undefined) throw malformed(`incident ${i}: ${problem}`);
    if (state.incidents.has(alert.id)) throw malformed(`incident ${alert.id} appears twice`);
    const reporters = nodeList("reporter");
    const ordered = reporters.every((id, r) => r === 0 || compareText(reporters[r - 1]!, id) < 0);
    if (reporters.length === 0 || !ordered) {
      throw malformed(`incident ${alert.id} reporters are not a sorted, non-empty set`);
    }
    const index = input.u64("index");
    if (index < previousIndex || index > state.appliedIndex) {
      throw malformed(`incident ${alert.id} index ${index} is out of log order`);
    }
    previousIndex = index;
    const acknowledged = input.bool("acknowledged");
    state.incidents.set(alert.id, { alert, reporters, index, acknowledged });
  }
  const rejections = count(input, "rejection", REJECTIONS_KEPT);
  for (let i = 0; i < rejections; i++) {
    const index = input.u64("index");
    const typeByte = input.u8("command type");
    const byType = commandTypeOfByte(typeByte);
    if (typeByte !== 0 && byType === undefined) {
      throw malformed(`command type byte ${typeByte} is unknown`);
    }
    const commandType: RejectionRecord["commandType"] = byType ?? "malformed";
    state.rejections.push({
      index,
      commandType,
      node: input.string("node id", NODE_ID_BYTES_MAX),
      table: input.string("table name", TABLE_NAME_BYTES_MAX),
      reason: choice(REJECTION_REASONS, input.u8("reason"), "rejection reason"),
      message: input.string("message", 4 * REJECTION_MESSAGE_CHARACTERS_MAX),
    });
  }
  const disagreements = count(input, "disagreement", DISAGREEMENTS_KEPT);
  for (let i = 0; i < disagreements; i++) {
    const index = input.u64("index");
    const table = input.string("table name", TABLE_NAME_BYTES_MAX);
    const size = input.u64("size");
    const incidentId = input.string("incident id", INCIDENT_ID_BYTES_MAX);
    const valueCount = count(input, "value", NODES_MAX);
    const values = Array.from({ length: valueCount }, () => ({
      node: node(),
      rootHash: hash("root hash"),
      chainHash: hash("chain hash"),
    }));
    state.disagreements.push({
      index,
      table,
      size,
      incidentId,
      values,
      outcome: choice(DISAGREEMENT_OUTCOMES, input.u8("outcome"), "outcome"),
      majorityNodes: nodeList("majority node"),
      oddNodes: nodeList("odd node"),
      missingNodes: nodeList("missing node"),
    });
  }
  input.end("snapshot");
  return state;
}
