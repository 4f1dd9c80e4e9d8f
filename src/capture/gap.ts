// Gaps in what a node observed: its slot went missing, or moved past what the node stored. The
// judgement is pure (what the store knows, what the slot says); the signed gap note is a
// C2SP signed note over the gap and over the heads it follows. docs/design/capture.md.
import type pg from "pg";
import { tableDisplayName } from "../catalog/index.js";
import { formatNote, type NoteSigner, signNoteText, tableOrigin } from "../checkpoint/index.js";
import { formatLsn, type Lsn } from "../postgres/index.js";

export type GapReason = "slot_missing" | "slot_advanced";

/** The slot cannot be judged yet: it exists but has no confirmed position (being created). */
export class CaptureSlotError extends Error {
  readonly code = "WITNZ_CAPTURE_SLOT";
}

/** A stretch of WAL the node did not observe: positions after `fromLsn` up to `toLsn`. */
export interface Gap {
  readonly reason: GapReason;
  readonly fromLsn: Lsn;
  readonly toLsn: Lsn;
}

/** What to do with the slot before streaming, given what the store knows. */
export type SlotJudgement =
  /** Stream; the slot is at or behind what the node knows (behind: replay skips the repeats). */
  | { readonly action: "stream" }
  /** Nothing was ever recorded: create the slot if missing and take its position as baseline. */
  | { readonly action: "baseline"; readonly createSlot: boolean }
  /** The slot is gone: recreate it, then record a gap up to the new slot's position. */
  | { readonly action: "recreate"; readonly fromLsn: Lsn }
  /** The slot moved past what the node stored: record the gap, then stream. */
  | { readonly action: "gap"; readonly gap: Gap };

/**
 * `knownLsn` is the highest position the node stored as recorded or confirmed (undefined when it
 * never stored one); `slotConfirmedLsn` the slot's confirmed_flush_lsn (undefined: no slot).
 */
export function judgeSlot(
  knownLsn: Lsn | undefined,
  slot: { readonly confirmedFlushLsn: Lsn | null } | undefined,
): SlotJudgement {
  if (knownLsn === undefined) return { action: "baseline", createSlot: slot === undefined };
  if (slot === undefined) return { action: "recreate", fromLsn: knownLsn };
  const confirmed = slot.confirmedFlushLsn;
  if (confirmed !== null && confirmed > knownLsn) {
    return { action: "gap", gap: { reason: "slot_advanced", fromLsn: knownLsn, toLsn: confirmed } };
  }
  return { action: "stream" };
}

export interface GapNoteFields {
  readonly clusterOrigin: string;
  readonly table: string;
  readonly gap: Gap;
  readonly detectedAtUnixMicroseconds: bigint;
  /** The table's chain head when the gap was found (size 0: empty chain). */
  readonly chainSize: number;
  readonly chainHash: Uint8Array;
  /** The table's violation log head before the gap entry (size 0: empty log). */
  readonly violationLogSize: number;
  readonly violationLogHash: Uint8Array;
}

/** The text of a gap note: origin line, then one `witnz-` field a line. */
export function gapNoteText(fields: GapNoteFields): string {
  const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  return [
    `${tableOrigin(fields.clusterOrigin, fields.table)}/gap`,
    `witnz-gap ${fields.gap.reason}`,
    `witnz-gap-from ${formatLsn(fields.gap.fromLsn)}`,
    `witnz-gap-to ${formatLsn(fields.gap.toLsn)}`,
    `witnz-table ${JSON.stringify(fields.table)}`,
    `witnz-chain ${fields.chainSize} ${base64(fields.chainHash)}`,
    `witnz-violations ${fields.violationLogSize} ${base64(fields.violationLogHash)}`,
    `witnz-time-us ${fields.detectedAtUnixMicroseconds}`,
    "",
  ].join("\n");
}

/** The gap note signed with the node's key, as signed-note text. */
export function signGapNote(fields: GapNoteFields, signer: NoteSigner): string {
  const text = gapNoteText(fields);
  return formatNote({ text, signatures: [signNoteText(text, signer)] });
}

/** Protected tables named at most once; more would be a configuration this node refuses. */
export const PROTECTED_TABLES_MAX = 1024;

/**
 * Display names (`public.audit_log`, `"Billing"."Ledger Lines"`) of configured table names,
 * parsed the way PostgreSQL parses them; an unqualified name lives in `public`.
 */
export async function displayTableNames(
  client: pg.Client,
  names: readonly string[],
): Promise<string[]> {
  if (names.length > PROTECTED_TABLES_MAX) {
    throw new Error(`${names.length} protected tables; at most ${PROTECTED_TABLES_MAX}`);
  }
  if (names.length === 0) return [];
  const result = await client.query<{ parts: string[] }>(
    "SELECT pg_catalog.parse_ident(name) AS parts FROM unnest($1::text[]) WITH ORDINALITY AS t(name, n) ORDER BY n",
    [names],
  );
  return result.rows.map(({ parts }) => {
    if (parts.length === 1) return tableDisplayName("public", parts[0]!);
    if (parts.length === 2) return tableDisplayName(parts[0]!, parts[1]!);
    throw new Error(`${JSON.stringify(parts.join("."))} is not table or schema.table`);
  });
}
