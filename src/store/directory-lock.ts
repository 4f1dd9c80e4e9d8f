// One process writes a data directory at a time. LMDB lets several processes open the same
// environment (witnz status and verify read it while the node runs), so two `witnz start`s on
// one directory would both run, each streaming and recording into the other's history. A node or
// witness therefore holds `witnz.pid` in its data directory while it runs: created exclusively
// with its process id, removed when it stops. A file left by a process that no longer exists (a
// kill -9, a crash) is taken over.
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "./errors.js";

export const DIRECTORY_LOCK_FILE = "witnz.pid";

export interface DirectoryLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

/** Takes `directory` for this process, or fails with WITNZ_STORE_IN_USE naming the holder. */
export async function lockDataDirectory(directory: string): Promise<DirectoryLock> {
  const path = join(directory, DIRECTORY_LOCK_FILE);
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    throw new StoreError("WITNZ_STORE_OPEN", `cannot create ${directory}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return { path, release: () => releaseLock(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new StoreError("WITNZ_STORE_OPEN", `cannot create ${path}: ${messageOf(error)}`, {
          cause: error,
        });
      }
    }
    const holder = await lockHolder(path);
    // This process (a node stopped without releasing it) or a process that is gone.
    const stale = holder === process.pid || (holder !== undefined && !isRunning(holder));
    if (attempt > 0 || !stale) {
      throw new StoreError(
        "WITNZ_STORE_IN_USE",
        holder === undefined
          ? `${directory} is in use: ${path} exists but names no process; remove it if no witnz process runs on this directory`
          : `${directory} is in use by process ${holder} (${path}); stop it first, or remove the file if that process is not a witnz node`,
      );
    }
    // Removed only if it still names the holder found gone.
    if ((await lockHolder(path)) === holder) await rm(path, { force: true });
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

async function releaseLock(path: string): Promise<void> {
  if ((await lockHolder(path)) === process.pid) await rm(path, { force: true });
}

async function lockHolder(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
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
