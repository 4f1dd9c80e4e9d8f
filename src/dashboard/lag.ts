// How far a node is behind PostgreSQL, for the sampler: pg_current_wal_lsn() minus the
// confirmed position of the node's slot, read over one session kept open and reopened after a
// failure.

import type pg from "pg";
import { parseLsn, readReplicationSlot } from "../postgres/index.js";

export interface SlotLagReader {
  /** WAL bytes behind; null when the slot is missing or has confirmed nothing. Throws when the
   *  database cannot be asked (the sampler records null). */
  read(): Promise<number | null>;
  /**
   * Seconds behind as of the last successful read: how long ago the server was at the oldest
   * sampled position the slot has not confirmed (0 when it confirmed every sampled position);
   * null before a read succeeded.
   */
  secondsBehind(): number | null;
  close(): Promise<void>;
}

/** Server positions kept while the slot is behind them: one per read. */
const BEHIND_SAMPLES_MAX = 10_000;

export function slotLagReader(options: {
  readonly openSession: () => Promise<pg.Client>;
  readonly slotName: string;
}): SlotLagReader {
  let session: pg.Client | undefined;
  // Server positions sampled and not yet confirmed, oldest first, with when they were read.
  const behind: { atMs: number; lsn: bigint }[] = [];
  let seconds: number | null = null;
  return {
    async read() {
      session ??= await options.openSession();
      try {
        const current = await session.query<{ lsn: string }>(
          "SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn",
        );
        const slot = await readReplicationSlot(session, options.slotName);
        const confirmed = slot?.confirmedFlushLsn ?? null;
        if (confirmed === null) return null;
        const position = parseLsn(current.rows[0]!.lsn);
        const now = Date.now();
        if (behind.length < BEHIND_SAMPLES_MAX) behind.push({ atMs: now, lsn: position });
        while (behind.length > 0 && behind[0]!.lsn <= confirmed) behind.shift();
        seconds = behind.length === 0 ? 0 : (now - behind[0]!.atMs) / 1000;
        return Number(position > confirmed ? position - confirmed : 0n);
      } catch (error) {
        const broken = session;
        session = undefined;
        await broken.end().catch(() => {});
        throw error;
      }
    },
    secondsBehind() {
      return seconds;
    },
    async close() {
      const open = session;
      session = undefined;
      await open?.end();
    },
  };
}
