/**
 * What a store self-check found. Corruption is data, never an exception: each problem names
 * its table, what failed and the first position where it failed, plus how many positions
 * failed the same way.
 */

/** Every way a stored structure can fail its check. */
export type IntegrityProblemKind =
  /** A chain entry between 1 and the head's size is absent. */
  | "chain-entry-missing"
  /** A chain entry's bytes do not have the chain entry layout. */
  | "chain-entry-unreadable"
  /** A stored c_i differs from SHA-256(c_{i-1} || u64be(i) || d_i) over the stored c_{i-1}, d_i. */
  | "chain-hash-mismatch"
  /** A chain entry lies past the head's size. */
  | "chain-entry-beyond-head"
  /** A data hash block differs from the data hashes of the entries it covers. */
  | "data-hash-block-mismatch"
  /** A data hash block holds fewer or more hashes than the entries it covers, or bad bytes. */
  | "data-hash-block-size"
  /** The head's bytes do not have the chain head layout. */
  | "chain-head-unreadable"
  /** The head's chain hash differs from the chain hash of the entry at the head's size. */
  | "chain-head-mismatch"
  /** A stored tree node (level 4 and up) the chain's size implies is absent. */
  | "tree-node-missing"
  /** A tree node's bytes are not a 32-byte hash. */
  | "tree-node-unreadable"
  /** A stored interior node differs from the hash of its children. */
  | "tree-node-mismatch"
  /** A tree node lies past the last complete subtree of the chain's size. */
  | "tree-node-beyond-size"
  /** The latest checkpoint cannot be decoded or parsed as a Witnz checkpoint. */
  | "checkpoint-unreadable"
  /** The latest checkpoint is for a size the chain does not reach. */
  | "checkpoint-beyond-head"
  /** The size inside the latest checkpoint's note differs from the size in its key. */
  | "checkpoint-size-mismatch"
  /** The latest checkpoint's root differs from the root of the stored tree at its size. */
  | "checkpoint-root-mismatch"
  /** The latest checkpoint's chain hash differs from the chain hash of the entry at its size. */
  | "checkpoint-chain-hash-mismatch"
  /** A chain entry's primary key has no index entry. */
  | "primary-key-index-missing"
  /** An index entry points at an entry that does not carry its key, or not at the latest one. */
  | "primary-key-index-mismatch"
  /** The index holds more keys than the chain's entries account for. */
  | "primary-key-index-extra"
  /** A violation entry between 1 and the violation head's size is absent. */
  | "violation-entry-missing"
  /** A violation entry's bytes do not have the violation entry layout. */
  | "violation-entry-unreadable"
  /** A violation's record hash differs from SHA-256 of its record bytes. */
  | "violation-record-hash-mismatch"
  /** A violation's chain hash differs from the chain over the stored previous hash. */
  | "violation-chain-hash-mismatch"
  /** A violation entry lies past the violation head's size. */
  | "violation-entry-beyond-head"
  /** The violation head cannot be decoded or differs from the log's last entry. */
  | "violation-head-mismatch";

export interface IntegrityProblem {
  readonly table: string;
  readonly kind: IntegrityProblemKind;
  /**
   * The first bad position: a chain or violation seq (1-based) for chain, head, primary-key
   * and violation problems; a node index at `level` for tree problems (leaf index = seq - 1
   * at level 0); a checkpoint's size for checkpoint problems.
   */
  readonly position: number;
  /** The tree level of `position`, for tree problems only. */
  readonly level?: number;
  /** How many positions failed this way (the first one is `position`). */
  readonly count: number;
  /** What differs at the first position, in a sentence. */
  readonly detail: string;
}

export interface TableIntegrity {
  readonly table: string;
  /** The chain head's size, or the entries found when the head is unreadable. */
  readonly chainSize: number;
  readonly entriesChecked: number;
  readonly treeNodesChecked: number;
  /** The size of the latest checkpoint, when the table has one. */
  readonly checkpointSize: number | undefined;
  readonly violationsChecked: number;
  readonly problems: readonly IntegrityProblem[];
}

export interface IntegrityReport {
  /** True when no table has a problem. */
  readonly ok: boolean;
  readonly tables: readonly TableIntegrity[];
  readonly entriesChecked: number;
  readonly problemCount: number;
}

/** A short human-readable text of a report: one line per table, one per problem. */
export function formatIntegrityReport(report: IntegrityReport): string {
  const tableWord = report.tables.length === 1 ? "table" : "tables";
  const lines = [
    `store integrity: ${report.ok ? "ok" : "CORRUPT"}; ${report.tables.length} ${tableWord}, ${report.entriesChecked} chain entries checked, ${report.problemCount} ${report.problemCount === 1 ? "problem" : "problems"}`,
  ];
  for (const table of report.tables) {
    const checkpoint =
      table.checkpointSize === undefined
        ? "no checkpoint"
        : `checkpoint at ${table.checkpointSize}`;
    lines.push(
      `  ${JSON.stringify(table.table)}: ${table.problems.length === 0 ? "ok" : "CORRUPT"}; ${table.chainSize} entries, ${table.treeNodesChecked} tree nodes, ${checkpoint}, ${table.violationsChecked} violations`,
    );
    for (const problem of table.problems) {
      const where =
        problem.level === undefined
          ? `at ${problem.position}`
          : `at level ${problem.level}, index ${problem.position}`;
      const more = problem.count > 1 ? ` (and ${problem.count - 1} more)` : "";
      lines.push(`    ${problem.kind} ${where}${more}: ${problem.detail}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
