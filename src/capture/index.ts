export {
  type AssemblerEvent,
  type Change,
  type ChangePosition,
  TransactionAssembler,
  type ViolationKind,
} from "./changes.js";
export {
  BATCH_CHANGES_MAX,
  CAPTURE_LSN_META,
  CAPTURE_PROGRESS_META,
  type CommittedBatch,
  Ingester,
  type IngestOptions,
  type ViolationToRecord,
} from "./ingest.js";
export { CaptureRunner, type CaptureRunnerOptions, type CaptureState } from "./runner.js";
