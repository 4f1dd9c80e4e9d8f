// The dashboard API over a real LMDB store on a real port: tables, the alert timeline, entry
// lookups with inclusion proofs that verify against the signed checkpoint, the loopback-or-token
// rule, and the built app's files.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type AlertList,
  bytesToHex,
  type DashboardSource,
  decideAccess,
  type EntryLookup,
  hexToBytes,
  IngestSampler,
  isLoopbackAddress,
  type Overview,
  registerDashboard,
  type StoreDashboardSourceOptions,
  storeDashboardSource,
} from "../../src/dashboard/index.js";
import { encodePrimaryKey } from "../../src/hash/index.js";
import { createNodeMetrics, type HttpServer, startHttpServer } from "../../src/http/index.js";
import { leafHash, verifyInclusion } from "../../src/merkle/index.js";
import { verificationMetaName } from "../../src/node/index.js";
import { appendRows, openTemporaryStore, rowHash, type StoreFixture } from "./store-fixture.js";

const TABLE = "public.audit_log";
const OTHER = '"Billing"."Ledger"';
const TOKEN = "s3cret-dashboard-token";

let fixture: StoreFixture;
let assetsDirectory: string;
let source: DashboardSource;
let server: HttpServer;
let root: Uint8Array;
const sampler = new IngestSampler({ nowMs: () => Date.parse("2026-01-01T12:00:10Z") });

async function get<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${path}`, init);
  return { status: response.status, body: (await response.json()) as T };
}

beforeAll(async () => {
  fixture = await openTemporaryStore();
  const { store } = fixture;
  root = await appendRows(
    store,
    TABLE,
    Array.from({ length: 10 }, (_, index) => String(index + 1)),
  );
  // Two more rows that no checkpoint covers yet.
  await appendRows(store, TABLE, ["11", "12"], { checkpoint: false });
  const batch = store.batch();
  batch.appendViolation(TABLE, {
    kind: "update",
    lsn: 0x3a1f2b8n,
    commitTimeUnixMicroseconds: 1_767_268_805_000_000n,
    xid: 771,
    primaryKey: encodePrimaryKey(["7"]),
    oldDataHash: rowHash(TABLE, "7"),
    newDataHash: rowHash(TABLE, "7 changed"),
    detail: "{}",
  });
  batch.setMeta(
    verificationMetaName(TABLE),
    Buffer.from(
      JSON.stringify({
        table: TABLE,
        finishedAt: "2026-01-01T12:00:08.000Z",
        outcome: "tampered",
        ok: false,
        rowsChecked: 12,
        modifiedRows: 1,
        deletedRows: 0,
        phantomRows: 0,
        incidentId: "n1/public.audit_log/verify/abc",
      }),
    ),
  );
  batch.enqueueAlert({
    id: "n1/public.audit_log/verify/abc",
    kind: "verification_failed",
    severity: "critical",
    node: "n1",
    table: TABLE,
    detectedAt: "2026-01-01T12:00:08.000Z",
    message: 'verification of public.audit_log found 1 modified row: ["7"]',
  });
  await store.commit(batch);
  sampler.recordRows(12);
  await sampler.sample();

  assetsDirectory = await mkdtemp(join(tmpdir(), "witnz-dashboard-assets-"));
  await mkdir(join(assetsDirectory, "assets"));
  await writeFile(join(assetsDirectory, "index.html"), "<!doctype html><title>Witnz</title>");
  await writeFile(join(assetsDirectory, "assets", "index-abc.js"), "console.log(1)");

  source = storeDashboardSource({
    store,
    nodeId: "n1",
    verifierKey: "witnz/dashboard-test/node/n1+0a0b0c0d+AQ==",
    tables: [TABLE, OTHER],
    readiness: () => ({ ready: false, reasons: ["replication is connecting"] }),
    verificationMetaName,
    sampler,
    now: () => new Date("2026-01-01T12:00:10Z"),
  });
  server = await startHttpServer({
    host: "127.0.0.1",
    port: 0,
    readiness: () => ({ ready: true, reasons: [] }),
    registry: createNodeMetrics().registry,
    dashboard: { source, token: TOKEN, assetsDirectory },
  });
});

/** Node n1 of a cluster, ready, over the fixture's store, with the cluster's view given. */
function clusterMember(
  cluster: Pick<StoreDashboardSourceOptions, "clusterVerification" | "clusterAlerts">,
): DashboardSource {
  return storeDashboardSource({
    store: fixture.store,
    nodeId: "n1",
    tables: [TABLE],
    readiness: () => ({ ready: true, reasons: [] }),
    verificationMetaName,
    ...cluster,
  });
}

afterAll(async () => {
  await server?.close();
  await fixture?.close();
  if (assetsDirectory) await rm(assetsDirectory, { recursive: true, force: true });
});

describe("dashboard API", () => {
  test("overview: the node, its health, and every table's chain, root, lag and verification", async () => {
    const { status, body } = await get<Overview>("/api/v1/overview");
    expect(status).toBe(200);
    expect(body.node).toEqual({
      id: "n1",
      role: "raft",
      verifierKey: "witnz/dashboard-test/node/n1+0a0b0c0d+AQ==",
    });
    expect(body.cluster).toEqual({
      term: null,
      leaderId: "n1",
      nodes: [
        {
          id: "n1",
          role: "raft",
          state: "standalone",
          isLeader: true,
          self: true,
          health: { state: "not_ready", reasons: ["replication is connecting"] },
        },
      ],
    });
    expect(body.alertsPending).toBe(1);
    const [audit, ledger] = body.tables;
    expect(audit).toMatchObject({
      table: TABLE,
      chainLength: 12,
      checkpoint: {
        size: 10,
        rootHash: bytesToHex(root),
        lsn: "0/3E8",
        time: "2026-01-01T12:00:00.000Z",
      },
      lag: { bytes: null, secondsSinceCheckpoint: 10 },
      violations: 1,
      lastVerification: {
        time: "2026-01-01T12:00:08.000Z",
        node: "n1",
        outcome: "tampered",
        ok: false,
        rowsChecked: 12,
        modified: 1,
        deleted: 0,
        phantom: 0,
        error: null,
      },
    });
    expect(audit!.headHash).toMatch(/^[0-9a-f]{64}$/);
    expect(ledger).toEqual({
      table: OTHER,
      chainLength: 0,
      headHash: null,
      checkpoint: null,
      lag: { bytes: null, secondsSinceCheckpoint: null },
      violations: 0,
      lastVerification: null,
    });
  });

  test("a cluster member shows the newest verification of any member", async () => {
    const replicated = (time: string) => ({
      time,
      node: "n3",
      outcome: "clean" as const,
      ok: true,
      rowsChecked: 12,
      modified: 0,
      deleted: 0,
      phantom: 0,
      error: null,
    });
    const member = (time: string) =>
      clusterMember({
        clusterVerification: (table) => (table === TABLE ? replicated(time) : null),
      });
    const lastOf = async (time: string) =>
      (await member(time).overview()).tables.find((table) => table.table === TABLE)
        ?.lastVerification;
    // n3 verified after this node's own (tampered) run: n3's clean run is the last one.
    expect(await lastOf("2026-01-01T12:00:09.000Z")).toEqual(
      replicated("2026-01-01T12:00:09.000Z"),
    );
    // Older than this node's own run: its own stays.
    expect(await lastOf("2026-01-01T12:00:07.000Z")).toMatchObject({
      node: "n1",
      outcome: "tampered",
    });
  });

  test("a cluster member's timeline: the replicated incidents, and what it has not relayed yet", async () => {
    const incident = {
      id: `${TABLE}/0/3A1F2B8/0`,
      reporters: ["n1", "n2", "n3"],
      kind: "append_only_violation",
      severity: "critical" as const,
      node: "n2",
      table: TABLE,
      operation: "UPDATE",
      primaryKey: ["7"],
      lsn: "0/3A1F2B8",
      time: "2026-01-01T12:00:05.000Z",
      message: "UPDATE on append-only table",
    };
    const member = (replicated: (typeof incident)[]) =>
      clusterMember({ clusterAlerts: async () => replicated });
    // The fixture's verification incident is still in this node's outbox, not in the cluster.
    const pendingId = "n1/public.audit_log/verify/abc";
    const timeline = (await member([incident]).alerts(10)).alerts;
    expect(timeline.map((event) => [event.id, event.reporters])).toEqual([
      [pendingId, ["n1"]],
      [incident.id, ["n1", "n2", "n3"]],
    ]);
    // Once the cluster holds it, it is shown once, as the cluster holds it.
    const relayed = { ...incident, id: pendingId, time: "2026-01-01T12:00:08.000Z" };
    expect((await member([relayed, incident]).alerts(10)).alerts.map((e) => e.id)).toEqual([
      pendingId,
      incident.id,
    ]);
  });

  test("alerts: the violation log and the verification incident, newest first", async () => {
    const { status, body } = await get<AlertList>("/api/v1/alerts?limit=10");
    expect(status).toBe(200);
    expect(body.alerts).toEqual([
      {
        id: "n1/public.audit_log/verify/abc",
        reporters: ["n1"],
        kind: "verification_failed",
        severity: "critical",
        node: "n1",
        table: TABLE,
        operation: null,
        primaryKey: null,
        lsn: null,
        time: "2026-01-01T12:00:08.000Z",
        message: 'verification of public.audit_log found 1 modified row: ["7"]',
      },
      {
        id: "n1/public.audit_log/violation/1",
        reporters: ["n1"],
        kind: "append_only_violation",
        severity: "critical",
        node: "n1",
        table: TABLE,
        operation: "UPDATE",
        primaryKey: ["7"],
        lsn: "0/3A1F2B8",
        time: "2026-01-01T12:00:05.000Z",
        message:
          'UPDATE on append-only table public.audit_log on primary key ["7"] (violation #1, xid 771)',
      },
    ]);
    expect((await get<AlertList>("/api/v1/alerts?limit=1")).body.alerts).toHaveLength(1);
  });

  test("entry by seq and by primary key: the inclusion proof verifies against the checkpoint", async () => {
    const bySeq = await get<EntryLookup>(`/api/v1/entry?table=${encodeURIComponent(TABLE)}&seq=7`);
    expect(bySeq.status).toBe(200);
    const byKey = await get<EntryLookup>(`/api/v1/entry?table=${encodeURIComponent(TABLE)}&pk=7`);
    expect(byKey.body).toEqual(bySeq.body);
    const lookup = bySeq.body;
    if (!lookup.found || lookup.proof === null || lookup.checkpoint === null) {
      throw new Error(`expected a proven entry, got ${JSON.stringify(lookup)}`);
    }
    expect(lookup.entry).toMatchObject({
      seq: 7,
      dataHash: bytesToHex(rowHash(TABLE, "7")),
      lsn: "0/2BC",
      primaryKey: ["7"],
    });
    expect(lookup.proof.leafIndex).toBe(6);
    expect(lookup.proof.treeSize).toBe(10);
    expect(lookup.checkpoint.text).toMatch(/^witnz\/dashboard-test\/public\.audit_log\n10\n/);
    expect(
      verifyInclusion(
        leafHash(hexToBytes(lookup.entry.dataHash)),
        lookup.proof.leafIndex,
        lookup.proof.treeSize,
        lookup.proof.hashes.map(hexToBytes),
        root,
      ),
    ).toBe(true);
  });

  test("entry past the latest checkpoint, unknown keys and tables, and bad queries", async () => {
    const table = encodeURIComponent(TABLE);
    const uncovered = await get<EntryLookup>(`/api/v1/entry?table=${table}&seq=12`);
    expect(uncovered.body).toMatchObject({ found: true, proof: null, checkpoint: null });
    expect((await get<EntryLookup>(`/api/v1/entry?table=${table}&seq=13`)).body).toEqual({
      found: false,
      table: TABLE,
      reason: "public.audit_log has no entry 13: its chain holds 12",
    });
    expect((await get<EntryLookup>(`/api/v1/entry?table=${table}&pk=99`)).body).toEqual({
      found: false,
      table: TABLE,
      reason: 'public.audit_log has no entry with primary key ["99"]',
    });
    expect((await get<EntryLookup>("/api/v1/entry?table=public.nothing&seq=1")).body).toEqual({
      found: false,
      table: "public.nothing",
      reason: "public.nothing is not a protected table of n1",
    });
    for (const query of [
      `table=${table}`,
      `table=${table}&seq=0`,
      `table=${table}&seq=1&pk=1`,
      "seq=1",
    ]) {
      const answer = await get<{ error: string }>(`/api/v1/entry?${query}`);
      expect([query, answer.status, answer.body.error]).toEqual([query, 400, "bad_query"]);
    }
    expect((await get<{ error: string }>("/api/v1/nothing")).status).toBe(404);
  });

  test("series and witnesses", async () => {
    const series = await get<{ points: unknown[] }>("/api/v1/series");
    expect(series.body.points).toEqual([
      { time: "2026-01-01T12:00:10.000Z", rowsPerSecond: expect.any(Number), lagBytes: null },
    ]);
    expect((await get("/api/v1/witnesses")).body).toEqual({ verdicts: [], unreachable: [] });
  });

  test("the built app is served at / and its assets under /assets/", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain("<title>Witnz</title>");
    const script = await fetch(`${server.url}/assets/index-abc.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    // Health and metrics are unchanged by the dashboard.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("dashboard access rule", () => {
  test("loopback addresses", () => {
    for (const address of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
      expect([address, isLoopbackAddress(address)]).toEqual([address, true]);
    }
    for (const address of ["10.0.0.5", "::ffff:10.0.0.5", "128.0.0.1", "fe80::1", undefined]) {
      expect([address, isLoopbackAddress(address)]).toEqual([address, false]);
    }
  });

  test("loopback needs nothing; elsewhere the bearer token, and without one nothing at all", async () => {
    expect(decideAccess("127.0.0.1", undefined, undefined)).toEqual({ allowed: true });
    expect(decideAccess("10.0.0.5", `Bearer ${TOKEN}`, TOKEN)).toEqual({ allowed: true });
    expect(decideAccess("10.0.0.5", "Bearer wrong", TOKEN)).toMatchObject({ status: 401 });
    expect(decideAccess("10.0.0.5", undefined, TOKEN)).toMatchObject({ status: 401 });
    expect(decideAccess("10.0.0.5", `Bearer ${TOKEN}`, undefined)).toMatchObject({ status: 403 });

    for (const token of [TOKEN, undefined]) {
      const app = Fastify();
      registerDashboard(app, {
        source,
        assetsDirectory,
        ...(token === undefined ? {} : { token }),
      });
      const ask = (remoteAddress: string, authorization?: string) =>
        app.inject({
          method: "GET",
          url: "/api/v1/overview",
          remoteAddress,
          headers: authorization === undefined ? {} : { authorization },
        });
      expect((await ask("127.0.0.1")).statusCode).toBe(200);
      const anonymous = await ask("10.0.0.5");
      expect(anonymous.statusCode).toBe(token === undefined ? 403 : 401);
      expect(anonymous.json()).toMatchObject({ error: "unauthorized" });
      expect((await ask("10.0.0.5", "Bearer wrong")).statusCode).toBe(
        token === undefined ? 403 : 401,
      );
      expect((await ask("10.0.0.5", `Bearer ${TOKEN}`)).statusCode).toBe(
        token === undefined ? 403 : 200,
      );
      // The app's files hold no data: they are served to anyone.
      expect((await app.inject({ url: "/", remoteAddress: "10.0.0.5" })).statusCode).toBe(200);
      await app.close();
    }
  });

  test("without a built app, / says how to build it", async () => {
    const empty = await mkdtemp(join(tmpdir(), "witnz-dashboard-empty-"));
    try {
      const app = Fastify();
      expect(() => registerDashboard(app, { source, assetsDirectory: empty })).toThrow(
        /no built dashboard/,
      );
      await app.close();
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
