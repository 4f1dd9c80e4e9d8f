// A raft-role node's runtime on one machine: store, signing key, capture of its own slot,
// periodic verification. The order of shutdown is the reverse of start, and the store closes last
// so nothing is cut short.

import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type AlertDeliveryEvent,
  AlertDispatcher,
  type AlertSink,
  createAlertSinks,
} from "../alerts/index.js";
import {
  CaptureRunner,
  type CommittedBatch,
  type Gap,
  type GapToRecord,
} from "../capture/index.js";
import { formatVerifierKey, noteVerifier, SIGNATURE_TYPE_ED25519 } from "../checkpoint/index.js";
import {
  type ClusterRuntime,
  readRestoreRecord,
  startClusterRuntime,
  unfinishedRestore,
  writeRestoreRecord,
} from "../cluster-node/index.js";
import type { WitnzConfig } from "../config/index.js";
import { ed25519PublicKeyFromRaw, ed25519PublicKeyRaw } from "../crypto/index.js";
import { IngestSampler, slotLagReader, storeDashboardSource } from "../dashboard/index.js";
import {
  countAlertDelivery,
  createNodeMetrics,
  type HttpServer,
  type NodeMetrics,
  startHttpServer,
} from "../http/index.js";
import { checkStore, formatIntegrityReport } from "../integrity/index.js";
import { loadOrCreateNodeKey } from "../keys/index.js";
import { formatLsn, publicationNameForNode, slotNameForNode } from "../postgres/index.js";
import { openDatabaseSession, sessionOptions } from "../setup/index.js";
import { openStore, runHoldingDataDirectory, type WitnzStore } from "../store/index.js";
import {
  type SubmitterBacklog,
  type WitnessEndpoint,
  type WitnessSubmitter,
  WitnessVerdictReader,
  witnessEndpoints,
} from "../witness/index.js";
import {
  clusterDashboard,
  clusterIntervalDuty,
  clusterSettings,
  isClusterMember,
  NODE_STARTED_META,
  RAFT_DIRECTORY,
  RESTORE_POLL_MS,
  SNAPSHOT_TRAILING_ENTRIES_MAX,
  startWitnessSubmitter,
  stopWitnessSubmitter,
} from "./cluster-membership.js";
import { NodeStartError, splitHostPort } from "./errors.js";
import { observationFault } from "./faults.js";
import {
  VerificationScheduler,
  type VerificationStatus,
  verificationMetaName,
} from "./verification.js";
import { stageGap, stageViolation } from "./violations.js";

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
  /** The node's cluster membership, when `node.peer_addrs` names peers. */
  readonly cluster: ClusterRuntime | undefined;
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

/**
 * Starts a node on its data directory, which it holds (`witnz.pid`) until it stops: a second
 * process on the same directory is refused with WITNZ_STORE_IN_USE.
 */
export function startNode(config: WitnzConfig, hooks: NodeHooks): Promise<RunningNode> {
  return runHoldingDataDirectory(config.node.dataDir, () => startLockedNode(config, hooks));
}

async function startLockedNode(config: WitnzConfig, hooks: NodeHooks): Promise<RunningNode> {
  const database = config.database;
  if (database === undefined) throw new Error("a raft node needs a database section");
  const nodeId = config.node.id;
  const keyPath = config.node.keyFile ?? join(config.node.dataDir, "node.key");
  const keyName = `${clusterOrigin(config)}/node/${nodeId}`;
  const { privateKey, created } = await loadOrCreateNodeKey(keyPath, keyName);
  if (created) hooks.logger.info({ keyPath }, "created the node signing key");
  const cluster = isClusterMember(config) ? clusterSettings(config) : undefined;
  const store = await openStore(config.node.dataDir);
  const unfinished = unfinishedRestore(store);
  if (unfinished !== undefined) {
    await store.close();
    throw new NodeStartError(
      "WITNZ_NODE_RESTORE_UNFINISHED",
      `the store in ${config.node.dataDir} holds part of a restore from ${unfinished.from} (started ${unfinished.at}) that did not finish; move the store away, run witnz restore --config FILE again, then start`,
    );
  }
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
  const clock = monotonicMicroseconds();
  const onDelivery = (event: AlertDeliveryEvent) => countAlertDelivery(metrics, event);
  const signer = { name: keyName, privateKey };
  if (cluster !== undefined && store.meta(NODE_STARTED_META) === undefined) {
    // A member that ran before (it has a Raft log) but whose store has no trace of its first
    // start lost its store: its chains cannot be re-captured from its slot. It is rebuilt from a
    // peer first (which leaves a restore record).
    const raftLog = existsSync(join(config.node.dataDir, RAFT_DIRECTORY, "data.mdb"));
    if (raftLog && readRestoreRecord(store) === undefined) {
      await store.close();
      throw new NodeStartError(
        "WITNZ_NODE_STORE_LOST",
        `the store in ${config.node.dataDir} was lost (this node has a Raft log but its store has no trace of it); rebuild it from a peer with witnz restore --config FILE, then start again`,
      );
    }
    // Written before the Raft log exists, so a store without it beside a Raft log was lost.
    const batch = store.batch();
    batch.setMeta(NODE_STARTED_META, Buffer.from(new Date().toISOString(), "utf8"));
    await store.commit(batch);
  }
  const restore = cluster === undefined ? undefined : readRestoreRecord(store);
  const verifierKey = formatVerifierKey(
    noteVerifier(
      keyName,
      SIGNATURE_TYPE_ED25519,
      ed25519PublicKeyFromRaw(ed25519PublicKeyRaw(privateKey)),
    ),
  );
  const restoredPending = restore !== undefined && restore.reverifiedAt === undefined;
  let clusterRuntime: ClusterRuntime | undefined;
  let witnesses: { submitter: WitnessSubmitter; backlog: SubmitterBacklog } | undefined;
  let witnessTargets: WitnessEndpoint[] = [];
  if (cluster !== undefined) {
    try {
      // Read once (the CAs too), before anything starts that would need stopping on an error.
      witnessTargets = witnessEndpoints(config);
      if (witnessTargets.length > 0) {
        witnesses = await startWitnessSubmitter(config, witnessTargets, signer, hooks.logger);
      }
      const submitter = witnesses?.submitter;
      clusterRuntime = await startClusterRuntime({
        nodeId,
        clusterId: config.node.clusterId ?? "default",
        clusterOrigin: clusterOrigin(config),
        store,
        signer,
        verifierKey,
        raftDirectory: join(config.node.dataDir, RAFT_DIRECTORY),
        listenHost: cluster.listen.host,
        listenPort: cluster.listen.port,
        advertiseAddress: config.node.bindAddr!,
        snapshotEveryEntries: config.node.raftSnapshotEntries,
        snapshotTrailingEntries: Math.min(
          SNAPSHOT_TRAILING_ENTRIES_MAX,
          Math.floor(config.node.raftSnapshotEntries / 8),
        ),
        peers: config.node.peerAddrs,
        bootstrap: config.node.bootstrap,
        tls: cluster.tls,
        sinks: createAlertSinks(config.alerts),
        restoredPending,
        nowUnixMicroseconds: clock,
        logger: hooks.logger,
        onDelivery,
        ...(submitter === undefined
          ? {}
          : {
              onObservation: (observation) =>
                submitter.submit({
                  checkpoint: observation.note,
                  consistencyFromSize: observation.previousSize,
                  consistencyProof: observation.consistencyProof,
                }),
            }),
      });
    } catch (error) {
      await stopWitnessSubmitter(witnesses);
      await store.close();
      throw error;
    }
  }
  // Alone, the outbox drains to the sinks. In a cluster it drains into the replicated
  // incidents, and the leader delivers those (docs/design/cluster.md, "Alerts").
  const sinks: readonly AlertSink[] =
    clusterRuntime === undefined ? createAlertSinks(config.alerts) : [clusterRuntime.relaySink];
  const dispatcher = new AlertDispatcher({
    store,
    sinks,
    onDelivery,
    onPassError: (error) =>
      hooks.logger.error({ err: errorText(error) }, "alert delivery pass failed; retrying"),
  });
  // After a restore: once capture has caught up with the other nodes, every protected table is
  // verified against PostgreSQL (tampering it finds is alerted as usual) and the store is checked
  // against what the cluster agreed; then the cluster counts the node again.
  const restoreRuns = new Map<string, boolean>();
  let restoreTimer: ReturnType<typeof setTimeout> | undefined;
  let stopping = false;
  const verifyRestoredWhenCaughtUp = () => {
    if (stopping) return;
    restoreTimer = setTimeout(() => {
      const node = clusterRuntime?.node;
      const caughtUp =
        node !== undefined &&
        capture.state === "streaming" &&
        store
          .tables()
          .every(
            (table) => (store.chainHead(table)?.size ?? 0) >= node.furthestReportedSize(table),
          );
      if (caughtUp) verification.requestAll("restore");
      else verifyRestoredWhenCaughtUp();
    }, RESTORE_POLL_MS);
  };
  const afterRestoreRun = (status: VerificationStatus) => {
    if (!restoredPending || restore === undefined || status.trigger !== "restore") return;
    restoreRuns.set(status.table, status.outcome !== "error");
    if (restoreRuns.size < config.protectedTables.length) return;
    const completed = [...restoreRuns.values()].every(Boolean);
    const agreement = clusterRuntime?.node.agreesWithCluster();
    restoreRuns.clear();
    if (!completed || agreement === undefined || !agreement.ok) {
      hooks.logger.warn(
        { problems: agreement?.problems ?? [], verificationsCompleted: completed },
        "the restored store is not re-verified yet; the node stays restored and does not attest",
      );
      verifyRestoredWhenCaughtUp();
      return;
    }
    void (async () => {
      try {
        await clusterRuntime?.node.reverified();
        await writeRestoreRecord(store, { ...restore, reverifiedAt: new Date().toISOString() });
        hooks.logger.info({ from: restore.from }, "restored store re-verified; attesting again");
      } catch (error) {
        hooks.logger.error({ err: errorText(error) }, "cannot record the re-verification");
        verifyRestoredWhenCaughtUp();
      }
    })();
  };
  const verification = new VerificationScheduler({
    store,
    nodeId,
    tables: config.protectedTables,
    openSession: () => openDatabaseSession(database),
    metrics,
    logger: hooks.logger,
    onAlert: () => dispatcher.wake(),
    onVerified: (status) => {
      if (clusterRuntime !== undefined && status.outcome !== "error") {
        clusterRuntime.node.recordVerification({
          table: status.table,
          timeMicroseconds: Date.parse(status.finishedAt) * 1000,
          counts: {
            rows: status.rowsChecked,
            modified: status.modifiedRows,
            deleted: status.deletedRows,
            phantom: status.phantomRows,
          },
        });
      }
      afterRestoreRun(status);
      hooks.onVerified?.(status);
    },
    ...(clusterRuntime === undefined ? {} : { intervalDuty: clusterIntervalDuty(clusterRuntime) }),
  });
  const fault = observationFault(config.node.dataDir);
  if (fault !== undefined) hooks.logger.warn({}, "test faults are enabled on this node");
  const capture = new CaptureRunner({
    ...(fault === undefined ? {} : { observeRow: fault.observeRow }),
    connection: sessionOptions(database),
    slotName: slotNameForNode(nodeId),
    publicationName: publicationNameForNode(nodeId),
    store,
    signer,
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
      sampler.recordRows(batch.rowsAppended);
      clusterRuntime?.node.captureCommitted(batch);
      hooks.onCommitted?.(batch);
    },
    onError: (error, retryInMs) =>
      hooks.logger.warn(
        { err: errorText(error), retryInMs },
        "replication interrupted; reconnecting",
      ),
  });
  const readiness = () => {
    const reasons =
      capture.state === "streaming"
        ? []
        : [
            capture.state === "reconnecting" && capture.lastError !== undefined
              ? `replication is reconnecting: ${errorText(capture.lastError)}`
              : `replication is ${capture.state}`,
          ];
    if (clusterRuntime !== undefined && clusterRuntime.raft.leader() === null) {
      reasons.push("no raft leader is known");
    }
    return { ready: reasons.length === 0, reasons };
  };
  const lag = slotLagReader({
    openSession: () => openDatabaseSession(database),
    slotName: slotNameForNode(nodeId),
  });
  const sampler = new IngestSampler({
    readLagBytes: async () => {
      const bytes = await lag.read();
      if (bytes !== null) metrics.replicationLagBytes.set(bytes);
      const seconds = lag.secondsBehind();
      if (seconds !== null) metrics.replicationLagSeconds.set(seconds);
      return bytes;
    },
    onError: (error) => hooks.logger.warn({ err: errorText(error) }, "replication lag read failed"),
  });
  const verdictReader =
    witnesses === undefined
      ? undefined
      : new WitnessVerdictReader({
          customerId: config.node.clusterId ?? "default",
          querySigner: { nodeId, privateKey },
          witnesses: witnessTargets,
        });
  const dashboardSource = storeDashboardSource({
    store,
    nodeId,
    verifierKey,
    tables: [],
    readiness,
    verificationMetaName,
    sampler,
    ...(clusterRuntime === undefined
      ? {}
      : clusterDashboard(clusterRuntime, nodeId, readiness, verdictReader)),
  });
  let http: HttpServer;
  try {
    const { host, port } = splitHostPort(config.node.httpAddr);
    http = await startHttpServer({
      host,
      port,
      readiness,
      registry: metrics.registry,
      ...(clusterRuntime === undefined ? {} : { cluster: clusterRuntime.status }),
      dashboard: {
        source: dashboardSource,
        ...(config.node.dashboardToken === undefined ? {} : { token: config.node.dashboardToken }),
      },
    });
  } catch (error) {
    verdictReader?.close();
    await clusterRuntime?.stop();
    await stopWitnessSubmitter(witnesses);
    await store.close();
    throw error;
  }
  dispatcher.start();
  sampler.start();
  capture.start();
  verification.start();
  if (restoredPending) verifyRestoredWhenCaughtUp();
  hooks.logger.info({ http: http.url, slot: slotNameForNode(nodeId) }, "node started");
  return {
    store,
    capture,
    verification,
    metrics,
    cluster: clusterRuntime,
    httpUrl: http.url,
    readiness,
    stop: async () => {
      stopping = true;
      clearTimeout(restoreTimer);
      await verification.stop();
      await capture.stop();
      fault?.stop();
      await dispatcher.stop();
      await clusterRuntime?.stop();
      await stopWitnessSubmitter(witnesses);
      await http.close();
      verdictReader?.close();
      await sampler.stop();
      await lag.close();
      await store.close();
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
