// The witness role (Witnz Democracy): the service raft nodes submit their signed checkpoints to,
// the node-side submitter, and the client behind `witnz verify --quick`. docs/design/witness.md.

export { memorySubmitterBacklog, openSubmitterBacklog, type SubmitterBacklog } from "./backlog.js";
export {
  connectWitness,
  type WitnessConnection,
  type WitnessEndpoint,
  witnessEndpoints,
} from "./client.js";
export {
  admitSubmission,
  type CosignDecision,
  checkQuery,
  customerTableOrigin,
  decideCosign,
  decideVote,
  ENVELOPE_HEADER,
  type EnvelopeObservation,
  envelopeDigest,
  type NodeRegistry,
  type NodeValue,
  QUERY_CLOCK_SKEW_SECONDS,
  type QueryFields,
  QueryReplayGuard,
  queryMessage,
  type SubmissionRequest,
  submissionEnvelope,
  type VerdictOutcome,
  type VoteResult,
  WITNESS_REJECTION_CODES,
  type WitnessRejectionCode,
} from "./core/index.js";
export * from "./core/limits.js";
export {
  dashboardVerdict,
  type WitnessDashboardSourceOptions,
  WitnessVerdictReader,
  type WitnessVerdictReaderOptions,
  witnessDashboardSource,
} from "./dashboard.js";
export { WitnessError, type WitnessErrorCode } from "./errors.js";
export { createWitnessMetrics, type WitnessMetrics } from "./metrics.js";
export { type QuerySigner, queryAuth } from "./query-auth.js";
export {
  classify,
  formatQuickVerifyJson,
  formatQuickVerifyText,
  type QuickTableReport,
  type QuickVerdict,
  type QuickVerifyOptions,
  type QuickVerifyReport,
  quickVerify,
  type WitnessAnswer,
} from "./quick-verify.js";
export { connectCodeFor, ERROR_CODE_HEADER, rejectionCodeOf } from "./rpc-errors.js";
export {
  type RunningWitness,
  registryFromConfig,
  startWitness,
  type WitnessHooks,
  type WitnessLogger,
} from "./start-witness.js";
export {
  BACKLOG_ENTRIES_MAX_DEFAULT,
  BATCH_OBSERVATIONS_MAX_DEFAULT,
  type BacklogEntry,
  type DeliveryEvent,
  REQUEST_TIMEOUT_MS_DEFAULT,
  type RetryOptions,
  SUBMITTER_RETRY_DEFAULT,
  type SubmitterObservation,
  type SubmitterPersistence,
  WitnessSubmitter,
  type WitnessSubmitterOptions,
} from "./submitter.js";
export {
  type CosignedCheckpoint,
  type ObservationResult,
  type ObservationStatus,
  type SubmitResult,
  type Verdict,
  WitnessService,
  type WitnessServiceOptions,
} from "./witness-service.js";
