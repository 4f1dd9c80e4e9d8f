// Runs every benchmark in one process, one after another, and prints one JSON document.
// `npm run bench` (full sizes) or `npm run bench -- --quick`.
import { benchHash } from "./hash.js";
import { benchMerkle } from "./merkle.js";
import { benchStore } from "./store.js";

const quick = process.argv.includes("--quick");
const startedAt = new Date().toISOString();
const hash = benchHash({ rows: quick ? 50_000 : 500_000, repeats: quick ? 3 : 5 });
const merkle = await benchMerkle({ quick });
const store = await benchStore({ durationMs: quick ? 1000 : 3000 });
console.log(
  JSON.stringify(
    { startedAt, quick, node: process.version, hash, merkle, store },
    (_key, value) => (typeof value === "bigint" ? value.toString() : value),
    2,
  ),
);
