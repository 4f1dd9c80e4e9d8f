// A server outlives the process that started it when that process is killed with SIGKILL: no
// exit handler runs, and PostgreSQL does not watch its parent. A small detached process watches
// the owner instead, and on its death shuts the server down and removes its directory.

import { spawn } from "node:child_process";

const WATCH_INTERVAL_MS = 250;
const SHUTDOWN_GRACE_MS = 5_000;

// Plain JavaScript run by `node -e`; arguments: owner pid, server pid, directory to remove.
const WATCHDOG_SOURCE = `
const { rmSync } = require("node:fs");
const [owner, server, directory] = process.argv.slice(1);
const alive = (pid) => {
  try { process.kill(Number(pid), 0); return true; } catch (error) { return error.code === "EPERM"; }
};
const watch = setInterval(() => {
  if (!alive(server)) { clearInterval(watch); return; }
  if (alive(owner)) return;
  clearInterval(watch);
  try { process.kill(Number(server), "SIGQUIT"); } catch {}
  const deadline = Date.now() + ${SHUTDOWN_GRACE_MS};
  const finish = setInterval(() => {
    if (alive(server) && Date.now() < deadline) return;
    clearInterval(finish);
    try { process.kill(Number(server), "SIGKILL"); } catch {}
    rmSync(directory, { recursive: true, force: true, maxRetries: 5 });
  }, 50);
}, ${WATCH_INTERVAL_MS});
`;

export interface OrphanWatchdog {
  /** Stops watching: the owner stopped the server itself. */
  end(): void;
}

export function startOrphanWatchdog(
  ownerProcessId: number,
  serverProcessId: number | undefined,
  directory: string,
): OrphanWatchdog {
  if (serverProcessId === undefined) return { end: () => {} };
  const watchdog = spawn(
    process.execPath,
    ["-e", WATCHDOG_SOURCE, String(ownerProcessId), String(serverProcessId), directory],
    { detached: true, stdio: "ignore" },
  );
  watchdog.on("error", () => {
    // Without a watchdog the exit hook and stop() still stop the server; nothing to report.
  });
  watchdog.unref();
  return {
    end: () => {
      if (watchdog.exitCode === null) watchdog.kill("SIGTERM");
    },
  };
}
