// A store's seed: what another node of the cluster needs to rebuild a lost store from this one.
// Every node captures the same rows in the same commit order, so its chains, primary-key index and
// tree nodes are the same as its peers' (the cluster checks exactly that). What is a node's own
// stays out: its signed checkpoints, violation logs, alert outbox and its slot's confirmed
// position. The seed is read in one pass over one key range, so from one LMDB read snapshot.
import { StoreError, storeAssert } from "./errors.js";
import type { KeyValueStore, WriteOperation } from "./key-value-store.js";
import { decodeMetaKey, decodeTreeNodeKey, KeyTag, TREE_STORED_LEVEL_MIN } from "./keys.js";

/** Seed entries per write when importing (well under the store's per-write limits). */
const IMPORT_WRITE_ENTRIES = 10_000;

/** Families carried by a seed: chain heads, chain entries, primary-key index, tree nodes. */
const SEED_TAGS: ReadonlySet<number> = new Set([
  KeyTag.chainHead,
  KeyTag.chainEntry,
  KeyTag.primaryKeyIndex,
  KeyTag.treeNode,
]);

/** The seed's entries, in key order: the seed's meta entries and the replicated families. */
export function* seedEntries(
  store: KeyValueStore,
  isSeedMeta: (name: string) => boolean,
): Iterable<[Uint8Array, Uint8Array]> {
  for (const [key, value] of store.range({
    start: Uint8Array.of(KeyTag.meta),
    end: Uint8Array.of(KeyTag.treeNode + 1),
  })) {
    if (key[0] === KeyTag.meta ? isSeedMeta(decodeMetaKey(key)) : SEED_TAGS.has(key[0]!)) {
      yield [key, value];
    }
  }
}

/** True when the store holds no chain, index or tree entry: a seed may go in. */
export function isBlank(store: KeyValueStore): boolean {
  return (
    store.count({
      start: Uint8Array.of(KeyTag.chainHead),
      end: Uint8Array.of(KeyTag.treeNode + 1),
    }) === 0
  );
}

/**
 * Writes a seed into a blank store, `IMPORT_WRITE_ENTRIES` at a time; returns how many entries.
 * Refuses any key outside the seed's families or meta names: a peer cannot write the rest.
 * Tree nodes below TREE_STORED_LEVEL_MIN are skipped (counted, not written).
 */
export async function importSeed(
  store: KeyValueStore,
  entries: AsyncIterable<readonly (readonly [Uint8Array, Uint8Array])[]>,
  isSeedMeta: (name: string) => boolean,
): Promise<number> {
  let pending: WriteOperation[] = [];
  let count = 0;
  for await (const chunk of entries) {
    for (const [key, value] of chunk) {
      const tag = key[0];
      storeAssert(
        tag === KeyTag.meta ? isSeedMeta(decodeMetaKey(key)) : SEED_TAGS.has(tag ?? -1),
        "WITNZ_STORE_INVALID",
        () => `a seed may not write a key of family 0x${(tag ?? 0).toString(16)}`,
      );
      count += 1;
      // A tree node this layout derives (a peer on a layout that stored them) is not written.
      if (tag === KeyTag.treeNode && decodeTreeNodeKey(key).level < TREE_STORED_LEVEL_MIN) continue;
      pending.push({ type: "put", key, value });
      if (pending.length >= IMPORT_WRITE_ENTRIES) {
        await store.write(pending);
        pending = [];
      }
    }
  }
  if (pending.length > 0) await store.write(pending);
  if (count === 0) throw new StoreError("WITNZ_STORE_INVALID", "the seed was empty");
  return count;
}
