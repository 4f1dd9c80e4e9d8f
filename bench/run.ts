// Runs every benchmark in one process, one after another, and prints one JSON document.
// `npm run bench` (full sizes) or `npm run bench -- --quick` (small sizes, about a minute).
import { benchCapture } from "./capture.js";
import { benchCheckpoint } from "./checkpoint.js";
import { benchCluster } from "./cluster.js";
import { benchHash } from "./hash.js";
import { benchIngest } from "./ingest.js";
import { benchMerkle } from "./merkle.js";
import { benchRaft } from "./raft.js";
import { benchStore } from "./store.js";
import { benchVerify } from "./verify.js";
import { benchWitness } from "./witness.js";

const quick = process.argv.includes("--quick");
const startedAt = new Date().toISOString();
const hash = benchHash({ rows: quick ? 50_000 : 500_000, repeats: quick ? 3 : 5 });
const merkle = await benchMerkle({ quick });
const checkpoint = benchCheckpoint({ signatures: quick ? 2_000 : 20_000 });
const store = await benchStore({ durationMs: quick ? 1000 : 3000 });
const ingest = await benchIngest({ rows: quick ? 100_000 : 1_000_000 });
// Each starts its own PostgreSQL; the full sizes are the 1M-row runs of the acceptance criteria.
const capture = await benchCapture(quick ? { rows: 100_000, updates: 50 } : {});
const verify = await benchVerify(quick ? { rows: 100_000, runs: 1 } : {});
const raft = await benchRaft(quick ? { unbatchedEntries: 200, batchedEntries: 2000 } : {});
const witness = await benchWitness(
  quick
    ? { checkpointsPerNode: 2_000, batchObservations: 100, latencyRounds: 100 }
    : { checkpointsPerNode: 10_000, batchObservations: 100, latencyRounds: 500 },
);
// Three `witnz start` processes and a single node on one PostgreSQL of its own.
const cluster = await benchCluster(quick ? { rows: 20_000, samples: 50 } : {});
console.log(
  JSON.stringify(
    {
      startedAt,
      quick,
      node: process.version,
      hash,
      merkle,
      checkpoint,
      store,
      ingest,
      capture,
      verify,
      raft,
      witness,
      cluster,
    },
    (_key, value) => (typeof value === "bigint" ? value.toString() : value),
    2,
  ),
);
