// witnz init against a real PostgreSQL: every check, creation, idempotence, the real binary.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { decodeTableLayout, tableLayoutMetaName } from "../../src/catalog/index.js";
import { loadConfig } from "../../src/config/index.js";
import {
  connectSession,
  formatLsn,
  readReplicationSlot,
  startTestPostgres,
  type TestPostgres,
} from "../../src/postgres/index.js";
import { initNode, SetupError } from "../../src/setup/index.js";
import { openStore } from "../../src/store/index.js";
import { witnz, writeConfigFile } from "../verify/helpers.js";

let server: TestPostgres;
let admin: pg.Client;
let directory: string;

beforeAll(async () => {
  server = await startTestPostgres();
  admin = await connectSession({ connectionString: server.connectionString });
  await admin.query(`
    CREATE TABLE public.audit_log (id int8 PRIMARY KEY, actor text, note text);
    CREATE SCHEMA "Audit";
    CREATE TABLE "Audit"."Log" ("Region" text, "Id" int4, note text, PRIMARY KEY ("Region", "Id"));
    CREATE TABLE public.no_key (x int4);
    CREATE TABLE public.secret (id int4 PRIMARY KEY);
    CREATE ROLE plain LOGIN PASSWORD 'plain-password';
    GRANT SELECT ON public.audit_log TO plain;
  `);
  directory = await mkdtemp(join(tmpdir(), "witnz-init-"));
});

afterAll(async () => {
  await admin?.end();
  await server?.stop();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

async function configFor(tables: string[], nodeId: string, extra: object = {}) {
  const path = await writeConfigFile({ directory, server, tables, nodeId, ...extra });
  return { path, config: loadConfig(path, { env: {} }).config };
}

async function publicationTables(publication: string): Promise<string[]> {
  const result = await admin.query<{ name: string }>(
    "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_catalog.pg_publication_tables WHERE pubname = $1 ORDER BY 1",
    [publication],
  );
  return result.rows.map((row) => row.name);
}

describe("witnz init", () => {
  test("checks, creates the publication, the slot and the layouts, then changes nothing", async () => {
    const { config } = await configFor(["audit_log", '"Audit"."Log"'], "first");
    const lines: string[] = [];
    const result = await initNode(config, { out: (line) => lines.push(line) });
    expect(result.ok).toBe(true);
    expect(result.changed).toBe(true);
    expect(lines).toContain("ok   wal_level = logical");
    expect(lines).toContain("ok   role postgres is a superuser (replication allowed)");
    expect(lines).toContain("ok   table public.audit_log: 3 columns, primary key (id), readable");
    expect(lines).toContain(
      'ok   table "Audit"."Log": 3 columns, primary key (Region, Id), readable',
    );
    expect(lines).toContain("ok   publication witnz_first created over 2 tables");
    expect(lines).toContain("ok   slot witnz_first created");
    const slot = await readReplicationSlot(admin, "witnz_first");
    expect(lines).toContain(
      `ok   capture baseline ${formatLsn(slot!.confirmedFlushLsn!)} (the slot's position) recorded`,
    );
    expect(lines.every((line) => /^(ok {2}|WARN|FAIL) /.test(line))).toBe(true);
    expect(await publicationTables("witnz_first")).toEqual(['"Audit"."Log"', "public.audit_log"]);
    expect((await readReplicationSlot(admin, "witnz_first"))?.plugin).toBe("pgoutput");

    const again: string[] = [];
    const second = await initNode(config, { out: (line) => again.push(line) });
    expect(second).toMatchObject({ ok: true, changed: false });
    expect(again).toContain(
      "ok   publication witnz_first already lists exactly 2 tables (unchanged)",
    );
    expect(again).toContain("ok   slot witnz_first already exists (unchanged)");
    expect(again).toContain("ok   layout of public.audit_log already recorded (unchanged)");

    const store = await openStore(config.node.dataDir);
    try {
      const layout = decodeTableLayout(store.meta(tableLayoutMetaName('"Audit"."Log"'))!);
      expect(layout).toMatchObject({
        schema: "Audit",
        table: "Log",
        columns: ["Region", "Id", "note"],
        primaryKey: ["Region", "Id"],
      });
    } finally {
      await store.close();
    }
  });

  test("reports every failed check, one line each, and creates nothing", async () => {
    const { config } = await configFor(["no_key", "missing_table", "audit_log"], "second");
    const lines: string[] = [];
    const result = await initNode(config, { out: (line) => lines.push(line) });
    expect(result.ok).toBe(false);
    expect(lines.filter((line) => line.startsWith("FAIL"))).toEqual([
      "FAIL table public.no_key has no primary key; Witnz identifies rows by primary key (add one, e.g. ALTER TABLE public.no_key ADD PRIMARY KEY (id))",
      "FAIL table public.missing_table does not exist",
    ]);
    expect(await readReplicationSlot(admin, "witnz_second")).toBeUndefined();
  });

  test("a role without REPLICATION, and a table it cannot read, are failed checks", async () => {
    const { config } = await configFor(["audit_log", "secret"], "third", {
      user: "plain",
      password: "plain-password",
    });
    const lines: string[] = [];
    const result = await initNode(config, { out: (line) => lines.push(line) });
    expect(result.ok).toBe(false);
    expect(lines.filter((line) => line.startsWith("FAIL"))).toEqual([
      "FAIL role plain has neither REPLICATION nor superuser: run ALTER ROLE plain WITH REPLICATION",
      "FAIL table public.secret: role plain cannot SELECT it, which verification needs: run GRANT SELECT ON public.secret TO plain",
    ]);
  });

  test("a layout that changed since it was recorded fails instead of being overwritten", async () => {
    await admin.query("CREATE TABLE public.evolving (id int4 PRIMARY KEY, a text)");
    const { config } = await configFor(["evolving"], "fourth");
    expect((await initNode(config)).ok).toBe(true);
    await admin.query("ALTER TABLE public.evolving ADD COLUMN b text");
    const lines: string[] = [];
    expect((await initNode(config, { out: (line) => lines.push(line) })).ok).toBe(false);
    expect(lines.filter((line) => line.startsWith("FAIL"))).toEqual([
      "FAIL table public.evolving changed since it was first protected: recorded columns (id, a), primary key (id), now columns (id, a, b), primary key (id); run witnz verify to see what changed",
    ]);
  });

  test("relations logical replication cannot report as a table's own fail, saying why; nothing is created", async () => {
    await admin.query(`
      CREATE VIEW public.a_view AS SELECT 1 AS id;
      CREATE MATERIALIZED VIEW public.a_matview AS SELECT 1 AS id;
      CREATE TABLE public.by_region (region text, id int4, PRIMARY KEY (region, id))
        PARTITION BY LIST (region);
      CREATE TABLE public.by_region_eu PARTITION OF public.by_region FOR VALUES IN ('eu');
      CREATE UNLOGGED TABLE public.scratch (id int4 PRIMARY KEY);
    `);
    const { config } = await configFor(
      ["a_view", "a_matview", "by_region", "scratch", "pg_catalog.pg_class"],
      "kinds",
    );
    const lines: string[] = [];
    expect((await initNode(config, { out: (line) => lines.push(line) })).ok).toBe(false);
    expect(lines.filter((line) => line.startsWith("FAIL"))).toEqual([
      "FAIL public.a_view is a view, not a table; Witnz protects tables",
      "FAIL public.a_matview is a materialized view, not a table; Witnz protects tables",
      "FAIL table public.by_region is partitioned: its rows live in its partitions, whose changes logical replication reports under their own names; protect each partition instead",
      "FAIL table public.scratch is UNLOGGED: its changes are not written to the WAL, so logical replication never sees them (ALTER TABLE public.scratch SET LOGGED)",
      "FAIL table pg_catalog.pg_class is a system catalog, which cannot be published",
    ]);
    expect(await readReplicationSlot(admin, "witnz_kinds")).toBeUndefined();
  });

  test("a primary key's INCLUDE columns are not part of the key", async () => {
    await admin.query(
      "CREATE TABLE public.covering (id int4, extra text, PRIMARY KEY (id) INCLUDE (extra))",
    );
    const { config } = await configFor(["covering"], "covering");
    const lines: string[] = [];
    expect((await initNode(config, { out: (line) => lines.push(line) })).ok).toBe(true);
    expect(lines).toContain("ok   table public.covering: 2 columns, primary key (id), readable");
  });

  test("rows already in a table when it is first protected are a warning; init goes on", async () => {
    await admin.query("CREATE TABLE public.preloaded (id int4 PRIMARY KEY)");
    await admin.query("INSERT INTO public.preloaded VALUES (1), (2)");
    const { config } = await configFor(["preloaded"], "preloaded");
    const lines: string[] = [];
    expect((await initNode(config, { out: (line) => lines.push(line) })).ok).toBe(true);
    expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
      "WARN table public.preloaded already holds rows: they were written before protection began, no chain holds them, and witnz verify will report each as phantom (protect a table before writing to it)",
    ]);
    // Once recorded, the table is no longer new: a second run does not warn again.
    const again: string[] = [];
    expect((await initNode(config, { out: (line) => again.push(line) })).ok).toBe(true);
    expect(again.filter((line) => line.startsWith("WARN"))).toEqual([]);
  });

  test("a replica identity that cannot name rows is a warning", async () => {
    await admin.query(`
      CREATE TABLE public.by_code (id int4 PRIMARY KEY, code text UNIQUE NOT NULL);
      ALTER TABLE public.by_code REPLICA IDENTITY USING INDEX by_code_code_key;
      CREATE TABLE public.no_identity (id int4 PRIMARY KEY);
      ALTER TABLE public.no_identity REPLICA IDENTITY NOTHING;
      CREATE TABLE public.full_identity (id int4 PRIMARY KEY);
      ALTER TABLE public.full_identity REPLICA IDENTITY FULL;
    `);
    const { config } = await configFor(["by_code", "no_identity", "full_identity"], "identity");
    const lines: string[] = [];
    expect((await initNode(config, { out: (line) => lines.push(line) })).ok).toBe(true);
    expect(lines.filter((line) => line.startsWith("WARN"))).toEqual([
      "WARN table public.by_code: its replica identity index does not cover its primary key, so UPDATE and DELETE violations cannot name the row (ALTER TABLE public.by_code REPLICA IDENTITY DEFAULT)",
      "WARN table public.no_identity has REPLICA IDENTITY NOTHING: once it is published, PostgreSQL refuses its UPDATEs and DELETEs (ALTER TABLE public.no_identity REPLICA IDENTITY DEFAULT)",
    ]);
  });

  test("an inheritance parent is published alone, so a second run changes nothing", async () => {
    await admin.query(`
      CREATE TABLE public.parent_log (id int4 PRIMARY KEY, note text);
      CREATE TABLE public.child_log (extra text) INHERITS (public.parent_log);
      INSERT INTO public.child_log VALUES (1, 'a child row', 'x');
    `);
    const { config } = await configFor(["parent_log"], "parent");
    const first: string[] = [];
    expect((await initNode(config, { out: (line) => first.push(line) })).ok).toBe(true);
    // The child's row is not the parent's own: no warning of rows before protection.
    expect(first.filter((line) => line.startsWith("WARN"))).toEqual([]);
    expect(await publicationTables("witnz_parent")).toEqual(["public.parent_log"]);
    const lines: string[] = [];
    const again = await initNode(config, { out: (line) => lines.push(line) });
    expect(again.changed).toBe(false);
    expect(lines).toContain(
      "ok   publication witnz_parent already lists exactly 1 table (unchanged)",
    );
  });

  test("a publication step that fails creates no slot, and names PostgreSQL's reason", async () => {
    await admin.query("CREATE PUBLICATION witnz_pubfail FOR ALL TABLES");
    try {
      const { config } = await configFor(["audit_log"], "pubfail");
      const lines: string[] = [];
      expect((await initNode(config, { out: (line) => lines.push(line) })).ok).toBe(false);
      expect(lines.filter((line) => line.startsWith("FAIL"))).toEqual([
        expect.stringMatching(
          /^FAIL publication witnz_pubfail: creating publication witnz_pubfail: .*FOR ALL TABLES/,
        ),
      ]);
      expect(await readReplicationSlot(admin, "witnz_pubfail")).toBeUndefined();
    } finally {
      await admin.query("DROP PUBLICATION witnz_pubfail");
    }
  });

  test("an unreachable database is one line naming host:port and the reason", async () => {
    const { config } = await configFor(["audit_log"], "fifth", { port: 1 });
    const failure = await initNode(config).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SetupError);
    expect((failure as SetupError).code).toBe("WITNZ_SETUP_UNREACHABLE");
    expect((failure as SetupError).message).toMatch(
      new RegExp(
        `^cannot connect to PostgreSQL at ${server.host.replaceAll(".", "\\.")}:1 \\(database ${server.database}, user ${server.user}\\): .*ECONNREFUSED`,
      ),
    );
    expect((failure as SetupError).message).not.toContain("\n");
  });

  test("the binary: exit 0 with a line per check, 1 on a failed check, 2 when unreachable", async () => {
    const good = await configFor(["audit_log"], "cli_good");
    const first = await witnz("init", "--config", good.path);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^ok {3}connected to /);
    expect(first.stdout).toContain("ok   wal_level = logical\n");
    expect(first.stdout).toMatch(/initialised\n$/);
    const second = await witnz("init", "--config", good.path);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already initialised: nothing changed\n$/);

    const bad = await configFor(["no_key"], "cli_bad");
    const failed = await witnz("init", "--config", bad.path);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("FAIL table public.no_key has no primary key");
    expect(failed.stderr).toBe("witnz: init failed: 1 check failed (see the FAIL lines)\n");

    const down = await configFor(["audit_log"], "cli_down", { port: 1 });
    const unreachable = await witnz("init", "--config", down.path);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/^witnz: cannot connect to PostgreSQL at .*:1 .*\n$/);
    expect(unreachable.stderr.split("\n")).toHaveLength(2);
  });
});

describe.skipIf(process.env.WITNZ_TEST_DATABASE_URL !== undefined)(
  "witnz init on a server with wal_level = replica",
  () => {
    let replica: TestPostgres;
    let replicaDirectory: string;
    beforeAll(async () => {
      replica = await startTestPostgres({ settings: { wal_level: "replica" } });
      replicaDirectory = await mkdtemp(join(tmpdir(), "witnz-init-replica-"));
      const client = await connectSession({ connectionString: replica.connectionString });
      await client.query("CREATE TABLE public.audit_log (id int8 PRIMARY KEY)");
      await client.end();
    });
    afterAll(async () => {
      await replica?.stop();
      if (replicaDirectory !== undefined)
        await rm(replicaDirectory, { recursive: true, force: true });
    });

    test("says how to fix it", async () => {
      const path = await writeConfigFile({
        directory: replicaDirectory,
        server: replica,
        tables: ["audit_log"],
      });
      const lines: string[] = [];
      const result = await initNode(loadConfig(path, { env: {} }).config, {
        out: (line) => lines.push(line),
      });
      expect(result.ok).toBe(false);
      expect(lines.filter((line) => line.startsWith("FAIL"))).toEqual([
        "FAIL wal_level = replica, must be logical: run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL",
      ]);
    });
  },
);
