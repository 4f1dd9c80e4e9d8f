// Whether a witness may cosign a checkpoint: only if it is proved to extend the last checkpoint
// the witness cosigned for the table. The proof is the submitting node's own chain of RFC 6962
// consistency proofs, each from the node's previous observation to the next, followed back from
// the new size to the cosigned size. Consistency is transitive, so a chain of verified links
// proves the new tree extends the cosigned one; without such a chain the witness does not cosign.
import { verifyConsistency } from "../../merkle/index.js";
import { CONSISTENCY_LINKS_MAX } from "./limits.js";

export interface CosignedAnchor {
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** One node's stored observation of a table: its root, and its proof from its previous size. */
export interface LinkedObservation {
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly consistencyFromSize: number;
  readonly consistencyProof: readonly Uint8Array[];
}

export type CosignDecision =
  | { readonly cosign: true; readonly links: number }
  | { readonly cosign: false; readonly reason: string; readonly inconsistent: boolean };

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(b);

function proves(fromSize: number, fromRoot: Uint8Array, to: LinkedObservation): boolean {
  try {
    return verifyConsistency(fromSize, to.size, to.consistencyProof, fromRoot, to.rootHash);
  } catch {
    // A proof of the wrong length or shape proves nothing.
    return false;
  }
}

/**
 * Decides for `target` (one node's observation holding the majority value) against `anchor`
 * (the last cosigned checkpoint of the table; undefined when none: the first checkpoint is
 * cosigned on first use). `previous(size)` returns the same node's stored observation at `size`.
 */
export function decideCosign(
  anchor: CosignedAnchor | undefined,
  target: LinkedObservation,
  previous: (size: number) => LinkedObservation | undefined,
  linksMax: number = CONSISTENCY_LINKS_MAX,
): CosignDecision {
  if (anchor === undefined) return { cosign: true, links: 0 };
  if (target.size < anchor.size) {
    return {
      cosign: false,
      reason: `size ${target.size} is below the last cosigned size ${anchor.size}`,
      inconsistent: false,
    };
  }
  if (target.size === anchor.size) {
    return equal(target.rootHash, anchor.rootHash)
      ? { cosign: false, reason: `size ${target.size} is already cosigned`, inconsistent: false }
      : {
          cosign: false,
          reason: `size ${target.size} was cosigned with another root`,
          inconsistent: true,
        };
  }
  let current = target;
  for (let links = 1; links <= linksMax; links++) {
    const from = current.consistencyFromSize;
    if (from === anchor.size) {
      return proves(anchor.size, anchor.rootHash, current)
        ? { cosign: true, links }
        : {
            cosign: false,
            reason: `the consistency proof from the cosigned size ${anchor.size} to ${current.size} does not verify`,
            inconsistent: true,
          };
    }
    if (from < anchor.size) {
      return {
        cosign: false,
        reason: `the node's proof to ${current.size} starts at ${from}, below the cosigned size ${anchor.size}`,
        inconsistent: false,
      };
    }
    const link = previous(from);
    if (link === undefined) {
      return {
        cosign: false,
        reason: `the node's observation at size ${from} is missing`,
        inconsistent: false,
      };
    }
    if (!proves(from, link.rootHash, current)) {
      return {
        cosign: false,
        reason: `the node's consistency proof from ${from} to ${current.size} does not verify`,
        inconsistent: false,
      };
    }
    current = link;
  }
  return {
    cosign: false,
    reason: `more than ${linksMax} links back to the cosigned size ${anchor.size}`,
    inconsistent: false,
  };
}
