// The capture baseline: the slot position a node's knowledge starts from, recorded by `witnz init`
// or at the node's first start, whichever comes first.
import { describe, expect, test } from "vitest";
import { CAPTURE_CONFIRMED_LSN_META, stageCaptureBaseline } from "../../src/capture/index.js";
import { toLsn } from "../../src/postgres/index.js";
import { openMemoryStore, type WitnzStore } from "../../src/store/index.js";
import { bareIngester, storeWithInitFirst } from "./helpers.js";

function storedConfirmed(store: WitnzStore): bigint | undefined {
  const bytes = store.meta(CAPTURE_CONFIRMED_LSN_META);
  return bytes === undefined ? undefined : Buffer.from(bytes).readBigUInt64BE(0);
}

describe("capture baseline", () => {
  test("the first start records the slot's position when the store has none", async () => {
    const store = await openMemoryStore();
    const ingester = bareIngester(store);
    expect(ingester.knownLsn).toBeUndefined();
    await ingester.recordBaseline(toLsn(0x3000n));
    expect(ingester.knownLsn).toBe(0x3000n);
    expect(storedConfirmed(store)).toBe(0x3000n);
  });

  test("a baseline init recorded after the ingester read the store is kept, and not lowered later", async () => {
    const store = await openMemoryStore();
    const ingester = bareIngester(store);
    // `witnz init` commits its baseline while the node is starting.
    const batch = store.batch();
    expect(stageCaptureBaseline(store, batch, toLsn(0x5000n))).toBe(true);
    await store.commit(batch);

    await ingester.recordBaseline(toLsn(0x4000n));
    expect(ingester.knownLsn).toBe(0x5000n);
    expect(storedConfirmed(store)).toBe(0x5000n);
    // A stream confirming from further back does not move the stored position down.
    await ingester.persistConfirmed(toLsn(0x10n));
    expect(storedConfirmed(store)).toBe(0x5000n);
  });

  test("init's baseline, staged before the node's first start recorded one, conflicts instead of replacing it", async () => {
    const store = await openMemoryStore();
    const init = store.batch();
    expect(stageCaptureBaseline(store, init, toLsn(0x2000n))).toBe(true);
    // The node's first start records its baseline while init is between staging and commit.
    await bareIngester(store).recordBaseline(toLsn(0x6000n));

    await expect(store.commit(init)).rejects.toMatchObject({ code: "WITNZ_STORE_CONFLICT" });
    expect(storedConfirmed(store)).toBe(0x6000n);
    // Staged again, init finds the position and stages nothing.
    expect(stageCaptureBaseline(store, store.batch(), toLsn(0x2000n))).toBe(false);
  });

  test("a first start whose baseline commit loses to init's keeps init's", async () => {
    const store = await openMemoryStore();
    // init commits its baseline between the ingester's staging and its commit.
    const racing = storeWithInitFirst(store, toLsn(0x2000n));
    const ingester = bareIngester(racing.store);
    await ingester.recordBaseline(toLsn(0x6000n));
    expect(racing.initCommitted()).toBe(true);
    expect(storedConfirmed(store)).toBe(0x2000n);
    expect(ingester.knownLsn).toBe(0x2000n);
  });
});
