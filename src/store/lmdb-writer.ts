import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { RootDatabase, RootDatabaseOptionsWithPath } from "lmdb";
import { WRITE_JOURNAL_KEY, type WriteCondition, type WriteOperation } from "./key-value-store.js";

/**
 * The thread that runs an LMDB store's write transactions: it opens the same environment with
 * the same options, takes each write as one packed buffer, and runs it in a `childTransaction`
 * (conditions checked, then the operations applied in order), one write at a time, in the order
 * they were handed over. The main thread is left with packing the write and reading.
 *
 * A thread ended in the middle of that callback (process.exit, an uncaught exception anywhere in
 * the process, the thread's own end) leaves lmdb-js to commit what the callback had applied so far:
 * a torn write. So a write of more than one operation first puts its packed self under
 * WRITE_JOURNAL_KEY and removes it last, in the same transaction: a journal found outside a
 * transaction is a torn write, completed from it (completeTornWrite) when the store opens and as
 * soon as a thread that ended with writes unanswered has exited. docs/design/storage.md,
 * "Writer thread".
 */

/** What became of one write. */
export type WriterOutcome =
  | { readonly kind: "committed" }
  | { readonly kind: "conflict" }
  | { readonly kind: "failed"; readonly message: string }
  /** The thread ended before it answered: the write committed whole or not at all. */
  | { readonly kind: "unanswered"; readonly message: string };

/** Marks an absent condition value or a delete in a packed write. */
const ABSENT = 0xffff_ffff;

/**
 * Packs a write into one buffer, to be transferred to the writer: u32 condition count, u32
 * operation count, then each condition and each operation as u32 key length, u32 value length
 * (ABSENT for an absent value or a delete), key bytes, value bytes. Little-endian.
 */
export function packWrite(
  operations: readonly WriteOperation[],
  conditions: readonly WriteCondition[],
): ArrayBuffer {
  let size = 8;
  for (const condition of conditions) {
    size += 8 + condition.key.length + (condition.value?.length ?? 0);
  }
  for (const operation of operations) {
    size += 8 + operation.key.length + (operation.type === "put" ? operation.value.length : 0);
  }
  const buffer = new ArrayBuffer(size);
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, conditions.length, true);
  view.setUint32(4, operations.length, true);
  let offset = 8;
  const pack = (key: Uint8Array, value: Uint8Array | undefined) => {
    view.setUint32(offset, key.length, true);
    view.setUint32(offset + 4, value === undefined ? ABSENT : value.length, true);
    bytes.set(key, offset + 8);
    offset += 8 + key.length;
    if (value !== undefined) {
      bytes.set(value, offset);
      offset += value.length;
    }
  };
  for (const condition of conditions) pack(condition.key, condition.value);
  for (const operation of operations) {
    pack(operation.key, operation.type === "put" ? operation.value : undefined);
  }
  return buffer;
}

/** The operations of a packed write, in order; its conditions are skipped. */
export function unpackOperations(packed: Uint8Array): WriteOperation[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const conditionCount = view.getUint32(0, true);
  const operationCount = view.getUint32(4, true);
  const operations: WriteOperation[] = [];
  let offset = 8;
  for (let index = 0; index < conditionCount + operationCount; index++) {
    const keyLength = view.getUint32(offset, true);
    const valueLength = view.getUint32(offset + 4, true);
    const key = packed.subarray(offset + 8, offset + 8 + keyLength);
    offset += 8 + keyLength;
    const value =
      valueLength === ABSENT ? undefined : packed.subarray(offset, offset + valueLength);
    offset += value?.length ?? 0;
    if (index < conditionCount) continue;
    operations.push(value === undefined ? { type: "delete", key } : { type: "put", key, value });
  }
  return operations;
}

/**
 * Completes a write torn by the end of its thread, if the store holds one: applies the operations
 * of the journal and removes it, in one synchronous transaction. Returns whether it found one.
 * The journal is read again inside that transaction: another process that opened the store may
 * have completed it, and written after it, meanwhile.
 */
export function completeTornWrite(database: RootDatabase<Uint8Array, Uint8Array>): boolean {
  if (database.get(WRITE_JOURNAL_KEY) === undefined) return false;
  return database.transactionSync(() => {
    const journal = database.get(WRITE_JOURNAL_KEY);
    if (journal === undefined) return false;
    // A copy: the operations are views of it, and `get`'s buffer is lmdb-js's.
    for (const operation of unpackOperations(journal.slice())) {
      if (operation.type === "put") database.putSync(operation.key, operation.value);
      else database.removeSync(operation.key);
    }
    database.removeSync(WRITE_JOURNAL_KEY);
    return true;
  });
}

// The writer's code. A string run with `eval: true`, so it runs from the TypeScript sources
// under test as from the build; it requires lmdb by the path the main thread resolved.
const WRITER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const ABSENT = ${ABSENT};
const WRITE_JOURNAL_KEY = Uint8Array.of(${WRITE_JOURNAL_KEY.join(", ")});

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

function equalBytes(left, right) {
  if (left === undefined || right === undefined) return left === right;
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) {
    if (left[index] !== right[index]) return false;
  }
  return true;
}

// lmdb-js rejects a failed commit with a generic error whose commitError holds the cause; it
// is rejected in the same callback that rejected the write, so a macrotask bounds the wait.
async function causeOf(error) {
  const commitError = error === null || error === undefined ? undefined : error.commitError;
  if (commitError instanceof Promise) {
    const settled = await Promise.race([
      commitError.then(() => undefined, (reason) => reason),
      new Promise((resolveLater) => setImmediate(resolveLater, undefined)),
    ]);
    if (settled !== undefined) return settled;
  }
  return error;
}

function main() {
  let database;
  try {
    database = require(workerData.lmdbPath).open(workerData.openOptions);
  } catch (error) {
    parentPort.postMessage({ type: "open-failed", message: messageOf(error) });
    return;
  }

  async function write(id, buffer) {
    const bytes = new Uint8Array(buffer);
    const view = new DataView(buffer);
    let conflict = false;
    try {
      // A child transaction: if the callback throws, its changes are rolled back.
      await database.childTransaction(() => {
        const conditionCount = view.getUint32(0, true);
        const operationCount = view.getUint32(4, true);
        // One operation is one put or remove, torn never.
        const journaled = operationCount > 1;
        let offset = 8;
        for (let index = 0; index < conditionCount + operationCount; index++) {
          if (journaled && index === conditionCount) database.putSync(WRITE_JOURNAL_KEY, bytes);
          const keyLength = view.getUint32(offset, true);
          const valueLength = view.getUint32(offset + 4, true);
          const key = bytes.subarray(offset + 8, offset + 8 + keyLength);
          offset += 8 + keyLength;
          let value;
          if (valueLength !== ABSENT) {
            value = bytes.subarray(offset, offset + valueLength);
            offset += valueLength;
          }
          if (index < conditionCount) {
            if (!equalBytes(database.get(key), value)) {
              conflict = true;
              throw new Error("a write condition did not hold");
            }
          } else if (value === undefined) {
            database.removeSync(key);
          } else {
            database.putSync(key, value);
          }
        }
        if (journaled) database.removeSync(WRITE_JOURNAL_KEY);
      });
      parentPort.postMessage({ type: "written", id, kind: "committed" });
    } catch (error) {
      if (conflict) {
        parentPort.postMessage({ type: "written", id, kind: "conflict" });
      } else {
        const message = messageOf(await causeOf(error));
        parentPort.postMessage({ type: "written", id, kind: "failed", message });
      }
    }
  }

  async function close() {
    try {
      await database.close();
      parentPort.postMessage({ type: "closed" });
    } catch (error) {
      parentPort.postMessage({ type: "closed", message: messageOf(error) });
    }
  }

  // One write at a time, in the order they arrive: the next transaction starts only once the
  // previous one has committed or failed.
  let tail = Promise.resolve();
  parentPort.on("message", (message) => {
    tail = tail.then(() => (message.type === "write" ? write(message.id, message.buffer) : close()));
  });
}

main();
`;

const lmdbPath = createRequire(import.meta.url).resolve("lmdb");

interface PendingWrite {
  readonly resolve: (outcome: WriterOutcome) => void;
}

export class LmdbWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, PendingWrite>();
  #nextId = 1;
  /** Why the writer can take no more writes: it failed to open, died or was closed. */
  #failure: string | undefined;
  #closing: { resolve: (message: string | undefined) => void } | undefined;
  #closed: Promise<string | undefined> | undefined;

  /**
   * Starts the writer on `openOptions`, the options the main thread opened the store with.
   * `afterUnansweredExit` runs on the main thread once the thread has exited with writes it never
   * answered, before they are settled: where the store completes a write the thread left torn.
   */
  constructor(openOptions: RootDatabaseOptionsWithPath, afterUnansweredExit: () => void) {
    this.#worker = new Worker(WRITER_SOURCE, {
      eval: true,
      workerData: { lmdbPath, openOptions },
    });
    // Idle, it keeps nothing alive; a write in flight does.
    this.#worker.unref();
    this.#worker.on("message", (message: WriterMessage) => this.#receive(message));
    // An uncaught error ends the thread: its writes are settled at its exit, with the error.
    let threadError: string | undefined;
    this.#worker.on("error", (error) => {
      threadError ??= error.message;
    });
    this.#worker.on("exit", (code) => {
      let reason =
        threadError === undefined
          ? `the writer thread exited with code ${code}`
          : `the writer thread failed: ${threadError}`;
      if (this.#pending.size > 0) {
        try {
          afterUnansweredExit();
        } catch (error) {
          reason += `; the write it left unfinished could not be completed yet: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      // A write it took and never answered committed whole or not at all; the store reads which.
      this.#fail(reason, "unanswered");
    });
  }

  /** True once the writer takes no more writes: it failed to open, died, or was closed. */
  get ended(): boolean {
    return this.#failure !== undefined;
  }

  /** Hands a packed write to the writer; resolves with its outcome, never rejects. */
  write(buffer: ArrayBuffer): Promise<WriterOutcome> {
    if (this.#failure !== undefined) {
      return Promise.resolve({ kind: "failed", message: this.#failure });
    }
    const id = this.#nextId++;
    const outcome = new Promise<WriterOutcome>((resolve) => {
      this.#pending.set(id, { resolve });
    });
    if (this.#pending.size === 1) this.#worker.ref();
    this.#worker.postMessage({ type: "write", id, buffer }, [buffer]);
    return outcome;
  }

  /**
   * Lets the writes handed over finish, closes the writer's handle and ends the thread.
   * Resolves with the reason the writer's handle could not be closed, if it could not.
   */
  close(): Promise<string | undefined> {
    if (this.#closed !== undefined) return this.#closed;
    if (this.#failure !== undefined) {
      this.#closed = this.#worker.terminate().then(() => undefined);
      return this.#closed;
    }
    const closed = new Promise<string | undefined>((resolve) => {
      this.#closing = { resolve };
    });
    this.#worker.ref();
    this.#worker.postMessage({ type: "close" });
    this.#closed = closed.then(async (message) => {
      await this.#worker.terminate();
      return message;
    });
    return this.#closed;
  }

  #receive(message: WriterMessage): void {
    if (message.type === "written") {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (this.#pending.size === 0 && this.#closing === undefined) this.#worker.unref();
      pending.resolve(
        message.kind === "failed"
          ? { kind: "failed", message: message.message }
          : { kind: message.kind },
      );
    } else if (message.type === "closed") {
      const closing = this.#closing;
      this.#closing = undefined;
      this.#fail("the store is closed", "failed");
      closing?.resolve(message.message);
    } else {
      this.#fail(`the writer thread could not open it: ${message.message}`, "failed");
    }
  }

  /**
   * Ends the writer for `reason`: the writes handed over and not answered end as `kind` (a thread
   * that never opened the store took none of them), every later one fails.
   */
  #fail(reason: string, kind: "failed" | "unanswered"): void {
    this.#failure ??= reason;
    for (const pending of this.#pending.values()) pending.resolve({ kind, message: reason });
    this.#pending.clear();
    const closing = this.#closing;
    this.#closing = undefined;
    closing?.resolve(reason);
    this.#worker.unref();
  }
}

type WriterMessage =
  | { readonly type: "written"; readonly id: number; readonly kind: "committed" | "conflict" }
  | { readonly type: "written"; readonly id: number; readonly kind: "failed"; message: string }
  | { readonly type: "closed"; readonly message?: string }
  | { readonly type: "open-failed"; readonly message: string };
