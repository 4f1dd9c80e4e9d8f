import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type AlertMetrics, createAlertMetrics } from "../http/index.js";

/** Every metric a witness updates. */
export interface WitnessMetrics extends AlertMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"rpc">;
  /** Refused submissions by WITNZ_WITNESS_* code. */
  readonly rejections: Counter<"code">;
  /** Observations by what became of them: accepted, duplicate, conflict, late. */
  readonly observations: Counter<"status">;
  readonly verdicts: Counter<"outcome">;
  /** Seconds from a collection's first submission to its vote. */
  readonly voteLatencySeconds: Histogram;
  readonly cosignatures: Counter;
  readonly cosignRefusals: Counter<"inconsistent">;
  readonly openCollections: Gauge;
}

export function createWitnessMetrics(
  options: { collectProcessMetrics?: boolean } = {},
): WitnessMetrics {
  const registry = new Registry();
  if (options.collectProcessMetrics === true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "witnz_witness_requests_total",
      help: "RPC requests received, by method.",
      labelNames: ["rpc"],
      registers,
    }),
    rejections: new Counter({
      name: "witnz_witness_rejections_total",
      help: "Submissions refused, by WITNZ_WITNESS_* code.",
      labelNames: ["code"],
      registers,
    }),
    observations: new Counter({
      name: "witnz_witness_observations_total",
      help: "Observations in admitted submissions, by status (accepted, duplicate, conflict, late).",
      labelNames: ["status"],
      registers,
    }),
    verdicts: new Counter({
      name: "witnz_witness_verdicts_total",
      help: "Votes decided, by outcome.",
      labelNames: ["outcome"],
      registers,
    }),
    voteLatencySeconds: new Histogram({
      name: "witnz_witness_vote_latency_seconds",
      help: "Seconds from the first submission of a (customer, table, size) to its vote.",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
      registers,
    }),
    cosignatures: new Counter({
      name: "witnz_witness_cosignatures_total",
      help: "Majority checkpoints cosigned.",
      registers,
    }),
    cosignRefusals: new Counter({
      name: "witnz_witness_cosign_refusals_total",
      help: "Majority checkpoints not cosigned; inconsistent=true when they contradict the last cosigned one.",
      labelNames: ["inconsistent"],
      registers,
    }),
    openCollections: new Gauge({
      name: "witnz_witness_open_collections",
      help: "(customer, table, size) collections waiting for their vote.",
      registers,
    }),
    ...createAlertMetrics(registry),
  };
}
