// Gaps on a real PostgreSQL: the node's slot dropped, or advanced by someone else, while the node
// was down. On restart the node records a signed gap entry per protected table, alerts
// `replication_gap`, verifies every table and pinpoints the rows tampered with during the gap.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CAPTURE_CONFIRMED_LSN_META, CAPTURE_LSN_META } from "../../src/capture/index.js";
import {
  noteVerifier,
  parseNote,
  SIGNATURE_TYPE_ED25519,
  verifyNote,
} from "../../src/checkpoint/index.js";
import { RESTORE_STARTED_META } from "../../src/cluster-node/index.js";
import type { WitnzConfig } from "../../src/config/index.js";
import { loadOrCreateNodeKey } from "../../src/keys/index.js";
import {
  clusterOrigin,
  lastVerification,
  type RunningNode,
  startNode,
  type VerificationStatus,
} from "../../src/node/index.js";
import {
  connectSession,
  formatLsn,
  maxLsn,
  parseLsn,
  readReplicationSlot,
  startTestPostgres,
  type TestPostgres,
  toLsn,
} from "../../src/postgres/index.js";
import { initNode } from "../../src/setup/index.js";
import { openStore, type WitnzStore } from "../../src/store/index.js";
import { dropSlotWhenFree, freePort, nodeConfig, recordingLogger, until } from "./helpers.js";

const TABLE = "public.audit_log";
const SLOT = "witnz_gapnode";
let server: TestPostgres;
let client: pg.Client;
let directory: string;
let config: WitnzConfig;

beforeAll(async () => {
  server = await startTestPostgres();
  client = await connectSession({ connectionString: server.connectionString });
  await client.query(
    "CREATE TABLE public.audit_log (id bigint PRIMARY KEY, actor text NOT NULL, at timestamptz DEFAULT now())",
  );
  await client.query("CREATE TABLE public.empty_log (id bigint PRIMARY KEY)");
  directory = await mkdtemp(join(tmpdir(), "witnz-gap-"));
  config = nodeConfig({
    server,
    nodeId: "gapnode",
    dataDir: join(directory, "data"),
    httpPort: await freePort(),
    tables: [{ name: "audit_log" }, { name: "empty_log" }],
  });
  const init = await initNode(config);
  expect(init.checks.filter((check) => check.status === "fail")).toEqual([]);
});

afterAll(async () => {
  await client?.end();
  await server?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

interface Started {
  readonly node: RunningNode;
  readonly verified: VerificationStatus[];
}

/** A node of its own (its own data directory and slot) on the same server, protecting `table`. */
async function anotherNode(nodeId: string, table: string): Promise<WitnzConfig> {
  return nodeConfig({
    server,
    nodeId,
    dataDir: join(directory, nodeId, "data"),
    httpPort: await freePort(),
    tables: [{ name: table }],
  });
}

async function start(): Promise<Started> {
  const verified: VerificationStatus[] = [];
  const node = await startNode(config, {
    logger: recordingLogger(),
    onVerified: (status) => verified.push(status),
  });
  return { node, verified };
}

/** What the stopped node stored as recorded or confirmed: where a gap starts. */
async function knownLsn(): Promise<bigint> {
  const store = await openStore(config.node.dataDir);
  try {
    const read = (name: string) => toLsn(Buffer.from(store.meta(name)!).readBigUInt64BE(0));
    return maxLsn(read(CAPTURE_LSN_META), read(CAPTURE_CONFIRMED_LSN_META));
  } finally {
    await store.close();
  }
}

function gapEntries(store: WitnzStore, table: string) {
  const size = store.violationHead(table)?.size ?? 0;
  return [...store.violations(table, 1, size)].filter((entry) => entry.record.kind === "gap");
}

async function verifier() {
  const keyName = `${clusterOrigin(config)}/node/gapnode`;
  const { privateKey } = await loadOrCreateNodeKey(config.node.keyFile!, keyName);
  return noteVerifier(keyName, SIGNATURE_TYPE_ED25519, privateKey);
}

describe("replication gaps", () => {
  test("slot dropped while the node is down: signed gap per table, replication_gap alert, verification pinpoints the tampering", async () => {
    let { node } = await start();
    await client.query(
      "INSERT INTO public.audit_log (id, actor) SELECT g, 'user-' || g FROM generate_series(1, 20) g",
    );
    await until(() => node.store.chainHead(TABLE)?.size === 20, "capture of 20 rows");
    await node.stop();

    const stored = await knownLsn();
    await dropSlotWhenFree(client, SLOT);
    // Tampering the node cannot stream: the slot that would have carried it is gone.
    await client.query("UPDATE public.audit_log SET actor = 'mallory' WHERE id = 7");
    await client.query("DELETE FROM public.audit_log WHERE id = 3");
    await client.query("INSERT INTO public.audit_log (id, actor) VALUES (999, 'ghost')");

    const restarted = await start();
    node = restarted.node;
    const status = await until(
      () => restarted.verified.find((entry) => entry.table === TABLE),
      "the verification after the gap",
    );
    expect(status).toMatchObject({
      table: TABLE,
      trigger: "gap",
      outcome: "tampered",
      ok: false,
      rowsChecked: 20,
      modifiedRows: 1,
      deletedRows: 1,
      phantomRows: 1,
    });
    expect(lastVerification(node.store, TABLE)).toEqual(status);

    const slot = await readReplicationSlot(client, SLOT);
    expect(slot).toBeDefined();
    const key = await verifier();
    for (const table of [TABLE, "public.empty_log"]) {
      const [gap, ...more] = gapEntries(node.store, table);
      expect(more).toEqual([]);
      const detail = JSON.parse(gap!.record.detail) as Record<string, string>;
      expect(detail.reason).toBe("slot_missing");
      expect(parseLsn(detail.fromLsn!)).toBe(toLsn(stored));
      const toLsnValue = parseLsn(detail.toLsn!);
      expect(toLsnValue).toBeGreaterThan(stored);
      expect(toLsnValue).toBeLessThanOrEqual(slot!.confirmedFlushLsn!);
      expect(gap!.record.lsn).toBe(toLsnValue);
      // The gap note is signed by the node's key and names the gap and the heads before it.
      const note = parseNote(detail.note!);
      expect(verifyNote(note, [key])).toHaveLength(1);
      expect(note.text).toContain(`witnz-gap slot_missing\nwitnz-gap-from ${detail.fromLsn}\n`);
      expect(note.text).toContain(`witnz-table ${JSON.stringify(table)}\n`);
      expect(note.text).toContain(`witnz-chain ${table === TABLE ? 20 : 0} `);
      const alert = node.store.alert(`gapnode/${table}/gap/${detail.fromLsn}/${detail.toLsn}`);
      expect(alert?.alert).toMatchObject({ kind: "replication_gap", severity: "critical", table });
    }
    const failed = node.store.alert(status.incidentId!);
    expect(failed?.alert.kind).toBe("verification_failed");
    expect(failed?.alert.message).toContain('1 modified (["7"])');
    expect(failed?.alert.message).toContain('1 deleted (["3"])');
    expect(failed?.alert.message).toContain('1 phantom (["999"])');
    const runs = await node.metrics.verificationRuns.get();
    expect(runs.values).toContainEqual(
      expect.objectContaining({ labels: { table: TABLE, outcome: "tampered" }, value: 1 }),
    );

    // Streaming resumed from the new slot, and a second restart records no second gap.
    await client.query("INSERT INTO public.audit_log (id, actor) VALUES (21, 'after')");
    await until(() => node.store.chainHead(TABLE)?.size === 21, "capture after the gap");
    await node.stop();
    node = (await start()).node;
    await until(() => node.readiness().ready, "readiness after a clean restart");
    expect(gapEntries(node.store, TABLE)).toHaveLength(1);
    await node.stop();
  });

  test("slot advanced past what the node stored: a slot_advanced gap, and the skipped row is found", async () => {
    await client.query("INSERT INTO public.audit_log (id, actor) VALUES (1000, 'skipped')");
    // Someone consumes the node's slot while it is down.
    await until(async () => {
      try {
        await client.query("SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())", [SLOT]);
        return true;
      } catch {
        return undefined;
      }
    }, "the slot to be advanced");
    const advancedTo = (await readReplicationSlot(client, SLOT))!.confirmedFlushLsn!;
    const { node, verified } = await start();
    const status = await until(
      () => verified.find((entry) => entry.table === TABLE),
      "the verification after the gap",
    );
    const gaps = gapEntries(node.store, TABLE);
    expect(gaps).toHaveLength(2);
    const detail = JSON.parse(gaps[1]!.record.detail) as Record<string, string>;
    expect(detail.reason).toBe("slot_advanced");
    expect(detail.toLsn).toBe(formatLsn(advancedTo));
    expect(status.trigger).toBe("gap");
    expect(status.phantomRows).toBe(2);
    expect(node.store.alert(status.incidentId!)?.alert.message).toContain('["1000"]');
    await node.stop();
  });

  test("slot dropped after witnz init, before the node ever started: a gap from init's baseline", async () => {
    await client.query("CREATE TABLE public.fresh_log (id bigint PRIMARY KEY, actor text)");
    const fresh = await anotherNode("freshnode", "fresh_log");
    const lines: string[] = [];
    const init = await initNode(fresh, { out: (line) => lines.push(line) });
    expect(init.ok).toBe(true);
    const slotAtInit = (await readReplicationSlot(client, "witnz_freshnode"))!.confirmedFlushLsn!;
    expect(lines).toContain(
      `ok   capture baseline ${formatLsn(slotAtInit)} (the slot's position) recorded`,
    );
    const store = await openStore(fresh.node.dataDir);
    const baseline = toLsn(Buffer.from(store.meta(CAPTURE_CONFIRMED_LSN_META)!).readBigUInt64BE(0));
    await store.close();
    expect(baseline).toBe(slotAtInit);
    // A second init keeps the baseline: it is where the node's knowledge starts.
    await client.query("INSERT INTO public.fresh_log VALUES (1, 'seen by the slot')");
    expect((await initNode(fresh)).changed).toBe(false);

    // Someone drops the slot before the node's first start, hiding what it carried.
    await dropSlotWhenFree(client, "witnz_freshnode");
    await client.query("INSERT INTO public.fresh_log VALUES (2, 'in the gap')");

    const verified: VerificationStatus[] = [];
    const node = await startNode(fresh, {
      logger: recordingLogger(),
      onVerified: (status) => verified.push(status),
    });
    try {
      const status = await until(
        () => verified.find((entry) => entry.table === "public.fresh_log"),
        "the verification after the gap",
      );
      expect(status).toMatchObject({ trigger: "gap", outcome: "tampered", phantomRows: 2 });
      const [gap, ...more] = gapEntries(node.store, "public.fresh_log");
      expect(more).toEqual([]);
      const detail = JSON.parse(gap!.record.detail) as Record<string, string>;
      expect(detail.reason).toBe("slot_missing");
      expect(parseLsn(detail.fromLsn!)).toBe(slotAtInit);
      const alert = node.store.alert(
        `freshnode/public.fresh_log/gap/${detail.fromLsn}/${detail.toLsn}`,
      );
      expect(alert?.alert).toMatchObject({ kind: "replication_gap", severity: "critical" });
    } finally {
      await node.stop();
    }
  });

  test("a store left part way by a restore that was killed: the node refuses to start on it", async () => {
    const partial = await anotherNode("partialnode", "audit_log");
    const store = await openStore(partial.node.dataDir);
    const batch = store.batch();
    // What witnz restore writes before a seed's first entry, and clears when the restore is done.
    batch.setMeta(
      RESTORE_STARTED_META,
      Buffer.from(JSON.stringify({ from: "n2", at: "2026-11-23T00:00:00.000Z" })),
    );
    await store.commit(batch);
    await store.close();
    await expect(startNode(partial, { logger: recordingLogger() })).rejects.toMatchObject({
      code: "WITNZ_NODE_RESTORE_UNFINISHED",
      message: expect.stringContaining("a restore from n2 (started 2026-11-23T00:00:00.000Z)"),
    });
  });

  test("a slot still being created elsewhere: init leaves the baseline to the node, which waits for the slot's position", async () => {
    const slotName = "witnz_slownode";
    const slow = await anotherNode("slownode", "audit_log");
    await client.query("CREATE TABLE public.hold (x int)");
    const holder = await connectSession({ connectionString: server.connectionString });
    const creator = await connectSession({ connectionString: server.connectionString });
    let node: RunningNode | undefined;
    try {
      // An open transaction that wrote something holds a logical slot's creation back: until it
      // ends, the slot exists without a position.
      await holder.query("BEGIN");
      await holder.query("INSERT INTO public.hold VALUES (1)");
      const creating = creator.query(
        "SELECT pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')",
        [slotName],
      );
      await until(() => readReplicationSlot(client, slotName), "the slot being created");

      const lines: string[] = [];
      expect((await initNode(slow, { out: (line) => lines.push(line) })).ok).toBe(true);
      expect(lines).toContain(
        `ok   slot ${slotName} is still being created elsewhere (no position yet): the node records its capture baseline when it first starts`,
      );
      const logger = recordingLogger();
      node = await startNode(slow, { logger });
      await until(
        () =>
          logger.lines.some((line) =>
            String((line.fields as { err?: unknown }).err).includes("is still being created"),
          ) || undefined,
        "the node to wait for the slot",
      );
      expect(node.store.meta(CAPTURE_CONFIRMED_LSN_META)).toBeUndefined();

      await holder.query("COMMIT");
      await creating;
      const position = (await readReplicationSlot(client, slotName))!.confirmedFlushLsn!;
      const running = node;
      await until(() => running.readiness().ready, "the node to stream");
      const stored = running.store.meta(CAPTURE_CONFIRMED_LSN_META)!;
      expect(toLsn(Buffer.from(stored).readBigUInt64BE(0))).toBe(position);
      expect(gapEntries(running.store, TABLE)).toEqual([]);
    } finally {
      await node?.stop();
      await holder.end();
      await creator.end();
    }
  });
});
