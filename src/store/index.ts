export {
  DIRECTORY_LOCK_FILE,
  type DirectoryLock,
  lockDataDirectory,
  runHoldingDataDirectory,
} from "./directory-lock.js";
export { isStoreError, StoreError, type StoreErrorCode } from "./errors.js";
export {
  type KeyValueStore,
  type RangeOptions,
  WRITE_JOURNAL_KEY,
  type WriteCondition,
  type WriteOperation,
  type WriteOptions,
} from "./key-value-store.js";
export {
  type ChainEntryKey,
  type CheckpointKey,
  chainHeadKeyRange,
  DATA_HASH_BLOCK_ENTRIES,
  decodeChainEntryKey,
  decodeChainHeadKey,
  decodeCheckpointKey,
  decodeMetaKey,
  decodePrimaryKeyIndexKey,
  decodeTreeNodeKey,
  decodeViolationEntryKey,
  encodeAlertDueKey,
  encodeAlertRecordKey,
  encodeChainEntryKey,
  encodeChainHeadKey,
  encodeCheckpointKey,
  encodeDataHashBlockKey,
  encodeMetaKey,
  encodePrimaryKeyIndexKey,
  encodeTreeNodeKey,
  encodeViolationEntryKey,
  encodeViolationHeadKey,
  FIRST_KEY,
  KeyTag,
  PAST_LAST_KEY,
  type PrimaryKeyIndexKey,
  prefixEnd,
  TREE_STORED_LEVEL_MIN,
  type TreeNodeKey,
  tableKeyRange,
} from "./keys.js";
export * from "./limits.js";
export { type LmdbKeyValueStoreOptions, openLmdbKeyValueStore } from "./lmdb-key-value-store.js";
export { createMemoryKeyValueStore } from "./memory-key-value-store.js";
export {
  type OpenStoreOptions,
  openMemoryStore,
  openStore,
  openStoreOnKeyValueStore,
  SCHEMA_VERSION_META_NAME,
  STORE_SCHEMA_VERSION,
  type StoreBatch,
  type StoredCheckpoint,
  type WitnzStore,
} from "./store.js";
export type { TreeNodeStorage } from "./tree-nodes.js";
export {
  type AlertDeliveryOutcome,
  type AlertDeliveryState,
  type AlertSeverity,
  type ChainEntry,
  ChainEntryWindow,
  type ChainHead,
  encodeViolationRecord,
  HASH_BYTES,
  type OutboxAlert,
  type StoredAlert,
  VIOLATION_RECORD_VERSION,
  type ViolationEntry,
  type ViolationKind,
  type ViolationRecord,
} from "./values.js";
