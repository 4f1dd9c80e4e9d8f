// One process writes a data directory at a time. LMDB lets several processes open the same
// environment (witnz status and verify read it while the node runs), so two `witnz start`s on
// one directory would both run, each streaming and recording into the other's history. A node or
// witness therefore holds `witnz.pid` in its data directory while it runs: created exclusively
// with its process id and a random token, removed when it stops (only while it still holds that
// token). A file left by a process that no longer exists (a kill -9, a crash) is taken over; one
// naming this process is taken over only if this process does not hold the directory itself.
// Processes in different PID namespaces (containers sharing a volume) are not told apart.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { StoreError } from "./errors.js";

export const DIRECTORY_LOCK_FILE = "witnz.pid";

/** Lock files this process holds, by path. */
const held = new Set<string>();

export interface DirectoryLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

/** Takes `directory` for this process, or fails with WITNZ_STORE_IN_USE naming the holder. */
export async function lockDataDirectory(directory: string): Promise<DirectoryLock> {
  const path = resolve(directory, DIRECTORY_LOCK_FILE);
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    throw new StoreError("WITNZ_STORE_OPEN", `cannot create ${directory}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const token = randomBytes(16).toString("hex");
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      try {
        await handle.writeFile(`${process.pid} ${token}\n`);
      } finally {
        await handle.close();
      }
      held.add(path);
      return { path, release: () => releaseLock(path, token) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new StoreError("WITNZ_STORE_OPEN", `cannot create ${path}: ${messageOf(error)}`, {
          cause: error,
        });
      }
    }
    const holder = await lockHolder(path);
    // A process that is gone, or this one when it does not hold the directory (a node of this
    // process that ended without releasing it).
    const stale =
      holder !== undefined &&
      (holder.pid === process.pid ? !held.has(path) : !isRunning(holder.pid));
    if (attempt > 0 || !stale) {
      throw new StoreError(
        "WITNZ_STORE_IN_USE",
        holder === undefined
          ? `${directory} is in use: ${path} exists but names no process; remove it if no witnz process runs on this directory`
          : `${directory} is in use by process ${holder.pid} (${path}); stop it first, or remove the file if that process is not a witnz node`,
      );
    }
    // Removed only if it is still the file found stale.
    if ((await lockHolder(path))?.token === holder.token) await rm(path, { force: true });
  }
}

/**
 * Starts something that runs on `directory` while holding it: the lock is released when it
 * stops, or at once if it fails to start.
 */
export async function runHoldingDataDirectory<T extends { stop(): Promise<void> }>(
  directory: string,
  start: () => Promise<T>,
): Promise<T> {
  const lock = await lockDataDirectory(directory);
  let running: T;
  try {
    running = await start();
  } catch (error) {
    await lock.release();
    throw error;
  }
  return {
    ...running,
    stop: async () => {
      try {
        await running.stop();
      } finally {
        await lock.release();
      }
    },
  };
}

async function releaseLock(path: string, token: string): Promise<void> {
  held.delete(path);
  const holder = await lockHolder(path);
  // Left alone when it is no longer this hold's (removed by hand and taken since).
  if (holder?.token === token) await rm(path, { force: true });
}

async function lockHolder(path: string): Promise<{ pid: number; token: string } | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const [pidText = "", token = ""] = text.trim().split(" ");
  const pid = Number(pidText);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, token } : undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
