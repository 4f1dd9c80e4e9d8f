// What the application replicates. The runner applies committed entries in log order, one
// call at a time, and never concurrently with snapshot() or restore().
import type { Entry } from "../index.js";

export interface StateMachine {
  /** Applies committed `normal` entries in index order (noops and conf changes are filtered out). */
  apply(entries: readonly Entry[]): Promise<void>;
  /** The state after every entry applied so far, as bytes that `restore` accepts. */
  snapshot(): Promise<Uint8Array>;
  /** Replaces the whole state with a snapshot's. */
  restore(bytes: Uint8Array): Promise<void>;
}
