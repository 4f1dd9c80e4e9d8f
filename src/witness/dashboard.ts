// The witness in the dashboard's terms (src/dashboard/api.ts): what a witness serves on its own
// dashboard (its verdicts, the nodes that report to it, the alerts its votes raised), and what a
// raft node shows of its witnesses (their latest verdicts, asked with ListLatest).
import { parseCheckpoint, readWitnzFields } from "../checkpoint/index.js";
import {
  type AlertEvent,
  alertEventOf,
  type ClusterNode,
  type DashboardSource,
  newestFirst,
  type TableSummary,
  type WitnessVerdict,
  type WitnessVerdicts,
} from "../dashboard/index.js";
import type { WitnzStore } from "../store/index.js";
import { connectWitness, type WitnessConnection, type WitnessEndpoint } from "./client.js";
import { fromProtoVerdict } from "./convert.js";
import type { NodeRegistry } from "./core/index.js";
import { WitnessError } from "./errors.js";
import { type QuerySigner, queryAuth } from "./query-auth.js";
import type { CosignedCheckpoint, Verdict, WitnessService } from "./witness-service.js";

const hexOfBase64 = (text: string): string => Buffer.from(text, "base64").toString("hex");

/** One verdict as the dashboard shows it; hashes in hex like every other dashboard hash. */
export function dashboardVerdict(witness: string, verdict: Verdict): WitnessVerdict {
  return {
    witness,
    table: verdict.table,
    size: verdict.size,
    outcome: verdict.outcome,
    rootHash: verdict.majority === undefined ? null : hexOfBase64(verdict.majority.rootHash),
    minority: verdict.minority.map((value) => value.node),
    missing: [...verdict.missing],
    cosigned: verdict.cosigned,
    decidedAt: new Date(verdict.decidedAtMs).toISOString(),
  };
}

/** Verdicts per table the timeline looks back over for the alerts they raised. */
const TIMELINE_VERDICTS_PER_TABLE = 200;

export interface WitnessDashboardSourceOptions {
  readonly service: WitnessService;
  readonly registry: NodeRegistry;
  /** The alert outbox the service writes to. */
  readonly outbox: WitnzStore;
  /** A node is shown not ready when its last submission is older than this. */
  readonly staleAfterMs: number;
  readonly clock: () => number;
  /** The witness's cosignature/v1 verifier key. */
  readonly cosignerVerifierKey: string;
}

/**
 * A witness's own dashboard. It holds checkpoints' hashes only, so tables show the latest vote
 * and cosigned checkpoint, the explorer finds no rows, and there is no ingest series.
 */
export function witnessDashboardSource(options: WitnessDashboardSourceOptions): DashboardSource {
  const { service, registry, outbox, clock } = options;
  const witness = service.witnessId;
  const customers = [...registry.keys()].sort();
  // With one customer a table is named as its nodes name it; with several, customer/table.
  const qualified = (customer: string, name: string) =>
    customers.length === 1 ? name : `${customer}/${name}`;

  const tables = () =>
    customers.flatMap((customer) =>
      service.latest(customer).map((entry) => ({ customer, ...entry })),
    );

  const cosignedSummary = (cosigned: CosignedCheckpoint | undefined) => {
    if (cosigned === undefined) return null;
    try {
      const checkpoint = parseCheckpoint(cosigned.note).checkpoint;
      const fields = readWitnzFields(checkpoint);
      return {
        size: checkpoint.size,
        rootHash: Buffer.from(checkpoint.rootHash).toString("hex"),
        lsn: fields.lsn,
        time: new Date(Number(fields.timeMicroseconds / 1000n)).toISOString(),
      };
    } catch {
      return null;
    }
  };

  const reportingNode = (customer: string, node: string, now: number): ClusterNode => {
    const last = service.lastSubmissionMs(customer, node);
    const reasons =
      last === undefined
        ? ["no submission since this witness started"]
        : now - last > options.staleAfterMs
          ? [`last submission ${Math.round((now - last) / 1000)} s ago`]
          : [];
    return {
      id: qualified(customer, node),
      role: "raft",
      state: "unknown",
      isLeader: false,
      self: false,
      health: { state: reasons.length === 0 ? "ready" : "not_ready", reasons },
    };
  };

  return {
    async overview() {
      const now = clock();
      const summaries: TableSummary[] = tables().map(({ customer, table, verdict, cosigned }) => {
        const checkpoint = cosignedSummary(cosigned);
        return {
          table: qualified(customer, table),
          chainLength: verdict.size,
          headHash: verdict.majority === undefined ? null : hexOfBase64(verdict.majority.chainHash),
          checkpoint,
          lag: {
            bytes: null,
            secondsSinceCheckpoint:
              checkpoint === null
                ? null
                : Math.max(0, Math.round((now - Date.parse(checkpoint.time)) / 1000)),
          },
          violations: null,
          lastVerification: null,
        };
      });
      return {
        takenAt: new Date(now).toISOString(),
        node: { id: witness, role: "witness", verifierKey: options.cosignerVerifierKey },
        cluster: {
          term: null,
          leaderId: null,
          nodes: [
            {
              id: witness,
              role: "witness",
              state: "witness",
              isLeader: false,
              self: true,
              health: { state: "ready", reasons: [] },
            },
            ...customers.flatMap((customer) =>
              [...(registry.get(customer)?.keys() ?? [])]
                .sort()
                .map((node) => reportingNode(customer, node, now)),
            ),
          ],
        },
        tables: summaries,
        alertsPending: outbox.pendingAlerts(Number.MAX_SAFE_INTEGER, 1_000).length,
      };
    },

    async alerts(limit) {
      const events: AlertEvent[] = [];
      for (const customer of customers) {
        for (const { table } of service.latest(customer)) {
          for (const verdict of service.recentVerdicts(
            customer,
            table,
            TIMELINE_VERDICTS_PER_TABLE,
          )) {
            if (verdict.outcome === "unanimous" && verdict.cosignRefusal === undefined) continue;
            for (const stored of service.alertsOf(verdict)) {
              events.push(alertEventOf(stored.alert, [witness]));
            }
          }
        }
      }
      events.sort(newestFirst);
      return { alerts: events.slice(0, limit) };
    },

    async witnesses() {
      return {
        verdicts: tables().map(({ customer, verdict }) => ({
          ...dashboardVerdict(witness, verdict),
          table: qualified(customer, verdict.table),
        })),
        unreachable: [],
      };
    },

    async entry(query) {
      return {
        found: false,
        table: query.table,
        reason: `${witness} is a witness: it holds the nodes' checkpoint hashes, never rows or chain entries; look entries up on a raft node's dashboard`,
      };
    },

    async series() {
      return { intervalMs: 0, points: [] };
    },
  };
}

export interface WitnessVerdictReaderOptions {
  readonly customerId: string;
  /** This node: witnesses answer only queries a node of the customer signs. */
  readonly querySigner: QuerySigner;
  readonly witnesses: readonly WitnessEndpoint[];
  /** Per witness and request. */
  readonly timeoutMs?: number;
  /** An answer younger than this is served again instead of asking the witnesses. */
  readonly maxAgeMs?: number;
  readonly clock?: () => number;
}

const READ_TIMEOUT_MS_DEFAULT = 2_000;
const READ_MAX_AGE_MS_DEFAULT = 1_000;

/**
 * A raft node's view of its witnesses' verdicts for the dashboard: each witness's latest verdict
 * per table (ListLatest), asked at most once per `maxAgeMs` however many pages poll, over
 * connections kept open.
 */
export class WitnessVerdictReader {
  readonly #options: WitnessVerdictReaderOptions;
  readonly #connections = new Map<string, WitnessConnection>();
  #last: { atMs: number; answer: Promise<WitnessVerdicts> } | undefined;
  #closed = false;

  constructor(options: WitnessVerdictReaderOptions) {
    this.#options = options;
  }

  read(): Promise<WitnessVerdicts> {
    const clock = this.#options.clock ?? Date.now;
    const now = clock();
    const maxAgeMs = this.#options.maxAgeMs ?? READ_MAX_AGE_MS_DEFAULT;
    if (this.#last !== undefined && now - this.#last.atMs < maxAgeMs) return this.#last.answer;
    const answer = this.#ask();
    this.#last = { atMs: now, answer };
    return answer;
  }

  async #ask(): Promise<WitnessVerdicts> {
    const timeoutMs = this.#options.timeoutMs ?? READ_TIMEOUT_MS_DEFAULT;
    const answers = await Promise.all(
      this.#options.witnesses.map(async (endpoint) => {
        try {
          const { customerId, querySigner } = this.#options;
          const response = await this.#connection(endpoint).client.listLatest(
            {
              customerId,
              auth: queryAuth(querySigner, {
                method: "ListLatest",
                customerId,
                witnessId: endpoint.id,
              }),
            },
            { timeoutMs },
          );
          const verdicts = response.tables.flatMap((entry) =>
            entry.verdict === undefined
              ? []
              : [dashboardVerdict(endpoint.id, fromProtoVerdict(entry.verdict))],
          );
          return { verdicts, error: undefined };
        } catch (error) {
          return { verdicts: [], error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    return {
      verdicts: answers.flatMap((answer) => answer.verdicts),
      unreachable: answers.flatMap((answer, index) =>
        answer.error === undefined
          ? []
          : [{ witness: this.#options.witnesses[index]!.id, error: answer.error }],
      ),
    };
  }

  #connection(endpoint: WitnessEndpoint): WitnessConnection {
    if (this.#closed) {
      throw new WitnessError("WITNZ_WITNESS_STOPPED", "the witness verdict reader is closed");
    }
    let connection = this.#connections.get(endpoint.id);
    if (connection === undefined) {
      connection = connectWitness(endpoint);
      this.#connections.set(endpoint.id, connection);
    }
    return connection;
  }

  /** The witnesses as topology entries: answered last time (ready) or not (unreachable). */
  async topology(): Promise<ClusterNode[]> {
    const { unreachable } = await this.read();
    return this.#options.witnesses.map((endpoint) => {
      const problem = unreachable.find((entry) => entry.witness === endpoint.id);
      return {
        id: endpoint.id,
        role: "witness",
        state: "witness",
        isLeader: false,
        self: false,
        health:
          problem === undefined
            ? { state: "ready", reasons: [] }
            : { state: "unreachable", reasons: [problem.error] },
      };
    });
  }

  close(): void {
    this.#closed = true;
    for (const connection of this.#connections.values()) connection.close();
    this.#connections.clear();
  }
}
