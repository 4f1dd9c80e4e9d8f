import type { AlertDeliveryOutcome, StoredAlert, WitnzStore } from "../store/index.js";
import type { Alert } from "./alert.js";
import { AlertError, alertAssert } from "./errors.js";
import {
  assertRetryPolicy,
  RETRY_POLICY_DEFAULT,
  type RetryPolicy,
  retryDelayMs,
} from "./retry.js";
import type { AlertSink } from "./sinks.js";

/** Alerts one pass reads from the outbox; each is tried once on each sink that lacks it. */
export const ALERTS_PER_PASS_MAX_DEFAULT = 64;
/** The loop looks at the outbox at least this often, even without a wake. */
export const IDLE_POLL_MS_DEFAULT = 30_000;
/** After a pass that failed (the store refused a commit), the loop waits this long. */
export const PASS_ERROR_DELAY_MS_DEFAULT = 1_000;
/** A pass that could try nothing due waits at least this long before the next. */
const IDLE_PASS_DELAY_MS = 50;
const ALERTS_PER_PASS_LIMIT = 1024;

/** One attempt on one sink, recorded. */
export interface AlertDeliveryEvent {
  readonly alert: Alert;
  readonly sinkName: string;
  readonly outcome: AlertDeliveryOutcome;
  /** Present when the attempt failed. */
  readonly error?: AlertError;
}

export interface AlertDispatcherOptions {
  readonly store: WitnzStore;
  /** Sink names must be unique and stable across restarts. */
  readonly sinks: readonly AlertSink[];
  /** Wall-clock milliseconds since 1970; `Date.now` unless injected. */
  readonly clock?: () => number;
  /** A number in [0, 1) for the retry jitter; `Math.random` unless injected (seeded in tests). */
  readonly random?: () => number;
  readonly retryPolicy?: RetryPolicy;
  readonly alertsPerPassMax?: number;
  readonly idlePollMs?: number;
  readonly passErrorDelayMs?: number;
  /** Called after each attempt's outcome is durable (for metrics and logs). Must not throw. */
  readonly onDelivery?: (event: AlertDeliveryEvent) => void;
  /** Called when a pass fails (a store error); the loop retries after `passErrorDelayMs`. */
  readonly onPassError?: (error: unknown) => void;
}

export interface AlertPassResult {
  /** Sink attempts made. */
  readonly attempts: number;
  readonly delivered: number;
  readonly failed: number;
  /** Alerts that every sink now has. */
  readonly settled: number;
}

/**
 * Delivers the outbox. Each pass reads the alerts due now, tries every sink that lacks each
 * one (the sinks of one alert in parallel, alerts one after another), and commits the outcomes
 * of each alert durably before it starts the next. A failed sink is retried after a capped,
 * jittered exponential delay; an alert stays in the outbox until every sink has it.
 *
 * Delivery is at least once per sink: a crash between a sink's answer and the commit of its
 * outcome sends the alert again after restart, with the same id and the same body bytes.
 */
export class AlertDispatcher {
  readonly #store: WitnzStore;
  readonly #sinks: readonly AlertSink[];
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #retryPolicy: RetryPolicy;
  readonly #alertsPerPassMax: number;
  readonly #idlePollMs: number;
  readonly #passErrorDelayMs: number;
  readonly #onDelivery: (event: AlertDeliveryEvent) => void;
  readonly #onPassError: (error: unknown) => void;

  #loop: Promise<void> | undefined;
  #stopping = false;
  #wakeRequested = false;
  #wakeSleeper: (() => void) | undefined;
  #passInFlight: Promise<AlertPassResult> | undefined;

  constructor(options: AlertDispatcherOptions) {
    const names = options.sinks.map((sink) => sink.name);
    alertAssert(
      new Set(names).size === names.length,
      () => `sink names must be unique, got ${names.join(", ")}`,
    );
    this.#store = options.store;
    this.#sinks = [...options.sinks];
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#retryPolicy = options.retryPolicy ?? RETRY_POLICY_DEFAULT;
    assertRetryPolicy(this.#retryPolicy);
    this.#alertsPerPassMax = options.alertsPerPassMax ?? ALERTS_PER_PASS_MAX_DEFAULT;
    alertAssert(
      Number.isInteger(this.#alertsPerPassMax) &&
        this.#alertsPerPassMax >= 1 &&
        this.#alertsPerPassMax <= ALERTS_PER_PASS_LIMIT,
      () => `alertsPerPassMax runs from 1 to ${ALERTS_PER_PASS_LIMIT}`,
    );
    this.#idlePollMs = options.idlePollMs ?? IDLE_POLL_MS_DEFAULT;
    this.#passErrorDelayMs = options.passErrorDelayMs ?? PASS_ERROR_DELAY_MS_DEFAULT;
    alertAssert(
      this.#idlePollMs >= 1 && this.#passErrorDelayMs >= 1,
      () => "idlePollMs and passErrorDelayMs must be at least 1 ms",
    );
    this.#onDelivery = options.onDelivery ?? (() => {});
    this.#onPassError = options.onPassError ?? (() => {});
  }

  /**
   * One pass over the alerts due now. Passes never overlap: a call while one runs waits for
   * it and then runs its own.
   */
  async deliverDue(): Promise<AlertPassResult> {
    while (this.#passInFlight !== undefined) {
      await this.#passInFlight.catch(() => undefined);
    }
    const pass = this.#pass();
    this.#passInFlight = pass;
    try {
      return await pass;
    } finally {
      this.#passInFlight = undefined;
    }
  }

  /** Asks the running loop for a pass now: call it after committing a batch with new alerts. */
  wake(): void {
    this.#wakeRequested = true;
    const sleeper = this.#wakeSleeper;
    this.#wakeSleeper = undefined;
    sleeper?.();
  }

  /** Starts the delivery loop. */
  start(): void {
    alertAssert(this.#loop === undefined, () => "the dispatcher was already started");
    this.#stopping = false;
    this.#wakeRequested = true;
    this.#loop = this.#run();
  }

  /**
   * Stops the loop: the alert being delivered finishes (its requests are bounded by their
   * timeouts) and its outcomes are committed; no further alert is started.
   */
  async stop(): Promise<void> {
    const loop = this.#loop;
    if (loop === undefined) return;
    this.#stopping = true;
    this.wake();
    await loop;
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#wakeRequested = false;
      let delayMs: number;
      try {
        const result = await this.deliverDue();
        delayMs = this.#delayUntilNextPass(result);
      } catch (error) {
        this.#onPassError(error);
        delayMs = this.#passErrorDelayMs;
      }
      if (this.#stopping) break;
      if (this.#wakeRequested || delayMs === 0) continue;
      await this.#sleep(delayMs);
    }
  }

  #delayUntilNextPass(result: AlertPassResult): number {
    const nextDueAtMs = this.#store.nextAlertDueAtMs();
    if (nextDueAtMs === undefined || this.#sinks.length === 0) return this.#idlePollMs;
    const untilDueMs = Math.max(0, nextDueAtMs - this.#clock());
    const floorMs = result.attempts === 0 && result.settled === 0 ? IDLE_PASS_DELAY_MS : 0;
    return Math.min(this.#idlePollMs, Math.max(untilDueMs, floorMs));
  }

  #sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeSleeper = undefined;
        resolve();
      }, delayMs);
      this.#wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #pass(): Promise<AlertPassResult> {
    let attempts = 0;
    let delivered = 0;
    let failed = 0;
    let settled = 0;
    if (this.#sinks.length === 0) return { attempts, delivered, failed, settled };
    const due = this.#store.pendingAlerts(this.#clock(), this.#alertsPerPassMax);
    for (const stored of due) {
      if (this.#stopping && this.#loop !== undefined) break;
      const result = await this.#deliverOne(stored);
      attempts += result.attempts;
      delivered += result.delivered;
      failed += result.failed;
      settled += result.settled;
    }
    return { attempts, delivered, failed, settled };
  }

  async #deliverOne(stored: StoredAlert): Promise<AlertPassResult> {
    const startedAtMs = this.#clock();
    const waiting = this.#sinks.filter((sink) => {
      const state = stored.sinks[sink.name];
      if (state?.deliveredAtMs !== undefined) return false;
      return state?.nextAttemptAtMs === undefined || state.nextAttemptAtMs <= startedAtMs;
    });
    const attempts = await Promise.all(
      waiting.map(async (sink) => {
        try {
          await sink.deliver(stored.alert);
          const outcome: AlertDeliveryOutcome = { status: "delivered", atMs: this.#clock() };
          return { sink, outcome, error: undefined };
        } catch (caught) {
          const error =
            caught instanceof AlertError
              ? caught
              : new AlertError(
                  "WITNZ_ALERT_UNREACHABLE",
                  `sink ${sink.name} failed: ${String(caught)}`,
                  {
                    cause: caught,
                  },
                );
          const atMs = this.#clock();
          const previousAttempts = stored.sinks[sink.name]?.attempts ?? 0;
          const outcome: AlertDeliveryOutcome = {
            status: "failed",
            atMs,
            error: error.message,
            nextAttemptAtMs:
              atMs + retryDelayMs(this.#retryPolicy, previousAttempts + 1, this.#random),
          };
          return { sink, outcome, error };
        }
      }),
    );
    const batch = this.#store.batch();
    for (const attempt of attempts) {
      batch.recordAlertDelivery(stored.alert.id, attempt.sink.name, attempt.outcome);
    }
    const after = batch.alert(stored.alert.id);
    const everySinkHasIt = this.#sinks.every(
      (sink) => after?.sinks[sink.name]?.deliveredAtMs !== undefined,
    );
    if (everySinkHasIt) batch.settleAlert(stored.alert.id, this.#clock());
    await this.#store.commit(batch);
    for (const attempt of attempts) {
      this.#onDelivery({
        alert: stored.alert,
        sinkName: attempt.sink.name,
        outcome: attempt.outcome,
        ...(attempt.error === undefined ? {} : { error: attempt.error }),
      });
    }
    const deliveredCount = attempts.filter(
      (attempt) => attempt.outcome.status === "delivered",
    ).length;
    return {
      attempts: attempts.length,
      delivered: deliveredCount,
      failed: attempts.length - deliveredCount,
      settled: everySinkHasIt ? 1 : 0,
    };
  }
}
