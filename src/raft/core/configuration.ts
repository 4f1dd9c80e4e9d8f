// Membership: the pure rules for single-server changes, their encoding inside log entries, and
// the history of configurations found in a node's log.
import { assert } from "./errors.js";
import type { ConfChange, ConfState, Entry, HardState, LogIndex, NodeId, Term } from "./types.js";
import { toNodeId } from "./types.js";

export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

export function isVoter(state: ConfState, id: NodeId): boolean {
  return state.voters.includes(id);
}

export function isLearner(state: ConfState, id: NodeId): boolean {
  return state.learners.includes(id);
}

export function isMember(state: ConfState, id: NodeId): boolean {
  return isVoter(state, id) || isLearner(state, id);
}

export function members(state: ConfState): NodeId[] {
  return [...state.voters, ...state.learners];
}

/** The smallest number of voters that forms a majority. */
export function quorumSize(state: ConfState): number {
  return Math.floor(state.voters.length / 2) + 1;
}

const sorted = (ids: readonly NodeId[]): NodeId[] => [...ids].sort();

/**
 * Applies one change. Total on purpose: a change that makes no sense against `state` (adding
 * a voter twice, removing a stranger, demoting a voter to learner) leaves it unchanged, so
 * every node computes the same configuration from the same log. Leaders refuse such changes
 * before they reach the log; this only guards against a stale leader's entries.
 */
export function applyConfChange(state: ConfState, change: ConfChange): ConfState {
  const id = change.nodeId;
  switch (change.type) {
    case "add-voter":
      if (isVoter(state, id)) return state;
      return {
        voters: sorted([...state.voters, id]),
        learners: state.learners.filter((learner) => learner !== id),
      };
    case "add-learner":
      if (isMember(state, id)) return state;
      return { voters: state.voters, learners: sorted([...state.learners, id]) };
    case "remove-node":
      if (!isMember(state, id)) return state;
      if (isVoter(state, id) && state.voters.length === 1) return state;
      return {
        voters: state.voters.filter((voter) => voter !== id),
        learners: state.learners.filter((learner) => learner !== id),
      };
  }
}

export function confStatesEqual(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]) =>
    x.length === y.length && sorted(x).every((id, i) => id === sorted(y)[i]);
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A conf change as entry data: UTF-8 JSON `{"type":"add-voter","nodeId":"n4"}`. */
export function encodeConfChange(change: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: change.type, nodeId: change.nodeId }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const value: unknown = JSON.parse(decoder.decode(data));
  assert(typeof value === "object" && value !== null, "conf change entry is not an object");
  const { type, nodeId } = value as { type?: unknown; nodeId?: unknown };
  assert(typeof nodeId === "string", "conf change entry has no node id");
  assert(
    type === "add-voter" || type === "add-learner" || type === "remove-node",
    `conf change entry has unknown type ${String(type)}`,
  );
  return { type, nodeId: toNodeId(nodeId) };
}

/**
 * The configurations in a node's log. A server uses the latest configuration in its log,
 * committed or not (dissertation 4.1), so a conf change takes effect on each node as soon as it
 * is appended, and is undone if a new leader truncates it. `base` is the configuration as of
 * the snapshot (or the last entry known to be committed, once older ones are pruned).
 */
export class ConfigurationHistory {
  private baseIndex: LogIndex;
  private baseState: ConfState;
  private readonly changes: { index: LogIndex; state: ConfState }[] = [];

  constructor(index: LogIndex, state: ConfState) {
    this.baseIndex = index;
    this.baseState = state;
  }

  current(): ConfState {
    return this.changes.at(-1)?.state ?? this.baseState;
  }

  /** The configuration before the latest change (the base if there is no change above it). */
  previous(): ConfState {
    return this.changes.at(-2)?.state ?? this.baseState;
  }

  /** Index of the latest conf change entry in the log, or the base index. */
  latestIndex(): LogIndex {
    return this.changes.at(-1)?.index ?? this.baseIndex;
  }

  /** The configuration in force after entry `index` (used when cutting a snapshot). */
  at(index: LogIndex): ConfState {
    assert(
      index >= this.baseIndex,
      `configuration at ${index} was pruned (base ${this.baseIndex})`,
    );
    let state = this.baseState;
    for (const change of this.changes) {
      if (change.index > index) break;
      state = change.state;
    }
    return state;
  }

  /** Follows newly appended entries, which must extend the log past every known change. */
  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type !== "conf-change") continue;
      assert(
        entry.index > this.latestIndex(),
        `conf change at ${entry.index} is not after the last`,
      );
      this.changes.push({
        index: entry.index,
        state: applyConfChange(this.current(), decodeConfChange(entry.data)),
      });
    }
  }

  /** Forgets changes above `index` because the log was truncated there. */
  truncateAfter(index: LogIndex): void {
    assert(index >= this.baseIndex, `truncation at ${index} below the committed configuration`);
    while ((this.changes.at(-1)?.index ?? 0) > index) this.changes.pop();
  }

  /** Keeps the history bounded: changes at or below `applied` are committed and final. */
  pruneTo(applied: LogIndex): void {
    while (this.changes.length > 0 && this.changes[0]!.index <= applied) {
      const first = this.changes.shift()!;
      this.baseIndex = first.index;
      this.baseState = first.state;
    }
  }

  reset(index: LogIndex, state: ConfState): void {
    this.baseIndex = index;
    this.baseState = state;
    this.changes.length = 0;
  }
}

/**
 * The first entries of a new cluster's log: one `add-voter` per founding member, in term 1,
 * already committed. Every founding node writes the same entries (the same list of ids, in any
 * order), so nodes that join later learn the founding membership from the log itself.
 */
export function bootstrapEntries(voters: readonly NodeId[]): {
  entries: Entry[];
  hardState: HardState;
} {
  assert(voters.length > 0, "a cluster needs at least one voter");
  assert(new Set(voters).size === voters.length, "founding voters are not distinct");
  const term = 1 as Term;
  const entries = sorted(voters).map(
    (nodeId, i): Entry => ({
      index: (i + 1) as LogIndex,
      term,
      type: "conf-change",
      data: encodeConfChange({ type: "add-voter", nodeId }),
    }),
  );
  return { entries, hardState: { term, vote: null, commit: entries.length as LogIndex } };
}
