// The dashboard: a read-only browser app served by every node on its HTTP port, and the JSON API
// under /api/v1/ it reads. docs/design/dashboard.md describes the routes and the auth rule.
// api.ts, inclusion-proof.ts and note-signature.ts are runtime-neutral and are also imported
// directly by the browser app (dashboard/), which must not bundle the server code this door pulls
// in.
export * from "./api.js";
export { type AccessDecision, decideAccess, isLoopbackAddress } from "./auth.js";
export { DashboardError, type DashboardErrorCode } from "./errors.js";
export {
  bytesToHex,
  hexToBytes,
  type InPageVerification,
  readCheckpointText,
  rootFromInclusionProof,
  type Sha256,
  verifyEntryInclusion,
} from "./inclusion-proof.js";
export { type SlotLagReader, slotLagReader } from "./lag.js";
export { type Ed25519Verify, type SignatureCheck, verifyNoteSignature } from "./note-signature.js";
export { type DashboardOptions, parseEntryQuery, registerDashboard } from "./routes.js";
export {
  IngestSampler,
  type IngestSamplerOptions,
  SERIES_INTERVAL_MS_DEFAULT,
  SERIES_POINTS_MAX_DEFAULT,
} from "./sampler.js";
export {
  alertEventOf,
  type DashboardSource,
  newestFirst,
  type StoreDashboardSourceOptions,
  storeDashboardSource,
} from "./source.js";
