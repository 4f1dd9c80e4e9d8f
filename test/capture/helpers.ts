// Capture test helpers: an Ingester with nothing to stage, and a store on which `witnz init`
// commits its baseline just before the first commit made through it.
import { Ingester, stageCaptureBaseline } from "../../src/capture/index.js";
import { generateEd25519KeyPair } from "../../src/crypto/index.js";
import type { Lsn } from "../../src/postgres/index.js";
import type { StoreBatch, WitnzStore } from "../../src/store/index.js";

const { privateKey } = generateEd25519KeyPair();

export function bareIngester(store: WitnzStore): Ingester {
  return new Ingester({
    store,
    signer: { name: "witnz.test/node", privateKey },
    clusterOrigin: "witnz.test/c",
    nowUnixMicroseconds: () => 1n,
    stageViolation: () => {},
  });
}

/**
 * `store` seen through a view whose first commit is preceded by init's: the baseline `lsn`,
 * staged and committed on the store itself, as a concurrent `witnz init` would. `initCommitted`
 * says whether that happened.
 */
export function storeWithInitFirst(
  store: WitnzStore,
  lsn: Lsn,
): { store: WitnzStore; initCommitted: () => boolean } {
  let initCommitted = false;
  const commit = async (batch: StoreBatch) => {
    if (!initCommitted) {
      initCommitted = true;
      const init = store.batch();
      if (!stageCaptureBaseline(store, init, lsn)) throw new Error("init found a position");
      await store.commit(init);
    }
    return store.commit(batch);
  };
  const view = new Proxy(store, {
    get(target, property) {
      if (property === "commit") return commit;
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: view, initCommitted: () => initCommitted };
}
