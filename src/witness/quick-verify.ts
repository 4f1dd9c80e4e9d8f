// `witnz verify --quick`: ask every witness, and report per table the verdict the majority of
// witnesses gives, with each witness's own answer. Witnesses never talk to each other; this
// client counts them the way a witness counts nodes: more than half of the configured ones.
import { connectWitness, type WitnessEndpoint } from "./client.js";
import { fromProtoVerdict } from "./convert.js";
import { majorityThreshold } from "./core/index.js";
import { type QuerySigner, queryAuth } from "./query-auth.js";
import type { Verdict } from "./witness-service.js";

/** What one witness's verdict means for the table. */
export type WitnessAnswerClass = "clean" | "incomplete" | "tampering" | "unknown";
/** The table's verdict: what a majority of witnesses answered, or `no_witness_majority`. */
export type QuickVerdict = WitnessAnswerClass | "no_witness_majority";

export interface WitnessAnswer {
  readonly witness: string;
  readonly class: WitnessAnswerClass;
  readonly verdict?: Verdict;
  /** The latest size this witness cosigned for the table. */
  readonly cosignedSize?: number;
  readonly error?: string;
}

export interface QuickTableReport {
  readonly table: string;
  /** The size compared: the largest one a majority of witnesses has decided. */
  readonly size: number;
  readonly verdict: QuickVerdict;
  /** The root the majority of witnesses holds as the majority value (base64), when there is one. */
  readonly rootHash?: string;
  readonly witnesses: readonly WitnessAnswer[];
}

export interface QuickVerifyReport {
  readonly customer: string;
  readonly tables: readonly QuickTableReport[];
  /** Witnesses that could not be asked at all. */
  readonly unreachable: readonly { witness: string; error: string }[];
  /** 0 every table clean, 1 tampering in some table, 2 no answer from a majority of witnesses. */
  readonly exitCode: 0 | 1 | 2;
}

export interface QuickVerifyOptions {
  readonly customerId: string;
  /** A node of the customer: witnesses answer only queries it signs. */
  readonly querySigner: QuerySigner;
  readonly witnesses: readonly WitnessEndpoint[];
  /** Only these tables (as witnesses name them, e.g. `public.audit_log`); all by default. */
  readonly tables?: readonly string[];
  readonly timeoutMs?: number;
}

const TIMEOUT_MS_DEFAULT = 5_000;

export function classify(verdict: Verdict | undefined): WitnessAnswerClass {
  switch (verdict?.outcome) {
    case "unanimous":
      return "clean";
    case "incomplete_submission":
      return "incomplete";
    case "tampering_detected":
    case "no_majority":
      return "tampering";
    default:
      return "unknown";
  }
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

export async function quickVerify(options: QuickVerifyOptions): Promise<QuickVerifyReport> {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS_DEFAULT;
  const connections = options.witnesses.map((endpoint) => ({
    endpoint,
    connection: connectWitness(endpoint),
  }));
  try {
    const latest = await Promise.all(
      connections.map(async ({ endpoint, connection }) => {
        try {
          const response = await connection.client.listLatest(
            {
              customerId: options.customerId,
              auth: queryAuth(options.querySigner, {
                method: "ListLatest",
                customerId: options.customerId,
                witnessId: endpoint.id,
              }),
            },
            { timeoutMs },
          );
          const tables = new Map(
            response.tables.map((entry) => [
              entry.table,
              {
                verdict: entry.verdict === undefined ? undefined : fromProtoVerdict(entry.verdict),
                cosigned: entry.cosignedCheckpoint,
              },
            ]),
          );
          return { endpoint, connection, tables, error: undefined };
        } catch (error) {
          return { endpoint, connection, tables: undefined, error: messageOf(error) };
        }
      }),
    );
    const quorum = majorityThreshold(options.witnesses.length);
    const known = new Set<string>();
    for (const answer of latest) for (const table of answer.tables?.keys() ?? []) known.add(table);
    const tables = [...(options.tables ?? known)].sort();
    const reports: QuickTableReport[] = [];
    for (const table of tables) {
      // The largest size a majority of witnesses has decided: the quorum-th largest latest size.
      const sizes = latest
        .map((answer) => answer.tables?.get(table)?.verdict?.size ?? 0)
        .sort((a, b) => b - a);
      const size = sizes[quorum - 1] ?? 0;
      const answers: WitnessAnswer[] = await Promise.all(
        latest.map(async (answer): Promise<WitnessAnswer> => {
          const witness = answer.endpoint.id;
          if (answer.tables === undefined) {
            return { witness, class: "unknown", error: answer.error ?? "no answer" };
          }
          const entry = answer.tables.get(table);
          const cosignedSize = cosignedSizeOf(entry?.cosigned);
          const extra = cosignedSize === undefined ? {} : { cosignedSize };
          let verdict = entry?.verdict;
          if (size === 0) return { witness, class: "unknown", error: "no verdict", ...extra };
          if (verdict?.size !== size) {
            try {
              const response = await answer.connection.client.getVerdict(
                {
                  customerId: options.customerId,
                  table,
                  size: BigInt(size),
                  auth: queryAuth(options.querySigner, {
                    method: "GetVerdict",
                    customerId: options.customerId,
                    witnessId: witness,
                    table,
                    size,
                  }),
                },
                { timeoutMs },
              );
              verdict =
                response.found && response.verdict !== undefined
                  ? fromProtoVerdict(response.verdict)
                  : undefined;
            } catch (error) {
              return { witness, class: "unknown", error: messageOf(error), ...extra };
            }
          }
          if (verdict === undefined) {
            return { witness, class: "unknown", error: `no verdict at size ${size}`, ...extra };
          }
          return { witness, class: classify(verdict), verdict, ...extra };
        }),
      );
      reports.push({ table, size, ...majorityOf(answers, quorum), witnesses: answers });
    }
    const unreachable = latest
      .filter((answer) => answer.error !== undefined)
      .map((answer) => ({ witness: answer.endpoint.id, error: answer.error! }));
    const exitCode = reports.some((report) => report.verdict === "tampering")
      ? 1
      : reports.length === 0 ||
          reports.some(
            (report) => report.verdict === "unknown" || report.verdict === "no_witness_majority",
          )
        ? 2
        : 0;
    return { customer: options.customerId, tables: reports, unreachable, exitCode };
  } finally {
    for (const { connection } of connections) connection.close();
  }
}

/** The class (and majority root) more than half of the configured witnesses answered. */
function majorityOf(
  answers: readonly WitnessAnswer[],
  quorum: number,
): { verdict: QuickVerdict; rootHash?: string } {
  const groups = new Map<
    string,
    { verdict: WitnessAnswerClass; rootHash?: string; count: number }
  >();
  for (const answer of answers) {
    const rootHash = answer.verdict?.majority?.rootHash;
    const key = `${answer.class}/${rootHash ?? ""}`;
    const group = groups.get(key);
    if (group !== undefined) group.count += 1;
    else
      groups.set(key, {
        verdict: answer.class,
        ...(rootHash === undefined ? {} : { rootHash }),
        count: 1,
      });
  }
  for (const group of groups.values()) {
    if (group.count >= quorum) {
      return {
        verdict: group.verdict,
        ...(group.rootHash === undefined ? {} : { rootHash: group.rootHash }),
      };
    }
  }
  return { verdict: "no_witness_majority" };
}

function cosignedSizeOf(note: string | undefined): number | undefined {
  if (note === undefined || note === "") return undefined;
  const size = Number(note.split("\n")[1]);
  return Number.isSafeInteger(size) ? size : undefined;
}

/** One line per table, then one indented line per witness. */
export function formatQuickVerifyText(report: QuickVerifyReport): string {
  const lines: string[] = [];
  for (const table of report.tables) {
    lines.push(
      `${table.table}: ${table.verdict} at size ${table.size} (majority of ${table.witnesses.length} witnesses)${table.rootHash === undefined ? "" : ` root ${table.rootHash}`}`,
    );
    for (const answer of table.witnesses) {
      const verdict = answer.verdict;
      const detail =
        verdict === undefined
          ? (answer.error ?? "no verdict")
          : [
              verdict.outcome,
              verdict.minority.length > 0
                ? `minority ${verdict.minority.map((value) => `${value.node}=${value.rootHash}`).join(", ")}`
                : "",
              verdict.missing.length > 0 ? `missing ${verdict.missing.join(", ")}` : "",
              answer.cosignedSize === undefined ? "" : `cosigned up to ${answer.cosignedSize}`,
            ]
              .filter((part) => part !== "")
              .join("; ");
      lines.push(`  ${answer.witness}: ${answer.class}: ${detail}`);
    }
  }
  if (report.tables.length === 0) lines.push("no witness has a verdict for this cluster yet");
  for (const { witness, error } of report.unreachable)
    lines.push(`unreachable: ${witness}: ${error}`);
  return `${lines.join("\n")}\n`;
}

export function formatQuickVerifyJson(report: QuickVerifyReport): string {
  return `${JSON.stringify(report)}\n`;
}
