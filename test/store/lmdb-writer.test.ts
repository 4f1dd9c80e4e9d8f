// The LMDB writer thread on its own: a writer that cannot open its store.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { LmdbWriter, packWrite } from "../../src/store/lmdb-writer.js";
import { makeTemporaryDirectory } from "./harness.js";

let directory: string;

beforeEach(async () => {
  directory = await makeTemporaryDirectory();
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const put = (key: number) => ({
  type: "put" as const,
  key: Uint8Array.of(key),
  value: Uint8Array.of(key),
});

describe("LmdbWriter", () => {
  test("a writer that cannot open its store fails every write, naming why, and closes", async () => {
    const file = join(directory, "not-a-directory");
    await writeFile(file, "x");
    const writer = new LmdbWriter(
      {
        path: join(file, "store"),
        keyEncoding: "binary",
        encoding: "binary",
        maxDbs: 1,
      },
      () => undefined,
    );
    const outcomes = await Promise.all([
      writer.write(packWrite([put(1)], [])),
      writer.write(packWrite([put(2)], [])),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.kind).toBe("failed");
      expect(outcome.kind === "failed" && outcome.message).toMatch(
        /^the writer thread could not open it: /,
      );
    }
    expect(await writer.write(packWrite([put(3)], []))).toMatchObject({ kind: "failed" });
    await writer.close();
  });
});
