// A decoder for pgoutput, PostgreSQL's built-in logical decoding output plugin, protocol
// version 1 (the layout every later version keeps when streaming and two-phase are off).
// Pure: bytes in, messages out. Column values stay the exact bytes the server's output function
// produced; nothing is parsed into JavaScript types, so they hash the same as COPY's text.
// Reference: PostgreSQL documentation, "Logical Replication Message Formats".

import { PostgresError } from "./errors.js";
import { type Lsn, toLsn } from "./lsn.js";
import { POSTGRES_EPOCH_UNIX_MICROSECONDS } from "./replication-protocol.js";

/** Marks a TOASTed column that an UPDATE did not change: pgoutput does not send its value. */
export const UNCHANGED_TOAST: unique symbol = Symbol("unchanged TOAST value");
export type UnchangedToast = typeof UNCHANGED_TOAST;

/** A column value: its text output bytes (UTF-8), SQL NULL, or the unchanged-TOAST marker. */
export type TupleValue = Uint8Array | null | UnchangedToast;
/** Values in the relation's column order (attnum order, dropped columns left out). */
export type Tuple = readonly TupleValue[];

export type ReplicaIdentity = "default" | "nothing" | "full" | "index";

export interface RelationColumn {
  readonly name: string;
  readonly typeOid: number;
  /** atttypmod: e.g. varchar(50) -> 54, numeric(40,20) -> (40 << 16 | 20) + 4; -1 when none. */
  readonly typeModifier: number;
  /** Part of the replica identity key (flag bit 1). */
  readonly partOfKey: boolean;
  /** The raw flags byte, in case later versions add bits. */
  readonly flags: number;
}

export interface Relation {
  readonly oid: number;
  /** Unquoted schema name; pgoutput sends the empty string for pg_catalog. */
  readonly schema: string;
  /** Unquoted table name. */
  readonly table: string;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly RelationColumn[];
}

export type PgoutputMessage =
  | {
      readonly kind: "begin";
      /** LSN of the transaction's commit record. */
      readonly commitLsn: Lsn;
      readonly commitTimeUnixMicroseconds: bigint;
      readonly xid: number;
    }
  | {
      readonly kind: "commit";
      readonly flags: number;
      readonly commitLsn: Lsn;
      /** End of the commit record: the position to acknowledge once the transaction is durable. */
      readonly endLsn: Lsn;
      readonly commitTimeUnixMicroseconds: bigint;
    }
  | { readonly kind: "origin"; readonly originLsn: Lsn; readonly name: string }
  | { readonly kind: "relation"; readonly relation: Relation }
  | {
      readonly kind: "type";
      readonly typeOid: number;
      readonly schema: string;
      readonly name: string;
    }
  | { readonly kind: "insert"; readonly relation: Relation; readonly newTuple: Tuple }
  | {
      readonly kind: "update";
      readonly relation: Relation;
      /** Old values of the replica identity key columns ('K'), when the key changed. */
      readonly oldKey: Tuple | null;
      /** The whole old row ('O'), under REPLICA IDENTITY FULL. */
      readonly oldTuple: Tuple | null;
      readonly newTuple: Tuple;
    }
  | {
      readonly kind: "delete";
      readonly relation: Relation;
      readonly oldKey: Tuple | null;
      readonly oldTuple: Tuple | null;
    }
  | {
      readonly kind: "truncate";
      readonly relations: readonly Relation[];
      readonly cascade: boolean;
      readonly restartIdentity: boolean;
    }
  | {
      readonly kind: "message";
      readonly transactional: boolean;
      readonly lsn: Lsn;
      readonly prefix: string;
      readonly content: Uint8Array;
    };

/** Relations remembered at once; a publication over more tables than this is refused. */
export const RELATIONS_MAX = 100_000;

const REPLICA_IDENTITIES: Readonly<Record<number, ReplicaIdentity>> = {
  100: "default", // 'd'
  110: "nothing", // 'n'
  102: "full", // 'f'
  105: "index", // 'i'
};

const names = new TextDecoder("utf-8", { fatal: true });

function malformed(message: string): PostgresError {
  return new PostgresError("WITNZ_POSTGRES_PROTOCOL", `pgoutput: ${message}`);
}

class Reader {
  private offset = 0;
  private readonly data: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(count: number, what: string): void {
    if (this.offset + count > this.bytes.length) {
      throw malformed(`message ends inside ${what} (byte ${this.offset} of ${this.bytes.length})`);
    }
  }
  byte(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }
  int16(what: string): number {
    this.need(2, what);
    const value = this.data.getInt16(this.offset);
    this.offset += 2;
    return value;
  }
  int32(what: string): number {
    this.need(4, what);
    const value = this.data.getInt32(this.offset);
    this.offset += 4;
    return value;
  }
  uint32(what: string): number {
    this.need(4, what);
    const value = this.data.getUint32(this.offset);
    this.offset += 4;
    return value;
  }
  lsn(what: string): Lsn {
    this.need(8, what);
    const value = this.data.getBigUint64(this.offset);
    this.offset += 8;
    return toLsn(value);
  }
  timestamp(what: string): bigint {
    this.need(8, what);
    const value = this.data.getBigInt64(this.offset);
    this.offset += 8;
    return value + POSTGRES_EPOCH_UNIX_MICROSECONDS;
  }
  string(what: string): string {
    const end = this.bytes.indexOf(0, this.offset);
    if (end < 0) throw malformed(`${what} has no terminating zero byte`);
    let text: string;
    try {
      text = names.decode(this.bytes.subarray(this.offset, end));
    } catch {
      throw malformed(`${what} is not valid UTF-8`);
    }
    this.offset = end + 1;
    return text;
  }
  take(count: number, what: string): Uint8Array {
    if (count < 0) throw malformed(`${what} has negative length ${count}`);
    this.need(count, what);
    const value = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return value;
  }
  end(what: string): void {
    if (this.offset !== this.bytes.length) {
      throw malformed(`${this.bytes.length - this.offset} bytes after the end of ${what}`);
    }
  }
}

/**
 * Decodes pgoutput messages in stream order. It keeps the Relation messages it has seen,
 * because row messages name their table only by OID.
 */
export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>();

  /** Decodes one message. Values are views into `bytes`; the caller must not reuse it. */
  decode(bytes: Uint8Array): PgoutputMessage {
    const reader = new Reader(bytes);
    const tag = reader.byte("message tag");
    const message = this.decodeBody(tag, reader);
    reader.end(message.kind);
    return message;
  }

  /** The latest Relation message for an OID, if any. */
  relation(oid: number): Relation | undefined {
    return this.relations.get(oid);
  }

  private decodeBody(tag: number, reader: Reader): PgoutputMessage {
    switch (tag) {
      case 0x42: // 'B'
        return {
          kind: "begin",
          commitLsn: reader.lsn("begin final LSN"),
          commitTimeUnixMicroseconds: reader.timestamp("begin commit time"),
          xid: reader.uint32("begin xid"),
        };
      case 0x43: // 'C'
        return {
          kind: "commit",
          flags: reader.byte("commit flags"),
          commitLsn: reader.lsn("commit LSN"),
          endLsn: reader.lsn("commit end LSN"),
          commitTimeUnixMicroseconds: reader.timestamp("commit time"),
        };
      case 0x4f: // 'O'
        return {
          kind: "origin",
          originLsn: reader.lsn("origin LSN"),
          name: reader.string("origin name"),
        };
      case 0x52: // 'R'
        return { kind: "relation", relation: this.decodeRelation(reader) };
      case 0x59: // 'Y'
        return {
          kind: "type",
          typeOid: reader.uint32("type OID"),
          schema: reader.string("type schema"),
          name: reader.string("type name"),
        };
      case 0x49: {
        // 'I'
        const relation = this.knownRelation(reader.uint32("insert relation OID"));
        expectByte(reader, 0x4e, "insert new tuple marker 'N'");
        return { kind: "insert", relation, newTuple: decodeTuple(reader, relation) };
      }
      case 0x55: {
        // 'U'
        const relation = this.knownRelation(reader.uint32("update relation OID"));
        let oldKey: Tuple | null = null;
        let oldTuple: Tuple | null = null;
        let marker = reader.byte("update tuple marker");
        if (marker === 0x4b) oldKey = decodeTuple(reader, relation);
        else if (marker === 0x4f) oldTuple = decodeTuple(reader, relation);
        if (marker !== 0x4e) marker = reader.byte("update new tuple marker");
        if (marker !== 0x4e) throw malformed(`update has tuple marker ${marker}, expected 'N'`);
        return {
          kind: "update",
          relation,
          oldKey,
          oldTuple,
          newTuple: decodeTuple(reader, relation),
        };
      }
      case 0x44: {
        // 'D'
        const relation = this.knownRelation(reader.uint32("delete relation OID"));
        const marker = reader.byte("delete tuple marker");
        if (marker !== 0x4b && marker !== 0x4f) {
          throw malformed(`delete has tuple marker ${marker}, expected 'K' or 'O'`);
        }
        const tuple = decodeTuple(reader, relation);
        return {
          kind: "delete",
          relation,
          oldKey: marker === 0x4b ? tuple : null,
          oldTuple: marker === 0x4f ? tuple : null,
        };
      }
      case 0x54: {
        // 'T'
        const count = reader.uint32("truncate relation count");
        const options = reader.byte("truncate options");
        const relations: Relation[] = [];
        for (let index = 0; index < count; index++) {
          relations.push(this.knownRelation(reader.uint32("truncate relation OID")));
        }
        return {
          kind: "truncate",
          relations,
          cascade: (options & 1) !== 0,
          restartIdentity: (options & 2) !== 0,
        };
      }
      case 0x4d: {
        // 'M'
        const flags = reader.byte("message flags");
        const lsn = reader.lsn("message LSN");
        const prefix = reader.string("message prefix");
        const content = reader.take(reader.uint32("message length"), "message content");
        return { kind: "message", transactional: (flags & 1) !== 0, lsn, prefix, content };
      }
      default:
        // Stream ('S', 'E', 'c', 'A') and two-phase messages appear only when asked for; we never
        // ask, so anything else is a server we do not understand.
        throw malformed(`unknown message tag ${tag} ('${String.fromCharCode(tag)}')`);
    }
  }

  private decodeRelation(reader: Reader): Relation {
    const oid = reader.uint32("relation OID");
    const schema = reader.string("relation schema");
    const table = reader.string("relation name");
    const identityByte = reader.byte("replica identity");
    const replicaIdentity = REPLICA_IDENTITIES[identityByte];
    if (replicaIdentity === undefined) throw malformed(`unknown replica identity ${identityByte}`);
    const count = reader.int16("relation column count");
    if (count < 0) throw malformed(`relation has ${count} columns`);
    const columns: RelationColumn[] = [];
    for (let index = 0; index < count; index++) {
      const flags = reader.byte("column flags");
      columns.push({
        name: reader.string("column name"),
        typeOid: reader.uint32("column type OID"),
        typeModifier: reader.int32("column type modifier"),
        partOfKey: (flags & 1) !== 0,
        flags,
      });
    }
    if (!this.relations.has(oid) && this.relations.size >= RELATIONS_MAX) {
      throw new PostgresError(
        "WITNZ_POSTGRES_LIMIT",
        `pgoutput: more than ${RELATIONS_MAX} relations in one stream`,
      );
    }
    const relation: Relation = { oid, schema, table, replicaIdentity, columns };
    this.relations.set(oid, relation);
    return relation;
  }

  private knownRelation(oid: number): Relation {
    const relation = this.relations.get(oid);
    if (relation === undefined)
      throw malformed(`row message for relation ${oid} before its Relation`);
    return relation;
  }
}

function expectByte(reader: Reader, expected: number, what: string): void {
  const actual = reader.byte(what);
  if (actual !== expected) throw malformed(`${what}: got ${actual}`);
}

function decodeTuple(reader: Reader, relation: Relation): Tuple {
  const count = reader.int16("tuple column count");
  if (count !== relation.columns.length) {
    throw malformed(
      `tuple of ${relation.schema}.${relation.table} has ${count} columns, its Relation ` +
        `${relation.columns.length}`,
    );
  }
  const values: TupleValue[] = [];
  for (let index = 0; index < count; index++) {
    const kind = reader.byte("tuple value kind");
    if (kind === 0x74) {
      // 't'
      values.push(reader.take(reader.int32("text value length"), "text value"));
    } else if (kind === 0x6e) {
      // 'n'
      values.push(null);
    } else if (kind === 0x75) {
      // 'u'
      values.push(UNCHANGED_TOAST);
    } else if (kind === 0x62) {
      // 'b': only with the binary option, which would hash the internal form, not the text.
      throw malformed("binary column value; the stream must be started without 'binary'");
    } else {
      throw malformed(`unknown tuple value kind ${kind}`);
    }
  }
  return values;
}

/**
 * True when a Relation message describes a table differently from an earlier one: renamed,
 * moved, replica identity changed, or a column added, dropped, renamed, retyped or re-keyed.
 * pgoutput also resends unchanged Relations (after reconnects and cache invalidations).
 */
export function relationChanged(previous: Relation, next: Relation): boolean {
  if (
    previous.oid !== next.oid ||
    previous.schema !== next.schema ||
    previous.table !== next.table ||
    previous.replicaIdentity !== next.replicaIdentity ||
    previous.columns.length !== next.columns.length
  ) {
    return true;
  }
  return previous.columns.some((column, index) => {
    const other = next.columns[index]!;
    return (
      column.name !== other.name ||
      column.typeOid !== other.typeOid ||
      column.typeModifier !== other.typeModifier ||
      column.flags !== other.flags
    );
  });
}
