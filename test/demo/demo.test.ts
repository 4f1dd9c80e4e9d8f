// The main job, as a newcomer runs it: the real binary, a real PostgreSQL, a real node process.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const run = promisify(execFile);

describe("witnz demo", () => {
  test("detects the scripted UPDATE, DELETE and offline tampering and pinpoints them", async () => {
    const { stdout } = await run(process.execPath, [BIN, "demo", "--duration", "8s"], {
      timeout: 120_000,
    });
    expect(stdout).toMatch(
      />> ALERT append_only_violation: UPDATE on append-only table public\.payments on primary key \["3"\]/,
    );
    expect(stdout).toMatch(
      />> ALERT append_only_violation: DELETE on append-only table public\.audit_log on primary key \["2"\]/,
    );
    expect(stdout).toMatch(
      />> ALERT append_only_violation: UPDATE on append-only table public\.audit_log on primary key \["5"\]/,
    );
    expect(stdout).toMatch(
      /public\.audit_log: TAMPERED, \d+ rows checked\n\s+modified \(1\): \["5"\]\n\s+deleted \(1\): \["2"\]/,
    );
    expect(stdout).toMatch(
      /public\.payments: TAMPERED, \d+ rows checked\n\s+modified \(1\): \["3"\]/,
    );
    expect(stdout).toContain("verification:      tampering found and pinpointed");
  });

  test("--no-tamper captures and verifies clean", async () => {
    const { stdout } = await run(
      process.execPath,
      [BIN, "demo", "--duration", "3s", "--no-tamper"],
      {
        timeout: 120_000,
      },
    );
    expect(stdout).toMatch(/public\.audit_log: ok, \d+ rows checked/);
    expect(stdout).toContain("alerts received:   0");
    expect(stdout).toContain("verification:      clean");
  });

  test("a bad duration is refused before anything starts", async () => {
    const failure = await run(process.execPath, [BIN, "demo", "--duration", "soon"]).catch(
      (error) => error,
    );
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('"soon" is not a duration');
  });
});
