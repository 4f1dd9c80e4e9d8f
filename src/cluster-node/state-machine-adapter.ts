// The Raft runner's StateMachine over the cluster's replicated state machine: committed entries
// are applied in log order and their events handed to a callback, synchronously, inside the
// runner's apply step. The callback must not block: it only schedules work.
import { type ClusterEvent, ClusterStateMachine } from "../cluster/index.js";
import type { Entry, StateMachine } from "../raft/index.js";
import { ClusterNodeError } from "./errors.js";

export type ClusterEventListener = (events: readonly ClusterEvent[]) => void;

interface AppliedWaiter {
  readonly index: number;
  readonly resolve: () => void;
}

export class ClusterStateMachineAdapter implements StateMachine {
  readonly machine: ClusterStateMachine;
  #listener: ClusterEventListener | undefined;
  #restoreListener: (() => void) | undefined;
  #appliedIndex = 0;
  #waiters: AppliedWaiter[] = [];

  constructor(clusterOrigin: string) {
    this.machine = new ClusterStateMachine({ clusterOrigin });
  }

  /** Receives the events of every applied batch of entries, in log order. */
  onEvents(listener: ClusterEventListener): void {
    this.#listener = listener;
  }

  /** Called after the whole state was replaced by a snapshot. */
  onRestore(listener: () => void): void {
    this.#restoreListener = listener;
  }

  /** Resolves once the entry at `index` (or a snapshot past it) has been applied here. */
  waitApplied(index: number, timeoutMs: number): Promise<void> {
    if (index <= this.#appliedIndex) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(
          new ClusterNodeError(
            "WITNZ_CLUSTER_NODE_TIMEOUT",
            `entry ${index} was not applied here within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push({ index, resolve: done });
    });
  }

  async apply(entries: readonly Entry[]): Promise<void> {
    const events: ClusterEvent[] = [];
    for (const entry of entries) {
      events.push(...this.machine.applyEntry(entry.data, { index: entry.index, term: entry.term }));
    }
    const last = entries.at(-1);
    if (last !== undefined) this.#advance(last.index);
    if (events.length > 0) this.#listener?.(events);
  }

  async snapshot(): Promise<Uint8Array> {
    return this.machine.snapshot();
  }

  async restore(bytes: Uint8Array): Promise<void> {
    this.machine.restore(bytes);
    this.#advance(this.machine.appliedIndex);
    this.#restoreListener?.();
  }

  #advance(index: number): void {
    this.#appliedIndex = Math.max(this.#appliedIndex, index);
    const ready = this.#waiters.filter((waiter) => waiter.index <= this.#appliedIndex);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => waiter.index > this.#appliedIndex);
    for (const waiter of ready) waiter.resolve();
  }
}
