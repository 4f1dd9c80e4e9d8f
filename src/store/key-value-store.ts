import { equalBytes } from "./bytes.js";
import { StoreError, storeAssert } from "./errors.js";
import {
  KEY_BYTES_MAX,
  VALUE_BYTES_MAX,
  WRITE_BYTES_MAX,
  WRITE_CONDITIONS_MAX,
  WRITE_OPERATIONS_MAX,
} from "./limits.js";

export type WriteOperation =
  | { readonly type: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: "delete"; readonly key: Uint8Array };

/**
 * A precondition of a write: the key holds exactly `value` (or is absent when `value` is
 * undefined) at the moment the write is applied, inside the same transaction.
 */
export interface WriteCondition {
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
}

export interface WriteOptions {
  /**
   * Called once the write is handed to the store's writer, in order: every later write is
   * applied after it (LMDB: packed and passed to the writer thread, which then checks the
   * conditions, applies the operations and commits; the in-memory twin: applied, conditions
   * held). It may thus be called before the conditions are checked: a condition that fails, or
   * a commit or flush that fails, later rejects the promise, and nothing of the write is then
   * applied. Nothing is durable, or visible to reads, before the promise resolves.
   */
  readonly onApplied?: () => void;
}

export interface RangeOptions {
  /** First key of the range, inclusive. */
  readonly start: Uint8Array;
  /** Key the range stops before, exclusive. */
  readonly end: Uint8Array;
  /** Walk from the last key below `end` down to `start`. */
  readonly reverse?: boolean;
  /** At most this many entries. */
  readonly limit?: number;
}

/**
 * Binary keys and values in lexicographic byte order (a prefix sorts before its extensions).
 * Reads are synchronous and see every write whose promise has resolved. A write is atomic and
 * its promise resolves only once the data is durable (LMDB: flushed to disk). Returned arrays
 * belong to the caller; arrays passed to `write` must not change until its promise settles.
 */
export interface KeyValueStore {
  /** Where the data lives, for messages: a directory path, or "memory". */
  readonly location: string;
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * get's value lent rather than given: valid only until the next call on this store, and never
   * to be written to. For reading many values once each without a copy of each.
   */
  getTransient(key: Uint8Array): Uint8Array | undefined;
  /** Entries with start <= key < end, ascending, or descending with `reverse`. */
  range(options: RangeOptions): Iterable<[key: Uint8Array, value: Uint8Array]>;
  /** How many keys lie in [start, end), counted without reading them out one by one. */
  count(range: { readonly start: Uint8Array; readonly end: Uint8Array }): number;
  /**
   * Applies all operations in one transaction, in order, or none of them. When a condition
   * does not hold, nothing is applied and the promise rejects with WITNZ_STORE_CONFLICT.
   */
  write(
    operations: readonly WriteOperation[],
    conditions?: readonly WriteCondition[],
    options?: WriteOptions,
  ): Promise<void>;
  /** Waits for pending writes, then releases the store; every later call fails. */
  close(): Promise<void>;
}

/**
 * A key no caller writes or makes a condition: the LMDB store keeps the write its writer thread is
 * applying there (lmdb-writer.ts). Above every key family (keys.ts: 0xff is never a tag), so no
 * range a reader walks reaches it.
 */
export const WRITE_JOURNAL_KEY: Uint8Array = Uint8Array.of(0xff, 0xff);

/** A key a write may name: valid, and not the journal's. */
function assertCallerKey(key: Uint8Array): void {
  validateKey(key);
  if (equalBytes(key, WRITE_JOURNAL_KEY)) {
    throw new StoreError(
      "WITNZ_STORE_INVALID",
      "the key 0xffff is the store's own (the writer's journal)",
    );
  }
}

export function validateKey(key: Uint8Array): void {
  storeAssert(key instanceof Uint8Array, "WITNZ_STORE_INVALID", () => "a key must be a Uint8Array");
  storeAssert(key.length > 0, "WITNZ_STORE_INVALID", () => "a key must not be empty");
  storeAssert(
    key.length <= KEY_BYTES_MAX,
    "WITNZ_STORE_LIMIT",
    () => `a key has ${key.length} bytes; the limit is ${KEY_BYTES_MAX}`,
  );
}

export function validateRange(options: RangeOptions): void {
  validateKey(options.start);
  validateKey(options.end);
  if (options.limit !== undefined) {
    const limit = options.limit;
    storeAssert(
      Number.isSafeInteger(limit) && limit >= 0,
      "WITNZ_STORE_INVALID",
      () => `a range limit must be a non-negative integer, got ${limit}`,
    );
  }
}

/** Checks a write against every limit before anything of it reaches storage. */
export function validateWrite(
  operations: readonly WriteOperation[],
  conditions: readonly WriteCondition[],
): void {
  storeAssert(
    operations.length <= WRITE_OPERATIONS_MAX,
    "WITNZ_STORE_LIMIT",
    () => `a write has ${operations.length} operations; the limit is ${WRITE_OPERATIONS_MAX}`,
  );
  storeAssert(
    conditions.length <= WRITE_CONDITIONS_MAX,
    "WITNZ_STORE_LIMIT",
    () => `a write has ${conditions.length} conditions; the limit is ${WRITE_CONDITIONS_MAX}`,
  );
  let writeBytes = 0;
  for (const operation of operations) {
    assertCallerKey(operation.key);
    writeBytes += operation.key.length;
    if (operation.type === "put") {
      const value = operation.value;
      storeAssert(
        value instanceof Uint8Array,
        "WITNZ_STORE_INVALID",
        () => "a value must be a Uint8Array",
      );
      storeAssert(
        value.length <= VALUE_BYTES_MAX,
        "WITNZ_STORE_LIMIT",
        () => `a value has ${value.length} bytes; the limit is ${VALUE_BYTES_MAX}`,
      );
      writeBytes += value.length;
    } else {
      storeAssert(
        operation.type === "delete",
        "WITNZ_STORE_INVALID",
        () => `unknown write operation type ${String((operation as { type: unknown }).type)}`,
      );
    }
  }
  storeAssert(
    writeBytes <= WRITE_BYTES_MAX,
    "WITNZ_STORE_LIMIT",
    () => `a write has ${writeBytes} bytes; the limit is ${WRITE_BYTES_MAX}`,
  );
  for (const condition of conditions) assertCallerKey(condition.key);
}

/** The refusal of a write whose condition did not hold; nothing of the write was applied. */
export function conflictError(): StoreError {
  return new StoreError(
    "WITNZ_STORE_CONFLICT",
    "a write condition did not hold: the data it was staged against changed before it committed",
  );
}
