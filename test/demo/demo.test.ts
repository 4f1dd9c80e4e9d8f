// The main job, as a newcomer runs it: the real binary, a real PostgreSQL, three raft nodes and
// three witnesses as real processes, and the scripted story's every detection in the summary.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const run = promisify(execFile);

describe("witnz demo", () => {
  test("alerts the UPDATE and DELETE, pinpoints the offline tampering, names the lying leader", async () => {
    const { stdout } = await run(process.execPath, [BIN, "demo", "--duration", "60s"], {
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const summary = stdout.slice(stdout.indexOf("\nSummary\n"));
    expect(stdout).toMatch(/^Dashboard: http:\/\/127\.0\.0\.1:\d+\/$/m);
    expect(summary).toMatch(
      /ok {6}steady state: the 3 nodes agree .* the 3 witnesses vote unanimous/,
    );
    expect(summary).toMatch(/ok {6}UPDATE on public\.payments \(pk \["3"\]\) alerted once/);
    expect(summary).toMatch(/ok {6}DELETE on public\.audit_log \(pk \["2"\]\) alerted once/);
    expect(summary).toMatch(
      /ok {6}offline UPDATE on public\.audit_log \(pk \["5"\]\) alerted by the running nodes/,
    );
    expect(summary).toMatch(/ok {6}replication gap: n\d recorded it and alerted replication_gap/);
    expect(summary).toMatch(
      /ok {6}pinpointed rows: n\d's verification after the gap found public\.audit_log modified \["5"\] deleted \["2"\]; public\.payments modified \["3"\]/,
    );
    const leader = /ok {6}lying leader (n\d) named the minority by every witness \(w1, w2, w3/.exec(
      summary,
    )?.[1];
    expect(leader).toBeDefined();
    expect(summary).toContain(
      `ok      lying leader ${leader} named by the cluster: node_disagreement`,
    );
    expect(summary).toContain("every expected detection happened");
    expect(summary).not.toContain("MISSED");
    // The witnesses' own answers name the same node.
    expect(stdout).toMatch(new RegExp(`w1: tampering: tampering_detected; minority ${leader}=`));
    // Ctrl-C or not, everything is stopped and the temporary data removed.
    expect(stdout).toContain("Stopping the writer, the raft nodes, the witnesses and PostgreSQL");
  }, 300_000);

  test("--no-tamper: the nodes agree, the witnesses are unanimous, nothing is alerted", async () => {
    const { stdout } = await run(
      process.execPath,
      [BIN, "demo", "--duration", "3s", "--no-tamper"],
      { timeout: 180_000 },
    );
    expect(stdout).toContain("alerts received:  0");
    expect(stdout).toMatch(/ok {6}steady state: the 3 nodes agree/);
    expect(stdout).toContain("ok      no alerts: nothing was tampered with");
    expect(stdout).toContain("every expected detection happened");
    expect(stdout).not.toContain("4. A lying leader");
  }, 200_000);

  test("a bad duration is refused before anything starts", async () => {
    const failure = await run(process.execPath, [BIN, "demo", "--duration", "soon"]).catch(
      (error) => error,
    );
    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('"soon" is not a duration');
  });
});
