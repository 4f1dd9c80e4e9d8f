// `witnz start` as a real process on a real PostgreSQL: capture, alert by signed webhook, survive
// kill -9 with nothing lost or doubled, verify afterwards, stop cleanly on SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { verifyWebhookSignature } from "../../src/alerts/index.js";
import { resolveTable } from "../../src/catalog/index.js";
import { chainHash, dataHash, encodeRow, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { freePort, localNodeConfigYaml } from "../../src/local/index.js";
import {
  connectSession,
  copyTableText,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";
import { openStore } from "../../src/store/index.js";
import { until } from "../support/until.js";
import { witnz } from "../verify/helpers.js";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const SECRET = "test-webhook-secret";

let server: TestPostgres;
let client: pg.Client;
let directory: string;
let configPath: string;
let httpPort: number;
let receiver: Server;
const received: Array<{ body: Record<string, unknown>; signed: boolean; atMs: number }> = [];
const children = new Set<ChildProcess>();

function startNode(): ChildProcess {
  const child = spawn(process.execPath, [BIN, "start", "--config", configPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

async function ready(): Promise<boolean | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    return response.status === 200 ? true : undefined;
  } catch {
    return undefined;
  }
}

async function chainSize(): Promise<number> {
  // The node holds the store open; LMDB lets another process read it.
  const result = await witnz("verify", "audit_log", "--config", configPath, "--json");
  const report = JSON.parse(result.stdout) as { tables: Array<{ rowsChecked: number }> };
  return report.tables[0]!.rowsChecked;
}

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query(
    "CREATE TABLE public.audit_log (id bigint PRIMARY KEY, actor text NOT NULL, at timestamptz DEFAULT now(), payload jsonb)",
  );
  directory = await mkdtemp(join(tmpdir(), "witnz-start-"));
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks);
      received.push({
        body: JSON.parse(raw.toString("utf8")),
        signed: verifyWebhookSignature(SECRET, raw, request.headers["x-witnz-signature"] as string),
        atMs: Date.now(),
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverPort = (receiver.address() as AddressInfo).port;
  httpPort = await freePort();
  configPath = join(directory, "node1.yaml");
  await writeFile(
    configPath,
    localNodeConfigYaml({
      database: server,
      nodeId: "node1",
      dataDir: join(directory, "data"),
      httpPort,
      tables: [{ name: "audit_log" }],
      webhook: { url: `http://127.0.0.1:${receiverPort}/hook`, secret: SECRET },
    }),
  );
  const init = await witnz("init", "--config", configPath);
  expect(init.code, init.stdout + init.stderr).toBe(0);
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await client?.end();
  await server?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe("witnz start", () => {
  test("captures rows, alerts an UPDATE by signed webhook, survives kill -9, verifies, stops on SIGTERM", async () => {
    let node = startNode();
    await until(ready, "the node to be ready");
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);

    // A writer commits 4000 rows in 400 transactions; the node is killed -9 in the middle.
    let written = 0;
    const writer = (async () => {
      for (let batch = 0; batch < 400; batch++) {
        const values: string[] = [];
        for (let row = 0; row < 10; row++) {
          written += 1;
          values.push(`(${written}, 'user-${written % 13}', now(), '{"n": ${written}}')`);
        }
        await client.query(
          `INSERT INTO public.audit_log (id, actor, at, payload) VALUES ${values.join(",")}`,
        );
      }
    })();
    await until(() => (written > 1500 ? true : undefined), "the writer to get going");
    node.kill("SIGKILL");
    await new Promise((resolve) => node.once("exit", resolve));
    await writer;
    node = startNode();
    await until(ready, "the restarted node to be ready");
    // The killed node's witnz.pid was taken over; a second node on the directory is refused.
    const second = await witnz("start", "--config", configPath);
    expect(second.code).toBe(2);
    expect(second.stderr).toBe(
      `witnz: ${join(directory, "data")} is in use by process ${node.pid} (${join(directory, "data", "witnz.pid")}); stop it first, or remove the file if that process is not a witnz node\n`,
    );

    // Nothing lost, nothing doubled: the chain equals a fresh recomputation from the table.
    await until(
      async () => ((await chainSize()) === 4000 ? true : undefined),
      "capture to catch up",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const layout = await resolveTable(client, "audit_log");
    const rows = new Map<number, (Uint8Array | null)[]>();
    for await (const row of copyTableText(client, layout.schema, layout.table, layout.columns)) {
      rows.set(Number(Buffer.from(row[0]!).toString()), row);
    }
    let expected: Uint8Array = GENESIS_CHAIN_HASH;
    for (let id = 1; id <= 4000; id++) {
      const data = dataHash(
        encodeRow({
          schema: "public",
          table: "audit_log",
          columns: layout.columns,
          values: rows.get(id)!,
        }),
      );
      expected = chainHash(expected, id, data);
    }

    // An UPDATE on the append-only table: a signed webhook with the incident's fields.
    const updatedAtMs = Date.now();
    await client.query("UPDATE public.audit_log SET actor = 'mallory' WHERE id = 42");
    const alert = await until(
      () => received.find((entry) => entry.body.op === "UPDATE"),
      "the webhook",
    );
    expect(alert.signed).toBe(true);
    expect(alert.body).toMatchObject({
      kind: "append_only_violation",
      severity: "critical",
      node: "node1",
      table: "public.audit_log",
      op: "UPDATE",
      pk: ["42"],
    });
    expect(alert.body.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(alert.atMs - updatedAtMs).toBeLessThan(1000);

    // Verification pinpoints the modified row; exit code 1.
    const verify = await witnz("verify", "--config", configPath, "--json");
    expect(verify.code).toBe(1);
    expect(JSON.parse(verify.stdout)).toEqual({
      tables: [
        {
          table: "public.audit_log",
          ok: false,
          rowsChecked: 4000,
          modified: [["42"]],
          deleted: [],
          phantom: [],
        },
      ],
    });

    // SIGTERM stops the node cleanly; then the store's chain head is the recomputed one.
    node.kill("SIGTERM");
    const exitCode = await new Promise((resolve) => node.once("exit", (code) => resolve(code)));
    expect(exitCode).toBe(0);
    const store = await openStore(join(directory, "data"));
    try {
      const head = store.chainHead("public.audit_log")!;
      expect(head.size).toBe(4000);
      expect(Buffer.from(head.chainHash).equals(expected)).toBe(true);
      expect(store.violationHead("public.audit_log")?.size).toBe(1);
      expect(received.filter((entry) => entry.body.op === "UPDATE")).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
