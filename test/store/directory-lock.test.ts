// The data directory's lock file, against real processes: a live holder is refused, a dead one's
// file is taken over, and release removes only this process's file.
import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { DIRECTORY_LOCK_FILE, lockDataDirectory } from "../../src/store/index.js";
import { makeTemporaryDirectory } from "./harness.js";

let directory: string;

beforeEach(async () => {
  directory = await makeTemporaryDirectory();
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A process that runs until killed, and its pid. */
function otherProcess() {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  return child;
}

describe("lockDataDirectory", () => {
  test("holds the directory with this process's pid; release removes the file", async () => {
    const lock = await lockDataDirectory(join(directory, "data"));
    expect(await readFile(lock.path, "utf8")).toMatch(
      new RegExp(`^${process.pid} [0-9a-f]{32}\n$`),
    );
    await lock.release();
    await expect(readFile(lock.path, "utf8")).rejects.toThrow(/ENOENT/);
  });

  test("a directory this process holds is refused to it too; one it no longer holds is taken", async () => {
    const lock = await lockDataDirectory(directory);
    await expect(lockDataDirectory(directory)).rejects.toMatchObject({
      code: "WITNZ_STORE_IN_USE",
    });
    // The refused attempt left the holder's file alone.
    expect(await readFile(lock.path, "utf8")).toMatch(new RegExp(`^${process.pid} `));
    await lock.release();
    // A file naming this process that it does not hold (a node of it that ended unreleased).
    await writeFile(join(directory, DIRECTORY_LOCK_FILE), `${process.pid} stale\n`);
    const again = await lockDataDirectory(directory);
    expect(await readFile(again.path, "utf8")).not.toContain("stale");
    await again.release();
  });

  test("a directory held by a running process is refused, naming it; its file is kept", async () => {
    const other = otherProcess();
    try {
      const path = join(directory, DIRECTORY_LOCK_FILE);
      await writeFile(path, `${other.pid}\n`);
      await expect(lockDataDirectory(directory)).rejects.toMatchObject({
        code: "WITNZ_STORE_IN_USE",
        message: `${directory} is in use by process ${other.pid} (${path}); stop it first, or remove the file if that process is not a witnz node`,
      });
      expect(await readFile(path, "utf8")).toBe(`${other.pid}\n`);
    } finally {
      other.kill("SIGKILL");
    }
  });

  test("a file left by a process that is gone is taken over; release leaves another's file", async () => {
    const gone = otherProcess();
    gone.kill("SIGKILL");
    await new Promise((resolve) => gone.once("exit", resolve));
    const path = join(directory, DIRECTORY_LOCK_FILE);
    await writeFile(path, `${gone.pid}\n`);
    const lock = await lockDataDirectory(directory);
    expect(await readFile(path, "utf8")).toMatch(new RegExp(`^${process.pid} `));
    // Someone else's file by now (removed by hand and taken): release does not touch it.
    await writeFile(path, "1\n");
    await lock.release();
    expect(await readFile(path, "utf8")).toBe("1\n");
  });

  test("a file naming no process is refused rather than guessed at", async () => {
    await writeFile(join(directory, DIRECTORY_LOCK_FILE), "");
    await expect(lockDataDirectory(directory)).rejects.toMatchObject({
      code: "WITNZ_STORE_IN_USE",
    });
  });
});
