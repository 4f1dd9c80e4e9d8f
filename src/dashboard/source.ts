// What the dashboard shows, read from one node's LMDB store: tables from chain heads, checkpoints
// and verification records; the alert timeline from the violation logs and verification
// incidents; entries with their inclusion proofs against the latest signed checkpoint. Cluster
// and witness facts come from the caller's callbacks once a cluster runs.

import { parseCheckpoint, readWitnzFields } from "../checkpoint/index.js";
import { decodePrimaryKey, encodePrimaryKey, reportedDigestForm } from "../hash/index.js";
import { MerkleTree } from "../merkle/index.js";
import { formatLsn, toLsn } from "../postgres/index.js";
import type { OutboxAlert, ViolationEntry, WitnzStore } from "../store/index.js";
import {
  ALERTS_LIMIT_MAX,
  type AlertEvent,
  type AlertList,
  type CheckpointView,
  type ClusterView,
  type EntryLookup,
  type EntryQuery,
  type Overview,
  type Series,
  type TableSummary,
  type VerificationSummary,
  type WitnessVerdicts,
} from "./api.js";
import type { IngestSampler } from "./sampler.js";

/** Everything the dashboard API answers from. The node runtime implements it. */
export interface DashboardSource {
  overview(): Promise<Overview>;
  /** Newest first, at most `limit`. */
  alerts(limit: number): Promise<AlertList>;
  witnesses(): Promise<WitnessVerdicts>;
  entry(query: EntryQuery): Promise<EntryLookup>;
  series(): Promise<Series>;
}

export interface StoreDashboardSourceOptions {
  readonly store: WitnzStore;
  readonly nodeId: string;
  /** The signed-note verifier key of the node's checkpoint signer. */
  readonly verifierKey?: string;
  /**
   * The protected tables by their store names (`schema.table`); tables the store has a chain for
   * are shown too.
   */
  readonly tables: readonly string[];
  /** The node's readiness, as GET /readyz reports it. */
  readonly readiness: () => { readonly ready: boolean; readonly reasons: readonly string[] };
  /** The store meta entry holding a table's last verification record (the node's JSON). */
  readonly verificationMetaName: (table: string) => string;
  /** Ingest rate and lag; without one the series is empty and lag unknown. */
  readonly sampler?: IngestSampler;
  readonly now?: () => Date;
  /** The Raft cluster as this node sees it; without one the node stands alone. */
  readonly cluster?: () => ClusterView | Promise<ClusterView>;
  /** The witnesses' latest verdicts as this node can ask them; none without witnesses. */
  readonly witnessVerdicts?: () => Promise<WitnessVerdicts>;
  /**
   * The cluster's incidents, newest first, at most `limit`. When given they are the timeline:
   * they hold this node's violations and verification failures once each, with every node that
   * reported them, and what the cluster found itself (node disagreements).
   */
  readonly clusterAlerts?: (limit: number) => Promise<readonly AlertEvent[]>;
  /** The latest verification of a table any cluster member recorded; shown when newer. */
  readonly clusterVerification?: (table: string) => VerificationSummary | null;
}

/** Alerts in the outbox counted for the overview, at most. */
const PENDING_ALERTS_COUNTED_MAX = 1_000;

const OPERATIONS: Readonly<Record<string, string>> = {
  update: "UPDATE",
  delete: "DELETE",
  truncate: "TRUNCATE",
  schema_change: "ALTER",
};

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function isoFromMicroseconds(microseconds: bigint): string {
  return new Date(Number(microseconds / 1000n)).toISOString();
}

function decodeKey(bytes: Uint8Array): (string | null)[] | null {
  if (bytes.length === 0) return null;
  try {
    return decodePrimaryKey(bytes);
  } catch {
    return null;
  }
}

function readCheckpoint(noteText: string): CheckpointView {
  const parsed = parseCheckpoint(noteText).checkpoint;
  const fields = readWitnzFields(parsed);
  return {
    size: parsed.size,
    rootHash: hex(parsed.rootHash),
    lsn: fields.lsn,
    time: new Date(Number(fields.timeMicroseconds / 1000n)).toISOString(),
    text: noteText,
  };
}

/** The node's verification record (`finishedAt`, `outcome`, `ok`, counts, `error`). */
function readVerification(
  bytes: Uint8Array,
  nodeId: string,
): VerificationSummary & { incidentId: string | null } {
  const value = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  const count = (name: string): number => {
    const entry = value[name];
    return typeof entry === "number" && Number.isSafeInteger(entry) ? entry : 0;
  };
  const ok = value.ok === true;
  const outcome =
    value.outcome === "clean" || value.outcome === "tampered" || value.outcome === "error"
      ? value.outcome
      : ok
        ? "clean"
        : "tampered";
  return {
    time: new Date(String(value.finishedAt)).toISOString(),
    node: nodeId,
    outcome,
    ok,
    rowsChecked: count("rowsChecked"),
    modified: count("modifiedRows"),
    deleted: count("deletedRows"),
    phantom: count("phantomRows"),
    error: typeof value.error === "string" ? value.error : null,
    incidentId: typeof value.incidentId === "string" ? value.incidentId : null,
  };
}

function violationEvent(nodeId: string, table: string, entry: ViolationEntry): AlertEvent {
  const { record } = entry;
  let detail: Record<string, unknown> = {};
  try {
    detail = JSON.parse(record.detail) as Record<string, unknown>;
  } catch {
    detail = {};
  }
  const lsn = formatLsn(toLsn(record.lsn));
  const primaryKey = record.primaryKey === undefined ? null : decodeKey(record.primaryKey);
  const id = `${nodeId}/${table}/violation/${entry.seq}`;
  if (record.kind === "gap") {
    const from = typeof detail.fromLsn === "string" ? detail.fromLsn : "?";
    return {
      id,
      reporters: [nodeId],
      kind: "replication_gap",
      severity: "critical",
      node: nodeId,
      table,
      operation: null,
      primaryKey: null,
      lsn,
      time: typeof detail.detectedAt === "string" ? detail.detectedAt : new Date(0).toISOString(),
      message: `changes to ${table} between LSN ${from} and ${lsn} were not observed (violation #${entry.seq})`,
    };
  }
  const operation = OPERATIONS[record.kind] ?? record.kind.toUpperCase();
  const what = primaryKey === null ? "" : ` on primary key ${JSON.stringify(primaryKey)}`;
  return {
    id,
    reporters: [nodeId],
    kind: record.kind === "schema_change" ? "schema_change" : "append_only_violation",
    severity: "critical",
    node: nodeId,
    table,
    operation,
    primaryKey,
    lsn,
    time: isoFromMicroseconds(record.commitTimeUnixMicroseconds),
    message:
      record.kind === "schema_change"
        ? `schema of protected table ${table} changed (violation #${entry.seq})`
        : `${operation} on append-only table ${table}${what} (violation #${entry.seq}, xid ${record.xid})`,
  };
}

/** An alert as the outbox (or the cluster's replicated incidents) holds it, for the timeline. */
export function alertEventOf(alert: OutboxAlert, reporters: readonly string[]): AlertEvent {
  return {
    id: alert.id,
    reporters: reporters.length === 0 ? [alert.node] : [...reporters],
    kind: alert.kind,
    severity: alert.severity,
    node: alert.node,
    table: alert.table ?? null,
    operation: alert.op ?? null,
    primaryKey: alert.pk === undefined ? null : [...alert.pk],
    lsn: alert.lsn ?? null,
    time: alert.detectedAt,
    message: alert.message,
  };
}

/** Newest first; ties by id, so a page is stable. */
export function newestFirst(a: AlertEvent, b: AlertEvent): number {
  return a.time < b.time ? 1 : a.time > b.time ? -1 : a.id < b.id ? 1 : -1;
}

export function storeDashboardSource(options: StoreDashboardSourceOptions): DashboardSource {
  const { store, nodeId } = options;
  const now = options.now ?? (() => new Date());

  const tableNames = (): string[] => {
    const names = [...options.tables];
    for (const table of store.tables()) if (!names.includes(table)) names.push(table);
    return names;
  };

  const verification = (table: string) => {
    const bytes = store.meta(options.verificationMetaName(table));
    if (bytes === undefined) return null;
    try {
      return readVerification(bytes, nodeId);
    } catch {
      return null;
    }
  };

  const tableSummary = (table: string, takenAtMs: number): TableSummary => {
    const head = store.chainHead(table);
    const stored = store.latestCheckpoint(table);
    let checkpoint: TableSummary["checkpoint"] = null;
    let secondsSinceCheckpoint: number | null = null;
    if (stored !== undefined) {
      try {
        const { text: _text, ...summary } = readCheckpoint(stored.noteText);
        checkpoint = summary;
        secondsSinceCheckpoint = Math.max(
          0,
          Math.round((takenAtMs - Date.parse(summary.time)) / 1000),
        );
      } catch {
        checkpoint = null;
      }
    }
    const own = verification(table);
    const replicated = options.clusterVerification?.(table) ?? null;
    const last =
      own === null || (replicated !== null && replicated.time > own.time) ? replicated : own;
    return {
      table,
      chainLength: head?.size ?? 0,
      headHash: head === undefined ? null : hex(head.chainHash),
      checkpoint,
      lag: { bytes: options.sampler?.latestLagBytes ?? null, secondsSinceCheckpoint },
      violations: store.violationHead(table)?.size ?? 0,
      lastVerification:
        last === null
          ? null
          : {
              time: last.time,
              node: last.node,
              outcome: last.outcome,
              ok: last.ok,
              rowsChecked: last.rowsChecked,
              modified: last.modified,
              deleted: last.deleted,
              phantom: last.phantom,
              error: last.error,
            },
    };
  };

  /** A verification that was not clean, as the timeline shows it. */
  const verificationEvent = (
    table: string,
    last: NonNullable<ReturnType<typeof verification>>,
  ): AlertEvent => {
    const stored = last.incidentId === null ? undefined : store.alert(last.incidentId);
    return {
      id: last.incidentId ?? `${nodeId}/${table}/verify-error/${last.time}`,
      reporters: [nodeId],
      kind: last.outcome === "error" ? "verification_error" : "verification_failed",
      severity: last.outcome === "error" ? "warning" : "critical",
      node: nodeId,
      table,
      operation: null,
      primaryKey: null,
      lsn: null,
      time: last.time,
      message:
        stored?.alert.message ??
        (last.outcome === "error"
          ? `verification of ${table} could not complete: ${last.error ?? "unknown error"}`
          : `verification of ${table} found ${last.modified} modified, ${last.deleted} deleted, ${last.phantom} phantom rows`),
    };
  };

  const standalone = (): ClusterView => {
    const { ready, reasons } = options.readiness();
    return {
      term: null,
      leaderId: nodeId,
      nodes: [
        {
          id: nodeId,
          role: "raft",
          state: "standalone",
          isLeader: true,
          self: true,
          health: { state: ready ? "ready" : "not_ready", reasons: [...reasons] },
        },
      ],
    };
  };

  const lookup = (table: string, seq: number): EntryLookup => {
    const entry = store.chainEntry(table, seq);
    const size = store.chainHead(table)?.size ?? 0;
    if (entry === undefined) {
      return {
        found: false,
        table,
        reason: `${table} has no entry ${seq}: its chain holds ${size}`,
      };
    }
    const view = {
      seq,
      dataHash: hex(entry.dataHash),
      chainHash: hex(entry.chainHash),
      lsn: formatLsn(toLsn(entry.lsn)),
      primaryKey: decodeKey(entry.primaryKey),
    };
    const stored = store.latestCheckpoint(table);
    if (stored === undefined || stored.size < seq) {
      return { found: true, table, entry: view, proof: null, checkpoint: null };
    }
    const checkpoint = readCheckpoint(stored.noteText);
    // Complete subtrees never change once written, so a tree opened at the checkpoint's size
    // reads the same nodes however far the chain has grown since.
    const tree = MerkleTree.open(store.treeNodes(table), checkpoint.size);
    const proof = tree.inclusionProof(seq - 1, checkpoint.size);
    return {
      found: true,
      table,
      entry: view,
      proof: { leafIndex: seq - 1, treeSize: checkpoint.size, hashes: proof.map(hex) },
      checkpoint,
    };
  };

  return {
    async overview() {
      const takenAt = now();
      const cluster = options.cluster === undefined ? standalone() : await options.cluster();
      return {
        takenAt: takenAt.toISOString(),
        node: { id: nodeId, role: "raft", verifierKey: options.verifierKey ?? null },
        cluster,
        tables: tableNames().map((table) => tableSummary(table, takenAt.getTime())),
        alertsPending: store.pendingAlerts(Number.MAX_SAFE_INTEGER, PENDING_ALERTS_COUNTED_MAX)
          .length,
      };
    },

    async alerts(limit) {
      const wanted = Math.min(Math.max(1, Math.floor(limit)), ALERTS_LIMIT_MAX);
      const events: AlertEvent[] = [];
      if (options.clusterAlerts !== undefined) {
        const replicated = await options.clusterAlerts(wanted);
        events.push(...replicated);
        // What this node raised that the cluster does not hold yet (its outbox drains into the
        // replicated incidents; not while Raft cannot commit), and its verification errors,
        // which are not replicated.
        const held = new Set(replicated.map((event) => event.id));
        for (const stored of store.pendingAlerts(Number.MAX_SAFE_INTEGER, wanted)) {
          if (!held.has(stored.alert.id)) events.push(alertEventOf(stored.alert, [nodeId]));
        }
        for (const table of tableNames()) {
          const last = verification(table);
          if (last?.outcome === "error") events.push(verificationEvent(table, last));
        }
      } else {
        for (const table of tableNames()) {
          const size = store.violationHead(table)?.size ?? 0;
          if (size > 0) {
            for (const entry of store.violations(table, Math.max(1, size - wanted + 1), size)) {
              events.push(violationEvent(nodeId, table, entry));
            }
          }
          const last = verification(table);
          if (last !== null && last.outcome !== "clean")
            events.push(verificationEvent(table, last));
        }
      }
      events.sort(newestFirst);
      return { alerts: events.slice(0, wanted) };
    },

    async witnesses() {
      return options.witnessVerdicts === undefined
        ? { verdicts: [], unreachable: [] }
        : await options.witnessVerdicts();
    },

    async entry(query) {
      const { table } = query;
      if (!tableNames().includes(table)) {
        return { found: false, table, reason: `${table} is not a protected table of ${nodeId}` };
      }
      if ("seq" in query) return lookup(table, query.seq);
      const seq = sequenceOf(store, table, query.primaryKey);
      if (seq === undefined) {
        return {
          found: false,
          table,
          reason: `${table} has no entry with primary key ${JSON.stringify(query.primaryKey)}`,
        };
      }
      return lookup(table, seq);
    },

    async series() {
      return options.sampler?.series() ?? { intervalMs: 0, points: [] };
    },
  };
}

/**
 * The entry of a key as reports give it. A key too long to keep is reported as its digest
 * (`["sha256:<hex>"]`): when no key has that text, it is looked up in its digest form.
 */
function sequenceOf(
  store: WitnzStore,
  table: string,
  primaryKey: readonly (string | null)[],
): number | undefined {
  const seq = store.sequenceForPrimaryKey(table, encodePrimaryKey(primaryKey));
  const digestForm = seq === undefined ? reportedDigestForm(primaryKey) : undefined;
  return digestForm === undefined ? seq : store.sequenceForPrimaryKey(table, digestForm);
}
