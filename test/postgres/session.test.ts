import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  connectSession,
  PINNED_SETTINGS,
  pinnedStartupOptions,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";
import { connectReplicationSession } from "../../src/postgres/session.js";

const DIFFERENT_DEFAULTS = {
  TimeZone: "America/New_York",
  DateStyle: "SQL, DMY",
  IntervalStyle: "sql_standard",
  extra_float_digits: "0",
  bytea_output: "escape",
};

describe("pinned sessions", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres({ settings: DIFFERENT_DEFAULTS });
    const admin = new pg.Client({ connectionString: server.connectionString });
    await admin.connect();
    // Database and role defaults outrank the server's; the startup packet must outrank them all.
    await admin.query(`ALTER DATABASE ${server.database} SET TimeZone = 'Asia/Kolkata'`);
    await admin.query(`ALTER ROLE ${server.user} SET IntervalStyle = 'iso_8601'`);
    await admin.end();
  });
  afterAll(() => server?.stop());

  test("the startup options escape spaces", () => {
    expect(pinnedStartupOptions()).toContain("-c DateStyle=ISO,\\ MDY");
  });

  test("an ordinary session sees the database's defaults, a pinned one ours", async () => {
    const plain = new pg.Client({ connectionString: server.connectionString });
    await plain.connect();
    const plainZone = await plain.query("SHOW TimeZone");
    expect(plainZone.rows[0].TimeZone).toBe("Asia/Kolkata");
    await plain.end();

    const pinned = await connectSession(server);
    for (const [name, value] of PINNED_SETTINGS) {
      const result = await pinned.query({ text: `SHOW ${name}`, rowMode: "array" });
      expect([name, result.rows[0]?.[0]]).toEqual([name, value]);
    }
    const sample = await pinned.query(
      "SELECT '2026-11-23 10:00:00.5+01'::timestamptz::text AS at, '1 day 2 hours'::interval::text AS span",
    );
    expect(sample.rows[0]).toEqual({ at: "2026-11-23 09:00:00.5+00", span: "1 day 02:00:00" });
    await pinned.end();
  });

  test("the WAL sender session takes the same settings", async () => {
    const replication = await connectReplicationSession(server);
    const zone = await replication.query({ text: "SHOW TimeZone", rowMode: "array" });
    expect(zone.rows[0]?.[0]).toBe("UTC");
    await replication.end();
  });
});
