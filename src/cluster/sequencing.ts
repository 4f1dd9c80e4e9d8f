// The leader's sequencing rule: which checkpoint size every node attests next for one table.
// Nodes report their local chain sizes (`progress`); the leader proposes a target size
// (`attestation_target`); every node signs its checkpoint at exactly that size once its chain
// has reached it (a node already past it signs the stored root and chain hash of that size).
// See docs/design/cluster.md for the protocol.

/** Targets proposed but not yet agreed by every counting node, per table. */
export const PENDING_TARGETS_MAX_DEFAULT = 8;
/** The smallest advance worth a new target, in entries. */
export const TARGET_STEP_ENTRIES_MIN_DEFAULT = 1;

export interface AttestationSequencingInput {
  /** Registered nodes not marked restored. */
  readonly countingNodes: readonly string[];
  /** The local chain size each counting node last reported for the table. */
  readonly localSizes: ReadonlyMap<string, number>;
  /** The last target proposed for the table (0: none). */
  readonly lastTargetSize: number;
  /** Targets above the table's agreed size. */
  readonly pendingTargets: number;
}

export interface AttestationSequencingPolicy {
  readonly pendingTargetsMax?: number;
  readonly targetStepEntriesMin?: number;
}

/**
 * The next target size, or undefined when none is due. The target is the largest size that a
 * majority of the counting nodes have reached (the median-high of their reported sizes), so a
 * majority can sign at once and a slow or silent minority neither holds attestation back nor
 * pushes it past what most nodes have seen. No target is proposed while `pendingTargetsMax`
 * targets wait for agreement (backpressure), or when it would advance by fewer than
 * `targetStepEntriesMin` entries.
 */
export function nextAttestationSize(
  input: AttestationSequencingInput,
  policy: AttestationSequencingPolicy = {},
): number | undefined {
  const pendingTargetsMax = policy.pendingTargetsMax ?? PENDING_TARGETS_MAX_DEFAULT;
  const stepMin = Math.max(1, policy.targetStepEntriesMin ?? TARGET_STEP_ENTRIES_MIN_DEFAULT);
  if (input.countingNodes.length === 0 || input.pendingTargets >= pendingTargetsMax) {
    return undefined;
  }
  const quorum = Math.floor(input.countingNodes.length / 2) + 1;
  const sizes = input.countingNodes
    .map((node) => input.localSizes.get(node))
    .filter((size): size is number => size !== undefined)
    .sort((a, b) => b - a);
  const reachedByQuorum = sizes[quorum - 1];
  if (reachedByQuorum === undefined) return undefined;
  if (reachedByQuorum < input.lastTargetSize + stepMin) return undefined;
  return reachedByQuorum;
}

/** Whether a node whose chain has `localSize` entries can sign the `targetSize` checkpoint. */
export const canAttest = (localSize: number, targetSize: number): boolean =>
  targetSize >= 1 && localSize >= targetSize;
