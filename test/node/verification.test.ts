// Periodic verification in a running node, on a database whose default TimeZone, DateStyle and
// IntervalStyle differ from the pinned ones: concurrent writers are captured in full and verify
// clean (no false positive); an UPDATE is then found by the next periodic run, whose result,
// metrics and alert are kept.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WitnzConfig } from "../../src/config/index.js";
import {
  lastVerification,
  type RunningNode,
  startNode,
  type VerificationStatus,
  verificationMetaName,
} from "../../src/node/index.js";
import { connectSession, startTestPostgres, type TestPostgres } from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import { freePort, nodeConfig, recordingLogger, until } from "./helpers.js";

const TABLE = "public.events";
const WRITERS = 4;
const TRANSACTIONS_PER_WRITER = 50;
const ROWS_PER_TRANSACTION = 5;
const ROWS = WRITERS * TRANSACTIONS_PER_WRITER * ROWS_PER_TRANSACTION;

let server: TestPostgres;
let client: pg.Client;
let directory: string;
let config: WitnzConfig;
let node: RunningNode;
const verified: VerificationStatus[] = [];

beforeAll(async () => {
  server = await startTestPostgres({
    timeZone: "America/New_York",
    dateStyle: "SQL, DMY",
    settings: { IntervalStyle: "sql_standard", extra_float_digits: "0" },
  });
  client = await connectSession({ connectionString: server.connectionString });
  await client.query(`CREATE TABLE public.events (
      id bigint PRIMARY KEY, writer int NOT NULL, at timestamptz NOT NULL, day date NOT NULL,
      local timestamp NOT NULL, took interval NOT NULL, ratio float8 NOT NULL)`);
  directory = await mkdtemp(join(tmpdir(), "witnz-verification-"));
  config = nodeConfig({
    server,
    nodeId: "vnode",
    dataDir: join(directory, "data"),
    httpPort: await freePort(),
    tables: [{ name: "events", verifyInterval: "1s" }],
  });
  const init = await initNode(config);
  expect(init.checks.filter((check) => check.status === "fail")).toEqual([]);
  node = await startNode(config, {
    logger: recordingLogger(),
    onVerified: (status) => verified.push(status),
  });
});

afterAll(async () => {
  await node?.stop();
  await client?.end();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** A writer on its own connection with the server's own (unpinned) defaults. */
async function writer(index: number): Promise<void> {
  const own = new pg.Client({ connectionString: server.connectionString });
  await own.connect();
  try {
    for (let transaction = 0; transaction < TRANSACTIONS_PER_WRITER; transaction++) {
      const values: string[] = [];
      for (let row = 0; row < ROWS_PER_TRANSACTION; row++) {
        const id = (index * TRANSACTIONS_PER_WRITER + transaction) * ROWS_PER_TRANSACTION + row;
        values.push(
          `(${id + 1}, ${index}, now() - interval '${id} minutes', '23/11/2026', ` +
            `'23/11/2026 03:00:0${row}', interval '1 day ${id} seconds', ${id} / 7.0)`,
        );
      }
      await own.query(`INSERT INTO public.events VALUES ${values.join(",")}`);
    }
  } finally {
    await own.end();
  }
}

describe("periodic verification", () => {
  test("four concurrent writers: the chain holds every row and periodic verification is clean", async () => {
    await Promise.all(Array.from({ length: WRITERS }, (_, index) => writer(index)));
    await until(() => node.store.chainHead(TABLE)?.size === ROWS, `capture of ${ROWS} rows`);
    const count = await client.query<{ count: string }>("SELECT count(*) FROM public.events");
    expect(Number(count.rows[0]!.count)).toBe(ROWS);
    const clean = await until(
      () => verified.find((status) => status.rowsChecked === ROWS),
      "a periodic run over every row",
    );
    expect(clean).toMatchObject({ trigger: "interval", outcome: "clean", ok: true });
    expect(clean.modifiedRows + clean.deletedRows + clean.phantomRows).toBe(0);
    expect(node.store.meta(verificationMetaName(TABLE))).toBeDefined();
    const runs = await node.metrics.verificationRuns.get();
    const cleanRuns = runs.values.find((value) => value.labels.outcome === "clean");
    expect(cleanRuns?.value).toBeGreaterThanOrEqual(1);
    expect(runs.values.find((value) => value.labels.outcome === "tampered")).toBeUndefined();
  });

  test("an UPDATE is found by the next periodic run: stored result, metrics, one alert per finding set", async () => {
    const before = verified.length;
    await client.query("UPDATE public.events SET ratio = 42 WHERE id = 17");
    const first = await until(
      () => verified.slice(before).find((status) => status.outcome === "tampered"),
      "a periodic run that finds the UPDATE",
    );
    const second = await until(
      () => verified.slice(verified.indexOf(first) + 1).find((status) => status.table === TABLE),
      "the following periodic run",
    );
    expect(first).toMatchObject({
      ok: false,
      rowsChecked: ROWS,
      modifiedRows: 1,
      trigger: "interval",
    });
    expect(second.incidentId).toBe(first.incidentId);
    expect(lastVerification(node.store, TABLE)?.outcome).toBe("tampered");
    const alert = node.store.alert(first.incidentId!);
    expect(alert?.alert).toMatchObject({ kind: "verification_failed", table: TABLE });
    expect(alert?.alert.message).toContain('1 modified (["17"])');
    const mismatched = await node.metrics.verificationMismatchedRows.get();
    expect(mismatched.values).toContainEqual(
      expect.objectContaining({ labels: { table: TABLE, difference: "modified" }, value: 1 }),
    );
    const runs = await node.metrics.verificationRuns.get();
    const tampered = runs.values.find((value) => value.labels.outcome === "tampered");
    expect(tampered?.value).toBeGreaterThanOrEqual(2);
    // The UPDATE itself streamed and was alerted as an append-only violation too.
    expect(node.store.violationHead(TABLE)?.size).toBe(1);
  });
});
