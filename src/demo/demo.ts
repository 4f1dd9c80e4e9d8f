// `witnz demo`: the whole system on one machine, step by step. An embedded PostgreSQL, three raft
// nodes (real `witnz start` processes in one Raft cluster), three witnesses, a webhook receiver
// printing every alert, and a writer inserting into two append-only tables; then scripted
// tampering (steps.ts) that the nodes alert, verification pinpoints and the witnesses expose.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DemoStack } from "./stack.js";
import {
  appendOnlyTampering,
  type DemoContext,
  type Detection,
  expectNoAlerts,
  keepWriting,
  lyingLeader,
  offlineTampering,
  steadyState,
} from "./steps.js";
import type { DemoSummary } from "./summary.js";
import { DemoInterrupted, sleep } from "./wait.js";
import { WRITE_INTERVAL_MS, Writer } from "./writer.js";

export interface DemoOptions {
  /** How long the writer runs, in milliseconds; the scripted steps fit inside it. */
  readonly durationMs: number;
  readonly tamper: boolean;
  /** The first node's HTTP port (the dashboard, /cluster, health, metrics); 0 picks a free one. */
  readonly port: number;
  readonly keep: boolean;
  readonly out: (line: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C). */
  readonly interrupted: Promise<void>;
}

/** A failure to run the demo at all (a process that did not start, a database error). */
export class DemoError extends Error {
  readonly code = "WITNZ_DEMO_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DemoError";
  }
}

/** The lying leader is the last step, this long before the writer's time is up. */
const LIE_BEFORE_END_MS = 6_000;

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const say = options.out;
  const controller = new AbortController();
  void options.interrupted.then(() => controller.abort());
  const directory = await mkdtemp(join(tmpdir(), "witnz-demo-"));
  const stack = new DemoStack(directory, say);
  const detections: Detection[] = [];
  let writer: Writer | undefined;
  let writerStartedAt = Date.now();
  let writerSeconds = 0;
  let interrupted = false;
  try {
    await stack.start(options.port, controller.signal);
    say("");
    say(`Dashboard: ${stack.nodes[0]!.url}/`);
    say("");
    const seconds = Math.round(options.durationMs / 1000);
    say(`A writer inserts one row into each table every ${WRITE_INTERVAL_MS} ms for ${seconds}s.`);
    writer = new Writer(stack.client!);
    writerStartedAt = Date.now();
    const deadline = writerStartedAt + options.durationMs;
    writer.start();
    const context: DemoContext = { stack, writer, say, signal: controller.signal, detections };
    await steadyState(context, "1. Steady state: the nodes agree and the witnesses vote unanimous");
    if (options.tamper) {
      await appendOnlyTampering(context);
      await offlineTampering(context);
      await keepWriting(context, deadline - LIE_BEFORE_END_MS);
      await lyingLeader(context);
      // The writer's time runs out; a lying node keeps disagreeing at every later size meanwhile,
      // recorded under the episode's first incident.
      if (deadline > Date.now()) {
        say("");
        say(
          `   the writer runs ${Math.round((deadline - Date.now()) / 1000)}s more; the cluster and the witnesses record the liar at every later size, without a new alert while it stays the same`,
        );
      }
      await sleep(Math.max(0, deadline - Date.now()), controller.signal);
    } else {
      await keepWriting(context, deadline);
      await writer.stop();
      writerSeconds = Math.round((Date.now() - writerStartedAt) / 1000);
      await steadyState(
        context,
        `2. After ${writerSeconds}s of writing: every row agreed, the witnesses still unanimous`,
        true,
      );
      expectNoAlerts(context);
    }
  } catch (error) {
    if (!(error instanceof DemoInterrupted)) {
      await shutDown();
      throw error instanceof DemoError
        ? error
        : new DemoError(
            `the demo failed: ${error instanceof Error ? error.message : String(error)}`,
            {
              cause: error,
            },
          );
    }
    interrupted = true;
    say("");
    say("Interrupted (Ctrl-C).");
  }
  await shutDown();
  return {
    rowsWritten: new Map(writer?.inserted ?? []),
    writerSeconds,
    alerts: stack.receiver?.alerts.length ?? 0,
    alertKinds: stack.receiver?.countsByKind() ?? "",
    alertRepeats: stack.receiver?.repeats ?? 0,
    detections,
    ok: !interrupted && detections.length > 0 && detections.every((detection) => detection.ok),
    interrupted,
    dataDirectory: options.keep ? directory : undefined,
  };

  async function shutDown(): Promise<void> {
    if (writer !== undefined) {
      await writer.stop();
      if (writerSeconds === 0) writerSeconds = Math.round((Date.now() - writerStartedAt) / 1000);
    }
    say("");
    say("Stopping the writer, the raft nodes, the witnesses and PostgreSQL ...");
    await stack.close();
    if (!options.keep) await rm(directory, { recursive: true, force: true });
  }
}
