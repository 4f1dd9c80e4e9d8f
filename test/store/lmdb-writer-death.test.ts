// The LMDB writer thread dying under a store: the store reports what it cannot know, makes a
// write the thread was applying whole, and goes on with a new writer. The thread is the real one; the test only keeps hold of it to end it.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  type KeyValueStore,
  openLmdbKeyValueStore,
  StoreError,
  WRITE_JOURNAL_KEY,
} from "../../src/store/index.js";
import { makeTemporaryDirectory } from "./harness.js";

const workers = vi.hoisted(() => [] as Worker[]);

vi.mock("node:worker_threads", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:worker_threads")>();
  class KeptWorker extends original.Worker {
    constructor(...args: ConstructorParameters<typeof original.Worker>) {
      super(...args);
      workers.push(this);
    }
  }
  return { ...original, Worker: KeptWorker };
});

let directory: string;
let store: KeyValueStore;

beforeEach(async () => {
  workers.length = 0;
  directory = await makeTemporaryDirectory();
  store = openLmdbKeyValueStore(join(directory, "store"));
});

afterEach(async () => {
  await store.close();
  await rm(directory, { recursive: true, force: true });
});

const key = (n: number) => Uint8Array.of(0x01, n);
const BIG_WRITE_OPERATIONS = 30_000;
function bigKey(index: number): Uint8Array {
  const bytes = new Uint8Array(5);
  bytes[0] = 0x02;
  new DataView(bytes.buffer).setUint32(1, index);
  return bytes;
}
const put = (n: number) => ({ type: "put" as const, key: key(n), value: Uint8Array.of(n) });

async function caught(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

describe("the LMDB writer thread ending", () => {
  test("a writer that died idle is replaced by the next write, which commits", async () => {
    await store.write([put(1)]);
    expect(workers).toHaveLength(1);
    await workers[0]!.terminate();

    await store.write([put(2)]);
    expect(workers).toHaveLength(2);
    expect(store.get(key(1))).toEqual(Uint8Array.of(1));
    expect(store.get(key(2))).toEqual(Uint8Array.of(2));
  });

  test.each([0, 5, 20])(
    "writes the thread never answered (ended %i ms in) are reported as of unknown outcome, and read whole or absent at once",
    async (endAfterMs) => {
      await store.write([put(1)]);
      // Big enough that the thread is most likely ended in the middle of applying it.
      const operations = Array.from({ length: BIG_WRITE_OPERATIONS }, (_, index) => ({
        type: "put" as const,
        key: bigKey(index),
        value: bigKey(index),
      }));
      const inflight = [store.write(operations), store.write([put(3)])];
      await sleep(endAfterMs);
      await workers[0]!.terminate();
      for (const write of inflight) {
        const error = await caught(write);
        expect(error.code).toBe("WITNZ_STORE_WRITE");
        expect(error.message).toMatch(/may or may not have been committed/);
        expect(error.message).toMatch(/the writer thread exited with code 1/);
      }
      // Read before any other write: a torn write was completed when the thread exited.
      const written = store.count({ start: bigKey(0), end: bigKey(BIG_WRITE_OPERATIONS) });
      expect([0, BIG_WRITE_OPERATIONS]).toContain(written);
      expect(store.get(WRITE_JOURNAL_KEY)).toBeUndefined();

      // The next write gets a new thread.
      await store.write([put(4)]);
      expect(workers).toHaveLength(2);
      expect(store.get(key(4))).toEqual(Uint8Array.of(4));
    },
  );

  test("no caller writes the journal's key", async () => {
    const error = await caught(
      store.write([{ type: "put", key: WRITE_JOURNAL_KEY, value: key(1) }]),
    );
    expect(error.code).toBe("WITNZ_STORE_INVALID");
    expect(workers).toHaveLength(0);
  });
});
