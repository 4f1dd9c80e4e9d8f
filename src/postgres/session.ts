// Sessions whose text output is pinned. pgoutput renders each value with the type's output
// function inside the WAL sender process, under that session's settings; COPY renders with the
// verifying session's settings. Both sessions get the same settings in their startup packet, so
// the same row always yields the same text. Why each value: docs/design/postgres.md.

import pg from "pg";
import { asPostgresError, PostgresError } from "./errors.js";

/**
 * Every setting that changes what an output function prints, with the value both sessions use.
 * Startup-packet values outrank postgresql.conf, ALTER SYSTEM, ALTER DATABASE and ALTER ROLE.
 */
export const PINNED_SETTINGS: ReadonlyArray<readonly [name: string, value: string]> = [
  // timestamptz (and arrays and ranges of it) print in the session time zone.
  ["TimeZone", "UTC"],
  // date, timestamp, timestamptz: ISO field order, what pg_dump and the subscriber use.
  ["DateStyle", "ISO, MDY"],
  // interval: the default style, what pg_dump and the subscriber use.
  ["IntervalStyle", "postgres"],
  // float4, float8 and geometric types: any value > 0 prints the shortest exact form; 3 is what
  // pg_dump and PostgreSQL's own subscriber send.
  ["extra_float_digits", "3"],
  // bytea: \x followed by hex, one form for every byte value.
  ["bytea_output", "hex"],
  // money prints with the locale's currency symbol and separators.
  ["lc_monetary", "C"],
  // regclass, regtype, regproc... print schema-qualified unless the schema is on the path.
  ["search_path", "pg_catalog"],
  // text values arrive in UTF-8 whatever the client library would ask for.
  ["client_encoding", "UTF8"],
  // Only input is affected (how our statements' literals parse); pinned so it is never a question.
  ["standard_conforming_strings", "on"],
];

/** The startup `options` parameter: `-c TimeZone=UTC -c DateStyle=ISO,\ MDY ...`. */
export function pinnedStartupOptions(): string {
  return PINNED_SETTINGS.map(([name, value]) => `-c ${name}=${escapeOptionValue(value)}`).join(" ");
}

/** The server splits `options` at unescaped whitespace; a backslash escapes the next character. */
function escapeOptionValue(value: string): string {
  return value.replaceAll(/[\\\s]/g, (character) => `\\${character}`);
}

export interface PostgresConnectionOptions {
  /** `postgresql://user:password@host:port/database`; its parts may also be given one by one. */
  readonly connectionString?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /** Shown in pg_stat_activity and, for the replication session, pg_stat_replication. */
  readonly applicationName?: string;
  readonly connectTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_APPLICATION_NAME = "witnz";

/** Clients opened by connectSession; copyTableText refuses any other. */
const pinnedClients = new WeakSet<pg.Client>();

export function isPinnedSession(client: pg.Client): boolean {
  return pinnedClients.has(client);
}

export function clientConfig(
  options: PostgresConnectionOptions,
  replication: boolean,
): pg.ClientConfig & { replication?: string } {
  const config: pg.ClientConfig & { replication?: string } = {
    options: pinnedStartupOptions(),
    application_name: options.applicationName ?? DEFAULT_APPLICATION_NAME,
    connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
  };
  if (options.connectionString !== undefined) config.connectionString = options.connectionString;
  if (options.host !== undefined) config.host = options.host;
  if (options.port !== undefined) config.port = options.port;
  if (options.user !== undefined) config.user = options.user;
  if (options.password !== undefined) config.password = options.password;
  if (options.database !== undefined) config.database = options.database;
  // A logical WAL sender bound to the database: it decodes that database's changes and also
  // answers SHOW, which is how the pinned settings are checked on it.
  if (replication) config.replication = "database";
  return config;
}

/**
 * Opens a session for verification and setup (COPY, catalog queries) with every output setting
 * pinned, and checks that the server took each one.
 */
export async function connectSession(options: PostgresConnectionOptions): Promise<pg.Client> {
  const client = await openClient(options, false);
  pinnedClients.add(client);
  return client;
}

/** Opens a logical replication session (a WAL sender) with the same pinned settings. */
export async function connectReplicationSession(
  options: PostgresConnectionOptions,
): Promise<pg.Client> {
  return openClient(options, true);
}

async function openClient(options: PostgresConnectionOptions, replication: boolean) {
  const client = new pg.Client(clientConfig(options, replication));
  // An error on an idle client surfaces on its next use; without a listener it would crash the
  // process. The replication stream replaces this listener with its own.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw asPostgresError(error, "WITNZ_POSTGRES_CONNECT", "connecting to PostgreSQL");
  }
  try {
    await checkPinnedSettings(client);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

/**
 * Reads every pinned setting back with SHOW (which a WAL sender answers too) and throws when one
 * differs, e.g. behind a connection pooler that drops startup options.
 */
export async function checkPinnedSettings(client: pg.Client): Promise<void> {
  for (const [name, value] of PINNED_SETTINGS) {
    let shown: unknown;
    try {
      const result = await client.query({ text: `SHOW ${name}`, rowMode: "array" });
      shown = (result.rows[0] as unknown[] | undefined)?.[0];
    } catch (error) {
      throw asPostgresError(error, "WITNZ_POSTGRES_SETTINGS", `reading setting ${name}`);
    }
    // Each value above is written the way SHOW prints it, so equality is the whole check.
    if (shown !== value) {
      throw new PostgresError(
        "WITNZ_POSTGRES_SETTINGS",
        `the session did not take ${name}=${value} (it shows ${JSON.stringify(shown)}); a ` +
          "connection pooler may be dropping startup options, connect to the server directly",
      );
    }
  }
}
