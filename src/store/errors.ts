export type StoreErrorCode =
  /** The store could not be opened: the path is not a directory, is not writable, or LMDB refused it. */
  | "WITNZ_STORE_OPEN"
  /** The directory is already open in this process; open it once and share the handle. */
  | "WITNZ_STORE_ALREADY_OPEN"
  /** Another running process holds the data directory (its witnz.pid). */
  | "WITNZ_STORE_IN_USE"
  /** The store was written by another schema version, or holds data without a schema version. */
  | "WITNZ_STORE_SCHEMA"
  /** The store was closed; no read or write is possible any more. */
  | "WITNZ_STORE_CLOSED"
  /** A read failed inside LMDB. */
  | "WITNZ_STORE_READ"
  /** A write failed inside LMDB (disk full, I/O error, file size limit); nothing of it is stored. */
  | "WITNZ_STORE_WRITE"
  /** The store reached its configured size limit; nothing more is written. */
  | "WITNZ_STORE_FULL"
  /** A key, value, name or write is larger than its limit. */
  | "WITNZ_STORE_LIMIT"
  /** A write's condition did not hold: another write changed what the batch was staged against. */
  | "WITNZ_STORE_CONFLICT"
  /** A chain entry does not follow the chain head (a gap or a repeat). */
  | "WITNZ_STORE_SEQUENCE"
  /** An argument is malformed: wrong hash length, negative number, batch used twice. */
  | "WITNZ_STORE_INVALID"
  /** Stored bytes do not have the layout their key family promises. */
  | "WITNZ_STORE_CORRUPT";

/** Every failure of the store; `message` says what failed and, for files, where. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreError";
    this.code = code;
  }
}

/** True when `error` is the store's failure with `code`. */
export function isStoreError(error: unknown, code: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && error.code === code;
}

/** Throws a StoreError with `code` when `condition` is false; for invariants and bad arguments. */
export function storeAssert(
  condition: boolean,
  code: StoreErrorCode,
  message: () => string,
): asserts condition {
  if (!condition) throw new StoreError(code, message());
}
