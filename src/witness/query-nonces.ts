// The nonces of answered queries, in the witness's store as well as in QueryReplayGuard, so a
// restarted witness still refuses a replay. A nonce is durable before its query is answered.
// Concurrent queries share one write (their puts are grouped, at most NONCE_WRITE_OPERATIONS_MAX
// a write), so a burst of queries costs a few commits, not one each ahead of submissions.
// Nonces whose window is over are deleted in the same ordered queue, at most once a minute, with
// a mark (the latest window they belonged to) that tells a restarted witness to refuse every
// query of a window it may have forgotten (docs/design/witness.md "Queries ...").
import type { KeyValueStore, WriteOperation } from "../store/index.js";
import { type QueryNonce, QueryReplayGuard, type Rejection } from "./core/index.js";
import {
  decodeJson,
  decodeQueryNonceKey,
  encodeJson,
  prefixEnd,
  queryNonceKey,
  queryNoncePrefix,
  queryNoncesDroppedKey,
} from "./witness-keys.js";

/** Operations in one write of nonces, far below the store's limit per write. */
const NONCE_WRITE_OPERATIONS_MAX = 10_000;
/** How often nonces whose window is over are deleted, in seconds (when a query arrives). */
const SWEEP_INTERVAL_SECONDS = 60;

interface QueuedWrite {
  readonly operations: WriteOperation[];
  readonly settle: (error?: unknown) => void;
}

export class QueryNonces {
  readonly #kv: KeyValueStore;
  readonly #guard: QueryReplayGuard;
  readonly #queue: QueuedWrite[] = [];
  #writing = false;
  #nextSweep = Number.NEGATIVE_INFINITY;
  /** The latest window whose nonces the store has deleted: acceptedUntil at most this. */
  #droppedThrough: number;

  constructor(kv: KeyValueStore, perNodeMax?: number) {
    this.#kv = kv;
    this.#guard = new QueryReplayGuard(perNodeMax);
    const prefix = queryNoncePrefix();
    for (const [key, value] of kv.range({ start: prefix, end: prefixEnd(prefix) })) {
      const { customer, node, nonce } = decodeQueryNonceKey(key);
      const { acceptedUntil } = decodeJson<{ acceptedUntil: number }>(value);
      this.#guard.restore({ customerId: customer, nodeId: node, nonce, acceptedUntil });
    }
    const mark = kv.get(queryNoncesDroppedKey());
    this.#droppedThrough =
      mark === undefined ? Number.NEGATIVE_INFINITY : decodeJson<{ through: number }>(mark).through;
    // A query of a window already dropped is refused as expired, whatever the clock reads now.
    this.#guard.advance(this.#droppedThrough + 1);
  }

  /** Nonces held in memory. */
  get held(): number {
    return this.#guard.held;
  }

  /**
   * Admits a query whose signature and time were checked: undefined once its nonce is durable,
   * the refusal when it was answered before (or its node asked too many).
   */
  async admit(
    customerId: string,
    nodeId: string,
    nonce: string,
    timeUnixSeconds: number,
    nowUnixSeconds: number,
  ): Promise<Rejection | undefined> {
    const admitted = this.#guard.admit(customerId, nodeId, nonce, timeUnixSeconds, nowUnixSeconds);
    if ("ok" in admitted) return admitted;
    const put = this.#enqueue([
      {
        type: "put",
        key: queryNonceKey(customerId, nodeId, nonce),
        value: encodeJson({ acceptedUntil: admitted.acceptedUntil }),
      },
    ]);
    const latest = this.#guard.advance(nowUnixSeconds);
    if (latest >= this.#nextSweep) {
      this.#nextSweep = latest + SWEEP_INTERVAL_SECONDS;
      this.#sweep(latest);
    }
    await put;
    return undefined;
  }

  /** Resolves once every write queued so far has settled. */
  async settled(): Promise<void> {
    await this.#enqueue([]);
  }

  /** Queues the deletes of every nonce dropped from memory, in writes of bounded size. */
  #sweep(nowUnixSeconds: number): void {
    const dropped = this.#guard.expire(nowUnixSeconds);
    // One write per chunk: each chunk's deletes and the mark covering them commit together.
    for (let start = 0; start < dropped.length; start += NONCE_WRITE_OPERATIONS_MAX - 1) {
      const chunk = dropped.slice(start, start + NONCE_WRITE_OPERATIONS_MAX - 1);
      const through = Math.max(this.#droppedThrough, ...chunk.map((entry) => entry.acceptedUntil));
      const operations: WriteOperation[] = chunk.map((entry) => ({
        type: "delete",
        key: queryNonceKey(entry.customerId, entry.nodeId, entry.nonce),
      }));
      operations.push({
        type: "put",
        key: queryNoncesDroppedKey(),
        value: encodeJson({ through }),
      });
      this.#droppedThrough = through;
      this.#enqueue(operations).catch(() => this.#requeue(chunk));
    }
  }

  #requeue(chunk: readonly QueryNonce[]): void {
    // Still in the store and gone from memory: deleted by a later sweep. Safe meanwhile: the
    // guard's latest reading refuses them here, and a restart restores them.
    this.#guard.requeue(chunk);
  }

  #enqueue(operations: WriteOperation[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({
        operations,
        settle: (error) => (error === undefined ? resolve() : reject(error)),
      });
      if (!this.#writing) void this.#drain();
    });
  }

  /** Writes queued operations in order, grouping queued writes up to the per-write bound. */
  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const group: QueuedWrite[] = [this.#queue.shift()!];
        let count = group[0]!.operations.length;
        while (
          this.#queue.length > 0 &&
          count + this.#queue[0]!.operations.length <= NONCE_WRITE_OPERATIONS_MAX
        ) {
          const next = this.#queue.shift()!;
          count += next.operations.length;
          group.push(next);
        }
        const operations = group.flatMap((write) => write.operations);
        let failure: unknown;
        try {
          if (operations.length > 0) await this.#kv.write(operations);
        } catch (error) {
          failure = error ?? new Error("the nonce write failed");
        }
        for (const write of group) write.settle(failure);
      }
    } finally {
      this.#writing = false;
    }
  }
}
