// The Raft core is pure: no clock, timers, randomness of its own, I/O or process access. Lint
// enforces most of this; this test also covers Math.random, which lint cannot name.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";

const CORE = new URL("../../src/raft/core/", import.meta.url).pathname;

test("src/raft/core uses no randomness, clock, timers, node: imports or process", () => {
  const violations: string[] = [];
  for (const name of readdirSync(CORE)) {
    if (!name.endsWith(".ts")) continue;
    const source = readFileSync(join(CORE, name), "utf8");
    for (const pattern of [
      /Math\.random/,
      /\bDate\b/,
      /setTimeout|setInterval|setImmediate|queueMicrotask/,
      /from\s+"node:/,
      /\bprocess\./,
      /from\s+"\.\.\//,
    ]) {
      if (pattern.test(source)) violations.push(`${name} uses ${pattern.source}`);
    }
  }
  expect(violations).toEqual([]);
});
