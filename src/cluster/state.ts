// The replicated state's records and the events applying a command yields. Everything here is
// plain data: the snapshot writes it, restore reads it back, and queries hand it out read-only.
import type { ClusterCommandType, ReplicatedAlert, VerificationCounts } from "./commands.js";

/** Where a command sits in the Raft log. */
export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

export interface NodeRecord {
  readonly node: string;
  /** Signed-note verifier key (vkey) its observations must verify with. */
  readonly verifierKey: string;
  /** Rebuilt from a peer and not yet re-verified: its observations do not count. */
  restored: boolean;
}

export interface ObservationRecord {
  readonly node: string;
  readonly size: number;
  /** Base64, as in the checkpoint. */
  readonly rootHash: string;
  /** Base64 c_n, as in the checkpoint's witnz-chain line. */
  readonly chainHash: string;
  readonly lsn: string;
  readonly timeMicroseconds: number;
  /** The whole signed note, kept as evidence. */
  readonly note: string;
  /** Log index of the command that recorded it. */
  readonly index: number;
}

export interface SizeRecord {
  readonly size: number;
  readonly observations: Map<string, ObservationRecord>;
  disagreementReported: boolean;
}

export interface VerificationRecord {
  readonly node: string;
  readonly table: string;
  readonly timeMicroseconds: number;
  readonly ok: boolean;
  readonly counts: VerificationCounts;
  readonly index: number;
}

export interface AlertAckRecord {
  readonly incidentId: string;
  readonly by: string;
  readonly timeMicroseconds: number;
  readonly index: number;
}

/** The node id the state machine reports its own incidents under (node disagreements). */
export const CLUSTER_REPORTER = "cluster";

/** One incident: a replicated alert, keyed by its id. */
export interface IncidentRecord {
  /** The first report's alert; later reports only add their node to `reporters`. */
  readonly alert: ReplicatedAlert;
  /** Every node that reported it, in code-unit order (`cluster` for the machine's own). */
  readonly reporters: readonly string[];
  /** Log index of the first report. */
  readonly index: number;
  /** An alert_ack named it (before or after it was raised). */
  readonly acknowledged: boolean;
}

/** The mutable form the state keeps. */
export interface IncidentState {
  readonly alert: ReplicatedAlert;
  readonly reporters: string[];
  readonly index: number;
  acknowledged: boolean;
}

export const REJECTION_REASONS = [
  "malformed_command",
  "node_unknown",
  "node_key_conflict",
  "too_many_nodes",
  "too_many_tables",
  "checkpoint_malformed",
  "signature_invalid",
  "signature_not_from_node",
  "table_mismatch",
  "origin_mismatch",
  "size_mismatch",
  "node_restored",
  "size_not_targeted",
  "size_expired",
  "observation_conflict",
  "observation_capacity",
  "target_not_increasing",
  "alert_capacity",
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export interface RejectionRecord {
  readonly index: number;
  /**
   * `malformed` when the bytes did not decode. For an `alert_capacity` rejection of a node
   * disagreement's incident, the command whose applying recorded the disagreement (which was
   * itself applied).
   */
  readonly commandType: ClusterCommandType | "malformed";
  /** The command's node (an alert's reporting node); empty when it names none or did not decode. */
  readonly node: string;
  readonly table: string;
  readonly reason: RejectionReason;
  readonly message: string;
}

export interface NodeValue {
  readonly node: string;
  readonly rootHash: string;
  readonly chainHash: string;
}

export const DISAGREEMENT_OUTCOMES = ["majority", "tie", "no_majority"] as const;
/**
 * `majority`: one value is held by more than half of the counting nodes; the others are odd.
 * `tie`: two or more values share the largest number of nodes. `no_majority`: one value leads but
 * is held by half of the counting nodes or fewer. No node is named odd without a majority.
 */
export type DisagreementOutcome = (typeof DISAGREEMENT_OUTCOMES)[number];

export interface DisagreementRecord {
  readonly index: number;
  readonly table: string;
  readonly size: number;
  /**
   * The incident it belongs to, the same on every node: its own (table, size) id, or, while the
   * same disagreement goes on (same outcome and odd nodes, nothing agreed since), the id of the
   * episode's first size; one alert per episode.
   */
  readonly incidentId: string;
  /** Every counting node's value, by node id. */
  readonly values: readonly NodeValue[];
  readonly outcome: DisagreementOutcome;
  /** The majority's nodes (empty without a majority). */
  readonly majorityNodes: readonly string[];
  /** The odd nodes out: counting nodes that reported a value other than the majority's. */
  readonly oddNodes: readonly string[];
  /** Counting nodes that had not reported this size when it was recorded. */
  readonly missingNodes: readonly string[];
}

export interface TableState {
  readonly name: string;
  /** Latest attestation target (0: none yet). */
  targetSize: number;
  /** Largest size at which every counting node reported the same value (0: none yet). */
  agreedSize: number;
  readonly sizes: Map<number, SizeRecord>;
  /** Latest size each node attested (accepted observation). */
  readonly attested: Map<string, number>;
  /** Latest local chain size each node reported. */
  readonly progress: Map<string, number>;
  readonly verifications: VerificationRecord[];
}

export interface ClusterState {
  readonly clusterOrigin: string;
  appliedIndex: number;
  appliedTerm: number;
  readonly nodes: Map<string, NodeRecord>;
  readonly tables: Map<string, TableState>;
  readonly alertAcks: AlertAckRecord[];
  /** By incident id, in log order (Map insertion order) of the first report. */
  readonly incidents: Map<string, IncidentState>;
  readonly rejections: RejectionRecord[];
  readonly disagreements: DisagreementRecord[];
  observationCount: number;
}

export type ClusterEvent =
  | { readonly type: "node_registered"; readonly node: string }
  | { readonly type: "node_removed"; readonly node: string }
  | { readonly type: "node_restored"; readonly node: string }
  | { readonly type: "node_reverified"; readonly node: string }
  | {
      readonly type: "progress_recorded";
      readonly node: string;
      readonly table: string;
      readonly size: number;
    }
  | { readonly type: "target_set"; readonly table: string; readonly size: number }
  | {
      readonly type: "observation_accepted";
      readonly node: string;
      readonly table: string;
      readonly size: number;
    }
  | { readonly type: "size_agreed"; readonly table: string; readonly size: number }
  | { readonly type: "node_disagreement"; readonly disagreement: DisagreementRecord }
  | { readonly type: "verification_recorded"; readonly record: VerificationRecord }
  | { readonly type: "alert_acknowledged"; readonly record: AlertAckRecord }
  /**
   * A new incident (its first report, or a node disagreement the machine recorded). The leader
   * delivers it unless `acknowledged` (an alert_ack for its id came first).
   */
  | {
      readonly type: "alert_raised";
      readonly alert: ReplicatedAlert;
      readonly index: number;
      readonly acknowledged: boolean;
    }
  /** Another node reported a known incident: it joins `reporters`; nothing is delivered again. */
  | {
      readonly type: "alert_reported";
      readonly incidentId: string;
      readonly node: string;
      readonly first: false;
    }
  /** The command changed nothing: the same record is already held. */
  | { readonly type: "command_duplicate"; readonly commandType: ClusterCommandType }
  | { readonly type: "command_rejected"; readonly rejection: RejectionRecord };

export function emptyState(clusterOrigin: string): ClusterState {
  return {
    clusterOrigin,
    appliedIndex: 0,
    appliedTerm: 0,
    nodes: new Map(),
    tables: new Map(),
    alertAcks: [],
    incidents: new Map(),
    rejections: [],
    disagreements: [],
    observationCount: 0,
  };
}

export function emptyTable(name: string): TableState {
  return {
    name,
    targetSize: 0,
    agreedSize: 0,
    sizes: new Map(),
    attested: new Map(),
    progress: new Map(),
    verifications: [],
  };
}

/** Code-unit order, the same on every machine (never locale order). */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
export const sortedKeys = <T>(map: ReadonlyMap<string, T>): string[] =>
  [...map.keys()].sort(compareText);
export const sortedSizes = (map: ReadonlyMap<number, unknown>): number[] =>
  [...map.keys()].sort((a, b) => a - b);

/** Appends and drops the oldest beyond `keptMax`. */
export function pushBounded<T>(list: T[], item: T, keptMax: number): void {
  list.push(item);
  if (list.length > keptMax) list.splice(0, list.length - keptMax);
}
