// Merkle tree benchmark: append, root, inclusion and consistency proofs at growing tree sizes,
// over the in-memory node store. Prints JSON when run directly:
//   node dist/bench/merkle.js            (1M and 10M leaves)
//   node dist/bench/merkle.js --quick    (100k and 1M leaves; also WITNZ_BENCH_QUICK=1)
import { availableParallelism, loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import {
  MemoryTreeNodeStore,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
} from "../src/merkle/index.js";

export interface MerkleBenchOptions {
  /** Smaller run: milestones of 100k and 1M leaves, fewer samples. */
  readonly quick?: boolean;
  /** Tree sizes at which everything is measured, ascending. */
  readonly milestoneLeafCounts?: readonly number[];
  /** Appends timed just before each milestone (and as many again with root() after each). */
  readonly appendChunkCount?: number;
  /** Proofs generated and verified at each milestone, per kind. */
  readonly proofCount?: number;
  /** root() calls on an unchanged tree at each milestone. */
  readonly rootRepeatCount?: number;
  /** Seed of the random proof positions. */
  readonly seed?: number;
}

export interface Rate {
  readonly count: number;
  readonly perSecond: number;
  readonly nanosecondsEach: number;
}

/**
 * A chunk of appends timed as APPEND_SLICES equal slices. The mean covers the whole chunk; the
 * median slice is what the cost ratio uses, as it shrugs off a slice in which another process
 * took the CPU.
 */
export interface AppendRate extends Rate {
  readonly nanosecondsEachMedianSlice: number;
  readonly nanosecondsEachFastestSlice: number;
}

export interface MerkleMilestoneResult {
  readonly leafCount: number;
  /** Appends alone over the last chunk before the milestone. */
  readonly append: AppendRate;
  /** Append followed by root(), over the chunk before that one. */
  readonly appendThenRoot: AppendRate;
  /** appendThenRoot minus append (median slices): the first root() after an append. */
  readonly rootAfterAppendNanoseconds: number;
  /** root() again on an unchanged tree (memoized). */
  readonly rootRepeated: Rate;
  /** rootAt(m) for random earlier sizes m, from stored nodes. */
  readonly rootAtEarlierSize: Rate;
  readonly inclusionProofGeneration: Rate;
  readonly inclusionProofVerification: Rate;
  readonly inclusionProofHashesAverage: number;
  readonly consistencyProofGeneration: Rate;
  readonly consistencyProofVerification: Rate;
  readonly consistencyProofHashesAverage: number;
  readonly storeAllocatedBytes: number;
  readonly storeBytesPerLeaf: number;
}

export interface MerkleBenchResult {
  readonly benchmark: "merkle";
  readonly quick: boolean;
  readonly nodeVersion: string;
  /** CPUs and 1-minute load average before and after: a loaded machine makes noisy figures. */
  readonly cpuCount: number;
  readonly loadAverageBefore: number;
  readonly loadAverageAfter: number;
  readonly milestones: readonly MerkleMilestoneResult[];
  /**
   * Per-append cost (median slice) at the largest milestone over that at the smallest: an
   * O(log n) worst-case, O(1) amortized append keeps it near 1.
   */
  readonly appendCostRatio: {
    readonly fromLeafCount: number;
    readonly toLeafCount: number;
    /** Ratio of the median slices; compared with the limit. */
    readonly ratio: number;
    /** Ratio of the fastest slices: the least disturbed by other processes. */
    readonly ratioFastestSlice: number;
    readonly limit: number;
    readonly withinLimit: boolean;
  };
  readonly totalSeconds: number;
  /** XOR of a byte of every timed root: proof the timed calls ran. */
  readonly rootByteChecksum: number;
}

const APPEND_COST_RATIO_LIMIT = 1.5;
const APPEND_SLICES = 10;
/** Bytes of every timed root are folded in here and reported, so no timed call can be dropped. */
let sink = 0;
const LEAF_BYTES = 32;

function nowNanoseconds(): bigint {
  return process.hrtime.bigint();
}

function roundTenth(value: number): number {
  return Math.round(value * 10) / 10;
}

function appendRate(sliceNanoseconds: readonly bigint[], sliceCount: number): AppendRate {
  const total = sliceNanoseconds.reduce((sum, slice) => sum + slice, 0n);
  const eachSorted = sliceNanoseconds
    .map((slice) => Number(slice) / sliceCount)
    .sort((a, b) => a - b);
  const middle = eachSorted.length / 2;
  const median =
    eachSorted.length % 2 === 1
      ? eachSorted[Math.floor(middle)]!
      : (eachSorted[middle - 1]! + eachSorted[middle]!) / 2;
  return {
    ...rate(sliceCount * sliceNanoseconds.length, total),
    nanosecondsEachMedianSlice: roundTenth(median),
    nanosecondsEachFastestSlice: roundTenth(eachSorted[0]!),
  };
}

function rate(count: number, elapsedNanoseconds: bigint): Rate {
  const nanoseconds = Number(elapsedNanoseconds);
  return {
    count,
    perSecond: Math.round((count * 1e9) / nanoseconds),
    nanosecondsEach: roundTenth(nanoseconds / count),
  };
}

/** xorshift32: reproducible positions without Math.random. */
function positions(seed: number) {
  let state = seed >>> 0 || 1;
  return (bound: number): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state % bound;
  };
}

/** Stands in for a row's 32-byte data hash: the leaf index spread over the bytes. */
function fillLeaf(leaf: Uint8Array, view: DataView, index: number): void {
  view.setFloat64(0, index);
  view.setUint32(8, index * 2654435761);
  leaf[31] = index & 0xff;
}

export async function benchMerkle(options: MerkleBenchOptions = {}): Promise<MerkleBenchResult> {
  const quick = options.quick ?? false;
  const milestoneLeafCounts =
    options.milestoneLeafCounts ?? (quick ? [100_000, 1_000_000] : [1_000_000, 10_000_000]);
  const appendChunkCount = options.appendChunkCount ?? (quick ? 50_000 : 100_000);
  const proofCount = options.proofCount ?? (quick ? 5_000 : 20_000);
  const rootRepeatCount = options.rootRepeatCount ?? (quick ? 200_000 : 1_000_000);
  const next = positions(options.seed ?? 0x5eed);

  const loadAverageBefore = loadavg()[0]!;
  const started = nowNanoseconds();
  const leaf = new Uint8Array(LEAF_BYTES);
  const leafView = new DataView(leaf.buffer);

  const appendUntil = (tree: MerkleTree, leafCount: number, rootAfterEach: boolean): bigint => {
    const start = nowNanoseconds();
    for (let index = tree.size; index < leafCount; index++) {
      fillLeaf(leaf, leafView, index);
      tree.append(leaf);
      if (rootAfterEach) sink ^= tree.root()[0]!;
    }
    return nowNanoseconds() - start;
  };

  // One tree per milestone, each grown to two chunks short of its milestone. The timed slices
  // then alternate between the trees, so that whatever else runs on the machine slows every
  // milestone alike and the cost ratio compares like with like.
  const sliceCount = Math.floor(appendChunkCount / APPEND_SLICES);
  const subjects = milestoneLeafCounts.map((leafCount) => {
    if (leafCount < 2 * sliceCount * APPEND_SLICES) {
      throw new Error(`milestone ${leafCount} leaves is smaller than two chunks of appends`);
    }
    const store = new MemoryTreeNodeStore();
    const tree = MerkleTree.create(store);
    appendUntil(tree, leafCount - 2 * sliceCount * APPEND_SLICES, false);
    return { leafCount, store, tree };
  });
  const timedChunks = (rootAfterEach: boolean): AppendRate[] => {
    const slices = subjects.map((): bigint[] => []);
    for (let slice = 0; slice < APPEND_SLICES; slice++) {
      subjects.forEach(({ tree }, subject) => {
        slices[subject]!.push(appendUntil(tree, tree.size + sliceCount, rootAfterEach));
      });
    }
    return slices.map((subjectSlices) => appendRate(subjectSlices, sliceCount));
  };
  const appendThenRootRates = timedChunks(true);
  const appendRates = timedChunks(false);

  const milestones: MerkleMilestoneResult[] = [];
  for (const [subject, { leafCount, store, tree }] of subjects.entries()) {
    const appendThenRoot = appendThenRootRates[subject]!;
    const append = appendRates[subject]!;
    if (tree.size !== leafCount) throw new Error(`tree reached ${tree.size}, not ${leafCount}`);

    let start = nowNanoseconds();
    for (let call = 0; call < rootRepeatCount; call++) sink ^= tree.root()[1]!;
    const rootRepeated = rate(rootRepeatCount, nowNanoseconds() - start);

    start = nowNanoseconds();
    for (let sample = 0; sample < proofCount; sample++) {
      sink ^= tree.rootAt(1 + next(leafCount - 1))[2]!;
    }
    const rootAtEarlierSize = rate(proofCount, nowNanoseconds() - start);

    const root = tree.root();
    const indices = Array.from({ length: proofCount }, () => next(leafCount));
    const leafHashes = indices.map((index) => tree.leafHash(index));
    start = nowNanoseconds();
    const inclusionProofs = indices.map((index) => tree.inclusionProof(index));
    const inclusionProofGeneration = rate(proofCount, nowNanoseconds() - start);
    start = nowNanoseconds();
    for (let sample = 0; sample < proofCount; sample++) {
      const index = indices[sample]!;
      const proof = inclusionProofs[sample]!;
      if (!verifyInclusion(leafHashes[sample]!, index, leafCount, proof, root)) {
        throw new Error(`inclusion proof of leaf ${index} did not verify`);
      }
    }
    const inclusionProofVerification = rate(proofCount, nowNanoseconds() - start);

    const fromSizes = Array.from({ length: proofCount }, () => 1 + next(leafCount));
    const fromRoots = fromSizes.map((size) => tree.rootAt(size));
    start = nowNanoseconds();
    const consistencyProofs = fromSizes.map((size) => tree.consistencyProof(size));
    const consistencyProofGeneration = rate(proofCount, nowNanoseconds() - start);
    start = nowNanoseconds();
    for (let sample = 0; sample < proofCount; sample++) {
      const fromSize = fromSizes[sample]!;
      const proof = consistencyProofs[sample]!;
      if (!verifyConsistency(fromSize, leafCount, proof, fromRoots[sample]!, root)) {
        throw new Error(`consistency proof from ${fromSize} did not verify`);
      }
    }
    const consistencyProofVerification = rate(proofCount, nowNanoseconds() - start);

    const average = (proofs: Uint8Array[][]) =>
      roundTenth(proofs.reduce((sum, proof) => sum + proof.length, 0) / proofs.length);
    milestones.push({
      leafCount,
      append,
      appendThenRoot,
      rootAfterAppendNanoseconds: roundTenth(
        appendThenRoot.nanosecondsEachMedianSlice - append.nanosecondsEachMedianSlice,
      ),
      rootRepeated,
      rootAtEarlierSize,
      inclusionProofGeneration,
      inclusionProofVerification,
      inclusionProofHashesAverage: average(inclusionProofs),
      consistencyProofGeneration,
      consistencyProofVerification,
      consistencyProofHashesAverage: average(consistencyProofs),
      storeAllocatedBytes: store.allocatedBytes,
      storeBytesPerLeaf: roundTenth(store.allocatedBytes / leafCount),
    });
  }

  const first = milestones[0]!;
  const last = milestones.at(-1)!;
  const ratio =
    Math.round(
      (last.append.nanosecondsEachMedianSlice / first.append.nanosecondsEachMedianSlice) * 1000,
    ) / 1000;
  return {
    benchmark: "merkle",
    quick,
    nodeVersion: process.version,
    cpuCount: availableParallelism(),
    loadAverageBefore: roundTenth(loadAverageBefore),
    loadAverageAfter: roundTenth(loadavg()[0]!),
    milestones,
    appendCostRatio: {
      fromLeafCount: first.leafCount,
      toLeafCount: last.leafCount,
      ratio,
      ratioFastestSlice:
        Math.round(
          (last.append.nanosecondsEachFastestSlice / first.append.nanosecondsEachFastestSlice) *
            1000,
        ) / 1000,
      limit: APPEND_COST_RATIO_LIMIT,
      withinLimit: ratio < APPEND_COST_RATIO_LIMIT,
    },
    totalSeconds: Math.round(Number(nowNanoseconds() - started) / 1e7) / 100,
    rootByteChecksum: sink,
  };
}

const runDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runDirectly) {
  const quick = process.argv.includes("--quick") || process.env.WITNZ_BENCH_QUICK === "1";
  const result = await benchMerkle({ quick });
  console.log(JSON.stringify(result, null, 2));
  if (!result.appendCostRatio.withinLimit) process.exitCode = 1;
}
