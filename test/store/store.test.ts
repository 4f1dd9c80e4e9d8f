import { describe } from "vitest";
import { lmdbHarness, memoryHarness } from "./harness.js";
import { defineStoreContract } from "./store-contract.js";
import { defineViolationAndOutboxContract } from "./violation-outbox-contract.js";

// One suite, every implementation: the twin is only worth having if it cannot drift.
describe.each([
  { name: "LMDB", makeHarness: lmdbHarness },
  { name: "memory twin", makeHarness: memoryHarness },
])("store contract: $name", ({ makeHarness }) => {
  defineStoreContract(makeHarness);
  defineViolationAndOutboxContract(makeHarness);
});
