import { describe, expect, test } from "vitest";
import { configEnvironmentVariables, parseConfig } from "../../src/config/index.js";
import { configErrorOf, MINIMAL_RAFT_NODE } from "./helpers.js";

describe("WITNZ_ overrides", () => {
  test("text settings", () => {
    const { config } = parseConfig(MINIMAL_RAFT_NODE, {
      env: {
        WITNZ_DATABASE_PASSWORD: "from-env",
        WITNZ_DATABASE_HOST: "db.internal",
        WITNZ_NODE_ID: "node7",
        WITNZ_NODE_BIND_ADDR: "node7:7000",
        WITNZ_NODE_DATA_DIR: "/srv/witnz",
        WITNZ_NODE_LOG_LEVEL: "warn",
        WITNZ_ALERTS_WEBHOOK_URL: "https://alerts.example.com/witnz",
        WITNZ_ALERTS_WEBHOOK_SECRET: "hmac-key",
      },
    });
    expect(config.database?.password).toBe("from-env");
    expect(config.database?.host).toBe("db.internal");
    expect(config.node.id).toBe("node7");
    expect(config.node.bindAddr).toBe("node7:7000");
    expect(config.node.dataDir).toBe("/srv/witnz");
    expect(config.node.keyFile).toBe("/srv/witnz/node.key");
    expect(config.node.logLevel).toBe("warn");
    expect(config.alerts.webhook).toStrictEqual({
      url: "https://alerts.example.com/witnz",
      secret: "hmac-key",
    });
  });

  test("number settings", () => {
    const { config } = parseConfig(MINIMAL_RAFT_NODE, {
      env: { WITNZ_DATABASE_PORT: "6432", WITNZ_HASH_COLLECTION_TIMEOUT: "1m30s" },
    });
    expect(config.database?.port).toBe(6432);
    expect(config.hashCollectionTimeoutMs).toBe(90_000);
  });

  test("boolean settings", () => {
    const on = parseConfig(MINIMAL_RAFT_NODE, { env: { WITNZ_NODE_BOOTSTRAP: "true" } });
    expect(on.config.node.bootstrap).toBe(true);
    const off = parseConfig(`${MINIMAL_RAFT_NODE}alerts:\n  enabled: true\n`, {
      env: { WITNZ_ALERTS_ENABLED: "false" },
    });
    expect(off.config.alerts.enabled).toBe(false);
  });

  test("the peer map, as id=host:port pairs, replaces the file's map", () => {
    const text = MINIMAL_RAFT_NODE.replace(
      "  data_dir: /data",
      "  data_dir: /data\n  peer_addrs:\n    node9: node9:7000",
    );
    const { config } = parseConfig(text, {
      env: { WITNZ_NODE_PEER_ADDRS: "node2=node2:7000, node3=10.0.0.3:7000" },
    });
    expect(config.node.peerAddrs).toStrictEqual({ node2: "node2:7000", node3: "10.0.0.3:7000" });
  });

  test("an empty variable overrides nothing", () => {
    const { config } = parseConfig(MINIMAL_RAFT_NODE, {
      env: { WITNZ_NODE_ID: "", WITNZ_DATABASE_PORT: "" },
    });
    expect(config.node.id).toBe("node1");
    expect(config.database?.port).toBe(5432);
  });

  test("an override is taken literally, not interpolated", () => {
    const { config } = parseConfig(MINIMAL_RAFT_NODE, {
      env: { WITNZ_DATABASE_PASSWORD: `pa$\${x}\${HOME}` },
    });
    expect(config.database?.password).toBe(`pa$\${x}\${HOME}`);
  });

  test("bad values name the variable they came from", () => {
    const error = configErrorOf(() =>
      parseConfig(MINIMAL_RAFT_NODE, {
        env: {
          WITNZ_DATABASE_PORT: "five",
          WITNZ_NODE_BOOTSTRAP: "yes",
          WITNZ_NODE_PEER_ADDRS: "node2:7000",
          WITNZ_HASH_COLLECTION_TIMEOUT: "30",
        },
      }),
    );
    expect(error.problems).toEqual([
      'node.peer_addrs: "node2:7000" is not id=host:port; write e.g. "node2=node2:7000,node3=node3:7000" (from WITNZ_NODE_PEER_ADDRS)',
      'database.port: "five" is not a whole number; allowed 1..65535 (from WITNZ_DATABASE_PORT)',
      'node.bootstrap: "yes" is not a boolean; write true or false (from WITNZ_NODE_BOOTSTRAP)',
      'hash_collection_timeout: 30 has no unit; write a unit, e.g. "30s" (from WITNZ_HASH_COLLECTION_TIMEOUT)',
    ]);
  });

  test("a database section made by WITNZ_DATABASE_ variables on a witness is refused by name", () => {
    const error = configErrorOf(() =>
      parseConfig("node:\n  id: witness1\n  role: witness\n  grpc_addr: w:9000\n  data_dir: /d\n", {
        env: { WITNZ_DATABASE_HOST: "db", WITNZ_DATABASE_PASSWORD: "x" },
      }),
    );
    expect(error.problems).toEqual([
      "database: not allowed when node.role is witness; a witness never connects to a database (set by WITNZ_DATABASE_HOST, WITNZ_DATABASE_PASSWORD)",
    ]);
  });

  test("a WITNZ_ variable one slip from a setting is a warning; others are left alone", () => {
    const { config, warnings } = parseConfig(MINIMAL_RAFT_NODE, {
      env: {
        WITNZ_NODE_BOOTSRAP: "true",
        WITNZ_DATABASE_PASSWROD: "x",
        WITNZ_NODE_BINDADDR: "node1:7001",
        WITNZ_CONFIG: "/etc/witnz.yaml",
        HOME: "/root",
      },
    });
    expect(warnings).toEqual([
      "environment variable WITNZ_DATABASE_PASSWROD matches no setting (ignored); did you mean WITNZ_DATABASE_PASSWORD?",
      "environment variable WITNZ_NODE_BINDADDR matches no setting (ignored); did you mean WITNZ_NODE_BIND_ADDR?",
      "environment variable WITNZ_NODE_BOOTSRAP matches no setting (ignored); did you mean WITNZ_NODE_BOOTSTRAP?",
    ]);
    expect(config.node.bootstrap).toBe(false);
  });

  test("variable names come from the schema's paths, keys with underscores kept whole", () => {
    const variables = configEnvironmentVariables();
    expect(variables).toContainEqual({ variable: "WITNZ_NODE_BIND_ADDR", path: "node.bind_addr" });
    expect(variables).toContainEqual({
      variable: "WITNZ_ALERTS_WEBHOOK_SECRET",
      path: "alerts.webhook.secret",
    });
    expect(variables).toContainEqual({
      variable: "WITNZ_HASH_COLLECTION_TIMEOUT",
      path: "hash_collection_timeout",
    });
    expect(variables).toContainEqual({
      variable: "WITNZ_NODE_PEER_ADDRS",
      path: "node.peer_addrs",
    });
    expect(variables.map((entry) => entry.variable)).not.toContain("WITNZ_PROTECTED_TABLES");
    expect(variables.map((entry) => entry.variable)).toEqual([
      "WITNZ_DATABASE_HOST",
      "WITNZ_DATABASE_PORT",
      "WITNZ_DATABASE_DATABASE",
      "WITNZ_DATABASE_USER",
      "WITNZ_DATABASE_PASSWORD",
      "WITNZ_DATABASE_SSLMODE",
      "WITNZ_DATABASE_APPLICATION_NAME",
      "WITNZ_NODE_ID",
      "WITNZ_NODE_ROLE",
      "WITNZ_NODE_BIND_ADDR",
      "WITNZ_NODE_GRPC_ADDR",
      "WITNZ_NODE_HTTP_ADDR",
      "WITNZ_NODE_DATA_DIR",
      "WITNZ_NODE_BOOTSTRAP",
      "WITNZ_NODE_PEER_ADDRS",
      "WITNZ_NODE_CLUSTER_ID",
      "WITNZ_NODE_KEY_FILE",
      "WITNZ_NODE_TLS_CA_FILE",
      "WITNZ_NODE_TLS_CERT_FILE",
      "WITNZ_NODE_TLS_KEY_FILE",
      "WITNZ_NODE_DASHBOARD_TOKEN",
      "WITNZ_NODE_RAFT_SNAPSHOT_ENTRIES",
      "WITNZ_NODE_LOG_LEVEL",
      "WITNZ_ALERTS_ENABLED",
      "WITNZ_ALERTS_SLACK_WEBHOOK",
      "WITNZ_ALERTS_WEBHOOK_URL",
      "WITNZ_ALERTS_WEBHOOK_SECRET",
      "WITNZ_HASH_COLLECTION_TIMEOUT",
    ]);
  });
});

describe(`\${NAME} interpolation`, () => {
  test("replaces references inside values, including in lists and maps", () => {
    const text = `database:
  host: \${DB_HOST}
  port: \${DB_PORT}
  database: app_\${STAGE}
  user: witnz
  password: \${DB_PASSWORD}
node:
  id: \${NODE_ID}
  bind_addr: \${NODE_ID}:7000
  data_dir: /data
  peer_addrs:
    node2: \${PEER_HOST}:7000
protected_tables:
  - name: \${SCHEMA}.audit_log
`;
    const { config } = parseConfig(text, {
      env: {
        DB_HOST: "db.internal",
        DB_PORT: "6432",
        STAGE: "prod",
        DB_PASSWORD: "p@ss word",
        NODE_ID: "node1",
        PEER_HOST: "10.0.0.2",
        SCHEMA: "ledger",
      },
    });
    expect(config.database).toMatchObject({
      host: "db.internal",
      port: 6432,
      database: "app_prod",
      password: "p@ss word",
    });
    expect(config.node.id).toBe("node1");
    expect(config.node.bindAddr).toBe("node1:7000");
    expect(config.node.peerAddrs).toStrictEqual({ node2: "10.0.0.2:7000" });
    expect(config.protectedTables[0]?.name).toBe("ledger.audit_log");
  });

  test(`\${NAME:-fallback} uses the fallback when NAME is unset or empty`, () => {
    const text = MINIMAL_RAFT_NODE.replace(
      "  user: witnz",
      `  user: \${DB_USER:-witnz_reader}\n  host: \${DB_HOST:-localhost}\n  password: \${DB_PASSWORD:-}`,
    );
    const { config } = parseConfig(text, { env: { DB_HOST: "" } });
    expect(config.database?.user).toBe("witnz_reader");
    expect(config.database?.host).toBe("localhost");
    expect(config.database?.password).toBe("");
    const set = parseConfig(text, { env: { DB_USER: "auditor" } });
    expect(set.config.database?.user).toBe("auditor");
  });

  test("$${ writes a literal ${, and a lone $ stays", () => {
    // A function replacement: in a replacement string, "$$" would itself mean "$".
    const text = MINIMAL_RAFT_NODE.replace(
      "  user: witnz",
      () => `  user: witnz\n  password: a$$\${NOT_A_VARIABLE}$b`,
    );
    const { config } = parseConfig(text);
    expect(config.database?.password).toBe("a$${NOT_A_VARIABLE}$b");
  });

  test("an unset variable without a fallback is a problem naming the variable and the field", () => {
    const text = MINIMAL_RAFT_NODE.replace(
      "  user: witnz",
      `  user: witnz\n  password: \${DB_PASSWORD}`,
    ).replace("  id: node1", `  id: \${NODE_ID}`);
    const error = configErrorOf(() => parseConfig(text, { env: {} }));
    expect(error.problems).toEqual([
      `database.password: refers to \${DB_PASSWORD}, but the environment variable DB_PASSWORD is not set; set it or write \${DB_PASSWORD:-fallback}`,
      `node.id: refers to \${NODE_ID}, but the environment variable NODE_ID is not set; set it or write \${NODE_ID:-fallback}`,
    ]);
  });

  test("a malformed reference is a problem", () => {
    const text = MINIMAL_RAFT_NODE.replace("  data_dir: /data", `  data_dir: /data/\${1st dir}`);
    expect(configErrorOf(() => parseConfig(text)).problems).toEqual([
      `node.data_dir: has the reference \${1st dir} that is not \${NAME} or \${NAME:-fallback}; a NAME is letters, digits and _`,
    ]);
  });

  test("an override replaces a reference, so the referenced variable need not be set", () => {
    const text = MINIMAL_RAFT_NODE.replace(
      "  user: witnz",
      `  user: witnz\n  password: \${DB_PASSWORD}`,
    );
    const { config } = parseConfig(text, { env: { WITNZ_DATABASE_PASSWORD: "override" } });
    expect(config.database?.password).toBe("override");
  });

  test("keys are not interpolated", () => {
    const text = MINIMAL_RAFT_NODE.replace(
      "  data_dir: /data",
      `  data_dir: /data\n  peer_addrs:\n    \${PEER}: node2:7000`,
    );
    const error = configErrorOf(() => parseConfig(text, { env: { PEER: "node2" } }));
    expect(error.problems).toEqual([
      `node.peer_addrs: has the key "\${PEER}", which is not a valid node id; allowed 1 to 48 characters of a-z, 0-9 and _, because the id names the PostgreSQL replication slot witnz_<id>`,
    ]);
  });
});
