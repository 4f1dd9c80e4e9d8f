// The lying-node fault, for tests and the demo only. It exists only when the process runs with
// WITNZ_TEST_FAULTS=1; then, while the file `<data_dir>/fault-alter-observations` exists, the node
// observes every inserted row altered (its canonical encoding with bytes appended), so its chains,
// trees and signed checkpoints are self-consistent but differ from its peers'. Nothing else in
// Witnz reads this variable or that file.
import { existsSync } from "node:fs";
import { join } from "node:path";

export const TEST_FAULTS_VARIABLE = "WITNZ_TEST_FAULTS";
export const ALTER_OBSERVATIONS_FILE = "fault-alter-observations";
const POLL_MS = 100;
const ALTERATION = Buffer.from("\u0000altered by the lying-node fault", "utf8");

export interface ObservationFault {
  readonly observeRow: (encoded: Uint8Array) => Uint8Array;
  stop(): void;
}

/** The fault switch of a node with data directory `dataDir`, or undefined outside tests. */
export function observationFault(
  dataDir: string,
  environment: NodeJS.ProcessEnv = process.env,
): ObservationFault | undefined {
  if (environment[TEST_FAULTS_VARIABLE] !== "1") return undefined;
  const path = join(dataDir, ALTER_OBSERVATIONS_FILE);
  let lying = existsSync(path);
  const timer = setInterval(() => {
    lying = existsSync(path);
  }, POLL_MS);
  timer.unref();
  return {
    observeRow: (encoded) => (lying ? Buffer.concat([encoded, ALTERATION]) : encoded),
    stop: () => clearInterval(timer),
  };
}
