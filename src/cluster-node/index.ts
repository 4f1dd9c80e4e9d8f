// The cluster runtime on one node: the Raft runner's state machine over the replicated cluster
// state, the node's proposals (registration, progress, observations, alerts, verification
// results), the leader's duties (attestation targets, alert delivery) and the Propose service.
// See docs/design/cluster.md, section "Runtime".

export { LeaderAlertDelivery, type LeaderAlertDeliveryOptions } from "./alert-delivery.js";
export {
  ClusterNode,
  type ClusterNodeOptions,
  type ClusterRaft,
  DUTY_INTERVAL_MS_DEFAULT,
  type ForwardToLeader,
  PROPOSE_TIMEOUT_MS_DEFAULT,
  type SignedObservation,
  type VerificationToRecord,
} from "./cluster-node.js";
export { ClusterNodeError, type ClusterNodeErrorCode } from "./errors.js";
export {
  isSeedMeta,
  RESTORE_STARTED_META,
  RESTORED_META,
  type RestoreRecord,
  readRestoreRecord,
  restoreFromPeers,
  seedChunks,
  unfinishedRestore,
  writeRestoreRecord,
} from "./restore.js";
export {
  CLUSTER_RELAY_SINK,
  type ClusterLogger,
  type ClusterRuntime,
  type ClusterRuntimeOptions,
  commandSpeaker,
  startClusterRuntime,
} from "./runtime.js";
export { type ClusterEventListener, ClusterStateMachineAdapter } from "./state-machine-adapter.js";
export {
  type ClusterNodeStatus,
  type ClusterStatus,
  type ClusterTableStatus,
  clusterStatus,
  type TableAgreement,
} from "./status.js";
