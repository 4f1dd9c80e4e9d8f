// One transaction of a million rows through a real `witnz start` process: every row captured,
// one signed checkpoint at the transaction's end, and the node's resident memory stays bounded
// (batches of BATCH_CHANGES_MAX rows, a byte-bounded stream queue).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { openStore } from "../../src/store/index.js";
import { witnz } from "../verify/helpers.js";
import { freePort, nodeConfigYaml, until } from "./helpers.js";

const BIN = new URL("../../dist/src/cli/bin.js", import.meta.url).pathname;
const ROWS = 1_000_000;
/**
 * The bound on the node's own memory while it ingests the transaction: anonymous resident memory
 * (heap, stream queue, batches). File pages of the LMDB map that the node has read are also
 * resident but belong to the page cache; they are bounded by the store's size and reported.
 */
const NODE_ANONYMOUS_RSS_BYTES_MAX = 600 * 1024 * 1024;

let server: TestPostgres;
let client: pg.Client;
let directory: string;
let configPath: string;
let dataDir: string;
let httpPort: number;
let child: ChildProcess | undefined;

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query(
    "CREATE TABLE public.readings (id bigint PRIMARY KEY, sensor int, value float8)",
  );
  directory = await mkdtemp(join(tmpdir(), "witnz-million-"));
  dataDir = join(directory, "data");
  httpPort = await freePort();
  configPath = join(directory, "node.yaml");
  await writeFile(
    configPath,
    nodeConfigYaml({ server, nodeId: "mnode", dataDir, httpPort, tables: [{ name: "readings" }] }),
  );
  const init = await witnz("init", "--config", configPath);
  expect(init.code, init.stdout + init.stderr).toBe(0);
});

afterAll(async () => {
  child?.kill("SIGKILL");
  await client?.end();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** Resident bytes, all and anonymous only, from the kernel's view of the process. */
async function residentBytes(processId: number): Promise<{ total: number; anonymous: number }> {
  const status = await readFile(`/proc/${processId}/status`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { total: field("VmRSS"), anonymous: field("RssAnon") };
}

async function rowsCaptured(): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const line = /^witnz_rows_captured_total\{[^}]*\} (\d+)$/m.exec(text);
    return line === null ? 0 : Number(line[1]);
  } catch {
    return undefined;
  }
}

describe("a 1M-row transaction", () => {
  test("is captured in full with the node's RSS under its bound", {
    timeout: 120_000,
  }, async () => {
    const node = spawn(process.execPath, [BIN, "start", "--config", configPath], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    child = node;
    const processId = node.pid!;
    await until(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200 || undefined;
      } catch {
        return undefined;
      }
    }, "the node to be ready");

    const rssBytesMax = await residentBytes(processId);
    const sampler = setInterval(() => {
      residentBytes(processId).then(
        (bytes) => {
          rssBytesMax.total = Math.max(rssBytesMax.total, bytes.total);
          rssBytesMax.anonymous = Math.max(rssBytesMax.anonymous, bytes.anonymous);
        },
        () => undefined,
      );
    }, 100);
    const startedAtMs = Date.now();
    try {
      await client.query(
        `INSERT INTO public.readings SELECT g, g % 97, g / 3.0 FROM generate_series(1, ${ROWS}) g`,
      );
      const committedMs = Date.now() - startedAtMs;
      await until(
        async () => ((await rowsCaptured()) ?? 0) >= ROWS || undefined,
        "capture",
        100_000,
      );
      const capturedMs = Date.now() - startedAtMs;
      console.info(
        `1M rows: committed in ${committedMs} ms, captured in ${capturedMs} ms, node RSS max ${Math.round(rssBytesMax.total / 1048576)} MiB ` +
          `(anonymous ${Math.round(rssBytesMax.anonymous / 1048576)} MiB)`,
      );
    } finally {
      clearInterval(sampler);
    }
    expect(rssBytesMax.anonymous).toBeGreaterThan(0);
    expect(rssBytesMax.anonymous).toBeLessThan(NODE_ANONYMOUS_RSS_BYTES_MAX);

    node.kill("SIGTERM");
    expect(await new Promise((resolve) => node.once("exit", resolve))).toBe(0);
    child = undefined;
    const store = await openStore(dataDir);
    try {
      expect(store.chainHead("public.readings")?.size).toBe(ROWS);
      // A checkpoint is signed only at a transaction boundary: the one at the end covers it all.
      expect(store.latestCheckpoint("public.readings")?.size).toBe(ROWS);
      expect(store.chainEntry("public.readings", ROWS)?.seq).toBe(ROWS);
    } finally {
      await store.close();
    }
  });
});
