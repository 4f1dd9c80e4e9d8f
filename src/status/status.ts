// `witnz status`: what a node's store, its database and its HTTP endpoint say, read side by side.
// Nothing here writes: the store is read through LMDB's multi-process readers while the node
// runs, the database through one pinned session, the node through GET /readyz.
import { existsSync } from "node:fs";
import type pg from "pg";
import { CAPTURE_LSN_META } from "../capture/index.js";
import { parseCheckpoint, readWitnzFields } from "../checkpoint/index.js";
import type { ClusterStatus } from "../cluster-node/index.js";
import type { WitnzConfig } from "../config/index.js";
import { verificationMetaName } from "../node/index.js";
import {
  formatLsn,
  type Lsn,
  parseLsn,
  readReplicationSlot,
  slotNameForNode,
  toLsn,
} from "../postgres/index.js";
import { openDatabaseSession, serverAddress } from "../setup/index.js";
import { openStore, type WitnzStore } from "../store/index.js";
import { StatusError } from "./errors.js";
import { displayNameOfConfiguredTable } from "./table-name.js";

/** GET /readyz gives up after this; a node that does not answer in time is "unresponsive". */
export const HEALTH_TIMEOUT_MS = 2_000;

export type HealthState = "ready" | "not_ready" | "not_running" | "unresponsive";

export interface NodeHealth {
  readonly url: string;
  readonly state: HealthState;
  /** Why the node is not ready (from /readyz), or why it could not be asked. */
  readonly reasons: readonly string[];
}

export interface SlotStatus {
  readonly name: string;
  readonly exists: boolean;
  /** A WAL sender streams from it now (normally the node's capture). */
  readonly active: boolean | null;
  readonly confirmedFlushLsn: string | null;
}

export interface DatabaseStatus {
  readonly address: string;
  readonly reachable: boolean;
  readonly error: string | null;
  /** pg_current_wal_lsn() when the status was taken. */
  readonly currentLsn: string | null;
  readonly slot: SlotStatus;
  /** pg_current_wal_lsn() - the slot's confirmed_flush_lsn, in bytes. */
  readonly lagBytes: number | null;
}

export interface CheckpointStatus {
  readonly size: number;
  /** RFC 6962 Merkle root over the first `size` entries, lower-case hex. */
  readonly rootHash: string;
  readonly lsn: string;
  readonly time: string;
}

export interface VerificationStatus {
  /** When the run finished. */
  readonly time: string;
  /** `clean`, `tampered`, or `error` (the run could not complete; see `error`). */
  readonly outcome: "clean" | "tampered" | "error";
  readonly ok: boolean;
  readonly rowsChecked: number;
  readonly modified: number;
  readonly deleted: number;
  readonly phantom: number;
  readonly error: string | null;
}

export interface TableStatus {
  readonly table: string;
  readonly chainLength: number;
  /** Chain hash of the newest entry, lower-case hex; null for an empty chain. */
  readonly headHash: string | null;
  readonly checkpoint: CheckpointStatus | null;
  /** End LSN of the last transaction captured (one slot serves every table of a node). */
  readonly lastLsn: string | null;
  readonly lag: { readonly bytes: number | null; readonly secondsSinceCheckpoint: number | null };
  readonly violations: number;
  /** Null when the table was never verified. */
  readonly lastVerification: VerificationStatus | null;
}

export interface StoreStatus {
  readonly directory: string;
  readonly readable: boolean;
  readonly error: string | null;
}

export interface NodeStatus {
  readonly node: string;
  readonly takenAt: string;
  /** True when the store, the database and the node's endpoint could all be read. */
  readonly complete: boolean;
  readonly health: NodeHealth;
  readonly store: StoreStatus;
  readonly database: DatabaseStatus;
  readonly tables: readonly TableStatus[];
  /** The running node's view of its cluster (GET /cluster); null when it runs alone or is down. */
  readonly cluster: ClusterStatus | null;
  /** One line per thing that could not be read; empty when `complete`. */
  readonly errors: readonly string[];
}

export interface ReadStatusOptions {
  readonly now?: () => Date;
  readonly healthTimeoutMs?: number;
}

/** Reads the status of the node `config` describes. Throws only for an unusable configuration. */
export async function readNodeStatus(
  config: WitnzConfig,
  options: ReadStatusOptions = {},
): Promise<NodeStatus> {
  const database = config.database;
  if (database === undefined) {
    throw new StatusError(
      "WITNZ_STATUS_CONFIG",
      `node ${config.node.id} is a ${config.node.role} node with no database; status runs on raft nodes`,
    );
  }
  const now = options.now ?? (() => new Date());
  const errors: string[] = [];
  const slotName = slotNameForNode(config.node.id);
  const timeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
  const inCluster = Object.keys(config.node.peerAddrs).length > 0;
  const [health, databaseStatus, cluster] = await Promise.all([
    readHealth(config.node.httpAddr, timeoutMs),
    readDatabase(config, slotName),
    inCluster ? readCluster(config.node.httpAddr, timeoutMs) : null,
  ]);
  if (!databaseStatus.reachable) errors.push(`database: ${databaseStatus.error}`);
  if (cluster !== null && "error" in cluster) errors.push(`cluster: ${cluster.error}`);
  const takenAt = now();

  const names: string[] = [];
  for (const table of config.protectedTables) {
    try {
      names.push(displayNameOfConfiguredTable(table.name));
    } catch (error) {
      errors.push(messageOf(error));
    }
  }
  const directory = config.node.dataDir;
  let store: WitnzStore | undefined;
  let storeError: string | null = null;
  // Opening a store that does not exist would create one: status never creates anything.
  if (!existsSync(directory)) {
    storeError = `no store at ${directory}; run witnz init`;
  } else {
    try {
      store = await openStore(directory);
    } catch (error) {
      storeError = messageOf(error);
    }
  }
  if (storeError !== null) errors.push(`store: ${storeError}`);
  const tables: TableStatus[] = [];
  try {
    const lastLsn = store === undefined ? null : readCapturedLsn(store);
    for (const name of names) {
      tables.push(readTable(store, name, lastLsn, databaseStatus.lagBytes, takenAt, errors));
    }
  } finally {
    await store?.close();
  }
  return {
    node: config.node.id,
    takenAt: takenAt.toISOString(),
    complete: errors.length === 0,
    health,
    store: { directory, readable: store !== undefined, error: storeError },
    database: databaseStatus,
    tables,
    cluster: cluster === null || "error" in cluster ? null : cluster,
    errors,
  };
}

async function readCluster(
  httpAddr: string,
  timeoutMs: number,
): Promise<ClusterStatus | { error: string }> {
  const url = `http://${loopbackForWildcard(httpAddr)}/cluster`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (response.status !== 200) return { error: `${url} answered HTTP ${response.status}` };
    return (await response.json()) as ClusterStatus;
  } catch (error) {
    return { error: `cannot read ${url}: ${describeFetchFailure(error)}` };
  }
}

function readCapturedLsn(store: WitnzStore): string | null {
  const bytes = store.meta(CAPTURE_LSN_META);
  if (bytes === undefined || bytes.length !== 8) return null;
  return formatLsn(toLsn(Buffer.from(bytes).readBigUInt64BE(0)));
}

function readTable(
  store: WitnzStore | undefined,
  table: string,
  lastLsn: string | null,
  lagBytes: number | null,
  takenAt: Date,
  errors: string[],
): TableStatus {
  const head = store?.chainHead(table);
  let checkpoint: CheckpointStatus | null = null;
  let secondsSinceCheckpoint: number | null = null;
  const stored = store?.latestCheckpoint(table);
  if (stored !== undefined) {
    try {
      const parsed = parseCheckpoint(stored.noteText).checkpoint;
      const fields = readWitnzFields(parsed);
      const timeMs = Number(fields.timeMicroseconds / 1000n);
      checkpoint = {
        size: parsed.size,
        rootHash: Buffer.from(parsed.rootHash).toString("hex"),
        lsn: fields.lsn,
        time: new Date(timeMs).toISOString(),
      };
      secondsSinceCheckpoint = Math.max(0, Math.round((takenAt.getTime() - timeMs) / 1000));
    } catch (error) {
      errors.push(`${table}: the latest checkpoint cannot be read: ${messageOf(error)}`);
    }
  }
  let lastVerification: VerificationStatus | null = null;
  const verification = store?.meta(verificationMetaName(table));
  if (verification !== undefined) {
    try {
      lastVerification = decodeVerification(verification);
    } catch (error) {
      errors.push(`${table}: the last verification record cannot be read: ${messageOf(error)}`);
    }
  }
  return {
    table,
    chainLength: head?.size ?? 0,
    headHash: head === undefined ? null : Buffer.from(head.chainHash).toString("hex"),
    checkpoint,
    lastLsn,
    lag: { bytes: lagBytes, secondsSinceCheckpoint },
    violations: store?.violationHead(table)?.size ?? 0,
    lastVerification,
  };
}

/**
 * The verification record the node writes after each run: JSON with `finishedAt` (ISO),
 * `outcome`, `ok`, `rowsChecked`, `modifiedRows`, `deletedRows`, `phantomRows` and, when the run
 * failed, `error`. A record of the form {time, ok, rowsChecked, modified, deleted, phantom}
 * (time in ISO or epoch milliseconds, key lists or counts) is read too.
 */
export function decodeVerification(bytes: Uint8Array): VerificationStatus {
  const value = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  if (typeof value !== "object" || value === null) throw new Error("not a JSON object");
  const rawTime = value.finishedAt ?? value.time;
  const time = typeof rawTime === "number" ? new Date(rawTime) : new Date(String(rawTime));
  if (Number.isNaN(time.getTime())) throw new Error(`time ${JSON.stringify(rawTime)}`);
  if (typeof value.ok !== "boolean") throw new Error("ok is not a boolean");
  const count = (...fields: string[]): number => {
    for (const field of fields) {
      const entry = value[field];
      if (entry === undefined) continue;
      if (Array.isArray(entry)) return entry.length;
      if (typeof entry === "number" && Number.isSafeInteger(entry) && entry >= 0) return entry;
      throw new Error(`${field} is neither a list nor a count`);
    }
    throw new Error(`${fields.join(" or ")} is missing`);
  };
  const outcome =
    value.outcome === "clean" || value.outcome === "tampered" || value.outcome === "error"
      ? value.outcome
      : value.ok
        ? "clean"
        : "tampered";
  return {
    time: time.toISOString(),
    outcome,
    ok: value.ok,
    rowsChecked: count("rowsChecked"),
    modified: count("modifiedRows", "modified"),
    deleted: count("deletedRows", "deleted"),
    phantom: count("phantomRows", "phantom"),
    error: typeof value.error === "string" ? value.error : null,
  };
}

async function readDatabase(config: WitnzConfig, slotName: string): Promise<DatabaseStatus> {
  const database = config.database!;
  const address = `${serverAddress(database)}/${database.database}`;
  const unknownSlot: SlotStatus = {
    name: slotName,
    exists: false,
    active: null,
    confirmedFlushLsn: null,
  };
  let client: pg.Client;
  try {
    client = await openDatabaseSession(database);
  } catch (error) {
    return {
      address,
      reachable: false,
      error: `unreachable: ${messageOf(error)}`,
      currentLsn: null,
      slot: unknownSlot,
      lagBytes: null,
    };
  }
  try {
    const current = await client.query<{ lsn: string }>(
      "SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn",
    );
    const currentLsn: Lsn = parseLsn(current.rows[0]!.lsn);
    const slot = await readReplicationSlot(client, slotName);
    const confirmed = slot?.confirmedFlushLsn ?? null;
    return {
      address,
      reachable: true,
      error: null,
      currentLsn: formatLsn(currentLsn),
      slot:
        slot === undefined
          ? unknownSlot
          : {
              name: slotName,
              exists: true,
              active: slot.active,
              confirmedFlushLsn: confirmed === null ? null : formatLsn(confirmed),
            },
      lagBytes:
        confirmed === null ? null : Number(currentLsn > confirmed ? currentLsn - confirmed : 0n),
    };
  } catch (error) {
    return {
      address,
      reachable: false,
      error: `query failed: ${messageOf(error)}`,
      currentLsn: null,
      slot: unknownSlot,
      lagBytes: null,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** GET /readyz on the node's HTTP address; a wildcard listen address is asked on loopback. */
async function readHealth(httpAddr: string, timeoutMs: number): Promise<NodeHealth> {
  const url = `http://${loopbackForWildcard(httpAddr)}/readyz`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      return { url, state: "unresponsive", reasons: [`no answer within ${timeoutMs} ms`] };
    }
    return { url, state: "not_running", reasons: [describeFetchFailure(error)] };
  }
  let body: { status?: unknown; reasons?: unknown } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    body = {};
  }
  const reasons = Array.isArray(body.reasons) ? body.reasons.map(String) : [];
  if (response.status === 200 && body.status === "ready") return { url, state: "ready", reasons };
  if (response.status === 503 && body.status === "not_ready") {
    return { url, state: "not_ready", reasons };
  }
  return {
    url,
    state: "unresponsive",
    reasons: [`unexpected answer: HTTP ${response.status}`],
  };
}

function loopbackForWildcard(httpAddr: string): string {
  if (httpAddr.startsWith("0.0.0.0:")) return `127.0.0.1:${httpAddr.slice("0.0.0.0:".length)}`;
  if (httpAddr.startsWith("[::]:")) return `[::1]:${httpAddr.slice("[::]:".length)}`;
  return httpAddr;
}

function describeFetchFailure(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") {
    return cause.code === "ECONNREFUSED" ? "connection refused" : cause.code;
  }
  return messageOf(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
