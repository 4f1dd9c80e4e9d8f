// Ingest rate and lag over time: two lines on one small SVG, each scaled to its own maximum.
import type { Series } from "../../src/dashboard/api.js";
import { formatBytes } from "./format.js";

const WIDTH = 600;
const HEIGHT = 140;
const PADDING = 6;

function polyline(values: readonly number[]): string {
  const maximum = Math.max(1, ...values);
  const step = values.length > 1 ? (WIDTH - 2 * PADDING) / (values.length - 1) : 0;
  return values
    .map((value, index) => {
      const x = PADDING + index * step;
      const y = HEIGHT - PADDING - (value / maximum) * (HEIGHT - 2 * PADDING);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
}

export function SeriesChart({ series }: { series: Series }) {
  const rates = series.points.map((point) => point.rowsPerSecond);
  const lags = series.points.map((point) => point.lagBytes ?? 0);
  const last = series.points.at(-1);
  return (
    <section className="panel" aria-labelledby="chart-title">
      <h2 id="chart-title">Ingest rate and lag</h2>
      <p className="legend">
        <span className="rate">rows/s: {last?.rowsPerSecond ?? 0}</span>
        <span className="lag">lag: {formatBytes(last?.lagBytes ?? null)}</span>
        <span className="quiet">
          {series.points.length} points, one per {series.intervalMs / 1000} s
        </span>
      </p>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="chart"
        role="img"
        data-testid="series-chart"
      >
        <title>Rows per second and replication lag over the last minutes</title>
        <rect x="0" y="0" width={WIDTH} height={HEIGHT} className="chart-frame" />
        {series.points.length > 0 ? (
          <>
            <polyline points={polyline(lags)} className="line lag" />
            <polyline points={polyline(rates)} className="line rate" />
          </>
        ) : null}
      </svg>
    </section>
  );
}
