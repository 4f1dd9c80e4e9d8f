// Every bound of the cluster state machine. Commands arrive from the Raft log, so each field has
// a byte limit, and the replicated state has a limit on every collection so that a snapshot
// stays well under the runner's snapshot limit (see docs/design/cluster.md for the worst case).

/** One encoded command, version and type bytes included. */
export const COMMAND_BYTES_MAX = 8 * 1024;
/** A signed checkpoint note carried by an observation (one signature is about 350 bytes). */
export const OBSERVATION_NOTE_BYTES_MAX = 2 * 1024;
/** A node id (UTF-8 bytes). */
export const NODE_ID_BYTES_MAX = 128;
/** A schema-qualified table name (UTF-8 bytes). */
export const TABLE_NAME_BYTES_MAX = 256;
/** A verifier key in the signed-note vkey form. */
export const VERIFIER_KEY_BYTES_MAX = 512;
/** An alert incident id. */
export const INCIDENT_ID_BYTES_MAX = 512;
/** An alert's kind: snake_case ASCII, as the outbox accepts it. */
export const ALERT_KIND_BYTES_MAX = 64;
/** An alert's operation (`UPDATE`, `DELETE`, ...). */
export const ALERT_OP_BYTES_MAX = 64;
/** An alert's primary key: at most this many values (the outbox's limit)... */
export const ALERT_PK_VALUES_MAX = 32;
/** ...of at most this many UTF-8 bytes together. */
export const ALERT_PK_BYTES_MAX = 2 * 1024;
/** An alert's detection time, ISO 8601 text. */
export const ALERT_DETECTED_AT_BYTES_MAX = 64;
/** An alert's message (a node clips a longer one with `clipAlertMessage`). */
export const ALERT_MESSAGE_BYTES_MAX = 2 * 1024;
/** A PostgreSQL LSN in its `X/Y` text form. */
export const LSN_BYTES_MAX = 17;

/** Registered nodes. */
export const NODES_MAX = 16;
/** Tables with any replicated record. */
export const TABLES_MAX = 256;
/** Checkpoint sizes kept per table: targets above the agreed size plus the window below it. */
export const SIZES_PER_TABLE_MAX = 64;
/** Sizes kept below a table's latest fully agreed size (the window the brief calls for). */
export const SIZES_KEPT_BELOW_AGREED = 4;
/** Observations kept across all tables (bounds the stored signed notes). */
export const OBSERVATIONS_MAX = 4096;
/** Latest verification results kept per table (per node). */
export const VERIFICATIONS_KEPT_PER_TABLE = 16;
/** Latest alert acknowledgements kept. */
export const ALERT_ACKS_KEPT = 1024;
/** Incidents (replicated alerts) held; a full list evicts the oldest acknowledged one. */
export const ALERTS_MAX = 1024;
/** Latest rejected commands kept. */
export const REJECTIONS_KEPT = 256;
/** A rejection's message, in code points (at most 4 UTF-8 bytes each). */
export const REJECTION_MESSAGE_CHARACTERS_MAX = 512;
/** Latest disagreement records kept. */
export const DISAGREEMENTS_KEPT = 256;
/** A whole snapshot; the limits above keep the worst case near 21 MiB, under the runner's 32. */
export const SNAPSHOT_BYTES_MAX = 24 * 1024 * 1024;
