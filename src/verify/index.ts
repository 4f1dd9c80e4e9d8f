export { VerifyError, type VerifyErrorCode } from "./errors.js";
export {
  formatProgressLine,
  formatVerificationJson,
  formatVerificationText,
  REPORT_KEYS_SHOWN_MAX,
} from "./report.js";
export { RowHasher } from "./row-hasher.js";
export { compareLayouts, type SchemaChange } from "./schema-change.js";
export { SeenBitmap } from "./seen-bitmap.js";
export { type NodeVerification, type VerifyNodeOptions, verifyNode } from "./verify-node.js";
export {
  PROGRESS_INTERVAL_ROWS,
  type PrimaryKeyValues,
  type TableVerification,
  type VerifyProgress,
  type VerifyTableOptions,
  verifyTable,
} from "./verify-table.js";
