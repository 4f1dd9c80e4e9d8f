// A witness answers each signed query once. A query is accepted within QUERY_CLOCK_SKEW_SECONDS
// of its signing time, so the nonce of each query answered is kept until its signing time has
// left that window; the same nonce from the same node before then is a replay. The witness keeps
// the nonces in its store too (query-nonces.ts) and restores them here when it starts, so a
// restart forgets nothing.
//
// A window is measured against the latest time the witness's clock has read (`advance`; the
// store keeps the latest window it dropped nonces of, so this survives a restart): a nonce
// dropped because the clock read past its window stays refused if the clock then steps back (a
// query signed that long before is refused as expired). Each node may hold
// QUERY_NONCES_PER_NODE_MAX nonces at once, which bounds memory (only nodes whose signature
// verified get here) and sets a rate: that many queries per window. Every nonce dropped from
// memory is handed out by `expire`, for the store to delete.
import { type Rejection, reject } from "./codes.js";
import { QUERY_CLOCK_SKEW_SECONDS } from "./query.js";

/** Queries one node may have answered within a window of QUERY_CLOCK_SKEW_SECONDS (33 per s). */
export const QUERY_NONCES_PER_NODE_MAX = 10_000;

/** One answered query's nonce, as the store keeps it. */
export interface QueryNonce {
  readonly customerId: string;
  readonly nodeId: string;
  readonly nonce: string;
  /** The last second (Unix) at which its query is accepted: its signing time + the window. */
  readonly acceptedUntil: number;
}

interface NodeNonces {
  readonly customerId: string;
  readonly nodeId: string;
  readonly nonces: Map<string, number>;
  /** No nonce of the node expires before this second (a lower bound). */
  earliestExpiry: number;
}

export class QueryReplayGuard {
  readonly #perNodeMax: number;
  /** JSON [customer, node] -> that node's nonces. */
  readonly #nodes = new Map<string, NodeNonces>();
  /** The latest second the clock has read (never moves back). */
  #latest = Number.NEGATIVE_INFINITY;
  /** Dropped from memory, not yet handed out by `expire`. */
  #dropped: QueryNonce[] = [];

  constructor(perNodeMax: number = QUERY_NONCES_PER_NODE_MAX) {
    this.#perNodeMax = perNodeMax;
  }

  /** How many nonces are held, across every node. */
  get held(): number {
    let count = 0;
    for (const node of this.#nodes.values()) count += node.nonces.size;
    return count;
  }

  /** Takes back a nonce the store kept (when the witness starts). */
  restore(entry: QueryNonce): void {
    const node = this.#node(entry.customerId, entry.nodeId);
    node.nonces.set(entry.nonce, entry.acceptedUntil);
    node.earliestExpiry = Math.min(node.earliestExpiry, entry.acceptedUntil);
  }

  /**
   * Records the nonce of a query whose signature and time checkQuery accepted: the entry to keep
   * when it may be answered, the refusal when it was answered before (or its window is over by
   * the latest clock reading, or its node asked too many).
   */
  admit(
    customerId: string,
    nodeId: string,
    nonce: string,
    timeUnixSeconds: number,
    nowUnixSeconds: number,
  ): Rejection | QueryNonce {
    const latest = this.advance(nowUnixSeconds);
    const acceptedUntil = timeUnixSeconds + QUERY_CLOCK_SKEW_SECONDS;
    if (acceptedUntil < latest) {
      return reject(
        "WITNZ_WITNESS_QUERY_EXPIRED",
        `the query was signed at ${timeUnixSeconds}, more than ${QUERY_CLOCK_SKEW_SECONDS} s before this witness's clock read ${latest}`,
      );
    }
    const node = this.#node(customerId, nodeId);
    if (node.nonces.has(nonce)) {
      return reject(
        "WITNZ_WITNESS_QUERY_REPLAY",
        `node ${JSON.stringify(nodeId)} already asked a query with nonce ${nonce}`,
      );
    }
    if (node.nonces.size >= this.#perNodeMax) {
      this.#dropExpired(node, latest);
      if (node.nonces.size >= this.#perNodeMax) {
        return reject(
          "WITNZ_WITNESS_QUERY_RATE",
          `node ${JSON.stringify(nodeId)} asked ${node.nonces.size} queries within ${QUERY_CLOCK_SKEW_SECONDS} s; ask again after ${node.earliestExpiry}`,
        );
      }
    }
    node.nonces.set(nonce, acceptedUntil);
    node.earliestExpiry = Math.min(node.earliestExpiry, acceptedUntil);
    return { customerId, nodeId, nonce, acceptedUntil };
  }

  /**
   * Drops every nonce whose window is over at `nowUnixSeconds`; returns them with every other
   * nonce dropped since the last call (at a node's limit), for the store to delete.
   */
  expire(nowUnixSeconds: number): QueryNonce[] {
    const latest = this.advance(nowUnixSeconds);
    for (const [key, node] of this.#nodes) {
      this.#dropExpired(node, latest);
      if (node.nonces.size === 0) this.#nodes.delete(key);
    }
    const dropped = this.#dropped;
    this.#dropped = [];
    return dropped;
  }

  /** Hands nonces `expire` returned out again at its next call (their delete failed). */
  requeue(dropped: readonly QueryNonce[]): void {
    this.#dropped.push(...dropped);
  }

  /** Moves the latest clock reading to `unixSeconds` if it is later; returns the reading. */
  advance(unixSeconds: number): number {
    this.#latest = Math.max(this.#latest, unixSeconds);
    return this.#latest;
  }

  #node(customerId: string, nodeId: string): NodeNonces {
    const key = JSON.stringify([customerId, nodeId]);
    let node = this.#nodes.get(key);
    if (node === undefined) {
      node = { customerId, nodeId, nonces: new Map(), earliestExpiry: Number.POSITIVE_INFINITY };
      this.#nodes.set(key, node);
    }
    return node;
  }

  /** Scans a node's nonces only once one of them can have expired. */
  #dropExpired(node: NodeNonces, latest: number): void {
    if (node.earliestExpiry >= latest) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [nonce, acceptedUntil] of node.nonces) {
      if (acceptedUntil < latest) {
        node.nonces.delete(nonce);
        this.#dropped.push({
          customerId: node.customerId,
          nodeId: node.nodeId,
          nonce,
          acceptedUntil,
        });
      } else {
        earliest = Math.min(earliest, acceptedUntil);
      }
    }
    node.earliestExpiry = earliest;
  }
}
