import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ChainEntry,
  createMemoryKeyValueStore,
  type KeyValueStore,
  openLmdbKeyValueStore,
  openStoreOnKeyValueStore,
  type WitnzStore,
} from "../../src/store/index.js";

/** One implementation of the store under the shared contract suite. */
export interface StoreHarness {
  readonly name: string;
  /** A fresh, empty key-value store. */
  openKeyValueStore(): Promise<KeyValueStore>;
  /** Closes every store this harness opened and removes their files. */
  cleanup(): Promise<void>;
}

export async function openFreshStore(harness: StoreHarness): Promise<WitnzStore> {
  return openStoreOnKeyValueStore(await harness.openKeyValueStore());
}

export function memoryHarness(): StoreHarness {
  const opened: KeyValueStore[] = [];
  return {
    name: "memory twin",
    async openKeyValueStore() {
      const store = createMemoryKeyValueStore();
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened.splice(0)) await store.close();
    },
  };
}

export function lmdbHarness(): StoreHarness {
  const opened: KeyValueStore[] = [];
  const directories: string[] = [];
  return {
    name: "LMDB",
    async openKeyValueStore() {
      const directory = await makeTemporaryDirectory();
      directories.push(directory);
      const store = openLmdbKeyValueStore(directory);
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened.splice(0)) await store.close();
      for (const directory of directories.splice(0)) {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}

export async function makeTemporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), "witnz-store-test-"));
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** c_i = SHA-256(c_{i-1} || u64be(i) || d_i), computed here independently of the store. */
export function nextChainHash(previous: Uint8Array, seq: number, dataHash: Uint8Array): Uint8Array {
  const sequenceBytes = new Uint8Array(8);
  new DataView(sequenceBytes.buffer).setBigUint64(0, BigInt(seq));
  return sha256(previous, sequenceBytes, dataHash);
}

export const GENESIS = new Uint8Array(32);

/** Entries fromSeq..toSeq of a deterministic chain whose row i hashes "row i". */
export function makeEntries(
  fromSeq: number,
  toSeq: number,
  previousChainHash: Uint8Array,
  primaryKey: (seq: number) => Uint8Array = (seq) => utf8(`pk-${seq}`),
): ChainEntry[] {
  const entries: ChainEntry[] = [];
  let chainHash = previousChainHash;
  for (let seq = fromSeq; seq <= toSeq; seq++) {
    const dataHash = sha256(utf8(`row ${seq}`));
    chainHash = nextChainHash(chainHash, seq, dataHash);
    entries.push({
      seq,
      dataHash,
      chainHash,
      lsn: BigInt(seq) * 100n,
      primaryKey: primaryKey(seq),
    });
  }
  return entries;
}

/** A small seeded generator (mulberry32) so that every run replays from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}
