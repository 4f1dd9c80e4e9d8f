// The slot lag reader on a real PostgreSQL: bytes behind, and seconds behind from its samples of
// the server's position (0 when the slot confirmed every sampled position).
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { slotLagReader } from "../../src/dashboard/index.js";
import {
  connectSession,
  ensureReplicationSlot,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";

let server: TestPostgres;
let client: pg.Client;

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query("CREATE TABLE public.t (id int PRIMARY KEY)");
  await ensureReplicationSlot(client, "witnz_lag");
});

afterAll(async () => {
  await client?.end();
  await server?.stop();
});

test("seconds behind grow while the slot confirms nothing, and drop to 0 once it does", async () => {
  const lag = slotLagReader({
    openSession: () => connectSession({ connectionString: server.connectionString }),
    slotName: "witnz_lag",
  });
  try {
    expect(lag.secondsBehind()).toBeNull();
    await client.query("INSERT INTO public.t SELECT generate_series(1, 100)");
    expect(await lag.read()).toBeGreaterThan(0);
    expect(lag.secondsBehind()).toBe(0);
    await sleep(1200);
    await client.query("INSERT INTO public.t VALUES (101)");
    await lag.read();
    // The first sample's position is still unconfirmed: it was read over a second ago.
    expect(lag.secondsBehind()).toBeGreaterThanOrEqual(1.1);
    await client.query("SELECT pg_replication_slot_advance('witnz_lag', pg_current_wal_lsn())");
    expect(await lag.read()).toBe(0);
    expect(lag.secondsBehind()).toBe(0);
  } finally {
    await lag.close();
  }
});
