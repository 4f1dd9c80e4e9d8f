import { compareBytes, equalBytes } from "./bytes.js";
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

/**
 * The in-memory twin of the LMDB store: the same ordering, atomicity, conditions, limits and
 * errors, with nothing on disk. A write is applied before its promise is returned, so it is
 * "durable" as soon as it resolves, which is all a twin can promise.
 */
export function createMemoryKeyValueStore(): KeyValueStore {
  return new MemoryKeyValueStore();
}

class MemoryKeyValueStore implements KeyValueStore {
  readonly location = "memory";
  // Parallel arrays sorted by key; the twin favours obviousness over speed.
  #keys: Uint8Array[] = [];
  #values: Uint8Array[] = [];
  #closed = false;

  get(key: Uint8Array): Uint8Array | undefined {
    this.#assertOpen();
    validateKey(key);
    const position = this.#lowerBound(key);
    const found = this.#keys[position];
    if (found === undefined || !equalBytes(found, key)) return undefined;
    return this.#values[position]!.slice();
  }

  getTransient(key: Uint8Array): Uint8Array | undefined {
    this.#assertOpen();
    validateKey(key);
    const position = this.#lowerBound(key);
    const found = this.#keys[position];
    if (found === undefined || !equalBytes(found, key)) return undefined;
    // Stored values are replaced on write, never changed in place, so lending one is safe.
    return this.#values[position]!;
  }

  range(options: RangeOptions): Iterable<[key: Uint8Array, value: Uint8Array]> {
    this.#assertOpen();
    validateRange(options);
    // A snapshot taken now, as an LMDB read transaction would be.
    const first = this.#lowerBound(options.start);
    const afterLast = Math.max(first, this.#lowerBound(options.end));
    const keys = this.#keys.slice(first, afterLast);
    const values = this.#values.slice(first, afterLast);
    const limit = options.limit ?? keys.length;
    const reverse = options.reverse === true;
    return {
      *[Symbol.iterator]() {
        const count = Math.min(limit, keys.length);
        for (let step = 0; step < count; step++) {
          const position = reverse ? keys.length - 1 - step : step;
          yield [keys[position]!.slice(), values[position]!.slice()];
        }
      },
    };
  }

  count(range: { readonly start: Uint8Array; readonly end: Uint8Array }): number {
    this.#assertOpen();
    validateRange(range);
    const first = this.#lowerBound(range.start);
    return Math.max(0, this.#lowerBound(range.end) - first);
  }

  async write(
    operations: readonly WriteOperation[],
    conditions: readonly WriteCondition[] = [],
    options: WriteOptions = {},
  ): Promise<void> {
    this.#assertOpen();
    validateWrite(operations, conditions);
    for (const condition of conditions) {
      const position = this.#lowerBound(condition.key);
      const found = this.#keys[position];
      const current =
        found !== undefined && equalBytes(found, condition.key)
          ? this.#values[position]
          : undefined;
      if (!equalBytes(current, condition.value)) throw conflictError();
    }
    for (const operation of operations) {
      const position = this.#lowerBound(operation.key);
      const found = this.#keys[position];
      const present = found !== undefined && equalBytes(found, operation.key);
      if (operation.type === "put") {
        if (present) {
          this.#values[position] = operation.value.slice();
        } else {
          this.#keys.splice(position, 0, operation.key.slice());
          this.#values.splice(position, 0, operation.value.slice());
        }
      } else if (present) {
        this.#keys.splice(position, 1);
        this.#values.splice(position, 1);
      }
    }
    options.onApplied?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#keys = [];
    this.#values = [];
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("WITNZ_STORE_CLOSED", "the memory store is closed");
  }

  /** The first position whose key is >= `key`. */
  #lowerBound(key: Uint8Array): number {
    let low = 0;
    let high = this.#keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareBytes(this.#keys[middle]!, key) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
