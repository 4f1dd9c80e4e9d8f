// How far a node is behind PostgreSQL, for the sampler: pg_current_wal_lsn() minus the
// confirmed position of the node's slot, read over one session kept open and reopened after a
// failure.

import type pg from "pg";
import { parseLsn, readReplicationSlot } from "../postgres/index.js";

export interface SlotLagReader {
  /** WAL bytes behind; null when the slot is missing or has confirmed nothing. Throws when the
   *  database cannot be asked (the sampler records null). */
  read(): Promise<number | null>;
  close(): Promise<void>;
}

export function slotLagReader(options: {
  readonly openSession: () => Promise<pg.Client>;
  readonly slotName: string;
}): SlotLagReader {
  let session: pg.Client | undefined;
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
        return Number(position > confirmed ? position - confirmed : 0n);
      } catch (error) {
        const broken = session;
        session = undefined;
        await broken.end().catch(() => {});
        throw error;
      }
    },
    async close() {
      const open = session;
      session = undefined;
      await open?.end();
    },
  };
}
