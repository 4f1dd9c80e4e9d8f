// Alert delivery for a cluster: the replicated incidents are the cluster's outbox. Only the
// leader delivers; it sends each unacknowledged incident to every sink, retrying a failed sink
// with the alert retry policy, and once every sink has it proposes `alert_ack`, which removes it
// from every node's pending list. A new leader delivers whatever is still unacknowledged.
//
// Delivery is at least once per sink, as on a single node: a leader that fails between a sink's
// answer and the commit of its acknowledgement leaves the incident pending, and the next leader
// sends it again with the same id and body. Receivers de-duplicate by the incident id.
import {
  type Alert,
  type AlertDeliveryEvent,
  AlertError,
  type AlertSink,
  RETRY_POLICY_DEFAULT,
  type RetryPolicy,
  retryDelayMs,
} from "../alerts/index.js";
import type { ClusterStateMachine } from "../cluster/index.js";

/** With nothing due, the loop looks at the state at least this often. */
const IDLE_POLL_MS = 1_000;

export interface LeaderAlertDeliveryOptions {
  readonly sinks: readonly AlertSink[];
  readonly machine: ClusterStateMachine;
  readonly isLeader: () => boolean;
  /** Proposes `alert_ack` for the incident; resolves true once applied. */
  readonly acknowledge: (incidentId: string) => Promise<boolean>;
  readonly retryPolicy?: RetryPolicy;
  readonly clock?: () => number;
  readonly random?: () => number;
  /** After each attempt on a sink (metrics and logs). Must not throw. */
  readonly onDelivery?: (event: AlertDeliveryEvent) => void;
}

interface IncidentProgress {
  /** Sinks that accepted the incident. */
  readonly delivered: Set<string>;
  attempts: number;
  dueAtMs: number;
}

export class LeaderAlertDelivery {
  readonly #options: LeaderAlertDeliveryOptions;
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #progress = new Map<string, IncidentProgress>();
  #loop: Promise<void> | undefined;
  #stopping = false;
  #wakeSleep: (() => void) | undefined;
  #wakeRequested = false;

  constructor(options: LeaderAlertDeliveryOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  start(): void {
    if (this.#loop !== undefined) throw new Error("alert delivery already started");
    this.#loop = this.#run();
  }

  /** A new incident, an acknowledgement or a change of leadership: look again now. */
  wake(): void {
    this.#wakeRequested = true;
    this.#wakeSleep?.();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeSleep?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#wakeRequested = false;
      let nextDueAtMs = this.#clock() + IDLE_POLL_MS;
      if (this.#options.isLeader()) {
        for (const incident of this.#options.machine.pendingIncidents()) {
          if (this.#stopping || !this.#options.isLeader()) break;
          const dueAtMs = await this.#deliver(incident.alert);
          if (dueAtMs !== undefined) nextDueAtMs = Math.min(nextDueAtMs, dueAtMs);
        }
      }
      this.#forgetSettled();
      if (this.#wakeRequested) continue;
      await this.#sleep(Math.max(0, nextDueAtMs - this.#clock()));
    }
  }

  /** One round for one incident; the time of its next retry when a sink still lacks it. */
  async #deliver(alert: Alert): Promise<number | undefined> {
    let progress = this.#progress.get(alert.id);
    if (progress === undefined) {
      progress = { delivered: new Set(), attempts: 0, dueAtMs: 0 };
      this.#progress.set(alert.id, progress);
    }
    if (progress.dueAtMs > this.#clock()) return progress.dueAtMs;
    const missing = this.#options.sinks.filter((sink) => !progress.delivered.has(sink.name));
    const retryAtMs =
      this.#clock() +
      retryDelayMs(
        this.#options.retryPolicy ?? RETRY_POLICY_DEFAULT,
        progress.attempts + 1,
        this.#random,
      );
    await Promise.all(
      missing.map(async (sink) => {
        try {
          await sink.deliver(alert);
          progress.delivered.add(sink.name);
          this.#report(alert, sink, { status: "delivered", atMs: this.#clock() });
        } catch (error) {
          const failure =
            error instanceof AlertError
              ? error
              : new AlertError("WITNZ_ALERT_UNREACHABLE", String(error), { cause: error });
          this.#report(
            alert,
            sink,
            {
              status: "failed",
              atMs: this.#clock(),
              error: failure.message,
              nextAttemptAtMs: retryAtMs,
            },
            failure,
          );
        }
      }),
    );
    if (this.#options.sinks.every((sink) => progress.delivered.has(sink.name))) {
      // Settled here; the acknowledgement takes it off every node's pending list. A failed
      // proposal is retried on the next round without sending to any sink again.
      if (await this.#options.acknowledge(alert.id)) return undefined;
      progress.dueAtMs = this.#clock() + 200;
      return progress.dueAtMs;
    }
    progress.attempts += 1;
    progress.dueAtMs = retryAtMs;
    return retryAtMs;
  }

  #report(
    alert: Alert,
    sink: AlertSink,
    outcome: AlertDeliveryEvent["outcome"],
    error?: AlertError,
  ): void {
    this.#options.onDelivery?.({
      alert,
      sinkName: sink.name,
      outcome,
      ...(error === undefined ? {} : { error }),
    });
  }

  /** Progress of incidents no longer pending (acknowledged, or gone from the state). */
  #forgetSettled(): void {
    const pending = new Set(this.#options.machine.pendingIncidents().map((i) => i.alert.id));
    for (const id of this.#progress.keys()) if (!pending.has(id)) this.#progress.delete(id);
  }

  #sleep(milliseconds: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeSleep = undefined;
        resolve();
      }, milliseconds);
      this.#wakeSleep = () => {
        clearTimeout(timer);
        this.#wakeSleep = undefined;
        resolve();
      };
    });
  }
}
