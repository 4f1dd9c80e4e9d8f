import { describe, expect, test } from "vitest";
import { canAttest, nextAttestationSize } from "../../src/cluster/index.js";

const NODES = ["a", "b", "c"];
const sizes = (entries: Record<string, number>): Map<string, number> =>
  new Map(Object.entries(entries));

describe("nextAttestationSize", () => {
  test("proposes the largest size a majority has reached", () => {
    const input = {
      countingNodes: NODES,
      localSizes: sizes({ a: 900, b: 1200, c: 1000 }),
      lastTargetSize: 500,
      pendingTargets: 0,
    };
    expect(nextAttestationSize(input)).toBe(1000);
  });

  test("a silent or far-behind minority neither blocks nor sets the target", () => {
    expect(
      nextAttestationSize({
        countingNodes: NODES,
        localSizes: sizes({ a: 10, b: 5000, c: 5100 }),
        lastTargetSize: 0,
        pendingTargets: 0,
      }),
    ).toBe(5000);
    expect(
      nextAttestationSize({
        countingNodes: NODES,
        localSizes: sizes({ b: 70, c: 80 }),
        lastTargetSize: 0,
        pendingTargets: 0,
      }),
    ).toBe(70);
    expect(
      nextAttestationSize({
        countingNodes: NODES,
        localSizes: sizes({ c: 80 }),
        lastTargetSize: 0,
        pendingTargets: 0,
      }),
    ).toBeUndefined();
  });

  test("targets only increase, by at least the step, and wait while too many are pending", () => {
    const input = {
      countingNodes: NODES,
      localSizes: sizes({ a: 100, b: 100, c: 100 }),
      lastTargetSize: 100,
      pendingTargets: 0,
    };
    expect(nextAttestationSize(input)).toBeUndefined();
    expect(nextAttestationSize({ ...input, lastTargetSize: 99 })).toBe(100);
    expect(
      nextAttestationSize({ ...input, lastTargetSize: 99 }, { targetStepEntriesMin: 10 }),
    ).toBe(undefined);
    expect(nextAttestationSize({ ...input, lastTargetSize: 0, pendingTargets: 8 })).toBeUndefined();
    expect(
      nextAttestationSize(
        { ...input, lastTargetSize: 0, pendingTargets: 8 },
        { pendingTargetsMax: 9 },
      ),
    ).toBe(100);
  });

  test("no counting nodes, no target; a node signs once its chain reached the target", () => {
    expect(
      nextAttestationSize({
        countingNodes: [],
        localSizes: new Map(),
        lastTargetSize: 0,
        pendingTargets: 0,
      }),
    ).toBeUndefined();
    expect(canAttest(99, 100)).toBe(false);
    expect(canAttest(100, 100)).toBe(true);
    expect(canAttest(150, 100)).toBe(true);
  });
});
