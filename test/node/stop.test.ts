// Stopping and starting a node: stopped while a large UPDATE's violations are still queued, it
// stops without working through the queue (what it had not made durable was never
// acknowledged), and the next start records the rest, each violation exactly once; started on a
// publication that lacks a protected table, it does not stream, and says why, until init has put
// the table back.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { WitnzConfig } from "../../src/config/index.js";
import { decodePrimaryKey } from "../../src/hash/index.js";
import { type RunningNode, startNode } from "../../src/node/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import { openStore, type WitnzStore } from "../../src/store/index.js";
import { witnz } from "../verify/helpers.js";
import { freePort, nodeConfig, nodeConfigYaml, recordingLogger, until } from "./helpers.js";

const TABLE = "public.ledger";
const ROWS = 10_000;

let server: TestPostgres;
let client: pg.Client;
let directory: string;
let config: WitnzConfig;
let configPath: string;
let node: RunningNode | undefined;

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query("CREATE TABLE public.ledger (id int PRIMARY KEY, amount int NOT NULL)");
  directory = await mkdtemp(join(tmpdir(), "witnz-stop-"));
  const options = {
    server,
    nodeId: "stopper",
    dataDir: join(directory, "data"),
    httpPort: await freePort(),
    tables: [{ name: "ledger" }],
  };
  config = nodeConfig(options);
  configPath = join(directory, "node.yaml");
  await writeFile(configPath, nodeConfigYaml(options));
  const init = await initNode(config);
  expect(init.checks.filter((check) => check.status === "fail")).toEqual([]);
});

afterAll(async () => {
  await node?.stop();
  await client?.end();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

test("a stop does not wait for a queued backlog of violations; a restart records each once", async () => {
  node = await startNode(config, { logger: recordingLogger() });
  await client.query("INSERT INTO public.ledger SELECT i, 0 FROM generate_series(1, $1::int) i", [
    ROWS,
  ]);
  await until(() => node!.store.chainHead(TABLE)?.size === ROWS, "the rows captured");
  await client.query("UPDATE public.ledger SET amount = 1");
  await until(
    () => (node!.store.violationHead(TABLE)?.size ?? 0) > 0,
    "the first violations recorded",
  );
  await node.stop();
  node = undefined;
  const atStop = await readStopped((store) => store.violationHead(TABLE)?.size ?? 0);
  expect(atStop).toBeLessThan(ROWS);

  node = await startNode(config, { logger: recordingLogger() });
  await until(
    () => node!.store.violationHead(TABLE)?.size === ROWS,
    "every violation recorded after the restart",
    120_000,
  );
  const keys = new Set<string>();
  for (const { record } of node.store.violations(TABLE, 1, ROWS)) {
    expect(record.kind).toBe("update");
    keys.add(JSON.stringify(decodePrimaryKey(record.primaryKey!)));
  }
  expect(keys.size).toBe(ROWS);
  // Nothing more arrives: no violation was recorded twice.
  await client.query("INSERT INTO public.ledger VALUES ($1, 0)", [ROWS + 1]);
  await until(() => node!.store.chainHead(TABLE)?.size === ROWS + 1, "the next row captured");
  expect(node.store.violationHead(TABLE)?.size).toBe(ROWS);
});

test("a publication that lacks a protected table keeps the node from streaming, saying why", async () => {
  await node?.stop();
  node = undefined;
  await client.query("CREATE TABLE public.other (id int PRIMARY KEY)");
  await client.query("ALTER PUBLICATION witnz_stopper SET TABLE ONLY public.other");
  const size = await readStopped((store) => store.chainHead(TABLE)?.size ?? 0);
  node = await startNode(config, { logger: recordingLogger() });
  const reasons = await until(() => {
    const { ready, reasons } = node!.readiness();
    return !ready && reasons.some((reason) => reason.includes("does not list"))
      ? reasons
      : undefined;
  }, "the node to say what is wrong");
  expect(reasons).toEqual([
    "replication is reconnecting: publication witnz_stopper does not list public.ledger: run witnz init --config <this node's configuration>",
  ]);
  // A row written meanwhile is never decoded: logical decoding reads the publication as it was
  // when the row was written. Verify reports it (phantom) once the node streams again.
  await client.query("INSERT INTO public.ledger VALUES ($1, 0)", [ROWS + 2]);
  // witnz init, as an operator runs it beside the node.
  const init = await witnz("init", "--config", configPath);
  expect(init.stdout).toContain("ok   publication witnz_stopper changed to list exactly 1 table");
  await until(() => node!.readiness().ready, "the node to stream once init ran", 60_000);
  await client.query("INSERT INTO public.ledger VALUES ($1, 0)", [ROWS + 3]);
  await until(() => node!.store.chainHead(TABLE)?.size === size + 1, "the row written after init");
  const verify = await witnz("verify", "--config", configPath, "--json");
  expect(verify.code).toBe(1);
  expect(JSON.parse(verify.stdout).tables[0]).toMatchObject({ phantom: [[String(ROWS + 2)]] });
});

/** Reads the store of the stopped node. */
async function readStopped<T>(read: (store: WitnzStore) => T): Promise<T> {
  const store = await openStore(config.node.dataDir);
  try {
    return read(store);
  } finally {
    await store.close();
  }
}
