export type PostgresErrorCode =
  /** The unprivileged OS user for a local server could not be found or created. */
  | "WITNZ_POSTGRES_OS_USER"
  /** A local server could not be initialised or started; `message` carries its log tail. */
  | "WITNZ_POSTGRES_SERVER_START"
  /** A local server did not stop, or its files could not be removed. */
  | "WITNZ_POSTGRES_SERVER_STOP"
  /** A connection could not be opened or was refused. */
  | "WITNZ_POSTGRES_CONNECT"
  /** A session did not take a pinned setting (a pooler that drops startup options, a bad value). */
  | "WITNZ_POSTGRES_SETTINGS"
  /** The server lacks what capture needs: wal_level=logical, slots, WAL senders, privileges. */
  | "WITNZ_POSTGRES_SERVER_CONFIG"
  /** A statement failed. */
  | "WITNZ_POSTGRES_QUERY"
  /** The replication stream failed or ended. */
  | "WITNZ_POSTGRES_REPLICATION"
  /** A replication or pgoutput message does not have the layout the protocol promises. */
  | "WITNZ_POSTGRES_PROTOCOL"
  /** COPY data does not have the layout of the text format, or not the expected column count. */
  | "WITNZ_POSTGRES_COPY"
  /** A message, row, queue or wait exceeded its limit. */
  | "WITNZ_POSTGRES_LIMIT"
  /** An argument is malformed: a bad slot name, a backwards acknowledgement, an unpinned client. */
  | "WITNZ_POSTGRES_INVALID";

/** Every failure at the PostgreSQL edge; `message` says what failed, `cause` what it came from. */
export class PostgresError extends Error {
  readonly code: PostgresErrorCode;
  constructor(code: PostgresErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PostgresError";
    this.code = code;
  }
}

/** Throws a PostgresError with `code` when `condition` is false. */
export function postgresAssert(
  condition: boolean,
  code: PostgresErrorCode,
  message: () => string,
): asserts condition {
  if (!condition) throw new PostgresError(code, message());
}

/** Wraps anything thrown by the driver into a PostgresError, keeping PostgresErrors as they are. */
export function asPostgresError(
  error: unknown,
  code: PostgresErrorCode,
  context: string,
): PostgresError {
  if (error instanceof PostgresError) return error;
  let text = error instanceof Error ? error.message : String(error);
  // The server's DETAIL often says why (e.g. why a table cannot be published).
  const detail = (error as { detail?: unknown } | undefined)?.detail;
  if (typeof detail === "string" && detail !== "") text += ` (${detail})`;
  return new PostgresError(code, `${context}: ${text}`, { cause: error });
}
