// Signing a table checkpoint, as capture does once per table per durable commit (per transaction
// when the node keeps up with small ones), against the raw Ed25519 signature over the same note
// text measured in the same run: what the note format adds to the signature it must make.
//
//   npx tsc -p tsconfig.build.json && node dist/bench/checkpoint.js [--quick] [--signatures=N]

import { signCheckpoint, tableOrigin, witnzExtensions } from "../src/checkpoint/index.js";
import { ed25519Sign, generateEd25519KeyPair } from "../src/crypto/index.js";
import { benchArguments, round, runWhenMain } from "./stats.js";

export interface BenchCheckpointOptions {
  readonly signatures?: number;
}

export interface BenchCheckpointResult {
  readonly benchmark: "checkpoint";
  readonly node: string;
  readonly signatures: number;
  readonly signCheckpointMicroseconds: number;
  /** Baseline: Ed25519 over the same note text alone. */
  readonly ed25519SignMicroseconds: number;
  /** signCheckpointMicroseconds / ed25519SignMicroseconds. */
  readonly ratio: number;
}

const SIGNATURES_DEFAULT = 20_000;
const SIGNATURES_QUICK = 2_000;
const WARMUP = 200;

export function benchCheckpoint(options: BenchCheckpointOptions = {}): BenchCheckpointResult {
  const signatures = options.signatures ?? SIGNATURES_DEFAULT;
  const { privateKey } = generateEd25519KeyPair();
  const signer = { name: "bench-node", privateKey };
  const table = "public.bench_checkpoint";
  const checkpoint = (size: number) => ({
    origin: tableOrigin("witnz/bench", table),
    size,
    rootHash: new Uint8Array(32).fill(size % 251),
    extensions: witnzExtensions({
      table,
      chainHash: new Uint8Array(32).fill(size % 241),
      lsn: "0/16B3748",
      timeMicroseconds: 1_795_000_000_000_000n + BigInt(size),
    }),
  });
  const noteText = `${signCheckpoint(checkpoint(1), signer).split("\n\n")[0]}\n`;
  const noteBytes = Buffer.from(noteText, "utf8");

  const timed = (action: (index: number) => void): number => {
    for (let index = 0; index < WARMUP; index++) action(index);
    const startMs = performance.now();
    for (let index = 0; index < signatures; index++) action(index);
    return ((performance.now() - startMs) * 1000) / signatures;
  };
  const ed25519SignMicroseconds = timed(() => ed25519Sign(privateKey, noteBytes));
  const signCheckpointMicroseconds = timed((index) => signCheckpoint(checkpoint(index), signer));
  return {
    benchmark: "checkpoint",
    node: process.version,
    signatures,
    signCheckpointMicroseconds: round(signCheckpointMicroseconds, 1),
    ed25519SignMicroseconds: round(ed25519SignMicroseconds, 1),
    ratio: round(signCheckpointMicroseconds / ed25519SignMicroseconds, 2),
  };
}

await runWhenMain(import.meta.url, async (argv) =>
  benchCheckpoint(
    benchArguments(argv, { signatures: "signatures" }, { signatures: SIGNATURES_QUICK }),
  ),
);
