// The pure parts of `witnz status`: table names parsed as PostgreSQL parses them, the
// verification record, the compact table.
import { describe, expect, test } from "vitest";
import {
  decodeVerification,
  displayNameOfConfiguredTable,
  formatStatusText,
  type NodeStatus,
} from "../../src/status/index.js";

describe("displayNameOfConfiguredTable", () => {
  test.each([
    ["audit_log", "public.audit_log"],
    ["Audit_Log", "public.audit_log"],
    ["billing.orders", "billing.orders"],
    [" billing . Orders ", "billing.orders"],
    ['"Audit"."Log Entries"', '"Audit"."Log Entries"'],
    ['"say ""hi"""', 'public."say ""hi"""'],
    ['public."lower"', "public.lower"],
  ])("%s -> %s", (configured, display) => {
    expect(displayNameOfConfiguredTable(configured)).toBe(display);
  });

  test.each(['"open', "a.b.c", "", "a..b", '""'])("%j is refused", (configured) => {
    expect(() => displayNameOfConfiguredTable(configured)).toThrow(
      expect.objectContaining({ code: "WITNZ_STATUS_TABLE" }),
    );
  });
});

describe("decodeVerification", () => {
  test("lists become counts; a time in milliseconds becomes ISO", () => {
    const record = {
      time: Date.UTC(2026, 0, 2, 3, 4, 5),
      ok: true,
      rowsChecked: 10,
      modified: [],
      deleted: 0,
      phantom: [["1"], ["2"]],
    };
    expect(decodeVerification(Buffer.from(JSON.stringify(record)))).toEqual({
      time: "2026-01-02T03:04:05.000Z",
      outcome: "clean",
      ok: true,
      rowsChecked: 10,
      modified: 0,
      deleted: 0,
      phantom: 2,
      error: null,
    });
  });

  test("the node's record: finishedAt, outcome, row counts, the error of a failed run", () => {
    const record = {
      table: "public.t",
      trigger: "interval",
      startedAt: "2026-01-02T03:04:00.000Z",
      finishedAt: "2026-01-02T03:04:05.000Z",
      durationMs: 5000,
      outcome: "error",
      ok: false,
      rowsChecked: 0,
      modifiedRows: 0,
      deletedRows: 0,
      phantomRows: 0,
      schemaChanged: false,
      violationLogSize: 0,
      error: "database unreachable",
    };
    expect(decodeVerification(Buffer.from(JSON.stringify(record)))).toMatchObject({
      time: "2026-01-02T03:04:05.000Z",
      outcome: "error",
      ok: false,
      error: "database unreachable",
    });
  });

  test("a record without ok is refused", () => {
    expect(() =>
      decodeVerification(Buffer.from(JSON.stringify({ time: 0, rowsChecked: 1 }))),
    ).toThrow(/ok/);
  });
});

describe("formatStatusText", () => {
  test("one line per table under a header; unreachable database and errors spelled out", () => {
    const status: NodeStatus = {
      node: "node1",
      takenAt: "2026-01-01T00:00:10.000Z",
      complete: false,
      health: {
        url: "http://127.0.0.1:7070/readyz",
        state: "not_ready",
        reasons: ["replication is reconnecting"],
      },
      store: { directory: "data", readable: true, error: null },
      database: {
        address: "db:5432/app",
        reachable: false,
        error: "unreachable: connection refused",
        currentLsn: null,
        slot: { name: "witnz_node1", exists: false, active: null, confirmedFlushLsn: null },
        lagBytes: null,
      },
      tables: [
        {
          table: "public.audit_log",
          chainLength: 12,
          headHash: "ab".repeat(32),
          checkpoint: {
            size: 12,
            rootHash: "cd".repeat(32),
            lsn: "0/16B3748",
            time: "2026-01-01T00:00:00.000Z",
          },
          lastLsn: "0/16B3748",
          lag: { bytes: null, secondsSinceCheckpoint: 10 },
          violations: 2,
          lastVerification: null,
        },
      ],
      cluster: null,
      errors: ["database: unreachable: connection refused"],
    };
    expect(formatStatusText(status)).toBe(
      [
        "node node1: running, not ready: replication is reconnecting",
        "store data: readable",
        "database db:5432/app: unreachable: connection refused",
        "captured up to 0/16B3748",
        "",
        "TABLE             CHAIN  HEAD               ROOT               SIZE  LAG      VIOLATIONS  VERIFIED",
        "public.audit_log  12     abababababababab…  cdcdcdcdcdcdcdcd…  12    - / 10s  2           never",
        "error: database: unreachable: connection refused",
        "",
      ].join("\n"),
    );
  });

  test("a cluster member adds the leader, each node and each node's sizes per table", () => {
    const status: NodeStatus = {
      node: "n2",
      takenAt: "2026-01-01T00:00:10.000Z",
      complete: true,
      health: { url: "http://127.0.0.1:7070/readyz", state: "ready", reasons: [] },
      store: { directory: "data", readable: true, error: null },
      database: {
        address: "db:5432/app",
        reachable: true,
        error: null,
        currentLsn: "0/200",
        slot: { name: "witnz_n2", exists: true, active: true, confirmedFlushLsn: "0/200" },
        lagBytes: 0,
      },
      tables: [],
      cluster: {
        node: "n2",
        state: "follower",
        leader: "n1",
        term: 3,
        commitIndex: 40,
        appliedIndex: 40,
        snapshotIndex: 0,
        snapshotsRestored: 0,
        nodes: [
          { node: "n1", suffrage: "voter", registered: true, restored: false, leader: true },
          { node: "n2", suffrage: "voter", registered: true, restored: true, leader: false },
        ],
        tables: [
          {
            table: "public.t",
            targetSize: 10,
            agreedSize: 8,
            agreement: "pending",
            standingDisagreement: null,
            nodes: [
              { node: "n1", reportedSize: 10, lagEntries: 0, attestedSize: 10 },
              { node: "n2", reportedSize: 7, lagEntries: 3, attestedSize: 0 },
            ],
          },
          {
            table: "public.u",
            targetSize: 12,
            agreedSize: 4,
            agreement: "disagreement",
            standingDisagreement: { size: 12, oddNodes: ["n1"] },
            nodes: [
              { node: "n1", reportedSize: 12, lagEntries: 0, attestedSize: 12 },
              { node: "n2", reportedSize: 12, lagEntries: 0, attestedSize: 12 },
            ],
          },
        ],
        allAgree: false,
        disagreements: 1,
        pendingIncidents: 0,
      },
      errors: [],
    };
    const text = formatStatusText(status);
    expect(text).toContain(
      [
        "cluster: leader n1, term 3, this node follower; 1 disagreement(s) recorded",
        "NODE  RAFT    OBSERVATIONS",
        "n1    leader  counting",
        "n2    voter   restored, not counting",
        "",
        "TABLE     NODE  SIZE  LAG  ATTESTED  AGREED  STATE",
        "public.t  n1    10    0    10        8       pending",
        "public.t  n2    7     3    0         8       pending",
        "public.u  n1    12    0    12        4       odd node out at 12",
        "public.u  n2    12    0    12        4       disagreement",
      ].join("\n"),
    );
  });
});
