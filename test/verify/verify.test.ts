// Full verification against a real PostgreSQL and a real LMDB store. The store is filled by
// recordRowsAsCapture, the stand-in for capture until it lands; tampering is plain SQL.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  decodeTableLayout,
  type TableLayout,
  tableLayoutMetaName,
} from "../../src/catalog/index.js";
import { loadConfig, type WitnzConfig } from "../../src/config/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import {
  KeyTag,
  openLmdbKeyValueStore,
  openStore,
  tableKeyRange,
  type WitnzStore,
} from "../../src/store/index.js";
import {
  compareLayouts,
  formatVerificationJson,
  SeenBitmap,
  type TableVerification,
  type VerifyProgress,
  verifyNode,
  verifyTable,
} from "../../src/verify/index.js";
import { recordRowsAsCapture, witnz, writeConfigFile } from "./helpers.js";

let server: TestPostgres;
let admin: pg.Client;
let directory: string;
let tableCount = 0;

beforeAll(async () => {
  server = await startTestPostgres({ timeZone: "America/New_York", dateStyle: "SQL, DMY" });
  admin = await connectSession({ connectionString: server.connectionString });
  await admin.query('CREATE SCHEMA "Audit"');
  directory = await mkdtemp(join(tmpdir(), "witnz-verify-"));
});

afterAll(async () => {
  await admin?.end();
  await server?.stop();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

interface Protected {
  readonly config: WitnzConfig;
  readonly configPath: string;
  readonly layout: TableLayout;
  /** Opens the node's store, hands it to `use`, closes it. */
  withStore<T>(use: (store: WitnzStore) => Promise<T>): Promise<T>;
}

/**
 * Creates a table with `rows` rows, runs init for it on a fresh node, and records its rows as
 * capture would.
 */
async function protect(
  ddl: (name: string) => string,
  fill: (name: string) => string,
  tableName: (suffix: string) => string,
): Promise<Protected> {
  tableCount += 1;
  const name = tableName(String(tableCount));
  await admin.query(ddl(name));
  await admin.query(fill(name));
  const nodeId = `verify${tableCount}`;
  const configPath = await writeConfigFile({ directory, server, tables: [name], nodeId });
  const config = loadConfig(configPath, { env: {} }).config;
  const init = await initNode(config);
  expect(init.ok).toBe(true);
  const layout = init.layouts[0]!;
  const withStore = async <T>(use: (store: WitnzStore) => Promise<T>): Promise<T> => {
    const store = await openStore(config.node.dataDir);
    try {
      return await use(store);
    } finally {
      await store.close();
    }
  };
  await withStore((store) => recordRowsAsCapture(store, admin, layout));
  return { config, configPath, layout, withStore };
}

const eventsTable = (rows: number) =>
  protect(
    (name) =>
      `CREATE TABLE ${name} (id int8 PRIMARY KEY, body text, amount numeric, at timestamptz, payload jsonb, data bytea, ratio float8)`,
    (name) =>
      `INSERT INTO ${name} SELECT i, 'row ' || i || ' é日', i * 1.25, '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 minute',
         jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'b')), decode(md5(i::text), 'hex'),
         CASE WHEN i % 7 = 0 THEN 'NaN'::float8 WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END
         FROM generate_series(1, ${rows}) AS i`,
    (suffix) => `public.events_${suffix}`,
  );

const compositeTable = () =>
  protect(
    (name) =>
      `CREATE TABLE ${name} ("Region" text, "Id" int4, "Note" text, PRIMARY KEY ("Region", "Id"))`,
    (name) =>
      `INSERT INTO ${name} SELECT r, i, 'note ' || i FROM unnest(ARRAY['eu', 'us', 'Ω ap']) AS r, generate_series(1, 50) AS i`,
    (suffix) => `"Audit"."Log ${suffix}"`,
  );

describe("verifyTable", () => {
  test("a clean table verifies, with no false positive across column types and foreign defaults", async () => {
    const table = await eventsTable(2000);
    const progress: VerifyProgress[] = [];
    const result = await table.withStore((store) =>
      connectSession({ connectionString: server.connectionString }).then(async (client) => {
        try {
          return await verifyTable(store, client, table.layout, {
            onProgress: (entry) => progress.push(entry),
            progressIntervalRows: 500,
          });
        } finally {
          await client.end();
        }
      }),
    );
    expect(result).toEqual({
      table: table.layout.name,
      ok: true,
      rowsChecked: 2000,
      modified: [],
      deleted: [],
      phantom: [],
    });
    expect(progress.map((entry) => [entry.rowsChecked, entry.done])).toEqual([
      [500, false],
      [1000, false],
      [1500, false],
      [2000, false],
      [2000, true],
    ]);
  });

  test("reports exactly the modified, deleted and phantom keys", async () => {
    const table = await eventsTable(1000);
    const name = table.layout.name;
    await admin.query(`UPDATE ${name} SET body = body || '!' WHERE id IN (42, 917)`);
    await admin.query(`UPDATE ${name} SET amount = amount WHERE id = 5`); // a no-op update
    await admin.query(`DELETE FROM ${name} WHERE id IN (7, 1000)`);
    await admin.query(`
      BEGIN;
      SET LOCAL session_replication_role = replica;
      INSERT INTO ${name} (id, body) VALUES (5000, 'sneaky');
      COMMIT;
      INSERT INTO ${name} (id, body) VALUES (-1, 'plain insert');`);
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toEqual({
      table: name,
      ok: false,
      rowsChecked: 1000,
      modified: expect.any(Array),
      deleted: [["7"], ["1000"]],
      phantom: expect.any(Array),
    });
    expect(result.modified.sort()).toEqual([["42"], ["917"]].sort());
    expect(result.phantom.sort()).toEqual([["-1"], ["5000"]].sort());
  });

  test("composite primary keys on a quoted mixed-case table", async () => {
    const table = await compositeTable();
    const name = table.layout.name;
    expect(name).toMatch(/^"Audit"\."Log \d+"$/);
    await admin.query(`UPDATE ${name} SET "Note" = 'changed' WHERE "Region" = 'Ω ap' AND "Id" = 3`);
    await admin.query(`DELETE FROM ${name} WHERE "Region" = 'us' AND "Id" = 50`);
    await admin.query(`INSERT INTO ${name} VALUES ('eu', 51, 'new'), ('mars', 1, NULL)`);
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result.rowsChecked).toBe(151);
    expect(result.modified).toEqual([["Ω ap", "3"]]);
    expect(result.deleted).toEqual([["us", "50"]]);
    expect(result.phantom.sort()).toEqual([
      ["eu", "51"],
      ["mars", "1"],
    ]);
  });

  test("a key deleted and inserted again, recorded as capture records it, is neither deleted nor modified", async () => {
    const table = await eventsTable(100);
    const name = table.layout.name;
    await admin.query(`DELETE FROM ${name} WHERE id = 10`);
    await admin.query(`INSERT INTO ${name} (id, body) VALUES (10, 'second life')`);
    await table.withStore((store) =>
      recordRowsAsCapture(store, admin, table.layout, (key) => key[0] === "10"),
    );
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toMatchObject({
      ok: true,
      rowsChecked: 100,
      modified: [],
      deleted: [],
      phantom: [],
    });
  });

  /** Rewrites the table with the same rows in the order `orderBy` gives (COPY's order after). */
  async function reorder(name: string, orderBy: string): Promise<void> {
    await admin.query(`
      BEGIN;
      CREATE TEMP TABLE reordered ON COMMIT DROP AS SELECT * FROM ${name};
      TRUNCATE ${name};
      INSERT INTO ${name} SELECT * FROM reordered ORDER BY ${orderBy};
      COMMIT;`);
  }

  test("with or without data hash blocks (an older or restored store), the same rows are found", async () => {
    // 9000 rows: nine data hash blocks, tampering on both sides of a block boundary.
    const table = await eventsTable(9000);
    const name = table.layout.name;
    await admin.query(`UPDATE ${name} SET body = 'changed' WHERE id IN (42, 4096, 4097, 8999)`);
    await admin.query(`DELETE FROM ${name} WHERE id IN (4095, 8193)`);
    await admin.query(`INSERT INTO ${name} (id, body) VALUES (9500, 'sneaky')`);
    const expected = {
      table: name,
      ok: false,
      rowsChecked: 8999,
      modified: [["42"], ["4096"], ["4097"], ["8999"]],
      deleted: [["4095"], ["8193"]],
      phantom: [["9500"]],
    };
    const sorted = (result: TableVerification) => ({
      ...result,
      modified: [...result.modified].sort((a, b) => Number(a[0]) - Number(b[0])),
    });
    expect(sorted((await verifyNode(table.config)).tables[0]!)).toEqual(expected);
    const keyValueStore = openLmdbKeyValueStore(table.config.node.dataDir);
    try {
      const blocks = [...keyValueStore.range(tableKeyRange(KeyTag.dataHashBlock, name))];
      expect(blocks).toHaveLength(9);
      await keyValueStore.write(blocks.map(([key]) => ({ type: "delete" as const, key })));
    } finally {
      await keyValueStore.close();
    }
    expect(sorted((await verifyNode(table.config)).tables[0]!)).toEqual(expected);
  });

  test("rows out of insert order are matched through the index, tampering still found", async () => {
    const table = await eventsTable(1000);
    const name = table.layout.name;
    await admin.query(`UPDATE ${name} SET body = 'changed' WHERE id = 300`);
    await admin.query(`DELETE FROM ${name} WHERE id = 600`);
    await admin.query(`INSERT INTO ${name} (id, body) VALUES (5000, 'sneaky')`);
    await reorder(name, "id DESC");
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toEqual({
      table: name,
      ok: false,
      rowsChecked: 1000,
      modified: [["300"]],
      deleted: [["600"]],
      phantom: [["5000"]],
    });
  });

  test("a deleted row and a phantom in the middle of insert order leave the rest matched in order", async () => {
    const table = await eventsTable(1000);
    const name = table.layout.name;
    await admin.query(`DELETE FROM ${name} WHERE id IN (400, 401)`);
    await admin.query(`INSERT INTO ${name} (id, body) VALUES (5000, 'sneaky'), (5001, 'sneaky')`);
    await admin.query(`UPDATE ${name} SET body = 'changed' WHERE id = 402`);
    // The phantoms come back where the deleted rows were, the modified row right after them.
    await reorder(name, "CASE WHEN id >= 5000 THEN id - 5000 + 400 ELSE id END, id");
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toEqual({
      table: name,
      ok: false,
      rowsChecked: 1000,
      modified: [["402"]],
      deleted: [["400"], ["401"]],
      phantom: [["5000"], ["5001"]],
    });
  });

  test("a key inserted again, read back where its first entry was, is neither deleted nor modified", async () => {
    const table = await eventsTable(100);
    const name = table.layout.name;
    // The same content again: the older entry matches the row as well as the newer one does.
    await admin.query(`
      BEGIN;
      CREATE TEMP TABLE again ON COMMIT DROP AS SELECT * FROM ${name} WHERE id = 10;
      DELETE FROM ${name} WHERE id = 10;
      INSERT INTO ${name} SELECT * FROM again;
      COMMIT;`);
    await table.withStore((store) =>
      recordRowsAsCapture(store, admin, table.layout, (key) => key[0] === "10"),
    );
    await reorder(name, "id");
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toMatchObject({
      ok: true,
      rowsChecked: 100,
      modified: [],
      deleted: [],
      phantom: [],
    });
  });

  test("an added column is one schema change, not every row modified", async () => {
    const table = await eventsTable(300);
    await admin.query(`ALTER TABLE ${table.layout.name} ADD COLUMN extra text DEFAULT 'x'`);
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toMatchObject({
      ok: false,
      rowsChecked: 300,
      modified: [],
      deleted: [],
      phantom: [],
    });
    expect(result.schemaChange).toMatchObject({
      columnsAdded: ["extra"],
      columnsDropped: [],
      message: "column extra added",
    });
  });

  test("a dropped column still finds deleted and phantom rows by key", async () => {
    const table = await eventsTable(300);
    const name = table.layout.name;
    await admin.query(`ALTER TABLE ${name} DROP COLUMN body`);
    await admin.query(`DELETE FROM ${name} WHERE id = 3`);
    await admin.query(`INSERT INTO ${name} (id) VALUES (301)`);
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toMatchObject({
      ok: false,
      rowsChecked: 300,
      modified: [],
      deleted: [["3"]],
      phantom: [["301"]],
    });
    expect(result.schemaChange?.message).toBe("column body dropped");
  });

  test("a dropped table is a schema change", async () => {
    const table = await eventsTable(10);
    await admin.query(`DROP TABLE ${table.layout.name}`);
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result).toMatchObject({
      ok: false,
      rowsChecked: 0,
      modified: [],
      deleted: [],
      phantom: [],
    });
    expect(result.schemaChange).toMatchObject({
      tableMissing: true,
      message: `table ${table.layout.name} no longer exists`,
    });
  });

  test("a table replaced by a view of the same name is a missing table, not an error", async () => {
    const table = await eventsTable(10);
    const hidden = `${table.layout.table}_hidden`;
    await admin.query(`ALTER TABLE ${table.layout.name} RENAME TO ${hidden}`);
    await admin.query(`CREATE VIEW ${table.layout.name} AS SELECT * FROM public.${hidden}`);
    const result = (await verifyNode(table.config)).tables[0]!;
    expect(result.ok).toBe(false);
    expect(result.schemaChange).toMatchObject({ tableMissing: true });
  });
});

describe("witnz verify (the binary)", () => {
  test("exit 0 when clean, 1 with the exact JSON when tampered, 2 on errors", async () => {
    const table = await eventsTable(500);
    const name = table.layout.name;
    const clean = await witnz("verify", "--config", table.configPath, "--json");
    expect(clean.code).toBe(0);
    expect(clean.stderr).toBe("");
    expect(clean.stdout).toBe(
      `${JSON.stringify({ tables: [{ table: name, ok: true, rowsChecked: 500, modified: [], deleted: [], phantom: [] }] })}\n`,
    );
    const human = await witnz("verify", name, "--config", table.configPath);
    expect(human).toMatchObject({
      code: 0,
      stdout: `${name}: ok, 500 rows checked\nverified 1 table: no tampering found\n`,
    });

    await admin.query(`UPDATE ${name} SET body = 'x' WHERE id = 8`);
    await admin.query(`DELETE FROM ${name} WHERE id = 9`);
    await admin.query(`INSERT INTO ${name} (id) VALUES (777)`);
    const tampered = await witnz("verify", "--config", table.configPath, "--json");
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toBe(
      `{"tables":[{"table":"${name}","ok":false,"rowsChecked":500,"modified":[["8"]],"deleted":[["9"]],"phantom":[["777"]]}]}\n`,
    );
    expect(tampered.stderr).toBe(`witnz: tampering found in ${name}\n`);
    const report = await witnz("verify", "--config", table.configPath);
    expect(report.code).toBe(1);
    expect(report.stdout).toBe(
      [
        `${name}: TAMPERED, 500 rows checked`,
        '  modified (1): ["8"]',
        '  deleted (1): ["9"]',
        '  phantom (1): ["777"]',
        "tampering found in 1 of 1 table",
        "",
      ].join("\n"),
    );

    const unknown = await witnz("verify", "nope", "--config", table.configPath);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      `witnz: public.nope is not a protected table of this node (protected: ${name})\n`,
    );
    const quick = await witnz("verify", "--quick", "--config", table.configPath);
    expect(quick.code).toBe(2);
    expect(quick.stderr).toContain("verify --quick needs witnz_nodes in the configuration");
  });

  test("a composite quoted table by name through the binary", async () => {
    const table = await compositeTable();
    await admin.query(`DELETE FROM ${table.layout.name} WHERE "Region" = 'eu' AND "Id" = 1`);
    const result = await witnz("verify", table.layout.name, "--config", table.configPath, "--json");
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      tables: [
        {
          table: table.layout.name,
          ok: false,
          rowsChecked: 149,
          modified: [],
          deleted: [["eu", "1"]],
          phantom: [],
        },
      ],
    });
  });
});

describe("pure parts", () => {
  test("SeenBitmap marks, reports repeats and lists the unmarked in order", () => {
    const bitmap = new SeenBitmap(19);
    for (const seq of [1, 2, 3, 4, 5, 6, 7, 8, 10, 19]) expect(bitmap.mark(seq)).toBe(false);
    expect(bitmap.mark(10)).toBe(true);
    expect([...bitmap.unmarked()]).toEqual([9, 11, 12, 13, 14, 15, 16, 17, 18]);
    expect(() => bitmap.mark(0)).toThrow(RangeError);
    expect(() => bitmap.mark(20)).toThrow(RangeError);
    expect([...new SeenBitmap(0).unmarked()]).toEqual([]);
  });

  test("compareLayouts names each kind of change", () => {
    const recorded: TableLayout = {
      name: "public.t",
      schema: "public",
      table: "t",
      relationId: 1,
      columns: ["id", "a", "b"],
      primaryKey: ["id"],
    };
    expect(
      compareLayouts(recorded, { columns: ["id", "a", "b"], primaryKey: ["id"] }),
    ).toBeUndefined();
    expect(
      compareLayouts(recorded, { columns: ["id", "b", "c", "a"], primaryKey: null })?.message,
    ).toBe("column c added; columns reordered; primary key changed from (id) to none");
    expect(
      compareLayouts(recorded, { columns: ["id"], primaryKey: ["id"] })?.columnsDropped,
    ).toEqual(["a", "b"]);
  });

  test("the JSON document has exactly the documented keys, schemaChange only when present", () => {
    const text = formatVerificationJson({
      tables: [
        { table: "public.t", ok: true, rowsChecked: 0, modified: [], deleted: [], phantom: [] },
      ],
    });
    expect(Object.keys(JSON.parse(text).tables[0])).toEqual([
      "table",
      "ok",
      "rowsChecked",
      "modified",
      "deleted",
      "phantom",
    ]);
  });
});

// Keeps the layout meta decodable the way verifyNode reads it.
test("init records the layout verify reads", async () => {
  const table = await compositeTable();
  const stored = await table.withStore(async (store) =>
    decodeTableLayout(store.meta(tableLayoutMetaName(table.layout.name))!),
  );
  expect(stored.columns).toEqual(["Region", "Id", "Note"]);
});
