// Answered queries' nonces in a real LMDB store: refused across restarts (a clock that was
// ahead included), deleted once their window is over however they left memory and however many
// there are, and written a group at a time.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { type KeyValueStore, openLmdbKeyValueStore } from "../../src/store/index.js";
import { QueryNonces } from "../../src/witness/query-nonces.js";
import { prefixEnd, queryNoncePrefix } from "../../src/witness/witness-keys.js";

const T = 1_763_900_000;
const CUSTOMER = "acme";
const nonce = (index: number) => index.toString(16).padStart(32, "0");

let directory: string;
let kv: KeyValueStore;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "witnz-query-nonces-"));
  kv = openLmdbKeyValueStore(directory);
});

afterEach(async () => {
  await kv.close();
  await rm(directory, { recursive: true, force: true });
});

async function restart(): Promise<void> {
  await kv.close();
  kv = openLmdbKeyValueStore(directory);
}

function storedNonces(): number {
  const prefix = queryNoncePrefix();
  return [...kv.range({ start: prefix, end: prefixEnd(prefix) })].length;
}

const code = (result: { code: string } | undefined) => result?.code;

describe("QueryNonces", () => {
  test("a nonce answered before a restart is refused after it", async () => {
    const nonces = new QueryNonces(kv);
    expect(await nonces.admit(CUSTOMER, "node1", nonce(1), T, T)).toBeUndefined();
    await restart();
    const again = new QueryNonces(kv);
    expect(code(await again.admit(CUSTOMER, "node1", nonce(1), T, T + 10))).toBe(
      "WITNZ_WITNESS_QUERY_REPLAY",
    );
  });

  test("a clock that was ahead, then set back across a restart, reopens no window", async () => {
    const nonces = new QueryNonces(kv);
    expect(await nonces.admit(CUSTOMER, "node1", nonce(1), T, T)).toBeUndefined();
    // The clock reads 350 s on: another query sweeps, and nonce 1 (window over) is deleted.
    expect(await nonces.admit(CUSTOMER, "node1", nonce(2), T + 350, T + 350)).toBeUndefined();
    await nonces.settled();
    expect(storedNonces()).toBe(1);
    await restart();
    // The clock now reads T + 150, inside nonce 1's window: still refused.
    const again = new QueryNonces(kv);
    expect(code(await again.admit(CUSTOMER, "node1", nonce(1), T, T + 150))).toBe(
      "WITNZ_WITNESS_QUERY_EXPIRED",
    );
    expect(await again.admit(CUSTOMER, "node1", nonce(3), T + 150, T + 150)).toBeUndefined();
  });

  test("nonces dropped at a node's limit are deleted from the store too", async () => {
    const nonces = new QueryNonces(kv, 3);
    for (const index of [1, 2, 3]) {
      expect(await nonces.admit(CUSTOMER, "node1", nonce(index), T, T)).toBeUndefined();
    }
    expect(code(await nonces.admit(CUSTOMER, "node1", nonce(4), T, T))).toBe(
      "WITNZ_WITNESS_QUERY_RATE",
    );
    // Past the window: the limit drops the three, and their deletes follow.
    expect(await nonces.admit(CUSTOMER, "node1", nonce(4), T + 301, T + 301)).toBeUndefined();
    expect(await nonces.admit(CUSTOMER, "node2", nonce(1), T + 400, T + 400)).toBeUndefined();
    await nonces.settled();
    expect(storedNonces()).toBe(2);
  });

  test("a sweep of more nonces than one write may hold deletes them all", async () => {
    const nonces = new QueryNonces(kv);
    const count = 24_000;
    const results = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        nonces.admit(CUSTOMER, `node${index % 3}`, nonce(index), T, T),
      ),
    );
    expect(results.every((result) => result === undefined)).toBe(true);
    expect(storedNonces()).toBe(count);
    await restart();
    const again = new QueryNonces(kv);
    expect(again.held).toBe(count);
    expect(await again.admit(CUSTOMER, "node1", nonce(count), T + 400, T + 400)).toBeUndefined();
    await again.settled();
    expect(storedNonces()).toBe(1);
    expect(again.held).toBe(1);
  });

  test("concurrent queries share writes", async () => {
    let writes = 0;
    const write = kv.write.bind(kv);
    kv.write = (...args) => {
      writes += 1;
      return write(...args);
    };
    const nonces = new QueryNonces(kv);
    await Promise.all(
      Array.from({ length: 2000 }, (_, index) =>
        nonces.admit(CUSTOMER, "node1", nonce(index), T, T),
      ),
    );
    expect(storedNonces()).toBe(2000);
    // The first query's write, then the rest together (and the first sweep's mark).
    expect(writes).toBeLessThanOrEqual(3);
  });
});
