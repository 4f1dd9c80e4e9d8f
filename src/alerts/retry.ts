import { alertAssert } from "./errors.js";

/** How long a sink that failed waits before its next attempt. */
export interface RetryPolicy {
  /** The delay after the first failure, before jitter. */
  readonly retryDelayMsInitial: number;
  /** The delay never grows past this, however many attempts failed. */
  readonly retryDelayMsMax: number;
}

export const RETRY_POLICY_DEFAULT: RetryPolicy = {
  retryDelayMsInitial: 500,
  retryDelayMsMax: 5 * 60_000,
};

const RETRY_DELAY_MS_LIMIT = 24 * 60 * 60_000;

export function assertRetryPolicy(policy: RetryPolicy): void {
  alertAssert(
    Number.isInteger(policy.retryDelayMsInitial) &&
      policy.retryDelayMsInitial >= 1 &&
      Number.isInteger(policy.retryDelayMsMax) &&
      policy.retryDelayMsMax >= policy.retryDelayMsInitial &&
      policy.retryDelayMsMax <= RETRY_DELAY_MS_LIMIT,
    () =>
      `retry delays need 1 <= retryDelayMsInitial <= retryDelayMsMax <= ${RETRY_DELAY_MS_LIMIT}`,
  );
}

/**
 * The wait after the `attempts`-th failed attempt: the capped exponential delay
 * `min(max, initial * 2^(attempts - 1))`, jittered uniformly into its upper half
 * ("equal jitter") so that it is never zero and many nodes do not retry in step.
 * `random` returns a number in [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, attempts: number, random: () => number): number {
  alertAssert(
    Number.isInteger(attempts) && attempts >= 1,
    () => `attempts counts from 1, got ${attempts}`,
  );
  const exponent = Math.min(attempts - 1, 52);
  const capped = Math.min(policy.retryDelayMsMax, policy.retryDelayMsInitial * 2 ** exponent);
  const fraction = random();
  alertAssert(fraction >= 0 && fraction < 1, () => `random() must be in [0, 1), got ${fraction}`);
  return Math.ceil(capped / 2 + (capped / 2) * fraction);
}
