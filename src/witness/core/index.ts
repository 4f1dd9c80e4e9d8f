// The witness's pure core: envelope, admission, majority vote and the cosigning rule. No clock,
// randomness, storage or network: every time and state arrives as a parameter.
export {
  type Admission,
  type AdmittedObservation,
  admitSubmission,
  customerTableOrigin,
  type NodeRegistry,
  type NodeSequenceState,
  type StatedFields,
  type SubmissionRequest,
} from "./admission.js";
export {
  type Rejection,
  reject,
  WITNESS_REJECTION_CODES,
  type WitnessRejectionCode,
} from "./codes.js";
export {
  type CosignDecision,
  type CosignedAnchor,
  decideCosign,
  type LinkedObservation,
} from "./consistency.js";
export {
  ENVELOPE_HEADER,
  type EnvelopeFields,
  type EnvelopeObservation,
  envelopeDigest,
  submissionEnvelope,
} from "./envelope.js";
export * from "./limits.js";
export {
  checkQuery,
  QUERY_CLOCK_SKEW_SECONDS,
  QUERY_HEADER,
  QUERY_NONCE_BYTES,
  type QueryFields,
  type QueryMethod,
  queryMessage,
} from "./query.js";
export {
  QUERY_NONCES_PER_NODE_MAX,
  type QueryNonce,
  QueryReplayGuard,
} from "./query-replay.js";
export {
  decideVote,
  majorityThreshold,
  type NodeValue,
  type VerdictOutcome,
  type VoteResult,
  valueKey,
  voteDue,
} from "./vote.js";
