// Restoring a lost store from a peer's seed, on real LMDB stores: what the restored store knows of
// its capture position. The seed travels here without the network; process-cluster.test.ts
// restores one over mutual TLS.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  CAPTURE_CONFIRMED_LSN_META,
  CAPTURE_LSN_META,
  judgeSlot,
  stageCaptureBaseline,
} from "../../src/capture/index.js";
import { tableLayoutMetaName } from "../../src/catalog/index.js";
import { restoreFromPeers, seedChunks, unfinishedRestore } from "../../src/cluster-node/index.js";
import { chainHash, dataHash, GENESIS_CHAIN_HASH } from "../../src/hash/index.js";
import { toLsn } from "../../src/postgres/index.js";
import type { ConnectRaftTransport } from "../../src/raft/index.js";
import { openStore, type WitnzStore } from "../../src/store/index.js";
import { bareIngester } from "../capture/helpers.js";
import { makeTemporaryDirectory } from "../store/harness.js";

const TABLE = "public.audit_log";
const SEED_END_LSN = toLsn(0x1000n);
const SLOT_AT_INIT_LSN = toLsn(0x5000n);

let directory: string;
let source: WitnzStore;
let target: WitnzStore;

beforeEach(async () => {
  directory = await makeTemporaryDirectory();
  source = await openStore(join(directory, "source"));
  target = await openStore(join(directory, "target"));
});

afterEach(async () => {
  await source.close();
  await target.close();
  await rm(directory, { recursive: true, force: true });
});

/** The source peer: `rows` rows (three by default) captured up to SEED_END_LSN. */
async function fillSource(rows = 3): Promise<void> {
  let previous: Uint8Array = GENESIS_CHAIN_HASH;
  for (let first = 1; first <= rows; first += 1000) {
    const batch = source.batch();
    for (let seq = first; seq <= Math.min(rows, first + 999); seq++) {
      const data = dataHash(Buffer.from(`row ${seq}`));
      previous = chainHash(previous, seq, data);
      batch.appendChainEntry(TABLE, {
        seq,
        dataHash: data,
        chainHash: previous,
        lsn: SEED_END_LSN,
        primaryKey: Buffer.from(`pk ${seq}`),
      });
    }
    const end = Buffer.alloc(8);
    end.writeBigUInt64BE(SEED_END_LSN);
    batch.setMeta(CAPTURE_LSN_META, end);
    await source.commit(batch);
  }
}

function knownLsn(store: WitnzStore) {
  return bareIngester(store).knownLsn;
}

describe("restore from a peer's seed", () => {
  test("the slot position witnz init recorded gives way to the seed's: a slot beyond it is a gap", async () => {
    await fillSource();
    // `witnz init` recorded its new slot's position, later than anything the seed holds.
    const baseline = target.batch();
    expect(stageCaptureBaseline(target, baseline, SLOT_AT_INIT_LSN)).toBe(true);
    await target.commit(baseline);
    expect(knownLsn(target)).toBe(SLOT_AT_INIT_LSN);
    expect(target.isBlank()).toBe(true);

    const transport = { fetchSeed: () => seedChunks(source) } as unknown as ConnectRaftTransport;
    const record = await restoreFromPeers({
      store: target,
      transport,
      peers: ["n1"],
      now: () => new Date("2026-11-23T00:00:00Z"),
    });
    expect(record).toMatchObject({ from: "n1" });
    expect(unfinishedRestore(target)).toBeUndefined();
    expect(target.chainHead(TABLE)?.size).toBe(3);
    expect(target.meta(CAPTURE_CONFIRMED_LSN_META)).toEqual(new Uint8Array(0));
    expect(knownLsn(target)).toBe(SEED_END_LSN);
    // The slot still stands where init created it: what lies between is a gap to record.
    expect(judgeSlot(knownLsn(target), { confirmedFlushLsn: SLOT_AT_INIT_LSN })).toEqual({
      action: "gap",
      gap: { reason: "slot_advanced", fromLsn: SEED_END_LSN, toLsn: SLOT_AT_INIT_LSN },
    });
    // init run again on the restored store keeps the seed's position.
    expect(stageCaptureBaseline(target, target.batch(), SLOT_AT_INIT_LSN)).toBe(false);
  });

  test("a seed that fails part way leaves the store marked unfinished; one that never started leaves it unmarked", async () => {
    // More than one import write's worth (10,000 entries), and the peer goes away after it.
    await fillSource(6000);
    const failing = {
      async *fetchSeed() {
        let chunks = 0;
        for await (const chunk of seedChunks(source)) {
          yield chunk;
          chunks += 1;
          if (chunks === 11) throw new Error("connection reset");
        }
      },
    } as unknown as ConnectRaftTransport;
    await expect(
      restoreFromPeers({
        store: target,
        transport: failing,
        peers: ["n1"],
        now: () => new Date(0),
      }),
    ).rejects.toThrow("the seed from n1 failed part way (connection reset)");
    expect(target.isBlank()).toBe(false);
    expect(unfinishedRestore(target)).toEqual({ from: "n1", at: "1970-01-01T00:00:00.000Z" });

    const blank = await openStore(join(directory, "blank"));
    try {
      const unreachable = {
        // biome-ignore lint/correctness/useYield: a peer that fails before its first chunk
        async *fetchSeed() {
          throw new Error("unreachable");
        },
      } as unknown as ConnectRaftTransport;
      await expect(
        restoreFromPeers({
          store: blank,
          transport: unreachable,
          peers: ["n1", "n2"],
          now: () => new Date(0),
        }),
      ).rejects.toThrow("no peer served a seed");
      expect(blank.isBlank()).toBe(true);
      expect(unfinishedRestore(blank)).toBeUndefined();
    } finally {
      await blank.close();
    }
  });

  test("a seed without a capture position (the peer recorded nothing yet) keeps init's baseline", async () => {
    const layoutOnly = source.batch();
    layoutOnly.setMeta(tableLayoutMetaName(TABLE), Buffer.from("layout"));
    await source.commit(layoutOnly);
    const baseline = target.batch();
    stageCaptureBaseline(target, baseline, SLOT_AT_INIT_LSN);
    await target.commit(baseline);

    const transport = { fetchSeed: () => seedChunks(source) } as unknown as ConnectRaftTransport;
    await restoreFromPeers({ store: target, transport, peers: ["n1"], now: () => new Date() });
    expect(Buffer.from(target.meta(tableLayoutMetaName(TABLE))!).toString()).toBe("layout");
    expect(knownLsn(target)).toBe(SLOT_AT_INIT_LSN);
    // The slot dropped before the first start is a gap from where init found it.
    expect(judgeSlot(knownLsn(target), undefined)).toEqual({
      action: "recreate",
      fromLsn: SLOT_AT_INIT_LSN,
    });
  });
});
