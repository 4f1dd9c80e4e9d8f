// Capture end to end on a real PostgreSQL and a real LMDB store: rows become chain entries, tree
// leaves and signed checkpoints; violations are staged; nothing is acknowledged before it is durable.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  CAPTURE_LSN_META,
  CaptureRunner,
  type CaptureRunnerOptions,
  type Gap,
  type ViolationToRecord,
} from "../../src/capture/index.js";
import { resolveTable } from "../../src/catalog/index.js";
import {
  noteVerifier,
  readWitnzFields,
  SIGNATURE_TYPE_ED25519,
  verifyCheckpoint,
} from "../../src/checkpoint/index.js";
import { generateEd25519KeyPair } from "../../src/crypto/index.js";
import {
  chainHash,
  dataHash,
  decodePrimaryKey,
  encodePrimaryKey,
  encodeRow,
  GENESIS_CHAIN_HASH,
} from "../../src/hash/index.js";
import { MerkleTree } from "../../src/merkle/index.js";
import {
  connectSession,
  copyTableText,
  ensurePublication,
  ensureReplicationSlot,
  readReplicationSlot,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";
import {
  type KeyValueStore,
  openLmdbKeyValueStore,
  openStore,
  openStoreOnKeyValueStore,
  StoreError,
  type WitnzStore,
} from "../../src/store/index.js";
import { until } from "../support/until.js";
import { storeWithInitFirst } from "./helpers.js";

let server: TestPostgres;
let client: pg.Client;
let directory: string;
const keys = generateEd25519KeyPair();
const signer = { name: "witnz.test/node/a", privateKey: keys.privateKey };
const verifier = noteVerifier(signer.name, SIGNATURE_TYPE_ED25519, keys.publicKey);

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query(`CREATE TABLE public.audit_log (
      id bigint PRIMARY KEY, actor text NOT NULL, amount numeric, at timestamptz, payload jsonb)`);
  await client.query(`CREATE SCHEMA "Billing"`);
  await client.query(`CREATE TABLE "Billing"."Ledger Lines" (
      "Account" text, line int, note text, PRIMARY KEY ("Account", line))`);
  await ensurePublication(client, "witnz", [
    { schema: "public", table: "audit_log" },
    { schema: "Billing", table: "Ledger Lines" },
  ]);
  await ensureReplicationSlot(client, "witnz_a");
  directory = await mkdtemp(join(tmpdir(), "witnz-capture-"));
});

afterAll(async () => {
  await client?.end();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

function runner(
  store: WitnzStore,
  violations: ViolationToRecord[],
  extra: Partial<CaptureRunnerOptions> = {},
): CaptureRunner {
  let clock = 1_763_891_200_000_000n;
  return new CaptureRunner({
    connection: { connectionString: server.connectionString },
    slotName: "witnz_a",
    publicationName: "witnz",
    store,
    signer,
    clusterOrigin: "witnz.test/c1",
    nowUnixMicroseconds: () => {
      clock += 1n;
      return clock;
    },
    stageViolation: (_batch, violation) => violations.push(violation),
    batchChangesMax: 100,
    reconnectDelayMsMax: 200,
    ...extra,
  });
}

/** A real LMDB store whose writes fail with the message `failure` returns, when it returns one. */
function failingWrites(path: string, failure: () => string | undefined): KeyValueStore {
  const lmdb = openLmdbKeyValueStore(path);
  return {
    location: lmdb.location,
    get: (key) => lmdb.get(key),
    getTransient: (key) => lmdb.getTransient(key),
    range: (options) => lmdb.range(options),
    count: (range) => lmdb.count(range),
    write: (operations, conditions, options) => {
      const message = failure();
      return message === undefined
        ? lmdb.write(operations, conditions, options)
        : Promise.reject(new StoreError("WITNZ_STORE_WRITE", message));
    },
    close: () => lmdb.close(),
  };
}

async function currentLsn(): Promise<bigint> {
  const result = await client.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
  const [high, low] = result.rows[0]!.lsn.split("/") as [string, string];
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

describe("capture", () => {
  test("inserts become chain entries, tree leaves and a signed checkpoint equal to a fresh recomputation", async () => {
    const store = await openStore(join(directory, "store-1"));
    const violations: ViolationToRecord[] = [];
    const capture = runner(store, violations);
    capture.start();
    await client.query("BEGIN");
    for (let id = 1; id <= 250; id++) {
      await client.query("INSERT INTO public.audit_log VALUES ($1, $2, $3, now(), $4)", [
        id,
        `user-${id % 7}`,
        `${id}.50`,
        JSON.stringify({ id, note: "é日" }),
      ]);
    }
    await client.query("COMMIT");
    await client.query(
      `INSERT INTO "Billing"."Ledger Lines" VALUES ('A-1', 1, 'x'), ('A-1', 2, NULL)`,
    );
    await client.query("BEGIN");
    await client.query("INSERT INTO public.audit_log VALUES (999, 'ghost', 1, now(), '{}')");
    await client.query("ROLLBACK");
    const target = await currentLsn();
    await until(
      () =>
        (capture.acknowledgedLsn ?? 0n) >= target - 1000n &&
        store.chainHead('"Billing"."Ledger Lines"')?.size === 2,
      "capture",
    );
    await capture.stop();

    const layout = await resolveTable(client, "audit_log");
    expect(store.chainHead("public.audit_log")?.size).toBe(250);
    // Recompute from the table itself, in insertion order (id order here), with nothing shared.
    const copied = await client.query<{ id: string }>(
      "SELECT id::text FROM public.audit_log ORDER BY id",
    );
    expect(copied.rows).toHaveLength(250);
    const byKey = new Map<string, (Uint8Array | null)[]>();
    for await (const row of copyTableText(client, layout.schema, layout.table, layout.columns)) {
      byKey.set(Buffer.from(row[0]!).toString(), row);
    }
    let previous: Uint8Array = GENESIS_CHAIN_HASH;
    const tree = MerkleTree.create();
    for (let id = 1; id <= 250; id++) {
      const row = byKey.get(String(id))!;
      const data = dataHash(
        encodeRow({ schema: "public", table: "audit_log", columns: layout.columns, values: row }),
      );
      previous = chainHash(previous, id, data);
      tree.append(data);
      const entry = store.chainEntry("public.audit_log", id)!;
      expect(Buffer.from(entry.dataHash).equals(data)).toBe(true);
      expect(decodePrimaryKey(entry.primaryKey)).toEqual([String(id)]);
      expect(store.sequenceForPrimaryKey("public.audit_log", encodePrimaryKey([String(id)]))).toBe(
        id,
      );
    }
    expect(Buffer.from(store.chainHead("public.audit_log")!.chainHash).equals(previous)).toBe(true);

    const latest = store.latestCheckpoint("public.audit_log")!;
    expect(latest.size).toBe(250);
    const verified = verifyCheckpoint(latest.noteText, [verifier]);
    expect(verified.checkpoint.origin).toBe("witnz.test/c1/public.audit_log");
    expect(Buffer.from(verified.checkpoint.rootHash).equals(tree.root())).toBe(true);
    expect(Buffer.from(readWitnzFields(verified.checkpoint).chainHash).equals(previous)).toBe(true);
    // The rolled-back insert left no trace.
    expect(
      store.sequenceForPrimaryKey("public.audit_log", encodePrimaryKey(["999"])),
    ).toBeUndefined();
    expect(store.chainHead('"Billing"."Ledger Lines"')?.size).toBe(2);
    expect(decodePrimaryKey(store.chainEntry('"Billing"."Ledger Lines"', 2)!.primaryKey)).toEqual([
      "A-1",
      "2",
    ]);
    expect(violations).toEqual([]);
    expect(store.meta(CAPTURE_LSN_META)).toBeDefined();
    await store.close();
  });

  test("UPDATE (even a no-op), DELETE, TRUNCATE and a schema change are violations; a restart doubles nothing", async () => {
    const store = await openStore(join(directory, "store-1"));
    const sizeBefore = store.chainHead("public.audit_log")!.size;
    const violations: ViolationToRecord[] = [];
    const capture = runner(store, violations);
    capture.start();
    await client.query("UPDATE public.audit_log SET actor = 'mallory' WHERE id = 3");
    await client.query("UPDATE public.audit_log SET actor = actor WHERE id = 4");
    await client.query("DELETE FROM public.audit_log WHERE id = 5");
    await client.query(`TRUNCATE "Billing"."Ledger Lines"`);
    await client.query("ALTER TABLE public.audit_log ADD COLUMN extra text");
    await client.query("INSERT INTO public.audit_log (id, actor) VALUES (1000, 'late')");
    await until(
      () => violations.length >= 5 && store.chainHead("public.audit_log")!.size === sizeBefore + 1,
      "violations",
    );
    await capture.stop();
    const summary = violations.map((v) => [
      v.change.violation,
      v.change.table,
      v.change.primaryKey ? decodePrimaryKey(v.change.primaryKey) : null,
    ]);
    expect(summary).toEqual([
      ["update", "public.audit_log", ["3"]],
      ["update", "public.audit_log", ["4"]],
      ["delete", "public.audit_log", ["5"]],
      ["truncate", '"Billing"."Ledger Lines"', null],
      ["schema_change", "public.audit_log", null],
    ]);
    // The UPDATE names the hash recorded for the row and the hash of what it became.
    const update = violations[0]!;
    expect(update.recordedSequence).toBe(3);
    expect(
      Buffer.from(update.recordedDataHash!).equals(
        store.chainEntry("public.audit_log", 3)!.dataHash,
      ),
    ).toBe(true);
    expect(update.newDataHash).toBeDefined();
    expect(Buffer.from(update.newDataHash!).equals(update.recordedDataHash!)).toBe(false);
    // A no-op UPDATE rewrites the same values: still recorded, and its new hash equals the old.
    expect(Buffer.from(violations[1]!.newDataHash!).equals(violations[1]!.recordedDataHash!)).toBe(
      true,
    );
    await store.close();
  });

  test("a commit that fails mid-transaction, while the next batch is staged on it: capture starts over from the store and loses nothing, though the table's layout was learned in that transaction", async () => {
    // The store's fifth write fails, in the middle of a 1000-row transaction that is committed
    // in batches of 100, each flushed while the next is staged on it.
    let writes = 0;
    const store = await openStoreOnKeyValueStore(
      failingWrites(join(directory, "store-2"), () => {
        writes += 1;
        return writes === 5 ? "injected" : undefined;
      }),
    );
    const errors: unknown[] = [];
    const capture = runner(store, [], { onError: (error) => errors.push(error) });
    capture.start();
    await until(() => capture.state === "streaming", "capture to stream");
    const table = '"Billing"."Ledger Lines"';
    await client.query(
      `INSERT INTO "Billing"."Ledger Lines" SELECT 'P', line, 'n' || line FROM generate_series(1, 1000) AS line`,
    );
    const target = await currentLsn();
    await until(
      () =>
        (capture.acknowledgedLsn ?? 0n) >= target - 1000n && store.chainHead(table)?.size === 1000,
      "capture after the failed commit",
    );
    await capture.stop();
    expect(writes).toBeGreaterThan(5);
    expect(errors.map((error) => (error as StoreError).message)).toContain("injected");

    const layout = await resolveTable(client, '"Billing"."Ledger Lines"');
    const byLine = new Map<number, (Uint8Array | null)[]>();
    for await (const row of copyTableText(client, layout.schema, layout.table, layout.columns)) {
      if (Buffer.from(row[0]!).toString() === "P") byLine.set(Number(Buffer.from(row[1]!)), row);
    }
    let previous: Uint8Array = GENESIS_CHAIN_HASH;
    for (let line = 1; line <= 1000; line++) {
      const row = { schema: "Billing", table: "Ledger Lines", columns: layout.columns };
      previous = chainHash(
        previous,
        line,
        dataHash(encodeRow({ ...row, values: byLine.get(line)! })),
      );
    }
    expect(Buffer.from(store.chainHead(table)!.chainHash).equals(previous)).toBe(true);
    expect(store.latestCheckpoint(table)?.size).toBe(1000);
    await store.close();
  });

  test("a first start whose baseline loses to one `witnz init` commits meanwhile judges the slot against init's, and records the gap", async () => {
    const slotName = "witnz_baseline_race";
    // init's view: the slot's position when it was created.
    const created = await ensureReplicationSlot(client, slotName);
    const initPosition = created.slot.confirmedFlushLsn!;
    // Then the slot is consumed past a row before the node ever starts.
    await client.query("INSERT INTO public.audit_log VALUES (7001, 'consumed', 1, now(), '{}')");
    await client.query("SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())", [slotName]);
    const advanced = (await readReplicationSlot(client, slotName))!.confirmedFlushLsn!;
    expect(advanced > initPosition).toBe(true);

    const store = await openStore(join(directory, "store-baseline-race"));
    // init commits its baseline just as the node's first start commits its own.
    const racing = storeWithInitFirst(store, initPosition);
    const gaps: Gap[] = [];
    const capture = runner(racing.store, [], {
      slotName,
      protectedTables: ["public.audit_log"],
      onGap: (gap) => gaps.push(gap),
    });
    capture.start();
    await until(() => capture.state === "streaming", "the node to stream");
    await capture.stop();

    expect(racing.initCommitted()).toBe(true);
    expect(gaps).toEqual([{ reason: "slot_advanced", fromLsn: initPosition, toLsn: advanced }]);
    await store.close();
  });
  test("a stream whose commits keep failing is retried with a growing delay, not at once", async () => {
    let failing = false;
    const store = await openStoreOnKeyValueStore(
      failingWrites(join(directory, "store-backoff"), () =>
        failing ? "injected: disk full" : undefined,
      ),
    );
    const retries: number[] = [];
    const capture = runner(store, [], {
      slotName: "witnz_backoff",
      reconnectDelayMsMax: 5_000,
      onError: (_error, retryInMs) => retries.push(retryInMs),
    });
    await ensureReplicationSlot(client, "witnz_backoff");
    capture.start();
    await until(() => capture.state === "streaming", "capture to stream");
    failing = true;
    await client.query("INSERT INTO public.audit_log VALUES (90001, 'late', 1, now(), '{}')");
    // Each try streams, decodes the row and fails to commit it.
    await until(() => retries.length >= 4, "four failed tries", 60_000);
    await capture.stop();
    expect(retries.slice(0, 4)).toEqual([100, 200, 400, 800]);
    failing = false;
    await store.close();
  });
});
