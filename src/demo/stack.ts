// Everything the demo runs on this machine: an embedded PostgreSQL with the two protected tables,
// the alert receiver, three raft nodes (`witnz start` processes in one Raft cluster, started
// with the lying-node fault available) and three witnesses. close() stops whatever was started.
import type pg from "pg";
import { loadConfig, type WitnzConfig } from "../config/index.js";
import { loadNodeKey } from "../keys/index.js";
import {
  type LocalNodeProcess,
  planLocalWitnesses,
  prepareLocalCluster,
  prepareLocalWitnesses,
} from "../local/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../postgres/index.js";
import { formatQuickVerifyText, type QuickVerifyReport, quickVerify } from "../witness/index.js";
import { AlertReceiver } from "./alerts.js";
import { sleep, waitForOrThrow } from "./wait.js";
import { createTables } from "./writer.js";

export const CLUSTER_ID = "demo";
const NODE_IDS = ["n1", "n2", "n3"] as const;
const WITNESS_IDS = ["w1", "w2", "w3"] as const;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export class DemoStack {
  server: TestPostgres | undefined;
  client: pg.Client | undefined;
  receiver: AlertReceiver | undefined;
  nodes: LocalNodeProcess[] = [];
  witnesses: LocalNodeProcess[] = [];
  #configs = new Map<string, WitnzConfig>();

  constructor(
    readonly directory: string,
    private readonly say: (line: string) => void,
  ) {}

  /** Starts everything, saying what it does; `port` is the first node's HTTP port (0: free). */
  async start(port: number, signal: AbortSignal): Promise<void> {
    const say = this.say;
    say("Starting an embedded PostgreSQL (wal_level=logical) ...");
    this.server = await startTestPostgres();
    this.client = await connectSession({ connectionString: this.server.connectionString });
    // The server stops on Ctrl-C too; the session's error then is expected, not a crash.
    this.client.on("error", () => undefined);
    await createTables(this.client);
    say(`   PostgreSQL on ${this.server.host}:${this.server.port}; append-only tables`);
    say("   public.audit_log and public.payments created");
    say(`   try your own tampering: psql "${this.server.connectionString}"`);
    this.receiver = await AlertReceiver.start(say);
    say(`   alert receiver (webhook) listening on ${this.receiver.url}`);

    say("Preparing 3 raft nodes and 3 witnesses (certificates, keys, witnz init for each node)");
    const webhook = { url: this.receiver.url };
    const plans = await planLocalWitnesses(WITNESS_IDS);
    const nodes = await prepareLocalCluster({
      directory: this.directory,
      database: this.server,
      clusterId: CLUSTER_ID,
      nodeIds: NODE_IDS,
      tables: [{ name: "public.audit_log" }, { name: "public.payments" }],
      webhook,
      witnesses: plans.map((plan) => ({ id: plan.id, address: plan.address })),
      ...(port === 0 ? {} : { httpPorts: { [NODE_IDS[0]!]: port } }),
    });
    this.nodes = nodes;
    this.witnesses = await prepareLocalWitnesses({
      directory: this.directory,
      clusterId: CLUSTER_ID,
      plans,
      nodes,
      hashCollectionTimeout: "10s",
      webhook,
    });
    for (const node of nodes) this.#configs.set(node.id, loadConfig(node.configPath).config);

    say("Starting the witnesses and the raft nodes (witnz start) ...");
    for (const witness of this.witnesses) witness.start();
    for (const node of nodes) node.start({ faults: true });
    for (const member of [...this.witnesses, ...nodes]) await this.waitReady(member, signal);
    for (const witness of this.witnesses) {
      say(`   witness ${witness.id}: ${witness.url}/ (dashboard; /healthz, /metrics)`);
    }
    for (const node of nodes) {
      say(`   raft node ${node.id}: ${node.url}/ (dashboard; /cluster, /healthz, /metrics)`);
    }
  }

  /** Waits until `process` answers GET /readyz with 200; an exit is an error with its log. */
  async waitReady(member: LocalNodeProcess, signal: AbortSignal): Promise<void> {
    await waitForOrThrow(
      async () => {
        if (!member.running) {
          throw new Error(`${member.id} exited: ${lastLines(member.stderr)}`);
        }
        return member.ready();
      },
      `${member.id} to be ready`,
      READY_TIMEOUT_MS,
      signal,
    );
  }

  config(node: LocalNodeProcess): WitnzConfig {
    return this.#configs.get(node.id)!;
  }

  /** `witnz verify --quick`, asked of every witness as a node's configuration lists them. */
  async quickVerify(): Promise<QuickVerifyReport> {
    const config = this.config(this.nodes[0]!);
    return quickVerify({
      customerId: CLUSTER_ID,
      querySigner: { nodeId: config.node.id, privateKey: await loadNodeKey(config.node) },
      witnesses: config.witnzNodes.map((witness) => ({
        id: witness.id,
        url: `http://${witness.address}`,
      })),
    });
  }

  static formatQuick(report: QuickVerifyReport): string[] {
    return formatQuickVerifyText(report).trimEnd().split("\n");
  }

  /** Stops every process (SIGTERM, SIGKILL after 10 s), the receiver, then PostgreSQL. */
  async close(): Promise<void> {
    await Promise.all([...this.nodes, ...this.witnesses].map(stopProcess));
    await this.client?.end().catch(() => undefined);
    await this.receiver?.close();
    await this.server?.stop();
  }
}

async function stopProcess(member: LocalNodeProcess): Promise<void> {
  if (!member.running) return;
  const stopped = member.stop("SIGTERM");
  const timeout = new AbortController();
  const late = sleep(STOP_TIMEOUT_MS, timeout.signal).then(
    () => true,
    () => false,
  );
  if (await Promise.race([stopped.then(() => false), late])) await member.stop("SIGKILL");
  timeout.abort();
  await stopped;
}

/** The first node on the HTTP port the user asked for (--port): its configuration rewritten. */
function lastLines(text: string): string {
  return text.trim().split("\n").slice(-3).join(" | ") || "(no output)";
}
