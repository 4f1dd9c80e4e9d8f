// The capture loop of one node: stream its own slot, stage changes, commit durably, then
// acknowledge. Reconnects with exponential backoff when PostgreSQL goes away; every restart of
// the loop reloads its state from the store, so a failed commit never leaves memory and disk apart.
import { tableDisplayName } from "../catalog/index.js";
import type { NoteSigner } from "../checkpoint/index.js";
import {
  type Lsn,
  type PostgresConnectionOptions,
  type ReplicationStream,
  startReplicationStream,
} from "../postgres/index.js";
import type { StoreBatch, WitnzStore } from "../store/index.js";
import { TransactionAssembler } from "./changes.js";
import { type CommittedBatch, Ingester, type ViolationToRecord } from "./ingest.js";

export const RECONNECT_DELAY_MS_MIN = 100;
export const RECONNECT_DELAY_MS_MAX = 10_000;

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
  /** Called after each durable commit (metrics, waking the alert dispatcher). */
  readonly onCommitted?: (batch: CommittedBatch) => void;
  readonly onError?: (error: unknown, retryInMs: number) => void;
  readonly batchChangesMax?: number;
  readonly reconnectDelayMsMax?: number;
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
      try {
        await this.#streamOnce(() => {
          delayMs = RECONNECT_DELAY_MS_MIN;
        });
      } catch (error) {
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
      ...(options.batchChangesMax === undefined
        ? {}
        : { batchChangesMax: options.batchChangesMax }),
    });
    const assembler = new TransactionAssembler({
      tableName: (relation) => tableDisplayName(relation.schema, relation.table),
      knownLayout: (table) => ingester.layout(table),
    });
    const stream = await startReplicationStream({
      connection: options.connection,
      slotName: options.slotName,
      publicationNames: [options.publicationName],
      startLsn: ingester.recordedEndLsn,
    });
    this.#stream = stream;
    this.#state = "streaming";
    onStreaming();
    for (;;) {
      const message = await stream.next();
      if (message === undefined) {
        if (this.#stopping) return;
        throw new Error("the replication stream closed");
      }
      const event = assembler.push(message);
      if (event === undefined) continue;
      const full = ingester.stage(event);
      // Group commit: a transaction end is made durable once no further message is waiting,
      // so a burst of small transactions shares one flush.
      const drained = stream.queuedMessages === 0;
      if (full || (ingester.hasPendingAcknowledge && drained)) {
        const committed = await ingester.commit();
        if (committed.acknowledgeLsn !== undefined) {
          stream.acknowledge(committed.acknowledgeLsn);
          this.#acknowledgedLsn = committed.acknowledgeLsn;
        }
        options.onCommitted?.(committed);
      }
    }
  }
}
