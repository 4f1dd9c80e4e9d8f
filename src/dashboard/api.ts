// The dashboard's HTTP contract: every route under /api/v1/, its query and its answer. The
// server's handlers and the browser app both import this file, so a change to a shape breaks
// the build on both sides. Runtime-neutral on purpose (no node: imports, no Buffer): it is
// bundled into the browser app. docs/design/dashboard.md describes the API.

export const DASHBOARD_API_PREFIX = "/api/v1";

/** The loopback rule's header: `Authorization: Bearer <token>`. */
export const DASHBOARD_AUTHORIZATION_SCHEME = "Bearer";

/** Alerts the timeline asks for at most, and the most any request may ask for. */
export const ALERTS_LIMIT_DEFAULT = 50;
export const ALERTS_LIMIT_MAX = 500;

/** Hashes are lower-case hex (64 digits for SHA-256). */
export type HexHash = string;
/** ISO 8601 time. */
export type IsoTime = string;

export type HealthState = "ready" | "not_ready" | "unreachable";

export interface NodeHealth {
  readonly state: HealthState;
  /** Why the node is not ready, one short sentence each; empty when ready. */
  readonly reasons: readonly string[];
}

/**
 * `standalone` is a node with no cluster (it does the leader's duties itself); the others are
 * Raft states. Witnesses report `witness`.
 */
export type RaftState =
  | "standalone"
  | "leader"
  | "follower"
  | "candidate"
  | "pre_candidate"
  | "witness"
  | "unknown";

export interface ClusterNode {
  readonly id: string;
  readonly role: "raft" | "witness";
  readonly state: RaftState;
  readonly isLeader: boolean;
  /** True for the node that answered this request. */
  readonly self: boolean;
  readonly health: NodeHealth;
}

export interface ClusterView {
  /** Null without a cluster. */
  readonly term: number | null;
  readonly leaderId: string | null;
  readonly nodes: readonly ClusterNode[];
}

export interface CheckpointSummary {
  readonly size: number;
  /** RFC 6962 Merkle root over the first `size` entries. */
  readonly rootHash: HexHash;
  readonly lsn: string;
  readonly time: IsoTime;
}

export interface VerificationSummary {
  /** When the run finished. */
  readonly time: IsoTime;
  /** The node that ran it (in a cluster, the latest run of any node). */
  readonly node: string;
  readonly outcome: "clean" | "tampered" | "error";
  readonly ok: boolean;
  readonly rowsChecked: number;
  readonly modified: number;
  readonly deleted: number;
  readonly phantom: number;
  readonly error: string | null;
}

export interface TableSummary {
  /** The store's name: `schema.table`, quoted where PostgreSQL would need it. */
  readonly table: string;
  readonly chainLength: number;
  readonly headHash: HexHash | null;
  readonly checkpoint: CheckpointSummary | null;
  readonly lag: {
    /** WAL bytes between the server's position and what the node confirmed; node-wide. */
    readonly bytes: number | null;
    readonly secondsSinceCheckpoint: number | null;
  };
  /** Entries in the table's violation log; null on a witness, which keeps none. */
  readonly violations: number | null;
  readonly lastVerification: VerificationSummary | null;
}

export interface Overview {
  readonly takenAt: IsoTime;
  /** The node that answered. */
  readonly node: {
    readonly id: string;
    readonly role: "raft" | "witness";
    /**
     * The signed-note verifier key this node signs with (`name+id+key`): a raft node's
     * checkpoints (Ed25519), a witness's cosignatures (cosignature/v1). Pin it elsewhere to trust
     * what the page checks with it.
     */
    readonly verifierKey: string | null;
  };
  readonly cluster: ClusterView;
  readonly tables: readonly TableSummary[];
  /** Alerts in the durable outbox that some sink has not accepted yet. */
  readonly alertsPending: number;
}

export type AlertSeverity = "info" | "warning" | "critical";

export interface AlertEvent {
  /** Stable: the same event always has the same id. */
  readonly id: string;
  /** Every node that reported it (one cluster incident, several observers), first one first. */
  readonly reporters: readonly string[];
  /** `append_only_violation`, `schema_change`, `replication_gap`, `verification_failed`, ... */
  readonly kind: string;
  readonly severity: AlertSeverity;
  readonly node: string;
  readonly table: string | null;
  /** `UPDATE`, `DELETE`, `TRUNCATE`, `ALTER`, or null. */
  readonly operation: string | null;
  readonly primaryKey: readonly (string | null)[] | null;
  readonly lsn: string | null;
  readonly time: IsoTime;
  readonly message: string;
}

export interface AlertList {
  /** Newest first. */
  readonly alerts: readonly AlertEvent[];
}

/** A witness's vote, as the witness names it (docs/design/witness.md). */
export type WitnessOutcome =
  | "unanimous"
  | "tampering_detected"
  | "incomplete_submission"
  | "no_majority";

export interface WitnessVerdict {
  readonly witness: string;
  readonly table: string;
  /** The checkpoint size voted on. */
  readonly size: number;
  readonly outcome: WitnessOutcome;
  /** The majority's root; null when there was none. */
  readonly rootHash: HexHash | null;
  /** Nodes that reported a different checkpoint (outcome `tampering_detected`). */
  readonly minority: readonly string[];
  /** Nodes that did not report in time (outcome `incomplete_submission`). */
  readonly missing: readonly string[];
  /** The witness cosigned the majority checkpoint. */
  readonly cosigned: boolean;
  readonly decidedAt: IsoTime;
}

export interface WitnessVerdicts {
  /** Each witness's latest verdict per table. */
  readonly verdicts: readonly WitnessVerdict[];
  /** Witnesses that did not answer, each with the error. */
  readonly unreachable: readonly { readonly witness: string; readonly error: string }[];
}

/** Look an entry up by its 1-based sequence number or by its primary key's text values. */
export type EntryQuery =
  | { readonly table: string; readonly seq: number }
  | { readonly table: string; readonly primaryKey: readonly string[] };

export interface ChainEntryView {
  readonly seq: number;
  readonly dataHash: HexHash;
  readonly chainHash: HexHash;
  readonly lsn: string;
  /** The row's primary key, text values (NULL as null); null when it cannot be decoded. */
  readonly primaryKey: readonly (string | null)[] | null;
}

export interface InclusionProofView {
  /** 0-based: seq - 1. */
  readonly leafIndex: number;
  readonly treeSize: number;
  /** RFC 9162 2.1.3.1 audit path, lowest sibling first. */
  readonly hashes: readonly HexHash[];
}

export interface CheckpointView extends CheckpointSummary {
  /** The signed note exactly as stored (C2SP tlog-checkpoint body plus signature lines). */
  readonly text: string;
}

export type EntryLookup =
  | {
      readonly found: false;
      readonly table: string;
      /** One sentence: why nothing was found. */
      readonly reason: string;
    }
  | {
      readonly found: true;
      readonly table: string;
      readonly entry: ChainEntryView;
      /** Null while no signed checkpoint covers the entry yet. */
      readonly proof: InclusionProofView | null;
      readonly checkpoint: CheckpointView | null;
    };

export interface SeriesPoint {
  /** The end of the interval the point describes. */
  readonly time: IsoTime;
  /** Rows appended to any chain during the interval, per second. */
  readonly rowsPerSecond: number;
  readonly lagBytes: number | null;
}

export interface Series {
  readonly intervalMs: number;
  /** Oldest first. */
  readonly points: readonly SeriesPoint[];
}

/** A problem answer: 400 (bad query), 401/403 (auth), 404, 500. */
export interface ApiProblem {
  readonly error: string;
  readonly message: string;
}

/**
 * Every route, its query (as the URL's search parameters carry it) and its 200 answer. The
 * entry route takes `table` and either `seq` or one `pk` per primary key column, in key order.
 */
export interface DashboardRoutes {
  "/api/v1/overview": { readonly query: Record<string, never>; readonly response: Overview };
  "/api/v1/alerts": { readonly query: { readonly limit?: number }; readonly response: AlertList };
  "/api/v1/witnesses": {
    readonly query: Record<string, never>;
    readonly response: WitnessVerdicts;
  };
  "/api/v1/entry": { readonly query: EntryQuery; readonly response: EntryLookup };
  "/api/v1/series": { readonly query: Record<string, never>; readonly response: Series };
}

export type DashboardRoute = keyof DashboardRoutes;

/** The search parameters of a route's query, as both sides write and read them. */
export function queryParameters<Route extends DashboardRoute>(
  query: DashboardRoutes[Route]["query"],
): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(query)) {
    if (name === "primaryKey" && Array.isArray(value)) {
      for (const part of value) pairs.push(["pk", String(part)]);
    } else if (value !== undefined) {
      pairs.push([name, String(value)]);
    }
  }
  return pairs;
}
