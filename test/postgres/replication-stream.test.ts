import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  connectSession,
  dropReplicationSlot,
  ensurePublication,
  ensureReplicationSlot,
  hasUnchangedToast,
  type Lsn,
  parseLsn,
  type ReplicationStream,
  type ReplicationStreamOptions,
  readReplicationSlot,
  relationChanged,
  startReplicationStream,
  startTestPostgres,
  type TestPostgres,
  tupleRowImage,
  UNCHANGED_TOAST,
} from "../../src/postgres/index.js";
import { decodeText, nextWithin, readTransaction } from "./stream-helpers.js";

const PUBLICATION = "witnz";
const TABLES = ["events", "full_identity", "truncated", "evolving", "bulk"];

let server: TestPostgres;
let application: pg.Client;
let setup: pg.Client;
let slotCounter = 0;
const open: ReplicationStream[] = [];

beforeAll(async () => {
  server = await startTestPostgres();
  application = new pg.Client({ connectionString: server.connectionString });
  await application.connect();
  for (const table of TABLES) {
    await application.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, note text, big text)`);
  }
  await application.query("ALTER TABLE full_identity REPLICA IDENTITY FULL");
  await application.query("CREATE TABLE unpublished (id int8)");
  setup = await connectSession(server);
  await ensurePublication(
    setup,
    PUBLICATION,
    TABLES.map((table) => ({ schema: "public", table })),
  );
});

afterEach(async () => {
  for (const stream of open.splice(0)) await stream.close();
});

afterAll(async () => {
  await setup?.end();
  await application?.end();
  await server?.stop();
});

/** A fresh slot (so the test sees only its own changes) and a stream on it. */
async function freshStream(
  options: Partial<ReplicationStreamOptions> = {},
): Promise<{ slotName: string; stream: ReplicationStream }> {
  const slotName = `witnz_stream_${++slotCounter}`;
  await ensureReplicationSlot(setup, slotName);
  const stream = await openStream(slotName, options);
  return { slotName, stream };
}

async function openStream(
  slotName: string,
  options: Partial<ReplicationStreamOptions> = {},
): Promise<ReplicationStream> {
  const stream = await startReplicationStream({
    connection: server,
    slotName,
    publicationNames: [PUBLICATION],
    ...options,
  });
  open.push(stream);
  return stream;
}

async function confirmedFlush(slotName: string): Promise<Lsn | null> {
  return (await readReplicationSlot(setup, slotName))?.confirmedFlushLsn ?? null;
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const text = (value: string) => new TextEncoder().encode(value);

describe("replication stream", () => {
  test("a rolled-back transaction produces no events", async () => {
    const { stream } = await freshStream();
    await application.query("BEGIN");
    await application.query("INSERT INTO events VALUES (1, 'rolled back')");
    await application.query("ROLLBACK");
    await application.query("INSERT INTO events VALUES (2, 'committed')");
    const transaction = await readTransaction(stream);
    const inserts = transaction.messages.filter((message) => message.kind === "insert");
    expect(inserts).toHaveLength(1);
    expect(inserts[0]).toMatchObject({ newTuple: [text("2"), text("committed"), null] });
    expect(transaction.begin.commitLsn).toBe(transaction.commit.commitLsn);
    expect(transaction.commit.endLsn).toBeGreaterThan(transaction.commit.commitLsn);
  });

  test("a no-op UPDATE still produces an Update with the whole new row", async () => {
    const { stream } = await freshStream();
    await application.query("INSERT INTO events VALUES (10, 'same')");
    await application.query("UPDATE events SET note = note WHERE id = 10");
    const insert = await readTransaction(stream);
    const update = await readTransaction(stream);
    expect(insert.messages.map((message) => message.kind)).toEqual(["relation", "insert"]);
    expect(update.messages).toMatchObject([
      { kind: "update", oldKey: null, oldTuple: null, newTuple: [text("10"), text("same"), null] },
    ]);
    expect(update.begin.xid).not.toBe(insert.begin.xid);
  });

  test("an UPDATE that leaves a TOASTed value alone marks it unchanged", async () => {
    const { stream } = await freshStream();
    const large = "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 40000) i)";
    await application.query(`INSERT INTO events VALUES (20, 'before', ${large})`);
    await application.query("UPDATE events SET note = 'after' WHERE id = 20");
    await application.query("UPDATE events SET id = 21 WHERE id = 20");
    await application.query(`INSERT INTO full_identity VALUES (1, 'before', ${large})`);
    await application.query("UPDATE full_identity SET note = 'after' WHERE id = 1");
    await application.query("DELETE FROM full_identity WHERE id = 1");

    const inserted = (await readTransaction(stream)).messages.at(-1)!;
    expect(inserted.kind === "insert" && decodeText(inserted.newTuple[2]).length).toBe(1_280_000);
    const [update] = (await readTransaction(stream)).messages;
    expect(update).toMatchObject({
      kind: "update",
      oldKey: null,
      newTuple: [text("20"), text("after"), UNCHANGED_TOAST],
    });
    if (update?.kind !== "update") throw new Error("expected an update");
    expect(hasUnchangedToast(update.newTuple)).toBe(true);
    expect(() => tupleRowImage(update.relation, update.newTuple)).toThrow(/unchanged TOAST/);
    // A changed key sends the old key ('K'): key columns filled, the rest null.
    const [rekey] = (await readTransaction(stream)).messages;
    expect(rekey).toMatchObject({ kind: "update", oldKey: [text("20"), null, null] });

    await readTransaction(stream); // the insert into full_identity
    const [fullUpdate] = (await readTransaction(stream)).messages;
    if (fullUpdate?.kind !== "update") throw new Error("expected an update");
    expect(fullUpdate.relation.replicaIdentity).toBe("full");
    expect(fullUpdate.oldTuple?.slice(0, 2)).toEqual([text("1"), text("before")]);
    // Under REPLICA IDENTITY FULL the old row is sent whole, the TOASTed value included.
    expect(decodeText(fullUpdate.oldTuple?.[2]).length).toBe(1_280_000);
    const [fullDelete] = (await readTransaction(stream)).messages;
    expect(fullDelete).toMatchObject({ kind: "delete", oldKey: null });
    expect(fullDelete?.kind === "delete" && fullDelete.oldTuple?.[1]).toEqual(text("after"));
  });

  test("TRUNCATE is reported with its options", async () => {
    const { stream } = await freshStream();
    await application.query("INSERT INTO truncated VALUES (1)");
    await application.query("TRUNCATE truncated RESTART IDENTITY");
    await readTransaction(stream);
    const truncate = await readTransaction(stream);
    expect(truncate.messages.at(-1)).toMatchObject({
      kind: "truncate",
      cascade: false,
      restartIdentity: true,
      relations: [{ schema: "public", table: "truncated" }],
    });
  });

  test("a schema change arrives as a new Relation before the next row", async () => {
    const { stream } = await freshStream();
    await application.query("INSERT INTO evolving VALUES (1, 'a')");
    await application.query("ALTER TABLE evolving ADD COLUMN added int4 DEFAULT 7");
    await application.query("INSERT INTO evolving VALUES (2, 'b')");
    const first = await readTransaction(stream);
    const second = await readTransaction(stream);
    const before = first.messages[0];
    const after = second.messages[0];
    if (before?.kind !== "relation" || after?.kind !== "relation") {
      throw new Error("expected Relation messages");
    }
    expect(before.relation.columns.map((column) => column.name)).toEqual(["id", "note", "big"]);
    expect(after.relation.oid).toBe(before.relation.oid);
    expect(relationChanged(before.relation, after.relation)).toBe(true);
    expect(relationChanged(before.relation, { ...before.relation })).toBe(false);
    expect(after.relation.columns.map((column) => [column.name, column.typeOid])).toEqual([
      ["id", 20],
      ["note", 25],
      ["big", 25],
      ["added", 23],
    ]);
    expect(after.relation.columns[0]?.partOfKey).toBe(true);
    expect(second.messages[1]).toMatchObject({
      kind: "insert",
      newTuple: [text("2"), text("b"), null, text("7")],
    });
  });

  test("acknowledging moves confirmed_flush_lsn; unacknowledged transactions come again", async () => {
    const { slotName, stream } = await freshStream({ statusIntervalMs: 100 });
    await application.query("INSERT INTO events VALUES (30, 'durable')");
    const durable = await readTransaction(stream);
    stream.acknowledge(durable.commit.endLsn);
    await application.query("INSERT INTO events VALUES (31, 'not yet durable')");
    const pending = await readTransaction(stream);
    await waitUntil(async () => (await confirmedFlush(slotName)) === durable.commit.endLsn);
    // Let several status intervals pass: nothing may confirm the unacknowledged transaction.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const confirmed = await confirmedFlush(slotName);
    expect(confirmed).not.toBeNull();
    expect(confirmed!).toBeLessThanOrEqual(pending.commit.commitLsn);
    expect(stream.acknowledgedLsn).toBe(durable.commit.endLsn);
    await stream.close();

    const again = await openStream(slotName);
    const redelivered = await readTransaction(again);
    expect(redelivered.begin.xid).toBe(pending.begin.xid);
    expect(redelivered.commit.endLsn).toBe(pending.commit.endLsn);
    expect(redelivered.messages.at(-1)).toMatchObject({
      kind: "insert",
      newTuple: [text("31"), text("not yet durable"), null],
    });
  });

  test("acknowledgements never go backwards or past what was received", async () => {
    const { stream } = await freshStream();
    await application.query("INSERT INTO events VALUES (40, 'x')");
    const transaction = await readTransaction(stream);
    expect(() => stream.acknowledge((transaction.commit.endLsn + 1n) as Lsn)).toThrow(
      expect.objectContaining({ code: "WITNZ_POSTGRES_INVALID" }),
    );
    stream.acknowledge(transaction.commit.endLsn);
    expect(() => stream.acknowledge(transaction.begin.commitLsn)).toThrow(/never backwards/);
  });

  test("an idle slot's position follows the server's WAL once everything is acknowledged", async () => {
    const idle = await freshStream({ statusIntervalMs: 100 });
    const strict = await freshStream({ statusIntervalMs: 100, confirmIdleWal: false });
    const startStrict = await confirmedFlush(strict.slotName);
    await application.query("INSERT INTO unpublished SELECT generate_series(1, 1000)");
    const written = await application.query("SELECT pg_current_wal_lsn()::text AS lsn");
    const writtenLsn = parseLsn(written.rows[0].lsn);
    await waitUntil(async () => ((await confirmedFlush(idle.slotName)) ?? 0n) >= writtenLsn);
    expect(await confirmedFlush(strict.slotName)).toBe(startStrict);
  });

  test("a transaction larger than the queue bound arrives whole through a paused socket", async () => {
    const { stream } = await freshStream({ queueBytesMax: 16 * 1024 });
    await application.query(
      "INSERT INTO bulk SELECT i, repeat(chr(97 + i % 26), 100) FROM generate_series(1, 20000) i",
    );
    const transaction = await readTransaction(stream);
    const inserts = transaction.messages.filter((message) => message.kind === "insert");
    expect(inserts).toHaveLength(20_000);
    expect(inserts.at(-1)).toMatchObject({
      newTuple: [text("20000"), text("g".repeat(100)), null],
    });
    // Every row's values are intact once all of them arrived (each message is its own copy).
    const wrong = inserts.filter(
      (insert, index) =>
        decodeText(insert.newTuple[0]) !== String(index + 1) ||
        decodeText(insert.newTuple[1]) !== String.fromCharCode(97 + ((index + 1) % 26)).repeat(100),
    );
    expect(wrong).toEqual([]);
  });

  test("take() hands over queued messages without waiting, in stream order with next()", async () => {
    const { stream } = await freshStream();
    expect(stream.take()).toBeUndefined();
    await application.query("INSERT INTO events SELECT i, 'taken' FROM generate_series(50, 52) i");
    expect(await nextWithin(stream)).toMatchObject({ kind: "begin" });
    const taken: string[] = [];
    for (;;) {
      const message = stream.take() ?? (await nextWithin(stream));
      taken.push(message.kind);
      if (message.kind === "commit") break;
    }
    expect(taken.filter((kind) => kind !== "relation")).toEqual([
      "insert",
      "insert",
      "insert",
      "commit",
    ]);
    expect(stream.take()).toBeUndefined();
    expect(stream.queuedMessages).toBe(0);
  });

  test("starting on a missing slot, and a stream the server ends, fail with a PostgresError", async () => {
    await expect(openStream("witnz_missing")).rejects.toMatchObject({
      code: "WITNZ_POSTGRES_REPLICATION",
    });
    const { slotName, stream } = await freshStream();
    const slot = await readReplicationSlot(setup, slotName);
    expect(slot?.active).toBe(true);
    await setup.query("SELECT pg_terminate_backend($1)", [slot?.activeProcessId]);
    await expect(nextWithin(stream)).rejects.toMatchObject({ code: "WITNZ_POSTGRES_REPLICATION" });
    await waitUntil(async () => (await readReplicationSlot(setup, slotName))?.active === false);
    expect(await dropReplicationSlot(setup, slotName)).toBe(true);
    expect(await readReplicationSlot(setup, slotName)).toBeUndefined();
  });

  test("publication and slot setup is idempotent and checks what exists", async () => {
    const tables = TABLES.map((table) => ({ schema: "public", table }));
    expect(await ensurePublication(setup, PUBLICATION, tables)).toEqual({
      created: false,
      changed: false,
    });
    const first = await ensureReplicationSlot(setup, "witnz_idempotent");
    const second = await ensureReplicationSlot(setup, "witnz_idempotent");
    expect([first.created, second.created]).toEqual([true, false]);
    expect(second.slot).toMatchObject({ plugin: "pgoutput", slotType: "logical", active: false });
    await setup.query("SELECT pg_create_physical_replication_slot('witnz_physical')");
    await expect(ensureReplicationSlot(setup, "witnz_physical")).rejects.toMatchObject({
      code: "WITNZ_POSTGRES_SERVER_CONFIG",
    });
  });
});
