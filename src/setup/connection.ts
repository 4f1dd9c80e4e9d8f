// How a node opens its pinned session from the `database` section of its configuration.

import type pg from "pg";
import type { DatabaseConfig } from "../config/index.js";
import { connectSession, type PostgresConnectionOptions } from "../postgres/index.js";
import { SetupError } from "./errors.js";

/**
 * The session options for `database`. TLS goes through a connection string, the only way the
 * driver takes an sslmode: `require` encrypts without checking the certificate (as libpq does),
 * `verify-full` checks the certificate and the host name. `prefer` connects without TLS: the
 * driver cannot fall back from TLS to plain text the way libpq does, and a server without TLS
 * would otherwise be unreachable; use `require` or `verify-full` where TLS matters.
 */
export function sessionOptions(database: DatabaseConfig): PostgresConnectionOptions {
  const common = { applicationName: database.applicationName };
  if (database.sslmode === "require" || database.sslmode === "verify-full") {
    const user = encodeURIComponent(database.user);
    const password =
      database.password === undefined ? "" : `:${encodeURIComponent(database.password)}`;
    const host = database.host.includes(":") ? `[${database.host}]` : database.host;
    const mode =
      database.sslmode === "require"
        ? "uselibpqcompat=true&sslmode=require"
        : "sslmode=verify-full";
    return {
      ...common,
      connectionString: `postgresql://${user}${password}@${host}:${database.port}/${encodeURIComponent(database.database)}?${mode}`,
    };
  }
  return {
    ...common,
    host: database.host,
    port: database.port,
    user: database.user,
    database: database.database,
    ...(database.password === undefined ? {} : { password: database.password }),
  };
}

/** `host:port` as the error messages name the server. */
export function serverAddress(database: DatabaseConfig): string {
  const host = database.host.includes(":") ? `[${database.host}]` : database.host;
  return `${host}:${database.port}`;
}

/**
 * Opens the pinned session, or throws one line naming the server and the reason
 * (`WITNZ_SETUP_UNREACHABLE`).
 */
export async function openDatabaseSession(database: DatabaseConfig): Promise<pg.Client> {
  try {
    return await connectSession(sessionOptions(database));
  } catch (error) {
    const detail = describeFailure(error instanceof Error ? (error.cause ?? error) : error);
    throw new SetupError(
      "WITNZ_SETUP_UNREACHABLE",
      `cannot connect to PostgreSQL at ${serverAddress(database)} (database ${database.database}, user ${database.user}): ${oneLine(detail)}`,
      { cause: error },
    );
  }
}

/** The driver's reason; a refused dual-stack connect is an AggregateError with no message. */
function describeFailure(failure: unknown): string {
  if (failure instanceof AggregateError && failure.errors.length > 0) {
    return [...new Set(failure.errors.map(describeFailure))].join("; ");
  }
  if (failure instanceof Error) {
    const code = (failure as { code?: unknown }).code;
    if (failure.message !== "") return failure.message;
    return typeof code === "string" ? code : failure.name;
  }
  return String(failure);
}

function oneLine(text: string): string {
  return text.replaceAll(/\s*\n\s*/g, "; ");
}
