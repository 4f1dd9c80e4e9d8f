export {
  type AssemblerEvent,
  type Change,
  type ChangePosition,
  fromRelation,
  TransactionAssembler,
  type ViolationKind,
} from "./changes.js";
export {
  CaptureSlotError,
  displayTableNames,
  type Gap,
  type GapNoteFields,
  type GapReason,
  gapNoteText,
  judgeSlot,
  PROTECTED_TABLES_MAX,
  type SlotJudgement,
  signGapNote,
} from "./gap.js";
export {
  BATCH_CHANGES_MAX,
  CAPTURE_CONFIRMED_LSN_META,
  CAPTURE_LSN_META,
  CAPTURE_PROGRESS_META,
  CaptureProgressError,
  type CommitInFlight,
  type CommittedBatch,
  type GapToRecord,
  Ingester,
  type IngestOptions,
  stageCaptureBaseline,
  stageSeededCapturePosition,
  type ViolationToRecord,
} from "./ingest.js";
export {
  CaptureRunner,
  type CaptureRunnerOptions,
  type CaptureState,
  CONFIRMED_PERSIST_INTERVAL_MS,
  RECONNECT_DELAY_MS_MAX,
  RECONNECT_DELAY_MS_MIN,
  STREAM_QUEUE_BYTES_MAX,
} from "./runner.js";
