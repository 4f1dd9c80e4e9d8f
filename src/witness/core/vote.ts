// Majority vote over the values nodes reported for one (customer, table, size). A value is the
// (Merkle root, chain hash) pair: both derive from the same data hashes, so honest nodes agree on
// both. This is majority semantics, not truth: when two of three nodes report the same altered
// value, the honest node is the minority. `witnz verify` against the database settles which side
// matches the rows.

export type VerdictOutcome =
  | "unanimous"
  | "tampering_detected"
  | "incomplete_submission"
  | "no_majority";

export interface NodeValue {
  readonly node: string;
  readonly rootHash: Uint8Array;
  readonly chainHash: Uint8Array;
}

export interface VoteResult {
  readonly outcome: VerdictOutcome;
  /** The value held by more than half of the expected nodes, if one is. */
  readonly majority?: { readonly rootHash: Uint8Array; readonly chainHash: Uint8Array };
  /** Expected nodes holding the majority value, sorted. */
  readonly majorityNodes: readonly string[];
  /**
   * Reporting nodes whose value differs from the majority's, sorted by node. Without a majority:
   * every reporting node when their values differ, and none when they agree.
   */
  readonly minority: readonly NodeValue[];
  /** Expected nodes that have not reported, sorted. */
  readonly missing: readonly string[];
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
export const valueKey = (value: {
  readonly rootHash: Uint8Array;
  readonly chainHash: Uint8Array;
}): string => `${hex(value.rootHash)}:${hex(value.chainHash)}`;

const byNode = (a: { node: string }, b: { node: string }): number =>
  a.node < b.node ? -1 : a.node > b.node ? 1 : 0;

/** More than half of the expected nodes. */
export function majorityThreshold(expectedNodes: number): number {
  return Math.floor(expectedNodes / 2) + 1;
}

/** A vote is held once every expected node has reported, or once the collection timed out. */
export function voteDue(
  expectedNodes: readonly string[],
  reportedNodes: ReadonlySet<string>,
  nowMs: number,
  deadlineMs: number,
): boolean {
  return nowMs >= deadlineMs || expectedNodes.every((node) => reportedNodes.has(node));
}

/**
 * The outcome, from the reports of expected nodes (reports from other nodes are not counted):
 * - the reporters disagree: `tampering_detected` if one value is held by more than half of the
 *   expected nodes (the others are the named minority), `no_majority` otherwise;
 * - the reporters agree: `unanimous` if every expected node reported, `incomplete_submission`
 *   otherwise (with a majority value when more than half reported).
 */
export function decideVote(
  expectedNodes: readonly string[],
  reports: readonly NodeValue[],
): VoteResult {
  const expected = new Set(expectedNodes);
  const counted = reports.filter((report) => expected.has(report.node)).sort(byNode);
  const reported = new Set(counted.map((report) => report.node));
  const missing = [...expected].filter((node) => !reported.has(node)).sort();
  const groups = new Map<string, NodeValue[]>();
  for (const report of counted) {
    const key = valueKey(report);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [report]);
    else group.push(report);
  }
  const threshold = majorityThreshold(expected.size);
  let majorityGroup: NodeValue[] | undefined;
  for (const group of groups.values()) {
    if (group.length >= threshold) majorityGroup = group;
  }
  const majority =
    majorityGroup === undefined
      ? undefined
      : { rootHash: majorityGroup[0]!.rootHash, chainHash: majorityGroup[0]!.chainHash };
  const majorityNodes = (majorityGroup ?? []).map((report) => report.node);
  if (groups.size > 1) {
    if (majorityGroup === undefined) {
      return { outcome: "no_majority", majorityNodes: [], minority: counted, missing };
    }
    const minority = counted.filter((report) => !majorityNodes.includes(report.node));
    return { outcome: "tampering_detected", majority: majority!, majorityNodes, minority, missing };
  }
  const outcome =
    missing.length === 0 && counted.length > 0 ? "unanimous" : "incomplete_submission";
  return {
    outcome,
    ...(majority === undefined ? {} : { majority }),
    majorityNodes,
    minority: [],
    missing,
  };
}
