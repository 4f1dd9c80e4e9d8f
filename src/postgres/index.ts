export { type CopyTableOptions, copyTableRows, copyTableText } from "./copy-table.js";
export {
  COPY_ROW_BYTES_MAX,
  type CopyRow,
  type CopyRowView,
  type CopyValue,
} from "./copy-text-parser.js";
export { PostgresError, type PostgresErrorCode } from "./errors.js";
export { EXTERNAL_DATABASE_URL_VARIABLE } from "./external-test-server.js";
export {
  publicationNameForNode,
  qualifiedTableName,
  quoteIdentifier,
  slotNameForNode,
} from "./identifiers.js";
export { formatLsn, LSN_ZERO, type Lsn, maxLsn, parseLsn, toLsn } from "./lsn.js";
export {
  type PgoutputMessage,
  type Relation,
  type RelationColumn,
  type ReplicaIdentity,
  relationChanged,
  type Tuple,
  type TupleValue,
  UNCHANGED_TOAST,
  type UnchangedToast,
} from "./pgoutput.js";
export {
  dropPublication,
  dropReplicationSlot,
  ensurePublication,
  ensureReplicationSlot,
  type PublicationResult,
  type ReplicationSlotState,
  readPublicationTables,
  readReplicationSlot,
  type SlotResult,
  type TableName,
} from "./replication-setup.js";
export {
  MESSAGE_BYTES_MAX,
  PGOUTPUT_PROTOCOL_VERSION,
  QUEUE_BYTES_MAX,
  type ReplicationStream,
  type ReplicationStreamOptions,
  STATUS_INTERVAL_MS,
  startReplicationStream,
} from "./replication-stream.js";
export { hasUnchangedToast, tupleRowImage } from "./row-image.js";
export { SERVER_OS_USER } from "./server-user.js";
export {
  checkPinnedSettings,
  connectSession,
  PINNED_SETTINGS,
  type PostgresConnectionOptions,
  pinnedStartupOptions,
} from "./session.js";
export {
  startTestPostgres,
  type TestPostgres,
  type TestPostgresOptions,
} from "./test-server.js";
