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
  NodeStartError,
  type RunningNode,
  restoreNodeStore,
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
