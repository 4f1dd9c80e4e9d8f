// How a captured violation is recorded: one entry in the table's chained violation log and one
// alert in the durable outbox, staged in the same batch as the changes around it.
import type { GapToRecord, ViolationToRecord } from "../capture/index.js";
import { decodePrimaryKey } from "../hash/index.js";
import { formatLsn } from "../postgres/index.js";
import type { StoreBatch } from "../store/index.js";

const OPERATION = {
  update: "UPDATE",
  delete: "DELETE",
  truncate: "TRUNCATE",
  schema_change: "ALTER",
} as const;

function isoFromMicroseconds(microseconds: bigint): string {
  return new Date(Number(microseconds / 1000n)).toISOString();
}

export function stageViolation(
  nodeId: string,
  detectedAt: () => Date,
): (batch: StoreBatch, violation: ViolationToRecord) => void {
  return (batch, { change, recordedDataHash, recordedSequence, newDataHash }) => {
    const { position, table } = change;
    const lsn = formatLsn(position.commitLsn);
    const pk = change.primaryKey === undefined ? undefined : decodePrimaryKey(change.primaryKey);
    const detail = {
      ...change.detail,
      ...(recordedSequence === undefined ? {} : { recordedSequence }),
      commitTime: isoFromMicroseconds(position.commitTimeUnixMicroseconds),
    };
    const seq = batch.appendViolation(table, {
      kind: change.violation,
      lsn: position.commitLsn,
      commitTimeUnixMicroseconds: position.commitTimeUnixMicroseconds,
      xid: position.xid,
      ...(change.primaryKey === undefined ? {} : { primaryKey: change.primaryKey }),
      ...(recordedDataHash === undefined ? {} : { oldDataHash: recordedDataHash }),
      ...(newDataHash === undefined ? {} : { newDataHash }),
      detail: JSON.stringify(detail),
    });
    const op = OPERATION[change.violation];
    const schemaChange = change.violation === "schema_change";
    const what = pk === undefined ? "" : ` on primary key ${JSON.stringify(pk)}`;
    batch.enqueueAlert({
      // The same change always gets the same id, so a replay after a crash never alerts twice,
      // and every node of a cluster, decoding the same WAL, raises the same incident.
      // A schema change shares its index with the data message after it (changes.ts).
      id: `${table}/${lsn}/${position.index}${schemaChange ? "/schema" : ""}`,
      kind: schemaChange ? "schema_change" : "append_only_violation",
      severity: "critical",
      node: nodeId,
      table,
      op,
      ...(pk === undefined ? {} : { pk }),
      lsn,
      detectedAt: detectedAt().toISOString(),
      message: schemaChange
        ? `schema of protected table ${table} changed (violation #${seq})`
        : `${op} on append-only table ${table}${what} (violation #${seq}, xid ${position.xid})`,
    });
  };
}

/** Gap reasons as people read them. */
const GAP_REASON_TEXT = {
  slot_missing: "the replication slot was missing and has been recreated",
  slot_advanced: "the replication slot moved past what this node stored",
} as const;

/**
 * How a gap is recorded: a `gap` entry in the table's violation log whose detail carries the
 * reason, both LSNs, the time and the signed gap note, and one `replication_gap` alert.
 */
export function stageGap(nodeId: string): (batch: StoreBatch, gap: GapToRecord) => void {
  return (batch, { table, gap, detectedAtUnixMicroseconds, signedNote }) => {
    const fromLsn = formatLsn(gap.fromLsn);
    const toLsn = formatLsn(gap.toLsn);
    const detectedAt = isoFromMicroseconds(detectedAtUnixMicroseconds);
    const seq = batch.appendViolation(table, {
      kind: "gap",
      lsn: gap.toLsn,
      commitTimeUnixMicroseconds: 0n,
      xid: 0,
      detail: JSON.stringify({
        reason: gap.reason,
        fromLsn,
        toLsn,
        detectedAt,
        note: signedNote,
      }),
    });
    batch.enqueueAlert({
      id: `${nodeId}/${table}/gap/${fromLsn}/${toLsn}`,
      kind: "replication_gap",
      severity: "critical",
      node: nodeId,
      table,
      lsn: toLsn,
      detectedAt,
      message:
        `changes to ${table} between LSN ${fromLsn} and ${toLsn} were not observed: ` +
        `${GAP_REASON_TEXT[gap.reason]} (violation #${seq}); a full verification follows`,
    });
  };
}
