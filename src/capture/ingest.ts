// The durable side of capture: stages changes into store batches (chain entries, Merkle nodes,
// primary-key index, violations, layouts, signed checkpoints) and commits them. The rule, written
// once here: a commit's end LSN is returned for acknowledgement only after the batch that records
// it is durable; a transaction already recorded is skipped whole, a partly recorded one resumes
// after its last recorded change.
import {
  decodeTableLayout,
  encodeTableLayout,
  type TableLayout,
  tableLayoutMetaName,
} from "../catalog/index.js";
import {
  type NoteSigner,
  signCheckpoint,
  tableOrigin,
  witnzExtensions,
} from "../checkpoint/index.js";
import {
  chainHash,
  dataHash,
  encodeRow,
  GENESIS_CHAIN_HASH,
  RowEncoder,
  type RowImage,
} from "../hash/index.js";
import { MerkleTree, type TreeNodeStore } from "../merkle/index.js";
import { formatLsn, LSN_ZERO, type Lsn, toLsn } from "../postgres/index.js";
import {
  isStoreError,
  type StoreBatch,
  type TreeNodeStorage,
  type WitnzStore,
} from "../store/index.js";
import { type AssemblerEvent, type Change, fromRelation } from "./changes.js";
import { type Gap, signGapNote } from "./gap.js";

/** Meta names owned by capture. */
export const CAPTURE_LSN_META = "capture-end-lsn";
export const CAPTURE_PROGRESS_META = "capture-progress";
/**
 * The highest position this node confirmed to PostgreSQL (an acknowledged commit, or idle WAL
 * the stream confirmed after it), or the slot's position when the node first started. A slot
 * beyond both this and the recorded end LSN is a gap.
 */
export const CAPTURE_CONFIRMED_LSN_META = "capture-confirmed-lsn";

/** Changes staged before a batch is committed even inside one transaction (bounds memory). */
export const BATCH_CHANGES_MAX = 1000;

export interface ViolationToRecord {
  readonly change: Extract<Change, { kind: "violation" }>;
  /** Data hash recorded for the touched row's primary key, when the chain has it. */
  readonly recordedDataHash?: Uint8Array;
  readonly recordedSequence?: number;
  /** Data hash of the new row image (UPDATE with a complete row). */
  readonly newDataHash?: Uint8Array;
}

/** One table's share of a gap, with its signed gap note, for the violation log and an alert. */
export interface GapToRecord {
  readonly table: string;
  readonly gap: Gap;
  readonly detectedAtUnixMicroseconds: bigint;
  /** Signed-note text over the gap and the table's chain and violation heads before it. */
  readonly signedNote: string;
}

export interface IngestOptions {
  readonly store: WitnzStore;
  readonly signer: NoteSigner;
  /** Origin prefix of every table's checkpoint (`witnz/<cluster>`). */
  readonly clusterOrigin: string;
  /** Observation time, microseconds since the Unix epoch, monotonic per node. */
  readonly nowUnixMicroseconds: () => bigint;
  /** Stages a violation (and its alert) into the batch; called in change order. */
  readonly stageViolation: (batch: StoreBatch, violation: ViolationToRecord) => void;
  /** Stages a gap entry (and its alert) for one table; called once per protected table. */
  readonly stageGap?: (batch: StoreBatch, gap: GapToRecord) => void;
  readonly batchChangesMax?: number;
  /**
   * Fault injection for tests and the demo only: what this node observes of each inserted row's
   * canonical encoding. A node given one that alters rows is a lying node: its chains, trees and
   * signed checkpoints are self-consistent but differ from its peers'.
   */
  readonly observeRow?: (encoded: Uint8Array) => Uint8Array;
}

interface TableState {
  readonly tree: MerkleTree;
  /** Where the tree reads and writes: the current batch's view, or committed nodes between batches. */
  readonly nodes: { batch: StoreBatch | undefined; storage: TreeNodeStorage };
  layout: TableLayout | undefined;
  chainHash: Uint8Array;
  size: number;
  /** Encodes the rows of the layout inserts last came in; replaced when another one arrives. */
  rowEncoder: RowEncoder | undefined;
}

export interface CommittedBatch {
  /** The end LSN that may now be acknowledged, if the batch closed a transaction. */
  readonly acknowledgeLsn: Lsn | undefined;
  readonly rowsAppended: number;
  /** Rows appended per table. */
  readonly rowsByTable: ReadonlyMap<string, number>;
  /** The violations recorded, in order. */
  readonly violations: readonly { readonly table: string; readonly kind: string }[];
  readonly tablesCheckpointed: readonly string[];
}

/** A commit started by `startCommit`. */
export interface CommitInFlight {
  /**
   * Resolves once the batch's writes are handed to the store's writer (staging may go on);
   * rejects when it failed first.
   */
  readonly applied: Promise<void>;
  /** Resolves once the batch is durable, with what it recorded; rejects when it failed. */
  readonly durable: Promise<CommittedBatch>;
}

/**
 * How far an open transaction got: its data messages staged (`changesDone`, so the next has that
 * index), and the tables whose Relation message raised changes after the last of them (a layout,
 * a schema change: they share the next data message's index, and a table's come together).
 */
interface Progress {
  readonly commitLsn: Lsn;
  readonly changesDone: number;
  readonly relationTablesDone: readonly string[];
}

/** Version 2: indexes count data messages only (changes.ts). Earlier builds wrote no version. */
const PROGRESS_VERSION = 2;

/** A store whose capture position this build cannot read. */
export class CaptureProgressError extends Error {
  readonly code = "WITNZ_CAPTURE_PROGRESS";
}

function encodeProgress(progress: Progress): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      version: PROGRESS_VERSION,
      commitLsn: progress.commitLsn.toString(),
      changesDone: progress.changesDone,
      relationTablesDone: progress.relationTablesDone,
    }),
  );
}

function decodeProgress(bytes: Uint8Array | undefined): Progress | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  const value = JSON.parse(Buffer.from(bytes).toString("utf8")) as {
    version?: number;
    commitLsn: string;
    changesDone: number;
    relationTablesDone?: string[];
  };
  if (value.version !== PROGRESS_VERSION) {
    // Its count included layout changes, which a resumed stream does not raise again: read as
    // today's, it would skip rows. Nothing is lost by stopping here.
    throw new CaptureProgressError(
      `the store stopped in the middle of a transaction (${JSON.stringify(value.commitLsn)}), recorded by an earlier build whose progress this build cannot resume from; let that build finish the transaction, then start this one`,
    );
  }
  return {
    commitLsn: toLsn(BigInt(value.commitLsn)),
    changesDone: value.changesDone,
    relationTablesDone: value.relationTablesDone ?? [],
  };
}

function encodeLsn(lsn: Lsn): Uint8Array {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(lsn, 0);
  return bytes;
}

/** An absent or empty (cleared) meta value is no position. */
function decodeLsn(bytes: Uint8Array | undefined): Lsn | undefined {
  return bytes === undefined || bytes.length === 0
    ? undefined
    : toLsn(Buffer.from(bytes).readBigUInt64BE(0));
}

/**
 * Stages `lsn` (the slot's position) as the capture baseline when the store holds no position,
 * recorded or confirmed: the baseline a node's first start takes, taken by `witnz init` as soon
 * as the slot exists, so that a slot dropped or advanced before that first start is a gap too.
 * Returns whether it staged it.
 */
export function stageCaptureBaseline(store: WitnzStore, batch: StoreBatch, lsn: Lsn): boolean {
  const recorded = store.meta(CAPTURE_LSN_META);
  const confirmed = store.meta(CAPTURE_CONFIRMED_LSN_META);
  if (decodeLsn(recorded) !== undefined || decodeLsn(confirmed) !== undefined) return false;
  // `witnz init` and a node's first start may race: whichever commits second finds a position
  // and fails with WITNZ_STORE_CONFLICT rather than put an older one over it.
  batch.requireMeta(CAPTURE_LSN_META, recorded);
  batch.requireMeta(CAPTURE_CONFIRMED_LSN_META, confirmed);
  batch.setMeta(CAPTURE_CONFIRMED_LSN_META, encodeLsn(lsn));
  return true;
}

/**
 * For a store just seeded from a peer: when the seed carried the peer's recorded position, stages
 * the removal of the position this node confirmed (the slot's at `witnz init`), so that the
 * seed's position is what the node knows, and a slot beyond it is a gap. A seed without one (the
 * peer had recorded nothing) leaves this node's baseline in place. Returns whether it staged the
 * removal.
 */
export function stageSeededCapturePosition(store: WitnzStore, batch: StoreBatch): boolean {
  if (decodeLsn(store.meta(CAPTURE_LSN_META)) === undefined) return false;
  if (decodeLsn(store.meta(CAPTURE_CONFIRMED_LSN_META)) === undefined) return false;
  batch.setMeta(CAPTURE_CONFIRMED_LSN_META, new Uint8Array(0));
  return true;
}

export class Ingester {
  readonly #options: IngestOptions;
  readonly #store: WitnzStore;
  readonly #tables = new Map<string, TableState>();
  readonly #batchChangesMax: number;
  #recordedEndLsn: Lsn = LSN_ZERO;
  #confirmedLsn: Lsn | undefined;
  #hasRecordedEnd = false;
  #progress: Progress | undefined;
  /**
   * How far the open transaction got, staged as `capture-progress` once per batch, when the batch
   * commits, rather than after every change: the batch holds only the last value anyway.
   */
  #openProgress: Progress | undefined;
  #batch: StoreBatch | undefined;
  #stagedChanges = 0;
  #stagedRows = new Map<string, number>();
  #stagedViolations: { table: string; kind: string }[] = [];
  #advanced = new Set<string>();
  #pendingAcknowledge: Lsn | undefined;
  #lastCommitLsn: Lsn = LSN_ZERO;

  constructor(options: IngestOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#batchChangesMax = options.batchChangesMax ?? BATCH_CHANGES_MAX;
    this.#progress = decodeProgress(this.#store.meta(CAPTURE_PROGRESS_META));
    this.#loadPositions();
  }

  /** What the store holds as recorded and confirmed. */
  #loadPositions(): void {
    const recorded = decodeLsn(this.#store.meta(CAPTURE_LSN_META));
    this.#hasRecordedEnd = recorded !== undefined;
    this.#recordedEndLsn = recorded ?? LSN_ZERO;
    this.#confirmedLsn = decodeLsn(this.#store.meta(CAPTURE_CONFIRMED_LSN_META));
  }

  /** End LSN of the last transaction durably recorded: where the stream resumes. */
  get recordedEndLsn(): Lsn {
    return this.#recordedEndLsn;
  }

  /**
   * The highest position the store holds as recorded or confirmed to PostgreSQL; undefined when
   * this node never stored one (its first start).
   */
  get knownLsn(): Lsn | undefined {
    const confirmed = this.#confirmedLsn;
    if (!this.#hasRecordedEnd) return confirmed;
    return confirmed === undefined || confirmed < this.#recordedEndLsn
      ? this.#recordedEndLsn
      : confirmed;
  }

  /** The layout recorded for a table, if any. */
  layout(table: string): TableLayout | undefined {
    return this.#table(table).layout;
  }

  /** Changes staged but not yet durable. */
  get stagedChanges(): number {
    return this.#stagedChanges;
  }

  /**
   * True when the batch holds `batchChangesMax` changes: commit it before staging more changes.
   * A transaction's commit may still join it, so a transaction of exactly that many changes
   * costs one durable commit, not two.
   */
  get full(): boolean {
    return this.#stagedChanges >= this.#batchChangesMax;
  }

  /** True when a transaction's end is staged and waits for a durable commit to be acknowledged. */
  get hasPendingAcknowledge(): boolean {
    return this.#pendingAcknowledge !== undefined;
  }

  #table(table: string): TableState {
    let state = this.#tables.get(table);
    if (state !== undefined) return state;
    const head = this.#store.chainHead(table);
    const nodes: TableState["nodes"] = {
      batch: undefined,
      storage: this.#store.treeNodes(table),
    };
    const nodeStore: TreeNodeStore = {
      get: (level, index) => nodes.storage.get(level, index),
      set: (level, index, hash) => {
        if (nodes.batch === undefined) throw new Error("tree node written outside a batch");
        nodes.storage.set(level, index, hash);
      },
    };
    const size = head?.size ?? 0;
    const layoutBytes = this.#store.meta(tableLayoutMetaName(table));
    state = {
      tree: MerkleTree.open(nodeStore, size),
      nodes,
      layout: layoutBytes === undefined ? undefined : decodeTableLayout(layoutBytes),
      chainHash: head?.chainHash ?? GENESIS_CHAIN_HASH,
      size,
      rowEncoder: undefined,
    };
    this.#tables.set(table, state);
    return state;
  }

  #currentBatch(): StoreBatch {
    this.#batch ??= this.#store.batch();
    return this.#batch;
  }

  /**
   * True when the change was recorded before (a redelivery after a crash). A change a Relation
   * message raised before a recorded data message was recorded with it (or, raised only now,
   * compares the resent Relation with a layout the store learned later in the transaction:
   * not a change at all); one raised at the progress point was recorded if the progress names
   * its table (a table's come together; several tables' share an index before a TRUNCATE).
   */
  #alreadyRecorded(change: Change): boolean {
    if (change.position.commitLsn < this.#recordedEndLsn) return true;
    const progress = this.#progress;
    if (progress === undefined || progress.commitLsn !== change.position.commitLsn) return false;
    const index = change.position.index;
    if (index < progress.changesDone) return true;
    return (
      fromRelation(change) &&
      index === progress.changesDone &&
      progress.relationTablesDone.includes(change.table)
    );
  }

  /** Moves the open transaction's progress past a staged change. */
  #advanceProgress(change: Change): void {
    const { commitLsn, index } = change.position;
    let open = this.#openProgress;
    if (open === undefined || open.commitLsn !== commitLsn) {
      const resumed = this.#progress;
      open =
        resumed !== undefined && resumed.commitLsn === commitLsn
          ? resumed
          : { commitLsn, changesDone: 0, relationTablesDone: [] };
    }
    let tables: readonly string[] = [];
    if (fromRelation(change)) {
      tables = open.changesDone === index ? open.relationTablesDone : [];
      if (!tables.includes(change.table)) tables = [...tables, change.table];
    }
    this.#openProgress = {
      commitLsn,
      changesDone: fromRelation(change) ? index : index + 1,
      relationTablesDone: tables,
    };
  }

  /**
   * Stages one assembler event. Returns true when the caller should commit now (a violation
   * waits to be alerted, or a transaction recorded before is to be acknowledged again). The
   * caller commits a `full` batch before it stages the next changes.
   */
  stage(event: AssemblerEvent): boolean {
    if (event.kind === "commit") {
      this.#lastCommitLsn = event.commitLsn;
      if (event.commitLsn < this.#recordedEndLsn) {
        // Recorded before a crash, but perhaps never acknowledged: acknowledge it again.
        this.#pendingAcknowledge = event.endLsn;
        return true;
      }
      const batch = this.#currentBatch();
      batch.setMeta(CAPTURE_LSN_META, encodeLsn(event.endLsn));
      this.#hasRecordedEnd = true;
      batch.setMeta(CAPTURE_PROGRESS_META, new Uint8Array());
      this.#openProgress = undefined;
      this.#pendingAcknowledge = event.endLsn;
      this.#progress = undefined;
      this.#stagedChanges += 1;
      return this.#stagedViolations.length > 0;
    }
    let commitNow = false;
    for (const change of event.changes) {
      if (this.#alreadyRecorded(change)) continue;
      this.#stageChange(change);
      this.#stagedChanges += 1;
      // Inside a transaction, record how far it got so a crash resumes exactly here.
      this.#advanceProgress(change);
      if (change.kind === "violation") commitNow = true;
    }
    return commitNow;
  }

  #stageChange(change: Change): void {
    const batch = this.#currentBatch();
    const state = this.#table(change.table);
    if (state.nodes.batch !== batch) {
      state.nodes.batch = batch;
      state.nodes.storage = this.#store.treeNodes(change.table, batch);
    }
    switch (change.kind) {
      case "layout":
        state.layout = change.layout;
        batch.setMeta(tableLayoutMetaName(change.table), encodeTableLayout(change.layout));
        return;
      case "insert": {
        const encoded = this.#rowEncoder(state, change.row).encode(change.row.values);
        const data = dataHash(
          this.#options.observeRow === undefined ? encoded : this.#options.observeRow(encoded),
        );
        const seq = state.size + 1;
        const chain = chainHash(state.chainHash, seq, data);
        batch.appendChainEntry(change.table, {
          seq,
          dataHash: data,
          chainHash: chain,
          lsn: change.position.commitLsn,
          primaryKey: change.primaryKey,
        });
        state.tree.append(data);
        state.size = seq;
        state.chainHash = chain;
        this.#advanced.add(change.table);
        this.#stagedRows.set(change.table, (this.#stagedRows.get(change.table) ?? 0) + 1);
        return;
      }
      case "violation": {
        const sequence =
          change.primaryKey === undefined
            ? undefined
            : this.#store.sequenceForPrimaryKey(change.table, change.primaryKey);
        const recorded =
          sequence === undefined ? undefined : this.#store.chainEntry(change.table, sequence);
        this.#options.stageViolation(batch, {
          change,
          ...(recorded === undefined
            ? {}
            : { recordedDataHash: recorded.dataHash, recordedSequence: recorded.seq }),
          ...(change.newRow === undefined
            ? {}
            : { newDataHash: dataHash(encodeRow(change.newRow)) }),
        });
        this.#stagedViolations.push({ table: change.table, kind: change.violation });
        return;
      }
    }
  }

  /** An encoder for rows like `row`: the assembler hands every row of a relation one columns array. */
  #rowEncoder(state: TableState, row: RowImage): RowEncoder {
    const encoder = state.rowEncoder;
    if (
      encoder !== undefined &&
      encoder.columns === row.columns &&
      encoder.schema === row.schema &&
      encoder.table === row.table
    ) {
      return encoder;
    }
    state.rowEncoder = new RowEncoder(row.schema, row.table, row.columns);
    return state.rowEncoder;
  }

  /** Signs and stages a checkpoint for every table advanced in this batch. */
  #stageCheckpoints(batch: StoreBatch): string[] {
    const tables = [...this.#advanced];
    const lsn = this.#pendingAcknowledge ?? this.#lastCommitLsn;
    for (const table of tables) {
      const state = this.#table(table);
      const note = signCheckpoint(
        {
          origin: tableOrigin(this.#options.clusterOrigin, table),
          size: state.size,
          rootHash: state.tree.root(),
          extensions: witnzExtensions({
            table,
            chainHash: state.chainHash,
            lsn: formatLsn(lsn),
            timeMicroseconds: this.#options.nowUnixMicroseconds(),
          }),
        },
        this.#options.signer,
      );
      batch.putCheckpoint(table, state.size, note);
    }
    return tables;
  }

  /**
   * Commits what is staged, durably. On failure the in-memory state no longer matches the store:
   * the caller must drop this ingester and open a new one (which reloads from the store).
   */
  commit(confirmedLsn?: Lsn): Promise<CommittedBatch> {
    return this.startCommit(confirmedLsn).durable;
  }

  /**
   * Starts committing what is staged and returns at once. Staging may go on once the batch is
   * `applied` (its writes are handed to the store's writer thread, which applies, commits and
   * flushes them), while it becomes `durable`: the next batch builds on this one (the store hands it
   * this commit's chain heads and data hash blocks). The caller acknowledges what each commit
   * returns in order, never a later one before an earlier one is durable, and stages nothing that
   * reads the store's rows (a violation, a gap) while a commit is in flight. On failure, as for
   * `commit`, this ingester is dropped; a batch built on a failed commit fails too.
   */
  startCommit(confirmedLsn?: Lsn): CommitInFlight {
    const acknowledgeLsn = this.#pendingAcknowledge;
    const batch = this.#batch;
    const persistConfirmed =
      batch !== undefined &&
      confirmedLsn !== undefined &&
      (this.#confirmedLsn === undefined || confirmedLsn > this.#confirmedLsn);
    if (persistConfirmed) batch.setMeta(CAPTURE_CONFIRMED_LSN_META, encodeLsn(confirmedLsn));
    // A batch is staged only with changes: while a transaction is open, they moved its progress.
    if (batch !== undefined && this.#openProgress !== undefined) {
      batch.setMeta(CAPTURE_PROGRESS_META, encodeProgress(this.#openProgress));
    }
    const rowsByTable = this.#stagedRows;
    const violations = this.#stagedViolations;
    let rowsAppended = 0;
    for (const rows of rowsByTable.values()) rowsAppended += rows;
    let tablesCheckpointed: string[] = [];
    if (batch !== undefined) {
      // A checkpoint is signed only at a transaction boundary, so it never covers half of one.
      if (acknowledgeLsn !== undefined) tablesCheckpointed = this.#stageCheckpoints(batch);
    }
    let markApplied: () => void = () => undefined;
    let markFailed: (error: unknown) => void = () => undefined;
    const applied = new Promise<void>((resolve, reject) => {
      markApplied = resolve;
      markFailed = reject;
    });
    // Seen through `durable` by whoever does not wait for `applied`.
    applied.catch(() => undefined);
    const durable =
      batch === undefined
        ? Promise.resolve()
        : this.#store.commit(batch, { onApplied: markApplied });
    // A commit that fails after its writes were applied has settled `applied` already.
    durable.then(markApplied, markFailed);
    for (const [table, state] of this.#tables) {
      state.nodes.batch = undefined;
      state.nodes.storage = this.#store.treeNodes(table);
    }
    this.#batch = undefined;
    this.#stagedChanges = 0;
    this.#stagedRows = new Map();
    this.#stagedViolations = [];
    if (acknowledgeLsn !== undefined) {
      this.#advanced = new Set();
      if (acknowledgeLsn > this.#recordedEndLsn) this.#recordedEndLsn = acknowledgeLsn;
    }
    this.#pendingAcknowledge = undefined;
    if (persistConfirmed) this.#confirmedLsn = confirmedLsn;
    const committed = { acknowledgeLsn, rowsAppended, rowsByTable, violations, tablesCheckpointed };
    return { applied, durable: durable.then(() => committed) };
  }

  /** True when nothing is staged: a batch of its own may be committed now. */
  get idle(): boolean {
    return this.#batch === undefined && this.#pendingAcknowledge === undefined;
  }

  /**
   * Stores `lsn` as confirmed to PostgreSQL when it is beyond what is stored (idle WAL the
   * stream confirmed). Only while idle, so it never shares a batch with half a transaction.
   */
  async persistConfirmed(lsn: Lsn): Promise<boolean> {
    if (!this.idle) return false;
    if (this.#confirmedLsn !== undefined && lsn <= this.#confirmedLsn) return false;
    const batch = this.#store.batch();
    batch.setMeta(CAPTURE_CONFIRMED_LSN_META, encodeLsn(lsn));
    await this.#store.commit(batch);
    if (this.#confirmedLsn === undefined || lsn > this.#confirmedLsn) this.#confirmedLsn = lsn;
    return true;
  }

  /**
   * Records a gap durably, before anything after it is streamed: one signed entry per table in
   * its violation log (with its alert), and `gap.toLsn` as the confirmed position so the same gap
   * is never recorded twice. A half-recorded transaction before the gap can no longer complete.
   */
  async recordGap(gap: Gap, tables: readonly string[]): Promise<GapToRecord[]> {
    if (!this.idle) throw new Error("a gap is recorded only between transactions");
    const batch = this.#store.batch();
    const detectedAtUnixMicroseconds = this.#options.nowUnixMicroseconds();
    const recorded: GapToRecord[] = [];
    for (const table of tables) {
      const chain = this.#store.chainHead(table);
      const violations = batch.violationHead(table);
      const signedNote = signGapNote(
        {
          clusterOrigin: this.#options.clusterOrigin,
          table,
          gap,
          detectedAtUnixMicroseconds,
          chainSize: chain?.size ?? 0,
          chainHash: chain?.chainHash ?? GENESIS_CHAIN_HASH,
          violationLogSize: violations?.size ?? 0,
          violationLogHash: violations?.chainHash ?? GENESIS_CHAIN_HASH,
        },
        this.#options.signer,
      );
      const entry = { table, gap, detectedAtUnixMicroseconds, signedNote };
      this.#options.stageGap?.(batch, entry);
      recorded.push(entry);
    }
    batch.setMeta(CAPTURE_CONFIRMED_LSN_META, encodeLsn(gap.toLsn));
    batch.setMeta(CAPTURE_PROGRESS_META, new Uint8Array());
    await this.#store.commit(batch);
    this.#confirmedLsn = gap.toLsn;
    this.#progress = undefined;
    return recorded;
  }

  /**
   * Stores the slot's position as the baseline on a node's first start and returns true. When
   * the store has a position after all (`witnz init` recorded one since this ingester read it,
   * or records one while this commits), that one is kept and read, and this returns false: the
   * slot is then to be judged against it.
   */
  async recordBaseline(lsn: Lsn): Promise<boolean> {
    const batch = this.#store.batch();
    if (stageCaptureBaseline(this.#store, batch, lsn)) {
      try {
        await this.#store.commit(batch);
        this.#confirmedLsn = lsn;
        return true;
      } catch (error) {
        if (!isStoreError(error, "WITNZ_STORE_CONFLICT")) throw error;
      }
    }
    // Nothing is staged before the first stream: the store's positions are the whole truth.
    this.#loadPositions();
    return false;
  }
}
