// A test state machine and cluster helpers shared by the runner and transport tests.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry, RaftRunner, StateMachine } from "../../src/raft/index.js";

/** Keeps every applied payload in order; its snapshot is the list as JSON. */
export class RecordingStateMachine implements StateMachine {
  applied: string[] = [];
  restores = 0;
  async apply(entries: readonly Entry[]): Promise<void> {
    for (const entry of entries) this.applied.push(new TextDecoder().decode(entry.data));
  }
  async snapshot(): Promise<Uint8Array> {
    return new TextEncoder().encode(JSON.stringify(this.applied));
  }
  async restore(bytes: Uint8Array): Promise<void> {
    this.restores += 1;
    this.applied = JSON.parse(new TextDecoder().decode(bytes)) as string[];
  }
}

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Polls `condition` every 10 ms until it holds or `timeoutMs` passes. */
export async function eventually<T>(
  condition: () => T | undefined | null | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function leaderOf(runners: readonly RaftRunner[]): RaftRunner | undefined {
  const leaders = runners.filter((runner) => runner.state() === "leader");
  return leaders.length === 1 ? leaders[0] : undefined;
}
