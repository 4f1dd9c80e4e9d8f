// House rules that a linter cannot see: one door per module, and a pure core.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, test } from "vitest";

const SRC = new URL("../../src/", import.meta.url).pathname;
const PURE_MODULES = ["hash", "merkle", "checkpoint"];

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

const importsOf = (text: string): string[] =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)].map((m) => m[1]!);

describe("architecture", () => {
  test("code outside a module imports only that module's index.ts", () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const [ownModule] = relative(SRC, file).split("/");
      for (const specifier of importsOf(readFileSync(file, "utf8"))) {
        const match = /^\.\.\/(?:\.\.\/)*([a-z-]+)\/(.+)$/.exec(specifier);
        if (match === null) continue;
        const [, targetModule, rest] = match;
        if (targetModule !== ownModule && rest !== "index.js") {
          violations.push(`${relative(SRC, file)} imports ${specifier}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  test("pure modules use no randomness, clock, timers or node: imports", () => {
    const violations: string[] = [];
    for (const module of PURE_MODULES) {
      for (const file of sourceFiles(join(SRC, module))) {
        const text = readFileSync(file, "utf8");
        for (const pattern of [
          /Math\.random/,
          /\bDate\b/,
          /setTimeout|setInterval|setImmediate/,
          /from\s+"node:/,
          /\bprocess\./,
        ]) {
          if (pattern.test(text)) violations.push(`${relative(SRC, file)} uses ${pattern.source}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });
});
