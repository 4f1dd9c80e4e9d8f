import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** The alert outbox's metrics, the same on nodes and witnesses. */
export interface AlertMetrics {
  /** Alerts put into the outbox (a repeated incident id is not counted). */
  readonly alertsEnqueued: Counter<"kind">;
  readonly alertsDelivered: Counter<"kind" | "sink">;
  /** Failed attempts; the alert stays in the outbox and is retried. */
  readonly alertsFailed: Counter<"kind" | "sink">;
}

export function createAlertMetrics(registry: Registry): AlertMetrics {
  const registers = [registry];
  return {
    alertsEnqueued: new Counter({
      name: "witnz_alerts_enqueued_total",
      help: "Alerts put into the durable outbox.",
      labelNames: ["kind"],
      registers,
    }),
    alertsDelivered: new Counter({
      name: "witnz_alerts_delivered_total",
      help: "Alerts a sink accepted.",
      labelNames: ["kind", "sink"],
      registers,
    }),
    alertsFailed: new Counter({
      name: "witnz_alerts_failed_total",
      help: "Failed delivery attempts; the alert stays in the outbox and is retried.",
      labelNames: ["kind", "sink"],
      registers,
    }),
  };
}

/** Counts one delivery attempt on a sink. */
export function countAlertDelivery(
  metrics: AlertMetrics,
  event: {
    readonly alert: { readonly kind: string };
    readonly sinkName: string;
    readonly outcome: { readonly status: string };
  },
): void {
  const labels = { kind: event.alert.kind, sink: event.sinkName };
  if (event.outcome.status === "delivered") metrics.alertsDelivered.inc(labels);
  else metrics.alertsFailed.inc(labels);
}

/** Every metric a node updates, typed by its label names. Names follow Prometheus conventions. */
export interface NodeMetrics extends AlertMetrics {
  readonly registry: Registry;
  /** Rows appended to a table's chain. */
  readonly rowsCaptured: Counter<"table">;
  /** WAL bytes between the server's current position and the last LSN the node stored. */
  readonly replicationLagBytes: Gauge;
  /** Seconds between the last stored commit's commit time and now. */
  readonly replicationLagSeconds: Gauge;
  /** Verification runs by outcome: `clean`, `tampered` or `error`. */
  readonly verificationRuns: Counter<"table" | "outcome">;
  /** Rows found modified, deleted or phantom by the last verification of a table. */
  readonly verificationMismatchedRows: Gauge<"table" | "difference">;
  /** Entries appended to a table's violation log, by violation kind. */
  readonly violations: Counter<"table" | "kind">;
}

export type VerificationOutcome = "clean" | "tampered" | "error";

export interface NodeMetricsOptions {
  /** A registry of the caller's; a new one otherwise. */
  readonly registry?: Registry;
  /** Also collect prom-client's process metrics (CPU, memory, event loop lag). */
  readonly collectProcessMetrics?: boolean;
}

export function createNodeMetrics(options: NodeMetricsOptions = {}): NodeMetrics {
  const registry = options.registry ?? new Registry();
  if (options.collectProcessMetrics === true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    rowsCaptured: new Counter({
      name: "witnz_rows_captured_total",
      help: "Rows appended to a protected table's hash chain.",
      labelNames: ["table"],
      registers,
    }),
    replicationLagBytes: new Gauge({
      name: "witnz_replication_lag_bytes",
      help: "WAL bytes between the server's current position and the last LSN stored durably.",
      registers,
    }),
    replicationLagSeconds: new Gauge({
      name: "witnz_replication_lag_seconds",
      help: "Seconds since the server was at the oldest WAL position the node has not stored durably (0 when caught up), from the periodic lag samples.",
      registers,
    }),
    ...createAlertMetrics(registry),
    verificationRuns: new Counter({
      name: "witnz_verification_runs_total",
      help: "Full-table verifications by outcome (clean, tampered, error).",
      labelNames: ["table", "outcome"],
      registers,
    }),
    verificationMismatchedRows: new Gauge({
      name: "witnz_verification_mismatched_rows",
      help: "Rows the last verification found modified, deleted or phantom.",
      labelNames: ["table", "difference"],
      registers,
    }),
    violations: new Counter({
      name: "witnz_violations_total",
      help: "Entries appended to a table's violation log.",
      labelNames: ["table", "kind"],
      registers,
    }),
  };
}
