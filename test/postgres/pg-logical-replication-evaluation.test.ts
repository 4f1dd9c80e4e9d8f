// Why capture decodes pgoutput itself instead of through pg-logical-replication's PgoutputPlugin:
// the same messages, through both decoders. The design note (docs/design/postgres.md) cites this.

import { PgoutputPlugin } from "pg-logical-replication";
import { describe, expect, test } from "vitest";
import { PgoutputDecoder, UNCHANGED_TOAST } from "../../src/postgres/pgoutput.js";
import { Bytes } from "./protocol-bytes.js";

const RELATION_OID = 0x8000_0001; // relation OIDs above 2^31 occur on long-lived clusters
const XID = 0x9000_0000;
const COLUMNS: [string, number][] = [
  ["stamp_zone", 1184], // timestamptz
  ["real8", 701], // float8
  ["document", 114], // json
  ["payload", 17], // bytea
  ["flag", 16], // bool
  ["large", 25], // text
];
const VALUES = ["2026-11-23 08:00:00.123456+00", "-0", '{"dup":1, "dup":2}', "\\x00ff", "t"];

function relation(): Buffer {
  const message = new Bytes().byte("R").int32(RELATION_OID).string("public").string("t").byte("f");
  message.int16(COLUMNS.length);
  for (const [name, type] of COLUMNS) message.byte(0).string(name).int32(type).int32(-1);
  return Buffer.from(message.done());
}

function update(): Buffer {
  const message = new Bytes().byte("U").int32(RELATION_OID).byte("O").int16(COLUMNS.length);
  for (const value of VALUES) message.text(value);
  message.text("old large value").byte("N").int16(COLUMNS.length);
  for (const value of VALUES) message.text(value);
  message.byte("u"); // the TOASTed column did not change and is not sent
  return Buffer.from(message.done());
}

const begin = () => Buffer.from(new Bytes().byte("B").int64(16n).int64(0n).int32(XID).done());

describe("pg-logical-replication 2.5.0 PgoutputPlugin, compared", () => {
  const library = new PgoutputPlugin({ protoVersion: 1, publicationNames: ["witnz"] });

  test("it parses values into JavaScript types, losing PostgreSQL's text", () => {
    library.parse(relation());
    const parsed = library.parse(update()) as { new: Record<string, unknown> };
    expect(parsed.new.stamp_zone).toBeInstanceOf(Date); // microseconds .000456 are gone
    expect((parsed.new.stamp_zone as Date).toISOString()).toBe("2026-11-23T08:00:00.123Z");
    expect(Object.is(parsed.new.real8, -0)).toBe(true); // a number; "-0" has to be re-rendered
    expect(parsed.new.document).toEqual({ dup: 2 }); // json text, spacing and duplicate key lost
    expect(Buffer.isBuffer(parsed.new.payload)).toBe(true); // bytea's \x text form is gone
    expect(parsed.new.flag).toBe(true);
  });

  test("it turns an unchanged TOAST marker into the old row's value", () => {
    library.parse(relation());
    const parsed = library.parse(update()) as { new: Record<string, unknown> };
    // The new row claims a value the server never sent for it.
    expect(parsed.new.large).toBe("old large value");
  });

  test("it reads OIDs and transaction ids as signed 32-bit numbers", () => {
    const relationMessage = library.parse(relation()) as { relationOid: number };
    expect(relationMessage.relationOid).toBe(RELATION_OID - 2 ** 32);
    expect((library.parse(begin()) as { xid: number }).xid).toBe(XID - 2 ** 32);
  });

  test("our decoder keeps the exact bytes, the marker, and unsigned numbers", () => {
    const decoder = new PgoutputDecoder();
    const relationMessage = decoder.decode(relation());
    expect(relationMessage.kind === "relation" && relationMessage.relation.oid).toBe(RELATION_OID);
    expect(decoder.decode(begin())).toMatchObject({ xid: XID });
    const decoded = decoder.decode(update());
    if (decoded.kind !== "update") throw new Error("expected an update");
    const text = (value: unknown) => new TextDecoder().decode(value as Uint8Array);
    expect(decoded.newTuple.slice(0, 5).map(text)).toEqual(VALUES);
    expect(decoded.newTuple[5]).toBe(UNCHANGED_TOAST);
    expect(text(decoded.oldTuple?.[5])).toBe("old large value");
  });
});
