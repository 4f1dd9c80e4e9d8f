// Runs a range of seeds and summarizes them; the summary names every failing seed.
import { runSimulation, type SimulationOptions, type SimulationResult } from "./simulation.js";

export interface SweepSummary {
  readonly startSeed: number;
  readonly runs: number;
  readonly passed: number;
  readonly failed: number;
  readonly failures: readonly { seed: number; invariant: string; message: string; step: number }[];
  readonly totals: {
    steps: number;
    proposalsAcknowledged: number;
    leadersElected: number;
    crashes: number;
    partitions: number;
    membershipChanges: number;
    snapshotsInstalled: number;
    readsConfirmed: number;
  };
}

/** Failures kept in a summary (the count is always exact). */
export const SWEEP_FAILURES_KEPT_MAX = 100;

export function sweep(
  startSeed: number,
  runs: number,
  options: Omit<SimulationOptions, "seed"> = {},
  onResult?: (result: SimulationResult) => void,
): SweepSummary {
  const failures: { seed: number; invariant: string; message: string; step: number }[] = [];
  const totals = {
    steps: 0,
    proposalsAcknowledged: 0,
    leadersElected: 0,
    crashes: 0,
    partitions: 0,
    membershipChanges: 0,
    snapshotsInstalled: 0,
    readsConfirmed: 0,
  };
  let failed = 0;
  for (let seed = startSeed; seed < startSeed + runs; seed++) {
    const result = runSimulation({ ...options, seed });
    onResult?.(result);
    for (const key of Object.keys(totals) as (keyof typeof totals)[]) {
      totals[key] += result.stats[key];
    }
    if (result.violation !== undefined) {
      failed++;
      if (failures.length < SWEEP_FAILURES_KEPT_MAX) failures.push({ seed, ...result.violation });
    }
  }
  return { startSeed, runs, passed: runs - failed, failed, failures, totals };
}
