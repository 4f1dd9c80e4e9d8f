import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  exampleConfigYaml,
  formatConfigError,
  parseConfig,
  type WitnzConfig,
} from "../../src/config/index.js";
import { configErrorOf, MINIMAL_RAFT_NODE, SPEC_BOOTSTRAP_NODE } from "./helpers.js";

function designNote(): string {
  return readFileSync(new URL("../../docs/design/config.md", import.meta.url), "utf8");
}

describe("a valid configuration", () => {
  test("the specification's bootstrap node parses to the typed, camelCase object", () => {
    const { config, warnings } = parseConfig(SPEC_BOOTSTRAP_NODE);
    const expected: WitnzConfig = {
      database: {
        host: "localhost",
        port: 5432,
        database: "mydb",
        user: "witnz",
        password: "secret",
        sslmode: "prefer",
        applicationName: "witnz",
      },
      node: {
        id: "node1",
        role: "raft",
        bindAddr: "node1:7000",
        grpcAddr: "0.0.0.0:8000",
        httpAddr: "127.0.0.1:7070",
        dataDir: "/data",
        bootstrap: true,
        peerAddrs: { node2: "node2:7000", node3: "node3:7000" },
        clusterId: undefined,
        keyFile: "/data/node.key",
        tlsCaFile: undefined,
        tlsCertFile: undefined,
        tlsKeyFile: undefined,
        dashboardToken: undefined,
        raftSnapshotEntries: 8192,
        logLevel: "info",
      },
      protectedTables: [
        { name: "audit_log", mode: "append_only", verifyIntervalMs: 1_800_000 },
        { name: "financial_transactions", mode: "append_only", verifyIntervalMs: 600_000 },
      ],
      alerts: { enabled: true, slackWebhook: "https://hooks.slack.com/...", webhook: undefined },
      witnzNodes: [],
      customers: [],
      hashCollectionTimeoutMs: 30_000,
    };
    expect(config).toStrictEqual(expected);
    expect(warnings).toEqual([]);
  });

  test("every default applies when only the required fields are written", () => {
    const { config, warnings } = parseConfig(MINIMAL_RAFT_NODE);
    expect(warnings).toEqual([]);
    expect(config.database).toStrictEqual({
      host: "localhost",
      port: 5432,
      database: "mydb",
      user: "witnz",
      password: undefined,
      sslmode: "prefer",
      applicationName: "witnz",
    });
    expect(config.node).toStrictEqual({
      id: "node1",
      role: "raft",
      bindAddr: "node1:7000",
      grpcAddr: undefined,
      httpAddr: "127.0.0.1:7070",
      dataDir: "/data",
      bootstrap: false,
      peerAddrs: {},
      clusterId: undefined,
      keyFile: "/data/node.key",
      tlsCaFile: undefined,
      tlsCertFile: undefined,
      tlsKeyFile: undefined,
      dashboardToken: undefined,
      raftSnapshotEntries: 8192,
      logLevel: "info",
    });
    expect(config.protectedTables).toStrictEqual([
      { name: "audit_log", mode: "append_only", verifyIntervalMs: 1_800_000 },
    ]);
    expect(config.alerts).toStrictEqual({
      enabled: true,
      slackWebhook: undefined,
      webhook: undefined,
    });
    expect(config.witnzNodes).toStrictEqual([]);
    expect(config.hashCollectionTimeoutMs).toBe(30_000);
  });

  test("every optional field, written out, is carried through", () => {
    const { config, warnings } = parseConfig(`
database:
  host: db.internal
  port: 6432
  database: ledger
  user: witnz
  password: "0123"
  sslmode: verify-full
  application_name: witnz_node2
node:
  id: node_2
  role: raft
  bind_addr: "[fd00::2]:7000"
  grpc_addr: 10.0.0.2:8000
  http_addr: 0.0.0.0:9090
  data_dir: ./state
  bootstrap: FALSE
  cluster_id: payments
  key_file: /etc/witnz/node2.key
  log_level: debug
protected_tables:
  - name: '"Audit"."Log"'
    mode: append_only
    verify_interval: 1h30m
  - name: ledger.entries
    verify_interval: 2d
alerts:
  enabled: false
  webhook:
    url: http://alerts.internal/witnz
    secret: s3cr3t
witnz_nodes:
  - id: witness1
    address: witness1:9000
  - id: witness2
    address: 192.0.2.7:9000
hash_collection_timeout: 500ms
`);
    expect(warnings).toEqual([]);
    expect(config.database?.password).toBe("0123");
    expect(config.database?.port).toBe(6432);
    expect(config.database?.sslmode).toBe("verify-full");
    expect(config.database?.applicationName).toBe("witnz_node2");
    expect(config.node.bindAddr).toBe("[fd00::2]:7000");
    expect(config.node.bootstrap).toBe(false);
    expect(config.node.clusterId).toBe("payments");
    expect(config.node.keyFile).toBe("/etc/witnz/node2.key");
    expect(config.node.logLevel).toBe("debug");
    expect(config.protectedTables).toStrictEqual([
      { name: '"Audit"."Log"', mode: "append_only", verifyIntervalMs: 5_400_000 },
      { name: "ledger.entries", mode: "append_only", verifyIntervalMs: 172_800_000 },
    ]);
    expect(config.alerts).toStrictEqual({
      enabled: false,
      slackWebhook: undefined,
      webhook: { url: "http://alerts.internal/witnz", secret: "s3cr3t" },
    });
    expect(config.witnzNodes).toStrictEqual([
      { id: "witness1", address: "witness1:9000", tlsCaFile: undefined },
      { id: "witness2", address: "192.0.2.7:9000", tlsCaFile: undefined },
    ]);
    expect(config.hashCollectionTimeoutMs).toBe(500);
  });

  test("an empty value (`key:` or `key: ~`) counts as absent, so the default applies", () => {
    const { config } = parseConfig(`${MINIMAL_RAFT_NODE}alerts:\n  enabled:\n  slack_webhook: ~\n`);
    expect(config.alerts.enabled).toBe(true);
    expect(config.alerts.slackWebhook).toBeUndefined();
  });

  test("a witness needs no database and no tables", () => {
    const { config, warnings } = parseConfig(`
node:
  id: witness1
  role: witness
  grpc_addr: 0.0.0.0:9000
  data_dir: /data
hash_collection_timeout: 45s
`);
    expect(warnings).toEqual([]);
    expect(config.database).toBeUndefined();
    expect(config.node.role).toBe("witness");
    expect(config.protectedTables).toEqual([]);
    expect(config.hashCollectionTimeoutMs).toBe(45_000);
  });
});

describe("rules across fields", () => {
  test("a witness with a database section is refused", () => {
    const error = configErrorOf(() =>
      parseConfig(`
database:
  database: mydb
node:
  id: witness1
  role: witness
  grpc_addr: 0.0.0.0:9000
  data_dir: /data
`),
    );
    // The missing database.user is not reported: the whole section is wrong.
    expect(error.problems).toEqual([
      "database: not allowed when node.role is witness; a witness never connects to a database",
    ]);
  });

  test("a raft node needs a database, a table and a Raft address", () => {
    const error = configErrorOf(() => parseConfig("node:\n  id: node1\n  data_dir: /data\n"));
    expect(error.problems).toEqual([
      "database: missing; required for a raft node",
      "protected_tables: missing; a raft node protects at least one table",
      "node.bind_addr: missing; required for a raft node (its Raft peers connect here)",
    ]);
  });

  test("an empty table list is refused for a raft node", () => {
    const text = MINIMAL_RAFT_NODE.replace("protected_tables:\n  - name: audit_log\n", "");
    const error = configErrorOf(() => parseConfig(`${text}protected_tables: []\n`));
    expect(error.problems).toEqual([
      "protected_tables: empty; a raft node protects at least one table",
    ]);
  });

  test("a witness needs a gRPC address", () => {
    const error = configErrorOf(() =>
      parseConfig("node:\n  id: witness1\n  role: witness\n  data_dir: /data\n"),
    );
    expect(error.problems).toEqual([
      "node.grpc_addr: missing; required for a witness (raft nodes submit their hashes here)",
    ]);
  });

  test("duplicate tables are refused, also when spelled differently", () => {
    const error = configErrorOf(() =>
      parseConfig(`${MINIMAL_RAFT_NODE}  - name: Audit_Log
  - name: '"Audit_Log"'
  - name: '"audit_log"'
`),
    );
    expect(error.problems).toEqual([
      'protected_tables[1].name: "Audit_Log" is listed twice (first at protected_tables[0]); list each table once',
      'protected_tables[3].name: "\\"audit_log\\"" is listed twice (first at protected_tables[0]); list each table once',
    ]);
  });

  test("duplicate witnesses and bad peer ids are refused", () => {
    const error = configErrorOf(() =>
      parseConfig(
        `${MINIMAL_RAFT_NODE}witnz_nodes:
  - id: w1
    address: w1:9000
  - id: w1
    address: w2:9000
`.replace("  data_dir: /data\n", "  data_dir: /data\n  peer_addrs:\n    Node-2: node2:7000\n"),
      ),
    );
    expect(error.problems).toEqual([
      'node.peer_addrs: has the key "Node-2", which is not a valid node id; allowed 1 to 48 characters of a-z, 0-9 and _, because the id names the PostgreSQL replication slot witnz_<id>',
      'witnz_nodes[1].id: "w1" is listed twice (first at witnz_nodes[0]); list each witness once',
    ]);
  });
});

describe("unknown keys", () => {
  test("are warnings with the closest known key", () => {
    const { config, warnings } = parseConfig(
      `${MINIMAL_RAFT_NODE}  - name: orders
    verify_intervall: 5m
alerts:
  slackWebhook: https://hooks.slack.com/x
`.replace(
        "  data_dir: /data\n",
        "  data_dir: /data\n  bootsrap: true\n  password: x\n  colour: blue\n",
      ),
    );
    expect(warnings).toEqual([
      "unknown key node.bootsrap (ignored); did you mean node.bootstrap?",
      "unknown key node.password (ignored); did you mean database.password?",
      "unknown key node.colour (ignored)",
      "unknown key protected_tables[1].verify_intervall (ignored); did you mean protected_tables[1].verify_interval?",
      "unknown key alerts.slackWebhook (ignored); did you mean alerts.slack_webhook?",
    ]);
    expect(config.node.bootstrap).toBe(false);
  });

  test("a known key written one level too deep is pointed to its place", () => {
    // The specification names the setting witnz.hash_collection_timeout.
    const { config, warnings } = parseConfig(
      `${MINIMAL_RAFT_NODE}witnz:\n  hash_collection_timeout: 10s\n`,
    );
    expect(warnings).toEqual([
      "unknown key witnz (ignored); did you mean hash_collection_timeout?",
    ]);
    expect(config.hashCollectionTimeoutMs).toBe(30_000);
  });

  test("travel with the error when the configuration is refused", () => {
    const error = configErrorOf(() =>
      parseConfig(MINIMAL_RAFT_NODE.replace("  id: node1", "  ide: node1")),
    );
    expect(error.problems).toEqual(["node.id: missing; required"]);
    expect(error.warnings).toEqual(["unknown key node.ide (ignored); did you mean node.id?"]);
  });
});

describe("the example configuration", () => {
  test("the raft example parses without warnings", () => {
    const { config, warnings } = parseConfig(exampleConfigYaml(), {
      env: { PGPASSWORD: "example" },
    });
    expect(warnings).toEqual([]);
    expect(config.node.role).toBe("raft");
    expect(config.database?.password).toBe("example");
  });

  test("the witness example parses without warnings", () => {
    const { config, warnings } = parseConfig(exampleConfigYaml({ role: "witness" }));
    expect(warnings).toEqual([]);
    expect(config.node.role).toBe("witness");
  });

  test("the design note shows the raft example verbatim", () => {
    expect(designNote()).toContain(exampleConfigYaml());
  });

  test("the design note's error example is what formatConfigError prints for its file", () => {
    const blocks = [...designNote().matchAll(/```(yaml)?\n(.*?)```/gs)].map((match) => match[2]);
    const fileIndex = blocks.findIndex((block) => block?.includes("verify_interval: 30 minutes"));
    const error = configErrorOf(() =>
      parseConfig(blocks[fileIndex] ?? "", {
        source: "witnz.yaml",
        env: { WITNZ_NODE_BOOTSTRAP: "yes" },
      }),
    );
    expect(`${formatConfigError(error)}\n`).toBe(blocks[fileIndex + 1]);
  });
});
