export {
  isClusterMember,
  NODE_STARTED_META,
  RAFT_DIRECTORY,
  restoreNodeStore,
  WITNESS_BACKLOG_DIRECTORY,
} from "./cluster-membership.js";
export { NodeStartError, splitHostPort } from "./errors.js";
export {
  ALTER_OBSERVATIONS_FILE,
  type ObservationFault,
  observationFault,
  TEST_FAULTS_VARIABLE,
} from "./faults.js";
export {
  clusterOrigin,
  monotonicMicroseconds,
  type NodeHooks,
  type NodeLogger,
  type RunningNode,
  startNode,
} from "./node.js";
export {
  ALERT_KEYS_SHOWN_MAX,
  lastVerification,
  VERIFICATION_RETRY_DELAY_MS_MAX,
  type VerificationOutcome,
  VerificationScheduler,
  type VerificationSchedulerOptions,
  type VerificationStatus,
  type VerificationTrigger,
  verificationIncidentId,
  verificationMetaName,
} from "./verification.js";
export { stageGap, stageViolation } from "./violations.js";
