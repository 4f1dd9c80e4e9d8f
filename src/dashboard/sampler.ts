// Ingest rate and lag over time, kept in memory for the dashboard's chart: one point per
// interval, the oldest dropped past `pointsMax`. Rows are counted as the node commits them; lag is
// read once per point through the caller's reader, so the sampler itself does no I/O.

import type { Series, SeriesPoint } from "./api.js";

export const SERIES_INTERVAL_MS_DEFAULT = 1_000;
/** Ten minutes at one point a second. */
export const SERIES_POINTS_MAX_DEFAULT = 600;

export interface IngestSamplerOptions {
  readonly intervalMs?: number;
  readonly pointsMax?: number;
  readonly nowMs?: () => number;
  /** WAL bytes the node is behind; null when unknown. Must not throw for a database that is down. */
  readonly readLagBytes?: () => Promise<number | null>;
  /** A lag read that threw; the point records null. */
  readonly onError?: (error: unknown) => void;
}

export class IngestSampler {
  readonly intervalMs: number;
  readonly pointsMax: number;
  readonly #nowMs: () => number;
  readonly #readLagBytes: (() => Promise<number | null>) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #points: SeriesPoint[] = [];
  #rowsSinceLastPoint = 0;
  #lastPointAtMs: number;
  #latestLagBytes: number | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: IngestSamplerOptions = {}) {
    this.intervalMs = options.intervalMs ?? SERIES_INTERVAL_MS_DEFAULT;
    this.pointsMax = options.pointsMax ?? SERIES_POINTS_MAX_DEFAULT;
    if (!(Number.isSafeInteger(this.intervalMs) && this.intervalMs > 0)) {
      throw new Error(`intervalMs must be a positive integer, got ${this.intervalMs}`);
    }
    if (!(Number.isSafeInteger(this.pointsMax) && this.pointsMax > 0)) {
      throw new Error(`pointsMax must be a positive integer, got ${this.pointsMax}`);
    }
    this.#nowMs = options.nowMs ?? Date.now;
    this.#readLagBytes = options.readLagBytes;
    this.#onError = options.onError;
    this.#lastPointAtMs = this.#nowMs();
  }

  /** Counts rows the node appended (call it from the node's committed-batch hook). */
  recordRows(rows: number): void {
    if (!(Number.isSafeInteger(rows) && rows >= 0))
      throw new Error(`rows must be a count: ${rows}`);
    this.#rowsSinceLastPoint += rows;
  }

  /** The lag of the newest point; null before the first or when it was unknown. */
  get latestLagBytes(): number | null {
    return this.#latestLagBytes;
  }

  /** Closes the current interval into a point now. */
  async sample(): Promise<SeriesPoint> {
    let lagBytes: number | null = null;
    if (this.#readLagBytes !== undefined) {
      try {
        lagBytes = await this.#readLagBytes();
      } catch (error) {
        this.#onError?.(error);
      }
    }
    const nowMs = this.#nowMs();
    const elapsedMs = Math.max(1, nowMs - this.#lastPointAtMs);
    const point: SeriesPoint = {
      time: new Date(nowMs).toISOString(),
      rowsPerSecond: Math.round((this.#rowsSinceLastPoint * 1000 * 100) / elapsedMs) / 100,
      lagBytes,
    };
    this.#rowsSinceLastPoint = 0;
    this.#lastPointAtMs = nowMs;
    this.#latestLagBytes = lagBytes;
    this.#points.push(point);
    if (this.#points.length > this.pointsMax)
      this.#points.splice(0, this.#points.length - this.pointsMax);
    return point;
  }

  series(): Series {
    return { intervalMs: this.intervalMs, points: [...this.#points] };
  }

  /** Samples every `intervalMs` until stop(); one sample at a time, never overlapping. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#lastPointAtMs = this.#nowMs();
    this.#rowsSinceLastPoint = 0;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#running = this.sample().then(
        () => {
          this.#running = undefined;
          if (!this.#stopped) this.#schedule();
        },
        (error: unknown) => {
          this.#running = undefined;
          this.#onError?.(error);
          if (!this.#stopped) this.#schedule();
        },
      );
    }, this.intervalMs);
    this.#timer.unref?.();
  }
}
