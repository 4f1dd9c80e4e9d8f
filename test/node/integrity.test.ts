// A node whose store fails its integrity check refuses to start, before it connects anywhere.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { NodeStartError, startNode } from "../../src/node/index.js";
import { openStore } from "../../src/store/index.js";
import { nodeConfig, recordingLogger } from "./helpers.js";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "witnz-integrity-"));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

test("a chain hash that does not re-hash stops the node with the integrity report", async () => {
  const dataDir = join(directory, "data");
  const store = await openStore(dataDir);
  const batch = store.batch();
  // A chain entry whose chain hash is not SHA-256(c_0 || u64(1) || d_1): a store edited on disk.
  batch.appendChainEntry("public.audit_log", {
    seq: 1,
    dataHash: new Uint8Array(32).fill(1),
    chainHash: new Uint8Array(32).fill(2),
    lsn: 1n,
    primaryKey: new Uint8Array([1, 0, 1, 1, 0, 0, 0, 1, 0x31]),
  });
  await store.commit(batch);
  await store.close();
  const config = nodeConfig({
    // Never reached: the check runs before any connection.
    server: {
      host: "127.0.0.1",
      port: 1,
      database: "none",
      user: "none",
      password: "none",
    } as never,
    nodeId: "node1",
    dataDir,
    httpPort: 1,
    tables: [{ name: "audit_log" }],
  });
  const failure = await startNode(config, { logger: recordingLogger() }).catch((error) => error);
  expect(failure).toBeInstanceOf(NodeStartError);
  expect(failure.code).toBe("WITNZ_NODE_STORE_CORRUPT");
  expect(failure.message).toMatch(/failed its integrity check; refusing to start/);
  expect(failure.message).toContain("chain-hash-mismatch");
  // The store was closed again: it opens.
  const reopened = await openStore(dataDir);
  await reopened.close();
});
