// Primary keys capture must take care with, in a running node on a real PostgreSQL: keys too long
// to keep as they are (over 1024 encoded bytes; PostgreSQL accepts longer ones, compressible text
// far longer) are kept and reported in their digest form (capture goes on past them on every
// table, an UPDATE of one is alerted, verify finds one tampered); and a replica identity on
// other columns than the key, whose old key tuples carry no primary key.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parseConfig } from "../../src/config/index.js";
import { decodePrimaryKey } from "../../src/hash/index.js";
import { type RunningNode, startNode } from "../../src/node/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import { freePort, nodeConfigYaml, recordingLogger, until } from "./helpers.js";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const run = promisify(execFile);

let server: TestPostgres;
let client: pg.Client;
let directory: string;
let configPath: string;
let node: RunningNode;

/** The digest form's report: SHA-256 of the key's full encoding (one text value). */
function reportedDigest(text: string): string {
  const value = Buffer.from(text, "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  const encoding = Buffer.concat([Buffer.of(1, 0, 1, 1), length, value]);
  return `sha256:${createHash("sha256").update(encoding).digest("hex")}`;
}

const LONG = "x".repeat(1100);
// Compressible: PostgreSQL's index keeps it in a few hundred bytes.
const VERY_LONG = "y".repeat(200_000);

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query("CREATE TABLE public.long_keys (k text PRIMARY KEY, v text)");
  await client.query("CREATE TABLE public.plain (id int PRIMARY KEY)");
  await client.query(`CREATE TABLE public.by_code (id int PRIMARY KEY, code text UNIQUE NOT NULL);
    ALTER TABLE public.by_code REPLICA IDENTITY USING INDEX by_code_code_key`);
  directory = await mkdtemp(join(tmpdir(), "witnz-long-keys-"));
  const yaml = nodeConfigYaml({
    server,
    nodeId: "longkeys",
    dataDir: join(directory, "data"),
    httpPort: await freePort(),
    tables: [{ name: "long_keys" }, { name: "plain" }, { name: "by_code" }],
  });
  configPath = join(directory, "node.yaml");
  await writeFile(configPath, yaml);
  const config = parseConfig(yaml).config;
  const init = await initNode(config);
  expect(init.checks.filter((check) => check.status === "fail")).toEqual([]);
  node = await startNode(config, { logger: recordingLogger() });
});

afterAll(async () => {
  await node?.stop();
  await client?.end();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function verifyJson(): Promise<{ code: number; report: unknown }> {
  try {
    const { stdout } = await run(process.execPath, [
      BIN,
      "verify",
      "--config",
      configPath,
      "--json",
    ]);
    return { code: 0, report: JSON.parse(stdout) };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    if (failure.code !== 1) throw new Error(`verify exited ${failure.code}: ${failure.stderr}`);
    return { code: 1, report: JSON.parse(failure.stdout) };
  }
}

test("rows with keys over 1024 bytes are captured, alerted and verified by the key's digest", async () => {
  await client.query("INSERT INTO public.long_keys VALUES ('short', 'a'), ($1, 'b'), ($2, 'c')", [
    LONG,
    VERY_LONG,
  ]);
  await client.query("INSERT INTO public.plain VALUES (1), (2)");
  await until(
    () =>
      node.store.chainHead("public.long_keys")?.size === 3 &&
      node.store.chainHead("public.plain")?.size === 2,
    "every row of both tables captured",
  );
  const clean = await verifyJson();
  expect(clean).toEqual({
    code: 0,
    report: {
      tables: [
        {
          table: "public.long_keys",
          ok: true,
          rowsChecked: 3,
          modified: [],
          deleted: [],
          phantom: [],
        },
        { table: "public.plain", ok: true, rowsChecked: 2, modified: [], deleted: [], phantom: [] },
        {
          table: "public.by_code",
          ok: true,
          rowsChecked: 0,
          modified: [],
          deleted: [],
          phantom: [],
        },
      ],
    },
  });

  // The dashboard finds a long-keyed row by the key verify and alerts report.
  const entry = async (pk: string) => {
    const url = `${node.httpUrl}/api/v1/entry?table=public.long_keys&pk=${encodeURIComponent(pk)}`;
    return (await (await fetch(url)).json()) as { found: boolean; entry?: { seq: number } };
  };
  expect(await entry(reportedDigest(LONG))).toMatchObject({ found: true, entry: { seq: 2 } });
  expect(await entry("short")).toMatchObject({ found: true, entry: { seq: 1 } });

  // An UPDATE of a long-keyed row is an append-only violation naming the key's digest.
  await client.query("UPDATE public.long_keys SET v = 'forged' WHERE k = $1", [LONG]);
  await client.query("INSERT INTO public.plain VALUES (3)");
  const violation = await until(() => {
    const head = node.store.violationHead("public.long_keys");
    return head === undefined
      ? undefined
      : [...node.store.violations("public.long_keys", head.size, head.size)][0];
  }, "the UPDATE recorded as a violation");
  expect(violation.record.kind).toBe("update");
  expect(decodePrimaryKey(violation.record.primaryKey!)).toEqual([reportedDigest(LONG)]);
  await until(() => node.store.chainHead("public.plain")?.size === 3, "capture going on");

  const tampered = await verifyJson();
  expect(tampered.code).toBe(1);
  expect(tampered.report).toMatchObject({
    tables: [
      { table: "public.long_keys", ok: false, modified: [[reportedDigest(LONG)]] },
      { table: "public.plain", ok: true, rowsChecked: 3 },
      { table: "public.by_code", ok: true },
    ],
  });
  await client.query("DELETE FROM public.long_keys WHERE k = $1", [VERY_LONG]);
  const deleted = await verifyJson();
  expect(deleted.report).toMatchObject({
    tables: [
      {
        table: "public.long_keys",
        modified: [[reportedDigest(LONG)]],
        deleted: [[reportedDigest(VERY_LONG)]],
      },
      { table: "public.plain", ok: true },
      { table: "public.by_code", ok: true },
    ],
  });
});

test("with a replica identity on other columns, no violation names a key it cannot know (never NULL, never another row's)", async () => {
  await client.query("INSERT INTO public.by_code VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  await until(() => node.store.chainHead("public.by_code")?.size === 3, "the rows captured");
  // The identity (code) changes: the old key tuple carries code, and NULL for id.
  await client.query("UPDATE public.by_code SET code = 'changed' WHERE id = 3");
  await client.query("DELETE FROM public.by_code WHERE id = 2");
  // The key changes and the identity does not: no old image at all; the new key is 2, which
  // is the deleted row's, not this row's.
  await client.query("UPDATE public.by_code SET id = 2 WHERE id = 1");
  const recorded = await until(() => {
    const head = node.store.violationHead("public.by_code");
    return head?.size === 3 ? [...node.store.violations("public.by_code", 1, 3)] : undefined;
  }, "the UPDATEs and the DELETE recorded");
  expect(
    recorded.map(({ record }) => [
      record.kind,
      record.primaryKey === undefined ? undefined : decodePrimaryKey(record.primaryKey),
    ]),
  ).toEqual([
    ["update", undefined],
    ["delete", undefined],
    ["update", undefined],
  ]);
});
