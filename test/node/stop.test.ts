// Stopping a node while a large UPDATE's violations are still queued: the node stops without
// working through the queue (what it had not made durable was never acknowledged), and the next
// start records the rest, each violation exactly once.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { WitnzConfig } from "../../src/config/index.js";
import { decodePrimaryKey } from "../../src/hash/index.js";
import { type RunningNode, startNode } from "../../src/node/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import { openStore } from "../../src/store/index.js";
import { freePort, nodeConfig, recordingLogger, until } from "./helpers.js";

const TABLE = "public.ledger";
const ROWS = 10_000;

let server: TestPostgres;
let client: pg.Client;
let directory: string;
let config: WitnzConfig;
let node: RunningNode | undefined;

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query("CREATE TABLE public.ledger (id int PRIMARY KEY, amount int NOT NULL)");
  directory = await mkdtemp(join(tmpdir(), "witnz-stop-"));
  config = nodeConfig({
    server,
    nodeId: "stopper",
    dataDir: join(directory, "data"),
    httpPort: await freePort(),
    tables: [{ name: "ledger" }],
  });
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
  const stopped = await openStore(config.node.dataDir);
  const atStop = stopped.violationHead(TABLE)?.size ?? 0;
  await stopped.close();
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
