// The capture loop of one node: check its slot for gaps, stream it, stage changes, commit
// durably, then acknowledge. Reconnects with exponential backoff when PostgreSQL goes away; every
// restart of the loop reloads its state from the store, so a failed commit never leaves memory
// and disk apart.
import { tableDisplayName } from "../catalog/index.js";
import type { NoteSigner } from "../checkpoint/index.js";
import {
  connectSession,
  ensureReplicationSlot,
  type Lsn,
  maxLsn,
  type PgoutputMessage,
  type PostgresConnectionOptions,
  type ReplicationStream,
  readPublicationTables,
  readReplicationSlot,
  startReplicationStream,
} from "../postgres/index.js";
import type { StoreBatch, WitnzStore } from "../store/index.js";
import { TransactionAssembler } from "./changes.js";
import {
  CaptureSlotError,
  displayTableNames,
  type Gap,
  judgeSlot,
  type SlotJudgement,
} from "./gap.js";
import {
  type CommittedBatch,
  type GapToRecord,
  Ingester,
  type ViolationToRecord,
} from "./ingest.js";

export const RECONNECT_DELAY_MS_MIN = 100;
export const RECONNECT_DELAY_MS_MAX = 10_000;
/** A stream up this long resets the reconnect backoff even if it made nothing durable. */
const STABLE_STREAM_MS = 30_000;
/**
 * Wire bytes of decoded messages the stream may hold ahead of ingest. Each queued message costs
 * several times its wire size once decoded, and ingest, not the network, sets the pace; a few
 * MiB keep ingest busy (the stream's own default is for consumers faster than ours).
 */
export const STREAM_QUEUE_BYTES_MAX = 4 * 1024 * 1024;
/** While idle, the position the stream confirmed is stored at least this often. */
export const CONFIRMED_PERSIST_INTERVAL_MS = 1_000;

const TIMED_OUT = Symbol("timed out");
/** Baselines a first start tries before it leaves the next try to the reconnect backoff. */
const BASELINE_ATTEMPTS_MAX = 3;

export type CaptureState = "starting" | "streaming" | "reconnecting" | "stopped";

export interface CaptureRunnerOptions {
  readonly connection: PostgresConnectionOptions;
  readonly slotName: string;
  readonly publicationName: string;
  readonly store: WitnzStore;
  readonly signer: NoteSigner;
  readonly clusterOrigin: string;
  readonly nowUnixMicroseconds: () => bigint;
  readonly stageViolation: (batch: StoreBatch, violation: ViolationToRecord) => void;
  /** Stages one table's gap entry and alert (see ingest.ts). */
  readonly stageGap?: (batch: StoreBatch, gap: GapToRecord) => void;
  /**
   * The protected tables as configured (`audit_log`, `"Billing"."Lines"`): a gap is recorded for
   * each. Default: the tables that have a chain in the store.
   */
  readonly protectedTables?: readonly string[];
  /** Called after each durable commit (metrics, waking the alert dispatcher). */
  readonly onCommitted?: (batch: CommittedBatch) => void;
  /** Called once a gap is durably recorded, before anything after it is streamed. */
  readonly onGap?: (gap: Gap, recorded: readonly GapToRecord[]) => void;
  readonly onError?: (error: unknown, retryInMs: number) => void;
  readonly batchChangesMax?: number;
  /** Fault injection for tests and the demo only (see IngestOptions.observeRow). */
  readonly observeRow?: (encoded: Uint8Array) => Uint8Array;
  readonly reconnectDelayMsMax?: number;
  readonly confirmedPersistIntervalMs?: number;
  readonly streamQueueBytesMax?: number;
}

export class CaptureRunner {
  readonly #options: CaptureRunnerOptions;
  #state: CaptureState = "starting";
  #stream: ReplicationStream | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wakeSleep: (() => void) | undefined;
  #lastError: unknown;
  #acknowledgedLsn: Lsn | undefined;
  /**
   * The commit being flushed while the next batch is staged, until it is durable and
   * acknowledged; at most one. Rejects when the commit failed.
   */
  #inflight: Promise<void> | undefined;

  constructor(options: CaptureRunnerOptions) {
    this.#options = options;
  }

  get state(): CaptureState {
    return this.#state;
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  get acknowledgedLsn(): Lsn | undefined {
    return this.#acknowledgedLsn;
  }

  start(): void {
    if (this.#loop !== undefined) throw new Error("capture already started");
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wakeSleep?.();
    await this.#stream?.close();
    await this.#loop;
    this.#state = "stopped";
  }

  async #run(): Promise<void> {
    let delayMs = RECONNECT_DELAY_MS_MIN;
    const delayMsMax = this.#options.reconnectDelayMsMax ?? RECONNECT_DELAY_MS_MAX;
    while (!this.#stopping) {
      let streamingSinceMs: number | undefined;
      let acknowledgedAtStart: Lsn | undefined;
      try {
        await this.#streamOnce(() => {
          streamingSinceMs = performance.now();
          acknowledgedAtStart = this.#acknowledgedLsn;
        });
      } catch (error) {
        // Only a stream that made something durable, or ran a while, resets the backoff: one
        // that fails before its first commit (a full disk, a row the store refuses) would
        // otherwise be retried at once, forever, decoding its backlog again each time.
        if (
          streamingSinceMs !== undefined &&
          (this.#acknowledgedLsn !== acknowledgedAtStart ||
            performance.now() - streamingSinceMs >= STABLE_STREAM_MS)
        ) {
          delayMs = RECONNECT_DELAY_MS_MIN;
        }
        if (this.#stopping) break;
        this.#lastError = error;
        this.#options.onError?.(error, delayMs);
      } finally {
        const stream = this.#stream;
        this.#stream = undefined;
        await stream?.close().catch(() => undefined);
      }
      if (this.#stopping) break;
      this.#state = "reconnecting";
      await this.#sleep(delayMs);
      delayMs = Math.min(delayMs * 2, delayMsMax);
    }
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

  async #streamOnce(onStreaming: () => void): Promise<void> {
    const options = this.#options;
    // A fresh ingester per connection: its state comes from the store, never from a failed try.
    const ingester = new Ingester({
      store: options.store,
      signer: options.signer,
      clusterOrigin: options.clusterOrigin,
      nowUnixMicroseconds: options.nowUnixMicroseconds,
      stageViolation: options.stageViolation,
      ...(options.stageGap === undefined ? {} : { stageGap: options.stageGap }),
      ...(options.batchChangesMax === undefined
        ? {}
        : { batchChangesMax: options.batchChangesMax }),
      ...(options.observeRow === undefined ? {} : { observeRow: options.observeRow }),
    });
    await this.#checkSlot(ingester);
    if (this.#stopping) return;
    const assembler = new TransactionAssembler({
      tableName: (relation) => tableDisplayName(relation.schema, relation.table),
      knownLayout: (table) => ingester.layout(table),
    });
    const stream = await startReplicationStream({
      connection: options.connection,
      slotName: options.slotName,
      publicationNames: [options.publicationName],
      startLsn: ingester.recordedEndLsn,
      queueBytesMax: options.streamQueueBytesMax ?? STREAM_QUEUE_BYTES_MAX,
    });
    this.#stream = stream;
    this.#state = "streaming";
    onStreaming();
    try {
      await this.#consume(stream, assembler, ingester);
    } finally {
      // A commit still being flushed is seen through (a failed one leaves the store as it was:
      // what it held is streamed again). Then what the stream confirmed last, idle WAL
      // included, is stored before anyone judges the slot again; a half-staged batch is
      // abandoned (it is replayed), so only when idle.
      const settled = await this.#settle().then(
        () => true,
        () => false,
      );
      if (settled && ingester.idle) await ingester.persistConfirmed(stream.confirmedLsn);
    }
  }

  /**
   * Before each stream (on #checkSlot's session): the node's publication must list every
   * protected table, or their changes would never arrive while the slot moves past them.
   * Failing, capture does not stream and retries with backoff, saying what to run.
   */
  async #checkPublication(client: Awaited<ReturnType<typeof connectSession>>): Promise<void> {
    const { protectedTables, publicationName } = this.#options;
    if (protectedTables === undefined) return;
    const listed = await readPublicationTables(client, publicationName);
    if (listed === undefined) {
      throw new Error(
        `publication ${publicationName} does not exist: run witnz init --config <this node's configuration>`,
      );
    }
    const names = new Set(listed.map((entry) => tableDisplayName(entry.schema, entry.table)));
    const missing = (await displayTableNames(client, protectedTables)).filter(
      (table) => !names.has(table),
    );
    if (missing.length > 0) {
      throw new Error(
        `publication ${publicationName} does not list ${missing.join(", ")}: run witnz init --config <this node's configuration>`,
      );
    }
  }

  /**
   * Before each stream: compares the slot with what the store knows. A missing slot is
   * recreated; a missing or advanced slot is a gap, recorded durably (signed, per table) before
   * anything after it is streamed. docs/design/capture.md.
   */
  async #checkSlot(ingester: Ingester): Promise<void> {
    const options = this.#options;
    const client = await connectSession(options.connection);
    try {
      await this.#checkPublication(client);
      const judgement = await this.#judgeSlot(client, ingester);
      if (judgement === undefined) return;
      let gap: Gap;
      switch (judgement.action) {
        case "recreate": {
          const created = (await ensureReplicationSlot(client, options.slotName)).slot;
          const toLsn = created.confirmedFlushLsn ?? judgement.fromLsn;
          gap = {
            reason: "slot_missing",
            fromLsn: judgement.fromLsn,
            toLsn: maxLsn(toLsn, judgement.fromLsn),
          };
          break;
        }
        case "gap":
          gap = judgement.gap;
          break;
      }
      const tables =
        options.protectedTables === undefined
          ? options.store.tables()
          : await displayTableNames(client, options.protectedTables);
      const recorded = await ingester.recordGap(gap, tables);
      options.onGap?.(gap, recorded);
    } finally {
      await client.end();
    }
  }

  /**
   * Reads the slot and judges it against what the store knows; a first start records the slot's
   * position as its baseline and returns undefined, as does a slot to stream from. When a
   * position appeared in the store meanwhile (`witnz init` committed one first), that one is
   * what the node knows: the slot is read and judged again against it.
   */
  async #judgeSlot(
    client: Awaited<ReturnType<typeof connectSession>>,
    ingester: Ingester,
  ): Promise<Exclude<SlotJudgement, { action: "stream" | "baseline" }> | undefined> {
    const slotName = this.#options.slotName;
    for (let attempt = 1; ; attempt++) {
      const slot = await readReplicationSlot(client, slotName);
      const judgement = judgeSlot(ingester.knownLsn, slot);
      if (judgement.action === "stream") return undefined;
      if (judgement.action !== "baseline") return judgement;
      const state = judgement.createSlot
        ? (await ensureReplicationSlot(client, slotName)).slot
        : slot;
      const position = state?.confirmedFlushLsn ?? null;
      if (position === null) {
        // Someone else is creating it (a concurrent `witnz init`): retried shortly.
        throw new CaptureSlotError(
          `slot ${slotName} is still being created (it has no position yet)`,
        );
      }
      if (await ingester.recordBaseline(position)) return undefined;
      if (attempt === BASELINE_ATTEMPTS_MAX) {
        throw new CaptureSlotError(
          `the store's capture position kept changing while this node recorded its baseline (${attempt} tries); retried shortly`,
        );
      }
    }
  }

  async #consume(
    stream: ReplicationStream,
    assembler: TransactionAssembler,
    ingester: Ingester,
  ): Promise<void> {
    const options = this.#options;
    const persistIntervalMs = options.confirmedPersistIntervalMs ?? CONFIRMED_PERSIST_INTERVAL_MS;
    let pending: Promise<PgoutputMessage | undefined> | undefined;
    for (;;) {
      // Asked to stop: what is staged and not durable is abandoned (never acknowledged, it is
      // streamed again), rather than working through every message already queued.
      if (this.#stopping) return;
      // Queued messages are taken at once: a promise and a microtask turn per row add up.
      let message = pending === undefined ? stream.take() : undefined;
      if (message === undefined) {
        if (pending === undefined) {
          pending = stream.next();
          // Awaited below; this only keeps a failure while the loop is elsewhere from going unseen.
          pending.catch(() => undefined);
        }
        if (ingester.idle && stream.queuedMessages === 0) {
          // Nothing in hand: see the commit in flight through, then wait for the next message,
          // storing idle confirmations meanwhile.
          await this.#settle();
          const raced = await withTimeout(pending, persistIntervalMs);
          if (raced === TIMED_OUT) {
            await ingester.persistConfirmed(stream.confirmedLsn);
            continue;
          }
          message = raced;
        } else {
          message = await pending;
        }
        pending = undefined;
        if (message === undefined) {
          if (this.#stopping) return;
          throw new Error("the replication stream closed");
        }
      }
      const event = assembler.push(message);
      if (event === undefined) continue;
      // A full batch is committed before more changes join it (a commit may still join it),
      // and flushed while the next one is staged.
      if (event.kind !== "commit" && ingester.full) await this.#commit(stream, ingester, false);
      // A violation reads the rows the store holds: none may still be in flight.
      if (event.kind === "changes" && event.changes.some((change) => change.kind === "violation")) {
        await this.#settle();
      }
      let commitNow: boolean;
      try {
        commitNow = ingester.stage(event);
      } catch (error) {
        // Staging on a commit that failed meanwhile fails too: report the commit's failure.
        await this.#settle();
        throw error;
      }
      // Group commit: a transaction end is made durable once no further message is waiting,
      // so a burst of small transactions shares one flush.
      const drained = stream.queuedMessages === 0;
      if (commitNow || (ingester.hasPendingAcknowledge && drained)) {
        await this.#commit(stream, ingester, true);
      }
    }
  }

  /**
   * Commits what is staged, then acknowledges the transaction end it closes once it is durable.
   * The commit before it is seen through first, so acknowledgements keep their order. With
   * `wait` false, returns once the batch's writes are handed to the store's writer and leaves
   * them to be applied and flushed while the caller stages the next batch (Ingester.startCommit).
   */
  async #commit(stream: ReplicationStream, ingester: Ingester, wait: boolean): Promise<void> {
    await this.#settle();
    const started = ingester.startCommit(stream.confirmedLsn);
    const acknowledged = started.durable.then((committed) => {
      if (committed.acknowledgeLsn !== undefined) {
        stream.acknowledge(committed.acknowledgeLsn);
        this.#acknowledgedLsn = committed.acknowledgeLsn;
      }
      this.#options.onCommitted?.(committed);
    });
    if (wait) return acknowledged;
    // Awaited by #settle; this only keeps a failure from going unseen until then.
    acknowledged.catch(() => undefined);
    this.#inflight = acknowledged;
    await started.applied;
  }

  /** Waits until no commit is in flight; rejects with the failure of the one that was. */
  async #settle(): Promise<void> {
    const inflight = this.#inflight;
    if (inflight === undefined) return;
    this.#inflight = undefined;
    await inflight;
  }
}

async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, TIMED_OUT);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
