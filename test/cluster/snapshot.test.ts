// Snapshots: deterministic bytes, and restore-then-apply equals never snapshotting, over random
// command sequences (fast-check prints the seed and the shrunk sequence of any failure).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type ClusterCommand,
  ClusterError,
  type ClusterEvent,
  ClusterStateMachine,
  encodeCommand,
  SNAPSHOT_FORMAT_VERSION,
} from "../../src/cluster/index.js";
import { CLUSTER_ORIGIN, observation, signedNote, type TestNode, testNode } from "./fixtures.js";

const SEED = 20_251_123;
const NODES: readonly TestNode[] = ["node-a", "node-b", "node-c", "node-d"].map(testNode);
const TABLES = ["public.t1", "public.t2"] as const;

type Operation =
  | { readonly op: "register" | "remove" | "restored" | "reverified"; readonly node: number }
  | { readonly op: "target"; readonly table: number; readonly step: number }
  | {
      readonly op: "observe";
      readonly node: number;
      readonly table: number;
      readonly back: number;
      readonly variant: number;
    }
  | { readonly op: "forged"; readonly node: number; readonly table: number }
  | {
      readonly op: "progress";
      readonly node: number;
      readonly table: number;
      readonly size: number;
    }
  | {
      readonly op: "violation" | "gap" | "verify";
      readonly node: number;
      readonly table: number;
      readonly n: number;
    }
  | { readonly op: "ack"; readonly n: number }
  | { readonly op: "garbage"; readonly bytes: Uint8Array };

const node = fc.integer({ min: 0, max: NODES.length - 1 });
const table = fc.integer({ min: 0, max: TABLES.length - 1 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom("register", "remove", "restored", "reverified"),
      node,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("target"),
      table,
      step: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant("observe"),
      node,
      table,
      back: fc.integer({ min: 0, max: 3 }),
      variant: fc.integer({ min: 0, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("forged"), node, table }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("progress"), node, table, size: fc.nat(100) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom("violation", "gap", "verify"),
      node,
      table,
      n: fc.nat(20),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("ack"), n: fc.nat(5) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("garbage"), bytes: fc.uint8Array({ maxLength: 12 }) }),
  },
);

const noteCache = new Map<string, ClusterCommand>();
function cachedObservation(
  who: TestNode,
  size: number,
  variant: string,
  name: string,
): ClusterCommand {
  const key = `${who.id}/${size}/${variant}/${name}`;
  let command = noteCache.get(key);
  if (command === undefined) {
    command = observation(who, size, variant, name);
    noteCache.set(key, command);
  }
  return command;
}

function toEntry(operation: Operation, targets: number[]): Uint8Array {
  switch (operation.op) {
    case "register":
      return encodeCommand({
        type: "node_registered",
        node: NODES[operation.node]!.id,
        verifierKey: NODES[operation.node]!.verifierKey,
      });
    case "remove":
      return encodeCommand({ type: "node_removed", node: NODES[operation.node]!.id });
    case "restored":
      return encodeCommand({ type: "node_restored", node: NODES[operation.node]!.id });
    case "reverified":
      return encodeCommand({ type: "node_reverified", node: NODES[operation.node]!.id });
    case "target":
      targets[operation.table]! += operation.step;
      return encodeCommand({
        type: "attestation_target",
        table: TABLES[operation.table]!,
        size: Math.max(1, targets[operation.table]!),
      });
    case "observe": {
      const size = Math.max(1, targets[operation.table]! - operation.back);
      // Mostly honest, so sizes get agreed; sometimes a node's altered value.
      const variant = operation.variant < 4 ? "honest" : `altered-${operation.variant}`;
      return encodeCommand(
        cachedObservation(NODES[operation.node]!, size, variant, TABLES[operation.table]!),
      );
    }
    case "forged": {
      const size = Math.max(1, targets[operation.table]!);
      const signer = NODES[(operation.node + 1) % NODES.length]!.signer;
      const note = signedNote({ table: TABLES[operation.table]!, size, signer });
      return encodeCommand({
        type: "observation",
        node: NODES[operation.node]!.id,
        table: TABLES[operation.table]!,
        size,
        note,
      });
    }
    case "progress":
      return encodeCommand({
        type: "progress",
        node: NODES[operation.node]!.id,
        table: TABLES[operation.table]!,
        size: operation.size,
      });
    case "violation":
      return encodeCommand({
        type: "violation",
        node: NODES[operation.node]!.id,
        table: TABLES[operation.table]!,
        sequence: operation.n,
        kind: "delete",
        lsn: `0/${operation.n.toString(16).toUpperCase()}`,
        commitTimeMicroseconds: operation.n,
        summary: `DELETE #${operation.n}`,
      });
    case "gap":
      return encodeCommand({
        type: "gap",
        node: NODES[operation.node]!.id,
        table: TABLES[operation.table]!,
        fromLsn: "0/1",
        toLsn: `0/${(operation.n + 1).toString(16).toUpperCase()}`,
        reason: "slot_advanced",
        detectedTimeMicroseconds: operation.n,
      });
    case "verify":
      return encodeCommand({
        type: "verification_result",
        node: NODES[operation.node]!.id,
        table: TABLES[operation.table]!,
        timeMicroseconds: operation.n,
        ok: operation.n % 2 === 0,
        counts: { rows: 10, modified: operation.n % 2, deleted: 0, phantom: 0 },
      });
    case "ack":
      return encodeCommand({
        type: "alert_ack",
        incidentId: `incident-${operation.n}`,
        by: "operator",
        timeMicroseconds: operation.n,
      });
    case "garbage":
      return operation.bytes;
  }
  throw new Error("unreachable");
}

/** Turns abstract operations into log entries; targets climb so sizes get agreed and pruned. */
function entries(operations: readonly Operation[]): Uint8Array[] {
  const targets = [0, 0];
  const register = NODES.slice(0, 3).map((who) =>
    encodeCommand({ type: "node_registered", node: who.id, verifierKey: who.verifierKey }),
  );
  return [...register, ...operations.map((operation) => toEntry(operation, targets))];
}

function applyAll(
  machine: ClusterStateMachine,
  log: readonly Uint8Array[],
  from: number,
  to: number,
): ClusterEvent[] {
  const events: ClusterEvent[] = [];
  for (let i = from; i < to; i++) {
    events.push(...machine.applyEntry(log[i]!, { index: i + 1, term: 1 + Math.floor(i / 50) }));
  }
  return events;
}

const fresh = (): ClusterStateMachine => new ClusterStateMachine({ clusterOrigin: CLUSTER_ORIGIN });

describe("snapshot and restore", () => {
  test("restoring a snapshot then applying the rest equals never snapshotting", () => {
    fc.assert(
      fc.property(
        fc.array(operation, { maxLength: 160 }),
        fc.double({ min: 0, max: 1 }),
        (ops, at) => {
          const log = entries(ops);
          const cut = Math.floor(at * log.length);
          const straight = fresh();
          applyAll(straight, log, 0, cut);
          const snapshot = straight.snapshot();
          // Same state, same bytes.
          expect(straight.snapshot()).toEqual(snapshot);
          const restored = fresh();
          restored.restore(snapshot);
          expect(restored.snapshot()).toEqual(snapshot);
          const tailStraight = applyAll(straight, log, cut, log.length);
          const tailRestored = applyAll(restored, log, cut, log.length);
          expect(tailRestored).toEqual(tailStraight);
          expect(restored.snapshot()).toEqual(straight.snapshot());
          for (const name of TABLES) {
            expect(restored.agreedSize(name)).toBe(straight.agreedSize(name));
          }
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });

  test("the random sequences reach agreement, disagreement and pruning", () => {
    // Guards the property above against a generator that never exercises the interesting paths.
    let agreed = 0;
    let disagreed = 0;
    let pruned = 0;
    fc.assert(
      fc.property(fc.array(operation, { minLength: 100, maxLength: 160 }), (ops) => {
        const machine = fresh();
        const events = applyAll(machine, entries(ops), 0, ops.length + 3);
        agreed += events.filter((event) => event.type === "size_agreed").length;
        disagreed += events.filter((event) => event.type === "node_disagreement").length;
        pruned += TABLES.some((name) => (machine.keptSizes(name)[0] ?? 1) > 1) ? 1 : 0;
      }),
      { seed: SEED, numRuns: 40 },
    );
    expect(agreed).toBeGreaterThan(0);
    expect(disagreed).toBeGreaterThan(0);
    expect(pruned).toBeGreaterThan(0);
  });

  test("a snapshot starts with its version byte and refuses another cluster or version", () => {
    const machine = fresh();
    applyAll(machine, entries([{ op: "target", table: 0, step: 2 }]), 0, 4);
    const bytes = machine.snapshot();
    expect(bytes[0]).toBe(SNAPSHOT_FORMAT_VERSION);
    const other = new ClusterStateMachine({ clusterOrigin: "witnz.example/other" });
    expect(() => other.restore(bytes)).toThrow(/cluster origin/);
    const versioned = Uint8Array.from(bytes);
    versioned[0] = 9;
    expect(() => fresh().restore(versioned)).toThrow(ClusterError);
    expect(() => fresh().restore(bytes.subarray(0, bytes.length - 1))).toThrow(/past the end/);
    expect(() => fresh().restore(Uint8Array.of(...bytes, 0))).toThrow(/follow the end/);
  });
});
