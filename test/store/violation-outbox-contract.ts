import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  type OutboxAlert,
  StoreError,
  type ViolationRecord,
  type WitnzStore,
} from "../../src/store/index.js";
import {
  bytes,
  GENESIS,
  nextChainHash,
  openFreshStore,
  type StoreHarness,
  sha256,
} from "./harness.js";

const UPDATE: ViolationRecord = {
  kind: "update",
  lsn: 0xffff_ffff_0000_0001n,
  commitTimeUnixMicroseconds: 1_700_000_000_123_456n,
  xid: 4_000_000_000,
  primaryKey: bytes(0xaa, 0xbb),
  oldDataHash: new Uint8Array(32).fill(0x11),
  newDataHash: new Uint8Array(32).fill(0x22),
  detail: '{"columns":["amount"]}',
};
const TRUNCATE: ViolationRecord = {
  kind: "truncate",
  lsn: 0x16b43d28n,
  commitTimeUnixMicroseconds: 0n,
  xid: 7,
  detail: "{}",
};

function alert(id: string, detectedAt = "2024-05-01T12:00:00.000Z"): OutboxAlert {
  return {
    id,
    kind: "append_only_violation",
    severity: "critical",
    node: "node-1",
    table: "public.orders",
    op: "UPDATE",
    pk: ["42", null],
    lsn: "0/16B43D28",
    detectedAt,
    message: "UPDATE on append-only table public.orders",
  };
}
const DETECTED_MS = Date.parse("2024-05-01T12:00:00.000Z");

function expectStoreErrorCode(action: () => unknown, code: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(StoreError);
  expect((caught as StoreError).code).toBe(code);
}

/** The violation log and alert outbox, on every KeyValueStore. */
export function defineViolationAndOutboxContract(makeHarness: () => StoreHarness): void {
  let harness: StoreHarness;
  let store: WitnzStore;
  beforeEach(async () => {
    harness = makeHarness();
    store = await openFreshStore(harness);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  describe("violation log", () => {
    test("entries chain from 32 zero bytes over the record hash, and come back field for field", async () => {
      expect(store.violationHead("t")).toBeUndefined();
      const batch = store.batch();
      expect(batch.appendViolation("t", UPDATE)).toBe(1);
      expect(batch.violationHead("t")?.size).toBe(1);
      expect(batch.appendViolation("t", TRUNCATE)).toBe(2);
      expect(store.violationHead("t")).toBeUndefined();
      await store.commit(batch);

      const entries = [...store.violations("t", 1, Number.MAX_SAFE_INTEGER)];
      expect(entries.map((entry) => entry.record)).toEqual([UPDATE, TRUNCATE]);
      let chain: Uint8Array = GENESIS;
      for (const entry of entries) {
        chain = nextChainHash(chain, entry.seq, entry.recordHash);
        expect(entry.chainHash).toEqual(chain);
      }
      expect(store.violationHead("t")).toEqual({ size: 2, chainHash: chain });
      expect([...store.violations("t", 2, 2)].map((entry) => entry.seq)).toEqual([2]);
      // The row chain of the same table is untouched.
      expect(store.chainHead("t")).toBeUndefined();
    });

    test("the record hash is SHA-256 of the documented record bytes (test vector)", async () => {
      const batch = store.batch();
      batch.appendViolation("t", TRUNCATE);
      await store.commit(batch);
      const [entry] = [...store.violations("t", 1, 1)];
      const recordBytes = Buffer.from(
        "0103000000000016b43d28000000000000000000000007000000027b7d",
        "hex",
      );
      const hex = (value: Uint8Array) => Buffer.from(value).toString("hex");
      expect(hex(entry!.recordHash)).toBe(hex(sha256(recordBytes)));
      expect(hex(entry!.recordHash)).toBe(
        "7b0bd708fdd0a356bab1a27b40f738b69c6dd0f70481e2dbdc2f3e4929ebc017",
      );
      expect(hex(entry!.chainHash)).toBe(
        "24462fca90fa228645f73a7060ebb4a578db9575d0a8b017bd21a06afefd6504",
      );
    });

    test("a later batch extends the committed log; tables stay apart", async () => {
      const first = store.batch();
      first.appendViolation("t", UPDATE);
      first.appendViolation("tt", TRUNCATE);
      await store.commit(first);
      const second = store.batch();
      expect(second.appendViolation("t", TRUNCATE)).toBe(2);
      await store.commit(second);
      expect(store.violationHead("t")?.size).toBe(2);
      expect(store.violationHead("tt")?.size).toBe(1);
      expect([...store.violations("tt", 1, 10)].map((entry) => entry.record.kind)).toEqual([
        "truncate",
      ]);
    });

    test("malformed records are refused and leave the batch as it was", () => {
      const batch = store.batch();
      expectStoreErrorCode(
        () => batch.appendViolation("t", { ...TRUNCATE, detail: "not json" }),
        "WITNZ_STORE_INVALID",
      );
      expectStoreErrorCode(
        () => batch.appendViolation("t", { ...TRUNCATE, oldDataHash: bytes(1) }),
        "WITNZ_STORE_INVALID",
      );
      expectStoreErrorCode(
        () => batch.appendViolation("t", { ...TRUNCATE, xid: -1 }),
        "WITNZ_STORE_INVALID",
      );
      expectStoreErrorCode(
        () => batch.appendViolation("t", { ...TRUNCATE, kind: "insert" as "update" }),
        "WITNZ_STORE_INVALID",
      );
      expectStoreErrorCode(
        () =>
          batch.appendViolation("t", { ...TRUNCATE, detail: JSON.stringify("x".repeat(20_000)) }),
        "WITNZ_STORE_LIMIT",
      );
      expect(batch.violationHead("t")).toBeUndefined();
    });

    test("two batches appending to one log: one wins, the other conflicts", async () => {
      const first = store.batch();
      const second = store.batch();
      first.appendViolation("t", UPDATE);
      second.appendViolation("t", TRUNCATE);
      await store.commit(first);
      await expect(store.commit(second)).rejects.toMatchObject({ code: "WITNZ_STORE_CONFLICT" });
      expect([...store.violations("t", 1, 10)].map((entry) => entry.record)).toEqual([UPDATE]);
    });
  });

  describe("alert outbox", () => {
    test("an enqueued alert is pending from its detection time, and comes back as given", async () => {
      const batch = store.batch();
      expect(batch.enqueueAlert(alert("incident-1"))).toBe(true);
      expect(store.alert("incident-1")).toBeUndefined();
      await store.commit(batch);
      expect(store.alert("incident-1")).toEqual({
        alert: alert("incident-1"),
        sinks: {},
        dueAtMs: DETECTED_MS,
      });
      expect(store.pendingAlerts(DETECTED_MS - 1, 10)).toEqual([]);
      expect(store.pendingAlerts(DETECTED_MS, 10).map((stored) => stored.alert.id)).toEqual([
        "incident-1",
      ]);
      expect(store.nextAlertDueAtMs()).toBe(DETECTED_MS);
    });

    test("an id already in the outbox, pending or settled, or in the batch, is a no-op", async () => {
      const batch = store.batch();
      expect(batch.enqueueAlert(alert("a"))).toBe(true);
      expect(batch.enqueueAlert({ ...alert("a"), message: "again" })).toBe(false);
      await store.commit(batch);
      const again = store.batch();
      expect(again.enqueueAlert({ ...alert("a"), message: "again" })).toBe(false);
      again.recordAlertDelivery("a", "webhook", { status: "delivered", atMs: DETECTED_MS + 5 });
      again.settleAlert("a", DETECTED_MS + 5);
      await store.commit(again);
      const late = store.batch();
      expect(late.enqueueAlert(alert("a"))).toBe(false);
      await store.commit(late);
      expect(store.alert("a")?.alert.message).toBe(alert("a").message);
      expect(store.pendingAlerts(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
      expect(store.nextAlertDueAtMs()).toBeUndefined();
    });

    test("failures move the due time to the earliest next attempt; delivery keeps its sink", async () => {
      const batch = store.batch();
      batch.enqueueAlert(alert("a"));
      await store.commit(batch);
      const first = store.batch();
      first.recordAlertDelivery("a", "webhook", {
        status: "failed",
        atMs: DETECTED_MS + 10,
        error: "connection refused",
        nextAttemptAtMs: DETECTED_MS + 1_000,
      });
      first.recordAlertDelivery("a", "slack", { status: "delivered", atMs: DETECTED_MS + 11 });
      await store.commit(first);
      expect(store.alert("a")).toMatchObject({
        dueAtMs: DETECTED_MS + 1_000,
        sinks: {
          webhook: {
            attempts: 1,
            nextAttemptAtMs: DETECTED_MS + 1_000,
            lastError: "connection refused",
          },
          slack: { attempts: 1, deliveredAtMs: DETECTED_MS + 11 },
        },
      });
      expect(store.pendingAlerts(DETECTED_MS + 999, 10)).toEqual([]);
      expect(store.pendingAlerts(DETECTED_MS + 1_000, 10)).toHaveLength(1);

      const second = store.batch();
      second.recordAlertDelivery("a", "slack", {
        status: "failed",
        atMs: DETECTED_MS + 1_001,
        error: "ignored",
        nextAttemptAtMs: DETECTED_MS + 5,
      });
      second.recordAlertDelivery("a", "webhook", {
        status: "delivered",
        atMs: DETECTED_MS + 1_002,
      });
      second.settleAlert("a", DETECTED_MS + 1_002);
      await store.commit(second);
      const stored = store.alert("a")!;
      expect(stored.sinks.slack).toEqual({
        attempts: 1,
        lastAttemptAtMs: DETECTED_MS + 11,
        deliveredAtMs: DETECTED_MS + 11,
      });
      expect(stored.sinks.webhook).toMatchObject({
        attempts: 2,
        deliveredAtMs: DETECTED_MS + 1_002,
      });
      expect(stored.settledAtMs).toBe(DETECTED_MS + 1_002);
      expect(stored.dueAtMs).toBeUndefined();
      expect(store.pendingAlerts(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
    });

    test("pending alerts come earliest due first, at most `limit` of them", async () => {
      const batch = store.batch();
      batch.enqueueAlert(alert("late", "2024-05-01T12:00:02.000Z"));
      batch.enqueueAlert(alert("early", "2024-05-01T12:00:00.000Z"));
      batch.enqueueAlert(alert("middle", "2024-05-01T12:00:01.000Z"));
      await store.commit(batch);
      const ids = (limit: number) =>
        store.pendingAlerts(Number.MAX_SAFE_INTEGER, limit).map((stored) => stored.alert.id);
      expect(ids(10)).toEqual(["early", "middle", "late"]);
      expect(ids(2)).toEqual(["early", "middle"]);
      expectStoreErrorCode(() => store.pendingAlerts(0, 0), "WITNZ_STORE_INVALID");
    });

    test("malformed alerts and unknown ids are refused", () => {
      const batch = store.batch();
      expectStoreErrorCode(
        () => batch.enqueueAlert({ ...alert("a"), severity: "loud" as "info" }),
        "WITNZ_STORE_INVALID",
      );
      expectStoreErrorCode(
        () => batch.enqueueAlert({ ...alert("a"), detectedAt: "yesterday" }),
        "WITNZ_STORE_INVALID",
      );
      expectStoreErrorCode(
        () => batch.enqueueAlert({ ...alert("a"), kind: "Bad Kind" }),
        "WITNZ_STORE_INVALID",
      );
      expectStoreErrorCode(() => batch.enqueueAlert(alert("x".repeat(300))), "WITNZ_STORE_LIMIT");
      expectStoreErrorCode(
        () => batch.recordAlertDelivery("missing", "webhook", { status: "delivered", atMs: 1 }),
        "WITNZ_STORE_INVALID",
      );
      expect(batch.operationCount).toBe(0);
    });

    test("an alert and a violation commit together with the chain, or not at all", async () => {
      const loser = store.batch();
      loser.appendViolation("t", UPDATE);
      loser.enqueueAlert(alert("t/1"));
      const winner = store.batch();
      winner.appendViolation("t", TRUNCATE);
      await store.commit(winner);
      await expect(store.commit(loser)).rejects.toMatchObject({ code: "WITNZ_STORE_CONFLICT" });
      expect(store.alert("t/1")).toBeUndefined();
      expect(store.nextAlertDueAtMs()).toBeUndefined();
    });

    test("two batches enqueuing one id: the second conflicts instead of resetting the state", async () => {
      const first = store.batch();
      const second = store.batch();
      first.enqueueAlert(alert("a"));
      second.enqueueAlert(alert("a"));
      await store.commit(first);
      await expect(store.commit(second)).rejects.toMatchObject({ code: "WITNZ_STORE_CONFLICT" });
    });
  });
}
