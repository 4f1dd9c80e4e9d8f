// The simulator as a test: a sweep of seeds with zero violations, determinism of replay, and
// proof that the checkers can fail (deliberately broken cores are caught).
import { describe, expect, test } from "vitest";
import { runSimulation, sweep } from "../../src/raft/simulator/index.js";

/** CI sweep: seeds 1..SEEDS_CI. A failure message names the seed that replays it. */
const SEEDS_CI = 500;

describe("deterministic simulation", () => {
  test(`${SEEDS_CI} seeds run with zero invariant violations`, () => {
    const summary = sweep(1, SEEDS_CI);
    const failures = summary.failures.map(
      (f) => `seed ${f.seed} (replay: npm run sim -- --seed ${f.seed} --verbose): ${f.message}`,
    );
    expect(failures).toEqual([]);
    expect(summary.passed).toBe(SEEDS_CI);
    // The sweep exercised what it claims to.
    expect(summary.totals.crashes).toBeGreaterThan(0);
    expect(summary.totals.partitions).toBeGreaterThan(0);
    expect(summary.totals.membershipChanges).toBeGreaterThan(0);
    expect(summary.totals.snapshotsInstalled).toBeGreaterThan(0);
    expect(summary.totals.readsConfirmed).toBeGreaterThan(0);
    expect(summary.totals.proposalsAcknowledged).toBeGreaterThan(SEEDS_CI);
  });

  test("a seed replays exactly", () => {
    const lines: string[] = [];
    const first = runSimulation({ seed: 42, trace: (line) => lines.push(line) });
    const replayLines: string[] = [];
    const second = runSimulation({ seed: 42, trace: (line) => replayLines.push(line) });
    expect(second).toEqual(first);
    expect(replayLines).toEqual(lines);
    expect(lines.length).toBeGreaterThan(3);
  });
});

describe("the checker can fail", () => {
  test("a core that grants two votes in one term is caught (election safety)", () => {
    const summary = sweep(1, 100, { faultInjection: { voteTwicePerTerm: true } });
    expect(summary.failed).toBeGreaterThan(0);
    const caught = new Set(summary.failures.map((f) => f.invariant));
    expect(caught.has("election-safety") || caught.has("durable-before-send")).toBe(true);
    // Each failure reports its seed, and replaying that seed fails the same way.
    const first = summary.failures[0]!;
    const replay = runSimulation({ seed: first.seed, faultInjection: { voteTwicePerTerm: true } });
    expect(replay.violation).toEqual({
      invariant: first.invariant,
      message: first.message,
      step: first.step,
    });
  });
});
