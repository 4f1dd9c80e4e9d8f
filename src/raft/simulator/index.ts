// The deterministic cluster simulator that proves the Raft core. See docs/design/raft.md.

export { type InvariantName, Violation } from "./checker.js";
export {
  ELECTION_TIMEOUT_TICKS,
  HEARTBEAT_INTERVAL_TICKS,
  runSimulation,
  type SimulationOptions,
  type SimulationResult,
  type SimulationStats,
  STEPS_PER_TICK,
} from "./simulation.js";
export { type SweepSummary, sweep } from "./sweep.js";
