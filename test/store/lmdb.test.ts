import { existsSync, realpathSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import {
  type ChainHead,
  encodeMetaKey,
  openLmdbKeyValueStore,
  openStore,
  SCHEMA_VERSION_META_NAME,
  StoreError,
  TREE_STORED_LEVEL_MIN,
  type WitnzStore,
} from "../../src/store/index.js";
import { buildCrashWriter, runCrashWriter } from "./child-process.js";
import {
  BATCH_ENTRIES_MAX,
  batchSizes,
  CRASH_TABLE,
  EXIT_BATCH_ENTRIES,
  rowChainHash,
  rowDataHash,
  rowPrimaryKey,
} from "./crash-writer.js";
import {
  bytes,
  GENESIS,
  makeEntries,
  makeTemporaryDirectory,
  seededRandom,
  utf8,
} from "./harness.js";

/** Kill-and-recover rounds of the crash test; each costs one child process. */
const CRASH_ROUNDS = 10;

async function caughtError(action: () => unknown): Promise<StoreError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error("expected a StoreError, and nothing was thrown");
}

let directory: string;
beforeEach(async () => {
  directory = await makeTemporaryDirectory();
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("LMDB store on disk", () => {
  test("everything committed is there after close and reopen", async () => {
    const table = "public.orders";
    const entries = makeEntries(1, 50, GENESIS);
    const first = await openStore(directory);
    const batch = first.batch();
    for (const entry of entries) batch.appendChainEntry(table, entry);
    first.treeNodes(table, batch).set(5, 2, entries[9]!.chainHash);
    batch.putCheckpoint(table, 50, "checkpoint 50\n");
    batch.setMeta("node-id", bytes(7));
    await first.commit(batch);
    await first.close();

    const reopened = await openStore(directory);
    expect(reopened.chainHead(table)).toEqual({ size: 50, chainHash: entries[49]!.chainHash });
    expect([...reopened.chainEntries(table, 1, 50)]).toEqual(entries);
    expect(reopened.sequenceForPrimaryKey(table, utf8("pk-17"))).toBe(17);
    expect(reopened.treeNodes(table).get(5, 2)).toEqual(entries[9]!.chainHash);
    expect(reopened.latestCheckpoint(table)).toEqual({ size: 50, noteText: "checkpoint 50\n" });
    expect(reopened.meta("node-id")).toEqual(bytes(7));
    expect(reopened.tables()).toEqual([table]);
    await reopened.close();
  });

  test("close waits for the writes handed to the writer thread, and a second close for the first", async () => {
    const raw = openLmdbKeyValueStore(directory);
    let durable = 0;
    const writes = Array.from({ length: 20 }, (_, index) =>
      raw.write([{ type: "put", key: bytes(1, index), value: bytes(index) }]).then(() => {
        durable += 1;
      }),
    );
    const first = raw.close();
    await raw.close();
    // The second close resolved only after the first, so after every write handed over before it.
    expect(durable).toBe(20);
    await Promise.all([first, ...writes]);
    await expect(
      raw.write([{ type: "put", key: bytes(2), value: bytes(2) }]),
    ).rejects.toMatchObject({ code: "WITNZ_STORE_CLOSED" });
    const reopened = openLmdbKeyValueStore(directory);
    for (let index = 0; index < 20; index++) {
      expect(reopened.get(bytes(1, index))).toEqual(bytes(index));
    }
    await reopened.close();
  });

  test("a reverse range reads its first key in the snapshot it started in", async () => {
    const raw = openLmdbKeyValueStore(directory);
    await raw.write(
      [1, 2, 3].map((key) => ({ type: "put" as const, key: bytes(key), value: bytes(key) })),
    );
    const walk = raw.range({ start: bytes(1), end: bytes(9), reverse: true })[Symbol.iterator]();
    expect(walk.next().value?.[0]).toEqual(bytes(3));
    // The range's own start key goes while the walk is under way.
    await raw.write([{ type: "delete", key: bytes(1) }]);
    const rest: Uint8Array[] = [];
    for (let step = walk.next(); step.done !== true; step = walk.next()) rest.push(step.value[0]);
    expect(rest).toEqual([bytes(2), bytes(1)]);
    expect(raw.get(bytes(1))).toBeUndefined();
    await raw.close();
  });

  test("a missing directory is created, and a name with a dot is still a directory", async () => {
    const nested = join(directory, "a", "store.lmdb");
    const store = await openStore(nested);
    await store.close();
    expect(existsSync(join(nested, "data.mdb"))).toBe(true);
  });

  test("a path that is a regular file is refused with its path in the message", async () => {
    const file = join(directory, "not-a-directory");
    await writeFile(file, "plain file\n");
    const error = await caughtError(() => openStore(file));
    expect(error.code).toBe("WITNZ_STORE_OPEN");
    expect(error.message).toBe(
      `the store path ${file} is not a directory; a store is a directory that LMDB owns`,
    );
  });

  test("a path under a regular file is refused with its path in the message", async () => {
    const file = join(directory, "plain");
    await writeFile(file, "plain file\n");
    const error = await caughtError(() => openStore(join(file, "store")));
    expect(error.code).toBe("WITNZ_STORE_OPEN");
    expect(error.message).toMatch(
      new RegExp(`^the store directory ${join(file, "store")} could not be .*ENOTDIR`),
    );
  });

  test("a directory open in this process cannot be opened a second time", async () => {
    const store = await openStore(directory);
    const error = await caughtError(() => openStore(directory));
    expect(error.code).toBe("WITNZ_STORE_ALREADY_OPEN");
    expect(error.message).toBe(
      `the store at ${realpathSync(directory)} is already open in this process`,
    );
    await store.close();
    const again = await openStore(directory);
    await again.close();
  });

  test("a store written by a newer schema is refused, naming path and both versions", async () => {
    const raw = openLmdbKeyValueStore(directory);
    await raw.write([
      { type: "put", key: encodeMetaKey(SCHEMA_VERSION_META_NAME), value: bytes(0, 0, 0, 3) },
    ]);
    await raw.close();
    const error = await caughtError(() => openStore(directory));
    expect(error.code).toBe("WITNZ_STORE_SCHEMA");
    expect(error.message).toBe(
      `the store in ${realpathSync(directory)} has schema version 3; this build reads schema version 2 only`,
    );
    // The refused store was closed again, so it can be opened raw to repair it.
    const reopened = openLmdbKeyValueStore(directory);
    await reopened.close();
  });

  test("writes stop with WITNZ_STORE_FULL at the size limit, and what was written stays", async () => {
    const sizeBytesMax = 512 * 1024;
    const store = await openStore(directory, { sizeBytesMax });
    const table = "public.big";
    let head: ChainHead = { size: 0, chainHash: GENESIS };
    let full: StoreError | undefined;
    for (let round = 0; round < 100 && full === undefined; round++) {
      const batch = store.batch();
      for (const entry of makeEntries(head.size + 1, head.size + 50, head.chainHash, (seq) =>
        utf8(`pk-${seq}-${"x".repeat(200)}`),
      )) {
        batch.appendChainEntry(table, entry);
        head = { size: entry.seq, chainHash: entry.chainHash };
      }
      try {
        await store.commit(batch);
      } catch (error) {
        full = error as StoreError;
        head = store.chainHead(table)!;
      }
    }
    expect(full?.code).toBe("WITNZ_STORE_FULL");
    expect(full?.message).toMatch(/bytes; its limit is 524288$/);
    expect(store.chainHead(table)?.size).toBe(head.size);
    expect([...store.chainEntries(table, 1, head.size)]).toHaveLength(head.size);
    await store.close();
  });
});

describe("LMDB store with a real process", () => {
  let crashWriter: { script: string; remove: () => Promise<void> };
  beforeAll(async () => {
    crashWriter = await buildCrashWriter();
  });
  afterAll(async () => {
    await crashWriter.remove();
  });

  /** Checks every entry, index, node and the head against the deterministic rows. */
  function expectConsistentChain(store: WitnzStore, primaryKeyPadBytes: number): number {
    const head = store.chainHead(CRASH_TABLE);
    const size = head?.size ?? 0;
    let chainHash: Uint8Array = GENESIS;
    let seq = 0;
    for (const entry of store.chainEntries(CRASH_TABLE, 1, Number.MAX_SAFE_INTEGER)) {
      seq += 1;
      expect(entry.seq).toBe(seq);
      expect(entry.dataHash).toEqual(rowDataHash(seq));
      chainHash = rowChainHash(chainHash, seq, entry.dataHash);
      expect(entry.chainHash).toEqual(chainHash);
      expect(entry.lsn).toBe(BigInt(seq) * 16n);
      expect(store.sequenceForPrimaryKey(CRASH_TABLE, rowPrimaryKey(seq, primaryKeyPadBytes))).toBe(
        seq,
      );
      expect(store.treeNodes(CRASH_TABLE).get(TREE_STORED_LEVEL_MIN, seq - 1)).toEqual(
        entry.dataHash,
      );
    }
    // No entry beyond the head: a partial batch would show up here.
    expect(seq).toBe(size);
    if (size > 0) {
      expect(head?.chainHash).toEqual(chainHash);
      expect(store.latestCheckpoint(CRASH_TABLE)).toEqual({
        size,
        noteText: `checkpoint ${size}\n`,
      });
    }
    expect(store.treeNodes(CRASH_TABLE).get(TREE_STORED_LEVEL_MIN, size)).toBeUndefined();
    return size;
  }

  /** Sizes at which a batch of the writer seeded with `seed`, starting at `startSize`, ends. */
  function batchBoundaries(seed: number, startSize: number, upTo: number): Set<number> {
    const nextBatchSize = batchSizes(seed);
    const boundaries = new Set<number>([startSize]);
    for (let size = startSize; size <= upTo + BATCH_ENTRIES_MAX; ) {
      size += nextBatchSize();
      boundaries.add(size);
    }
    return boundaries;
  }

  test("SIGKILL mid-stream loses no acknowledged entry and shows no partial batch", async () => {
    const random = seededRandom(20_240_611);
    let size = 0;
    // Each round kills the writer at a seeded moment after some acknowledgements (the delay
    // moves the kill across the phases of the next commits), then the next round resumes
    // from whatever the store holds.
    for (let round = 0; round < CRASH_ROUNDS; round++) {
      const seed = 1000 + round;
      const killAfterAcks = 1 + Math.floor(random() * 20);
      const killDelayMs = Math.floor(random() * 12);
      const context = `round ${round}, seed ${seed}, kill after ${killAfterAcks} acks + ${killDelayMs} ms`;
      const run = await runCrashWriter({
        script: crashWriter.script,
        directory,
        seed,
        mode: "append",
        killAfterAcks,
        killDelayMs,
        timeoutMs: 30_000,
      });
      expect(run.signal, `${context}: ${run.stderr}`).toBe("SIGKILL");
      expect(run.ackedSizes.length, context).toBeGreaterThanOrEqual(killAfterAcks);
      const lastAcked = run.ackedSizes.at(-1)!;

      const store = await openStore(directory);
      const recovered = expectConsistentChain(store, 0);
      await store.close();
      expect(recovered, context).toBeGreaterThanOrEqual(lastAcked);
      expect(batchBoundaries(seed, size, recovered).has(recovered), context).toBe(true);
      size = recovered;
    }
  });

  test("a disk that fills up fails the commit with its cause, and the store stays whole", async () => {
    const run = await runCrashWriter({
      script: crashWriter.script,
      directory,
      seed: 7,
      mode: "fill",
      fileSizeKibibytesMax: 768,
      timeoutMs: 30_000,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const failures = run.otherLines.filter((line) => line.startsWith("failed "));
    expect(failures, run.stderr).toHaveLength(3);
    for (const failure of failures) {
      const { code, message } = JSON.parse(failure.slice("failed ".length)) as {
        code: string;
        message: string;
      };
      expect(code).toBe("WITNZ_STORE_WRITE");
      // The kernel refuses the write whole (EFBIG) or in part, which LMDB reports as EIO.
      expect(message).toMatch(
        new RegExp(
          `^LMDB could not commit a write to the store at ${realpathSync(directory)}: (File too large|Input/output error)`,
        ),
      );
    }

    const store = await openStore(directory);
    const recovered = expectConsistentChain(store, 1000);
    await store.close();
    expect(run.ackedSizes.length).toBeGreaterThan(0);
    expect(recovered).toBe(run.ackedSizes.at(-1));
  });

  test("a process that exits mid-write leaves the batch whole or absent, never torn", async () => {
    // process.exit (or an uncaught exception) ends the writer thread inside its transaction,
    // and lmdb-js then commits what was applied so far: the journal makes that whole again.
    let journals = 0;
    for (const exitAfterMs of [0, 5, 20]) {
      const context = `exit ${exitAfterMs} ms after the hand-over`;
      const round = await makeTemporaryDirectory();
      try {
        const run = await runCrashWriter({
          script: crashWriter.script,
          directory: round,
          seed: exitAfterMs,
          mode: "exit",
          timeoutMs: 30_000,
        });
        expect(run.exitCode, `${context}: ${run.stderr}`).toBe(0);
        const inspected = await runCrashWriter({
          script: crashWriter.script,
          directory: round,
          seed: 0,
          mode: "inspect",
          timeoutMs: 30_000,
        });
        expect(inspected.exitCode, inspected.stderr).toBe(0);
        if (inspected.otherLines.includes("journal yes")) journals += 1;

        const store = await openStore(round);
        const recovered = expectConsistentChain(store, 0);
        await store.close();
        expect([0, EXIT_BATCH_ENTRIES], context).toContain(recovered);
        if (inspected.otherLines.includes("journal yes")) {
          expect(recovered, context).toBe(EXIT_BATCH_ENTRIES);
        }
        // Completed once: the store no longer holds the journal.
        const raw = openLmdbKeyValueStore(round);
        expect(raw.get(Uint8Array.of(0xff, 0xff)), context).toBeUndefined();
        await raw.close();
      } finally {
        await rm(round, { recursive: true, force: true });
      }
    }
    // The exits did land inside writes: the case this test is about happened.
    expect(journals).toBeGreaterThan(0);
  });
});
