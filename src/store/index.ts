export { StoreError, type StoreErrorCode } from "./errors.js";
export type {
  KeyValueStore,
  RangeOptions,
  WriteCondition,
  WriteOperation,
} from "./key-value-store.js";
export {
  type ChainEntryKey,
  type CheckpointKey,
  chainHeadKeyRange,
  decodeChainEntryKey,
  decodeChainHeadKey,
  decodeCheckpointKey,
  decodeMetaKey,
  decodePrimaryKeyIndexKey,
  decodeTreeNodeKey,
  encodeChainEntryKey,
  encodeChainHeadKey,
  encodeCheckpointKey,
  encodeMetaKey,
  encodePrimaryKeyIndexKey,
  encodeTreeNodeKey,
  FIRST_KEY,
  KeyTag,
  PAST_LAST_KEY,
  type PrimaryKeyIndexKey,
  prefixEnd,
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
  type TreeNodeStorage,
  type WitnzStore,
} from "./store.js";
export { type ChainEntry, type ChainHead, HASH_BYTES } from "./values.js";
