// `witnz status` as the real binary on a real PostgreSQL and a real LMDB store: before the node
// runs, while `witnz start` runs (LMDB lets a second process read), after a verification record
// is written, and with the database unreachable.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { resolveTable } from "../../src/catalog/index.js";
import { chainHash, dataHash, encodeRow, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { freePort, localNodeConfigYaml } from "../../src/local/index.js";
import { MerkleTree } from "../../src/merkle/index.js";
import {
  connectSession,
  copyTableText,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";
import type { NodeStatus } from "../../src/status/index.js";
import { openStore } from "../../src/store/index.js";
import { until } from "../support/until.js";
import { witnz } from "../verify/helpers.js";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const ROWS = 300;

let server: TestPostgres;
let client: pg.Client;
let directory: string;
let httpPort: number;
const children = new Set<ChildProcess>();

async function writeConfig(name: string, databasePort: number): Promise<string> {
  const path = join(directory, name);
  await writeFile(
    path,
    localNodeConfigYaml({
      database: { ...server, port: databasePort },
      nodeId: "node1",
      dataDir: join(directory, "data"),
      httpPort,
      tables: [{ name: "audit_log" }, { name: '"Billing"."Ledger"' }],
    }),
  );
  return path;
}

async function status(
  configPath: string,
): Promise<{ code: number; status: NodeStatus; stderr: string }> {
  const result = await witnz("status", "--config", configPath, "--json");
  return {
    code: result.code,
    status: JSON.parse(result.stdout) as NodeStatus,
    stderr: result.stderr,
  };
}

let configPath: string;

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query(
    "CREATE TABLE public.audit_log (id bigint PRIMARY KEY, actor text NOT NULL, payload jsonb)",
  );
  await client.query(`CREATE SCHEMA "Billing"`);
  await client.query(`CREATE TABLE "Billing"."Ledger" (id int PRIMARY KEY, note text)`);
  directory = await mkdtemp(join(tmpdir(), "witnz-status-"));
  httpPort = await freePort();
  configPath = await writeConfig("node1.yaml", server.port);
  const init = await witnz("init", "--config", configPath);
  expect(init.code, init.stdout + init.stderr).toBe(0);
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await client?.end();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe("witnz status", () => {
  test("before the node runs: empty chains, the slot inactive, the node not running; exit 0", async () => {
    const { code, status: before } = await status(configPath);
    expect(code).toBe(0);
    expect(before).toMatchObject({
      node: "node1",
      complete: true,
      health: { state: "not_running" },
      store: { readable: true, error: null },
      database: { reachable: true, slot: { name: "witnz_node1", exists: true, active: false } },
      errors: [],
    });
    expect(before.tables).toEqual([
      expect.objectContaining({
        table: "public.audit_log",
        chainLength: 0,
        headHash: null,
        checkpoint: null,
        violations: 0,
        lastVerification: null,
      }),
      expect.objectContaining({ table: '"Billing"."Ledger"', chainLength: 0 }),
    ]);
  });

  test("while witnz start runs: chain length, head hash and Merkle root equal a recomputation; violations; ready", async () => {
    const node = spawn(process.execPath, [BIN, "start", "--config", configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.add(node);
    node.on("exit", () => children.delete(node));
    try {
      await until(async () => {
        const { status: running } = await status(configPath);
        return running.health.state === "ready" ? true : undefined;
      }, "the node to be ready");

      for (let batch = 0; batch < ROWS / 30; batch++) {
        const values: string[] = [];
        for (let row = 1; row <= 30; row++) {
          const id = batch * 30 + row;
          values.push(`(${id}, 'user-${id % 7}', '{"n": ${id}}')`);
        }
        await client.query(`INSERT INTO public.audit_log VALUES ${values.join(",")}`);
      }
      await client.query(`INSERT INTO "Billing"."Ledger" VALUES (1, 'é')`);
      await client.query("UPDATE public.audit_log SET actor = 'mallory' WHERE id = 7");

      const running = await until(async () => {
        const result = await status(configPath);
        const audit = result.status.tables[0]!;
        return audit.chainLength === ROWS && audit.violations === 1 ? result : undefined;
      }, "capture to reach the status");
      expect(running.code).toBe(0);

      // The head hash and the root are those of a fresh recomputation from the rows as inserted.
      const layout = await resolveTable(client, "audit_log");
      const tree = MerkleTree.open(
        (() => {
          const nodes = new Map<string, Uint8Array>();
          return {
            get: (level: number, index: number) => nodes.get(`${level}/${index}`),
            set: (level: number, index: number, hash: Uint8Array) => {
              nodes.set(`${level}/${index}`, hash);
            },
          };
        })(),
        0,
      );
      const rows = new Map<number, (Uint8Array | null)[]>();
      for await (const row of copyTableText(client, "public", "audit_log", layout.columns)) {
        rows.set(Number(Buffer.from(row[0]!).toString()), row);
      }
      let expectedHead: Uint8Array = GENESIS_CHAIN_HASH;
      for (let id = 1; id <= ROWS; id++) {
        const row = rows.get(id)!;
        // Row 7 was updated afterwards; the chain holds what was inserted.
        const values = id === 7 ? [row[0]!, Buffer.from("user-0"), row[2]!] : row;
        const data = dataHash(
          encodeRow({ schema: "public", table: "audit_log", columns: layout.columns, values }),
        );
        expectedHead = chainHash(expectedHead, id, data);
        tree.append(data);
      }
      const audit = running.status.tables[0]!;
      expect(audit.headHash).toBe(Buffer.from(expectedHead).toString("hex"));
      expect(audit.checkpoint).toMatchObject({
        size: ROWS,
        rootHash: Buffer.from(tree.root()).toString("hex"),
      });
      expect(audit.lastLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(audit.lag.bytes).toBeGreaterThanOrEqual(0);
      expect(audit.lag.secondsSinceCheckpoint).toBeLessThan(60);
      expect(running.status.tables[1]).toMatchObject({ chainLength: 1, violations: 0 });
      expect(running.status).toMatchObject({
        complete: true,
        health: { state: "ready", reasons: [] },
        database: { reachable: true, slot: { exists: true, active: true } },
      });

      // The compact table names every table and says "never" for tables never verified.
      const text = await witnz("status", "--config", configPath);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain("node node1: running and ready");
      expect(text.stdout).toMatch(
        new RegExp(
          `^public\\.audit_log\\s+${ROWS}\\s+${audit.headHash!.slice(0, 16)}….*never$`,
          "m",
        ),
      );
      expect(text.stdout).toMatch(/^"Billing"\."Ledger"\s+1\s/m);
    } finally {
      node.kill("SIGTERM");
      await new Promise((resolve) => node.once("exit", resolve));
    }
  });

  test("shows the last verification recorded in the store", async () => {
    const store = await openStore(join(directory, "data"));
    try {
      const batch = store.batch();
      batch.setMeta(
        "verification:public.audit_log",
        Buffer.from(
          JSON.stringify({
            table: "public.audit_log",
            trigger: "interval",
            startedAt: "2026-03-01T11:59:59.000Z",
            finishedAt: "2026-03-01T12:00:00.000Z",
            durationMs: 1000,
            outcome: "tampered",
            ok: false,
            rowsChecked: ROWS,
            modifiedRows: 1,
            deletedRows: 0,
            phantomRows: 0,
            schemaChanged: false,
            violationLogSize: 1,
          }),
        ),
      );
      await store.commit(batch);
    } finally {
      await store.close();
    }
    const { code, status: after } = await status(configPath);
    expect(code).toBe(0);
    expect(after.health.state).toBe("not_running");
    expect(after.tables[0]!.lastVerification).toEqual({
      time: "2026-03-01T12:00:00.000Z",
      outcome: "tampered",
      ok: false,
      rowsChecked: ROWS,
      modified: 1,
      deleted: 0,
      phantom: 0,
      error: null,
    });
    expect(after.tables[1]!.lastVerification).toBeNull();
    const text = await witnz("status", "--config", configPath);
    expect(text.stdout).toContain("2026-03-01T12:00:00.000Z TAMPERED: 1 modified, 0 deleted");
  });

  test("an unreachable database: what the store says is still printed; exit 2", async () => {
    const unreachable = await writeConfig("unreachable.yaml", await freePort());
    const { code, status: partial, stderr } = await status(unreachable);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^witnz: status incomplete: database: unreachable: cannot connect/);
    expect(partial.complete).toBe(false);
    expect(partial.database).toMatchObject({ reachable: false, currentLsn: null, lagBytes: null });
    expect(partial.tables[0]).toMatchObject({ chainLength: ROWS, violations: 1 });
    expect(partial.tables[0]!.lag.bytes).toBeNull();
    const text = await witnz("status", "--config", unreachable);
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/^database .*: unreachable: cannot connect/m);
    expect(text.stdout).toMatch(new RegExp(`^public\\.audit_log\\s+${ROWS}\\s`, "m"));
  });

  test("a data directory that does not exist is reported, not created; exit 2", async () => {
    const path = join(directory, "no-store.yaml");
    const yaml = readFileSync(configPath, "utf8");
    await writeFile(
      path,
      yaml.replace(/data_dir: .*/, `data_dir: ${JSON.stringify(join(directory, "absent"))}`),
    );
    const { code, status: missing } = await status(path);
    expect(code).toBe(2);
    expect(missing.store).toMatchObject({ readable: false });
    expect(missing.store.error).toContain("run witnz init");
    expect(existsSync(join(directory, "absent"))).toBe(false);
  });
});
