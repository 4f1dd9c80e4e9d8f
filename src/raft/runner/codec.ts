// Value encodings of the Raft families in the store. docs/design/raft-runner.md lists them with
// test vectors.
import type {
  ConfState,
  Entry,
  EntryType,
  HardState,
  LogIndex,
  NodeId,
  SnapshotMetadata,
  Term,
} from "../index.js";
import { RaftRunnerError } from "./errors.js";
import { readUint64, writeUint64 } from "./keys.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const ENTRY_TYPE_CODES: Record<EntryType, number> = { normal: 1, "conf-change": 2, noop: 3 };
const ENTRY_TYPES: Record<number, EntryType> = { 1: "normal", 2: "conf-change", 3: "noop" };

/** u64 term, u8 type (1 normal, 2 conf-change, 3 noop), then the data. The key holds the index. */
export function encodeEntryValue(entry: Entry): Uint8Array {
  const value = new Uint8Array(9 + entry.data.length);
  writeUint64(value, 0, entry.term);
  value[8] = ENTRY_TYPE_CODES[entry.type];
  value.set(entry.data, 9);
  return value;
}

export function decodeEntryValue(index: LogIndex, value: Uint8Array): Entry {
  const type = ENTRY_TYPES[value[8] ?? 0];
  if (type === undefined) corrupt(`the log entry at ${index} has an unknown type`);
  return { index, term: readUint64(value, 0) as Term, type, data: value.slice(9) };
}

/** u64 term, u64 commit, then the vote's node id in UTF-8 (empty: no vote). */
export function encodeHardState(state: HardState): Uint8Array {
  const vote = state.vote === null ? new Uint8Array(0) : encoder.encode(state.vote);
  const value = new Uint8Array(16 + vote.length);
  writeUint64(value, 0, state.term);
  writeUint64(value, 8, state.commit);
  value.set(vote, 16);
  return value;
}

export function decodeHardState(value: Uint8Array): HardState {
  const vote = value.length > 16 ? (decoder.decode(value.subarray(16)) as NodeId) : null;
  return {
    term: readUint64(value, 0) as Term,
    commit: readUint64(value, 8) as LogIndex,
    vote,
  };
}

/** The entry just below the first entry of the log (the snapshot's, or the compaction point). */
export interface LogOffset {
  readonly index: LogIndex;
  readonly term: Term;
}

/** u64 index, u64 term. */
export function encodeLogOffset(offset: LogOffset): Uint8Array {
  const value = new Uint8Array(16);
  writeUint64(value, 0, offset.index);
  writeUint64(value, 8, offset.term);
  return value;
}

export function decodeLogOffset(value: Uint8Array): LogOffset {
  return { index: readUint64(value, 0) as LogIndex, term: readUint64(value, 8) as Term };
}

/** Snapshot metadata and the shape of its data, which is stored in `chunks` chunk values. */
export interface StoredSnapshotMetadata extends SnapshotMetadata {
  readonly dataBytes: number;
  readonly chunks: number;
}

/** UTF-8 JSON `{"index","term","voters","learners","dataBytes","chunks"}`. */
export function encodeSnapshotMetadata(metadata: StoredSnapshotMetadata): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      index: metadata.index,
      term: metadata.term,
      voters: metadata.confState.voters,
      learners: metadata.confState.learners,
      dataBytes: metadata.dataBytes,
      chunks: metadata.chunks,
    }),
  );
}

export function decodeSnapshotMetadata(value: Uint8Array): StoredSnapshotMetadata {
  const parsed = parseJson(value, "snapshot metadata") as Record<string, unknown>;
  const { index, term, voters, learners, dataBytes, chunks } = parsed;
  if (
    !isCount(index) ||
    !isCount(term) ||
    !isCount(dataBytes) ||
    !isCount(chunks) ||
    !isStringArray(voters) ||
    !isStringArray(learners)
  ) {
    corrupt("the snapshot metadata has a malformed field");
  }
  const confState: ConfState = { voters: voters as NodeId[], learners: learners as NodeId[] };
  return { index: index as LogIndex, term: term as Term, confState, dataBytes, chunks };
}

/** Who this store belongs to: written once, checked at every start. */
export interface StoredIdentity {
  readonly nodeId: string;
  readonly clusterId: string;
}

/** UTF-8 JSON `{"nodeId","clusterId"}`. */
export function encodeIdentity(identity: StoredIdentity): Uint8Array {
  return encoder.encode(JSON.stringify({ nodeId: identity.nodeId, clusterId: identity.clusterId }));
}

export function decodeIdentity(value: Uint8Array): StoredIdentity {
  const { nodeId, clusterId } = parseJson(value, "identity") as Record<string, unknown>;
  if (typeof nodeId !== "string" || typeof clusterId !== "string") {
    corrupt("the stored identity has a malformed field");
  }
  return { nodeId, clusterId };
}

function parseJson(value: Uint8Array, what: string): unknown {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(value));
    if (typeof parsed !== "object" || parsed === null)
      corrupt(`the stored ${what} is not an object`);
    return parsed;
  } catch (error) {
    if (error instanceof RaftRunnerError) throw error;
    throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", `the stored ${what} is not JSON`, {
      cause: error,
    });
  }
}

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === "string");

function corrupt(message: string): never {
  throw new RaftRunnerError("WITNZ_RAFT_CORRUPT", message);
}
