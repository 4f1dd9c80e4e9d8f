// A witness's runtime on one machine: its LMDB store (records and alert outbox in one
// environment), its cosigning key, the RPC server, /healthz, /metrics and the dashboard, the vote
// timer and the alert dispatcher. Stop order is the reverse of start; the store closes last.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { AlertDispatcher, createAlertSinks } from "../alerts/index.js";
import {
  formatVerifierKey,
  type NoteVerifier,
  noteVerifier,
  parseVerifierKey,
  SIGNATURE_TYPE_COSIGNATURE_V1,
} from "../checkpoint/index.js";
import type { WitnzConfig } from "../config/index.js";
import { countAlertDelivery, startHttpServer } from "../http/index.js";
import { loadOrCreateNodeKey } from "../keys/index.js";
import {
  openLmdbKeyValueStore,
  openStoreOnKeyValueStore,
  runHoldingDataDirectory,
} from "../store/index.js";
import type { NodeRegistry } from "./core/index.js";
import { witnessDashboardSource } from "./dashboard.js";
import { WitnessError } from "./errors.js";
import { createWitnessMetrics, type WitnessMetrics } from "./metrics.js";
import { startWitnessServer } from "./server.js";
import { type Verdict, WitnessService } from "./witness-service.js";

export interface WitnessLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface WitnessHooks {
  readonly logger: WitnessLogger;
  readonly onVerdict?: (verdict: Verdict) => void;
  /** Wall-clock milliseconds; `Date.now` unless injected. */
  readonly clock?: () => number;
}

export interface RunningWitness {
  /** Where WitnzService is served: `http://host:port` or `https://host:port`. */
  readonly url: string;
  /** Where /healthz, /readyz, /metrics and the dashboard are served. */
  readonly httpUrl: string;
  /** `<name>+<key id>+<key>`: the cosignature/v1 verifier key of this witness. */
  readonly cosignerVerifierKey: string;
  readonly service: WitnessService;
  readonly metrics: WitnessMetrics;
  stop(): Promise<void>;
}

/** The dashboard shows a node not ready when it has not submitted for this long at least. */
const DASHBOARD_STALE_MS_MIN = 30_000;

/** The longest the vote timer sleeps, so a stopped clock or a new collection is seen soon. */
const VOTE_TIMER_MS_MAX = 1_000;

/** The registry of customer nodes' keys a witness accepts, from its configuration. */
export function registryFromConfig(config: WitnzConfig): NodeRegistry {
  const registry = new Map<string, Map<string, NoteVerifier>>();
  for (const customer of config.customers) {
    const nodes = new Map<string, NoteVerifier>();
    for (const node of customer.nodes) nodes.set(node.id, parseVerifierKey(node.verifierKey));
    registry.set(customer.id, nodes);
  }
  return registry;
}

/** `host:port` or `[v6]:port` into its parts. */
function splitAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (match === null) {
    throw new WitnessError("WITNZ_WITNESS_START", `${address} is not host:port`);
  }
  return { host: match[1] ?? match[2]!, port: Number(match[3]) };
}

/**
 * Starts a witness on its data directory, which it holds (`witnz.pid`) until it stops: a second
 * process on the same directory is refused with WITNZ_STORE_IN_USE.
 */
export async function startWitness(
  config: WitnzConfig,
  hooks: WitnessHooks,
): Promise<RunningWitness> {
  if (config.node.role !== "witness") {
    throw new WitnessError("WITNZ_WITNESS_START", "node.role is not witness");
  }
  return runHoldingDataDirectory(config.node.dataDir, () => startLockedWitness(config, hooks));
}

async function startLockedWitness(
  config: WitnzConfig,
  hooks: WitnessHooks,
): Promise<RunningWitness> {
  if (config.node.role !== "witness") {
    throw new WitnessError("WITNZ_WITNESS_START", "node.role is not witness");
  }
  if (config.database !== undefined) {
    throw new WitnessError(
      "WITNZ_WITNESS_START",
      "a witness has no database section; it never connects to a database",
    );
  }
  if (config.node.grpcAddr === undefined) {
    throw new WitnessError("WITNZ_WITNESS_START", "a witness needs node.grpc_addr");
  }
  const clock = hooks.clock ?? Date.now;
  const registry = registryFromConfig(config);
  const witnessId = config.node.id;
  const keyPath = config.node.keyFile ?? join(config.node.dataDir, "node.key");
  const { privateKey, created } = await loadOrCreateNodeKey(keyPath, `witnz/witness/${witnessId}`);
  if (created) hooks.logger.info({ keyPath }, "created the witness cosigning key");
  const cosigner = { name: `witnz/witness/${witnessId}`, privateKey };
  const cosignerVerifierKey = formatVerifierKey(
    noteVerifier(cosigner.name, SIGNATURE_TYPE_COSIGNATURE_V1, privateKey),
  );
  const tls =
    config.node.tlsCertFile !== undefined && config.node.tlsKeyFile !== undefined
      ? {
          certificate: await readFile(config.node.tlsCertFile),
          key: await readFile(config.node.tlsKeyFile),
        }
      : undefined;
  const keyValueStore = openLmdbKeyValueStore(join(config.node.dataDir, "witness"));
  const outbox = await openStoreOnKeyValueStore(keyValueStore);
  const metrics = createWitnessMetrics({ collectProcessMetrics: true });
  const dispatcher = new AlertDispatcher({
    store: outbox,
    sinks: createAlertSinks(config.alerts),
    onDelivery: (event) => countAlertDelivery(metrics, event),
    onPassError: (error) =>
      hooks.logger.error({ err: String(error) }, "alert delivery pass failed; retrying"),
  });
  const service = new WitnessService({
    witnessId,
    keyValueStore,
    outbox,
    registry,
    cosigner,
    collectionTimeoutMs: config.hashCollectionTimeoutMs,
    clock,
    hooks: {
      onRejected: (code, request) => {
        metrics.rejections.inc({ code });
        hooks.logger.warn(
          { code, customer: request.customerId, node: request.nodeId },
          "submission refused",
        );
      },
      onObservation: (status) => {
        metrics.observations.inc({ status });
        metrics.openCollections.set(service.openCollections);
      },
      onVerdict: (verdict, latencyMs) => {
        metrics.verdicts.inc({ outcome: verdict.outcome });
        metrics.openCollections.set(service.openCollections);
        metrics.voteLatencySeconds.observe(latencyMs / 1000);
        if (verdict.cosigned) metrics.cosignatures.inc();
        const log = verdict.outcome === "unanimous" ? hooks.logger.info : hooks.logger.warn;
        log.call(
          hooks.logger,
          {
            customer: verdict.customer,
            table: verdict.table,
            size: verdict.size,
            outcome: verdict.outcome,
          },
          "vote decided",
        );
        hooks.onVerdict?.(verdict);
      },
      onCosignRefused: (verdict, inconsistent) => {
        metrics.cosignRefusals.inc({ inconsistent: String(inconsistent) });
        hooks.logger.warn(
          { table: verdict.table, size: verdict.size, reason: verdict.cosignRefusal },
          "majority checkpoint not cosigned",
        );
      },
      onAlerts: (alerts) => {
        for (const alert of alerts) metrics.alertsEnqueued.inc({ kind: alert.kind });
        dispatcher.wake();
      },
    },
  });
  const grpc = splitAddress(config.node.grpcAddr);
  const httpAddress = splitAddress(config.node.httpAddr);
  let server: Awaited<ReturnType<typeof startWitnessServer>> | undefined;
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  try {
    server = await startWitnessServer({
      service,
      metrics,
      host: grpc.host,
      port: grpc.port,
      cosignerVerifierKey,
      ...(tls === undefined ? {} : { tls }),
    });
    http = await startHttpServer({
      host: httpAddress.host,
      port: httpAddress.port,
      readiness: () => ({ ready: true, reasons: [] }),
      registry: metrics.registry,
      dashboard: {
        source: witnessDashboardSource({
          service,
          registry,
          outbox,
          staleAfterMs: Math.max(DASHBOARD_STALE_MS_MIN, 3 * config.hashCollectionTimeoutMs),
          clock,
          cosignerVerifierKey,
        }),
        ...(config.node.dashboardToken === undefined ? {} : { token: config.node.dashboardToken }),
      },
    });
  } catch (error) {
    await server?.close();
    await outbox.close();
    throw error;
  }
  dispatcher.start();
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let voting: Promise<unknown> = Promise.resolve();
  const schedule = () => {
    if (stopping) return;
    const deadline = service.nextDeadlineMs();
    const delay =
      deadline === undefined
        ? VOTE_TIMER_MS_MAX
        : Math.max(0, Math.min(VOTE_TIMER_MS_MAX, deadline - clock()));
    timer = setTimeout(() => {
      voting = service
        .runDueVotes()
        .catch((error: unknown) =>
          hooks.logger.error({ err: String(error) }, "a vote failed; retrying"),
        )
        .finally(schedule);
    }, delay);
  };
  schedule();
  hooks.logger.info(
    { url: server.url, http: http.url, customers: config.customers.length, cosignerVerifierKey },
    "witness started",
  );
  const runningServer = server;
  const runningHttp = http;
  return {
    url: server.url,
    httpUrl: http.url,
    cosignerVerifierKey,
    service,
    metrics,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      await runningServer.close();
      await voting;
      await service.idle();
      await dispatcher.stop();
      await runningHttp.close();
      await outbox.close();
    },
  };
}
