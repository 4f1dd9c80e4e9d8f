// What `witnz verify` prints: the JSON document, the human report, the progress bar.

import type { NodeVerification } from "./verify-node.js";
import type { PrimaryKeyValues, TableVerification, VerifyProgress } from "./verify-table.js";

/**
 * `{"tables":[{"table","ok","rowsChecked","modified":[pk],"deleted":[pk],"phantom":[pk]}]}` on one
 * line, each pk an array of text values (null for SQL NULL). A table whose layout changed also
 * has `"schemaChange"`.
 */
export function formatVerificationJson(result: NodeVerification): string {
  return `${JSON.stringify({ tables: result.tables.map(tableJson) })}\n`;
}

function tableJson(table: TableVerification): Record<string, unknown> {
  const out: Record<string, unknown> = {
    table: table.table,
    ok: table.ok,
    rowsChecked: table.rowsChecked,
    modified: table.modified,
    deleted: table.deleted,
    phantom: table.phantom,
  };
  if (table.schemaChange !== undefined) out.schemaChange = table.schemaChange;
  return out;
}

/** Findings listed per kind in the human report; the JSON document lists all of them. */
export const REPORT_KEYS_SHOWN_MAX = 20;

export function formatVerificationText(result: NodeVerification): string {
  const lines: string[] = [];
  for (const table of result.tables) {
    const rows = `${table.rowsChecked} ${table.rowsChecked === 1 ? "row" : "rows"} checked`;
    lines.push(`${table.table}: ${table.ok ? "ok" : "TAMPERED"}, ${rows}`);
    if (table.schemaChange !== undefined)
      lines.push(`  schema changed: ${table.schemaChange.message}`);
    listKeys(lines, "modified", table.modified);
    listKeys(lines, "deleted", table.deleted);
    listKeys(lines, "phantom", table.phantom);
  }
  const tampered = result.tables.filter((table) => !table.ok).length;
  lines.push(
    tampered === 0
      ? `verified ${result.tables.length} ${result.tables.length === 1 ? "table" : "tables"}: no tampering found`
      : `tampering found in ${tampered} of ${result.tables.length} ${result.tables.length === 1 ? "table" : "tables"}`,
  );
  return `${lines.join("\n")}\n`;
}

function listKeys(lines: string[], kind: string, keys: readonly PrimaryKeyValues[]): void {
  if (keys.length === 0) return;
  const shown = keys.slice(0, REPORT_KEYS_SHOWN_MAX).map((key) => JSON.stringify(key));
  const more =
    keys.length > shown.length ? ` and ${keys.length - shown.length} more (see --json)` : "";
  lines.push(`  ${kind} (${keys.length}): ${shown.join(" ")}${more}`);
}

const BAR_WIDTH = 30;

/** One carriage-return-rewritten progress line for a terminal; a final newline when done. */
export function formatProgressLine(progress: VerifyProgress): string {
  const fraction =
    progress.rowsExpected === 0 ? 1 : Math.min(1, progress.rowsChecked / progress.rowsExpected);
  const filled = Math.round(fraction * BAR_WIDTH);
  const bar = `${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}`;
  const percent = `${Math.floor(fraction * 100)}`.padStart(3);
  return `\r${progress.table} [${bar}] ${percent}% ${progress.rowsChecked}/${progress.rowsExpected} rows${progress.done ? "\n" : ""}`;
}
