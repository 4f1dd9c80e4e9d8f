// What `witnz demo` prints at the end: what was written, alerted and detected.
import type { Detection } from "./steps.js";

export interface DemoSummary {
  /** Rows inserted by the writer, per table. */
  readonly rowsWritten: ReadonlyMap<string, number>;
  readonly writerSeconds: number;
  readonly alerts: number;
  /** `append_only_violation 3, replication_gap 2, ...` */
  readonly alertKinds: string;
  /** Alerts of a per-size kind received but not printed. */
  readonly alertRepeats: number;
  readonly detections: readonly Detection[];
  /** Every expected detection happened. */
  readonly ok: boolean;
  /** Ctrl-C ended the demo early. */
  readonly interrupted: boolean;
  /** Where the temporary data was kept (--keep). */
  readonly dataDirectory: string | undefined;
}

export function formatDemoSummary(summary: DemoSummary): string {
  const total = [...summary.rowsWritten.values()].reduce((sum, count) => sum + count, 0);
  const perTable = [...summary.rowsWritten].map(([table, count]) => `${table} ${count}`);
  const lines = [
    "",
    "Summary",
    `  rows written:     ${total} in ${summary.writerSeconds}s${total === 0 ? "" : ` (${perTable.join(", ")})`}`,
    `  alerts received:  ${summary.alerts}${summary.alerts === 0 ? "" : `: ${summary.alertKinds}`}` +
      (summary.alertRepeats === 0
        ? ""
        : ` (${summary.alertRepeats} repeats for later checkpoint sizes not printed)`),
    `  detected:${summary.detections.length === 0 ? " nothing yet" : ""}`,
    ...summary.detections.map(
      (detection) => `    ${detection.ok ? "ok    " : "MISSED"}  ${detection.text}`,
    ),
  ];
  if (summary.interrupted) lines.push("  interrupted before the end");
  else if (summary.ok) lines.push("  every expected detection happened");
  else lines.push("  some expected detections did not happen (MISSED above)");
  if (summary.dataDirectory !== undefined) {
    lines.push(`  data kept in ${summary.dataDirectory} (configurations, stores, certificates)`);
  }
  return `${lines.join("\n")}\n`;
}
