import { accessSync, constants, mkdirSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { open, type RootDatabase, type RootDatabaseOptionsWithPath } from "lmdb";
import { compareBytes } from "./bytes.js";
import { StoreError } from "./errors.js";
import {
  conflictError,
  type KeyValueStore,
  type RangeOptions,
  validateKey,
  validateRange,
  validateWrite,
  type WriteCondition,
  type WriteOperation,
  type WriteOptions,
} from "./key-value-store.js";
import { KEY_BYTES_MAX, MAP_SIZE_BYTES_INITIAL, STORE_SIZE_BYTES_MAX_DEFAULT } from "./limits.js";
import { completeTornWrite, LmdbWriter, packWrite, type WriterOutcome } from "./lmdb-writer.js";

export interface LmdbKeyValueStoreOptions {
  /** Writes are refused with WITNZ_STORE_FULL once the data file reaches this size. */
  readonly sizeBytesMax?: number;
}

/** LMDB's data file inside the store directory. */
const DATA_FILE_NAME = "data.mdb";

// lmdb-js shares one environment per path inside a process, with the flags of whoever opened
// it first; one handle per directory keeps our durability flags the ones in force.
const openDirectories = new Set<string>();

/**
 * Opens (creating if needed) an LMDB store in `directory`. Every resolved write has been
 * written with fdatasync and its meta page with O_DSYNC; see docs/design/storage.md.
 */
export function openLmdbKeyValueStore(
  directory: string,
  options: LmdbKeyValueStoreOptions = {},
): KeyValueStore {
  const sizeBytesMax = options.sizeBytesMax ?? STORE_SIZE_BYTES_MAX_DEFAULT;
  if (!Number.isSafeInteger(sizeBytesMax) || sizeBytesMax <= 0) {
    throw new StoreError("WITNZ_STORE_INVALID", `sizeBytesMax must be a positive integer`);
  }
  const path = prepareDirectory(directory);
  if (openDirectories.has(path)) {
    throw new StoreError(
      "WITNZ_STORE_ALREADY_OPEN",
      `the store at ${path} is already open in this process`,
    );
  }
  const openOptions = lmdbOpenOptions(path);
  let database: RootDatabase<Uint8Array, Uint8Array>;
  try {
    database = open<Uint8Array, Uint8Array>(openOptions);
  } catch (error) {
    throw new StoreError(
      "WITNZ_STORE_OPEN",
      `LMDB could not open the store at ${path}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  try {
    // A write torn by the end of the process that made it is made whole before any read.
    completeTornWrite(database);
  } catch (error) {
    database.close().catch(() => undefined);
    throw new StoreError(
      "WITNZ_STORE_OPEN",
      `LMDB could not complete the write the store at ${path} was left in the middle of: ${messageOf(error)}`,
      { cause: error },
    );
  }
  openDirectories.add(path);
  return new LmdbKeyValueStore(path, database, openOptions, sizeBytesMax);
}

/**
 * The options of both handles on a store, the main thread's (reads) and the writer thread's
 * (writes): lmdb-js shares one environment per path in a process, so they must agree.
 */
function lmdbOpenOptions(path: string): RootDatabaseOptionsWithPath {
  return {
    path,
    // lmdb-js treats a path with an extension as a file name unless told otherwise.
    noSubdir: false,
    keyEncoding: "binary",
    encoding: "binary",
    // Durability: every commit fdatasyncs its pages and writes its meta page through an
    // O_DSYNC descriptor before the commit returns and the write promise resolves.
    noSync: false,
    noMetaSync: false,
    overlappingSync: false,
    useWritemap: false,
    // With event-turn batching lmdb-js queues an internal promise that nobody awaits, and
    // a failed commit then surfaces as an unhandled rejection; each write is its own
    // transaction callback, so the batching is not needed for atomicity.
    eventTurnBatching: false,
    cache: false,
    compression: false,
    mapSize: MAP_SIZE_BYTES_INITIAL,
    maxDbs: 1,
  };
}

/** Creates the directory if needed and checks it is a writable directory; returns its real path. */
function prepareDirectory(directory: string): string {
  const requested = resolve(directory);
  let isDirectory: boolean | undefined;
  try {
    isDirectory = statSync(requested).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw openError(requested, "could not be examined", error);
    }
  }
  if (isDirectory === false) {
    throw new StoreError(
      "WITNZ_STORE_OPEN",
      `the store path ${requested} is not a directory; a store is a directory that LMDB owns`,
    );
  }
  if (isDirectory === undefined) {
    try {
      mkdirSync(requested, { recursive: true });
    } catch (error) {
      throw openError(requested, "could not be created", error);
    }
  }
  try {
    accessSync(requested, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw openError(requested, "is not readable and writable", error);
  }
  return realpathSync(requested);
}

function openError(path: string, what: string, error: unknown): StoreError {
  return new StoreError(
    "WITNZ_STORE_OPEN",
    `the store directory ${path} ${what}: ${messageOf(error)}`,
    { cause: error },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** lmdb-js hands back Buffers; callers get plain Uint8Array views, as from the twin. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

class LmdbKeyValueStore implements KeyValueStore {
  readonly location: string;
  readonly #path: string;
  readonly #dataFilePath: string;
  readonly #database: RootDatabase<Uint8Array, Uint8Array>;
  readonly #openOptions: RootDatabaseOptionsWithPath;
  /** Started by the first write: a store only read (status, verify) starts no thread. */
  #writer: LmdbWriter | undefined;
  readonly #sizeBytesMax: number;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(
    path: string,
    database: RootDatabase<Uint8Array, Uint8Array>,
    openOptions: RootDatabaseOptionsWithPath,
    sizeBytesMax: number,
  ) {
    this.location = path;
    this.#path = path;
    this.#dataFilePath = join(path, DATA_FILE_NAME);
    this.#database = database;
    this.#sizeBytesMax = sizeBytesMax;
    // lmdb-js exposes the key size limit it enforces, though its types do not declare it.
    const maxKeySize = (database as unknown as { maxKeySize: number }).maxKeySize;
    if (maxKeySize < KEY_BYTES_MAX) {
      throw new StoreError(
        "WITNZ_STORE_OPEN",
        `LMDB at ${path} takes keys up to ${maxKeySize} bytes; Witnz needs ${KEY_BYTES_MAX}`,
      );
    }
    this.#openOptions = openOptions;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#assertOpen();
    validateKey(key);
    try {
      const value = this.#database.get(key);
      return value === undefined ? undefined : plain(value);
    } catch (error) {
      throw this.#readError(error);
    }
  }

  getTransient(key: Uint8Array): Uint8Array | undefined {
    this.#assertOpen();
    validateKey(key);
    try {
      // lmdb-js copies the value into one buffer it reuses for every such read, its `length`
      // set to the value's: nothing is allocated but the view.
      const value = this.#database.getBinaryFast(key);
      return value === undefined
        ? undefined
        : new Uint8Array(value.buffer, value.byteOffset, value.length);
    } catch (error) {
      throw this.#readError(error);
    }
  }

  range(options: RangeOptions): Iterable<[key: Uint8Array, value: Uint8Array]> {
    this.#assertOpen();
    validateRange(options);
    const database = this.#database;
    const readError = (error: unknown) => this.#readError(error);
    const { start, end, limit } = options;
    if (options.reverse !== true) {
      return {
        *[Symbol.iterator]() {
          try {
            for (const entry of database.getRange({
              start,
              end,
              ...(limit === undefined ? {} : { limit }),
            })) {
              yield [plain(entry.key as Uint8Array), plain(entry.value)];
            }
          } catch (error) {
            throw readError(error);
          }
        },
      };
    }
    // lmdb-js walks a reverse range from its `start` down to its `end`: ours is [start, end)
    // walked backwards, so its `start` is our end, excluded, and its `end` our start, included.
    return {
      *[Symbol.iterator]() {
        if (compareBytes(start, end) >= 0) return;
        try {
          for (const entry of database.getRange({
            start: end,
            end: start,
            reverse: true,
            exclusiveStart: true,
            inclusiveEnd: true,
            ...(limit === undefined ? {} : { limit }),
          })) {
            yield [plain(entry.key as Uint8Array), plain(entry.value)];
          }
        } catch (error) {
          throw readError(error);
        }
      },
    };
  }

  count(range: { readonly start: Uint8Array; readonly end: Uint8Array }): number {
    this.#assertOpen();
    validateRange(range);
    if (compareBytes(range.start, range.end) >= 0) return 0;
    try {
      // LMDB walks the keys natively; no key or value is copied out.
      return this.#database.getCount({ start: range.start, end: range.end });
    } catch (error) {
      throw this.#readError(error);
    }
  }

  async write(
    operations: readonly WriteOperation[],
    conditions: readonly WriteCondition[] = [],
    options: WriteOptions = {},
  ): Promise<void> {
    this.#assertOpen();
    validateWrite(operations, conditions);
    this.#assertBelowSizeLimit();
    // The writer thread checks the conditions and applies the operations in one transaction,
    // after every write handed to it before this one.
    if (this.#writer?.ended === true) {
      // Its thread ended: a write it left torn was completed then; if that failed, again now.
      try {
        completeTornWrite(this.#database);
      } catch (error) {
        throw new StoreError(
          "WITNZ_STORE_WRITE",
          `LMDB could not complete the write the writer thread of the store at ${this.#path} left unfinished: ${messageOf(error)}`,
          { cause: error },
        );
      }
    }
    let written: Promise<WriterOutcome>;
    try {
      // Opened after the main thread's handle, so the environment keeps that handle's flags. A
      // writer that ended (its thread died, or could not open the store) is replaced: the
      // writes it failed were reported, and this one gets a thread that can take it.
      if (this.#writer === undefined || this.#writer.ended) {
        this.#writer = new LmdbWriter(this.#openOptions, () => completeTornWrite(this.#database));
      }
      written = this.#writer.write(packWrite(operations, conditions));
    } catch (error) {
      throw new StoreError(
        "WITNZ_STORE_WRITE",
        `LMDB could not hand a write to the writer of the store at ${this.#path}: ${messageOf(error)}`,
        { cause: error },
      );
    }
    options.onApplied?.();
    const outcome = await written;
    // The write was committed by another thread's handle: without this the main thread's
    // handle keeps reading its older snapshot until lmdb-js renews it on a later turn.
    try {
      this.#database.resetReadTxn();
    } catch (error) {
      throw this.#readError(error);
    }
    if (outcome.kind === "conflict") throw conflictError();
    if (outcome.kind === "unanswered") {
      throw new StoreError(
        "WITNZ_STORE_WRITE",
        `a write to the store at ${this.#path} may or may not have been committed (whole or not at all: the store reads which): ${outcome.message}`,
        { cause: new Error(outcome.message) },
      );
    }
    if (outcome.kind === "failed") {
      const cause = new Error(outcome.message);
      throw new StoreError(
        "WITNZ_STORE_WRITE",
        `LMDB could not commit a write to the store at ${this.#path}: ${outcome.message}`,
        { cause },
      );
    }
  }

  close(): Promise<void> {
    // A second close waits for the first, which waits for the writes handed over.
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    let failure: unknown;
    try {
      // The writer finishes the writes handed to it first.
      const writerFailure = await this.#writer?.close();
      if (writerFailure !== undefined) failure = new Error(writerFailure);
    } catch (error) {
      failure = error;
    }
    try {
      // The main thread's handle is closed even when the writer's could not be.
      await this.#database.close();
    } catch (error) {
      failure ??= error;
    } finally {
      openDirectories.delete(this.#path);
    }
    if (failure !== undefined) {
      throw new StoreError(
        "WITNZ_STORE_WRITE",
        `LMDB could not close the store at ${this.#path}: ${messageOf(failure)}`,
        { cause: failure },
      );
    }
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new StoreError("WITNZ_STORE_CLOSED", `the store at ${this.#path} is closed`);
    }
  }

  #assertBelowSizeLimit(): void {
    let sizeBytes: number;
    try {
      sizeBytes = statSync(this.#dataFilePath).size;
    } catch (error) {
      throw new StoreError(
        "WITNZ_STORE_WRITE",
        `the data file ${this.#dataFilePath} could not be examined: ${messageOf(error)}`,
        { cause: error },
      );
    }
    if (sizeBytes >= this.#sizeBytesMax) {
      throw new StoreError(
        "WITNZ_STORE_FULL",
        `the store at ${this.#path} holds ${sizeBytes} bytes; its limit is ${this.#sizeBytesMax}`,
      );
    }
  }

  #readError(error: unknown): StoreError {
    if (error instanceof StoreError) return error;
    return new StoreError(
      "WITNZ_STORE_READ",
      `LMDB could not read the store at ${this.#path}: ${messageOf(error)}`,
      { cause: error },
    );
  }
}
