// Snapshots: deterministic bytes, and restore-then-apply equals never snapshotting, over random
// command sequences (fast-check prints the seed and the shrunk sequence of any failure).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ALERT_MESSAGE_BYTES_MAX,
  ALERT_PK_BYTES_MAX,
  ALERT_PK_VALUES_MAX,
  ALERTS_MAX,
  alertProblem,
  type ClusterCommand,
  ClusterError,
  type ClusterEvent,
  ClusterStateMachine,
  encodeCommand,
  INCIDENT_ID_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  NODES_MAX,
  type ReplicatedAlert,
  SNAPSHOT_FORMAT_VERSION,
  TABLE_NAME_BYTES_MAX,
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
  | { readonly op: "verify"; readonly node: number; readonly table: number; readonly n: number }
  | { readonly op: "raise"; readonly node: number; readonly n: number; readonly pk: boolean }
  | { readonly op: "ack"; readonly n: number; readonly disagreement: boolean }
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
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("verify"), node, table, n: fc.nat(20) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("raise"), node, n: fc.nat(8), pk: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("ack"), n: fc.nat(8), disagreement: fc.boolean() }),
  },
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
    case "raise":
      // Few ids, so nodes report the same incident; node-d is mostly unregistered.
      return encodeCommand({
        type: "alert_raised",
        alert: {
          id: `incident-${operation.n}`,
          kind: "append_only_violation",
          severity: (["info", "warning", "critical"] as const)[operation.n % 3]!,
          node: NODES[operation.node]!.id,
          ...(operation.n % 2 === 0 ? { table: TABLES[operation.n % 2]! } : {}),
          ...(operation.pk ? { op: "DELETE", pk: [`${operation.n}`, null] } : {}),
          ...(operation.n % 4 === 0 ? { lsn: `0/${operation.n.toString(16).toUpperCase()}` } : {}),
          detectedAt: `2025-11-23T09:00:0${operation.n}.000Z`,
          message: `DELETE #${operation.n} seen by ${NODES[operation.node]!.id}`,
        },
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
        // A node's incident, or a disagreement's (sizes climb slowly, so small ones recur).
        incidentId: operation.disagreement
          ? `node_disagreement/${TABLES[operation.n % 2]!}/${1 + (operation.n >> 1)}`
          : `incident-${operation.n}`,
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
          expect(restored.incidents()).toEqual(straight.incidents());
          for (const incident of straight.incidents()) {
            expect(alertProblem(incident.alert)).toBeUndefined();
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
    const incidentEvents = new Set<string>();
    fc.assert(
      fc.property(fc.array(operation, { minLength: 100, maxLength: 160 }), (ops) => {
        const machine = fresh();
        const events = applyAll(machine, entries(ops), 0, ops.length + 3);
        agreed += events.filter((event) => event.type === "size_agreed").length;
        disagreed += events.filter((event) => event.type === "node_disagreement").length;
        pruned += TABLES.some((name) => (machine.keptSizes(name)[0] ?? 1) > 1) ? 1 : 0;
        for (const event of events) {
          if (event.type === "alert_raised") {
            incidentEvents.add(`raised/${event.alert.node === "cluster"}/${event.acknowledged}`);
          }
          if (event.type === "alert_reported") incidentEvents.add("reported");
          if (event.type === "alert_acknowledged") incidentEvents.add("acknowledged");
          if (event.type === "command_duplicate") incidentEvents.add(event.commandType);
        }
        if (machine.incidents().some((incident) => incident.acknowledged)) {
          incidentEvents.add("incident acknowledged");
        }
      }),
      { seed: SEED, numRuns: 40 },
    );
    expect(agreed).toBeGreaterThan(0);
    expect(disagreed).toBeGreaterThan(0);
    expect(pruned).toBeGreaterThan(0);
    for (const seen of [
      "raised/false/false",
      "raised/false/true",
      "raised/true/false",
      "reported",
      "acknowledged",
      "incident acknowledged",
      "alert_raised",
    ]) {
      expect(incidentEvents).toContain(seen);
    }
  });

  test("a full incident list, with evictions, snapshots and restores to the same bytes", () => {
    const machine = fresh();
    let index = 0;
    const run = (command: ClusterCommand): ClusterEvent[] =>
      machine.apply(command, { index: ++index, term: 1 });
    const node = NODES[0]!;
    run({ type: "node_registered", node: node.id, verifierKey: node.verifierKey });
    const alert = (n: number): ReplicatedAlert => ({
      id: `i-${n}`,
      kind: "replication_gap",
      severity: "warning",
      node: node.id,
      detectedAt: "2025-11-23T09:00:00.000Z",
      message: `gap ${n}`,
    });
    for (let n = 0; n < ALERTS_MAX + 10; n++) {
      if (n % 3 === 0)
        run({ type: "alert_ack", incidentId: `i-${n}`, by: "x", timeMicroseconds: n });
      run({ type: "alert_raised", alert: alert(n) });
    }
    expect(machine.incidents()).toHaveLength(ALERTS_MAX);
    expect(machine.incidents()[0]!.alert.id).toBe("i-1");
    const restored = fresh();
    restored.restore(machine.snapshot());
    expect(restored.snapshot()).toEqual(machine.snapshot());
    expect(restored.pendingIncidents()).toEqual(machine.pendingIncidents());
    // And both evict the same next one.
    const next: ClusterCommand = { type: "alert_raised", alert: alert(5000) };
    expect(restored.apply(next, { index: index + 1, term: 1 })).toEqual(run(next));
    expect(restored.snapshot()).toEqual(machine.snapshot());
  });

  test("the incident list at its worst case fits the documented budget", () => {
    // ALERTS_MAX incidents of the largest alert, each reported by NODES_MAX nodes of the
    // longest ids: docs/design/cluster.md counts about 7.3 MiB for this part.
    const machine = fresh();
    let index = 0;
    const ids = Array.from(
      { length: NODES_MAX },
      (_, i) => `${"n".repeat(NODE_ID_BYTES_MAX - 2)}${String(i).padStart(2, "0")}`,
    );
    for (const id of ids) {
      const node = testNode(id);
      machine.apply(
        { type: "node_registered", node: id, verifierKey: node.verifierKey },
        { index: ++index, term: 1 },
      );
    }
    const empty = machine.snapshot().length;
    for (let n = 0; n < ALERTS_MAX; n++) {
      const id = `${String(n).padStart(4, "0")}${"i".repeat(INCIDENT_ID_BYTES_MAX - 4)}`;
      for (const node of ids) {
        const alert: ReplicatedAlert = {
          id,
          kind: `a${"b".repeat(63)}`,
          severity: "critical",
          node,
          table: "t".repeat(TABLE_NAME_BYTES_MAX),
          op: "o".repeat(64),
          pk: [...Array(ALERT_PK_VALUES_MAX - 1).fill(""), "k".repeat(ALERT_PK_BYTES_MAX)],
          lsn: "FFFFFFFF/FFFFFFFF",
          detectedAt: "+275760-09-13T00:00:00.123456789+23:59",
          message: "m".repeat(ALERT_MESSAGE_BYTES_MAX),
        };
        machine.apply({ type: "alert_raised", alert }, { index: ++index, term: 1 });
      }
    }
    expect(machine.incidents()).toHaveLength(ALERTS_MAX);
    expect(machine.incidents()[0]!.reporters).toHaveLength(NODES_MAX);
    const incidentBytes = machine.snapshot().length - empty;
    expect(incidentBytes).toBeLessThan(7.5 * 1024 * 1024);
  });

  test("restore checks every incident", () => {
    const machine = fresh();
    const node = NODES[0]!;
    machine.apply(
      { type: "node_registered", node: node.id, verifierKey: node.verifierKey },
      { index: 1, term: 1 },
    );
    const alert: ReplicatedAlert = {
      id: "i-1",
      kind: "schema_change",
      severity: "critical",
      node: node.id,
      detectedAt: "2025-11-23T09:00:00.000Z",
      message: "m",
    };
    const command = encodeCommand({ type: "alert_raised", alert });
    machine.applyEntry(command, { index: 2, term: 1 });
    const bytes = machine.snapshot();
    const hex = Buffer.from(bytes).toString("hex");
    const alertHex = Buffer.from(command.subarray(2)).toString("hex");
    const at = hex.indexOf(alertHex) / 2;
    expect(at).toBeGreaterThan(0);
    const edit = (offset: number, byte: number): Uint8Array => {
      const copy = Uint8Array.from(bytes);
      copy[offset] = byte;
      return copy;
    };
    const severityAt = at + 4 + 3 + 4 + 13;
    expect(bytes[severityAt]).toBe(3);
    expect(() => fresh().restore(edit(severityAt, 9))).toThrow(/alert severity byte 9/);
    // The kind's first letter upper-case: a rule, not a layout, check.
    expect(() => fresh().restore(edit(at + 4 + 3 + 4, 0x53))).toThrow(/incident 0: alert kind/);
    // The reporter count (after the alert) set to 0.
    const reportersAt = at + command.length - 2;
    expect(bytes[reportersAt + 3]).toBe(1);
    expect(() => fresh().restore(edit(reportersAt + 3, 0))).toThrow(/sorted, non-empty set/);
    // The acknowledged flag is a boolean.
    const acknowledgedAt = reportersAt + 4 + 4 + node.id.length + 8;
    expect(bytes[acknowledgedAt]).toBe(0);
    expect(() => fresh().restore(edit(acknowledgedAt, 2))).toThrow(/acknowledged is 2/);
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
