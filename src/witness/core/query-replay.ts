// A witness answers each signed query once. A query is accepted within QUERY_CLOCK_SKEW_SECONDS
// of its signing time, so the nonces of a node's queries answered are kept until their signing
// time has left that window; a nonce seen again before then is a replay. The nonces live in
// memory: a restarted witness has forgotten them, so it refuses queries signed before the second
// it started. Each node may hold QUERY_NONCES_PER_NODE_MAX nonces at once, which bounds memory
// (only nodes whose signature verified get here) and sets a rate: that many queries per window.

import { type Rejection, reject } from "./codes.js";
import { QUERY_CLOCK_SKEW_SECONDS } from "./query.js";

/** Queries one node may have answered within a window of QUERY_CLOCK_SKEW_SECONDS (33 per s). */
export const QUERY_NONCES_PER_NODE_MAX = 10_000;
/** How often expired nonces of every node are dropped. */
const SWEEP_INTERVAL_SECONDS = 60;

export class QueryReplayGuard {
  readonly #startedUnixSeconds: number;
  readonly #perNodeMax: number;
  /** JSON [customer, node] -> nonce -> the last second at which its query is still accepted. */
  readonly #nonces = new Map<string, Map<string, number>>();
  #nextSweep: number;

  constructor(startedUnixSeconds: number, perNodeMax: number = QUERY_NONCES_PER_NODE_MAX) {
    this.#startedUnixSeconds = startedUnixSeconds;
    this.#perNodeMax = perNodeMax;
    this.#nextSweep = startedUnixSeconds + SWEEP_INTERVAL_SECONDS;
  }

  /** How many nonces are held, across every node. */
  get held(): number {
    let count = 0;
    for (const nonces of this.#nonces.values()) count += nonces.size;
    return count;
  }

  /**
   * Records the nonce of a query whose signature and time were checked (checkQuery); undefined
   * when it may be answered, the refusal when it was answered before or cannot be told apart
   * from a replay.
   */
  admit(
    customerId: string,
    nodeId: string,
    nonce: string,
    timeUnixSeconds: number,
    nowUnixSeconds: number,
  ): Rejection | undefined {
    if (timeUnixSeconds < this.#startedUnixSeconds) {
      return reject(
        "WITNZ_WITNESS_QUERY_EXPIRED",
        `the query was signed at ${timeUnixSeconds}, before this witness started (${this.#startedUnixSeconds}); sign it again`,
      );
    }
    if (nowUnixSeconds >= this.#nextSweep) {
      for (const [node, nonces] of this.#nonces) {
        dropExpired(nonces, nowUnixSeconds);
        if (nonces.size === 0) this.#nonces.delete(node);
      }
      this.#nextSweep = nowUnixSeconds + SWEEP_INTERVAL_SECONDS;
    }
    const node = JSON.stringify([customerId, nodeId]);
    let nonces = this.#nonces.get(node);
    if (nonces === undefined) {
      nonces = new Map();
      this.#nonces.set(node, nonces);
    }
    const acceptedUntil = nonces.get(nonce);
    if (acceptedUntil !== undefined && acceptedUntil >= nowUnixSeconds) {
      return reject(
        "WITNZ_WITNESS_QUERY_REPLAY",
        `node ${JSON.stringify(nodeId)} already asked a query with nonce ${nonce}`,
      );
    }
    if (nonces.size >= this.#perNodeMax) dropExpired(nonces, nowUnixSeconds);
    if (nonces.size >= this.#perNodeMax) {
      return reject(
        "WITNZ_WITNESS_QUERY_RATE",
        `node ${JSON.stringify(nodeId)} asked ${nonces.size} queries within ${QUERY_CLOCK_SKEW_SECONDS} s; ask again later`,
      );
    }
    nonces.set(nonce, timeUnixSeconds + QUERY_CLOCK_SKEW_SECONDS);
    return undefined;
  }
}

function dropExpired(nonces: Map<string, number>, nowUnixSeconds: number): void {
  for (const [nonce, acceptedUntil] of nonces) {
    if (acceptedUntil < nowUnixSeconds) nonces.delete(nonce);
  }
}
