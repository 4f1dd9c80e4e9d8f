// The simulated application: it folds every applied entry into a running digest, tracks the
// membership it has applied (for the snapshots it cuts), and can be snapshotted and restored.
// Its state is volatile; after a crash it is rebuilt from the durable snapshot and the log.
import {
  applyConfChange,
  type ConfState,
  decodeConfChange,
  type Entry,
  LOG_INDEX_ZERO,
  type LogIndex,
  type Snapshot,
} from "../index.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Client proposals carry their id as text, so every entry in the log says who proposed it. */
export function encodeProposal(proposalId: number): Uint8Array {
  return encoder.encode(`p${proposalId}`);
}

export function decodeProposal(data: Uint8Array): number {
  const text = decoder.decode(data);
  if (!/^p\d+$/.test(text)) throw new Error(`not a simulated proposal: ${text}`);
  return Number(text.slice(1));
}

/** A short printable description of an entry, unique per proposal. */
export function entryKey(entry: Entry): string {
  switch (entry.type) {
    case "noop":
      return "noop";
    case "normal":
      return decoder.decode(entry.data);
    case "conf-change": {
      const change = decodeConfChange(entry.data);
      return `${change.type}:${change.nodeId}`;
    }
  }
}

/** FNV-1a over a string, folded into a running 32-bit digest. */
export function foldDigest(digest: number, text: string): number {
  let hash = (digest ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export class SimulatedStateMachine {
  appliedIndex: LogIndex = LOG_INDEX_ZERO;
  digest = 0;
  confState: ConfState = { voters: [], learners: [] };

  /** Applies one committed entry, which must be the next one. */
  apply(entry: Entry): void {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`state machine at ${this.appliedIndex} given entry ${entry.index}`);
    }
    if (entry.type === "conf-change") {
      this.confState = applyConfChange(this.confState, decodeConfChange(entry.data));
    }
    this.digest = foldDigest(this.digest, `${entry.index}/${entry.term}/${entryKey(entry)}`);
    this.appliedIndex = entry.index;
  }

  snapshotData(): Uint8Array {
    return encoder.encode(JSON.stringify({ digest: this.digest }));
  }

  restore(snapshot: Snapshot): void {
    this.digest =
      snapshot.metadata.index === 0
        ? 0
        : (JSON.parse(decoder.decode(snapshot.data)) as { digest: number }).digest;
    this.appliedIndex = snapshot.metadata.index;
    this.confState = snapshot.metadata.confState;
  }
}
