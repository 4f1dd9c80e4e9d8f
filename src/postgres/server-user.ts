// PostgreSQL's initdb and postgres refuse to run as root. When this process is root, a local
// server runs as an unprivileged system user of its own, created on first use.

import { execFile } from "node:child_process";
import { userInfo } from "node:os";
import { promisify } from "node:util";
import { PostgresError } from "./errors.js";

const run = promisify(execFile);

/** The OS user local servers run as when this process is root. Owns nothing else. */
export const SERVER_OS_USER = "witnz-pg";
const COMMAND_TIMEOUT_MS = 10_000;

export interface ServerIdentity {
  /** Present only when this process is root and must drop to the server user. */
  readonly uid?: number;
  readonly gid?: number;
}

async function lookUp(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      run("id", ["-u", name], { timeout: COMMAND_TIMEOUT_MS }),
      run("id", ["-g", name], { timeout: COMMAND_TIMEOUT_MS }),
    ]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

let identity: Promise<ServerIdentity> | undefined;

/**
 * The uid and gid a local server runs as: none (this process's own) unless this process is root,
 * in which case the system user `witnz-pg` (no home, no login shell), created when missing.
 */
export function serverIdentity(): Promise<ServerIdentity> {
  identity ??= resolveIdentity();
  return identity;
}

async function resolveIdentity(): Promise<ServerIdentity> {
  if (userInfo().uid !== 0) return {};
  const existing = await lookUp(SERVER_OS_USER);
  if (existing !== undefined) return existing;
  try {
    await run(
      "useradd",
      ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"].concat(
        SERVER_OS_USER,
      ),
      { timeout: COMMAND_TIMEOUT_MS },
    );
  } catch (error) {
    // Another process may have created it at the same moment; look again before failing.
    const raced = await lookUp(SERVER_OS_USER);
    if (raced !== undefined) return raced;
    throw new PostgresError(
      "WITNZ_POSTGRES_OS_USER",
      `running as root, and the unprivileged user ${SERVER_OS_USER} that PostgreSQL must run as ` +
        "could not be created with useradd; create it, or run as a user other than root",
      { cause: error },
    );
  }
  const created = await lookUp(SERVER_OS_USER);
  if (created === undefined) {
    throw new PostgresError(
      "WITNZ_POSTGRES_OS_USER",
      `user ${SERVER_OS_USER} vanished after useradd`,
    );
  }
  return created;
}
