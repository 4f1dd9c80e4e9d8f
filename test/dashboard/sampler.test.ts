// The ingest sampler on a fake clock: rows per second per interval, lag from the reader (null
// when it fails), and never more than pointsMax points.
import { describe, expect, test, vi } from "vitest";
import { IngestSampler } from "../../src/dashboard/index.js";

describe("ingest sampler", () => {
  test("rows per second, lag, and a bound on the points kept", async () => {
    let nowMs = 1_000_000;
    let lag: number | Error = 4096;
    const errors: unknown[] = [];
    const sampler = new IngestSampler({
      intervalMs: 1000,
      pointsMax: 3,
      nowMs: () => nowMs,
      readLagBytes: async () => {
        if (lag instanceof Error) throw lag;
        return lag;
      },
      onError: (error) => errors.push(error),
    });
    sampler.recordRows(150);
    sampler.recordRows(50);
    nowMs += 2000;
    expect(await sampler.sample()).toEqual({
      time: new Date(1_002_000).toISOString(),
      rowsPerSecond: 100,
      lagBytes: 4096,
    });
    expect(sampler.latestLagBytes).toBe(4096);
    lag = new Error("database down");
    nowMs += 1000;
    expect((await sampler.sample()).lagBytes).toBeNull();
    expect(errors).toHaveLength(1);
    lag = 0;
    for (let point = 0; point < 5; point++) {
      sampler.recordRows(point);
      nowMs += 1000;
      await sampler.sample();
    }
    const series = sampler.series();
    expect(series.intervalMs).toBe(1000);
    expect(series.points.map((point) => point.rowsPerSecond)).toEqual([2, 3, 4]);
    expect(() => sampler.recordRows(-1)).toThrow(/count/);
  });

  test("start and stop sample on a timer without overlapping", async () => {
    vi.useFakeTimers();
    try {
      const sampler = new IngestSampler({ intervalMs: 1000, nowMs: () => Date.now() });
      sampler.start();
      sampler.recordRows(10);
      await vi.advanceTimersByTimeAsync(3500);
      expect(sampler.series().points.map((point) => point.rowsPerSecond)).toEqual([10, 0, 0]);
      await sampler.stop();
      await vi.advanceTimersByTimeAsync(5000);
      expect(sampler.series().points).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
