// House rules that a linter cannot see: one door per module, and a pure core.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, test } from "vitest";

const SRC = new URL("../../src/", import.meta.url).pathname;
const PURE_MODULES = ["hash", "merkle", "checkpoint", "cluster"];
// Pure folders inside edge modules: the Raft core (its runner and transport are the edge).
const PURE_FOLDERS = ["raft/core", "witness/core"];
// Pure files inside edge modules: the pgoutput decoder and the COPY text parser.
const PURE_FILES = [
  "postgres/pgoutput.ts",
  "postgres/replication-protocol.ts",
  "postgres/copy-text-parser.ts",
  "postgres/lsn.ts",
];

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
        if (!specifier.startsWith(".")) continue;
        const target = relative(SRC, resolve(dirname(file), specifier));
        const [targetModule, ...rest] = target.split("/");
        // Generated code (src/gen) has no door of its own: its files are the door.
        const door = targetModule === "gen" || rest.join("/") === "index.js";
        if (targetModule !== ownModule && !door) {
          violations.push(`${relative(SRC, file)} imports ${specifier}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  test("pure modules use no randomness, clock, timers or node: imports", () => {
    const violations: string[] = [];
    const files = [
      ...[...PURE_MODULES, ...PURE_FOLDERS].flatMap((folder) => sourceFiles(join(SRC, folder))),
      ...PURE_FILES.map((file) => join(SRC, file)),
    ];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      for (const pattern of [
        /Math\.random/,
        /\bDate\b/,
        /setTimeout|setInterval|setImmediate|queueMicrotask/,
        /from\s+"node:/,
        /\bprocess\./,
      ]) {
        if (pattern.test(text)) violations.push(`${relative(SRC, file)} uses ${pattern.source}`);
      }
    }
    expect(violations).toEqual([]);
  });

  test("the Raft core imports nothing from outside its own folder", () => {
    const violations = sourceFiles(join(SRC, "raft/core")).flatMap((file) =>
      importsOf(readFileSync(file, "utf8"))
        .filter((specifier) => specifier.startsWith("../"))
        .map((specifier) => `${relative(SRC, file)} imports ${specifier}`),
    );
    expect(violations).toEqual([]);
  });
});
