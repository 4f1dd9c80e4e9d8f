// `witnz demo`: the system on one machine, step by step. Today: an embedded PostgreSQL, one
// capturing node as a real process, a writer, a local alert receiver, and scripted tampering that
// the node alerts on and verification pinpoints. Raft peers and witnesses join when they land.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { loadConfig } from "../config/index.js";
import { freePort, localNodeConfigYaml } from "../local/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../postgres/index.js";
import { initNode } from "../setup/index.js";
import { formatVerificationText, verifyNode } from "../verify/index.js";

export interface DemoOptions {
  /** How long the writer runs, in milliseconds; the scripted steps fit inside it. */
  readonly durationMs: number;
  readonly tamper: boolean;
  /** The node's HTTP port (health, readiness, metrics); 0 picks a free one. */
  readonly port: number;
  readonly keep: boolean;
  readonly out: (line: string) => void;
  /** Resolves when the user asks to stop (Ctrl-C). */
  readonly interrupted: Promise<void>;
}

export interface DemoSummary {
  readonly rowsWritten: number;
  readonly alerts: ReadonlyArray<{ kind: string; op?: string; table?: string; pk?: unknown }>;
  readonly tamperingFound: boolean;
  readonly dataDirectory: string | undefined;
}

const BIN = fileURLToPath(new URL("../cli/bin.js", import.meta.url));
const WRITE_INTERVAL_MS = 100;
const READY_TIMEOUT_MS = 30_000;

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const say = options.out;
  const directory = await mkdtemp(join(tmpdir(), "witnz-demo-"));
  const alerts: Array<{ kind: string; op?: string; table?: string; pk?: unknown }> = [];
  let server: TestPostgres | undefined;
  let client: pg.Client | undefined;
  let receiver: Server | undefined;
  let node: ChildProcess | undefined;
  let stopped = false;
  void options.interrupted.then(() => {
    stopped = true;
  });
  let rowsWritten = 0;
  let tamperingFound = false;
  try {
    say("1. Starting an embedded PostgreSQL (wal_level=logical) ...");
    server = await startTestPostgres();
    say(`   PostgreSQL ${server.host}:${server.port}, database ${server.database}`);
    client = await connectSession({ connectionString: server.connectionString });
    await client.query(`CREATE TABLE public.audit_log (
        id bigserial PRIMARY KEY, actor text NOT NULL, action text NOT NULL,
        at timestamptz NOT NULL DEFAULT now())`);
    await client.query(`CREATE TABLE public.payments (
        id bigserial PRIMARY KEY, account text NOT NULL, amount numeric(12,2) NOT NULL,
        at timestamptz NOT NULL DEFAULT now())`);
    say("   created append-only tables public.audit_log and public.payments");

    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        response.writeHead(204).end();
        const body = JSON.parse(
          Buffer.concat(chunks).toString("utf8"),
        ) as DemoSummary["alerts"][number] & {
          message: string;
        };
        alerts.push(body);
        say(`   >> ALERT ${body.kind}: ${body.message}`);
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, "127.0.0.1", resolve));
    const receiverPort = (receiver.address() as AddressInfo).port;

    const configPath = join(directory, "node1.yaml");
    await writeFile(
      configPath,
      localNodeConfigYaml({
        database: server,
        nodeId: "node1",
        dataDir: join(directory, "node1"),
        httpPort: options.port === 0 ? await freePort() : options.port,
        tables: [{ name: "audit_log" }, { name: "payments" }],
        webhook: { url: `http://127.0.0.1:${receiverPort}/alerts` },
      }),
    );
    const { config } = loadConfig(configPath);

    say("2. witnz init: checking PostgreSQL, creating the publication and the node's slot");
    const init = await initNode(config, { out: (line) => say(`   ${line}`) });
    if (!init.ok) throw new Error("witnz init failed");

    say("3. witnz start: the node streams its own slot and hashes every row");
    const startNode = async (): Promise<{ child: ChildProcess; url: string }> => {
      const child = spawn(process.execPath, [BIN, "start", "--config", configPath], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let url = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        const match = /health at (\S+)\/healthz/.exec(chunk.toString("utf8"));
        if (match) url = match[1]!;
      });
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        if (url !== "") {
          const ready = await fetch(`${url}/readyz`).then(
            (r) => r.status === 200,
            () => false,
          );
          if (ready) return { child, url };
        }
        if (child.exitCode !== null) throw new Error(`the node exited with code ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error("the node did not become ready");
        await sleep(100);
      }
    };
    let started = await startNode();
    node = started.child;
    say(`   node1 ready: ${started.url}/healthz, ${started.url}/metrics`);

    say("4. A writer inserts into both tables every 100 ms");
    const deadline = Date.now() + options.durationMs;
    const writer = (async () => {
      while (!stopped && Date.now() < deadline) {
        rowsWritten += 2;
        await client!.query("INSERT INTO public.audit_log (actor, action) VALUES ($1, 'login')", [
          `user-${rowsWritten % 17}`,
        ]);
        await client!.query("INSERT INTO public.payments (account, amount) VALUES ($1, $2)", [
          `acct-${rowsWritten % 5}`,
          (rowsWritten * 3.25).toFixed(2),
        ]);
        await sleep(WRITE_INTERVAL_MS);
      }
    })();

    const waitAlert = async (predicate: (alert: DemoSummary["alerts"][number]) => boolean) => {
      const until = Date.now() + 10_000;
      while (!alerts.some(predicate) && Date.now() < until && !stopped) await sleep(50);
    };

    if (options.tamper) {
      await sleep(Math.min(3000, options.durationMs / 4));
      if (!stopped) {
        say("5. Tampering: UPDATE public.payments SET amount = 0 WHERE id = 3");
        await client.query("UPDATE public.payments SET amount = 0 WHERE id = 3");
        await waitAlert((alert) => alert.op === "UPDATE");
        say("6. Tampering: DELETE FROM public.audit_log WHERE id = 2");
        await client.query("DELETE FROM public.audit_log WHERE id = 2");
        await waitAlert((alert) => alert.op === "DELETE");
      }
      if (!stopped) {
        say("7. Offline tampering: node1 is stopped, a row is changed, node1 comes back");
        node.kill("SIGTERM");
        await new Promise((resolve) => node!.once("exit", resolve));
        await client.query("UPDATE public.audit_log SET actor = 'nobody' WHERE id = 5");
        say("   UPDATE public.audit_log SET actor = 'nobody' WHERE id = 5  (while node1 was down)");
        started = await startNode();
        node = started.child;
        await waitAlert((alert) => alert.op === "UPDATE" && alert.table === "public.audit_log");
      }
    }
    await writer;
    await sleep(500);

    say(
      "8. witnz verify: every row re-hashed from a COPY of the table and compared by primary key",
    );
    const verification = await verifyNode(config);
    for (const line of formatVerificationText(verification).trimEnd().split("\n"))
      say(`   ${line}`);
    tamperingFound = verification.tables.some((table) => !table.ok);
    return {
      rowsWritten,
      alerts,
      tamperingFound,
      dataDirectory: options.keep ? directory : undefined,
    };
  } finally {
    if (node !== undefined && node.exitCode === null) {
      node.kill("SIGTERM");
      await new Promise((resolve) => node!.once("exit", resolve));
    }
    await client?.end().catch(() => undefined);
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
    await server?.stop();
    if (options.keep) say(`   kept the node's configuration and store in ${directory}`);
    else await rm(directory, { recursive: true, force: true });
  }
}
