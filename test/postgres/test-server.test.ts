import { execFileSync, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import pg from "pg";
import { describe, expect, test } from "vitest";
import { SERVER_OS_USER, startTestPostgres } from "../../src/postgres/index.js";

const external = Boolean(process.env.WITNZ_TEST_DATABASE_URL);

function alive(processId: number): boolean {
  try {
    process.kill(processId, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe.skipIf(external)("startTestPostgres (embedded)", () => {
  test("starts a logical-replication server, runs it unprivileged, and removes it on stop", async () => {
    const server = await startTestPostgres({ timeZone: "America/New_York", dateStyle: "SQL, DMY" });
    console.log(`embedded PostgreSQL ready in ${server.startupMs} ms on port ${server.port}`);
    const processId = server.serverProcessId!;
    const dataDirectory = server.dataDirectory!;
    try {
      const client = new pg.Client({ connectionString: server.connectionString });
      await client.connect();
      const settings = await client.query<{ name: string; setting: string }>(
        "SELECT name, setting FROM pg_settings WHERE name = ANY($1) ORDER BY name",
        [["wal_level", "max_replication_slots", "max_wal_senders", "TimeZone", "DateStyle"]],
      );
      const user = await client.query<{ usesuper: boolean }>(
        "SELECT usesuper FROM pg_user WHERE usename = current_user",
      );
      await client.end();
      const byName = Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
      expect(byName.wal_level).toBe("logical");
      expect(Number(byName.max_replication_slots)).toBeGreaterThanOrEqual(10);
      expect(Number(byName.max_wal_senders)).toBeGreaterThanOrEqual(10);
      expect(byName.TimeZone).toBe("America/New_York");
      expect(byName.DateStyle).toBe("SQL, DMY");
      expect(user.rows[0]?.usesuper).toBe(true);
      expect(server.host).toBe("127.0.0.1");
      if (userInfo().uid === 0) {
        const owner = statSync(dataDirectory).uid;
        const expected = Number(execFileSync("id", ["-u", SERVER_OS_USER]).toString());
        expect(owner).toBe(expected);
        expect(statSync(`/proc/${processId}`).uid).toBe(expected);
      }
    } finally {
      const stopStartedAt = performance.now();
      await server.stop();
      console.log(`stopped and removed in ${Math.round(performance.now() - stopStartedAt)} ms`);
    }
    expect(alive(processId)).toBe(false);
    expect(existsSync(dataDirectory)).toBe(false);
    await server.stop(); // idempotent
  });

  test("restart keeps the data and the port", async () => {
    const server = await startTestPostgres();
    try {
      const client = new pg.Client({ connectionString: server.connectionString });
      await client.connect();
      await client.query("CREATE TABLE kept (id int)");
      await client.end().catch(() => {});
      const before = server.serverProcessId;
      await server.restart("immediate");
      expect(server.serverProcessId).not.toBe(before);
      const again = new pg.Client({ connectionString: server.connectionString });
      await again.connect();
      const result = await again.query("SELECT count(*)::int AS n FROM kept");
      expect(result.rows[0].n).toBe(0);
      await again.end();
    } finally {
      await server.stop();
    }
  });

  test("a server whose owner is killed with SIGKILL is shut down and removed by the watchdog", async () => {
    const owner = spawn("sleep", ["300"], { stdio: "ignore" });
    const server = await startTestPostgres({ ownerProcessId: owner.pid! });
    const processId = server.serverProcessId!;
    const directory = server.dataDirectory!;
    try {
      expect(alive(processId)).toBe(true);
      owner.kill("SIGKILL");
      expect(await waitFor(() => !existsSync(directory), 15_000)).toBe(true);
      expect(await waitFor(() => !alive(processId), 5_000)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  test("WITNZ_TEST_DATABASE_URL: a scratch database with the asked defaults, dropped on stop", async () => {
    const host = await startTestPostgres();
    process.env.WITNZ_TEST_DATABASE_URL = host.connectionString;
    try {
      const scratch = await startTestPostgres({ timeZone: "Asia/Tokyo" });
      expect(scratch.embedded).toBe(false);
      expect(scratch.port).toBe(host.port);
      expect(scratch.database).toMatch(/^witnz_test_[0-9a-f]{12}$/);
      const client = new pg.Client({ connectionString: scratch.connectionString });
      await client.connect();
      expect((await client.query("SHOW TimeZone")).rows[0]?.TimeZone).toBe("Asia/Tokyo");
      await client.query("SELECT pg_create_logical_replication_slot('witnz_scratch', 'pgoutput')");
      await client.end();
      await scratch.stop();
      const admin = new pg.Client({ connectionString: host.connectionString });
      await admin.connect();
      const left = await admin.query(
        "SELECT (SELECT count(*) FROM pg_database WHERE datname = $1)::int AS databases, " +
          "(SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'witnz_scratch')::int AS slots",
        [scratch.database],
      );
      await admin.end();
      expect(left.rows[0]).toEqual({ databases: 0, slots: 0 });
    } finally {
      delete process.env.WITNZ_TEST_DATABASE_URL;
      await host.stop();
    }
  });
});
