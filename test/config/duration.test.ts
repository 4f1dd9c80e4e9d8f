import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ConfigError, formatDuration, parseDuration } from "../../src/config/index.js";
import { configErrorOf } from "./helpers.js";

describe("parseDuration", () => {
  test.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["30m", 1_800_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1h30m", 5_400_000],
    ["1d2h3m4s5ms", 93_784_005],
    ["90s", 90_000],
    ["0ms", 0],
  ])("%s is %i ms", (text, milliseconds) => {
    expect(parseDuration(text)).toBe(milliseconds);
  });

  test.each([
    ["30", '30 has no unit; write a unit, e.g. "30s"'],
    ["30 minutes", '"30 minutes" is not a duration; write e.g. "30m", "10s", "1h30m"'],
    ["1.5h", '"1.5h" is not a duration; write e.g. "30m", "10s", "1h30m"'],
    [" 30m", '" 30m" is not a duration; write e.g. "30m", "10s", "1h30m"'],
    ["30m1h", '"30m1h" is not a duration; write each unit once, larger units first, e.g. "1h30m"'],
    ["5s5s", '"5s5s" is not a duration; write each unit once, larger units first, e.g. "1h30m"'],
    ["1w", '"1w" is not a duration; write e.g. "30m", "10s", "1h30m"'],
    ["", '"" is not a duration; write e.g. "30m", "10s", "1h30m"'],
    ["99999999999999999d", '"99999999999999999d" is too long a duration'],
  ])("%j is refused with one problem", (text, problem) => {
    const error = configErrorOf(() => parseDuration(text));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe("WITNZ_CONFIG_INVALID");
    expect(error.problems).toEqual([problem]);
  });
});

describe("formatDuration", () => {
  test.each([
    [0, "0ms"],
    [500, "500ms"],
    [1_500, "1s500ms"],
    [1_800_000, "30m"],
    [5_400_000, "1h30m"],
    [172_800_000, "2d"],
  ])("%i ms is %s", (milliseconds, text) => {
    expect(formatDuration(milliseconds)).toBe(text);
  });

  test("refuses what is not a whole, non-negative number of milliseconds", () => {
    expect(() => formatDuration(-1)).toThrow(RangeError);
    expect(() => formatDuration(1.5)).toThrow(RangeError);
  });

  test("parseDuration reads back what formatDuration writes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (milliseconds) => {
        expect(parseDuration(formatDuration(milliseconds))).toBe(milliseconds);
      }),
      { seed: 20_240_601, numRuns: 500 },
    );
  });
});
