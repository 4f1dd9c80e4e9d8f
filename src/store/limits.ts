// Every bound of the store in one place. docs/design/storage.md explains each choice.

/** LMDB's largest key with the default 4 KiB page. */
export const KEY_BYTES_MAX = 1978;
/** The largest value the key-value layer accepts; the typed layer stays far below it. */
export const VALUE_BYTES_MAX = 1024 * 1024;
/** Operations in one atomic write: a 1000-row batch needs about 4000. */
export const WRITE_OPERATIONS_MAX = 65_536;
/** Key and value bytes in one atomic write. */
export const WRITE_BYTES_MAX = 64 * 1024 * 1024;
/** Conditions checked by one atomic write: one per table the write appends to. */
export const WRITE_CONDITIONS_MAX = 1024;

/** A schema-qualified table name in UTF-8; PostgreSQL's own names are at most 2 x 63 bytes. */
export const TABLE_NAME_BYTES_MAX = 512;
/** Encoded table names kept for reuse by the key encoders. */
export const TABLE_NAME_CACHE_ENTRIES_MAX = 256;
/** An encoded primary key; longer keys come in their digest form (encodePrimaryKey). */
export const PRIMARY_KEY_BYTES_MAX = 1024;
/** A meta entry's name in UTF-8. */
export const META_NAME_BYTES_MAX = 128;
/** A meta entry's value. */
export const META_VALUE_BYTES_MAX = 64 * 1024;
/** A signed checkpoint note with its cosignatures, in UTF-8. */
export const CHECKPOINT_NOTE_BYTES_MAX = 64 * 1024;
/** A violation record's detail, UTF-8 JSON text. */
export const VIOLATION_DETAIL_BYTES_MAX = 16 * 1024;
/** An alert id (the incident key) in UTF-8. */
export const ALERT_ID_BYTES_MAX = 256;
/** An alert's stored record: the alert, its message and every sink's delivery state, as JSON. */
export const ALERT_RECORD_BYTES_MAX = 64 * 1024;
/** A sink name in an alert's delivery state. */
export const ALERT_SINK_NAME_BYTES_MAX = 64;
/** Sinks whose delivery state one alert keeps. */
export const ALERT_SINKS_MAX = 16;
/** A delivery error kept in an alert's state; longer errors are cut. */
export const ALERT_ERROR_CHARACTERS_MAX = 1024;
/** Alerts one pendingAlerts call returns at most. */
export const PENDING_ALERTS_MAX = 1024;
/** Merkle tree levels: a tree of at most 2^63 leaves has levels 0 to 63. */
export const TREE_LEVELS_MAX = 64;
/** Sequence numbers, tree sizes and node indexes are JavaScript numbers, exact up to 2^53 - 1. */
export const SEQUENCE_MAX = Number.MAX_SAFE_INTEGER;

/** The data file may grow to this size unless the caller sets another limit. */
export const STORE_SIZE_BYTES_MAX_DEFAULT = 2 ** 40;
/** The memory map LMDB starts with; lmdb-js grows it by doubling when it fills. */
export const MAP_SIZE_BYTES_INITIAL = 64 * 1024 * 1024;

/**
 * Tables one batch may append to: each writes its data hash block (up to 32 KiB) at commit, so
 * the blocks stay within half of WRITE_BYTES_MAX. Capture's batches (1000 changes) never reach it.
 */
export const DATA_HASH_BLOCK_TABLES_PER_BATCH_MAX = 1024;
