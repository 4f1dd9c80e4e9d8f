// The assembler numbers a transaction's changes by its data messages only, so a transaction
// resumed in a new session (which sends Relation messages again, raising changes only for layouts
// the store lacks) numbers them as the first session did, and the ingester resumes it exactly.
import { describe, expect, test } from "vitest";
import {
  CAPTURE_PROGRESS_META,
  CaptureProgressError,
  type Change,
  fromRelation,
  Ingester,
  TransactionAssembler,
} from "../../src/capture/index.js";
import { type TableLayout, tableLayoutMetaName } from "../../src/catalog/index.js";
import { generateEd25519KeyPair } from "../../src/crypto/index.js";
import { encodePrimaryKey } from "../../src/hash/index.js";
import { type PgoutputMessage, type Relation, toLsn } from "../../src/postgres/index.js";
import { openMemoryStore, type WitnzStore } from "../../src/store/index.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

function relation(columns: readonly string[], table = "ledger", oid = 16_500): Relation {
  return {
    oid,
    schema: "public",
    table,
    replicaIdentity: "default",
    columns: columns.map((name, index) => ({
      name,
      typeOid: 25,
      typeModifier: -1,
      partOfKey: index === 0,
      flags: index === 0 ? 1 : 0,
    })),
  };
}

const commitLsn = toLsn(0x1000n);
const begin: PgoutputMessage = {
  kind: "begin",
  commitLsn,
  commitTimeUnixMicroseconds: 1n,
  xid: 7,
};
const insert = (shape: Relation, id: number): PgoutputMessage => ({
  kind: "insert",
  relation: shape,
  newTuple: shape.columns.map((column) => utf8(`${column.name}-${id}`)),
});
const update = (shape: Relation, id: number): PgoutputMessage => ({
  kind: "update",
  relation: shape,
  oldKey: null,
  oldTuple: null,
  newTuple: shape.columns.map((column) => utf8(`${column.name}-${id}`)),
});

/** Every change the messages raise, as (kind, index). */
function positions(
  messages: readonly PgoutputMessage[],
  known: TableLayout | undefined,
): { changes: Change[]; summary: string[] } {
  const assembler = new TransactionAssembler({
    tableName: (shape) => `${shape.schema}.${shape.table}`,
    knownLayout: () => known,
  });
  const changes: Change[] = [];
  for (const message of messages) {
    const event = assembler.push(message);
    if (event?.kind === "changes") changes.push(...event.changes);
  }
  const summary = changes.map(
    (change) =>
      `${change.kind === "violation" ? change.violation : change.kind} ${change.position.index}`,
  );
  return { changes, summary };
}

describe("TransactionAssembler positions", () => {
  test("a layout learned in the transaction takes the index of the data message after it", () => {
    const shape = relation(["id", "note"]);
    const messages = [begin, { kind: "relation", relation: shape } as const, insert(shape, 1)];
    messages.push(insert(shape, 2), insert(shape, 3));
    const first = positions(messages, undefined);
    expect(first.summary).toEqual(["layout 0", "insert 0", "insert 1", "insert 2"]);
    expect(first.changes.map(fromRelation)).toEqual([true, false, false, false]);

    // Resumed after the layout was recorded: the Relation message raises nothing, and the inserts
    // keep their indexes, so "2 changes done" still means the first two inserts.
    const layout = first.changes[0]!.kind === "layout" ? first.changes[0]!.layout : undefined;
    expect(positions(messages, layout).summary).toEqual(["insert 0", "insert 1", "insert 2"]);
  });

  test("a schema change shares its index with the data message after it", () => {
    const before = relation(["id", "note"]);
    const after = relation(["id", "note", "extra"]);
    const known = positions(
      [begin, { kind: "relation", relation: before }, insert(before, 1)],
      undefined,
    ).changes[0]!;
    const layout = known.kind === "layout" ? known.layout : undefined;
    const messages: PgoutputMessage[] = [
      begin,
      insert(before, 1),
      { kind: "relation", relation: after },
      update(after, 1),
    ];
    const { summary, changes } = positions(messages, layout);
    expect(summary).toEqual(["insert 0", "layout 1", "schema_change 1", "update 1"]);
    expect(changes.map(fromRelation)).toEqual([false, true, true, false]);
  });
});

describe("a transaction resumed after a crash", () => {
  const keys = generateEd25519KeyPair();
  const lsnA = toLsn(0x1000n);
  const lsnB = toLsn(0x2000n);
  const older = relation(["id", "note"]);
  const newer = relation(["id", "note", "extra"]);
  const beginOf = (commitLsn: bigint, xid: number): PgoutputMessage => ({
    kind: "begin",
    commitLsn: toLsn(commitLsn),
    commitTimeUnixMicroseconds: 1n,
    xid,
  });
  const commitOf = (commitLsn: bigint): PgoutputMessage => ({
    kind: "commit",
    flags: 0,
    commitLsn: toLsn(commitLsn),
    endLsn: toLsn(commitLsn + 0x10n),
    commitTimeUnixMicroseconds: 1n,
  });

  /** Feeds messages through a fresh assembler and ingester, committing as the runner does. */
  async function session(
    store: WitnzStore,
    messages: readonly PgoutputMessage[],
    violations: string[],
  ): Promise<void> {
    let clock = 1_000n;
    const ingester = new Ingester({
      store,
      signer: { name: "witnz.test/node", privateKey: keys.privateKey },
      clusterOrigin: "witnz.test/c",
      nowUnixMicroseconds: () => {
        clock += 1n;
        return clock;
      },
      stageViolation: (_batch, violation) => {
        violations.push(`${violation.change.violation} ${violation.change.position.index}`);
      },
      batchChangesMax: 2,
    });
    const assembler = new TransactionAssembler({
      tableName: (shape) => `${shape.schema}.${shape.table}`,
      knownLayout: (table) => ingester.layout(table),
    });
    for (const message of messages) {
      const event = assembler.push(message);
      if (event === undefined) continue;
      if (event.kind !== "commit" && ingester.full) await ingester.commit();
      if (ingester.stage(event)) await ingester.commit();
    }
    await ingester.commit();
  }

  test("an ALTER in its middle is recorded once, and its rows once each", async () => {
    const store = await openMemoryStore();
    const violations: string[] = [];
    // Transaction A teaches the older layout. Transaction B inserts, alters the table and
    // inserts again; the schema change is committed at once, then the node dies.
    const transactionA = [beginOf(lsnA, 1), { kind: "relation", relation: older } as const];
    transactionA.push(insert(older, 1), commitOf(lsnA));
    const transactionB = [beginOf(lsnB, 2), insert(older, 2)];
    await session(
      store,
      [...transactionA, ...transactionB, { kind: "relation", relation: newer }],
      violations,
    );
    expect(violations).toEqual(["schema_change 1"]);
    expect(store.chainHead("public.ledger")?.size).toBe(2);

    // The stream resumes at A's end and resends B whole, with the Relation message it sends
    // first in a session (the older columns, as B began) before the newer one.
    await session(
      store,
      [
        ...transactionB.slice(0, 1),
        { kind: "relation", relation: older },
        ...transactionB.slice(1),
        { kind: "relation", relation: newer },
        insert(newer, 3),
        commitOf(lsnB),
      ],
      violations,
    );
    expect(violations).toEqual(["schema_change 1"]);
    expect(store.chainHead("public.ledger")?.size).toBe(3);
    expect(store.chainEntry("public.ledger", 3)?.primaryKey).toEqual(
      new Uint8Array(encodePrimaryKey(["id-3"])),
    );
  });

  test("ALTERs of two tables before a TRUNCATE of both: each schema change is recorded once", async () => {
    const store = await openMemoryStore();
    const violations: string[] = [];
    const oldA = relation(["id", "note"], "a", 16_601);
    const oldB = relation(["id", "note"], "b", 16_602);
    const newA = relation(["id", "note", "extra"], "a", 16_601);
    const newB = relation(["id", "note", "extra"], "b", 16_602);
    const truncate: PgoutputMessage = {
      kind: "truncate",
      relations: [newA, newB],
      cascade: false,
      restartIdentity: false,
    };
    const transactionA: PgoutputMessage[] = [beginOf(lsnA, 1)];
    transactionA.push({ kind: "relation", relation: oldA }, insert(oldA, 1));
    transactionA.push({ kind: "relation", relation: oldB }, insert(oldB, 1), commitOf(lsnA));
    // B alters a and b, then truncates both: pgoutput sends both Relation messages before the
    // Truncate. a's schema change is committed at once; the node dies before b's.
    await session(
      store,
      [...transactionA, beginOf(lsnB, 2), { kind: "relation", relation: newA }],
      violations,
    );
    expect(violations).toEqual(["schema_change 0"]);
    // Resumed: the store knows a's new layout, so a's Relation raises nothing; b's raises its
    // change at the same index, which was never recorded.
    const resumed: PgoutputMessage[] = [beginOf(lsnB, 2), { kind: "relation", relation: newA }];
    resumed.push({ kind: "relation", relation: newB }, truncate, commitOf(lsnB));
    const again: string[] = [];
    await session(store, resumed, again);
    expect(again).toEqual(["schema_change 0", "truncate 0", "truncate 1"]);
    expect(store.meta(tableLayoutMetaName("public.b"))).toBeDefined();
  });

  test("progress written by an earlier build is refused, not misread", async () => {
    const store = await openMemoryStore();
    const batch = store.batch();
    batch.setMeta(
      CAPTURE_PROGRESS_META,
      utf8(JSON.stringify({ commitLsn: "8192", changesDone: 3 })),
    );
    await store.commit(batch);
    await expect(session(store, [], [])).rejects.toThrow(CaptureProgressError);
    await expect(session(store, [], [])).rejects.toThrow(/middle of a transaction \("8192"\)/);
  });
});
