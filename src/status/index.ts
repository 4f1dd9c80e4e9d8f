// `witnz status`: per protected table the chain, the latest checkpoint, lag, violations and the
// last verification; the node's health. docs/design/status.md describes the output.
export { StatusError, type StatusErrorCode } from "./errors.js";
export { formatStatusJson, formatStatusText, HASH_HEX_SHOWN } from "./report.js";
export {
  type CheckpointStatus,
  type DatabaseStatus,
  decodeVerification,
  HEALTH_TIMEOUT_MS,
  type HealthState,
  type NodeHealth,
  type NodeStatus,
  type ReadStatusOptions,
  readNodeStatus,
  type SlotStatus,
  type StoreStatus,
  type TableStatus,
  type VerificationStatus,
} from "./status.js";
export { displayNameOfConfiguredTable } from "./table-name.js";
