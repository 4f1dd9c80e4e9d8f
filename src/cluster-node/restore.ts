// Rebuilding a member's lost store from a peer (docs/design/cluster.md, "Restoring a lost
// store"). A peer serves its seed (chains, primary-key index, tree nodes, table layouts and its
// capture position) over FetchSeed; the node imports it into its blank store and records that it
// was restored. On its next start it tells the cluster (`node_restored`: its observations stop
// counting), verifies every protected table against PostgreSQL, and only when all are clean
// proposes `node_reverified`.
import {
  CAPTURE_LSN_META,
  CAPTURE_PROGRESS_META,
  stageSeededCapturePosition,
} from "../capture/index.js";
import { tableLayoutMetaName } from "../catalog/index.js";
import type { ConnectRaftTransport, NodeId, SeedChunks } from "../raft/index.js";
import type { StoreBatch, WitnzStore } from "../store/index.js";
import { ClusterNodeError } from "./errors.js";

/** The store meta entry recording a restore: JSON `RestoreRecord`. */
export const RESTORED_META = "cluster-restored";
/**
 * Set (JSON `{from, at}`) before a seed's first write and cleared in the commit that records the
 * restore: a store that still holds it was left part way by a restore that failed or was killed.
 */
export const RESTORE_STARTED_META = "cluster-restore-started";
const SEED_CHUNK_ENTRIES = 1_000;
const LAYOUT_META_PREFIX = tableLayoutMetaName("");

export interface RestoreRecord {
  /** The peer the seed came from. */
  readonly from: string;
  readonly entries: number;
  /** ISO 8601. */
  readonly at: string;
  /** Set once every protected table verified clean and the cluster counts the node again. */
  readonly reverifiedAt?: string;
}

/** Meta entries a seed carries: where capture stands and each table's layout. */
export function isSeedMeta(name: string): boolean {
  return (
    name === CAPTURE_LSN_META ||
    name === CAPTURE_PROGRESS_META ||
    name.startsWith(LAYOUT_META_PREFIX)
  );
}

/** This node's seed, in pieces, from one read snapshot of its store. */
export async function* seedChunks(store: WitnzStore): SeedChunks {
  let chunk: [Uint8Array, Uint8Array][] = [];
  for (const entry of store.seedEntries(isSeedMeta)) {
    chunk.push(entry);
    if (chunk.length >= SEED_CHUNK_ENTRIES) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** The peer and time of a restore that did not finish, if the store was left by one. */
export function unfinishedRestore(store: WitnzStore): { from: string; at: string } | undefined {
  const bytes = store.meta(RESTORE_STARTED_META);
  return bytes === undefined || bytes.length === 0
    ? undefined
    : (JSON.parse(Buffer.from(bytes).toString("utf8")) as { from: string; at: string });
}

/** Stages the mark of a restore under way (`started`), or its removal (undefined). */
function stageRestoreStarted(batch: StoreBatch, started: object | undefined): void {
  batch.setMeta(
    RESTORE_STARTED_META,
    started === undefined ? new Uint8Array(0) : Buffer.from(JSON.stringify(started), "utf8"),
  );
}

async function setRestoreStarted(store: WitnzStore, started: object | undefined): Promise<void> {
  const batch = store.batch();
  stageRestoreStarted(batch, started);
  await store.commit(batch);
}

export function readRestoreRecord(store: WitnzStore): RestoreRecord | undefined {
  const bytes = store.meta(RESTORED_META);
  return bytes === undefined
    ? undefined
    : (JSON.parse(Buffer.from(bytes).toString("utf8")) as RestoreRecord);
}

export async function writeRestoreRecord(store: WitnzStore, record: RestoreRecord): Promise<void> {
  const batch = store.batch();
  stageRestoreRecord(batch, record);
  await store.commit(batch);
}

function stageRestoreRecord(batch: StoreBatch, record: RestoreRecord): void {
  batch.setMeta(RESTORED_META, Buffer.from(JSON.stringify(record), "utf8"));
}

/**
 * Imports the first seed one of `peers` serves into the blank `store` and records the restore.
 * A peer that cannot be reached is skipped; one that fails mid-way leaves a partial store, which
 * is reported (move the store away and run the restore again).
 */
export async function restoreFromPeers(options: {
  readonly store: WitnzStore;
  readonly transport: ConnectRaftTransport;
  readonly peers: readonly string[];
  readonly now: () => Date;
  readonly out?: (line: string) => void;
}): Promise<RestoreRecord> {
  const { store, transport } = options;
  if (!store.isBlank()) {
    throw new ClusterNodeError(
      "WITNZ_CLUSTER_NODE_RESTORE",
      "the store is not blank: a restore rebuilds only a lost store (move the old one away first)",
    );
  }
  const failures: string[] = [];
  for (const peer of options.peers) {
    try {
      // Durable before the first seed write: a restore killed part way leaves a store that says
      // so, and the node refuses to start on it.
      await setRestoreStarted(store, { from: peer, at: options.now().toISOString() });
      const entries = await store.importSeed(transport.fetchSeed(peer as NodeId), isSeedMeta);
      const record = { from: peer, entries, at: options.now().toISOString() };
      const batch = store.batch();
      stageRestoreRecord(batch, record);
      stageRestoreStarted(batch, undefined);
      // The seed's capture position, when it has one, replaces the slot's that `witnz init`
      // recorded: a slot beyond it is a gap to record.
      stageSeededCapturePosition(store, batch);
      await store.commit(batch);
      return record;
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (!store.isBlank()) {
        throw new ClusterNodeError(
          "WITNZ_CLUSTER_NODE_RESTORE",
          `the seed from ${peer} failed part way (${text}); move the store away and restore again`,
        );
      }
      failures.push(`${peer}: ${text}`);
      options.out?.(`cannot restore from ${peer}: ${text}`);
    }
  }
  // Nothing of any seed was written: the store is as blank as before.
  await setRestoreStarted(store, undefined);
  throw new ClusterNodeError(
    "WITNZ_CLUSTER_NODE_RESTORE",
    `no peer served a seed (${failures.join("; ") || "no peers"})`,
  );
}
