/**
 * The start-up self-check of a node's store. For every table with a chain it re-hashes the
 * chain, re-derives the Merkle tree from the chain's data hashes and compares every stored
 * node with it, checks the latest checkpoint against the tree and the chain, checks the
 * primary-key index against the entries, and re-chains the violation log. Entries are read in
 * windows, so memory stays bounded whatever the chain's length. Corruption is returned as data;
 * only operating errors (a closed store, a failed read) are thrown.
 */

import { CheckpointError, parseCheckpoint, readWitnzFields } from "../checkpoint/index.js";
import { sha256 } from "../crypto/index.js";
import { chainHash, GENESIS_CHAIN_HASH } from "../hash/index.js";
import { leafHash, MerkleError, MerkleTree, nodeHash } from "../merkle/index.js";
import {
  type ChainEntry,
  DATA_HASH_BLOCK_ENTRIES,
  encodeViolationRecord,
  HASH_BYTES,
  isStoreError,
  TREE_STORED_LEVEL_MIN,
  type TreeNodeStorage,
  type ViolationEntry,
  type WitnzStore,
} from "../store/index.js";
import type {
  IntegrityProblem,
  IntegrityProblemKind,
  IntegrityReport,
  TableIntegrity,
} from "./report.js";

/** Entries read per range: large enough to amortize a range, small enough to bound memory. */
export const CHECK_WINDOW_ENTRIES_DEFAULT = 4096;
export const CHECK_WINDOW_ENTRIES_MAX = 65_536;
/** A tree over fewer than 2^53 leaves has at most 54 levels; probes stop there. */
const TREE_LEVELS_MAX = 64;

export interface IntegrityProgress {
  readonly table: string;
  /** Which log of the table is being read. */
  readonly part: "chain" | "violations";
  /** Positions walked so far in this part. */
  readonly checked: number;
  /** The part's size from its head; undefined when the head is unreadable. */
  readonly total: number | undefined;
}

export interface CheckStoreOptions {
  /** Called after each window of entries. */
  readonly onProgress?: (progress: IntegrityProgress) => void;
  /** Entries read per range, 1 to CHECK_WINDOW_ENTRIES_MAX. */
  readonly windowEntries?: number;
}

/**
 * Checks every table of `store` (those with a chain head). Reads only; the store must not be
 * written while the check runs, as at start-up. Violation logs of tables that never had a chain
 * entry are not reached, since the store lists tables by their chain heads.
 */
export function checkStore(store: WitnzStore, options: CheckStoreOptions = {}): IntegrityReport {
  const windowEntries = options.windowEntries ?? CHECK_WINDOW_ENTRIES_DEFAULT;
  if (
    !(
      Number.isSafeInteger(windowEntries) &&
      windowEntries >= 1 &&
      windowEntries <= CHECK_WINDOW_ENTRIES_MAX
    )
  ) {
    throw new RangeError(
      `windowEntries must be an integer from 1 to ${CHECK_WINDOW_ENTRIES_MAX}, got ${windowEntries}`,
    );
  }
  const onProgress = options.onProgress ?? (() => {});
  const tables = store.tables().map((table) => checkTable(store, table, windowEntries, onProgress));
  const problemCount = tables.reduce((sum, table) => sum + table.problems.length, 0);
  return {
    ok: problemCount === 0,
    tables,
    entriesChecked: tables.reduce((sum, table) => sum + table.entriesChecked, 0),
    problemCount,
  };
}

// ---- reading without throwing on corruption ---------------------------------------------

const UNREADABLE = Symbol("unreadable");
type Unreadable = typeof UNREADABLE;

function isCorruption(error: unknown): boolean {
  return isStoreError(error, "WITNZ_STORE_CORRUPT");
}

/** The read's result, or UNREADABLE when the stored bytes do not decode. */
function readOrUnreadable<T>(read: () => T): T | Unreadable {
  try {
    return read();
  } catch (error) {
    if (isCorruption(error)) return UNREADABLE;
    throw error;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let offset = 0; offset < a.length; offset++) if (a[offset] !== b[offset]) return false;
  return true;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

// ---- problems ---------------------------------------------------------------------------

/** One problem per kind: the first position found, and how many positions failed that way. */
class ProblemLog {
  readonly #table: string;
  readonly #byKind = new Map<
    IntegrityProblemKind,
    { -readonly [K in keyof IntegrityProblem]: IntegrityProblem[K] }
  >();

  constructor(table: string) {
    this.#table = table;
  }

  add(
    kind: IntegrityProblemKind,
    position: number,
    detail: () => string,
    extra: { readonly level?: number; readonly count?: number } = {},
  ): void {
    const count = extra.count ?? 1;
    const existing = this.#byKind.get(kind);
    if (existing !== undefined) {
      existing.count += count;
      return;
    }
    this.#byKind.set(kind, {
      table: this.#table,
      kind,
      position,
      ...(extra.level === undefined ? {} : { level: extra.level }),
      count,
      detail: detail(),
    });
  }

  list(): IntegrityProblem[] {
    return [...this.#byKind.values()];
  }
}

// ---- windowed walk ----------------------------------------------------------------------

interface WalkVisitor<T> {
  present(entry: T): void;
  /** Positions from..to (inclusive) are absent. */
  missing(from: number, to: number): void;
  unreadable(seq: number): void;
}

/**
 * Walks positions 1..size in windows; with `size` undefined (an unreadable head) walks until a
 * window holds no entry. A window whose range stops at an undecodable entry is finished one
 * entry at a time. Returns the last position walked.
 */
function walkWindows<T extends { readonly seq: number }>(
  size: number | undefined,
  windowEntries: number,
  readRange: (fromSeq: number, toSeq: number) => Iterable<T>,
  readOne: (seq: number) => T | undefined,
  visitor: WalkVisitor<T>,
  onWindow: (walked: number) => void,
): number {
  let expected = 1;
  for (let from = 1; size === undefined || from <= size; from += windowEntries) {
    const to =
      size === undefined ? from + windowEntries - 1 : Math.min(size, from + windowEntries - 1);
    let sawEntry = false;
    try {
      for (const entry of readRange(from, to)) {
        if (entry.seq > expected) visitor.missing(expected, entry.seq - 1);
        visitor.present(entry);
        expected = entry.seq + 1;
        sawEntry = true;
      }
    } catch (error) {
      if (!isCorruption(error)) throw error;
      for (let seq = expected; seq <= to; seq++) {
        const entry = readOrUnreadable(() => readOne(seq));
        if (entry === undefined) continue;
        if (seq > expected) visitor.missing(expected, seq - 1);
        if (entry === UNREADABLE) visitor.unreadable(seq);
        else visitor.present(entry);
        expected = seq + 1;
        sawEntry = true;
      }
    }
    if (size === undefined && !sawEntry) break;
    onWindow(size === undefined ? expected - 1 : to);
  }
  if (size !== undefined && expected <= size) visitor.missing(expected, size);
  return size ?? expected - 1;
}

// ---- Merkle tree ------------------------------------------------------------------------

/**
 * Rebuilds the tree leaf by leaf, as appends built it, and compares each stored node (levels from
 * TREE_STORED_LEVEL_MIN up; the store derives the lower ones from the data hashes) with the hash
 * of its children. The value carried up is the recomputed one, so one corrupt node is reported
 * once and not again by its ancestors; a leaf whose entry is unusable or whose chain link failed
 * carries nothing up, and the first stored node above it is taken as it is, since its data hash
 * cannot be trusted to recompute it (the chain check has reported it).
 */
class TreeChecker {
  readonly #nodes: TreeNodeStorage;
  readonly #problems: ProblemLog;
  /** frontier[l]: the left sibling at level l waiting for its right sibling. */
  readonly #frontier: (Uint8Array | undefined)[] = [];
  nodesChecked = 0;

  constructor(nodes: TreeNodeStorage, problems: ProblemLog) {
    this.#nodes = nodes;
    this.#problems = problems;
  }

  /** Leaf `index` with its leaf hash, or undefined when it cannot be trusted. */
  addLeaf(index: number, leaf: Uint8Array | undefined): void {
    let current = leaf;
    let position = index;
    let level = 0;
    while (position % 2 === 1) {
      const left = this.#frontier[level];
      this.#frontier[level] = undefined;
      const parentIndex = (position - 1) / 2;
      const storedParent = this.#read(level + 1, parentIndex);
      const computed =
        left !== undefined && current !== undefined ? nodeHash(left, current) : undefined;
      if (
        storedParent !== undefined &&
        computed !== undefined &&
        !equalBytes(storedParent, computed)
      ) {
        const parentLevel = level + 1;
        this.#problems.add(
          "tree-node-mismatch",
          parentIndex,
          () =>
            `node (level ${parentLevel}, index ${parentIndex}) is ${hex(storedParent)}, but the hash of its children is ${hex(computed)}`,
          { level: parentLevel },
        );
      }
      current = computed ?? storedParent;
      position = parentIndex;
      level += 1;
    }
    this.#frontier[level] = current;
  }

  /** Reports nodes stored past the last complete subtree of a tree of `size` leaves. */
  finish(size: number): void {
    for (let level = TREE_STORED_LEVEL_MIN; level <= TREE_LEVELS_MAX; level++) {
      const width = 2 ** level;
      const index = Math.floor(size / width);
      const stored = readOrUnreadable(() => this.#nodes.get(level, index));
      if (stored !== undefined) {
        this.#problems.add(
          "tree-node-beyond-size",
          index,
          () =>
            `node (level ${level}, index ${index}) is stored, but a tree of ${size} leaves ends before it`,
          { level },
        );
      }
      if (width > size) return;
    }
  }

  /**
   * The stored node, or undefined (reported) when it is absent or unreadable. Below
   * TREE_STORED_LEVEL_MIN nothing is stored: the store derives those nodes from the very data
   * hashes this check recomputes them from, so there is nothing to compare.
   */
  #read(level: number, index: number): Uint8Array | undefined {
    if (level < TREE_STORED_LEVEL_MIN) return undefined;
    this.nodesChecked += 1;
    const stored = readOrUnreadable(() => this.#nodes.get(level, index));
    if (stored === UNREADABLE) {
      this.#problems.add(
        "tree-node-unreadable",
        index,
        () => `node (level ${level}, index ${index}) is not a 32-byte hash`,
        { level },
      );
      return undefined;
    }
    if (stored === undefined) {
      this.#problems.add(
        "tree-node-missing",
        index,
        () => `node (level ${level}, index ${index}) is absent`,
        { level },
      );
    }
    return stored;
  }
}

// ---- primary-key index ------------------------------------------------------------------

/**
 * Each entry's key must be indexed, at this entry or at a later entry carrying the same key.
 * Keys the index holds beyond those the chain accounts for are counted, not located: finding
 * them would need a scan of the index itself.
 */
class PrimaryKeyChecker {
  readonly #store: WitnzStore;
  readonly #table: string;
  readonly #problems: ProblemLog;
  readonly #chainSize: number;
  /** Entries the index entry of whose key is accounted for: latest entries and bad pointers. */
  #accounted = 0;

  constructor(store: WitnzStore, table: string, problems: ProblemLog, chainSize: number) {
    this.#store = store;
    this.#table = table;
    this.#problems = problems;
    this.#chainSize = chainSize;
  }

  check(seq: number, primaryKey: Uint8Array): void {
    if (primaryKey.length === 0) return;
    const indexed = readOrUnreadable(() =>
      this.#store.sequenceForPrimaryKey(this.#table, primaryKey),
    );
    if (indexed === seq) {
      this.#accounted += 1;
      return;
    }
    if (indexed === undefined) {
      this.#problems.add(
        "primary-key-index-missing",
        seq,
        () => `entry ${seq}'s primary key ${hex(primaryKey)} has no index entry`,
      );
      return;
    }
    if (indexed !== UNREADABLE && indexed > seq && indexed <= this.#chainSize) {
      const later = readOrUnreadable(() => this.#store.chainEntry(this.#table, indexed));
      if (later !== UNREADABLE && later !== undefined && equalBytes(later.primaryKey, primaryKey)) {
        return;
      }
    }
    this.#accounted += 1;
    this.#problems.add("primary-key-index-mismatch", seq, () =>
      indexed === UNREADABLE
        ? `the index entry of entry ${seq}'s primary key ${hex(primaryKey)} is not a seq`
        : indexed < seq
          ? `the index entry of primary key ${hex(primaryKey)} points at seq ${indexed}, but entry ${seq} is a later entry with that key`
          : `the index entry of entry ${seq}'s primary key ${hex(primaryKey)} points at seq ${indexed}, which does not carry that key`,
    );
  }

  finish(): void {
    const indexSize = this.#store.primaryKeyIndexSize(this.#table);
    const accounted = this.#accounted;
    if (indexSize > accounted) {
      this.#problems.add(
        "primary-key-index-extra",
        0,
        () => `the index holds ${indexSize} keys, but the chain's entries account for ${accounted}`,
        { count: indexSize - accounted },
      );
    }
  }
}

// ---- one table --------------------------------------------------------------------------

/**
 * The data hash blocks, where the store has them: each hash must be the data hash of the entry
 * it stands for, and no block may reach past the chain's size, since verification trusts them
 * instead of reading the entries. A block may be absent or end early (a store from before
 * blocks, or restored from a peer): readers then read the entries, and the next append rebuilds
 * it.
 */
class DataHashBlockChecker {
  #index = -1;
  #block: Uint8Array | undefined;

  constructor(
    private readonly store: WitnzStore,
    private readonly table: string,
    private readonly problems: ProblemLog,
  ) {}

  check(seq: number, dataHash: Uint8Array): void {
    const index = Math.floor((seq - 1) / DATA_HASH_BLOCK_ENTRIES);
    if (index !== this.#index) {
      this.#index = index;
      const block = readOrUnreadable(() => this.store.dataHashBlock(this.table, index));
      this.#block = block === UNREADABLE ? undefined : block;
      if (block === UNREADABLE)
        this.#sizeProblem(seq, "is not a whole number of hashes, or too long");
    }
    const block = this.#block;
    if (block === undefined) return;
    const start = ((seq - 1) % DATA_HASH_BLOCK_ENTRIES) * HASH_BYTES;
    // A block that ends early is a prefix the next append rebuilds (written by a build that did
    // not keep blocks); readers fall back to the entries past it. Not corruption.
    if (start + HASH_BYTES > block.length) return;
    if (!equalBytes(block.subarray(start, start + HASH_BYTES), dataHash)) {
      this.problems.add(
        "data-hash-block-mismatch",
        seq,
        () => `the data hash block holds another data hash for entry ${seq} than the entry`,
      );
    }
  }

  /** The block holding the chain's last entry must end with it; none may lie beyond it. */
  finish(chainSize: number): void {
    const last = chainSize === 0 ? -1 : Math.floor((chainSize - 1) / DATA_HASH_BLOCK_ENTRIES);
    if (last >= 0) {
      const block = readOrUnreadable(() => this.store.dataHashBlock(this.table, last));
      const expected = (chainSize - last * DATA_HASH_BLOCK_ENTRIES) * HASH_BYTES;
      if (block !== UNREADABLE && block !== undefined && block.length > expected) {
        this.#sizeProblem(chainSize, `holds entries past the chain's end (${chainSize})`);
      }
    }
    const beyond = readOrUnreadable(() => this.store.dataHashBlock(this.table, last + 1));
    if (beyond !== undefined) {
      this.#sizeProblem(chainSize + 1, `is stored past the chain's end (${chainSize})`);
    }
  }

  #sizeProblem(seq: number, what: string): void {
    this.problems.add(
      "data-hash-block-size",
      seq,
      () => `the data hash block of entry ${seq} ${what}`,
    );
  }
}

function checkTable(
  store: WitnzStore,
  table: string,
  windowEntries: number,
  onProgress: (progress: IntegrityProgress) => void,
): TableIntegrity {
  const problems = new ProblemLog(table);
  const head = readOrUnreadable(() => store.chainHead(table));
  if (head === UNREADABLE) {
    problems.add("chain-head-unreadable", 0, () => "the chain head is not a size and a hash");
  }
  const headSize = head === UNREADABLE ? undefined : (head?.size ?? 0);

  const latest = readOrUnreadable(() => store.latestCheckpoint(table));
  if (latest === UNREADABLE) {
    problems.add("checkpoint-unreadable", 0, () => "the latest checkpoint is not UTF-8 text");
  }
  const checkpointSize = latest === UNREADABLE ? undefined : latest?.size;

  const tree = new TreeChecker(store.treeNodes(table), problems);
  const primaryKeys = new PrimaryKeyChecker(
    store,
    table,
    problems,
    headSize ?? Number.MAX_SAFE_INTEGER,
  );
  const blocks = new DataHashBlockChecker(store, table, problems);
  let previous: Uint8Array | undefined = GENESIS_CHAIN_HASH;
  let entriesChecked = 0;
  /** The stored chain hash of the last position walked, and of the checkpoint's size. */
  let lastChainHash: Uint8Array | undefined;
  let checkpointChainHash: Uint8Array | undefined =
    checkpointSize === 0 ? GENESIS_CHAIN_HASH : undefined;

  const chainSize = walkWindows<ChainEntry>(
    headSize,
    windowEntries,
    (fromSeq, toSeq) => store.chainEntries(table, fromSeq, toSeq),
    (seq) => store.chainEntry(table, seq),
    {
      present(entry) {
        const seq = entry.seq;
        let linked = false;
        if (previous !== undefined) {
          const expected = chainHash(previous, seq, entry.dataHash);
          linked = equalBytes(expected, entry.chainHash);
          if (!linked) {
            problems.add(
              "chain-hash-mismatch",
              seq,
              () =>
                `entry ${seq} stores chain hash ${hex(entry.chainHash)}, but its data hash on entry ${seq - 1}'s chain hash gives ${hex(expected)}`,
            );
          }
        }
        previous = entry.chainHash;
        lastChainHash = entry.chainHash;
        if (seq === checkpointSize) checkpointChainHash = entry.chainHash;
        tree.addLeaf(seq - 1, linked ? leafHash(entry.dataHash) : undefined);
        primaryKeys.check(seq, entry.primaryKey);
        blocks.check(seq, entry.dataHash);
        entriesChecked += 1;
      },
      missing(from, to) {
        problems.add(
          "chain-entry-missing",
          from,
          () => `chain entries ${from} to ${to} are absent`,
          { count: to - from + 1 },
        );
        for (let seq = from; seq <= to; seq++) tree.addLeaf(seq - 1, undefined);
        previous = undefined;
        lastChainHash = undefined;
      },
      unreadable(seq) {
        problems.add(
          "chain-entry-unreadable",
          seq,
          () => `chain entry ${seq} is shorter than a data hash, a chain hash and an LSN`,
        );
        tree.addLeaf(seq - 1, undefined);
        previous = undefined;
        lastChainHash = undefined;
      },
    },
    (walked) => onProgress({ table, part: "chain", checked: walked, total: headSize }),
  );

  if (head !== UNREADABLE && head !== undefined && lastChainHash !== undefined) {
    const last = lastChainHash;
    if (!equalBytes(head.chainHash, last)) {
      problems.add(
        "chain-head-mismatch",
        head.size,
        () =>
          `the head stores chain hash ${hex(head.chainHash)}, but entry ${head.size} stores ${hex(last)}`,
      );
    }
  }
  const beyond = chainSize + 1;
  if (readOrUnreadable(() => store.chainEntry(table, beyond)) !== undefined) {
    problems.add(
      "chain-entry-beyond-head",
      beyond,
      () => `chain entry ${beyond} is stored, but the chain ends at ${chainSize}`,
    );
  }
  tree.finish(chainSize);
  primaryKeys.finish();
  blocks.finish(chainSize);
  if (latest !== UNREADABLE && latest !== undefined) {
    checkCheckpoint(store, table, problems, latest, chainSize, checkpointChainHash);
  }
  const violationsChecked = checkViolations(store, table, problems, windowEntries, onProgress);

  return {
    table,
    chainSize,
    entriesChecked,
    treeNodesChecked: tree.nodesChecked,
    checkpointSize,
    violationsChecked,
    problems: problems.list(),
  };
}

function checkCheckpoint(
  store: WitnzStore,
  table: string,
  problems: ProblemLog,
  latest: { readonly size: number; readonly noteText: string },
  chainSize: number,
  storedChainHash: Uint8Array | undefined,
): void {
  const size = latest.size;
  let rootHash: Uint8Array;
  let noteChainHash: Uint8Array;
  try {
    const { checkpoint } = parseCheckpoint(latest.noteText);
    noteChainHash = readWitnzFields(checkpoint).chainHash;
    rootHash = checkpoint.rootHash;
    if (checkpoint.size !== size) {
      const noteSize = checkpoint.size;
      problems.add(
        "checkpoint-size-mismatch",
        size,
        () => `the checkpoint stored at size ${size} says size ${noteSize}`,
      );
    }
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    problems.add(
      "checkpoint-unreadable",
      size,
      () => `the checkpoint at size ${size} is not a Witnz checkpoint: ${error.message}`,
    );
    return;
  }
  if (size > chainSize) {
    problems.add(
      "checkpoint-beyond-head",
      size,
      () => `the latest checkpoint is at size ${size}, but the chain ends at ${chainSize}`,
    );
    return;
  }
  let treeRoot: Uint8Array | string;
  try {
    treeRoot = MerkleTree.open(store.treeNodes(table), size).rootAt(size);
  } catch (error) {
    if (!(error instanceof MerkleError || isCorruption(error))) throw error;
    treeRoot = (error as Error).message;
  }
  if (typeof treeRoot === "string" || !equalBytes(treeRoot, rootHash)) {
    const found = treeRoot;
    problems.add("checkpoint-root-mismatch", size, () =>
      typeof found === "string"
        ? `the stored tree has no root at size ${size} (${found}); the checkpoint says ${hex(rootHash)}`
        : `the checkpoint's root is ${hex(rootHash)}, but the stored tree's root at size ${size} is ${hex(found)}`,
    );
  }
  if (storedChainHash !== undefined && !equalBytes(storedChainHash, noteChainHash)) {
    problems.add(
      "checkpoint-chain-hash-mismatch",
      size,
      () =>
        `the checkpoint's chain hash is ${hex(noteChainHash)}, but entry ${size} stores ${hex(storedChainHash)}`,
    );
  }
}

function checkViolations(
  store: WitnzStore,
  table: string,
  problems: ProblemLog,
  windowEntries: number,
  onProgress: (progress: IntegrityProgress) => void,
): number {
  const head = readOrUnreadable(() => store.violationHead(table));
  if (head === UNREADABLE) {
    problems.add("violation-head-mismatch", 0, () => "the violation head is not a size and a hash");
  }
  const headSize = head === UNREADABLE ? undefined : (head?.size ?? 0);
  let previous: Uint8Array | undefined = GENESIS_CHAIN_HASH;
  let lastChainHash: Uint8Array | undefined;
  let checked = 0;
  const unreadable = (seq: number): void => {
    problems.add(
      "violation-entry-unreadable",
      seq,
      () => `violation entry ${seq} does not decode as a violation record`,
    );
    previous = undefined;
    lastChainHash = undefined;
  };
  const size = walkWindows<ViolationEntry>(
    headSize,
    windowEntries,
    (fromSeq, toSeq) => store.violations(table, fromSeq, toSeq),
    (seq) => {
      for (const entry of store.violations(table, seq, seq)) return entry;
      return undefined;
    },
    {
      present(entry) {
        const seq = entry.seq;
        const recordHash = readOrUnreadable(() => sha256(encodeViolationRecord(entry.record)));
        if (recordHash === UNREADABLE) {
          unreadable(seq);
          return;
        }
        if (!equalBytes(recordHash, entry.recordHash)) {
          problems.add(
            "violation-record-hash-mismatch",
            seq,
            () =>
              `violation ${seq} stores record hash ${hex(entry.recordHash)}, but its record hashes to ${hex(recordHash)}`,
          );
        }
        if (previous !== undefined) {
          const expected = chainHash(previous, seq, entry.recordHash);
          if (!equalBytes(expected, entry.chainHash)) {
            problems.add(
              "violation-chain-hash-mismatch",
              seq,
              () =>
                `violation ${seq} stores chain hash ${hex(entry.chainHash)}, but the chain gives ${hex(expected)}`,
            );
          }
        }
        previous = entry.chainHash;
        lastChainHash = entry.chainHash;
        checked += 1;
      },
      missing(from, to) {
        problems.add(
          "violation-entry-missing",
          from,
          () => `violation entries ${from} to ${to} are absent`,
          { count: to - from + 1 },
        );
        previous = undefined;
        lastChainHash = undefined;
      },
      unreadable,
    },
    (walked) => onProgress({ table, part: "violations", checked: walked, total: headSize }),
  );
  if (head !== UNREADABLE && head !== undefined && lastChainHash !== undefined) {
    const last = lastChainHash;
    if (!equalBytes(head.chainHash, last)) {
      problems.add(
        "violation-head-mismatch",
        head.size,
        () =>
          `the violation head stores chain hash ${hex(head.chainHash)}, but violation ${head.size} stores ${hex(last)}`,
      );
    }
  }
  const beyond = size + 1;
  const stored = readOrUnreadable(() => {
    for (const entry of store.violations(table, beyond, beyond)) return entry;
    return undefined;
  });
  if (stored !== undefined) {
    problems.add(
      "violation-entry-beyond-head",
      beyond,
      () => `violation entry ${beyond} is stored, but the violation log ends at ${size}`,
    );
  }
  return checked;
}
