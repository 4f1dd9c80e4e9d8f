export { CHAIN_WINDOW_ENTRIES, ChainCursor } from "./chain-cursor.js";
export { VerifyError, type VerifyErrorCode } from "./errors.js";
export { PrimaryKeyWriter } from "./primary-key-writer.js";
export {
  formatProgressLine,
  formatVerificationJson,
  formatVerificationText,
  REPORT_KEYS_SHOWN_MAX,
} from "./report.js";
export { RowHasher, sameDigest } from "./row-hasher.js";
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
