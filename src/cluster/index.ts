// The cluster's replicated state machine (pure core): the Raft log's commands and their
// encoding, the state every node applies them to, its snapshots, and the leader's sequencing
// rule for attestation sizes. See docs/design/cluster.md.

export {
  ALERT_SEVERITIES,
  alertProblem,
  type ClusterCommand,
  type ClusterCommandType,
  COMMAND_FORMAT_VERSION,
  COMMAND_TYPE_BYTES,
  clipAlertMessage,
  commandProblem,
  decodeCommand,
  encodeCommand,
  RETIRED_COMMAND_TYPE_BYTES,
  type ReplicatedAlert,
  type ReplicatedAlertSeverity,
  type VerificationCounts,
} from "./commands.js";
export { ClusterError, type ClusterErrorCode } from "./errors.js";
export { disagreementMessage, isoFromUnixMicroseconds } from "./incidents.js";
export * from "./limits.js";
export {
  type AttestationSequencingInput,
  type AttestationSequencingPolicy,
  canAttest,
  nextAttestationSize,
  PENDING_TARGETS_MAX_DEFAULT,
  TARGET_STEP_ENTRIES_MIN_DEFAULT,
} from "./sequencing.js";
export { SNAPSHOT_FORMAT_VERSION } from "./snapshot.js";
export {
  type AlertAckRecord,
  CLUSTER_REPORTER,
  type ClusterEvent,
  DISAGREEMENT_OUTCOMES,
  type DisagreementOutcome,
  type DisagreementRecord,
  type IncidentRecord,
  type LogPosition,
  type NodeRecord,
  type NodeValue,
  type ObservationRecord,
  REJECTION_REASONS,
  type RejectionReason,
  type RejectionRecord,
  type VerificationRecord,
} from "./state.js";
export {
  ClusterStateMachine,
  type ClusterStateMachineOptions,
  disagreementIncidentId,
} from "./state-machine.js";
