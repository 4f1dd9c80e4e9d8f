import type { AlertSeverity, OutboxAlert } from "../store/index.js";

/** One alert: what happened, where, and the incident id that de-duplicates it. */
export type Alert = OutboxAlert;
export type { AlertSeverity };

/** The kinds a node raises; receivers should treat an unknown kind as a new kind of incident. */
export const AlertKind = {
  /** UPDATE, DELETE or TRUNCATE on an append-only table. */
  appendOnlyViolation: "append_only_violation",
  /** A protected table's columns changed (a new Relation message). */
  schemaChange: "schema_change",
  /** A verification found modified, deleted or phantom rows. */
  verificationFailed: "verification_failed",
  /** The node missed WAL: its slot was missing, recreated, or moved past what it stored. */
  replicationGap: "replication_gap",
  /** A node's observation differs from its peers' (raised by the cluster, later). */
  nodeDisagreement: "node_disagreement",
} as const;
export type AlertKind = (typeof AlertKind)[keyof typeof AlertKind];

/** The JSON body every generic webhook receives: every field present, absent ones as null. */
export interface WebhookBody {
  readonly id: string;
  readonly kind: string;
  readonly severity: AlertSeverity;
  readonly node: string;
  readonly table: string | null;
  readonly op: string | null;
  readonly pk: readonly (string | null)[] | null;
  readonly lsn: string | null;
  readonly detectedAt: string;
  readonly message: string;
}

export function webhookBody(alert: Alert): WebhookBody {
  return {
    id: alert.id,
    kind: alert.kind,
    severity: alert.severity,
    node: alert.node,
    table: alert.table ?? null,
    op: alert.op ?? null,
    pk: alert.pk ?? null,
    lsn: alert.lsn ?? null,
    detectedAt: alert.detectedAt,
    message: alert.message,
  };
}

/** The body as sent: the same bytes on every attempt, so a receiver can compare retries. */
export function webhookBodyText(alert: Alert): string {
  return JSON.stringify(webhookBody(alert));
}

/**
 * One readable line for a chat channel, e.g.
 * `[CRITICAL] append_only_violation on public.orders: UPDATE pk=(42) at LSN 0/16B43D28, node node-1: ...`
 */
export function alertSummary(alert: Alert): string {
  const where = alert.table === undefined ? "" : ` on ${alert.table}`;
  const what: string[] = [];
  if (alert.op !== undefined) what.push(alert.op);
  if (alert.pk !== undefined) {
    what.push(`pk=(${alert.pk.map((value) => (value === null ? "NULL" : value)).join(", ")})`);
  }
  if (alert.lsn !== undefined) what.push(`at LSN ${alert.lsn}`);
  const details = what.length === 0 ? "" : ` ${what.join(" ")},`;
  const message = alert.message.replace(/\s+/g, " ").trim();
  return `[${alert.severity.toUpperCase()}] ${alert.kind}${where}:${details} node ${alert.node}: ${message} (incident ${alert.id})`;
}
