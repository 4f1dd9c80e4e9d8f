// The assembler numbers a transaction's changes by its data messages only, so a transaction
// resumed in a new session (which sends Relation messages again, raising changes only for layouts
// the store lacks) numbers them as the first session did.
import { describe, expect, test } from "vitest";
import { type Change, fromRelation, TransactionAssembler } from "../../src/capture/index.js";
import type { TableLayout } from "../../src/catalog/index.js";
import { type PgoutputMessage, type Relation, toLsn } from "../../src/postgres/index.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

function relation(columns: readonly string[]): Relation {
  return {
    oid: 16_500,
    schema: "public",
    table: "ledger",
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
