// Periodic full verification of a node's protected tables: one table at a time (runs never
// overlap), each on its own `verify_interval`, at once after a gap. The last result of each table
// is kept in the store for `witnz status`; tampering raises a `verification_failed` alert whose
// incident id is the same for the same findings. docs/design/capture.md.
import { createHash } from "node:crypto";
import type pg from "pg";
import { displayTableNames } from "../capture/index.js";
import { decodeTableLayout, tableLayoutMetaName } from "../catalog/index.js";
import type { NodeMetrics } from "../http/index.js";
import type { WitnzStore } from "../store/index.js";
import { type TableVerification, verifyTable } from "../verify/index.js";
import type { NodeLogger } from "./node.js";

/** Store meta name of a table's last verification result (JSON, `VerificationStatus`). */
export function verificationMetaName(table: string): string {
  return `verification:${table}`;
}

/** After a failed run (database unreachable, ...), the next try comes at most this much later. */
export const VERIFICATION_RETRY_DELAY_MS_MAX = 30_000;
/** Keys of each kind named in an alert's message; the full list is in `witnz verify`. */
export const ALERT_KEYS_SHOWN_MAX = 5;

export type VerificationTrigger = "interval" | "gap" | "restore";
export type VerificationOutcome = "clean" | "tampered" | "error";

/** The last verification of one table, as stored in `verification:<table>`. */
export interface VerificationStatus {
  readonly table: string;
  readonly trigger: VerificationTrigger;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly outcome: VerificationOutcome;
  readonly ok: boolean;
  readonly rowsChecked: number;
  readonly modifiedRows: number;
  readonly deletedRows: number;
  readonly phantomRows: number;
  readonly schemaChanged: boolean;
  /** The table's violation log size when the run started: later gaps call for another run. */
  readonly violationLogSize: number;
  /** The `verification_failed` incident, when tampering was found. */
  readonly incidentId?: string;
  /** Why the run could not complete (outcome `error`). */
  readonly error?: string;
}

/** The last verification result stored for `table` (display name), if any. */
export function lastVerification(store: WitnzStore, table: string): VerificationStatus | undefined {
  const bytes = store.meta(verificationMetaName(table));
  if (bytes === undefined) return undefined;
  return JSON.parse(Buffer.from(bytes).toString("utf8")) as VerificationStatus;
}

/** The incident id of a finding set: the same modified, deleted and phantom keys, the same id. */
export function verificationIncidentId(
  result: Pick<TableVerification, "table" | "modified" | "deleted" | "phantom" | "schemaChange">,
): string {
  const findings = JSON.stringify([
    result.modified,
    result.deleted,
    result.phantom,
    result.schemaChange ?? null,
  ]);
  const digest = createHash("sha256").update(findings).digest("hex").slice(0, 16);
  return `${result.table}/verify/${digest}`;
}

export interface VerificationSchedulerOptions {
  readonly store: WitnzStore;
  readonly nodeId: string;
  /** Protected tables as configured, with their intervals. */
  readonly tables: readonly { readonly name: string; readonly verifyIntervalMs: number }[];
  /** A pinned session (verification and the table names); closed after each use. */
  readonly openSession: () => Promise<pg.Client>;
  readonly metrics: NodeMetrics;
  readonly logger: NodeLogger;
  /** Called after a run enqueued an alert (wakes the dispatcher). */
  readonly onAlert?: () => void;
  /** Called after every run, its result stored. */
  readonly onVerified?: (status: VerificationStatus) => void;
  /**
   * In a cluster, interval runs are the leader's duty: they run only while `isMine()`, and not
   * before the interval has passed since the cluster's last run of the table (by any node).
   * Runs after a gap are always this node's own.
   */
  readonly intervalDuty?: IntervalDuty;
  readonly nowMs?: () => number;
}

export interface IntervalDuty {
  isMine(): boolean;
  /** When the cluster last verified the table (display name), ms since 1970. */
  lastRunMs(table: string): number | undefined;
}

/** How often a node that does not hold the interval duty looks again. */
const INTERVAL_DUTY_POLL_MS = 1_000;

interface ScheduledTable {
  readonly name: string;
  readonly intervalMs: number;
  dueAtMs: number;
  trigger: VerificationTrigger;
}

export class VerificationScheduler {
  readonly #options: VerificationSchedulerOptions;
  readonly #now: () => number;
  #tables: ScheduledTable[] | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wakeSleep: (() => void) | undefined;
  #session: pg.Client | undefined;
  #requested: VerificationTrigger | undefined;

  constructor(options: VerificationSchedulerOptions) {
    this.#options = options;
    this.#now = options.nowMs ?? Date.now;
  }

  start(): void {
    if (this.#loop !== undefined) throw new Error("verification already started");
    this.#loop = this.#run();
  }

  /** Verifies every table as soon as the run in hand (if any) is over: after a gap. */
  requestAll(trigger: VerificationTrigger): void {
    if (this.#tables === undefined) {
      // Applied once the names are resolved.
      this.#requested = trigger;
    } else {
      const now = this.#now();
      for (const table of this.#tables) {
        table.dueAtMs = now;
        table.trigger = trigger;
      }
    }
    this.#wakeSleep?.();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeSleep?.();
    await this.#session?.end().catch(() => undefined);
    await this.#loop;
  }

  async #run(): Promise<void> {
    let retryDelayMs = 1_000;
    while (!this.#stopping) {
      if (this.#tables === undefined) {
        try {
          this.#tables = await this.#schedule();
          retryDelayMs = 1_000;
          const requested = this.#requested;
          this.#requested = undefined;
          if (requested !== undefined) this.requestAll(requested);
        } catch (error) {
          if (this.#stopping) return;
          this.#options.logger.warn(
            { err: errorText(error), retryInMs: retryDelayMs },
            "cannot resolve the protected tables for verification; retrying",
          );
          await this.#sleep(retryDelayMs);
          retryDelayMs = Math.min(retryDelayMs * 2, VERIFICATION_RETRY_DELAY_MS_MAX);
          continue;
        }
      }
      const tables = this.#tables;
      if (tables.length === 0) {
        await this.#sleep(VERIFICATION_RETRY_DELAY_MS_MAX);
        continue;
      }
      let next = tables[0]!;
      for (const table of tables) if (table.dueAtMs < next.dueAtMs) next = table;
      const waitMs = next.dueAtMs - this.#now();
      if (waitMs > 0) {
        await this.#sleep(
          Math.min(waitMs, this.#options.intervalDuty ? INTERVAL_DUTY_POLL_MS : waitMs),
        );
        continue;
      }
      const duty = this.#options.intervalDuty;
      if (next.trigger === "interval" && duty !== undefined) {
        const lastRunMs = duty.lastRunMs(next.name);
        if (!duty.isMine()) {
          next.dueAtMs = this.#now() + INTERVAL_DUTY_POLL_MS;
          continue;
        }
        if (lastRunMs !== undefined && lastRunMs + next.intervalMs > this.#now()) {
          next.dueAtMs = lastRunMs + next.intervalMs;
          continue;
        }
      }
      const status = await this.#verify(next.name, next.trigger);
      if (status === undefined) return;
      next.trigger = "interval";
      next.dueAtMs =
        this.#now() +
        (status.outcome === "error"
          ? Math.min(next.intervalMs, VERIFICATION_RETRY_DELAY_MS_MAX)
          : next.intervalMs);
    }
  }

  /**
   * Display names and first due times: the stored result's end plus the interval, or now when
   * the table's violation log ends in a gap no run has covered yet (a crash after the gap).
   */
  async #schedule(): Promise<ScheduledTable[]> {
    const { store, tables } = this.#options;
    const client = await this.#options.openSession();
    let names: string[];
    try {
      names = await displayTableNames(
        client,
        tables.map((table) => table.name),
      );
    } finally {
      await client.end();
    }
    const now = this.#now();
    return names.map((name, index) => {
      const intervalMs = tables[index]!.verifyIntervalMs;
      const last = lastVerification(store, name);
      const violationLogSize = store.violationHead(name)?.size ?? 0;
      if (violationLogSize > (last?.violationLogSize ?? 0)) {
        const [newest] = store.violations(name, violationLogSize, violationLogSize);
        if (newest?.record.kind === "gap")
          return { name, intervalMs, dueAtMs: now, trigger: "gap" };
      }
      const since = last === undefined ? now : Date.parse(last.finishedAt);
      return { name, intervalMs, dueAtMs: Math.max(now, since + intervalMs), trigger: "interval" };
    });
  }

  /** One run; undefined when stopped meanwhile (nothing stored). */
  async #verify(
    table: string,
    trigger: VerificationTrigger,
  ): Promise<VerificationStatus | undefined> {
    const { store, metrics, logger, nodeId } = this.#options;
    const startedAtMs = this.#now();
    const violationLogSize = store.violationHead(table)?.size ?? 0;
    let result: TableVerification | undefined;
    let failure: unknown;
    try {
      const layoutBytes = store.meta(tableLayoutMetaName(table));
      if (layoutBytes === undefined) {
        throw new Error(`${table} has no recorded layout; run witnz init`);
      }
      const client = await this.#options.openSession();
      this.#session = client;
      try {
        result = await verifyTable(store, client, decodeTableLayout(layoutBytes));
      } finally {
        this.#session = undefined;
        await client.end().catch(() => undefined);
      }
    } catch (error) {
      failure = error;
    }
    if (this.#stopping) return undefined;
    const finishedAtMs = this.#now();
    const outcome: VerificationOutcome =
      result === undefined ? "error" : result.ok ? "clean" : "tampered";
    const incidentId =
      result !== undefined && !result.ok ? verificationIncidentId(result) : undefined;
    const status: VerificationStatus = {
      table,
      trigger,
      startedAt: new Date(startedAtMs).toISOString(),
      finishedAt: new Date(finishedAtMs).toISOString(),
      durationMs: finishedAtMs - startedAtMs,
      outcome,
      ok: result?.ok ?? false,
      rowsChecked: result?.rowsChecked ?? 0,
      modifiedRows: result?.modified.length ?? 0,
      deletedRows: result?.deleted.length ?? 0,
      phantomRows: result?.phantom.length ?? 0,
      schemaChanged: result?.schemaChange !== undefined,
      violationLogSize,
      ...(incidentId === undefined ? {} : { incidentId }),
      ...(failure === undefined ? {} : { error: errorText(failure) }),
    };
    const batch = store.batch();
    batch.setMeta(verificationMetaName(table), Buffer.from(JSON.stringify(status), "utf8"));
    const alerted =
      result !== undefined &&
      incidentId !== undefined &&
      batch.enqueueAlert({
        id: incidentId,
        kind: "verification_failed",
        severity: "critical",
        node: nodeId,
        table,
        detectedAt: status.finishedAt,
        message: alertMessage(result),
      });
    await store.commit(batch);
    metrics.verificationRuns.inc({ table, outcome });
    if (result !== undefined) {
      metrics.verificationMismatchedRows.set(
        { table, difference: "modified" },
        status.modifiedRows,
      );
      metrics.verificationMismatchedRows.set({ table, difference: "deleted" }, status.deletedRows);
      metrics.verificationMismatchedRows.set({ table, difference: "phantom" }, status.phantomRows);
    }
    if (alerted) metrics.alertsEnqueued.inc({ kind: "verification_failed" });
    const fields = { table, trigger, outcome, rowsChecked: status.rowsChecked };
    if (outcome === "clean") logger.info(fields, "verification clean");
    else if (outcome === "tampered") logger.error({ ...fields, incidentId }, "tampering found");
    else logger.warn({ ...fields, err: status.error }, "verification failed to run");
    if (alerted) this.#options.onAlert?.();
    this.#options.onVerified?.(status);
    return status;
  }

  #sleep(milliseconds: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, milliseconds);
      this.#wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function alertMessage(result: TableVerification): string {
  const parts: string[] = [];
  const kinds = [
    ["modified", result.modified],
    ["deleted", result.deleted],
    ["phantom", result.phantom],
  ] as const;
  for (const [kind, keys] of kinds) {
    if (keys.length === 0) continue;
    const shown = keys.slice(0, ALERT_KEYS_SHOWN_MAX).map((key) => JSON.stringify(key));
    const more = keys.length > shown.length ? `, ... ${keys.length - shown.length} more` : "";
    parts.push(`${keys.length} ${kind} (${shown.join(", ")}${more})`);
  }
  if (result.schemaChange !== undefined)
    parts.push(`schema changed: ${result.schemaChange.message}`);
  const text = `verification of ${result.table} found tampering: ${parts.join("; ")}`;
  return text.length > 4096 ? `${text.slice(0, 4093)}...` : text;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
