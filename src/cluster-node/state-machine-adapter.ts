// The Raft runner's StateMachine over the cluster's replicated state machine: committed entries
// are applied in log order and their events handed to a callback, synchronously, inside the
// runner's apply step. The callback must not block: it only schedules work.
import { type ClusterEvent, ClusterStateMachine } from "../cluster/index.js";
import type { Entry, StateMachine } from "../raft/index.js";

export type ClusterEventListener = (events: readonly ClusterEvent[]) => void;

export class ClusterStateMachineAdapter implements StateMachine {
  readonly machine: ClusterStateMachine;
  #listener: ClusterEventListener | undefined;
  #restoreListener: (() => void) | undefined;

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

  async apply(entries: readonly Entry[]): Promise<void> {
    const events: ClusterEvent[] = [];
    for (const entry of entries) {
      events.push(...this.machine.applyEntry(entry.data, { index: entry.index, term: entry.term }));
    }
    if (events.length > 0) this.#listener?.(events);
  }

  async snapshot(): Promise<Uint8Array> {
    return this.machine.snapshot();
  }

  async restore(bytes: Uint8Array): Promise<void> {
    this.machine.restore(bytes);
    this.#restoreListener?.();
  }
}
