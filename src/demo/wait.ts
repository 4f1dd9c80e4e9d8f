// Waiting in the demo: every wait ends early, with DemoInterrupted, once the user pressed Ctrl-C.

/** Thrown out of a wait when the demo is interrupted; runDemo turns it into a clean shutdown. */
export class DemoInterrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "DemoInterrupted";
  }
}

export function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new DemoInterrupted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DemoInterrupted());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Polls `probe` until it returns something other than undefined or false; undefined when
 * `timeoutMs` passed first (a detection that did not happen is a finding, not an error).
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  signal: AbortSignal,
  pollMs = 100,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) return undefined;
    await sleep(pollMs, signal);
  }
}

/** Like waitFor, but what it waits for is needed to go on: a timeout is an error naming it. */
export async function waitForOrThrow<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<T> {
  const value = await waitFor(probe, timeoutMs, signal);
  if (value === undefined)
    throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
  return value;
}
