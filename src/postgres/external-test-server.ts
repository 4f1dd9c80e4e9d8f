// WITNZ_TEST_DATABASE_URL: tests run against an external server. Instead of starting one, take a
// scratch database on it with the asked defaults, and drop exactly that on stop().

import { randomBytes } from "node:crypto";
import { type AdminTarget, connectionUrl, quoteLiteral, runAsAdmin } from "./admin-session.js";
import { asPostgresError, PostgresError } from "./errors.js";
import { quoteIdentifier } from "./identifiers.js";
import type { TestPostgres } from "./test-server.js";

export const EXTERNAL_DATABASE_URL_VARIABLE = "WITNZ_TEST_DATABASE_URL";

export async function openExternal(
  url: string,
  settings: Record<string, string>,
  startedAt: number,
): Promise<TestPostgres> {
  const parsed = new URL(url);
  const target: AdminTarget = {
    host: parsed.hostname,
    port: parsed.port === "" ? 5432 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)) || "postgres",
  };
  // A scratch database per call keeps tables and publications of parallel test files apart;
  // slot names are server-wide, so tests still name their slots uniquely.
  const scratch = `witnz_test_${randomBytes(6).toString("hex")}`;
  try {
    await runAsAdmin(target, async (client) => {
      const walLevel = await client.query<{ wal_level: string }>("SHOW wal_level");
      if (walLevel.rows[0]?.wal_level !== "logical") {
        throw new PostgresError(
          "WITNZ_POSTGRES_SERVER_CONFIG",
          `${EXTERNAL_DATABASE_URL_VARIABLE} names a server with wal_level=` +
            `${walLevel.rows[0]?.wal_level}; logical replication needs wal_level=logical`,
        );
      }
      await client.query(`CREATE DATABASE ${quoteIdentifier(scratch)}`);
      // Database-level defaults: a new session, the WAL sender included, starts with them.
      for (const [name, value] of Object.entries(settings)) {
        await client.query(
          `ALTER DATABASE ${quoteIdentifier(scratch)} SET ${quoteIdentifier(name)} = ${quoteLiteral(value)}`,
        );
      }
    });
  } catch (error) {
    throw asPostgresError(
      error,
      "WITNZ_POSTGRES_CONNECT",
      `preparing ${EXTERNAL_DATABASE_URL_VARIABLE}`,
    );
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= runAsAdmin(target, async (client) => {
      await client.query(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots " +
          "WHERE database = $1 AND active_pid IS NOT NULL",
        [scratch],
      );
      await client.query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
        [scratch],
      );
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(scratch)} WITH (FORCE)`);
    }).catch((error) => {
      throw asPostgresError(error, "WITNZ_POSTGRES_SERVER_STOP", `dropping ${scratch}`);
    });
    return stopped;
  };
  return {
    connectionString: connectionUrl(
      target.host,
      target.port,
      target.user,
      target.password,
      scratch,
    ),
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: scratch,
    embedded: false,
    dataDirectory: undefined,
    serverProcessId: undefined,
    startupMs: Math.round(performance.now() - startedAt),
    restart: async () => {
      throw new PostgresError("WITNZ_POSTGRES_INVALID", "an external server cannot be restarted");
    },
    stop,
  };
}
