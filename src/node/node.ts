// A raft-role node's runtime on one machine: store, signing key, capture of its own slot,
// periodic verification. The order of shutdown is the reverse of start, and the store closes last
// so nothing is cut short.
import { join } from "node:path";
import { AlertDispatcher, createAlertSinks } from "../alerts/index.js";
import {
  CaptureRunner,
  type CommittedBatch,
  type Gap,
  type GapToRecord,
} from "../capture/index.js";
import type { WitnzConfig } from "../config/index.js";
import {
  createNodeMetrics,
  type HttpServer,
  type NodeMetrics,
  startHttpServer,
} from "../http/index.js";
import { checkStore, formatIntegrityReport } from "../integrity/index.js";
import { loadOrCreateNodeKey } from "../keys/index.js";
import { DEFAULT_PUBLICATION_NAME, formatLsn, slotNameForNode } from "../postgres/index.js";
import { openDatabaseSession, sessionOptions } from "../setup/index.js";
import { openStore, type WitnzStore } from "../store/index.js";
import { VerificationScheduler, type VerificationStatus } from "./verification.js";
import { stageGap, stageViolation } from "./violations.js";

export class NodeStartError extends Error {
  readonly code: "WITNZ_NODE_STORE_CORRUPT";
  constructor(code: NodeStartError["code"], message: string) {
    super(message);
    this.name = "NodeStartError";
    this.code = code;
  }
}

export interface NodeLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RunningNode {
  readonly store: WitnzStore;
  readonly capture: CaptureRunner;
  readonly verification: VerificationScheduler;
  readonly metrics: NodeMetrics;
  /** Where /healthz, /readyz and /metrics are served. */
  readonly httpUrl: string;
  /** Ready when the store is open and replication is streaming. */
  readiness(): { ready: boolean; reasons: string[] };
  stop(): Promise<void>;
}

export interface NodeHooks {
  readonly logger: NodeLogger;
  readonly onCommitted?: (batch: CommittedBatch) => void;
  readonly onGap?: (gap: Gap, recorded: readonly GapToRecord[]) => void;
  readonly onVerified?: (status: VerificationStatus) => void;
}

/** Wall-clock microseconds made monotonic per node: max(now, last + 1µs). */
export function monotonicMicroseconds(now: () => number = Date.now): () => bigint {
  let last = 0n;
  return () => {
    const current = BigInt(now()) * 1000n;
    last = current > last ? current : last + 1n;
    return last;
  };
}

export function clusterOrigin(config: WitnzConfig): string {
  return `witnz/${config.node.clusterId ?? "default"}`;
}

export async function startNode(config: WitnzConfig, hooks: NodeHooks): Promise<RunningNode> {
  const database = config.database;
  if (database === undefined) throw new Error("a raft node needs a database section");
  const nodeId = config.node.id;
  const keyPath = config.node.keyFile ?? join(config.node.dataDir, "node.key");
  const keyName = `${clusterOrigin(config)}/node/${nodeId}`;
  const { privateKey, created } = await loadOrCreateNodeKey(keyPath, keyName);
  if (created) hooks.logger.info({ keyPath }, "created the node signing key");
  const store = await openStore(config.node.dataDir);
  // Re-hash every chain, tree, checkpoint and index before attesting anything from this store.
  const integrity = checkStore(store);
  if (!integrity.ok) {
    await store.close();
    throw new NodeStartError(
      "WITNZ_NODE_STORE_CORRUPT",
      `the store in ${config.node.dataDir} failed its integrity check; refusing to start\n${formatIntegrityReport(integrity)}`,
    );
  }
  hooks.logger.info({ entries: integrity.entriesChecked }, "store integrity check passed");
  const metrics = createNodeMetrics({ collectProcessMetrics: true });
  const dispatcher = new AlertDispatcher({
    store,
    sinks: createAlertSinks(config.alerts),
    onDelivery: (event) => {
      const labels = { kind: event.alert.kind, sink: event.sinkName };
      if (event.outcome.status === "delivered") metrics.alertsDelivered.inc(labels);
      else metrics.alertsFailed.inc(labels);
    },
    onPassError: (error) =>
      hooks.logger.error({ err: errorText(error) }, "alert delivery pass failed; retrying"),
  });
  const clock = monotonicMicroseconds();
  const verification = new VerificationScheduler({
    store,
    nodeId,
    tables: config.protectedTables,
    openSession: () => openDatabaseSession(database),
    metrics,
    logger: hooks.logger,
    onAlert: () => dispatcher.wake(),
    ...(hooks.onVerified === undefined ? {} : { onVerified: hooks.onVerified }),
  });
  const capture = new CaptureRunner({
    connection: sessionOptions(database),
    slotName: slotNameForNode(nodeId),
    publicationName: DEFAULT_PUBLICATION_NAME,
    store,
    signer: { name: keyName, privateKey },
    clusterOrigin: clusterOrigin(config),
    nowUnixMicroseconds: clock,
    stageViolation: stageViolation(nodeId, () => new Date()),
    stageGap: stageGap(nodeId),
    protectedTables: config.protectedTables.map((table) => table.name),
    onGap: (gap, recorded) => {
      for (const entry of recorded) {
        metrics.violations.inc({ table: entry.table, kind: "gap" });
        metrics.alertsEnqueued.inc({ kind: "replication_gap" });
      }
      hooks.logger.error(
        { reason: gap.reason, fromLsn: formatLsn(gap.fromLsn), toLsn: formatLsn(gap.toLsn) },
        "replication gap recorded; verifying every protected table",
      );
      dispatcher.wake();
      verification.requestAll("gap");
      hooks.onGap?.(gap, recorded);
    },
    onCommitted: (batch) => {
      for (const [table, rows] of batch.rowsByTable) metrics.rowsCaptured.inc({ table }, rows);
      for (const violation of batch.violations) {
        metrics.violations.inc({ table: violation.table, kind: violation.kind });
        hooks.logger.warn(violation, "violation recorded on a protected table");
      }
      if (batch.violations.length > 0) dispatcher.wake();
      hooks.onCommitted?.(batch);
    },
    onError: (error, retryInMs) =>
      hooks.logger.warn(
        { err: errorText(error), retryInMs },
        "replication interrupted; reconnecting",
      ),
  });
  const readiness = () => {
    const reasons = capture.state === "streaming" ? [] : [`replication is ${capture.state}`];
    return { ready: reasons.length === 0, reasons };
  };
  let http: HttpServer;
  try {
    const { host, port } = splitHostPort(config.node.httpAddr);
    http = await startHttpServer({ host, port, readiness, registry: metrics.registry });
  } catch (error) {
    await store.close();
    throw error;
  }
  dispatcher.start();
  capture.start();
  verification.start();
  hooks.logger.info({ http: http.url, slot: slotNameForNode(nodeId) }, "node started");
  return {
    store,
    capture,
    verification,
    metrics,
    httpUrl: http.url,
    readiness,
    stop: async () => {
      await verification.stop();
      await capture.stop();
      await dispatcher.stop();
      await http.close();
      await store.close();
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `host:port` or `[v6]:port` into its parts. */
export function splitHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (match === null) throw new Error(`${address} is not host:port`);
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}
