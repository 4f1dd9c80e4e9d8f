import { describe, expect, test } from "vitest";
import {
  ALERTS_MAX,
  alertProblem,
  type ClusterCommand,
  ClusterError,
  disagreementMessage,
  encodeCommand,
  isoFromUnixMicroseconds,
  OBSERVATIONS_MAX,
  type ReplicatedAlert,
  SIZES_KEPT_BELOW_AGREED,
  SIZES_PER_TABLE_MAX,
} from "../../src/cluster/index.js";
import {
  CLUSTER_ORIGIN,
  Driver,
  observation,
  ofType,
  signedNote,
  TABLE,
  testNode,
  valueAt,
} from "./fixtures.js";

const A = testNode("node-a");
const B = testNode("node-b");
const C = testNode("node-c");
const D = testNode("node-d");
const target = (size: number, table = TABLE): ClusterCommand => ({
  type: "attestation_target",
  table,
  size,
});

function threeNodes(): Driver {
  const driver = new Driver();
  driver.register(A, B, C);
  return driver;
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

describe("agreement", () => {
  test("three nodes attesting the same size agree; the size becomes the agreed size", () => {
    const driver = threeNodes();
    driver.run(target(100));
    const partial = driver.run(observation(A, 100), observation(B, 100));
    expect(ofType(partial, "size_agreed")).toEqual([]);
    const events = driver.run(observation(C, 100));
    expect(events).toEqual([
      { type: "observation_accepted", node: "node-c", table: TABLE, size: 100 },
      { type: "size_agreed", table: TABLE, size: 100 },
    ]);
    expect(driver.machine.agreedSize(TABLE)).toBe(100);
    expect(driver.machine.latestAttestedSize("node-b", TABLE)).toBe(100);
    expect(driver.machine.disagreements()).toEqual([]);
  });

  test("one node's altered data hash is a node_disagreement naming it, with all three values", () => {
    const driver = threeNodes();
    driver.run(target(100), observation(A, 100), observation(B, 100));
    const events = driver.run(observation(C, 100, "altered"));
    const [event] = ofType(events, "node_disagreement");
    const honest = valueAt(TABLE, 100);
    const altered = valueAt(TABLE, 100, "altered");
    expect(event?.disagreement).toMatchObject({
      table: TABLE,
      size: 100,
      incidentId: `node_disagreement/${TABLE}/100`,
      outcome: "majority",
      majorityNodes: ["node-a", "node-b"],
      oddNodes: ["node-c"],
      missingNodes: [],
      values: [
        { node: "node-a", rootHash: base64(honest.rootHash), chainHash: base64(honest.chainHash) },
        { node: "node-b", rootHash: base64(honest.rootHash), chainHash: base64(honest.chainHash) },
        {
          node: "node-c",
          rootHash: base64(altered.rootHash),
          chainHash: base64(altered.chainHash),
        },
      ],
    });
    expect(driver.machine.agreedSize(TABLE)).toBe(0);
  });

  test("the altered node reported first is still named once the others arrive", () => {
    const driver = threeNodes();
    const events = driver.run(
      target(7),
      observation(C, 7, "altered"),
      observation(A, 7),
      observation(B, 7),
    );
    const disagreements = ofType(events, "node_disagreement");
    expect(disagreements).toHaveLength(1);
    expect(disagreements[0]!.disagreement.oddNodes).toEqual(["node-c"]);
  });

  test("two nodes telling the same lie make the honest node the odd one out (majority semantics)", () => {
    const driver = threeNodes();
    const events = driver.run(
      target(5),
      observation(A, 5),
      observation(B, 5, "lie"),
      observation(C, 5, "lie"),
    );
    const [event] = ofType(events, "node_disagreement");
    expect(event?.disagreement.outcome).toBe("majority");
    expect(event?.disagreement.majorityNodes).toEqual(["node-b", "node-c"]);
    expect(event?.disagreement.oddNodes).toEqual(["node-a"]);
  });

  test("three different values are a tie that names nobody", () => {
    const driver = threeNodes();
    const events = driver.run(
      target(5),
      observation(A, 5),
      observation(B, 5, "x"),
      observation(C, 5, "y"),
    );
    const [event] = ofType(events, "node_disagreement");
    expect(event?.disagreement).toMatchObject({ outcome: "tie", oddNodes: [], majorityNodes: [] });
    expect(event?.disagreement.values).toHaveLength(3);
  });

  test("four nodes split 2/1/1 have no majority", () => {
    const driver = new Driver();
    driver.register(A, B, C, D);
    const events = driver.run(
      target(5),
      observation(A, 5),
      observation(B, 5),
      observation(C, 5, "x"),
      observation(D, 5, "y"),
    );
    const [event] = ofType(events, "node_disagreement");
    expect(event?.disagreement.outcome).toBe("no_majority");
    expect(event?.disagreement.oddNodes).toEqual([]);
  });

  test("a disagreement is reported exactly once per (table, size)", () => {
    const driver = new Driver();
    driver.register(A, B, C, D);
    // 3 of 4 agree: decided before D reports; D's differing value adds no second event.
    const first = driver.run(
      target(9),
      observation(A, 9),
      observation(B, 9, "x"),
      observation(C, 9),
    );
    expect(ofType(first, "node_disagreement")).toEqual([]);
    const second = driver.run(observation(D, 9));
    const [event] = ofType(second, "node_disagreement");
    expect(event?.disagreement.oddNodes).toEqual(["node-b"]);
    const third = driver.run(target(10), observation(A, 10));
    expect(ofType(third, "node_disagreement")).toEqual([]);
    expect(driver.machine.disagreements()).toHaveLength(1);
  });

  test("with five nodes a decided majority reports before the last node, naming it missing", () => {
    const E = testNode("node-e");
    const driver = new Driver();
    driver.register(A, B, C, D, E);
    const events = driver.run(
      target(3),
      observation(A, 3),
      observation(B, 3),
      observation(E, 3, "x"),
      observation(C, 3),
    );
    const [event] = ofType(events, "node_disagreement");
    expect(event?.disagreement).toMatchObject({
      outcome: "majority",
      oddNodes: ["node-e"],
      missingNodes: ["node-d"],
    });
  });
});

describe("rejections", () => {
  function reasonOf(driver: Driver, command: ClusterCommand): string | undefined {
    const [event] = driver.run(command);
    return event?.type === "command_rejected" ? event.rejection.reason : event?.type;
  }

  test("forged signature, wrong key and mismatched size, table and origin have distinct reasons", () => {
    const driver = threeNodes();
    driver.run(target(10));
    const good = signedNote({ size: 10, signer: A.signer });
    // Flip one byte of the signature (after the key ID) and keep the base64 canonical.
    const line = good.trimEnd().split("\n").at(-1)!;
    const [dash, name, signature] = line.split(" ") as [string, string, string];
    const raw = Buffer.from(signature, "base64");
    raw[10] = raw[10]! ^ 0xff;
    const forged = good.replace(line, `${dash} ${name} ${raw.toString("base64")}`);
    const base = { type: "observation", node: "node-a", table: TABLE, size: 10 } as const;
    expect(reasonOf(driver, { ...base, note: forged })).toBe("signature_invalid");
    expect(reasonOf(driver, { ...base, note: signedNote({ size: 10, signer: B.signer }) })).toBe(
      "signature_not_from_node",
    );
    expect(reasonOf(driver, { ...base, note: signedNote({ size: 11, signer: A.signer }) })).toBe(
      "size_mismatch",
    );
    expect(
      reasonOf(driver, {
        ...base,
        note: signedNote({ table: "public.other", size: 10, signer: A.signer }),
      }),
    ).toBe("table_mismatch");
    expect(
      reasonOf(driver, {
        ...base,
        note: signedNote({ origin: "elsewhere.example/x", size: 10, signer: A.signer }),
      }),
    ).toBe("origin_mismatch");
    expect(reasonOf(driver, { ...base, note: "not a note" })).toBe("checkpoint_malformed");
    expect(reasonOf(driver, observation(D, 10))).toBe("node_unknown");
    expect(reasonOf(driver, observation(A, 12))).toBe("size_not_targeted");
    expect(reasonOf(driver, target(10))).toBe("target_not_increasing");
    // None of these counted.
    expect(driver.machine.observations(TABLE, 10)).toEqual([]);
    const reasons = driver.machine.rejections().map((record) => record.reason);
    expect(new Set(reasons).size).toBe(reasons.length);
  });

  test("a malformed entry is recorded, not thrown, and the machine goes on", () => {
    const driver = threeNodes();
    const events = driver.machine.applyEntry(Uint8Array.of(1, 99), { index: 100, term: 1 });
    expect(events).toMatchObject([
      {
        type: "command_rejected",
        rejection: { reason: "malformed_command", commandType: "malformed" },
      },
    ]);
    const applied = driver.machine.applyEntry(encodeCommand(target(1)), { index: 101, term: 1 });
    expect(applied).toEqual([{ type: "target_set", table: TABLE, size: 1 }]);
  });

  test("applying out of log order is a caller bug and throws", () => {
    const driver = threeNodes();
    expect(() => driver.machine.apply(target(1), { index: 1, term: 1 })).toThrow(ClusterError);
  });

  test("re-registering a node under another key is refused", () => {
    const driver = threeNodes();
    const [event] = driver.run({
      type: "node_registered",
      node: "node-a",
      verifierKey: B.verifierKey,
    });
    expect(event).toMatchObject({ rejection: { reason: "node_key_conflict" } });
  });
});

describe("idempotence and conflicts", () => {
  test("a duplicate observation changes nothing", () => {
    const driver = threeNodes();
    driver.run(target(4), observation(A, 4));
    const before = driver.machine.snapshot();
    const events = driver.run(observation(A, 4));
    expect(events).toEqual([{ type: "command_duplicate", commandType: "observation" }]);
    const after = driver.machine.snapshot();
    // Only the applied index moved: version byte, u32 length and origin, then the u64 index.
    const indexOffset = 1 + 4 + new TextEncoder().encode(CLUSTER_ORIGIN).length;
    after.set(before.subarray(indexOffset, indexOffset + 8), indexOffset);
    expect(after).toEqual(before);
    expect(driver.machine.observationCount()).toBe(1);
  });

  test("a second, different value from the same node for the same size is refused", () => {
    const driver = threeNodes();
    driver.run(target(4), observation(A, 4));
    const [event] = driver.run(observation(A, 4, "other"));
    expect(event).toMatchObject({ rejection: { reason: "observation_conflict" } });
  });
});

describe("restored nodes", () => {
  test("a restored node does not count until re-verified", () => {
    const driver = threeNodes();
    driver.run({ type: "node_restored", node: "node-c" }, target(20));
    const [refused] = driver.run(observation(C, 20, "copied"));
    expect(refused).toMatchObject({ rejection: { reason: "node_restored" } });
    const events = driver.run(observation(A, 20), observation(B, 20));
    expect(ofType(events, "size_agreed")).toEqual([
      { type: "size_agreed", table: TABLE, size: 20 },
    ]);
    expect(driver.machine.sequencingInput(TABLE).countingNodes).toEqual(["node-a", "node-b"]);

    const reverified = driver.run({ type: "node_reverified", node: "node-c" }, target(30));
    expect(reverified[0]).toEqual({ type: "node_reverified", node: "node-c" });
    const later = driver.run(observation(A, 30), observation(B, 30), observation(C, 30, "bad"));
    const [event] = ofType(later, "node_disagreement");
    expect(event?.disagreement.oddNodes).toEqual(["node-c"]);
  });

  test("marking a silent node restored lets the others' agreement advance", () => {
    const driver = threeNodes();
    driver.run(target(20), observation(A, 20), observation(B, 20));
    expect(driver.machine.agreedSize(TABLE)).toBe(0);
    const events = driver.run({ type: "node_restored", node: "node-c" });
    expect(ofType(events, "size_agreed")).toEqual([
      { type: "size_agreed", table: TABLE, size: 20 },
    ]);
  });
});

describe("memory bound", () => {
  test("agreed sizes leave a window of SIZES_KEPT_BELOW_AGREED behind them", () => {
    const driver = threeNodes();
    for (let size = 1; size <= 50; size++) {
      driver.run(target(size), observation(A, size), observation(B, size), observation(C, size));
    }
    expect(driver.machine.agreedSize(TABLE)).toBe(50);
    const kept = driver.machine.keptSizes(TABLE);
    expect(kept).toEqual(Array.from({ length: SIZES_KEPT_BELOW_AGREED + 1 }, (_, i) => 46 + i));
    expect(driver.machine.observationCount()).toBe(3 * kept.length);
  });

  test("a silent node cannot grow the state past SIZES_PER_TABLE_MAX sizes per table", () => {
    const driver = threeNodes();
    for (let size = 1; size <= SIZES_PER_TABLE_MAX + 40; size++) {
      driver.run(target(size), observation(A, size), observation(B, size));
    }
    expect(driver.machine.keptSizes(TABLE)).toHaveLength(SIZES_PER_TABLE_MAX);
    expect(driver.machine.keptSizes(TABLE)[0]).toBe(41);
    expect(driver.machine.observationCount()).toBe(2 * SIZES_PER_TABLE_MAX);
    expect(driver.machine.agreedSize(TABLE)).toBe(0);
    const [expired] = driver.run(observation(C, 3));
    expect(expired).toMatchObject({ rejection: { reason: "size_expired" } });
  });

  test("an unreported difference is reported when its size is dropped, naming the missing node", () => {
    const driver = threeNodes();
    const events = driver.run(target(1), observation(A, 1), observation(B, 1, "x"));
    expect(ofType(events, "node_disagreement")).toEqual([]);
    const later: ReturnType<Driver["run"]> = [];
    for (let size = 2; size <= SIZES_PER_TABLE_MAX + 1; size++)
      later.push(...driver.run(target(size)));
    const [event] = ofType(later, "node_disagreement");
    expect(event?.disagreement).toMatchObject({
      size: 1,
      outcome: "tie",
      missingNodes: ["node-c"],
    });
  });

  test("OBSERVATIONS_MAX bounds the stored notes across tables", () => {
    const driver = threeNodes();
    const perTable = 2 * SIZES_PER_TABLE_MAX;
    const tables = OBSERVATIONS_MAX / perTable + 1;
    const rejected: string[] = [];
    for (let t = 0; t < tables; t++) {
      const table = `public.t${t}`;
      for (let size = 1; size <= SIZES_PER_TABLE_MAX; size++) {
        const events = driver.run(
          target(size, table),
          observation(A, size, "honest", table),
          observation(B, size, "honest", table),
        );
        for (const event of ofType(events, "command_rejected"))
          rejected.push(event.rejection.reason);
      }
    }
    expect(driver.machine.observationCount()).toBe(OBSERVATIONS_MAX);
    expect(rejected).toHaveLength(perTable);
    expect(new Set(rejected)).toEqual(new Set(["observation_capacity"]));
  });
});

describe("records", () => {
  test("verification results and acknowledgements are kept, latest N", () => {
    const driver = threeNodes();
    driver.run({
      type: "verification_result",
      node: "node-c",
      table: TABLE,
      timeMicroseconds: 6,
      ok: false,
      counts: { rows: 10, modified: 1, deleted: 0, phantom: 0 },
    });
    expect(driver.machine.verifications(TABLE)).toMatchObject([{ node: "node-c", ok: false }]);
    const ack: ClusterCommand = {
      type: "alert_ack",
      incidentId: "node_disagreement/public.audit_log/100",
      by: "alice",
      timeMicroseconds: 7,
    };
    expect(driver.run(ack)[0]!.type).toBe("alert_acknowledged");
    expect(driver.run({ ...ack, by: "bob" })[0]!.type).toBe("command_duplicate");
    expect(driver.machine.isAcknowledged("node_disagreement/public.audit_log/100")).toBe(true);
    expect(driver.machine.alertAcks()).toMatchObject([{ by: "alice" }]);
  });
});

const alertOf = (
  id: string,
  node = "node-a",
  extra: Partial<ReplicatedAlert> = {},
): ReplicatedAlert => ({
  id,
  kind: "append_only_violation",
  severity: "critical",
  node,
  table: TABLE,
  op: "DELETE",
  pk: ["7"],
  lsn: "0/16B3748",
  detectedAt: "2025-11-23T09:00:00.000Z",
  message: `DELETE on ${TABLE} (${id})`,
  ...extra,
});
const raise = (alert: ReplicatedAlert): ClusterCommand => ({ type: "alert_raised", alert });
const ackOf = (incidentId: string): ClusterCommand => ({
  type: "alert_ack",
  incidentId,
  by: "node-a",
  timeMicroseconds: 1,
});

describe("incidents", () => {
  test("a first report raises an incident; another node's report of it adds a reporter", () => {
    const driver = threeNodes();
    const alert = alertOf("i-1", "node-b");
    expect(driver.run(raise(alert))).toEqual([
      { type: "alert_raised", alert, index: 4, acknowledged: false },
    ]);
    // Another node, another text: the first report stays, the reporter is added.
    expect(driver.run(raise(alertOf("i-1", "node-a", { message: "other words" })))).toEqual([
      { type: "alert_reported", incidentId: "i-1", node: "node-a", first: false },
    ]);
    // The same node again changes nothing.
    const before = driver.machine.incidents();
    expect(driver.run(raise(alertOf("i-1", "node-b")))).toEqual([
      { type: "command_duplicate", commandType: "alert_raised" },
    ]);
    expect(driver.machine.incidents()).toEqual(before);
    expect(driver.machine.incident("i-1")).toEqual({
      alert,
      reporters: ["node-a", "node-b"],
      index: 4,
      acknowledged: false,
    });
    expect(driver.machine.incident("nope")).toBeUndefined();
  });

  test("only a registered node raises", () => {
    const driver = threeNodes();
    const [event] = driver.run(raise(alertOf("i-1", "node-d")));
    expect(event).toMatchObject({
      type: "command_rejected",
      rejection: {
        reason: "node_unknown",
        commandType: "alert_raised",
        node: "node-d",
        table: TABLE,
      },
    });
    expect(driver.machine.incidents()).toEqual([]);
  });

  test("incidents in log order; acknowledged ones leave the pending list", () => {
    const driver = threeNodes();
    driver.run(raise(alertOf("b")), raise(alertOf("a")), raise(alertOf("c")));
    expect(driver.machine.incidents().map((incident) => incident.alert.id)).toEqual([
      "b",
      "a",
      "c",
    ]);
    expect(driver.run(ackOf("a"))[0]!.type).toBe("alert_acknowledged");
    expect(driver.machine.pendingIncidents().map((incident) => incident.alert.id)).toEqual([
      "b",
      "c",
    ]);
    expect(driver.machine.incident("a")?.acknowledged).toBe(true);
    expect(driver.machine.isAcknowledged("a")).toBe(true);
    expect(driver.machine.isAcknowledged("b")).toBe(false);
    // An acknowledgement that came first: the incident is raised already acknowledged.
    driver.run(ackOf("d"));
    const [event] = driver.run(raise(alertOf("d")));
    expect(event).toMatchObject({ type: "alert_raised", acknowledged: true });
    expect(driver.machine.pendingIncidents().map((incident) => incident.alert.id)).toEqual([
      "b",
      "c",
    ]);
  });

  test("ALERTS_MAX: a new incident evicts the oldest acknowledged one, else is refused", () => {
    const driver = threeNodes();
    for (let i = 0; i < ALERTS_MAX; i++) driver.run(raise(alertOf(`i-${i}`)));
    expect(driver.machine.incidents()).toHaveLength(ALERTS_MAX);
    const [refused] = driver.run(raise(alertOf("new-1")));
    expect(refused).toMatchObject({
      type: "command_rejected",
      rejection: { reason: "alert_capacity", commandType: "alert_raised", node: "node-a" },
    });
    // A known incident still takes another reporter when the list is full.
    expect(driver.run(raise(alertOf("i-0", "node-b")))[0]!.type).toBe("alert_reported");
    driver.run(ackOf("i-9"), ackOf("i-3"));
    expect(driver.run(raise(alertOf("new-1")))[0]!.type).toBe("alert_raised");
    expect(driver.machine.incident("i-3")).toBeUndefined();
    expect(driver.machine.incident("i-9")).toBeDefined();
    expect(driver.run(raise(alertOf("new-2")))[0]!.type).toBe("alert_raised");
    expect(driver.machine.incident("i-9")).toBeUndefined();
    const ids = driver.machine.incidents().map((incident) => incident.alert.id);
    expect(ids).toHaveLength(ALERTS_MAX);
    expect(ids.slice(-2)).toEqual(["new-1", "new-2"]);
    // The evicted incidents' acknowledgements are still answered from the ack list.
    expect(driver.machine.isAcknowledged("i-3")).toBe(true);
  });

  test("a node disagreement records its incident, with the majority LSN and latest time", () => {
    const driver = threeNodes();
    const events = driver.run(
      target(100),
      observation(A, 100),
      observation(B, 100),
      observation(C, 100, "altered"),
    );
    const [disagreement] = ofType(events, "node_disagreement");
    const [raised] = ofType(events, "alert_raised");
    expect(events.indexOf(raised!)).toBe(events.indexOf(disagreement!) + 1);
    const alert: ReplicatedAlert = {
      id: `node_disagreement/${TABLE}/100`,
      kind: "node_disagreement",
      severity: "critical",
      node: "cluster",
      table: TABLE,
      // The fixture's LSN is size * 16; its time 1_763_891_200_000_000 + size µs.
      lsn: "0/640",
      detectedAt: new Date(1_763_891_200_000).toISOString(),
      message: disagreementMessage(disagreement!.disagreement),
    };
    expect(raised).toEqual({ type: "alert_raised", alert, index: 7, acknowledged: false });
    expect(alert.message).toBe(
      `nodes disagree on ${TABLE} at size 100 (majority); odd node(s) out: node-c`,
    );
    expect(driver.machine.incident(alert.id)).toEqual({
      alert,
      reporters: ["cluster"],
      index: 7,
      acknowledged: false,
    });
    expect(alertProblem(alert)).toBeUndefined();
  });

  test("a lasting disagreement is one incident until every node agrees again", () => {
    const driver = threeNodes();
    const raisedIds = (events: ReturnType<typeof driver.run>) =>
      ofType(events, "alert_raised").map((event) => event.alert.id);
    const at = (size: number, odd?: typeof A) =>
      driver.run(
        target(size),
        ...[A, B, C].map((node) => observation(node, size, node === odd ? "altered" : undefined)),
      );
    expect(raisedIds(at(100, C))).toEqual([`node_disagreement/${TABLE}/100`]);
    // The same odd node at later sizes: recorded, under the first size's incident, no new alert.
    const later = at(200, C);
    expect(raisedIds(later)).toEqual([]);
    expect(ofType(later, "node_disagreement")[0]!.disagreement.incidentId).toBe(
      `node_disagreement/${TABLE}/100`,
    );
    expect(raisedIds(at(250, C))).toEqual([]);
    // Another odd node is another disagreement.
    expect(raisedIds(at(300, B))).toEqual([`node_disagreement/${TABLE}/300`]);
    // Every node agrees, then the first one is odd again: a new episode, a new alert.
    expect(raisedIds(at(400))).toEqual([]);
    expect(driver.machine.agreedSize(TABLE)).toBe(400);
    expect(raisedIds(at(500, C))).toEqual([`node_disagreement/${TABLE}/500`]);
    expect(
      driver.machine.disagreements().map((record) => [record.size, record.incidentId]),
    ).toEqual([
      [100, `node_disagreement/${TABLE}/100`],
      [200, `node_disagreement/${TABLE}/100`],
      [250, `node_disagreement/${TABLE}/100`],
      [300, `node_disagreement/${TABLE}/300`],
      [500, `node_disagreement/${TABLE}/500`],
    ]);
  });

  test("a tie split another way, or an episode whose incident was refused, raises a new alert", () => {
    const driver = new Driver();
    driver.register(A, B, C, D);
    const raisedIds = (events: ReturnType<typeof driver.run>) =>
      ofType(events, "alert_raised").map((event) => event.alert.id);
    // {A, B} against {C, D}, then {A, C} against {B, D}: two ties, two splits, two alerts.
    const tie = (size: number, altered: readonly (typeof A)[]) =>
      driver.run(
        target(size),
        ...[A, B, C, D].map((node) =>
          observation(node, size, altered.includes(node) ? "y" : undefined),
        ),
      );
    expect(raisedIds(tie(10, [C, D]))).toEqual([`node_disagreement/${TABLE}/10`]);
    expect(raisedIds(tie(20, [C, D]))).toEqual([]);
    expect(raisedIds(tie(30, [B, D]))).toEqual([`node_disagreement/${TABLE}/30`]);

    // An episode whose first incident was dropped (the incident list was full) is alerted at its
    // next size rather than never.
    const full = threeNodes();
    for (let i = 0; i < ALERTS_MAX; i++) full.run(raise(alertOf(`i-${i}`)));
    const first = full.run(target(5), observation(A, 5), observation(B, 5), observation(C, 5, "x"));
    expect(ofType(first, "alert_raised")).toEqual([]);
    for (let i = 0; i < 10; i++) full.run(ackOf(`i-${i}`));
    const next = full.run(target(6), observation(A, 6), observation(B, 6), observation(C, 6, "x"));
    expect(ofType(next, "node_disagreement")[0]!.disagreement.incidentId).toBe(
      `node_disagreement/${TABLE}/6`,
    );
  });

  test("a tie's incident has no LSN; a node's own report of it adds the node", () => {
    const driver = threeNodes();
    const events = driver.run(
      target(5),
      observation(A, 5),
      observation(B, 5, "x"),
      observation(C, 5, "y"),
    );
    const [raised] = ofType(events, "alert_raised");
    expect(raised?.alert.lsn).toBeUndefined();
    expect(raised?.alert.message).toMatch(/\(tie\); odd node\(s\) out: nobody named$/);
    const id = raised!.alert.id;
    expect(driver.run(raise({ ...raised!.alert, node: "node-b" }))).toEqual([
      { type: "alert_reported", incidentId: id, node: "node-b", first: false },
    ]);
    expect(driver.machine.incident(id)?.reporters).toEqual(["cluster", "node-b"]);
  });

  test("a full incident list drops a disagreement's incident but keeps the disagreement", () => {
    const driver = threeNodes();
    for (let i = 0; i < ALERTS_MAX; i++) driver.run(raise(alertOf(`i-${i}`)));
    const events = driver.run(
      target(5),
      observation(A, 5),
      observation(B, 5),
      observation(C, 5, "x"),
    );
    expect(ofType(events, "node_disagreement")).toHaveLength(1);
    expect(ofType(events, "alert_raised")).toEqual([]);
    const [rejected] = ofType(events, "command_rejected");
    expect(rejected?.rejection).toMatchObject({
      reason: "alert_capacity",
      commandType: "observation",
      node: "",
      table: TABLE,
    });
    expect(ofType(events, "observation_accepted")).toHaveLength(3);
    expect(driver.machine.disagreements()).toHaveLength(1);
    expect(driver.machine.incident(`node_disagreement/${TABLE}/5`)).toBeUndefined();
  });
});

describe("isoFromUnixMicroseconds", () => {
  test("matches toISOString from the epoch to 2^53 - 1 microseconds", () => {
    const samples = [
      0,
      999,
      1000,
      86_399_999_999,
      86_400_000_000,
      951_782_400_000_000, // 2000-02-29
      951_868_799_999_999,
      1_709_164_800_000_000, // 2024-02-29
      4_107_542_400_000_000, // 2100-03-01 (2100 is no leap year)
      1_763_891_200_123_456,
      Number.MAX_SAFE_INTEGER,
    ];
    let x = 0x2545f491;
    for (let i = 0; i < 2000; i++) {
      // A fixed xorshift sequence spread over the whole range.
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      samples.push(Math.floor(((x >>> 0) / 2 ** 32) * Number.MAX_SAFE_INTEGER));
    }
    for (const microseconds of samples) {
      expect(isoFromUnixMicroseconds(microseconds)).toBe(
        new Date(Math.floor(microseconds / 1000)).toISOString(),
      );
    }
    expect(() => isoFromUnixMicroseconds(-1)).toThrow(RangeError);
  });
});
