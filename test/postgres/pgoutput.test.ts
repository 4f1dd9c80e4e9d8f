import { describe, expect, test } from "vitest";
import { formatLsn, parseLsn, toLsn } from "../../src/postgres/lsn.js";
import { PgoutputDecoder, UNCHANGED_TOAST } from "../../src/postgres/pgoutput.js";
import {
  decodeServerCopyMessage,
  encodeStandbyStatus,
  POSTGRES_EPOCH_UNIX_MICROSECONDS,
} from "../../src/postgres/replication-protocol.js";
import { Bytes } from "./protocol-bytes.js";

const OID = 0x8000_0001; // above 2^31: must stay unsigned
const text = (value: string) => new TextEncoder().encode(value);

function relationMessage(columns: [string, number, boolean][]): Uint8Array {
  const message = new Bytes().byte("R").int32(OID).string("Audit").string("Log Entries").byte("f");
  message.int16(columns.length);
  for (const [name, type, key] of columns)
    message
      .byte(key ? 1 : 0)
      .string(name)
      .int32(type)
      .int32(-1);
  return message.done();
}

describe("pgoutput decoder", () => {
  test("a transaction with a relation, insert, update, delete and truncate", () => {
    const decoder = new PgoutputDecoder();
    const commitTime = 1_000_000n; // one second after 2000-01-01
    expect(
      decoder.decode(
        new Bytes().byte("B").int64(0x1_0000_0010n).int64(commitTime).int32(0xffff_fff0).done(),
      ),
    ).toEqual({
      kind: "begin",
      commitLsn: 0x1_0000_0010n,
      commitTimeUnixMicroseconds: commitTime + POSTGRES_EPOCH_UNIX_MICROSECONDS,
      xid: 0xffff_fff0,
    });
    const relation = decoder.decode(
      relationMessage([
        ["id", 20, true],
        ["Note", 25, false],
        ["big", 25, false],
      ]),
    );
    expect(relation).toEqual({
      kind: "relation",
      relation: {
        oid: OID,
        schema: "Audit",
        table: "Log Entries",
        replicaIdentity: "full",
        columns: [
          { name: "id", typeOid: 20, typeModifier: -1, partOfKey: true, flags: 1 },
          { name: "Note", typeOid: 25, typeModifier: -1, partOfKey: false, flags: 0 },
          { name: "big", typeOid: 25, typeModifier: -1, partOfKey: false, flags: 0 },
        ],
      },
    });
    const insert = decoder.decode(
      new Bytes().byte("I").int32(OID).byte("N").int16(3).text("1").text("é\t🙂").byte("n").done(),
    );
    expect(insert).toMatchObject({ kind: "insert", newTuple: [text("1"), text("é\t🙂"), null] });

    const update = decoder.decode(
      new Bytes()
        .byte("U")
        .int32(OID)
        .byte("O")
        .int16(3)
        .text("1")
        .text("a")
        .text("b")
        .byte("N")
        .int16(3)
        .text("1")
        .text("c")
        .byte("u")
        .done(),
    );
    expect(update).toMatchObject({
      kind: "update",
      oldKey: null,
      oldTuple: [text("1"), text("a"), text("b")],
      newTuple: [text("1"), text("c"), UNCHANGED_TOAST],
    });
    const plainUpdate = decoder.decode(
      new Bytes().byte("U").int32(OID).byte("N").int16(3).text("1").text("c").byte("n").done(),
    );
    expect(plainUpdate).toMatchObject({ oldKey: null, oldTuple: null });
    const keyUpdate = decoder.decode(
      new Bytes()
        .byte("U")
        .int32(OID)
        .byte("K")
        .int16(3)
        .text("1")
        .byte("n")
        .byte("n")
        .byte("N")
        .int16(3)
        .text("2")
        .text("c")
        .byte("n")
        .done(),
    );
    expect(keyUpdate).toMatchObject({ oldKey: [text("1"), null, null], oldTuple: null });
    const remove = decoder.decode(
      new Bytes().byte("D").int32(OID).byte("K").int16(3).text("2").byte("n").byte("n").done(),
    );
    expect(remove).toMatchObject({
      kind: "delete",
      oldKey: [text("2"), null, null],
      oldTuple: null,
    });
    const truncate = decoder.decode(new Bytes().byte("T").int32(1).byte(3).int32(OID).done());
    expect(truncate).toMatchObject({ kind: "truncate", cascade: true, restartIdentity: true });
    expect(
      decoder.decode(new Bytes().byte("C").byte(0).int64(16n).int64(40n).int64(commitTime).done()),
    ).toEqual({
      kind: "commit",
      flags: 0,
      commitLsn: 16n,
      endLsn: 40n,
      commitTimeUnixMicroseconds: commitTime + POSTGRES_EPOCH_UNIX_MICROSECONDS,
    });
  });

  test("type, origin and logical decoding messages", () => {
    const decoder = new PgoutputDecoder();
    expect(
      decoder.decode(new Bytes().byte("Y").int32(90_000).string("public").string("mood").done()),
    ).toEqual({ kind: "type", typeOid: 90_000, schema: "public", name: "mood" });
    expect(decoder.decode(new Bytes().byte("O").int64(5n).string("upstream").done())).toEqual({
      kind: "origin",
      originLsn: 5n,
      name: "upstream",
    });
    expect(
      decoder.decode(
        new Bytes().byte("M").byte(1).int64(7n).string("p").int32(2).byte(1).byte(2).done(),
      ),
    ).toEqual({
      kind: "message",
      transactional: true,
      lsn: 7n,
      prefix: "p",
      content: Uint8Array.of(1, 2),
    });
  });

  test("malformed messages are refused with WITNZ_POSTGRES_PROTOCOL", () => {
    const decoder = new PgoutputDecoder();
    const refuse = (bytes: Uint8Array, pattern: RegExp) =>
      expect(() => decoder.decode(bytes)).toThrow(
        expect.objectContaining({
          code: "WITNZ_POSTGRES_PROTOCOL",
          message: expect.stringMatching(pattern),
        }),
      );
    refuse(new Bytes().byte("Z").done(), /unknown message tag/);
    refuse(new Bytes().byte("I").int32(OID).byte("N").int16(0).done(), /before its Relation/);
    decoder.decode(relationMessage([["id", 20, true]]));
    refuse(
      new Bytes().byte("I").int32(OID).byte("N").int16(2).text("1").text("2").done(),
      /has 2 columns/,
    );
    refuse(
      new Bytes().byte("I").int32(OID).byte("N").int16(1).byte("b").int32(1).byte(1).done(),
      /binary/,
    );
    refuse(
      new Bytes().byte("I").int32(OID).byte("N").int16(1).byte("t").int32(9).done(),
      /ends inside/,
    );
    refuse(
      new Bytes().byte("B").int64(1n).int64(1n).int32(1).byte(0).done(),
      /bytes after the end/,
    );
  });
});

describe("streaming replication messages", () => {
  test("XLogData and keepalive decode; a status update encodes", () => {
    const wal = new Bytes().byte("w").int64(100n).int64(200n).int64(0n).byte("B").done();
    expect(decodeServerCopyMessage(wal)).toMatchObject({
      kind: "wal-data",
      walStart: 100n,
      walEnd: 200n,
      sendTimeUnixMicroseconds: POSTGRES_EPOCH_UNIX_MICROSECONDS,
      payload: Uint8Array.of(0x42),
    });
    const keepalive = new Bytes().byte("k").int64(300n).int64(1n).byte(1).done();
    expect(decodeServerCopyMessage(keepalive)).toMatchObject({
      kind: "keepalive",
      walEnd: 300n,
      replyRequested: true,
    });
    const status = encodeStandbyStatus({
      written: toLsn(1n),
      flushed: toLsn(2n),
      applied: toLsn(3n),
      nowUnixMicroseconds: POSTGRES_EPOCH_UNIX_MICROSECONDS + 5n,
      replyRequested: true,
    });
    expect(status).toEqual(
      new Bytes().byte("r").int64(1n).int64(2n).int64(3n).int64(5n).byte(1).done(),
    );
    expect(() => decodeServerCopyMessage(Uint8Array.of(0x78))).toThrow(/unexpected replication/);
  });

  test("LSN text round trip", () => {
    expect(formatLsn(parseLsn("16/B374D848"))).toBe("16/B374D848");
    expect(parseLsn("0/0169A2F8")).toBe(0x0169a2f8n);
    expect(formatLsn(toLsn(0x1_0000_0000n))).toBe("1/0");
    expect(() => parseLsn("16-B3")).toThrow(
      expect.objectContaining({ code: "WITNZ_POSTGRES_INVALID" }),
    );
  });
});

describe("design note test vectors (docs/design/postgres.md)", () => {
  const hex = (value: string) => Uint8Array.from(Buffer.from(value, "hex"));
  const text = (value: string) => new TextEncoder().encode(value);

  test("pgoutput Relation, Insert and Update", () => {
    const decoder = new PgoutputDecoder();
    expect(
      decoder.decode(
        hex(
          "52000040017075626c69630074006400020169640000000014ffffffff006e6f74650000000019ffffffff",
        ),
      ),
    ).toEqual({
      kind: "relation",
      relation: {
        oid: 16385,
        schema: "public",
        table: "t",
        replicaIdentity: "default",
        columns: [
          { name: "id", typeOid: 20, typeModifier: -1, partOfKey: true, flags: 1 },
          { name: "note", typeOid: 25, typeModifier: -1, partOfKey: false, flags: 0 },
        ],
      },
    });
    expect(decoder.decode(hex("49000040014e00027400000001316e"))).toMatchObject({
      kind: "insert",
      newTuple: [text("1"), null],
    });
    expect(decoder.decode(hex("55000040014e000274000000013175"))).toMatchObject({
      kind: "update",
      oldKey: null,
      oldTuple: null,
      newTuple: [text("1"), UNCHANGED_TOAST],
    });
  });
});
