// An Ingester on a store with nothing to stage: for reading what it knows (its known position).
import { Ingester } from "../../src/capture/index.js";
import { generateEd25519KeyPair } from "../../src/crypto/index.js";
import type { WitnzStore } from "../../src/store/index.js";

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
