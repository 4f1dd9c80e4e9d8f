// Pure: turns decoded pgoutput messages into the changes capture records, one transaction at a
// time, without holding a whole transaction in memory. The effectful ingester (ingest.ts) stores
// what this returns.
import type { TableLayout } from "../catalog/index.js";
import { encodePrimaryKey, type RowImage } from "../hash/index.js";
import {
  type Lsn,
  type PgoutputMessage,
  type Relation,
  type Tuple,
  UNCHANGED_TOAST,
} from "../postgres/index.js";

export type ViolationKind = "update" | "delete" | "truncate" | "schema_change";

/** Where a change sits: its transaction and its position within it (for replay after a crash). */
export interface ChangePosition {
  /** LSN of the transaction's commit record (Begin's commitLsn). */
  readonly commitLsn: Lsn;
  readonly commitTimeUnixMicroseconds: bigint;
  readonly xid: number;
  /**
   * 0-based ordinal of the data message (insert, update, delete, truncate) among its
   * transaction's. A layout or schema change, learned from a Relation message, takes the ordinal
   * of the data message it comes before: a resumed stream sends Relation messages again, but only
   * those the store does not know yet become changes, so only data messages count. The same
   * transaction thus numbers its changes alike in every session and on every node.
   */
  readonly index: number;
}

/** True for a change that a Relation message raised (a layout, a schema change), not a data message. */
export function fromRelation(change: Change): boolean {
  return (
    change.kind === "layout" ||
    (change.kind === "violation" && change.violation === "schema_change")
  );
}

export type Change =
  | {
      readonly kind: "insert";
      readonly table: string;
      readonly position: ChangePosition;
      readonly row: RowImage;
      readonly primaryKey: Uint8Array;
    }
  | {
      readonly kind: "violation";
      readonly violation: ViolationKind;
      readonly table: string;
      readonly position: ChangePosition;
      /** Primary key of the row touched, when known. */
      readonly primaryKey?: Uint8Array;
      /** The new row (UPDATE), when pgoutput sent all of it. */
      readonly newRow?: RowImage;
      readonly detail: Record<string, unknown>;
    }
  | {
      readonly kind: "layout";
      readonly table: string;
      readonly position: ChangePosition;
      readonly layout: TableLayout;
    };

export type AssemblerEvent =
  | { readonly kind: "changes"; readonly changes: readonly Change[] }
  | {
      readonly kind: "commit";
      readonly commitLsn: Lsn;
      readonly endLsn: Lsn;
      readonly commitTimeUnixMicroseconds: bigint;
      /** Data messages in the transaction. */
      readonly changeCount: number;
    };

export interface AssemblerOptions {
  /**
   * The display name of a relation (`public.audit_log`); protected tables only are published.
   * Asked once per Relation message, not per row.
   */
  readonly tableName: (relation: Relation) => string;
  /** The layout capture knows for a table, if any. */
  readonly knownLayout: (table: string) => TableLayout | undefined;
}

function layoutOfRelation(name: string, relation: Relation): TableLayout {
  return {
    name,
    schema: relation.schema,
    table: relation.table,
    relationId: relation.oid,
    columns: relation.columns.map((column) => column.name),
    primaryKey: relation.columns.filter((column) => column.partOfKey).map((column) => column.name),
  };
}

function sameColumns(left: TableLayout, right: TableLayout): boolean {
  return (
    left.columns.length === right.columns.length &&
    left.columns.every((column, index) => column === right.columns[index])
  );
}

/**
 * What every row of one relation shares, worked out once per relation rather than per row: its
 * display name, its column names (one array, so a row encoder can tell rows of the same layout by
 * identity) and where the layout's primary key columns sit among them.
 */
interface RelationShape {
  readonly table: string;
  readonly columns: readonly string[];
  /** The layout the positions were found for. */
  layout: TableLayout | undefined;
  /** Position of each primary key column in the relation; -1 when the relation lacks it. */
  primaryKeyPositions: readonly number[];
  /**
   * Whether an old key tuple ('K') carries the primary key: every key column is part of the
   * replica identity. With REPLICA IDENTITY USING INDEX on other columns it does not (its other
   * columns arrive as NULL), and the key is not read from it.
   */
  oldKeyHasPrimaryKey: boolean;
}

/** Text values of the primary key columns, from a full row or a key-only tuple. */
function primaryKeyOf(positions: readonly number[], tuple: Tuple): Uint8Array | undefined {
  if (positions.length === 0) return undefined;
  const values: (Uint8Array | null)[] = new Array(positions.length);
  for (let index = 0; index < positions.length; index++) {
    const position = positions[index]!;
    const value = position < 0 ? undefined : tuple[position];
    if (value === undefined || value === UNCHANGED_TOAST) return undefined;
    values[index] = value;
  }
  return encodePrimaryKey(values);
}

/** The primary key of the row an UPDATE or DELETE changed, from its old image when that has it. */
function oldPrimaryKeyOf(
  shape: RelationShape,
  oldKey: Tuple | null,
  oldTuple: Tuple | null,
): Uint8Array | undefined {
  if (oldTuple !== null) return primaryKeyOf(shape.primaryKeyPositions, oldTuple);
  if (oldKey !== null && shape.oldKeyHasPrimaryKey) {
    return primaryKeyOf(shape.primaryKeyPositions, oldKey);
  }
  return undefined;
}

function rowOf(relation: Relation, columns: readonly string[], tuple: Tuple): RowImage | undefined {
  if (tuple.includes(UNCHANGED_TOAST)) return undefined;
  return {
    schema: relation.schema,
    table: relation.table,
    columns,
    values: tuple as readonly (Uint8Array | null)[],
  };
}

/**
 * Feeds messages one by one; returns the changes each produces. Layouts learned from Relation
 * messages are returned as `layout` changes so that the ingester stores them in order.
 */
export class TransactionAssembler {
  readonly #options: AssemblerOptions;
  #position: Omit<ChangePosition, "index"> | undefined;
  /** Data messages of the open transaction so far. */
  #changeCount = 0;
  readonly #layouts = new Map<string, TableLayout>();
  /** Per relation (pgoutput sends a new Relation object whenever the relation changes). */
  readonly #shapes = new WeakMap<Relation, RelationShape>();

  constructor(options: AssemblerOptions) {
    this.#options = options;
  }

  /** The layout in force for a table: learned in this stream, else the known one. */
  layout(table: string): TableLayout | undefined {
    return this.#layouts.get(table) ?? this.#options.knownLayout(table);
  }

  push(message: PgoutputMessage): AssemblerEvent | undefined {
    switch (message.kind) {
      case "begin":
        if (this.#position !== undefined) throw new Error("Begin inside an open transaction");
        this.#position = {
          commitLsn: message.commitLsn,
          commitTimeUnixMicroseconds: message.commitTimeUnixMicroseconds,
          xid: message.xid,
        };
        this.#changeCount = 0;
        return undefined;
      case "commit": {
        const open = this.#open();
        if (open.commitLsn !== message.commitLsn) {
          throw new Error(`Commit ${message.commitLsn} does not close Begin ${open.commitLsn}`);
        }
        this.#position = undefined;
        return {
          kind: "commit",
          commitLsn: message.commitLsn,
          endLsn: message.endLsn,
          commitTimeUnixMicroseconds: message.commitTimeUnixMicroseconds,
          changeCount: this.#changeCount,
        };
      }
      case "relation":
        return this.#relation(message.relation);
      case "insert": {
        const shape = this.#shape(message.relation);
        const table = shape.table;
        const row = rowOf(message.relation, shape.columns, message.newTuple);
        const primaryKey = primaryKeyOf(shape.primaryKeyPositions, message.newTuple);
        if (row === undefined || primaryKey === undefined) {
          throw new Error(`INSERT into ${table} without a complete row or primary key`);
        }
        return this.#emit([{ kind: "insert", table, position: this.#next(), row, primaryKey }]);
      }
      case "update": {
        const shape = this.#shape(message.relation);
        const table = shape.table;
        // Without an old image of the key, the new row's key is the row's own only when the
        // replica identity covers the key (PostgreSQL then sends an old key whenever it
        // changed); with an identity on other columns the key may have changed unseen, and is
        // not named.
        const primaryKey =
          oldPrimaryKeyOf(shape, message.oldKey, message.oldTuple) ??
          (shape.oldKeyHasPrimaryKey
            ? primaryKeyOf(shape.primaryKeyPositions, message.newTuple)
            : undefined);
        const newRow = rowOf(message.relation, shape.columns, message.newTuple);
        const keyChanged = message.oldKey !== null;
        return this.#emit([
          {
            kind: "violation",
            violation: "update",
            table,
            position: this.#next(),
            ...(primaryKey === undefined ? {} : { primaryKey }),
            ...(newRow === undefined ? {} : { newRow }),
            detail: { keyChanged, complete: newRow !== undefined },
          },
        ]);
      }
      case "delete": {
        const shape = this.#shape(message.relation);
        const table = shape.table;
        const primaryKey = oldPrimaryKeyOf(shape, message.oldKey, message.oldTuple);
        return this.#emit([
          {
            kind: "violation",
            violation: "delete",
            table,
            position: this.#next(),
            ...(primaryKey === undefined ? {} : { primaryKey }),
            detail: {},
          },
        ]);
      }
      case "truncate":
        return this.#emit(
          message.relations.map((relation) => ({
            kind: "violation" as const,
            violation: "truncate" as const,
            table: this.#options.tableName(relation),
            position: this.#next(),
            detail: { cascade: message.cascade, restartIdentity: message.restartIdentity },
          })),
        );
      default:
        return undefined;
    }
  }

  #open(): Omit<ChangePosition, "index"> {
    if (this.#position === undefined) throw new Error("change outside a transaction");
    return this.#position;
  }

  /** The position of the next data message, counted. */
  #next(): ChangePosition {
    const position = this.#here();
    this.#changeCount += 1;
    return position;
  }

  /** The position of the next data message, not counted: for changes a Relation message raises. */
  #here(): ChangePosition {
    const open = this.#open();
    // Spelled out: spreading an object that holds a bigint takes V8's slow path, per change.
    const position: ChangePosition = {
      commitLsn: open.commitLsn,
      commitTimeUnixMicroseconds: open.commitTimeUnixMicroseconds,
      xid: open.xid,
      index: this.#changeCount,
    };
    return position;
  }

  /** The relation's shape, its primary key positions found for the table's layout in force. */
  #shape(relation: Relation): RelationShape {
    let shape = this.#shapes.get(relation);
    if (shape === undefined) {
      shape = {
        table: this.#options.tableName(relation),
        columns: relation.columns.map((column) => column.name),
        layout: undefined,
        primaryKeyPositions: [],
        oldKeyHasPrimaryKey: false,
      };
      this.#shapes.set(relation, shape);
    }
    const layout = this.#layoutFor(shape.table, relation);
    if (shape.layout !== layout) {
      const columns = shape.columns;
      shape.primaryKeyPositions = layout.primaryKey.map((column) => columns.indexOf(column));
      shape.oldKeyHasPrimaryKey = shape.primaryKeyPositions.every(
        (position) => position >= 0 && relation.columns[position]!.partOfKey,
      );
      shape.layout = layout;
    }
    return shape;
  }

  #emit(changes: Change[]): AssemblerEvent {
    return { kind: "changes", changes };
  }

  #layoutFor(table: string, relation: Relation): TableLayout {
    return this.layout(table) ?? layoutOfRelation(table, relation);
  }

  /**
   * A Relation message arrives before a table's first change in each session and after every
   * schema change. Same columns as known: nothing to record. New table: its layout. Different
   * columns: the new layout and a schema change.
   */
  #relation(relation: Relation): AssemblerEvent | undefined {
    const table = this.#options.tableName(relation);
    const incoming = layoutOfRelation(table, relation);
    const known = this.layout(table);
    if (known !== undefined && sameColumns(known, incoming)) {
      this.#layouts.set(table, { ...known, relationId: relation.oid });
      return undefined;
    }
    const layout =
      known === undefined
        ? incoming
        : {
            ...incoming,
            primaryKey: incoming.primaryKey.length > 0 ? incoming.primaryKey : known.primaryKey,
          };
    this.#layouts.set(table, layout);
    // pgoutput sends Relation inside the transaction whose change first needs it.
    return this.#emit(this.#layoutChanges(table, layout, known));
  }

  #layoutChanges(table: string, layout: TableLayout, previous: TableLayout | undefined): Change[] {
    const changes: Change[] = [{ kind: "layout", table, position: this.#here(), layout }];
    if (previous !== undefined) {
      changes.push({
        kind: "violation",
        violation: "schema_change",
        table,
        position: this.#here(),
        detail: { before: previous.columns, after: layout.columns },
      });
    }
    return changes;
  }
}
