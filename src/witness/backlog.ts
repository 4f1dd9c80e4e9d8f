// The submitter's backlog on disk: an LMDB store of its own (one directory), one key per
// observation owed to one witness, so appending and acknowledging cost O(batch), not O(backlog).
// Keys: 0x01 | u16 witness id length | witness id | u64 entry id -> the observation as JSON;
// 0x02 -> the last submission sequence used, as JSON.
import { type KeyValueStore, openLmdbKeyValueStore } from "../store/index.js";
import type { BacklogEntry, SubmitterObservation, SubmitterPersistence } from "./submitter.js";

const ENTRY_TAG = 0x01;
const SEQUENCE_KEY = Uint8Array.of(0x02);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function entryKey(witnessId: string, entryId: number): Uint8Array {
  const id = encoder.encode(witnessId);
  const key = Buffer.alloc(1 + 2 + id.length + 8);
  key[0] = ENTRY_TAG;
  key.writeUInt16BE(id.length, 1);
  key.set(id, 3);
  key.writeBigUInt64BE(BigInt(entryId), 3 + id.length);
  return key;
}

interface StoredObservation {
  readonly checkpoint: string;
  readonly from: number;
  readonly proof: readonly string[];
  readonly data: string;
}

function encodeObservation(observation: SubmitterObservation): Uint8Array {
  const stored: StoredObservation = {
    checkpoint: observation.checkpoint,
    from: observation.consistencyFromSize ?? 0,
    proof: (observation.consistencyProof ?? []).map((hash) => Buffer.from(hash).toString("base64")),
    data: Buffer.from(observation.dataHash ?? new Uint8Array(0)).toString("base64"),
  };
  return encoder.encode(JSON.stringify(stored));
}

function decodeObservation(bytes: Uint8Array): SubmitterObservation {
  const stored = JSON.parse(decoder.decode(bytes)) as StoredObservation;
  return {
    checkpoint: stored.checkpoint,
    consistencyFromSize: stored.from,
    consistencyProof: stored.proof.map((hash) => Buffer.from(hash, "base64")),
    ...(stored.data === "" ? {} : { dataHash: Buffer.from(stored.data, "base64") }),
  };
}

export interface SubmitterBacklog extends SubmitterPersistence {
  close(): Promise<void>;
}

class KeyValueBacklog implements SubmitterBacklog {
  constructor(private readonly store: KeyValueStore) {}

  async load(): Promise<{ lastSequence: number; entries: BacklogEntry[] }> {
    const entries: BacklogEntry[] = [];
    for (const [key, value] of this.store.range({
      start: Uint8Array.of(ENTRY_TAG),
      end: Uint8Array.of(ENTRY_TAG + 1),
    })) {
      const buffer = Buffer.from(key);
      const length = buffer.readUInt16BE(1);
      entries.push({
        witnessId: buffer.subarray(3, 3 + length).toString("utf8"),
        entryId: Number(buffer.readBigUInt64BE(3 + length)),
        observation: decodeObservation(value),
      });
    }
    const sequence = this.store.get(SEQUENCE_KEY);
    const lastSequence =
      sequence === undefined ? 0 : (JSON.parse(decoder.decode(sequence)) as number);
    return { lastSequence, entries };
  }

  async append(entries: readonly BacklogEntry[]): Promise<void> {
    await this.store.write(
      entries.map((entry) => ({
        type: "put" as const,
        key: entryKey(entry.witnessId, entry.entryId),
        value: encodeObservation(entry.observation),
      })),
    );
  }

  async acknowledge(witnessId: string, entryIds: readonly number[], lastSequence: number) {
    await this.store.write([
      ...entryIds.map((entryId) => ({
        type: "delete" as const,
        key: entryKey(witnessId, entryId),
      })),
      { type: "put", key: SEQUENCE_KEY, value: encoder.encode(JSON.stringify(lastSequence)) },
    ]);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Opens (creating) the backlog in `directory`, a directory of its own. */
export function openSubmitterBacklog(directory: string): SubmitterBacklog {
  return new KeyValueBacklog(openLmdbKeyValueStore(directory));
}

/** The in-memory twin, for tests and for a node that accepts losing its backlog on restart. */
export function memorySubmitterBacklog(): SubmitterBacklog & {
  readonly entries: Map<string, BacklogEntry>;
  lastSequence: number;
} {
  const entries = new Map<string, BacklogEntry>();
  const state = {
    entries,
    lastSequence: 0,
    async load() {
      return { lastSequence: state.lastSequence, entries: [...entries.values()] };
    },
    async append(list: readonly BacklogEntry[]) {
      for (const entry of list) entries.set(`${entry.witnessId}/${entry.entryId}`, entry);
    },
    async acknowledge(witnessId: string, entryIds: readonly number[], lastSequence: number) {
      for (const entryId of entryIds) entries.delete(`${witnessId}/${entryId}`);
      state.lastSequence = lastSequence;
    },
    async close() {},
  };
  return state;
}
