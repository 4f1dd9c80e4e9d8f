// The cluster's replicated state machine: pure and deterministic. Every node applies the same
// committed commands in the same order and reaches the same state and the same events; time,
// keys and identity come only from the commands themselves. Tampering and bad input are data
// (events and rejection records), never exceptions.
import {
  CheckpointError,
  type NoteVerifier,
  parseVerifierKey,
  readWitnzFields,
  tableOrigin,
  verifyCheckpoint,
} from "../checkpoint/index.js";
import {
  type ClusterCommand,
  type ClusterCommandType,
  commandProblem,
  decodeCommand,
  type ReplicatedAlert,
} from "./commands.js";
import { ClusterError } from "./errors.js";
import { disagreementAlert } from "./incidents.js";
import {
  ALERT_ACKS_KEPT,
  ALERTS_MAX,
  DISAGREEMENTS_KEPT,
  NODES_MAX,
  OBSERVATIONS_MAX,
  REJECTION_MESSAGE_CHARACTERS_MAX,
  REJECTIONS_KEPT,
  SIZES_KEPT_BELOW_AGREED,
  SIZES_PER_TABLE_MAX,
  TABLES_MAX,
  VERIFICATIONS_KEPT_PER_TABLE,
} from "./limits.js";
import type { AttestationSequencingInput } from "./sequencing.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import {
  type AlertAckRecord,
  type ClusterEvent,
  type ClusterState,
  compareText,
  type DisagreementOutcome,
  type DisagreementRecord,
  emptyState,
  emptyTable,
  type IncidentRecord,
  type IncidentState,
  type LogPosition,
  type NodeRecord,
  type NodeValue,
  type ObservationRecord,
  pushBounded,
  type RejectionReason,
  type RejectionRecord,
  type SizeRecord,
  sortedKeys,
  sortedSizes,
  type TableState,
  type VerificationRecord,
} from "./state.js";

export interface ClusterStateMachineOptions {
  /** The cluster's checkpoint origin; a table's checkpoints carry `<origin>/<table>`. */
  readonly clusterOrigin: string;
}

class Rejection {
  constructor(
    readonly reason: RejectionReason,
    readonly message: string,
  ) {}
}

const valueKey = (value: { rootHash: string; chainHash: string }): string =>
  `${value.rootHash} ${value.chainHash}`;

/** The incident id of a disagreement, the same on every node. */
export const disagreementIncidentId = (table: string, size: number): string =>
  `node_disagreement/${table}/${size}`;

export class ClusterStateMachine {
  private state: ClusterState;
  /** Parsed verifier keys, derived from `state.nodes` (never snapshotted). */
  private verifiers = new Map<string, NoteVerifier>();
  /** The type of the command being applied (names an incident's capacity rejection). */
  private applying: ClusterCommandType = "node_registered";

  constructor(options: ClusterStateMachineOptions) {
    tableOrigin(options.clusterOrigin, "probe");
    this.state = emptyState(options.clusterOrigin);
  }

  get appliedIndex(): number {
    return this.state.appliedIndex;
  }

  get appliedTerm(): number {
    return this.state.appliedTerm;
  }

  /**
   * Applies one committed entry's bytes. Bytes that do not decode are recorded as a rejected
   * command (`malformed_command`), so a bad entry in the log can never stop the cluster.
   */
  applyEntry(data: Uint8Array, position: LogPosition): ClusterEvent[] {
    let command: ClusterCommand;
    try {
      command = decodeCommand(data);
    } catch (error) {
      if (!(error instanceof ClusterError)) throw error;
      this.advance(position);
      const rejection = this.reject(position.index, "malformed", "", "", {
        reason: "malformed_command",
        message: error.message,
      });
      return [rejection];
    }
    return this.apply(command, position);
  }

  /** Applies one decoded command at its log position; returns what happened, in order. */
  apply(command: ClusterCommand, position: LogPosition): ClusterEvent[] {
    this.advance(position);
    this.applying = command.type;
    const events: ClusterEvent[] = [];
    const problem = commandProblem(command);
    const outcome =
      problem === undefined
        ? this.dispatch(command, position.index, events)
        : new Rejection("malformed_command", problem);
    if (outcome instanceof Rejection) {
      const subject =
        problem !== undefined
          ? { node: "", table: "" }
          : command.type === "alert_raised"
            ? { node: command.alert.node, table: command.alert.table ?? "" }
            : {
                node: "node" in command ? command.node : "",
                table: "table" in command ? command.table : "",
              };
      return [this.reject(position.index, command.type, subject.node, subject.table, outcome)];
    }
    return events;
  }

  private advance(position: LogPosition): void {
    if (!Number.isSafeInteger(position.index) || position.index <= this.state.appliedIndex) {
      throw new ClusterError(
        "WITNZ_CLUSTER_APPLY_ORDER",
        `entry ${position.index} applied after entry ${this.state.appliedIndex}`,
      );
    }
    if (position.term < this.state.appliedTerm) {
      throw new ClusterError(
        "WITNZ_CLUSTER_APPLY_ORDER",
        `entry ${position.index} has term ${position.term}, below the applied term ${this.state.appliedTerm}`,
      );
    }
    this.state.appliedIndex = position.index;
    this.state.appliedTerm = position.term;
  }

  private reject(
    index: number,
    commandType: ClusterCommandType | "malformed",
    node: string,
    table: string,
    rejection: { reason: RejectionReason; message: string },
  ): ClusterEvent {
    // Code points, not code units, so a cut never leaves half a surrogate pair.
    const message = Array.from(rejection.message)
      .slice(0, REJECTION_MESSAGE_CHARACTERS_MAX)
      .join("");
    const record = { index, commandType, node, table, reason: rejection.reason, message };
    pushBounded(this.state.rejections, record, REJECTIONS_KEPT);
    return { type: "command_rejected", rejection: record };
  }

  private dispatch(
    command: ClusterCommand,
    index: number,
    events: ClusterEvent[],
  ): Rejection | undefined {
    switch (command.type) {
      case "node_registered":
        return this.registerNode(command.node, command.verifierKey, events);
      case "node_removed":
        return this.removeNode(command.node, index, events);
      case "node_restored":
      case "node_reverified":
        return this.markNode(command.node, command.type === "node_restored", index, events);
      case "progress": {
        const known = this.knownNode(command.node);
        if (known !== undefined) return known;
        const table = this.table(command.table);
        if (table instanceof Rejection) return table;
        table.progress.set(command.node, command.size);
        events.push({ type: "progress_recorded", ...pick(command, "node", "table", "size") });
        return undefined;
      }
      case "attestation_target":
        return this.setTarget(command.table, command.size, index, events);
      case "observation":
        return this.observe(command, index, events);
      case "verification_result": {
        const known = this.knownNode(command.node);
        if (known !== undefined) return known;
        const table = this.table(command.table);
        if (table instanceof Rejection) return table;
        const same = table.verifications.some(
          (record) =>
            record.node === command.node && record.timeMicroseconds === command.timeMicroseconds,
        );
        if (same) return duplicate(events, command.type);
        const { type: _type, ...fields } = command;
        const record: VerificationRecord = { ...fields, counts: { ...fields.counts }, index };
        pushBounded(table.verifications, record, VERIFICATIONS_KEPT_PER_TABLE);
        events.push({ type: "verification_recorded", record });
        return undefined;
      }
      case "alert_ack": {
        if (this.isAcknowledged(command.incidentId)) return duplicate(events, command.type);
        const { type: _type, ...fields } = command;
        const record: AlertAckRecord = { ...fields, index };
        pushBounded(this.state.alertAcks, record, ALERT_ACKS_KEPT);
        const incident = this.state.incidents.get(command.incidentId);
        if (incident !== undefined) incident.acknowledged = true;
        events.push({ type: "alert_acknowledged", record });
        return undefined;
      }
      case "alert_raised": {
        const known = this.knownNode(command.alert.node);
        if (known !== undefined) return known;
        return this.raise(command.alert, index, events, true);
      }
    }
  }

  /**
   * Records a report of an incident. A new id becomes an incident (evicting the oldest
   * acknowledged one when ALERTS_MAX are held, refused with `alert_capacity` when none is); a
   * known id from another node adds that node to its reporters (at most NODES_MAX); the same
   * node again changes nothing (a `command_duplicate` event when a command raised it).
   */
  private raise(
    alert: ReplicatedAlert,
    index: number,
    events: ClusterEvent[],
    fromCommand: boolean,
  ): Rejection | undefined {
    const existing = this.state.incidents.get(alert.id);
    if (existing !== undefined) {
      const reporters = existing.reporters;
      if (reporters.includes(alert.node) || reporters.length >= NODES_MAX) {
        return fromCommand ? duplicate(events, "alert_raised") : undefined;
      }
      reporters.push(alert.node);
      reporters.sort(compareText);
      events.push({ type: "alert_reported", incidentId: alert.id, node: alert.node, first: false });
      return undefined;
    }
    if (this.state.incidents.size >= ALERTS_MAX) {
      let evict: string | undefined;
      for (const [id, incident] of this.state.incidents) {
        if (incident.acknowledged) {
          evict = id;
          break;
        }
      }
      if (evict === undefined) {
        return new Rejection(
          "alert_capacity",
          `${ALERTS_MAX} incidents are held and none is acknowledged; ${alert.id} is not recorded`,
        );
      }
      this.state.incidents.delete(evict);
    }
    const acknowledged = this.state.alertAcks.some((record) => record.incidentId === alert.id);
    const incident: IncidentState = {
      alert: copyAlert(alert),
      reporters: [alert.node],
      index,
      acknowledged,
    };
    this.state.incidents.set(alert.id, incident);
    events.push({ type: "alert_raised", alert: copyAlert(alert), index, acknowledged });
    return undefined;
  }

  private knownNode(node: string): Rejection | undefined {
    return this.state.nodes.has(node)
      ? undefined
      : new Rejection("node_unknown", `node ${node} is not registered`);
  }

  /** The table's state, created on first use within TABLES_MAX. */
  private table(name: string): TableState | Rejection {
    const existing = this.state.tables.get(name);
    if (existing !== undefined) return existing;
    if (this.state.tables.size >= TABLES_MAX) {
      return new Rejection("too_many_tables", `the cluster already tracks ${TABLES_MAX} tables`);
    }
    const table = emptyTable(name);
    this.state.tables.set(name, table);
    return table;
  }

  private registerNode(node: string, verifierKey: string, events: ClusterEvent[]) {
    const existing = this.state.nodes.get(node);
    if (existing !== undefined) {
      if (existing.verifierKey === verifierKey) return duplicate(events, "node_registered");
      return new Rejection(
        "node_key_conflict",
        `node ${node} is registered with another key; remove it first`,
      );
    }
    if (this.state.nodes.size >= NODES_MAX) {
      return new Rejection("too_many_nodes", `the cluster already has ${NODES_MAX} nodes`);
    }
    this.state.nodes.set(node, { node, verifierKey, restored: false });
    this.verifiers.set(node, parseVerifierKey(verifierKey));
    events.push({ type: "node_registered", node });
    return undefined;
  }

  private removeNode(node: string, index: number, events: ClusterEvent[]) {
    const known = this.knownNode(node);
    if (known !== undefined) return known;
    this.state.nodes.delete(node);
    this.verifiers.delete(node);
    for (const table of this.state.tables.values()) {
      table.attested.delete(node);
      table.progress.delete(node);
    }
    events.push({ type: "node_removed", node });
    this.evaluateAll(index, events);
    return undefined;
  }

  private markNode(node: string, restored: boolean, index: number, events: ClusterEvent[]) {
    const record = this.state.nodes.get(node);
    if (record === undefined) return this.knownNode(node);
    if (record.restored === restored) {
      return duplicate(events, restored ? "node_restored" : "node_reverified");
    }
    record.restored = restored;
    events.push({ type: restored ? "node_restored" : "node_reverified", node });
    this.evaluateAll(index, events);
    return undefined;
  }

  private setTarget(name: string, size: number, index: number, events: ClusterEvent[]) {
    const table = this.table(name);
    if (table instanceof Rejection) return table;
    if (size <= table.targetSize) {
      return new Rejection(
        "target_not_increasing",
        `target ${size} for ${name} is not above the last target ${table.targetSize}`,
      );
    }
    table.targetSize = size;
    table.sizes.set(size, { size, observations: new Map(), disagreementReported: false });
    events.push({ type: "target_set", table: name, size });
    this.prune(table, index, events);
    return undefined;
  }

  private observe(
    command: Extract<ClusterCommand, { type: "observation" }>,
    index: number,
    events: ClusterEvent[],
  ): Rejection | undefined {
    const node = this.state.nodes.get(command.node);
    const verifier = this.verifiers.get(command.node);
    if (node === undefined || verifier === undefined) return this.knownNode(command.node);
    let checkpoint: ReturnType<typeof verifyCheckpoint>["checkpoint"];
    let fields: ReturnType<typeof readWitnzFields>;
    try {
      checkpoint = verifyCheckpoint(command.note, [verifier]).checkpoint;
      fields = readWitnzFields(checkpoint);
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      const reason: RejectionReason =
        error.code === "WITNZ_SIGNATURE_INVALID"
          ? "signature_invalid"
          : error.code === "WITNZ_SIGNATURE_MISSING"
            ? "signature_not_from_node"
            : "checkpoint_malformed";
      return new Rejection(reason, error.message);
    }
    if (fields.table !== command.table) {
      return new Rejection(
        "table_mismatch",
        `checkpoint is of table ${fields.table}; the command names ${command.table}`,
      );
    }
    const origin = tableOrigin(this.state.clusterOrigin, command.table);
    if (checkpoint.origin !== origin) {
      return new Rejection(
        "origin_mismatch",
        `checkpoint origin ${checkpoint.origin} is not this cluster's ${origin}`,
      );
    }
    if (checkpoint.size !== command.size) {
      return new Rejection(
        "size_mismatch",
        `checkpoint size ${checkpoint.size}; the command names ${command.size}`,
      );
    }
    if (fields.timeMicroseconds > BigInt(Number.MAX_SAFE_INTEGER)) {
      return new Rejection("checkpoint_malformed", "checkpoint time is beyond 2^53 microseconds");
    }
    if (node.restored) {
      return new Rejection(
        "node_restored",
        `node ${command.node} was restored from a peer and has not been re-verified`,
      );
    }
    const table = this.state.tables.get(command.table);
    const record = table?.sizes.get(command.size);
    if (table === undefined || record === undefined) {
      const expired = table !== undefined && command.size <= table.targetSize;
      return expired && command.size < Math.min(...table.sizes.keys())
        ? new Rejection(
            "size_expired",
            `size ${command.size} of ${command.table} is no longer kept`,
          )
        : new Rejection(
            "size_not_targeted",
            `size ${command.size} of ${command.table} is not an attestation target`,
          );
    }
    const observation: ObservationRecord = {
      node: command.node,
      size: command.size,
      rootHash: Buffer.from(checkpoint.rootHash).toString("base64"),
      chainHash: Buffer.from(fields.chainHash).toString("base64"),
      lsn: fields.lsn,
      timeMicroseconds: Number(fields.timeMicroseconds),
      note: command.note,
      index,
    };
    const earlier = record.observations.get(command.node);
    if (earlier !== undefined) {
      if (valueKey(earlier) === valueKey(observation)) return duplicate(events, command.type);
      return new Rejection(
        "observation_conflict",
        `node ${command.node} already attested another value for ${command.table} at size ${command.size}`,
      );
    }
    if (this.state.observationCount >= OBSERVATIONS_MAX) {
      return new Rejection(
        "observation_capacity",
        `${OBSERVATIONS_MAX} observations are held; sizes must be agreed or expire first`,
      );
    }
    record.observations.set(command.node, observation);
    this.state.observationCount += 1;
    const attested = table.attested.get(command.node) ?? 0;
    table.attested.set(command.node, Math.max(attested, command.size));
    events.push({ type: "observation_accepted", ...pick(command, "node", "table", "size") });
    this.evaluate(table, index, events);
    return undefined;
  }

  /** Registered nodes that are not marked restored, by id. */
  countingNodes(): string[] {
    return sortedKeys(this.state.nodes).filter((node) => !this.state.nodes.get(node)!.restored);
  }

  private evaluateAll(index: number, events: ClusterEvent[]): void {
    for (const name of sortedKeys(this.state.tables)) {
      this.evaluate(this.state.tables.get(name)!, index, events);
    }
  }

  /** Reports disagreements that are now decided, advances the agreed size, then prunes. */
  private evaluate(table: TableState, index: number, events: ClusterEvent[]): void {
    const counting = this.countingNodes();
    for (const size of sortedSizes(table.sizes)) {
      const record = table.sizes.get(size)!;
      const reported = counting.filter((node) => record.observations.has(node));
      const groups = groupValues(record, reported);
      if (groups.length >= 2 && !record.disagreementReported) {
        const decided =
          reported.length === counting.length || groups[0]!.nodes.length > counting.length / 2;
        if (decided) this.reportDisagreement(table, record, counting, index, events);
      }
      const unanimous = groups.length === 1 && reported.length === counting.length;
      if (unanimous && size > table.agreedSize) {
        table.agreedSize = size;
        events.push({ type: "size_agreed", table: table.name, size });
      }
    }
    this.prune(table, index, events);
  }

  /**
   * Keeps every size at or above the agreed size and SIZES_KEPT_BELOW_AGREED below it, and at
   * most SIZES_PER_TABLE_MAX in all (the oldest go first). A dropped size whose values differ
   * and was not yet reported is reported now, with the nodes that never reported it.
   */
  private prune(table: TableState, index: number, events: ClusterEvent[]): void {
    const sizes = sortedSizes(table.sizes);
    const below = sizes.filter((size) => size < table.agreedSize);
    const dropBelow = Math.max(0, below.length - SIZES_KEPT_BELOW_AGREED);
    const dropCount = Math.max(dropBelow, sizes.length - SIZES_PER_TABLE_MAX);
    if (dropCount === 0) return;
    const counting = this.countingNodes();
    for (const size of sizes.slice(0, dropCount)) {
      const record = table.sizes.get(size)!;
      const reported = counting.filter((node) => record.observations.has(node));
      if (!record.disagreementReported && groupValues(record, reported).length >= 2) {
        this.reportDisagreement(table, record, counting, index, events);
      }
      this.state.observationCount -= record.observations.size;
      table.sizes.delete(size);
    }
  }

  private reportDisagreement(
    table: TableState,
    record: SizeRecord,
    counting: readonly string[],
    index: number,
    events: ClusterEvent[],
  ): void {
    const reported = counting.filter((node) => record.observations.has(node));
    const groups = groupValues(record, reported);
    const top = groups[0]!;
    let outcome: DisagreementOutcome;
    if (top.nodes.length > counting.length / 2) outcome = "majority";
    else if (groups[1]!.nodes.length === top.nodes.length) outcome = "tie";
    else outcome = "no_majority";
    const majorityNodes = outcome === "majority" ? top.nodes : [];
    const values: NodeValue[] = reported.map((node) => {
      const { rootHash, chainHash } = record.observations.get(node)!;
      return { node, rootHash, chainHash };
    });
    const oddNodes =
      outcome === "majority" ? reported.filter((node) => !top.nodes.includes(node)) : [];
    const missingNodes = counting.filter((node) => !record.observations.has(node));
    // The same disagreement going on (the nodes split the same way, no agreement since the last
    // one recorded for the table, its incident raised) belongs to that one's incident: one alert
    // per episode.
    const ongoing = this.ongoingDisagreement(table, outcome, values, missingNodes);
    const disagreement: DisagreementRecord = {
      index,
      table: table.name,
      size: record.size,
      incidentId: ongoing?.incidentId ?? disagreementIncidentId(table.name, record.size),
      values,
      outcome,
      majorityNodes,
      oddNodes,
      missingNodes,
    };
    record.disagreementReported = true;
    pushBounded(this.state.disagreements, disagreement, DISAGREEMENTS_KEPT);
    events.push({ type: "node_disagreement", disagreement });
    if (ongoing !== undefined) return;
    // Its incident, recorded by the machine itself (node `cluster`), deterministically.
    const majorityLsn =
      outcome === "majority" ? record.observations.get(top.nodes[0]!)!.lsn : undefined;
    let latest = 0;
    for (const observation of record.observations.values()) {
      latest = Math.max(latest, observation.timeMicroseconds);
    }
    const alert = disagreementAlert(disagreement, majorityLsn, latest);
    const refused = this.raise(alert, index, events, false);
    if (refused !== undefined) {
      // The disagreement record stays; only its incident is dropped.
      events.push(this.reject(index, this.applying, "", table.name, refused));
    }
  }

  /**
   * The table's latest recorded disagreement when it is the same one still going on: the same
   * outcome, the nodes split into the same groups by value and the same ones missing, no size
   * agreed by every node at or above it since, and its incident held.
   */
  private ongoingDisagreement(
    table: TableState,
    outcome: DisagreementOutcome,
    values: readonly NodeValue[],
    missingNodes: readonly string[],
  ): DisagreementRecord | undefined {
    let latest: DisagreementRecord | undefined;
    for (let at = this.state.disagreements.length - 1; at >= 0; at--) {
      const candidate = this.state.disagreements[at]!;
      if (candidate.table === table.name) {
        latest = candidate;
        break;
      }
    }
    if (latest === undefined || table.agreedSize > latest.size) return undefined;
    if (!this.state.incidents.has(latest.incidentId)) return undefined;
    const same =
      latest.outcome === outcome &&
      splitOf(latest.values) === splitOf(values) &&
      latest.missingNodes.join("\n") === missingNodes.join("\n");
    return same ? latest : undefined;
  }

  // --- Queries -------------------------------------------------------------------------------

  /** Largest size of `table` at which every counting node attested the same value (0: none). */
  agreedSize(table: string): number {
    return this.state.tables.get(table)?.agreedSize ?? 0;
  }

  targetSize(table: string): number {
    return this.state.tables.get(table)?.targetSize ?? 0;
  }

  /** Latest size `node` attested for `table` (0: none). */
  latestAttestedSize(node: string, table: string): number {
    return this.state.tables.get(table)?.attested.get(node) ?? 0;
  }

  /** Every kept observation of `table` at `size`, by node id. */
  observations(table: string, size: number): ObservationRecord[] {
    const record = this.state.tables.get(table)?.sizes.get(size);
    if (record === undefined) return [];
    return sortedKeys(record.observations).map((node) => record.observations.get(node)!);
  }

  /** Sizes of `table` still held, ascending. */
  keptSizes(table: string): number[] {
    const state = this.state.tables.get(table);
    return state === undefined ? [] : sortedSizes(state.sizes);
  }

  nodes(): NodeRecord[] {
    return sortedKeys(this.state.nodes).map((node) => ({ ...this.state.nodes.get(node)! }));
  }

  tables(): string[] {
    return sortedKeys(this.state.tables);
  }

  verifications(table: string): readonly VerificationRecord[] {
    return [...(this.state.tables.get(table)?.verifications ?? [])];
  }

  alertAcks(): readonly AlertAckRecord[] {
    return [...this.state.alertAcks];
  }

  /** Whether an alert_ack named the incident (kept while the incident or its ack is held). */
  isAcknowledged(incidentId: string): boolean {
    return (
      this.state.incidents.get(incidentId)?.acknowledged === true ||
      this.state.alertAcks.some((record) => record.incidentId === incidentId)
    );
  }

  /** Every held incident, in log order of its first report. */
  incidents(): IncidentRecord[] {
    return [...this.state.incidents.values()].map(incidentRecord);
  }

  incident(id: string): IncidentRecord | undefined {
    const incident = this.state.incidents.get(id);
    return incident === undefined ? undefined : incidentRecord(incident);
  }

  /** Incidents not acknowledged, in log order: what the leader still has to deliver. */
  pendingIncidents(): IncidentRecord[] {
    return [...this.state.incidents.values()]
      .filter((incident) => !incident.acknowledged)
      .map(incidentRecord);
  }

  rejections(): readonly RejectionRecord[] {
    return [...this.state.rejections];
  }

  disagreements(): readonly DisagreementRecord[] {
    return [...this.state.disagreements];
  }

  observationCount(): number {
    return this.state.observationCount;
  }

  /** What the leader's sequencing rule needs for `table` (see nextAttestationSize). */
  sequencingInput(table: string): AttestationSequencingInput {
    const state = this.state.tables.get(table);
    const countingNodes = this.countingNodes();
    const localSizes = new Map<string, number>();
    for (const node of countingNodes) {
      const size = state?.progress.get(node);
      if (size !== undefined) localSizes.set(node, size);
    }
    return {
      countingNodes,
      localSizes,
      lastTargetSize: state?.targetSize ?? 0,
      pendingTargets:
        state === undefined
          ? 0
          : // A size whose disagreement is decided is settled: a lasting liar must not stall
            // the targets of everyone else.
            [...state.sizes.values()].filter(
              (record) => record.size > state.agreedSize && !record.disagreementReported,
            ).length,
    };
  }

  // --- Snapshots -----------------------------------------------------------------------------

  /** The whole state as bytes; the same state always gives the same bytes. */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.state);
  }

  /** Replaces the whole state with a snapshot's; throws WITNZ_CLUSTER_SNAPSHOT_MALFORMED. */
  restore(bytes: Uint8Array): void {
    const state = decodeSnapshot(bytes, this.state.clusterOrigin);
    const verifiers = new Map<string, NoteVerifier>();
    for (const [node, record] of state.nodes) {
      verifiers.set(node, parseVerifierKey(record.verifierKey));
    }
    this.state = state;
    this.verifiers = verifiers;
  }
}

interface ValueGroup {
  readonly key: string;
  readonly nodes: string[];
}

/** Reported nodes grouped by value, largest group first, then by value for a fixed order. */
/** How nodes group by value, as text: the groups of node ids, each and all in code-unit order. */
function splitOf(values: readonly NodeValue[]): string {
  const groups = new Map<string, string[]>();
  for (const value of values) {
    const key = valueKey(value);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [value.node]);
    else group.push(value.node);
  }
  return JSON.stringify(
    [...groups.values()].map((nodes) => [...nodes].sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
  );
}

function groupValues(record: SizeRecord, reported: readonly string[]): ValueGroup[] {
  const groups = new Map<string, string[]>();
  for (const node of reported) {
    const key = valueKey(record.observations.get(node)!);
    const nodes = groups.get(key) ?? [];
    nodes.push(node);
    groups.set(key, nodes);
  }
  return [...groups.entries()]
    .map(([key, nodes]) => ({ key, nodes }))
    .sort((a, b) => b.nodes.length - a.nodes.length || (a.key < b.key ? -1 : 1));
}

function copyAlert(alert: ReplicatedAlert): ReplicatedAlert {
  return alert.pk === undefined ? { ...alert } : { ...alert, pk: [...alert.pk] };
}

function incidentRecord(incident: IncidentState): IncidentRecord {
  return {
    alert: copyAlert(incident.alert),
    reporters: [...incident.reporters],
    index: incident.index,
    acknowledged: incident.acknowledged,
  };
}

function duplicate(events: ClusterEvent[], commandType: ClusterCommandType): undefined {
  events.push({ type: "command_duplicate", commandType });
  return undefined;
}

function pick<T extends object, K extends keyof T>(value: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) out[key] = value[key];
  return out;
}
