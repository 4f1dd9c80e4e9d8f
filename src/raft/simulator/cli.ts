// Replays one seed (`--seed S [--verbose] [--messages]`) or sweeps many
// (`--runs N [--start S]`), printing JSON; `--chaos-steps C` lengthens the fault phase. Exits 1 if any seed violates an invariant.
import { parseArgs } from "node:util";
import { runSimulation } from "./simulation.js";
import { sweep } from "./sweep.js";

const usage =
  "usage: sim --seed S [--verbose] [--messages] [--chaos-steps C]\n" +
  "       sim --runs N [--start S] [--chaos-steps C] [--progress]";

function integer(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new Error(`${name} is required\n${usage}`);
    return fallback;
  }
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a non-negative integer`);
  return parsed;
}

function main(): number {
  const { values } = parseArgs({
    options: {
      seed: { type: "string" },
      runs: { type: "string" },
      start: { type: "string" },
      "chaos-steps": { type: "string" },
      verbose: { type: "boolean", default: false },
      messages: { type: "boolean", default: false },
      progress: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const chaos =
    values["chaos-steps"] === undefined
      ? {}
      : { chaosSteps: integer(values["chaos-steps"], "--chaos-steps") };
  if (values.seed !== undefined) {
    const seed = integer(values.seed, "--seed");
    const verbose = values.verbose || values.messages;
    const result = runSimulation({
      seed,
      ...chaos,
      traceMessages: values.messages,
      ...(verbose ? { trace: (line: string) => console.log(line) } : {}),
    });
    console.log(JSON.stringify(result, null, 2));
    if (!result.ok) {
      console.error(
        `seed ${seed} violates ${result.violation?.invariant}: ${result.violation?.message}`,
      );
    }
    return result.ok ? 0 : 1;
  }
  const runs = integer(values.runs, "--runs");
  const start = integer(values.start, "--start", 1);
  const startedMs = performance.now();
  const summary = sweep(start, runs, chaos, (result) => {
    if (!result.ok) {
      console.error(
        `seed ${result.seed} violates ${result.violation?.invariant}: ${result.violation?.message}`,
      );
    }
    if (values.progress && (result.seed - start + 1) % 500 === 0) {
      console.error(`${result.seed - start + 1} of ${runs} seeds done`);
    }
  });
  const elapsedSeconds = Math.round((performance.now() - startedMs) / 100) / 10;
  console.log(JSON.stringify({ ...summary, elapsedSeconds }, null, 2));
  return summary.failed === 0 ? 0 : 1;
}

process.exitCode = main();
